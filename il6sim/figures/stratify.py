"""Draw a stratification (``il6sim stratify``): who benefits, by level and by predictive feature.

Draws the tables of :class:`il6sim.stratify.Stratification` (``by_level``, ``importance``) and its
rules text; computes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .style import OKABE_ITO, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_stratification"]


def plot_stratification(by_level: pd.DataFrame, importance: pd.DataFrame, rules: str, title: str) -> Figure:
    """Three panels: fraction who benefit per factor level, the tree's feature importances, its rules.

    Examples
    --------
    >>> by = pd.DataFrame({"factor": ["at", "at"], "level": ["1 d", "3 d"], "n": [5, 5], "fraction": [0.2, 0.8]})
    >>> imp = pd.DataFrame({"feature": ["at_d", "weight_kg"], "importance": [0.9, 0.1]})
    >>> len(plot_stratification(by, imp, "|--- at_d <= 2", "benefit").axes)
    3
    """
    fig, axes = new_figure(1, 3, figsize=(20.0, 6.5))
    ax = axes[0]
    labels = [f"{r['factor']} = {r['level']}" for _, r in by_level.iterrows()]
    ax.barh(range(len(labels)), by_level["fraction"], color=OKABE_ITO[2])
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("fraction who benefit")
    ax = axes[1]
    shown = importance[importance["importance"] >= 0.005]
    ax.barh(range(len(shown)), shown["importance"], color=OKABE_ITO[5])
    ax.set_yticks(range(len(shown)), list(shown["feature"]), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("decision-tree importance")
    ax = axes[2]
    ax.axis("off")
    ax.text(0.0, 1.0, rules, family="monospace", fontsize=7, va="top", ha="left", transform=ax.transAxes)
    fig.suptitle(title, fontsize=10)
    return fig
