"""(g) Compute disease settings: IL-6 levels in each, and the inhibition standard doses achieve.

Each scenario (COVID-19 moderate and severe, ARDS, sepsis, CRS) is simulated untreated and with
each shipped binder at its standard dose, given at the scenario's admission time or, when the
scenario has none, when its inflammatory drive starts (the first infusion in the scenario file).
Readouts come from :mod:`il6sim.readouts` and carry their window in the column name: ``dose`` is
that dosing time (``dose_day``, per scenario), ``end`` the end of the scenario's run. Inhibition
of a readout is 100 · (1 − AUC/AUC(untreated)) over ``[dose:end]``, NaN where the untreated
area is 0.

>>> from il6sim.shipped import load_model
>>> t = compute_settings(load_model("il6"), scenarios=["sepsis"], drugs=["sarilumab"])
>>> list(t["drug"])
['untreated', 'sarilumab']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..drugs import load_drug
from ..network import Network
from ..protocol import Infusion
from ..readouts import Window, inhibition, output_grid, peak
from .runs import SIGNALS, binder_names, inhibition_column, scenario_run, simulate_run

__all__ = ["SCENARIOS", "compute_settings"]

SCENARIOS = ("covid_moderate", "covid_severe", "ards", "sepsis", "crs")
WHOLE_RUN = Window(0.0, "end")
AFTER_DOSE = Window("dose", "end")


def compute_settings(network: Network, *, scenarios: Sequence[str] = SCENARIOS, drugs: Sequence[str] | None = None,
                     step_h: float = 3.0) -> pd.DataFrame:
    """One row per (scenario, run): peak IL-6 and CRP, and percent inhibition of each mode and of CRP.

    Parameters
    ----------
    network : the IL-6 model.
    scenarios : scenario names or paths.
    drugs : binders at their standard dose (default: every shipped binder).
    step_h : output interval, h (the dose time is added as a before/after pair; peaks and AUCs use this grid).

    Returns
    -------
    DataFrame: ``scenario``, ``drug``, ``target_class``, ``dose_day``, ``peak[0:end]:il6_free_pg_ml``,
    ``peak[dose:end]:il6_total_pg_ml``, ``peak[dose:end]:crp_mg_l``, and
    ``inhibition[dose:end]:<readout> (%)`` for the three signals and CRP.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_settings(load_model("il6"), scenarios=["crs"], drugs=["siltuximab"])
    >>> float(t.set_index("drug").loc["untreated", "peak[0:end]:il6_free_pg_ml"]) > 1000
    True
    """
    names = list(drugs) if drugs is not None else binder_names()
    rows: list[dict[str, Any]] = []
    for sc in scenarios:
        base = scenario_run(network, sc)
        s = base.scenario
        starts = [e.start_h for e in (s.protocol.sorted_events() if s else ()) if isinstance(e, Infusion)]
        at = s.admission_h if s and s.admission_h > 0 else (min(starts) if starts else 0.0)
        t = output_grid(base.duration_h, step_h, dose_times=[at])
        ref = simulate_run(base, t)
        runs = [("untreated", "untreated", ref)]
        for name in names:
            drug = load_drug(name)
            runs.append((drug.name, drug.target_class, simulate_run(scenario_run(network, sc, [{"drug": name, "at": at}]), t)))
        for label, cls, res in runs:
            row: dict[str, Any] = {
                "scenario": s.name if s else str(sc), "drug": label, "target_class": cls, "dose_day": at / 24,
                f"peak{WHOLE_RUN.label}:il6_free_pg_ml": float(peak(t, res["il6_free_pg_ml"], WHOLE_RUN)),
                f"peak{AFTER_DOSE.label}:il6_total_pg_ml": float(peak(t, res["il6_total_pg_ml"], AFTER_DOSE,
                                                                      first_dose=at)),
                f"peak{AFTER_DOSE.label}:crp_mg_l": float(peak(t, res["crp_mg_l"], AFTER_DOSE, first_dose=at))}
            for o in (*SIGNALS, "crp_mg_l"):
                row[inhibition_column(AFTER_DOSE, o)] = float(inhibition(t, res[o], ref[o], AFTER_DOSE, first_dose=at))
            rows.append(row)
    return pd.DataFrame(rows)
