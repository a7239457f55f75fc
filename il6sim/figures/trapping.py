"""(c) Draw trapping versus blockade: time courses under each drug at its standard dose.

Draws the long table of :func:`il6sim.analysis.trapping.compute_trapping` (one row per drug and
output time), one panel per readout, colour per drug and line style per target class; computes
nothing. The dose time appears twice in the table (before and after the dose).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .labels import LABELS
from .style import CLASS_LINESTYLES, drug_colour, new_figure, positive

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_trapping"]


def plot_trapping(table: pd.DataFrame, *, scenario: str = "severe COVID-19") -> Figure:
    """A 2 x 4 grid of time courses, one line per drug (colour per drug, line style per class).

    Parameters
    ----------
    table : long table with ``drug``, ``target_class``, ``dose_day``, ``time_d`` and one column per
        readout (one panel each, at most seven).
    scenario : the scenario as the title names it.

    Examples
    --------
    >>> from il6sim.analysis.trapping import compute_trapping
    >>> from il6sim.shipped import load_model
    >>> len(plot_trapping(compute_trapping(load_model("il6"), drugs=["siltuximab"], step_h=24.0)).axes)
    8
    """
    fig, axes = new_figure(2, 4, figsize=(18.0, 8.5))
    dose_day = float(table["dose_day"].iloc[0])
    panels = [c for c in table.columns if c not in ("drug", "target_class", "dose_day", "time_d")]
    for ax, obs in zip(axes[:-1], panels):
        for i, (drug, d) in enumerate(table.groupby("drug", sort=False)):
            cls = str(d["target_class"].iloc[0])
            ax.plot(d["time_d"], positive(d[obs]), color=drug_colour(str(drug), i), ls=CLASS_LINESTYLES.get(cls, "-"),
                    lw=2.6 if drug == "untreated" else 1.8, label=f"{drug} ({cls})" if drug != "untreated" else drug)
        ax.axvline(dose_day, color="grey", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xlabel("time since infection (days)")
        ax.set_ylabel(LABELS.get(obs, obs))
    axes[-1].axis("off")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[-1].legend(handles, labels, loc="center", frameon=False, title="standard dose at admission (dashed line)")
    fig.suptitle(f"Cytokine trapping vs receptor blockade in {scenario}: cytokine binders raise total IL-6, "
                 "receptor binders raise total sIL-6R")
    return fig
