"""(i) Draw the global sensitivity of drug benefit over patient parameters (Sobol' indices).

Draws the table of :func:`il6sim.analysis.gsa.compute_sensitivity` (first-order and total
indices with their bootstrap intervals, one panel per benefit metric); computes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .style import MODE_COLOURS, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["TITLES", "plot_sensitivity"]

#: metric -> panel title (the window and unit follow it)
TITLES = {"inhibition:crp_mg_l": "benefit = CRP inhibition",
          "inhibition:trans_signal": "benefit = trans-signalling inhibition"}


def plot_sensitivity(table: pd.DataFrame) -> Figure:
    """One panel per metric: total (ST) and first-order (S1) indices per factor with their intervals.

    Parameters
    ----------
    table : one row per metric and factor: ``metric``, ``factor``, ``label``, ``S1``, ``S1_low``,
        ``S1_high``, ``ST``, ``ST_low``, ``ST_high``, ``mean``, ``sd``, ``n_base``, ``drug``, ``dose``
        and (optional) ``window``, the window of each metric.

    Examples
    --------
    >>> t = pd.DataFrame({"metric": ["inhibition:crp_mg_l"] * 2, "window": ["[dose:end]"] * 2,
    ...                   "factor": ["a", "b"], "label": ["a", "b"],
    ...                   "S1": [0.6, 0.1], "S1_low": [0.4, 0.0], "S1_high": [0.8, 0.2], "ST": [0.7, 0.2],
    ...                   "ST_low": [0.5, 0.1], "ST_high": [0.9, 0.3], "mean": [84.0] * 2, "sd": [1.0] * 2,
    ...                   "n_base": [8] * 2, "n_evaluations": [32] * 2, "drug": ["tocilizumab"] * 2,
    ...                   "dose": ["8 mg/kg"] * 2})
    >>> len(plot_sensitivity(t).axes)
    1
    """
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = new_figure(1, len(metrics), figsize=(7.0 * len(metrics) + 2.5, 5.8))
    for k, (ax, metric) in enumerate(zip(axes, metrics)):
        d = table[table.metric == metric].iloc[::-1]
        y = np.arange(len(d))
        for off, idx, colour, name in ((0.18, "ST", MODE_COLOURS["trans"], "total effect ST"),
                                       (-0.18, "S1", MODE_COLOURS["classic"], "first order S1")):
            err = np.vstack([d[idx] - d[f"{idx}_low"], d[f"{idx}_high"] - d[idx]]).clip(min=0)
            ax.barh(y + off, d[idx], height=0.34, color=colour, xerr=err, capsize=3, label=name)
        ax.set_yticks(y, d["label"] if k == 0 else [""] * len(d))
        ax.axvline(0, color="#999999", lw=0.8)
        ax.set_xlim(-0.1, 1.1)
        ax.set_xlabel("Sobol' index (share of the variance of benefit)")
        first = d.iloc[0]
        window = str(first["window"]) if "window" in d.columns else ""
        ax.set_title(f"{TITLES.get(metric, metric)}{window} (%)\nover patients: mean {first['mean']:.1f}, sd {first['sd']:.2f}")
        ax.legend(frameon=False, loc="lower right")
    first = table.iloc[0]
    fig.suptitle(f"What decides the benefit of {first['drug']} {first['dose']} in severe COVID-19\n"
                 f"(Sobol' indices, N = {int(first['n_base'])}, 95 % bootstrap intervals)")
    return fig
