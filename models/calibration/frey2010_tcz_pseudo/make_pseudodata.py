"""Pseudo-data: typical-patient tocilizumab profiles of the Frey 2010 population-PK model.

PSEUDO-DATA, NOT MEASUREMENTS. This script simulates the typical individual of a published
population-PK model and writes the concentrations at chosen sampling times as a PEtab
measurement table (``measurements.tsv`` beside this file). It is il6sim's own code; nothing is
copied from other projects.

Model: Frey N, Grange S, Woodworth T. Population pharmacokinetic analysis of tocilizumab in
patients with rheumatoid arthritis. J Clin Pharmacol 2010;50(7):754-766,
doi:10.1177/0091270009350623. Two-compartment model, 1-h IV infusion into the central
compartment, parallel first-order (CL) and Michaelis-Menten (Vm, Km) elimination from the central
compartment. Time in days, amounts in mg, concentrations in mg/l = ug/ml.

Every number below was read with the library's ``read_file`` tool from the public repository
nlmixr2/nlmixr2lib, file ``inst/modeldb/specificDrugs/Frey_2010_tocilizumab.R`` at commit
06786e05932165a099df60ab338ca698c7d9efcb (identical values at 27fd6f5cb2ef55b586ac6f7bfc06a643cd127836),
whose comments cite the paper's Table II (final estimates, p759) and Table III (covariate
equations, p760):

    CL   0.3  l/d      Table II, CL row          (lcl  <- log(0.3))
    V1   3.5  l        Table II, V1 row          (lvc  <- log(3.5))
    Q    0.2  l/d      Table II, Q row           (lq   <- log(0.2))
    V2   2.9  l        Table II, V2 row          (lvp  <- log(2.9))
    Vm   7.5  mg/d     Table II, VM row          (lvmax <- log(7.5))
    Km   2.7  ug/ml    Table II, KM row          (lkm  <- log(2.7))

Typical individual = the model's reference covariates (same file, ini() comment and
covariateData; vignette ``vignettes/articles/Frey_2010_tocilizumab.Rmd`` at commit
4dfecaa6f1acdfbeab77db9131c62003a6e1ea5f, "Source trace"): male, BSA 1.8 m^2, HDL-C 54 mg/dl,
log(RF) 4.7 (RF ~110 U/ml), total protein 74 g/l, albumin 38 g/l, creatinine clearance
106 ml/min, non-smoker. Every covariate factor is then 1. Body weight is not a covariate of this
model (BSA on CL is); the mg/kg doses are given to a 70-kg patient (the population's median
weight, nlmixr2lib ``population$weight_median``).

Inter-individual variability (same file, Table II; used only by ``--spread``): CV 39 % on CL,
37 % on V1, 66 % on V2, 54 % on Vm, correlations r(CL,V1) 0.6, r(CL,V2) -0.1, r(CL,Vm) -0.5,
r(V1,V2) 0.5, r(V1,Vm) 0.2, r(V2,Vm) 0.2; log-normal with omega^2 = log(1 + CV^2) as in the
nlmixr2lib file.

Usage::

    .venv/bin/python models/calibration/frey2010_tcz_pseudo/make_pseudodata.py            # writes measurements.tsv
    .venv/bin/python models/calibration/frey2010_tcz_pseudo/make_pseudodata.py --check    # + steady-state q4w exposures
    .venv/bin/python models/calibration/frey2010_tcz_pseudo/make_pseudodata.py --spread   # + IIV 5-50-95 % band

The output is deterministic (fixed tolerances, fixed formatting; ``--spread`` draws from a fixed
seed and never changes ``measurements.tsv``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

HERE = Path(__file__).resolve().parent
NLMIXR2LIB_COMMIT = "06786e05932165a099df60ab338ca698c7d9efcb"

# Typical-patient parameters (see the module docstring for file, commit and table of each).
CL = 0.3  # l/d
V1 = 3.5  # l
Q = 0.2  # l/d
V2 = 2.9  # l
VM = 7.5  # mg/d
KM = 2.7  # mg/l (= ug/ml)

# IIV (CV on the linear scale) and correlations, order CL, V1, V2, Vm (Table II via nlmixr2lib).
IIV_CV = {"CL": 0.39, "V1": 0.37, "V2": 0.66, "VM": 0.54}
IIV_CORR = np.array([
    [1.0, 0.6, -0.1, -0.5],
    [0.6, 1.0, 0.5, 0.2],
    [-0.1, 0.5, 1.0, 0.2],
    [-0.5, 0.2, 0.2, 1.0],
])

# Design of the pseudo-study (the task's choice, not the paper's).
WEIGHT_KG = 70.0
DOSES_MG_PER_KG = (2.0, 4.0, 8.0, 10.0)
INFUSION_H = 1.0
TIMES_H = (1.0, 24.0, 72.0, 168.0, 336.0, 504.0, 672.0, 1008.0, 1344.0)
LLOQ_UG_ML = 0.1  # stand-in assay LLOQ (README: not verified for the Roche assay)

RTOL = 1e-10
ATOL = 1e-12


def _rhs(_t: float, y: np.ndarray, cl: float, v1: float, q: float, v2: float, vm: float, km: float,
         rate: float) -> list[float]:
    a1, a2 = y
    c = a1 / v1
    return [rate - cl / v1 * a1 - vm * c / (km + c) - q / v1 * a1 + q / v2 * a2,
            q / v1 * a1 - q / v2 * a2]


def simulate(dose_mg: float, times_h: np.ndarray, *, pars: tuple[float, ...] = (CL, V1, Q, V2, VM, KM),
             rtol: float = RTOL, atol: float = ATOL, y0: tuple[float, float] = (0.0, 0.0),
             end_h: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Serum tocilizumab (ug/ml) at ``times_h`` after the start of a 1-h infusion of ``dose_mg``.

    Returns the concentrations and the state (amounts, mg) at ``end_h`` (default: the last time).
    The infusion and the post-infusion phase are integrated separately (the input switches off).
    """
    times_d = np.asarray(times_h, dtype=float) / 24.0
    t_inf = INFUSION_H / 24.0
    t_end = max(t_inf, float(times_d.max()) if end_h is None else end_h / 24.0)
    phase1 = solve_ivp(_rhs, (0.0, t_inf), np.asarray(y0, dtype=float), method="LSODA", dense_output=True,
                       args=(*pars, dose_mg / t_inf), rtol=rtol, atol=atol)
    phase2 = solve_ivp(_rhs, (t_inf, t_end), phase1.y[:, -1], method="LSODA", dense_output=True,
                       args=(*pars, 0.0), rtol=rtol, atol=atol)
    if not (phase1.success and phase2.success):
        raise RuntimeError(phase1.message + " / " + phase2.message)
    a1 = np.where(times_d <= t_inf, phase1.sol(np.minimum(times_d, t_inf))[0], phase2.sol(np.maximum(times_d, t_inf))[0])
    return a1 / pars[1], phase2.y[:, -1]


