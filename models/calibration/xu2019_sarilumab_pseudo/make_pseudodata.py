"""Pseudo-data: typical-patient sarilumab profiles of the Xu 2019 population-PK model.

PSEUDO-DATA, NOT MEASUREMENTS. This script simulates the typical individual of a published
population-PK model after single subcutaneous doses and writes the serum concentrations at chosen
sampling times as a PEtab measurement table (``measurements.tsv`` beside this file). It is
il6sim's own code; nothing is copied from other projects.

Model: Xu C, Su Y, Paccaly A, Kanamaluru V. Population pharmacokinetics of sarilumab in patients
with rheumatoid arthritis. Clin Pharmacokinet 2019;58(11):1455-1467,
doi:10.1007/s40262-019-00765-1. Two-compartment model, first-order absorption from an SC depot,
parallel first-order (CLO/F) and Michaelis-Menten (Vm, Km) elimination from the central
compartment. Fitted to SC data only, so the disposition parameters are APPARENT (/F) and the
full dose enters the depot. Time in days, amounts in mg, concentrations in mg/l = ug/ml.

Every number below was read with the library's ``read_file`` tool from the public repository
nlmixr2/nlmixr2lib, file ``inst/modeldb/specificDrugs/Xu_2019_sarilumab.R`` at commit
39f50707e4257f923842e1af4c654f70a6e2a28c (identical values at e904e1479680c319311b71d3c5a39362b6765c6b),
whose comments cite the paper's Table 3 (final-model estimates):

    ka      0.136  1/d    Table 3, Ka row        (lka <- log(0.136))
    CLO/F   0.260  l/d    Table 3, CLO/F row     (lcl <- log(0.260))
    Vc/F    2.08   l      Table 3, Vc/F row      (lvc <- log(2.08))
    Vp/F    5.23   l      Table 3, Vp/F row      (lvp <- log(5.23))
    Q/F     0.156  l/d    Table 3, Q/F row       (lq  <- log(0.156))
    Vm      8.06   mg/d   Table 3, Vm row        (lvm/lvmax <- log(8.06))
    Km      0.939  mg/l   Table 3, Km row        (lkm <- log(0.939))
    SEX on CLO/F  x0.846 for SEX = 1 = female    Table 3, theta17 (e_sexf_cl <- 0.846)

Typical individual: the reference patient of the nlmixr2lib file's ini() comment and of its
vignette ``vignettes/articles/Xu_2019_sarilumab.Rmd`` (commit 08da4085a164e8ce0bd4512c548964211230a7f2,
"Source trace" and "Typical-patient steady-state exposures"): a 71-kg FEMALE, ADA-negative,
non-DP2 (commercial DP3) drug product, albumin/ULN 0.78, 1.73*CrCl/BSA 100 ml/min/1.73 m^2,
baseline CRP 14.2 mg/l. All covariate factors are then 1 except sex: CLO/F = 0.260 x 0.846 =
0.21996 l/d. (The equation's reference category is male; the female typical patient is the one
whose steady-state exposures the vignette matches to the paper's Table 4: 200 mg q2w Cmax 35.6,
Ctrough 16.5 mg/l, AUC0-14d 395 mg*d/l; 150 mg q2w 20.0, 6.35, 202. ``--check`` prints both sexes.)

Inter-individual variability (same file, Table 3; used only by ``--spread``): CV 32.4 % on Vm,
55.3 % on CLO/F (correlation Vm-CLO/F -0.566), 37.3 % on Vc/F, 32.1 % on ka; log-normal with
omega^2 = log(1 + CV^2) as in the nlmixr2lib file. Residual error: additive on the log scale,
sigma^2 = 0.395 (SD 0.63).

Usage::

    .venv/bin/python models/calibration/xu2019_sarilumab_pseudo/make_pseudodata.py            # writes measurements.tsv
    .venv/bin/python models/calibration/xu2019_sarilumab_pseudo/make_pseudodata.py --check    # + steady-state q2w exposures
    .venv/bin/python models/calibration/xu2019_sarilumab_pseudo/make_pseudodata.py --spread   # + IIV 5-50-95 % band

The output is deterministic (fixed tolerances, fixed formatting; ``--spread`` draws from a fixed
seed and never changes ``measurements.tsv``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

HERE = Path(__file__).resolve().parent
NLMIXR2LIB_COMMIT = "39f50707e4257f923842e1af4c654f70a6e2a28c"

# Typical-patient parameters (see the module docstring for file, commit and table of each).
KA = 0.136  # 1/d
CL_MALE = 0.260  # l/d, apparent (CLO/F), equation reference (male)
SEX_FEMALE_ON_CL = 0.846  # multiplier on CLO/F for women
CL = CL_MALE * SEX_FEMALE_ON_CL  # l/d, typical (female) patient
VC = 2.08  # l, apparent
Q = 0.156  # l/d, apparent
VP = 5.23  # l, apparent
VM = 8.06  # mg/d
KM = 0.939  # mg/l

# IIV (CV on the linear scale) and correlations, order Vm, CLO/F, Vc/F, ka (Table 3 via nlmixr2lib).
IIV_CV = {"VM": 0.324, "CL": 0.553, "VC": 0.373, "KA": 0.321}
IIV_CORR = np.array([
    [1.0, -0.566, 0.0, 0.0],
    [-0.566, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
])

# Design of the pseudo-study (the task's choice, not the paper's).
WEIGHT_KG = 71.0  # the model's reference weight (covariate factor (WT/71)^0.885 = 1)
DOSES_MG = (100.0, 150.0, 200.0)
TIMES_H = (24.0, 72.0, 168.0, 336.0, 504.0, 672.0, 1008.0)
LLOQ_MG_L = 0.1  # stand-in assay LLOQ (README: the sarilumab assay's LLOQ was not found)

RTOL = 1e-10
ATOL = 1e-12


def _rhs(_t: float, y: np.ndarray, ka: float, cl: float, vc: float, q: float, vp: float, vm: float,
         km: float) -> list[float]:
    depot, a1, a2 = y
    c = a1 / vc
    return [-ka * depot,
            ka * depot - cl / vc * a1 - vm * c / (km + c) - q / vc * a1 + q / vp * a2,
            q / vc * a1 - q / vp * a2]


def simulate(dose_mg: float, times_h: np.ndarray, *, pars: tuple[float, ...] = (KA, CL, VC, Q, VP, VM, KM),
             rtol: float = RTOL, atol: float = ATOL, y0: tuple[float, float, float] = (0.0, 0.0, 0.0),
             end_h: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Serum sarilumab (mg/l) at ``times_h`` after an SC dose of ``dose_mg`` at t = 0 (whole dose to the depot).

    Returns the concentrations and the state (amounts, mg) at ``end_h`` (default: the last time).
    """
    times_d = np.asarray(times_h, dtype=float) / 24.0
    t_end = float(times_d.max()) if end_h is None else end_h / 24.0
    y = np.asarray(y0, dtype=float) + np.array([dose_mg, 0.0, 0.0])
    sol = solve_ivp(_rhs, (0.0, t_end), y, method="LSODA", dense_output=True, args=pars, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(sol.message)
    return sol.sol(times_d)[1] / pars[2], sol.y[:, -1]


def rows() -> list[tuple[str, str, float, float, str]]:
    """(observableId, conditionId, value mg/l, time h, datasetId) of every point above the LLOQ."""
    table = []
    times = np.asarray(TIMES_H)
    for dose in DOSES_MG:
        cid = f"sar{dose:g}_ra"
        conc, _ = simulate(dose, times)
        for t, c in zip(times, conc):
            if c >= LLOQ_MG_L:
                table.append(("sar_total", cid, float(c), float(t), f"xu2019_pseudo_{cid}"))
    return table


def write(table: list[tuple[str, str, float, float, str]], path: Path) -> None:
    source = (f"pseudo-data: typical profile of Xu 2019 popPK (Table 3 via nlmixr2lib "
              f"Xu_2019_sarilumab.R@{NLMIXR2LIB_COMMIT[:12]}), make_pseudodata.py")
    lines = ["observableId\tsimulationConditionId\tmeasurement\ttime\tdatasetId\tsource"]
    lines += [f"{o}\t{c}\t{v:.10g}\t{t:g}\t{d}\t{source}" for o, c, v, t, d in table]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def steady_state_check() -> None:
    """Typical-patient steady state of 150 and 200 mg q2w (12th dose), against the paper's Table 4."""
    print("\nsteady state, 12th dose of q2w (Table 4 as quoted in the nlmixr2lib vignette: 200 mg Cmax 35.6, "
          "Ctrough 16.5 mg/l, AUC0-14d 395 mg*d/l; 150 mg 20.0, 6.35, 202)")
    tau_h = 14 * 24.0
    grid = np.linspace(0.0, tau_h, 2801)
    for sex, cl in (("female (typical)", CL), ("male", CL_MALE)):
        for dose in (150.0, 200.0):
            y = (0.0, 0.0, 0.0)
            for _ in range(12):
                conc, state = simulate(dose, grid, pars=(KA, cl, VC, Q, VP, VM, KM), y0=y, end_h=tau_h)
                y = (float(state[0]), float(state[1]), float(state[2]))
            auc = float(np.trapezoid(conc, grid / 24.0))
            print(f"  {sex:16s} {dose:g} mg: Cmax {conc.max():6.2f}  Ctrough {conc[-1]:6.2f} mg/l  "
                  f"AUC0-14d {auc:6.1f} mg*d/l")


def spread(n: int = 1000, seed: int = 2019) -> None:
    """Between-subject 5-50-95 % band at the sampling times (IIV only, typical covariates, no residual)."""
    rng = np.random.default_rng(seed)
    omega = np.sqrt(np.log1p(np.array(list(IIV_CV.values())) ** 2))
    cov = IIV_CORR * np.outer(omega, omega)
    eta = rng.multivariate_normal(np.zeros(4), cov, size=n)
    times = np.asarray(TIMES_H)
    print(f"\nIIV band ({n} subjects, seed {seed}; Table 3 CVs and correlation; typical covariates; mg/l)")
    print("dose    time_h        p5       p50       p95   typical")
    for dose in DOSES_MG:
        typ, _ = simulate(dose, times)
        sims = np.array([simulate(dose, times, rtol=1e-8, atol=1e-10,
                                  pars=(KA * np.exp(e[3]), CL * np.exp(e[1]), VC * np.exp(e[2]), Q, VP,
                                        VM * np.exp(e[0]), KM))[0] for e in eta])
        p5, p50, p95 = np.percentile(sims, [5, 50, 95], axis=0)
        for i, t in enumerate(times):
            print(f"{dose:4g} mg {t:7g} {p5[i]:9.3g} {p50[i]:9.3g} {p95[i]:9.3g} {typ[i]:9.3g}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print typical steady-state q2w exposures")
    parser.add_argument("--spread", action="store_true", help="print the IIV 5-50-95 %% band")
    args = parser.parse_args(argv)

    table = rows()
    write(table, HERE / "measurements.tsv")
    dropped = len(DOSES_MG) * len(TIMES_H) - len(table)
    print(f"Xu 2019 typical patient (female, {WEIGHT_KG:g} kg, reference covariates; CLO/F {CL:.5g} l/d), single SC dose")
    print(f"wrote {len(table)} rows to {HERE / 'measurements.tsv'} ({dropped} below the LLOQ {LLOQ_MG_L:g} mg/l dropped)")
    print("condition   time_h   sar_mg_l")
    for _, cid, v, t, _ in table:
        print(f"{cid:10s} {t:7g} {v:10.5g}")
    if args.check:
        steady_state_check()
    if args.spread:
        spread()


if __name__ == "__main__":
    main()
