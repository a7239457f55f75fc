"""(h) Draw dose-response: graded for cytokine binders, switch-like for a tight receptor binder.

Draws the table of :func:`il6sim.analysis.doseresponse.compute_dose_response` (one row per drug
and dose, inhibition columns named ``inhibition(value[T]):<readout> (%)``) and the steepness
table of :func:`il6sim.analysis.doseresponse.steepness` (10-90 % span and Hill coefficient per
drug and column, shown in the legends); computes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .labels import LABELS
from .style import CLASS_LINESTYLES, drug_colour, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_dose_response"]

TITLES = {"classic_signal": "classic signalling", "trans_signal": "trans-signalling", "crp_mg_l": "CRP"}


def _standard_mg_kg(text: str) -> float | None:
    s = text.replace(" ", "")
    if s.endswith("mg/kg"):
        return float(s[:-5])
    if s.endswith("mg"):
        return float(s[:-2]) / 70.0
    return None


def _readout(column: str) -> str:
    """``inhibition(value[10d]):crp_mg_l (%)`` -> ``crp_mg_l``."""
    return column.rsplit("):", 1)[-1].split(" (")[0]


def plot_dose_response(table: pd.DataFrame, steepness: pd.DataFrame) -> Figure:
    """One panel per readout: inhibition against dose, one line per drug; span 10-90 % in the legend.

    Parameters
    ----------
    table : columns ``drug``, ``target_class``, ``dose_mg_kg``, ``standard``, ``dose_day``,
        ``readout_day`` and one ``inhibition(...):<readout> (%)`` column per panel.
    steepness : columns ``drug``, ``column``, ``span_10_90_decades``, ``hill_n``.

    Examples
    --------
    >>> from il6sim.analysis.doseresponse import compute_dose_response, steepness
    >>> from il6sim.shipped import load_model
    >>> t = compute_dose_response(load_model("il6"), drugs=["tocilizumab"], doses_mg_kg=[0.1, 1.0])
    >>> len(plot_dose_response(t, steepness(t)).axes)
    3
    """
    fig, axes = new_figure(1, 3, figsize=(18.0, 7.0))
    day = float(table["readout_day"].iloc[0])
    columns = [c for c in table.columns if c.startswith("inhibition")]
    steep = steepness.set_index(["drug", "column"])
    for ax, col in zip(axes, columns):
        o = _readout(col)
        for i, (drug, d) in enumerate(table.groupby("drug", sort=False)):
            cls = str(d["target_class"].iloc[0])
            span, n_h = (float(v) for v in steep.loc[(drug, col), ["span_10_90_decades", "hill_n"]])
            hill = f"10-90 % over {span:.2f} decades (n_H {n_h:.1f})" if np.isfinite(span) else "no 10-90 % rise"
            colour = drug_colour(str(drug), i)
            ax.plot(d["dose_mg_kg"], d[col], color=colour, ls=CLASS_LINESTYLES.get(cls, "-"), lw=2.2,
                    marker="o", ms=3.5, label=f"{drug} ({cls}): {hill}")
            std = _standard_mg_kg(str(d["standard"].iloc[0]))
            if std is not None:
                ax.axvline(std, color=colour, lw=0.9, ls=":", alpha=0.9)
        ax.set_xscale("log")
        ax.set_ylim(-25, 105)
        ax.axhline(0, color="#999999", lw=0.6)
        ax.set_xlabel("single IV dose at admission (mg/kg); dotted: standard dose")
        ax.set_ylabel(f"inhibition of {LABELS.get(o, o).split(' (')[0]} (%)")
        ax.set_title(f"{TITLES.get(o, o)}, day {day:g}")
        ax.legend(frameon=False, fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    after = day - float(table["dose_day"].iloc[0])
    fig.suptitle(f"Dose-response in severe COVID-19, {after:g} days after one dose at admission: "
                 "graded for cytokine binders, switch-like for the tight receptor binder sarilumab")
    return fig
