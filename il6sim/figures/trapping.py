"""(c) Trapping versus blockade: time courses under each drug at its standard dose (severe COVID-19).

The runs come from :func:`il6sim.compare.compare_drugs` (the ``il6sim compare`` machinery): the
scenario untreated and with each binder at its standard dose at admission. The table is long:
one row per drug and output time.

>>> from il6sim.shipped import load_model
>>> t = compute_trapping(load_model("il6"), drugs=["siltuximab"], step_h=24.0)
>>> sorted(set(t["drug"]))
['siltuximab', 'untreated']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..compare import LEVELS, SIGNALS, compare_drugs
from ..drugs import load_drug
from ..network import Network
from ._common import LABELS, positive
from .style import CLASS_LINESTYLES, drug_colour, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["compute_trapping", "plot_trapping", "trapping_figure"]

PANELS = (*LEVELS, *SIGNALS)


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
        cols.update({o: np.asarray(res[o]) for o in PANELS})
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def plot_trapping(table: pd.DataFrame, *, scenario: str = "severe COVID-19") -> Figure:
    """A 2 x 4 grid of time courses, one line per drug (colour per drug, line style per class).

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> len(plot_trapping(compute_trapping(load_model("il6"), drugs=["siltuximab"], step_h=24.0)).axes)
    8
    """
    fig, axes = new_figure(2, 4, figsize=(18.0, 8.5))
    dose_day = float(table["dose_day"].iloc[0])
    for ax, obs in zip(axes, PANELS):
        for i, (drug, d) in enumerate(table.groupby("drug", sort=False)):
            cls = str(d["target_class"].iloc[0])
            ax.plot(d["time_d"], positive(d[obs]), color=drug_colour(str(drug), i), ls=CLASS_LINESTYLES.get(cls, "-"),
                    lw=2.6 if drug == "untreated" else 1.8, label=f"{drug} ({cls})" if drug != "untreated" else drug)
        ax.axvline(dose_day, color="grey", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xlabel("time since symptom onset (days)")
        ax.set_ylabel(LABELS[obs])
    axes[-1].axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[-1].legend(handles, labels, loc="center", frameon=False, title="standard dose at admission (dashed line)")
    fig.suptitle(f"Cytokine trapping vs receptor blockade in {scenario}: cytokine binders raise total IL-6, "
                 "receptor binders raise total sIL-6R")
    return fig


def trapping_figure(network: Network, *, scenario: str = "covid_severe", drugs: str | Sequence[str] = "all",
                    step_h: float = 3.0) -> tuple[pd.DataFrame, Figure]:
    """Data table and figure (c).

    >>> from il6sim.shipped import load_model
    >>> table, fig = trapping_figure(load_model("il6"), drugs=["olamkicept"], step_h=24.0)
    >>> len(table)
    58
    """
    table = compute_trapping(network, scenario=scenario, drugs=drugs, step_h=step_h)
    label = "severe COVID-19" if scenario == "covid_severe" else str(scenario)
    return table, plot_trapping(table, scenario=label)
