"""(o) Chronic therapy, then infection: an RA patient at steady state on an IL-6R antibody is infected.

Scenario composition (:func:`il6sim.scenario.then`, spelled ``"ra+covid_severe@114d"``): the
chronic disease from its own steady state, the infection (by default the disease layer's severe
COVID-19, whose course the drugs change) from day ``at`` on top of it. Each
regimen (tocilizumab 8 mg/kg IV every 4 weeks, sarilumab 200 mg SC every 2 weeks by default) runs
for at least ``steady_weeks`` before the infection and continues through it; the infection starts
either two days after a dose (near the peak of drug) or one day before the next dose (at the
trough). Every treated run has an untreated twin with the same infection day; inhibition is
:func:`il6sim.readouts.inhibition` against it, from the infection to the end (``[at:end]``).

>>> from il6sim.shipped import load_model
>>> t = compute_chronic_infection(load_model("il6"), step_h=24.0)
>>> sorted(set(t["phase"]))
['after a dose', 'at trough', 'untreated']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..network import Network
from ..readouts import Window, auc, inhibition, last_above, output_grid, value_at
from .runs import dose_times, inhibition_column, scenario_run, simulate_run

__all__ = ["OUTCOMES", "PHASES", "READOUTS", "REGIMENS", "compute_chronic_infection"]

READOUTS = ("il6_free_pg_ml", "crp_mg_l", "classic_signal", "trans_signal")
#: the disease layer's outcomes, drawn when the infection runs it (``covid_severe``)
OUTCOMES = ("viral_load_copies_ml", "tissue_damage")
CLEARANCE_COPIES_ML = 100.0
#: drug, dose, route, interval (d): the label regimens in rheumatoid arthritis
REGIMENS: tuple[tuple[str, str, str, float], ...] = (("tocilizumab", "8 mg/kg", "iv", 28.0),
                                                     ("sarilumab", "200 mg", "sc", 14.0))
#: where in the dosing interval the infection starts: days after a dose (>= 0) or before the next (< 0)
PHASES = {"after a dose": 2.0, "at trough": -1.0}
BEFORE_D = 7.0  # days of the chronic steady state shown before the infection


def _infection_day(every_d: float, offset_d: float, steady_weeks: float) -> float:
    n = math.ceil(steady_weeks * 7.0 / every_d)
    return n * every_d + offset_d if offset_d >= 0 else (n + 1) * every_d + offset_d


def compute_chronic_infection(network: Network, *, chronic: str = "ra", infection: str = "covid_severe",
                              regimens: Sequence[tuple[str, str, str, float]] = REGIMENS,
                              steady_weeks: float = 16.0, step_h: float = 6.0) -> pd.DataFrame:
    """Long table of the infection window: ``run``, ``drug``, ``phase``, ``infection_day``, ``time_d``
    (days since infection), readouts and each run's inhibition against its untreated twin.

    Parameters
    ----------
    network : the IL-6 model.
    chronic, infection : the chronic scenario (started from its own steady state) and the infection
        (default: ``covid_severe``, whose course the drugs can change; with a fixed-drive
        infection such as ``covid_severe_fixed`` the viral and damage columns are absent).
    regimens : (drug, dose, route, interval in days) of each chronic therapy.
    steady_weeks : weeks of therapy at least before the infection.
    step_h : output interval, h (dose times are added as before/after pairs).

    Returns
    -------
    DataFrame with, per run, ``days_since_dose`` and ``drug_ug_ml`` at the infection, the columns
    ``inhibition[infection:end]:<readout> (%)`` (NaN for the untreated runs) and, when the infection
    runs the disease layer, ``viral_load_copies_ml``, ``tissue_damage``, ``clearance_d`` (days from
    the infection until the viral load last exceeds 100 copies/ml), ``clearance_delay_d`` and
    ``damage_avoided_pct`` (against the untreated twin; 0 for the twins themselves).

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_chronic_infection(load_model("il6"), step_h=24.0)
    >>> peak = t[t["time_d"] >= 0].groupby("run")["crp_mg_l"].max()
    >>> bool(peak["tocilizumab 8 mg/kg iv q28d, after a dose"] < peak["untreated, day 114"])
    True
    """
    frames: list[pd.DataFrame] = []
    untreated: dict[float, Any] = {}
    for drug, dose, route, every_d in regimens:
        for phase, offset in PHASES.items():
            at_d = _infection_day(every_d, offset, steady_weeks)
            scenario = f"{chronic}+{infection}@{at_d:g}d"
            base = scenario_run(network, scenario)
            end = base.duration_h
            count = int(math.floor((end - 1e-6) / (every_d * 24.0))) + 1
            run = scenario_run(network, scenario, [{"drug": drug, "dose": dose, "route": route,
                                                    "every": f"{every_d:g} d", "count": count}])
            doses = dose_times(run)
            t = output_grid(end, step_h, dose_times=doses)
            res = simulate_run(run, t)
            ref = simulate_run(base, t)  # the untreated twin, on this run's grid
            untreated.setdefault(at_d, (ref, t))
            window = Window(at_d * 24.0, "end")
            at_h = at_d * 24.0
            last_dose = max(d for d in doses if d <= at_h)
            extra = {"days_since_dose": (at_h - last_dose) / 24.0,
                     "drug_ug_ml": float(value_at(t, res["drug_total_ug_ml"], at_h, before=True))}
            label = f"{drug} {dose} {route} q{every_d:g}d, {phase}"
            frames.append(_frame(label, drug, phase, at_d, t, res, ref, window, extra))
    for at_d, (ref, t) in untreated.items():
        frames.append(_frame(f"untreated, day {at_d:g}", "", "untreated", at_d, t, ref, None,
                             Window(at_d * 24.0, "end"), {"days_since_dose": np.nan, "drug_ug_ml": 0.0}))
    return pd.concat(frames, ignore_index=True)


def _frame(label: str, drug: str, phase: str, at_d: float, t: np.ndarray, res: Any, ref: Any, window: Window,
           extra: dict[str, float]) -> pd.DataFrame:
    keep = t >= (at_d - BEFORE_D) * 24.0
    cols: dict[str, Any] = {"run": label, "drug": drug, "phase": phase, "infection_day": at_d,
                            "time_d": (t[keep] - at_d * 24.0) / 24.0, **extra}
    for o in READOUTS:
        y = np.asarray(res[o])
        cols[o] = y[keep]
        cols[inhibition_column("[infection:end]", o)] = (
            float(inhibition(t, y, ref[o], window)) if ref is not None else np.nan)
    twin = ref if ref is not None else res
    if all(o in res.observable_ids for o in OUTCOMES) and float(np.max(twin["viral_load_copies_ml"])) >= \
            CLEARANCE_COPIES_ML:  # an infection on the disease layer (not a fixed drive)
        for o in OUTCOMES:
            cols[o] = np.asarray(res[o])[keep]
        clear, clear_twin = (float(last_above(t, r["viral_load_copies_ml"], CLEARANCE_COPIES_ML, window)) / 24.0
                             for r in (res, twin))
        area, area_twin = (float(auc(t, r["tissue_damage"], window)) for r in (res, twin))
        cols["clearance_d"] = clear
        cols["clearance_delay_d"] = clear - clear_twin
        cols["damage_avoided_pct"] = 100.0 * (1.0 - area / area_twin) if area_twin > 0 else np.nan
    return pd.DataFrame(cols)