def rows() -> list[tuple[str, str, float, float, str]]:
    """(observableId, conditionId, value ug/ml, time h, datasetId) of every point above the LLOQ."""
    table = []
    times = np.asarray(TIMES_H)
    for dose in DOSES_MG_PER_KG:
        cid = f"frey_tcz{dose:g}"
        conc, _ = simulate(dose * WEIGHT_KG, times)
        for t, c in zip(times, conc):
            if c >= LLOQ_UG_ML:
                table.append(("tcz_frey", cid, float(c), float(t), f"frey2010_pseudo_tcz{dose:g}"))
    return table


def write(table: list[tuple[str, str, float, float, str]], path: Path) -> None:
    source = (f"pseudo-data: typical profile of Frey 2010 popPK (Table II via nlmixr2lib "
              f"Frey_2010_tocilizumab.R@{NLMIXR2LIB_COMMIT[:12]}), make_pseudodata.py")
    lines = ["observableId\tsimulationConditionId\tmeasurement\ttime\tdatasetId\tsource"]
    lines += [f"{o}\t{c}\t{v:.10g}\t{t:g}\t{d}\t{source}" for o, c, v, t, d in table]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def steady_state_check() -> None:
    """Typical-patient steady state of 4 and 8 mg/kg q4w (12 doses), for comparison with Table IV."""
    print("\nsteady state, 12th dose of q4w, typical male patient (Table IV reports population means, "
          "not typical values: 4 mg/kg Cmax 88, Cmin 1.5 ug/ml, AUC 13e3 h*ug/ml; 8 mg/kg 183, 9.7, 35e3)")
    tau_h = 28 * 24.0
    grid = np.linspace(0.0, tau_h, 4033)
    for dose in (4.0, 8.0):
        y: tuple[float, float] = (0.0, 0.0)
        for _ in range(12):
            conc, state = simulate(dose * WEIGHT_KG, grid, y0=y, end_h=tau_h)
            y = (float(state[0]), float(state[1]))
        auc = float(np.trapezoid(conc, grid))
        print(f"  {dose:g} mg/kg: Cmax {conc.max():7.1f}  Cmin {conc[-1]:6.2f} ug/ml  AUC {auc / 1e3:5.1f}e3 h*ug/ml")


