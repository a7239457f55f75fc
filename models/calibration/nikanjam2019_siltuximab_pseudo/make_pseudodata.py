"""Pseudo-data: typical-patient siltuximab profiles of the Nikanjam 2019 population-PK model.

PSEUDO-DATA, NOT MEASUREMENTS. This script computes the serum siltuximab concentrations of the
typical individual of a published population-PK model at the label regimen (11 mg/kg as a 1-h IV
infusion every 3 weeks, four doses) and writes them at chosen sampling times as a PEtab
measurement table (``measurements.tsv`` beside this file). It is il6sim's own code; nothing is
copied from other projects.

Model: Nikanjam M, Cho HJ, Capparelli EV. Population pharmacokinetics of siltuximab: impact of
disease state. Cancer Chemother Pharmacol 2019;84(5):993-1001, doi:10.1007/s00280-019-03939-7.
Two-compartment model with linear elimination (no target-mediated term: IL-6 amounts are far
below drug amounts); 460 subjects, 7 studies, 0.15-15.6 mg/kg IV. Time in days, amounts in mg,
concentrations in mg/l = ug/ml.

Every number below was read with the library's ``read_file`` tool from the public repository
nlmixr2/nlmixr2lib, file ``inst/modeldb/specificDrugs/Nikanjam_2019_siltuximab.R`` at commit
01e4bc56cd2bd7809039624d86bd493292cc7c64, whose comments cite the paper's Table 2 (final model):

    CL   0.214  l/d    Table 2, theta2   (lcl <- log(0.214))
    V1   3.66   l      Table 2, theta1   (lvc <- log(3.66))
    V2   3.13   l      Table 2, theta3   (lvp <- log(3.13))
    Q    0.624  l/d    Table 2, theta4   (lq  <- log(0.624))
    weight on V1 and V2: (WT/73)^0.65    Table 2, theta6

Typical individual: the model's reference subject, a 73-kg patient (not a healthy volunteer, no
Castleman disease, no smoldering myeloma) with albumin 4.1 g/dl, ALT 19 U/l and creatinine
0.9 mg/dl, so every covariate factor is 1. The same values are the shipped drug file
``models/drugs/siltuximab.toml``: this data set checks that il6sim's drug module (dosing, units,
volumes, and IL-6 binding on top) reproduces the population model, since no fitted parameter of
the joint calibration acts on siltuximab's disposition.

Inter-individual variability (same file, Table 2; used only by ``--spread``): CV 20.0 % on CL and
42.0 % on Vss (one eta shared by V1 and V2); log-normal with omega^2 = log(1 + CV^2).

Usage::

    .venv/bin/python models/calibration/nikanjam2019_siltuximab_pseudo/make_pseudodata.py            # writes measurements.tsv
    .venv/bin/python models/calibration/nikanjam2019_siltuximab_pseudo/make_pseudodata.py --spread   # + IIV 5-50-95 % band

The solution is closed-form (matrix exponential of the linear two-compartment system, constant
input during each infusion), deterministic, and written with fixed formatting.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.linalg import expm

HERE = Path(__file__).resolve().parent
NLMIXR2LIB_COMMIT = "01e4bc56cd2bd7809039624d86bd493292cc7c64"

CL = 0.214  # l/d
V1 = 3.66  # l, at 73 kg
V2 = 3.13  # l, at 73 kg
Q = 0.624  # l/d
IIV_CV = {"CL": 0.200, "VSS": 0.420}

# Design of the pseudo-study (this task's choice, the label regimen): 11 mg/kg, 1-h IV infusion every 21 d, 4 doses.
WEIGHT_KG = 73.0
DOSE_MG_PER_KG = 11.0
INFUSION_H = 1.0
EVERY_H = 21 * 24.0
COUNT = 4
TIMES_H = (1.0, 24.0, 168.0, 336.0, 503.0, 1513.0, 1680.0, 1848.0, 2015.0)


def simulate(times_h: np.ndarray, *, cl: float = CL, v1: float = V1, v2: float = V2, q: float = Q) -> np.ndarray:
    """Serum siltuximab (mg/l) at ``times_h`` under the design above (exact, piecewise closed form)."""
    dose = DOSE_MG_PER_KG * WEIGHT_KG
    rate = dose / (INFUSION_H / 24.0)  # mg/d during an infusion
    a = np.array([[-(cl + q) / v1, q / v2], [q / v1, -q / v2]])  # d(amounts)/dt = a @ amounts + input
    ainv = np.linalg.inv(a)
    starts = [k * EVERY_H for k in range(COUNT)]
    edges = sorted({0.0, *starts, *(s + INFUSION_H for s in starts), *map(float, times_h)})
    out = {}
    x = np.zeros(2)
    for lo, hi in zip(edges[:-1], edges[1:]):
        on = any(s <= lo < s + INFUSION_H for s in starts)
        b = np.array([rate if on else 0.0, 0.0])
        e = expm(a * (hi - lo) / 24.0)
        x = e @ x + ainv @ (e - np.eye(2)) @ b
        out[hi] = x[0] / v1
    return np.array([out[float(t)] for t in times_h])


def rows() -> list[tuple[str, str, float, float, str]]:
    """(observableId, conditionId, value mg/l, time h, datasetId) of every sampling time."""
    conc = simulate(np.asarray(TIMES_H))
    return [("silt_total", "silt11_q3w", float(c), float(t), "nikanjam2019_pseudo_silt11_q3w")
            for t, c in zip(TIMES_H, conc)]


def write(table: list[tuple[str, str, float, float, str]], path: Path) -> None:
    source = (f"pseudo-data: typical profile of Nikanjam 2019 popPK (Table 2 via nlmixr2lib "
              f"Nikanjam_2019_siltuximab.R@{NLMIXR2LIB_COMMIT[:12]}), make_pseudodata.py")
    lines = ["observableId\tsimulationConditionId\tmeasurement\ttime\tdatasetId\tsource"]
    lines += [f"{o}\t{c}\t{v:.10g}\t{t:g}\t{d}\t{source}" for o, c, v, t, d in table]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def spread(n: int = 1000, seed: int = 2019) -> None:
    """Between-subject 5-50-95 % band at the sampling times (IIV only, reference covariates)."""
    rng = np.random.default_rng(seed)
    omega = np.sqrt(np.log1p(np.array([IIV_CV["CL"], IIV_CV["VSS"]]) ** 2))
    eta = rng.normal(size=(n, 2)) * omega
    times = np.asarray(TIMES_H)
    sims = np.array([simulate(times, cl=CL * np.exp(e[0]), v1=V1 * np.exp(e[1]), v2=V2 * np.exp(e[1]))
                     for e in eta])
    p5, p50, p95 = np.percentile(sims, [5, 50, 95], axis=0)
    typ = simulate(times)
    print(f"\nIIV band ({n} subjects, seed {seed}; Table 2 CVs; reference covariates; mg/l)")
    print(" time_h        p5       p50       p95   typical")
    for i, t in enumerate(times):
        print(f"{t:7g} {p5[i]:9.4g} {p50[i]:9.4g} {p95[i]:9.4g} {typ[i]:9.4g}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spread", action="store_true", help="print the IIV 5-50-95 %% band")
    args = parser.parse_args(argv)
    table = rows()
    write(table, HERE / "measurements.tsv")
    print(f"Nikanjam 2019 reference patient ({WEIGHT_KG:g} kg), siltuximab {DOSE_MG_PER_KG:g} mg/kg IV q3w x {COUNT}")
    print(f"wrote {len(table)} rows to {HERE / 'measurements.tsv'}")
    for _, _, v, t, _ in table:
        print(f"{t:7g} h {v:10.5g} mg/l")
    if args.spread:
        spread()


if __name__ == "__main__":
    main()
