"""Tocilizumab 8 mg/kg IV at hospital admission in severe COVID-19 (day 15.8 after infection, 7 d after symptom onset): CRP, IL-6 and receptor occupancy.

Run:  python examples/simulate_drug.py
"""

import numpy as np

import il6sim

model = il6sim.load_model("il6")
run = il6sim.build_run(model, scenario="covid_severe",
                drug_groups=[{"drug": "tocilizumab", "dose": "8 mg/kg", "at": "admission", "infusion": "1 h"}])
days = np.arange(0, 46)
res = run.simulate(days * 24.0, solver="jit")  # starts from the drug-free steady state

print(f"{'day':>4} {'free IL-6 pg/ml':>16} {'total sIL-6R ng/ml':>19} {'CRP mg/l':>9} {'mIL-6R held by drug':>20}")
for d, il6, sil6r, crp, occ in zip(days, res["il6_free_pg_ml"], res["sil6r_total_ng_ml"], res["crp_mg_l"],
                                   res["mil6r_occupancy"]):
    print(f"{d:4d} {il6:16.2f} {sil6r:19.1f} {crp:9.1f} {occ:20.2f}")
