"""Trapping versus blockade: time courses of levels, drug, occupancy and signals for each run.

Draws from the long table of :func:`il6sim.compare.timecourse_table` (columns ``drug``,
``time_h`` and one per readout); it computes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .style import OKABE_ITO, apply_style, use_agg

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: (column, axis label with unit, log scale)
PANELS = (
    ("il6_free_pg_ml", "free serum IL-6 (pg/ml)", True),
    ("il6_total_pg_ml", "total serum IL-6 (pg/ml)", True),
    ("sil6r_total_ng_ml", "total serum sIL-6R (ng/ml)", True),
    ("crp_mg_l", "CRP (mg/l)", True),
    ("drug_total_ug_ml", "total serum drug (µg/ml)", True),
    ("classic_signal", "classic signal (complexes/hepatocyte)", True),
    ("trans_signal", "trans-signal (complexes/endothelial cell)", True),
    ("trans_presentation_signal", "trans-presentation (complexes/T cell)", True),
    ("mil6r_occupancy", "membrane IL-6R held by drug (fraction)", False),
)


def compare_figure(timecourses: Any, *, dosing_h: float, scenario: str = "", bands: Any = None) -> Figure:
    """A grid of time courses, one line per run (untreated first); the drug is given at the dashed line.

    ``timecourses``: a pandas DataFrame with ``drug``, ``time_h`` and the columns of ``PANELS``
    (missing columns or all-NaN series are left out of their panel). ``bands`` (optional): a table
    ``drug, observable, time_h, p05, p95`` (:func:`il6sim.bands.compare_bands`) shaded behind each line.
    """
    use_agg()
    apply_style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 5, figsize=(19, 7.5), constrained_layout=True)
    styles = ["-", "--", "-.", ":"]
    labels = list(dict.fromkeys(timecourses["drug"]))
    for ax, (col, label, log) in zip(axes.flat, PANELS):
        for i, name in enumerate(labels):
            part = timecourses[timecourses["drug"] == name]
            if col not in part or not np.isfinite(part[col].to_numpy(dtype=float)).any():
                continue
            y = part[col].to_numpy(dtype=float)
            if bands is not None:
                b = bands[(bands["drug"] == name) & (bands["observable"] == col)]
                if len(b):
                    lo, hi = b["p05"].to_numpy(dtype=float), b["p95"].to_numpy(dtype=float)
                    ax.fill_between(b["time_h"].to_numpy(dtype=float) / 24, np.where(lo > 0, lo, np.nan) if log else lo,
                                    hi, color=OKABE_ITO[i % len(OKABE_ITO)], alpha=0.18, lw=0)
            ax.plot(part["time_h"].to_numpy(dtype=float) / 24, np.where(y > 0, y, np.nan) if log else y,
                    color=OKABE_ITO[i % len(OKABE_ITO)], linestyle=styles[(i // len(OKABE_ITO)) % len(styles)],
                    lw=1.8 if i == 0 else 1.4, label=name)
        ax.axvline(dosing_h / 24, color="grey", lw=0.8, ls="--")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("time (days)")
        ax.set_ylabel(label)
    legend_ax = axes.flat[len(PANELS)]
    legend_ax.axis("off")
    handles, names = axes.flat[0].get_legend_handles_labels()
    legend_ax.legend(handles, names, loc="center", frameon=False, title="drug (standard dose)")
    fig.suptitle(f"Cytokine trapping vs receptor blockade: {scenario}, drug at day {dosing_h / 24:g}")
    return fig
