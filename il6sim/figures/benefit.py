"""(p) Draw benefit against harm: damage avoided against viral clearance delayed, by treatment day.

Draws the table of :func:`il6sim.analysis.benefit.compute_benefit_harm`; computes nothing. One
panel without and one with dexamethasone; a line per drug through its treatment days, each point
labelled with its day after symptom onset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .style import drug_colour, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_benefit_harm"]


def plot_benefit_harm(table: pd.DataFrame) -> Figure:
    """Two panels (without / with dexamethasone): ``damage_avoided_pct`` against ``clearance_delay_d``.

    Parameters
    ----------
    table : one row per drug, ``day`` and ``dexamethasone`` arm, with ``class``,
        ``clearance_delay_d`` and ``damage_avoided_pct`` (and their ``_low``/``_high`` range, drawn as bars).

    Examples
    --------
    >>> from il6sim.analysis.benefit import compute_benefit_harm
    >>> from il6sim.shipped import load_model
    >>> t = compute_benefit_harm(load_model("il6"), drugs=("tocilizumab",), days=(0.0, 7.0))
    >>> len(plot_benefit_harm(t).axes)
    2
    """
    fig, axes = new_figure(1, 2, figsize=(15.0, 6.5))
    titles = {False: "drug alone", True: "with dexamethasone 6 mg daily for 10 days (from the same day)"}
    for ax, dex in zip(axes, (False, True)):
        part = table[table["dexamethasone"] == dex]
        for drug, d in part.groupby("drug", sort=False):
            d = d.sort_values("day")
            label = f"{drug} ({d['class'].iloc[0]})" if drug != "dexamethasone" else "dexamethasone alone"
            ax.plot(d["clearance_delay_d"], d["damage_avoided_pct"], marker="o", color=drug_colour(str(drug)),
                    lw=1.8, label=label)
            if "clearance_delay_d_low" in d:  # the range over the unmeasured IL-6 help to T cells
                x, y = d["clearance_delay_d"], d["damage_avoided_pct"]
                ax.errorbar(x, y, xerr=[x - d["clearance_delay_d_low"], d["clearance_delay_d_high"] - x],
                            yerr=[y - d["damage_avoided_pct_low"], d["damage_avoided_pct_high"] - y], fmt="none",
                            ecolor=drug_colour(str(drug)), alpha=0.3, lw=1.0, capsize=2)
            for _, r in d.iterrows():
                ax.annotate(f"d{r['day']:+g}", (r["clearance_delay_d"], r["damage_avoided_pct"]),
                            textcoords="offset points", xytext=(5, 4), fontsize=8, color=drug_colour(str(drug)))
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        ax.set_xlabel("harm: viral clearance delayed (days, vs the same patient untreated)")
        ax.set_ylabel("benefit: lung damage avoided (% of untreated damage AUC)")
        ax.set_title(titles[dex], fontsize=10)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    onset = float(table["onset_d"].iloc[0])
    fig.suptitle(f"Severe COVID-19 (disease layer): benefit against harm by treatment day after symptom onset "
                 f"(day {onset:g} after infection); standard doses\nBars: range over the unmeasured IL-6 help to "
                 "effector T cells (5-75 % of their expansion)", fontsize=10)
    return fig
