"""Calibration figures: a training data set against the calibrated model; the validation set.

They draw the tables of :mod:`il6sim.analysis.calibration` (they compute nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .style import OKABE_ITO, apply_style, use_agg

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_calibration", "plot_validation"]


def plot_calibration(table: Any) -> Figure:
    """One panel per observable; one colour per condition; points = data, line and band = model."""
    use_agg()
    apply_style()
    import matplotlib.pyplot as plt

    observables = list(dict.fromkeys(table["observable"]))
    conditions = list(dict.fromkeys(table["condition"]))
    steady = bool((table["time_h"] == 0).all())
    n = len(observables)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n + 0.6, 3.6), constrained_layout=True, squeeze=False)
    for ax, obs in zip(axes[0], observables):
        for i, cond in enumerate(conditions):
            colour = OKABE_ITO[(i + 1) % len(OKABE_ITO)]
            d = table[(table["observable"] == obs) & (table["condition"] == cond) & (table["kind"] == "data")]
            m = table[(table["observable"] == obs) & (table["condition"] == cond) & (table["kind"] == "model")]
            m = m[m["value"] > 0]  # log axis: the drug is 0 before its dose
            if d.empty:
                continue
            if steady:
                x = np.full(len(d), i)
                ax.scatter(x, d["value"], color=colour, s=22, zorder=3, label=f"{cond} data")
                ax.errorbar([i + 0.15], m["value"], yerr=[m["value"] - m["lower"], m["upper"] - m["value"]],
                            fmt="s", color="black", ms=5)
            else:
                days = m["time_h"] / 24.0
                ax.fill_between(days, m["lower"], m["upper"], color=colour, alpha=0.2, lw=0)
                ax.plot(days, m["value"], color=colour, lw=1.2, label=cond)
                ax.scatter(d["time_h"] / 24.0, d["value"], color=colour, s=16, zorder=3)
        ax.set_yscale("log")
        ax.set_title(obs, fontsize=10)
        if steady:
            ax.set_xticks(range(len(conditions)), conditions, rotation=30)
        else:
            ax.set_xlabel("days after the dose")
    axes[0][0].set_ylabel("data (points), model (line, band)")
    axes[0][0].legend(frameon=False, fontsize=7)
    return fig


_PANELS = ("exposure (µg/ml, µg·d/ml, d)", "ratios (dose, accumulation)", "sIL-6R (ng/ml) and CRP (mg/l)")


def _panel(quantity: str) -> int:
    if "ratio" in quantity:
        return 1
    return 2 if quantity.startswith(("sil6r", "crp")) else 0


def plot_validation(table: Any, tolerance: float = 0.25) -> Figure:
    """Log-log predicted (band) against observed (published spread), one panel per kind of quantity."""
    use_agg()
    apply_style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(_PANELS), figsize=(13, 4.4), constrained_layout=True)
    panel = table["quantity"].apply(_panel)
    for i, (ax, title) in enumerate(zip(axes, _PANELS)):
        rows = table[(table["agrees"] >= 0) & (table["observed"] > 0) & (panel == i)]
        lims: list[float] = []
        for _, r in rows.iterrows():
            colour = OKABE_ITO[2] if r["agrees"] == 1 else OKABE_ITO[6]
            xerr = None
            if np.isfinite(r["spread_low"]):
                lo = max(r["spread_low"], r["observed"] * 0.05)
                xerr = [[r["observed"] - lo], [r["spread_high"] - r["observed"]]]
            yerr = [[r["predicted"] - r["lower"]], [r["upper"] - r["predicted"]]]
            ax.errorbar(r["observed"], r["predicted"], xerr=xerr, yerr=yerr, fmt="o", ms=4, color=colour,
                        elinewidth=0.8, alpha=0.85)
            lims += [r["observed"], r["lower"], r["upper"]]
        if lims:
            lo, hi = min(lims) / 2, max(lims) * 2
            x = np.geomspace(lo, hi, 50)
            ax.plot(x, x, color="black", lw=0.8)
            ax.fill_between(x, x / (1 + tolerance), x * (1 + tolerance), color="grey", alpha=0.15, lw=0)
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("observed (published; bar = spread)")
        ax.set_ylabel("predicted (bar = calibration band)")
        ax.set_title(f"{title}\n{int((rows['agrees'] == 1).sum())} of {len(rows)} agree", fontsize=10)
    axes[0].plot([], [], "o", color=OKABE_ITO[2], label="agrees")
    axes[0].plot([], [], "o", color=OKABE_ITO[6], label="misses")
    axes[0].legend(frameon=False, loc="upper left")
    return fig
