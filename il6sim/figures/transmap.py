"""(d) Draw trans-signalling over sIL-6R and sgp130 levels, serum free IL-6 held fixed.

Draws the grid of :func:`il6sim.analysis.transmap.compute_trans_map` (filled contours over total
sIL-6R and total sgp130, and cuts at three sIL-6R levels); computes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .labels import LABELS
from .style import OKABE_ITO, SEQUENTIAL_CMAP, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_trans_map"]


def plot_trans_map(table: pd.DataFrame) -> Figure:
    """Filled contours of trans-signal over total sIL-6R and total sgp130, plus cuts at three sIL-6R levels.

    Parameters
    ----------
    table : columns ``sil6r_factor``, ``sgp130_factor``, ``il6_free_pg_ml``, ``sil6r_total_ng_ml``,
        ``sgp130_total_ng_ml`` and ``trans_signal`` (a full grid of the two factors).

    Examples
    --------
    >>> from il6sim.analysis.transmap import compute_trans_map
    >>> from il6sim.shipped import load_model
    >>> fig = plot_trans_map(compute_trans_map(load_model("il6"), factors=[0.5, 1.0, 2.0]))
    >>> len(fig.axes)
    3
    """
    from matplotlib.colors import LogNorm

    fig, (ax, cut) = new_figure(1, 2, figsize=(14.0, 5.8), gridspec_kw={"width_ratios": [1.25, 1.0]})
    fr = np.unique(table["sil6r_factor"])
    fg = np.unique(table["sgp130_factor"])
    piv = {c: table.pivot(index="sgp130_factor", columns="sil6r_factor", values=c).loc[fg, fr].to_numpy()
           for c in ("sil6r_total_ng_ml", "sgp130_total_ng_ml", "trans_signal")}
    z = piv["trans_signal"]
    levels = np.geomspace(max(z.min(), 1e-6), z.max(), 12)
    cs = ax.contourf(piv["sil6r_total_ng_ml"], piv["sgp130_total_ng_ml"], z, levels=levels, norm=LogNorm(),
                     cmap=SEQUENTIAL_CMAP)
    ax.contour(piv["sil6r_total_ng_ml"], piv["sgp130_total_ng_ml"], z, levels=levels[::2], colors="white",
               linewidths=0.6)
    fig.colorbar(cs, ax=ax, label=LABELS["trans_signal"], format="%.2g")
    one = table[(table.sil6r_factor == fr[np.argmin(abs(np.log(fr)))]) & (table.sgp130_factor == fg[np.argmin(abs(np.log(fg)))])]
    ax.plot(one["sil6r_total_ng_ml"], one["sgp130_total_ng_ml"], marker="*", ms=16, color=OKABE_ITO[1],
            mec="black", ls="none", label="physiological")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(LABELS["sil6r_total_ng_ml"])
    ax.set_ylabel(LABELS["sgp130_total_ng_ml"])
    ax.legend(loc="upper left", frameon=True)
    il6 = float(np.median(table["il6_free_pg_ml"]))
    ax.set_title(f"trans-signal at serum free IL-6 held at {il6:.3g} pg/ml")
    picks = [fr[0], fr[np.argmin(abs(np.log(fr)))], fr[-1]]
    for colour, f in zip((OKABE_ITO[5], OKABE_ITO[0], OKABE_ITO[6]), picks):
        d = table[table.sil6r_factor == f].sort_values("sgp130_factor")
        cut.plot(d["sgp130_total_ng_ml"], d["trans_signal"], color=colour, lw=2.2, marker="o", ms=4,
                 label=f"sIL-6R {np.median(d['sil6r_total_ng_ml']):.3g} ng/ml")
    cut.set_xscale("log")
    cut.set_yscale("log")
    cut.set_xlabel(LABELS["sgp130_total_ng_ml"])
    cut.set_ylabel(LABELS["trans_signal"])
    cut.set_title("cuts at three sIL-6R levels")
    cut.legend(frameon=False)
    fig.suptitle("At a given IL-6, trans-signalling follows sIL-6R; natural sgp130 (Kd 1 nM, assumed) buffers it little")
    return fig
