"""A virtual population: 48 severe COVID-19 patients on tocilizumab, drawn with a seed.

Each row is one patient: log-normal draws of baseline parameters (sIL-6R production, sgp130
production and CRP clearance; sigma is the sd of ln(value)), an rs2228145 genotype drawn with
population frequencies, and a body weight (the 8 mg/kg dose and the drug's PK scale with it).
Every row starts from its own steady state, is dosed at admission (day 15.8: symptom onset + 7 d), and is compared with
the same patient untreated ("inhibition" = 1 - AUC/AUC untreated from the dose to the end; the
columns are named with their windows: ``inhibition[dose:end]:crp_mg_l``).

Run:  python examples/virtual_population.py
"""

import numpy as np

import il6sim

res = il6sim.sweep({
    "sweep": {"scenario": "covid_severe", "step": "12 h", "rows": 48, "seed": 2024,
              "observables": ["il6_free_pg_ml", "sil6r_total_ng_ml", "crp_mg_l"], "metrics": ["peak[dose:]", "inhibition"]},
    "factors": [
        {"parameter": "k_sil6r_splice", "sampler": "lognormal", "median": "0.0066 nM/h", "sigma": 0.4},
        {"parameter": "k_sgp130_syn", "sampler": "lognormal", "median": "3.9 nM/h", "sigma": 0.25},
        {"parameter": "k_crp_deg", "sampler": "lognormal", "median": "0.0365 1/h", "sigma": 0.3},
        {"genotype": {"variant": "rs2228145", "frequencies": {"AA": 0.38, "AC": 0.47, "CC": 0.15}}},
        {"weight": {"sampler": "normal", "mean": "80 kg", "sd": "15 kg"}},
    ],
    "drugs": [{"drug": "tocilizumab", "dose": "8 mg/kg", "at": "admission"}],
})
df = res.to_dataframe()
ok = df[df.status == 0]
print(f"{len(ok)} of {len(df)} patients simulated (failures are kept as rows with a status)")


def q(x):
    lo, mid, hi = np.percentile(x, [10, 50, 90])
    return f"{mid:8.1f} ({lo:.1f}-{hi:.1f})"


print(f"{'genotype':>8} {'n':>3} {'peak total sIL-6R ng/ml':>28} {'peak CRP mg/l':>24} {'CRP inhibition %':>24}"
      "   (peaks from the dose on)")
for g, d in ok.groupby("rs2228145"):
    print(f"{g:>8} {len(d):3d} {q(d['peak[dose:end]:sil6r_total_ng_ml']):>28} {q(d['peak[dose:end]:crp_mg_l']):>24} "
          f"{q(d['inhibition[dose:end]:crp_mg_l']):>24}")
print("median (10th-90th percentile) over patients")
