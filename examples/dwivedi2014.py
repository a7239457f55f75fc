"""The published anti-IL-6R Crohn's disease model (Dwivedi et al. 2014, BIOMD0000000537) beside il6sim's model.

Both get the same tocilizumab-like regimen: 300 mg IV every 4 weeks, 3 doses (the BioModels file's own
dosing events: ``Dose`` = 300 mg at t = 0.1 h, 672 h and 1344 h). The published model runs as its SBML file
stands through il6sim's general SBML path (rules, initial assignments, events); il6sim's model runs the
shipped tocilizumab file in the ``ra`` scenario (a chronic inflammatory disease; il6sim has no Crohn's
scenario). Printed: CRP as % suppression from baseline, weekly, from both. ``--plot FILE.png`` draws it.

Source: Dwivedi G et al. (2014) CPT Pharmacometrics Syst Pharmacol 3:e89, doi:10.1038/psp.2013.64.

Run:  python examples/dwivedi2014.py [--plot crp.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import il6sim

BIOMODEL = Path(__file__).resolve().parents[2] / "shared" / "biomodels" / "BIOMD0000000537.xml"
CRP_SUPPRESSION = "CRP_Suppression___"  # the file's species "CRP Suppression (%)", an assignment rule

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--plot", type=Path, help="save the figure here")
args = parser.parse_args()

weeks = np.arange(0, 12)
hours = weeks * 168.0
if BIOMODEL.is_file():
    published = il6sim.load_model(BIOMODEL)  # an SbmlModel: simulated with its own dosing events
    crp_published = np.asarray(il6sim.simulate(published, hours)[CRP_SUPPRESSION])
else:
    print(f"(published model not found at {BIOMODEL}: only il6sim's model is run)")
    crp_published = np.full(hours.shape, np.nan)

run = il6sim.build_run(il6sim.load_model("il6"), scenario="ra", drug_groups=[
    {"drug": "tocilizumab", "dose": "300 mg", "at": "0.1 h", "every": "28 d", "count": 3, "infusion": "1 h"}],
    duration_h=float(hours[-1]))
ours = run.simulate(hours, solver="jit")  # from the ra scenario's drug-free steady state
crp = np.asarray(ours["crp_mg_l"])
crp_ours = 100.0 * (1.0 - crp / crp[0])

print(f"{'week':>4} {'CRP suppression % (Dwivedi 2014)':>33} {'CRP suppression % (il6sim)':>27}")
for w, a, b in zip(weeks, crp_published, crp_ours):
    print(f"{w:4d} {a:33.1f} {b:27.1f}")

if args.plot:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(weeks, crp_published, "o-", label="Dwivedi 2014 (BIOMD0000000537)")
    ax.plot(weeks, crp_ours, "s-", label="il6sim (ra scenario, tocilizumab)")
    ax.set(xlabel="week", ylabel="CRP suppression (%)", title="300 mg IV q4w x 3")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.plot)
    print(f"figure: {args.plot}")
