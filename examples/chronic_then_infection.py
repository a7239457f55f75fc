"""A rheumatoid-arthritis patient on tocilizumab every 4 weeks, infected with SARS-CoV-2 on day 100.

``"ra+covid_severe@100d"`` composes two scenarios: RA from its own steady state from t = 0, and the
severe COVID-19 course of the disease layer starting on day 100 (16 days after the fourth infusion).
The same spelling works on the command line::

    il6sim simulate --scenario ra+covid_severe@100d --drug tocilizumab --dose 8mg/kg --every 28d --count 5 --out treated.csv

Run:  python examples/chronic_then_infection.py
"""

from __future__ import annotations

import numpy as np

import il6sim
from il6sim.readouts import Window, auc, last_above, peak

model = il6sim.load_model("il6")
scenario = "ra+covid_severe@100d"
t = np.arange(0.0, 145 * 24.0 + 1, 2.0)
infection = Window(100 * 24.0, "end")
runs = {
    "untreated": il6sim.build_run(model, scenario=scenario),
    "tocilizumab 8 mg/kg q4w": il6sim.build_run(model, scenario=scenario, drug_groups=[
        {"drug": "tocilizumab", "dose": "8 mg/kg", "every": "28d", "count": 5}]),
}
print("infected on day 100; readouts from the infection to day 145")
print(f"{'':>24} {'drug at infection ug/ml':>24} {'CRP peak mg/l':>14} {'virus < 100/ml, day':>20} {'damage AUC':>11}")
for name, run in runs.items():
    res = run.simulate(t)
    drug = float(np.interp(100 * 24.0, t, res["drug_total_ug_ml"])) if "drug_total_ug_ml" in res else 0.0
    clear_d = 100 + float(last_above(t, res["viral_load_copies_ml"], 100.0, infection)) / 24
    print(f"{name:>24} {drug:>24.1f} {float(peak(t, res['crp_mg_l'], infection)):>14.1f} {clear_d:>20.1f} "
          f"{float(auc(t, res['tissue_damage'], infection)) / 24:>11.2f}")
