"""Tables behind the calibration and validation figures: data against the calibrated model.

``compute_calibration`` simulates one training data set's conditions of the joint calibration
problem under every parameter set of the calibration band (:func:`il6sim.validation.band_sets`);
``compute_validation`` predicts the frozen validation set (:mod:`il6sim.validation`).

>>> from il6sim.analysis.calibration import DATA_SETS
>>> DATA_SETS[0]
'charoin2010_tcz_ra'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..network import Network

__all__ = ["DATA_SETS", "compute_calibration", "compute_validation"]

DATA_SETS = ("charoin2010_tcz_ra", "frey2010_tcz_pseudo", "xu2019_sarilumab_pseudo", "baselines",
             "nikanjam2019_siltuximab_pseudo")


def compute_calibration(network: Network, data_set: str = DATA_SETS[0], points: int = 120) -> Any:
    """Data of ``data_set`` and the calibrated model (best fit and band) at its conditions, long format.

    Columns: ``condition, observable, kind`` (``data`` or ``model``), ``time_h, value, lower, upper``.
    Steady-state data sets (all times 0) get the model at t = 0 only.
    """
    import pandas as pd

    from ..calibration import ensemble, joint_problem_path
    from ..estimate import load_problem
    from ..estimate.profile import predict
    from ..shipped import models_dir
    from ..validation import band_sets

    if data_set not in DATA_SETS:
        raise ValueError(f"unknown calibration data set '{data_set}' (data sets: {', '.join(DATA_SETS)})")
    problem = load_problem(joint_problem_path())
    sets = band_sets(ensemble())
    vectors = np.array([[s[p] for p in problem.parameter_ids] for s in sets])
    fitted = problem.simulate(sets[0])
    conditions = pd.read_csv(models_dir() / "calibration" / data_set / "conditions.tsv", sep="\t")["conditionId"]
    own = fitted[fitted["simulationConditionId"].isin(set(conditions))]
    rows: list[dict[str, Any]] = []
    for _, r in own.iterrows():
        rows.append({"condition": r["simulationConditionId"], "observable": r["observableId"], "kind": "data",
                     "time_h": float(r["time"]), "value": float(r["measurement"]), "lower": np.nan,
                     "upper": np.nan})
    for (cond, obs), group in own.groupby(["simulationConditionId", "observableId"], sort=False):
        t_end = float(group["time"].astype(float).max())
        # the grid plus the data's own times, so that short peaks (an infusion's end) are drawn
        times = (np.unique(np.concatenate([np.linspace(0.0, t_end, points), group["time"].astype(float)]))
                 if t_end > 0 else np.array([0.0]))
        band = predict(problem, vectors, obs, times.tolist(), condition=cond)
        for t, b, lo, hi in zip(band["time"], band["best"], band["lower"], band["upper"]):
            rows.append({"condition": cond, "observable": obs, "kind": "model", "time_h": float(t),
                         "value": float(b), "lower": float(lo), "upper": float(hi)})
    return pd.DataFrame(rows)


def compute_validation(network: Network) -> Any:
    """One row per validation observation: observed (with spread), predicted (best, band), agreement."""
    from ..validation import predict_all, predictions_table

    return predictions_table(predict_all())