def spread(n: int = 1000, seed: int = 2010) -> None:
    """Between-subject 5-50-95 % band at the sampling times (IIV only, typical covariates, no residual)."""
    rng = np.random.default_rng(seed)
    omega = np.sqrt(np.log1p(np.array(list(IIV_CV.values())) ** 2))
    cov = IIV_CORR * np.outer(omega, omega)
    eta = rng.multivariate_normal(np.zeros(4), cov, size=n)
    times = np.asarray(TIMES_H)
    print(f"\nIIV band ({n} subjects, seed {seed}; Table II CVs and correlations; typical covariates; ug/ml)")
    print("dose     time_h        p5       p50       p95   typical")
    for dose in DOSES_MG_PER_KG:
        typ, _ = simulate(dose * WEIGHT_KG, times)
        sims = np.array([simulate(dose * WEIGHT_KG, times, rtol=1e-8, atol=1e-10,
                                  pars=(CL * np.exp(e[0]), V1 * np.exp(e[1]), Q, V2 * np.exp(e[2]),
                                        VM * np.exp(e[3]), KM))[0] for e in eta])
        p5, p50, p95 = np.percentile(sims, [5, 50, 95], axis=0)
        for i, t in enumerate(times):
            print(f"{dose:4g}mg/kg {t:7g} {p5[i]:9.3g} {p50[i]:9.3g} {p95[i]:9.3g} {typ[i]:9.3g}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print typical steady-state q4w exposures")
    parser.add_argument("--spread", action="store_true", help="print the IIV 5-50-95 %% band (slow, ~1 min)")
    args = parser.parse_args(argv)

    table = rows()
    write(table, HERE / "measurements.tsv")
    dropped = len(DOSES_MG_PER_KG) * len(TIMES_H) - len(table)
    print(f"Frey 2010 typical patient (male, BSA 1.8 m^2, reference covariates), {WEIGHT_KG:g} kg, 1-h IV infusion")
    print(f"wrote {len(table)} rows to {HERE / 'measurements.tsv'} ({dropped} below the LLOQ {LLOQ_UG_ML:g} ug/ml dropped)")
    print("condition   time_h   tcz_ug_ml")
    for _, cid, v, t, _ in table:
        print(f"{cid:10s} {t:7g} {v:11.5g}")
    if args.check:
        steady_state_check()
    if args.spread:
        spread()


if __name__ == "__main__":
    main()
