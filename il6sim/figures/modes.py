"""(b) Draw steady-state signalling against held serum IL-6, with and without sIL-6R and sgp130.

Draws the table of :func:`il6sim.analysis.modes.compute_modes` (one row per condition and held
IL-6 level); computes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .labels import LABELS, MODE_TITLES, SIGNALS
from .style import OKABE_ITO, new_figure, positive

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["CONDITION_LABELS", "plot_modes"]

#: condition -> legend label (conditions as :mod:`il6sim.analysis.modes` names them)
CONDITION_LABELS = {
    "physiological": "physiological sIL-6R and sgp130",
    "no_sgp130": "sIL-6R, no sgp130",
    "neither": "no sIL-6R, no sgp130",
}


def plot_modes(table: pd.DataFrame) -> Figure:
    """One panel per mode: steady-state signal against serum free IL-6, one line per condition.

    Parameters
    ----------
    table : columns ``condition``, ``il6_free_pg_ml`` and the three signals.

    Examples
    --------
    >>> from il6sim.analysis.modes import compute_modes
    >>> from il6sim.shipped import load_model
    >>> len(plot_modes(compute_modes(load_model("il6"), il6_pg_ml=[1.0, 10.0])).axes)
    3
    """
    fig, axes = new_figure(1, 3, figsize=(16.0, 5.2))
    styles = {"physiological": ("-", OKABE_ITO[0]), "no_sgp130": ("--", OKABE_ITO[6]), "neither": (":", OKABE_ITO[5])}
    marks = {"healthy": 2.0, "severe COVID-19": 37.0, "CRS": 3000.0}
    conditions = list(dict.fromkeys(table["condition"]))
    for ax, sig in zip(axes, SIGNALS):
        for i, cond in enumerate(conditions):
            label = CONDITION_LABELS.get(cond, cond)
            d = table[table["condition"] == cond]
            ls, col = styles.get(cond, ("-", OKABE_ITO[(i + 1) % len(OKABE_ITO)]))
            ax.plot(d["il6_free_pg_ml"], positive(d[sig]), ls=ls, color=col, lw=2.2, label=label)
            if len(d) and not (d[sig] > 0).any():
                ax.text(0.03, 0.97, f"{label}:\nno {MODE_TITLES[sig]} (zero)", transform=ax.transAxes, va="top",
                        fontsize=10, color=col)
        ax.set_xscale("log")
        ax.set_yscale("log")
        for name, x in marks.items():
            ax.axvline(x, color="#999999", lw=0.8, ls="-", zorder=0)
            ax.text(x * 1.1, 0.02, name, transform=ax.get_xaxis_transform(), rotation=90, fontsize=9, color="#555555")
        ax.set_xlabel("serum free IL-6, held (pg/ml)")
        ax.set_ylabel(LABELS[sig])
        ax.set_title(MODE_TITLES[sig])
    axes[0].legend(loc="upper left", frameon=False)
    fig.suptitle("Steady-state signalling vs IL-6: sIL-6R enables trans-signalling, sgp130 buffers it")
    return fig
