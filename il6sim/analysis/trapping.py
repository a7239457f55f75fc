"""(c) Compute trapping versus blockade time courses: each binder at its standard dose (severe COVID-19).

The runs come from :func:`il6sim.compare.compare_drugs` (the ``il6sim compare`` machinery): the
scenario untreated and with each binder at its standard dose at admission, on its output grid
(the dose time in it twice: the state before and after the dose). The table is long: one row per
drug and output time.

>>> from il6sim.shipped import load_model
>>> t = compute_trapping(load_model("il6"), drugs=["siltuximab"], step_h=24.0)
>>> sorted(set(t["drug"]))
['siltuximab', 'untreated']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..compare import LEVELS, SIGNALS, compare_drugs
from ..drugs import load_drug
from ..network import Network

__all__ = ["READOUTS", "compute_trapping"]

#: the time courses in the table (one figure panel each)
READOUTS = (*LEVELS, *SIGNALS)


def compute_trapping(network: Network, *, scenario: str = "covid_severe", drugs: str | Sequence[str] = "all",
                     step_h: float = 3.0) -> pd.DataFrame:
    """Long table of time courses: ``drug``, ``target_class``, ``dose_day``, ``time_d`` and the readouts.

    Parameters
    ----------
    network : the IL-6 model.
    scenario : scenario name or path (drugs at its admission time).
    drugs : ``"all"`` (every shipped binder) or names/paths.
    step_h : output interval, h.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_trapping(load_model("il6"), drugs=["tocilizumab"], step_h=24.0)
    >>> list(t.columns[:4])
    ['drug', 'target_class', 'dose_day', 'time_d']
    """
    table = compare_drugs(network, scenario=scenario, drugs=drugs, step_h=step_h)
    frames = []
    for label, res in table.results.items():
        cls = "untreated" if label == "untreated" else load_drug(label).target_class
        cols = {"drug": label, "target_class": cls, "dose_day": table.dosing_h / 24, "time_d": res.time_h / 24}
        cols.update({o: np.asarray(res[o]) for o in READOUTS})
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)
