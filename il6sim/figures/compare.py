"""Trapping versus blockade: time courses of the levels and signals for each run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .style import OKABE_ITO, apply_style, use_agg

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from ..compare import CompareTable

PANELS = (
    ("il6_free_pg_ml", "free serum IL-6 (pg/ml)", True),
    ("il6_total_pg_ml", "total serum IL-6 (pg/ml)", True),
    ("sil6r_total_ng_ml", "total serum sIL-6R (ng/ml)", True),
    ("crp_mg_l", "CRP (mg/l)", True),
    ("classic_signal", "classic signal (complexes/hepatocyte)", True),
    ("trans_signal", "trans-signal (complexes/endothelial cell)", True),
    ("trans_presentation_signal", "trans-presentation (complexes/T cell)", True),
)


def compare_figure(table: CompareTable) -> Figure:
    """A grid of time courses, one line per run; drug given at the dashed line."""
    use_agg()
    apply_style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), constrained_layout=True)
    styles = ["-", "--", "-.", ":"]
    for ax, (obs, label, log) in zip(axes.flat, PANELS):
        for i, (name, res) in enumerate(table.results.items()):
            ax.plot(res.time_h / 24, res[obs], color=OKABE_ITO[i % len(OKABE_ITO)],
                    linestyle=styles[(i // len(OKABE_ITO)) % len(styles)], lw=1.8 if i == 0 else 1.4, label=name)
        ax.axvline(table.dosing_h / 24, color="grey", lw=0.8, ls="--")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("time (days)")
        ax.set_ylabel(label)
    axes.flat[-1].axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    axes.flat[-1].legend(handles, labels, loc="center", frameon=False, title="drug (standard dose)")
    fig.suptitle(f"Cytokine trapping vs receptor blockade: {table.scenario}, drug at day {table.dosing_h / 24:g}")
    return fig
