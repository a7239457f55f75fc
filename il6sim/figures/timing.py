"""(f) Draw timing: the same drug early or late after admission, with and without dexamethasone.

Draws the long table of :func:`il6sim.analysis.timing.compute_timing` (time courses per run, and
each run's inhibition in columns ``inhibition[WINDOW]:<readout> (%)``); computes nothing. Dose
times appear twice in the table (before and after the dose); the lines pass through both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .labels import LABELS, metric_columns
from .style import OKABE_ITO, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["STYLE", "plot_timing"]

#: run -> (colour, line style)
STYLE = {"untreated": (OKABE_ITO[0], "-"), "dexamethasone alone": (OKABE_ITO[7], ":"),
         "early": (OKABE_ITO[5], "-"), "early + dexamethasone": (OKABE_ITO[5], "--"),
         "late": (OKABE_ITO[6], "-"), "late + dexamethasone": (OKABE_ITO[6], "--")}


def plot_timing(table: pd.DataFrame) -> Figure:
    """A 2 x 2 grid of time courses (free IL-6, CRP, classic and trans-signal), one line per run.

    Parameters
    ----------
    table : long table with ``run``, ``drug``, ``drug_day``, ``dex``, ``admission_day``, ``time_d``,
        a column per readout and its inhibition column ``inhibition[WINDOW]:<readout> (%)``.

    Examples
    --------
    >>> from il6sim.analysis.timing import compute_timing
    >>> from il6sim.shipped import load_model
    >>> len(plot_timing(compute_timing(load_model("il6"), step_h=24.0)).axes)
    4
    """
    fig, axes = new_figure(2, 2, figsize=(19.0, 9.0))
    admit = float(table["admission_day"].iloc[0])
    drug = next(d for d in table["drug"] if isinstance(d, str) and d)
    inh_cols = metric_columns(table.columns, "inhibition")
    for ax, (obs, (col, window)) in zip(axes, inh_cols.items()):
        for name, d in table.groupby("run", sort=False):
            colour, ls = STYLE.get(str(name), (OKABE_ITO[3], "-"))
            inh = float(d[col].iloc[0])
            day = float(d["drug_day"].iloc[0])
            label = str(name) if np.isnan(day) else f"{drug} day {day:g}{' + dexamethasone' if d['dex'].iloc[0] else ''}"
            ax.plot(d["time_d"], d[obs], color=colour, ls=ls, lw=2.6 if name == "untreated" else 2.0,
                    label=label if name == "untreated" else f"{label}: {-inh:+.0f} %")
        ax.axvline(admit, color="grey", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xlabel("time since infection (days); admission dashed")
        ax.set_ylabel(LABELS[obs])
        ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  title=f"AUC over {window} (from admission)\nvs untreated", title_fontsize=9)
    fig.suptitle(f"Timing in severe COVID-19: {drug} at admission or later, with or without dexamethasone")
    return fig
