"""Benefit against harm in severe COVID-19: tocilizumab early or late, against the same patient untreated.

Scenario ``covid_severe`` runs the model's disease layer (t = 0 at infection; symptom onset is the
viral peak, day 8.8; admission is onset + 7 d). Blocking IL-6 lowers inflammation and lung damage
(benefit) and, through less IL-6 help to effector T cells, slows viral clearance (harm). Both are
read with :mod:`il6sim.readouts`: the last time the viral load is at or above 100 copies/ml, and the
area under the lung-damage curve. The size of the harm rests on an assumed link
(``k_eff_il6_help``; gallery figure p gives its band).

Run:  python examples/host_defence_tradeoff.py
"""

from __future__ import annotations

import numpy as np

import il6sim
from il6sim.readouts import Window, auc, last_above

model = il6sim.load_model("il6")
onset_d = 8.8
t = np.arange(0.0, 45 * 24.0 + 1, 2.0)
whole = Window(0.0, "end")


def course(at: str | None) -> tuple[float, float]:
    """Days from onset to viral clearance (< 100 copies/ml for good) and the damage AUC (damage x day)."""
    groups = [{"drug": "tocilizumab", "dose": "8 mg/kg", "at": at}] if at else []
    res = il6sim.build_run(model, scenario="covid_severe", drug_groups=groups).simulate(t)
    cleared_h = float(last_above(t, res["viral_load_copies_ml"], 100.0, whole))
    return cleared_h / 24 - onset_d, float(auc(t, res["tissue_damage"], whole)) / 24


ref_clear, ref_damage = course(None)
print(f"untreated: viral clearance {ref_clear:.1f} d after onset, lung-damage AUC {ref_damage:.2f} (damage x day)")
print(f"{'tocilizumab given':>26} {'clearance delay d':>18} {'damage AUC avoided %':>21}")
for label, at in (("at onset (day 8.8)", "8.8d"), ("3 days after onset", "11.8d"), ("at admission (day 15.8)", "admission")):
    clear, damage = course(at)
    print(f"{label:>26} {clear - ref_clear:>18.1f} {100 * (1 - damage / ref_damage):>21.1f}")
