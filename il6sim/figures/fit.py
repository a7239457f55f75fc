"""Estimation figures: the waterfall of starts, data against the fitted model, profile likelihoods.

Each function draws tables that :mod:`il6sim.estimate` computed (it computes nothing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .style import OKABE_ITO, apply_style, use_agg

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["data_figure", "profiles_figure", "waterfall_figure"]


def waterfall_figure(llh: Sequence[float] | np.ndarray, *, tol: float = 0.1, title: str = "") -> Figure:
    """Final log-likelihood of every start, best first; starts within ``tol`` of the best are marked."""
    use_agg()
    apply_style()
    import matplotlib.pyplot as plt

    y = np.array([v if math.isfinite(v) else np.nan for v in llh], dtype=float)
    best = np.nanmax(y) if np.isfinite(y).any() else np.nan
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    x = np.arange(1, y.size + 1)
    at = y >= best - tol
    ax.plot(x, best - y + 1.0, color="grey", lw=0.8)
    ax.scatter(x[~at], (best - y + 1.0)[~at], color=OKABE_ITO[1], s=18, label="other starts")
    ax.scatter(x[at], (best - y + 1.0)[at], color=OKABE_ITO[2], s=24, label=f"within {tol:g} of the best ({at.sum()})")
    n_failed = int(np.isnan(y).sum())
    ax.set_yscale("log")
    ax.set_xlabel("start (sorted by final log-likelihood)")
    ax.set_ylabel("best llh − llh + 1")
    ax.legend(frameon=False, title=f"best llh {best:.4g}" + (f"; {n_failed} failed" if n_failed else ""))
    ax.set_title(title or "waterfall")
    return fig


def data_figure(table: Any, *, title: str = "") -> Figure:
    """Measurements (points) and simulations (lines) per observable, one colour per condition.

    ``table``: a DataFrame with ``observableId``, ``simulationConditionId``, ``time``,
    ``measurement`` and ``simulation`` (as :meth:`il6sim.estimate.Problem.simulate` gives).
    """
    use_agg()
    apply_style()
    import matplotlib.pyplot as plt

    obs = list(dict.fromkeys(table["observableId"]))
    n = len(obs)
    ncol = min(n, 4)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.3 * nrow), constrained_layout=True, squeeze=False)
    conds = list(dict.fromkeys(table["simulationConditionId"]))
    for ax, o in zip(axes.flat, obs):
        part = table[table["observableId"] == o]
        for k, c in enumerate(conds):
            d = part[part["simulationConditionId"] == c]
            if d.empty:
                continue
            t = d["time"].astype(float).to_numpy()
            order = np.argsort(t, kind="stable")
            colour = OKABE_ITO[k % len(OKABE_ITO)]
            ax.scatter(t, d["measurement"].astype(float), s=12, color=colour, label=c)
            ax.plot(t[order], d["simulation"].astype(float).to_numpy()[order], color=colour, lw=1.2)
        ax.set_title(o, fontsize=9)
        ax.set_xlabel("time (the model's unit: h for il6sim models)")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    if len(conds) <= 12:
        axes.flat[0].legend(frameon=False, fontsize=7, title="condition")
    fig.suptitle(title or "data (points) and fitted model (lines)")
    return fig


def profiles_figure(table: Any, intervals: Any, *, threshold: float = 1.92) -> Figure:
    """Δ log-likelihood along each parameter's profile, with the 95 % threshold and interval.

    ``table``: ``parameter, value, delta_llh``; ``intervals``: ``parameter, best, lower_95,
    upper_95, identifiable`` (as :class:`il6sim.estimate.ProfileResult` gives).
    """
    use_agg()
    apply_style()
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(table["parameter"]))
    n = len(names)
    ncol = min(n, 4)
    nrow = max(1, math.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.8 * ncol, 3.0 * nrow), constrained_layout=True, squeeze=False)
    ivs = {r["parameter"]: r for _, r in intervals.iterrows()}
    for ax, nm in zip(axes.flat, names):
        d = table[table["parameter"] == nm].sort_values("value")
        ax.plot(d["value"], d["delta_llh"], marker="o", ms=3, color=OKABE_ITO[4])
        ax.axhline(threshold, color="grey", ls="--", lw=0.8)
        iv = ivs.get(nm)
        if iv is not None:
            ax.axvline(iv["best"], color="black", lw=0.8)
            for end in ("lower_95", "upper_95"):
                if np.isfinite(iv[end]):
                    ax.axvline(iv[end], color=OKABE_ITO[5], lw=0.8, ls=":")
            ax.set_title(f"{nm}" + ("" if iv["identifiable"] else " (not identifiable)"), fontsize=9)
        if (d["value"] > 0).all():
            ax.set_xscale("log")
        ax.set_ylim(bottom=-0.1)
        ax.set_xlabel(nm)
        ax.set_ylabel("best llh − llh")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(f"profile likelihoods (dashed: 95 % threshold {threshold:.2f})")
    return fig
