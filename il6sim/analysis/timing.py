"""(f) Compute timing runs: the same drug early or late after admission, with and without dexamethasone.

Severe COVID-19: the drug (tocilizumab by default, at its standard dose) at admission ("early")
or ``delay_d`` days later ("late"), each with or without dexamethasone 6 mg daily for 10 days
from admission (``models/drugs/dexamethasone.toml``), plus the untreated run and dexamethasone
alone. Inhibition is :func:`il6sim.readouts.inhibition`, 100 · (1 − AUC/AUC(untreated)), over
one window for every run, from admission to the end (``[15.8d:end]``); the window is in the column
names. All runs share one output grid, with every dose time of every run in it twice (the state
before and after the dose).

>>> from il6sim.shipped import load_model
>>> t = compute_timing(load_model("il6"), step_h=24.0)
>>> sorted(set(t["run"]))[:3]
['dexamethasone alone', 'early', 'early + dexamethasone']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..network import Network
from ..readouts import Window, inhibition, output_grid
from .runs import dose_times, inhibition_column, scenario_run, simulate_run

__all__ = ["READOUTS", "compute_timing"]

READOUTS = ("il6_free_pg_ml", "crp_mg_l", "classic_signal", "trans_signal")


def compute_timing(network: Network, *, drug: str = "tocilizumab", scenario: str = "covid_severe",
                   delay_d: float = 4.0, step_h: float = 6.0) -> pd.DataFrame:
    """Long table: ``run``, ``drug``, ``drug_day``, ``dex``, ``admission_day``, ``time_d``, readouts and inhibitions.

    Parameters
    ----------
    network : the IL-6 model.
    drug : the drug given early or late (standard dose).
    scenario : a scenario with an admission time.
    delay_d : days after admission for the late dose.
    step_h : output interval, h (dose times are added to it as before/after pairs).

    Returns
    -------
    DataFrame: one row per run and output time; ``inhibition[<admission>:end]:<readout> (%)``
    holds each run's inhibition of the readout (the same on every row of the run).

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_timing(load_model("il6"), step_h=24.0)
    >>> inh = t.groupby("run")["inhibition[15.8d:end]:classic_signal (%)"].first()
    >>> bool(inh["early"] > inh["late"])
    True
    """
    base = scenario_run(network, scenario)
    admit = base.scenario.admission_h if base.scenario else 0.0
    dex = {"drug": "dexamethasone", "at": admit}
    specs: dict[str, tuple[list[dict[str, Any]], float, bool]] = {
        "untreated": ([], np.nan, False),
        "dexamethasone alone": ([dex], np.nan, True),
        "early": ([{"drug": drug, "at": admit}], admit, False),
        "early + dexamethasone": ([{"drug": drug, "at": admit}, dex], admit, True),
        "late": ([{"drug": drug, "at": admit + 24 * delay_d}], admit + 24 * delay_d, False),
        "late + dexamethasone": ([{"drug": drug, "at": admit + 24 * delay_d}, dex], admit + 24 * delay_d, True),
    }
    runs = {name: scenario_run(network, scenario, groups) for name, (groups, _, _) in specs.items()}
    t = output_grid(base.duration_h, step_h, dose_times=[x for r in runs.values() for x in dose_times(r)])
    results = {name: simulate_run(run, t) for name, run in runs.items()}
    window = Window(admit, "end")
    frames = []
    for name, (_, at, with_dex) in specs.items():
        res = results[name]
        cols: dict[str, Any] = {"run": name, "drug": "" if np.isnan(at) else drug, "drug_day": at / 24,
                                "dex": with_dex, "admission_day": admit / 24, "time_d": t / 24}
        for o in READOUTS:
            cols[o] = np.asarray(res[o])
            cols[inhibition_column(window, o)] = float(inhibition(t, res[o], results["untreated"][o], window))
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)
