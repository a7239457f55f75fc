"""(p) Benefit against harm: damage avoided and viral clearance delayed, by drug class and treatment day.

The disease layer (scenario ``covid_severe``) lets a drug change the course of the infection:
blocking IL-6 lowers inflammation and tissue damage (benefit) and, through less IL-6 help to
effector T cells, slows viral clearance (harm). Each drug (one per class by default: the cytokine
binder siltuximab, the receptor blocker tocilizumab, the trans-signalling blocker olamkicept) is
given at its standard dose on a day relative to symptom onset (the untreated viral peak), alone or
with dexamethasone 6 mg daily for 10 days from the same day; dexamethasone alone is a row too.
Outcomes, against the same patient untreated:

* ``clearance_delay_d``: the change in the time from onset until the viral load last exceeds
  100 copies/ml (:func:`il6sim.readouts.last_above`), days;
* ``damage_avoided_pct``: 100 · (1 − AUC of ``tissue_damage`` / untreated AUC), whole run;
* ``damage_peak``: the peak of ``tissue_damage`` (0-1);
* ``low_defence_h``: hours after onset with effector T cells below half of their untreated peak
  (:func:`il6sim.readouts.time_below`), the time with host defence below a threshold; the
  untreated value is in ``low_defence_untreated_h``.

>>> from il6sim.shipped import load_model
>>> t = compute_benefit_harm(load_model("il6"), drugs=("tocilizumab",), days=(0.0,), dexamethasone=(False,))
>>> list(t.columns)[:4]
['drug', 'class', 'day', 'dexamethasone']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..bands import unmeasured_ranges
from ..drugs import load_drug
from ..network import Network
from ..readouts import Window, auc, last_above, output_grid, peak, time_below
from .runs import dose_times, scenario_run, simulate_run

__all__ = ["CLEARANCE_COPIES_ML", "DAYS", "DRUGS", "compute_benefit_harm"]

DRUGS = ("siltuximab", "tocilizumab", "olamkicept")
DAYS = (-2.0, 0.0, 3.0, 7.0, 10.0)  # days after symptom onset
CLEARANCE_COPIES_ML = 100.0
_CLASS = {"cytokine": "IL-6 binder", "receptor": "IL-6R blocker", "complex": "trans-signalling blocker",
          "production": "glucocorticoid"}


def compute_benefit_harm(network: Network, *, scenario: str = "covid_severe", drugs: Sequence[str] = DRUGS,
                         days: Sequence[float] = DAYS, dexamethasone: Sequence[bool] = (False, True),
                         step_h: float = 6.0) -> pd.DataFrame:
    """One row per drug, treatment day and dexamethasone arm (and dexamethasone alone per day).

    Parameters
    ----------
    network : the IL-6 model (with the disease layer).
    scenario : a scenario that runs the disease layer.
    drugs : drugs given at their standard dose.
    days : treatment days relative to symptom onset (the untreated viral peak).
    dexamethasone : which arms to run: without (False) and/or with (True) dexamethasone from the same day.
    step_h : output interval, h.

    Returns
    -------
    DataFrame with ``drug``, ``class``, ``day`` (after onset), ``dexamethasone``, ``onset_d``,
    ``clearance_d`` (from onset), ``clearance_delay_d``, ``damage_auc``, ``damage_avoided_pct``,
    ``damage_peak``, ``low_defence_h`` and ``low_defence_untreated_h``; ``clearance_delay_d_low``/
    ``_high`` and ``damage_avoided_pct_low``/``_high`` span the same outcome over the plausible range
    of the unmeasured model constants (``models/calibration/unmeasured.tsv`` rows with drug
    ``model``: the IL-6 help to effector T cells), each end against its own untreated course.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_benefit_harm(load_model("il6"), drugs=("olamkicept",), days=(0.0,), dexamethasone=(False,))
    >>> bool(t["damage_avoided_pct"].iloc[0] > 0)
    True
    """
    table = _arms(network, scenario, drugs, days, dexamethasone, step_h)
    variants = [_arms(network.with_parameters({r.parameter: v}), scenario, drugs, days, dexamethasone, step_h)
                for r in unmeasured_ranges() if r.drug == "model" and r.parameter in network.parameter_ids
                for v in (r.low, r.high)]
    for col in ("clearance_delay_d", "damage_avoided_pct"):
        stack = np.column_stack([table[col].to_numpy()] + [v[col].to_numpy() for v in variants])
        table[f"{col}_low"] = stack.min(axis=1)
        table[f"{col}_high"] = stack.max(axis=1)
    return table


def _arms(network: Network, scenario: str, drugs: Sequence[str], days: Sequence[float],
          dexamethasone: Sequence[bool], step_h: float) -> pd.DataFrame:
    base = scenario_run(network, scenario)
    t = output_grid(base.duration_h, step_h)
    untreated = simulate_run(base, t)
    onset_h = float(t[int(np.argmax(np.asarray(untreated["viral_load_copies_ml"])))])
    ref = _outcomes(t, untreated, onset_h, None)
    rows: list[dict[str, Any]] = []
    arms: list[tuple[str, float, bool]] = [(d, day, dex) for d in drugs for day in days for dex in dexamethasone]
    if True in dexamethasone:
        arms += [("dexamethasone", day, False) for day in days]
    for drug, day, dex in arms:
        at_h = onset_h + 24.0 * day
        groups: list[dict[str, Any]] = [{"drug": drug, "at": at_h}]
        if dex:
            groups.append({"drug": "dexamethasone", "at": at_h})
        run = scenario_run(network, scenario, groups)
        tt = output_grid(base.duration_h, step_h, dose_times=dose_times(run))
        res = simulate_run(run, tt)
        out = _outcomes(tt, res, onset_h, ref["effector_threshold"])
        cls = load_drug(drug).target_class
        rows.append({"drug": drug, "class": _CLASS.get(cls, cls), "day": float(day),
                     "dexamethasone": bool(dex) or drug == "dexamethasone", "onset_d": onset_h / 24.0,
                     "clearance_d": out["clearance_d"], "clearance_delay_d": out["clearance_d"] - ref["clearance_d"],
                     "damage_auc": out["damage_auc"],
                     "damage_avoided_pct": 100.0 * (1.0 - out["damage_auc"] / ref["damage_auc"]),
                     "damage_peak": out["damage_peak"], "low_defence_h": out["low_defence_h"],
                     "low_defence_untreated_h": ref["low_defence_h"]})
    return pd.DataFrame(rows)


def _outcomes(t: np.ndarray, res: Any, onset_h: float, effector_threshold: float | None) -> dict[str, float]:
    """Absolute outcomes of one run; the effector threshold defaults to half of this run's own peak."""
    after = Window(onset_h, "end")
    damage = np.asarray(res["tissue_damage"])
    effector = np.asarray(res["effector_t_cells"])
    threshold = 0.5 * float(np.max(effector)) if effector_threshold is None else effector_threshold
    return {"clearance_d": float(last_above(t, res["viral_load_copies_ml"], CLEARANCE_COPIES_ML, after)) / 24.0,
            "damage_auc": float(auc(t, damage)) / 24.0, "damage_peak": float(peak(t, damage)),
            "low_defence_h": float(time_below(t, effector, threshold, after)), "effector_threshold": threshold}
