"""(g) Draw disease settings: IL-6 levels in each, and the inhibition standard doses achieve.

Draws the table of :func:`il6sim.analysis.settings.compute_settings` (one row per scenario and
run): untreated peak free IL-6 (column ``peak[WINDOW]:il6_free_pg_ml``) as bars, and each
binder's inhibition of each mode (columns ``inhibition[WINDOW]:<signal> (%)``) as heat maps;
computes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .labels import MODE_TITLES, SIGNALS, metric_columns
from .style import CLASS_COLOURS, SEQUENTIAL_CMAP, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["TITLES", "plot_settings"]

#: scenario name -> axis tick label
TITLES = {"covid_moderate": "COVID-19\nmoderate", "covid_severe": "COVID-19\nsevere", "ards": "ARDS",
          "sepsis": "sepsis", "crs": "CRS"}


def plot_settings(table: pd.DataFrame) -> Figure:
    """Untreated peak IL-6 per setting (bars) and heat maps of inhibition (drug x setting) per mode.

    Parameters
    ----------
    table : columns ``scenario``, ``drug`` (``untreated`` for the reference runs),
        ``peak[WINDOW]:il6_free_pg_ml`` and ``inhibition[WINDOW]:<signal> (%)`` for the three signals.

    Examples
    --------
    >>> from il6sim.analysis.settings import compute_settings
    >>> from il6sim.shipped import load_model
    >>> len(plot_settings(compute_settings(load_model("il6"), scenarios=["sepsis"], drugs=["olamkicept"])).axes)
    5
    """
    fig, axes = new_figure(1, 4, figsize=(20.0, 6.2), gridspec_kw={"width_ratios": [0.9, 1, 1, 1]})
    scen = list(dict.fromkeys(table["scenario"]))
    peak_col, peak_window = metric_columns(table.columns, "peak")["il6_free_pg_ml"]
    inh = metric_columns(table.columns, "inhibition")
    untreated = table[table.drug == "untreated"].set_index("scenario").loc[scen]
    x = np.arange(len(scen))
    ax = axes[0]
    ax.bar(x, untreated[peak_col], color=CLASS_COLOURS["untreated"], width=0.6)
    for xi, v in zip(x, untreated[peak_col]):
        ax.text(xi, v * 1.15, f"{v:.3g}", ha="center", fontsize=10)
    ax.set_yscale("log")
    ax.set_xticks(x, [TITLES.get(s, s) for s in scen], fontsize=10)
    ax.set_ylabel(f"untreated peak free serum IL-6 over {peak_window} (pg/ml)")
    ax.set_title("IL-6 in each setting")
    treated = table[table.drug != "untreated"]
    drugs = list(dict.fromkeys(treated["drug"]))
    im = None
    windows = []
    for ax, sig in zip(axes[1:], SIGNALS):
        col, window = inh[sig]
        windows.append(window)
        z = treated.pivot(index="drug", columns="scenario", values=col).loc[drugs, scen].to_numpy()
        im = ax.imshow(z, cmap=SEQUENTIAL_CMAP, vmin=0, vmax=100, aspect="auto")
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                ax.text(j, i, f"{z[i, j]:.0f}", ha="center", va="center", fontsize=10,
                        color="black" if z[i, j] > 55 else "white")
        ax.set_xticks(range(len(scen)), [TITLES.get(s, s) for s in scen], fontsize=10)
        ax.set_yticks(range(len(drugs)), drugs if sig == SIGNALS[0] else [""] * len(drugs))
        ax.set_title(f"{MODE_TITLES[sig]}: % inhibition")
        ax.spines[:].set_visible(False)
    if im is not None:
        fig.colorbar(im, ax=axes[1:], label=f"inhibition of signal AUC over {'/'.join(dict.fromkeys(windows))} (%)",
                     shrink=0.8)
    fig.suptitle("Disease settings: untreated peak IL-6, and the inhibition each drug's standard dose achieves "
                 "(negative: more signal than untreated)")
    return fig
