"""(h) Dose-response: graded for cytokine binders, switch-like for a tight receptor binder.

Severe COVID-19, one dose at admission (day 7) of each drug over a log grid of doses (mg/kg, IV
infusion as in the drug file), readouts ``readout_days`` after the dose, as percent inhibition
against the untreated run at that time. The steepness of each curve is summarised by the log10
dose span between 10 % and 90 % inhibition; a Hill curve has span = log10(81) / n.

A receptor binder is switch-like when it binds so tightly that the receptor pool removes the
drug (target-mediated disposition): below the dose that saturates the receptor the drug is gone
within days, above it the block is complete. In the shipped model this holds for sarilumab;
tocilizumab (Kd 2.54 nM) is about as graded as the cytokine binders.

>>> from il6sim.shipped import load_model
>>> t = compute_dose_response(load_model("il6"), drugs=["siltuximab"], doses_mg_kg=[0.1, 10.0])
>>> bool(t["classic_signal_inhibition_pct"].is_monotonic_increasing)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..drugs import load_drug
from ..network import Network
from ._common import LABELS, scenario_run, simulate_run
from .style import CLASS_LINESTYLES, drug_colour, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["compute_dose_response", "dose_response_figure", "plot_dose_response", "span_10_90"]

DRUGS = ("siltuximab", "clazakizumab", "tocilizumab", "sarilumab")
DEFAULT_DOSES = tuple(float(x) for x in np.logspace(-3, 2, 21))
READOUTS = ("classic_signal", "trans_signal", "crp_mg_l")


def compute_dose_response(network: Network, *, drugs: Sequence[str] = DRUGS,
                          doses_mg_kg: Sequence[float] = DEFAULT_DOSES, scenario: str = "covid_severe",
                          readout_days: float = 3.0) -> pd.DataFrame:
    """One row per (drug, dose): percent inhibition of each readout ``readout_days`` after the dose.

    Parameters
    ----------
    network : the IL-6 model.
    drugs : drug names or paths.
    doses_mg_kg : single doses, mg/kg, at the scenario's admission time.
    scenario : scenario name or path.
    readout_days : days from the dose to the readout.

    Returns
    -------
    DataFrame: ``drug``, ``target_class``, ``dose_mg_kg``, ``standard``, ``dose_day``, ``readout_day``,
    ``<readout>_inhibition_pct`` for classic signal, trans-signal and CRP, and ``mil6r_occupancy``.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_dose_response(load_model("il6"), drugs=["sarilumab"], doses_mg_kg=[0.01, 10.0])
    >>> low, high = t["classic_signal_inhibition_pct"]
    >>> bool(low < 20 and high > 95)
    True
    """
    base = scenario_run(network, scenario)
    at = base.scenario.admission_h if base.scenario else 0.0
    t_read = at + 24.0 * readout_days
    t = np.array([0.0, at, t_read])
    ref = simulate_run(scenario_run(network, scenario, duration_h=t_read + 1.0), t)
    rows: list[dict[str, Any]] = []
    for name in drugs:
        drug = load_drug(name)
        std = str(drug.standard_dose.get("dose", ""))
        for dose in doses_mg_kg:
            run = scenario_run(network, scenario, [{"drug": name, "dose": f"{dose!r} mg/kg", "at": at}],
                               duration_h=t_read + 1.0)
            res = simulate_run(run, t)
            row: dict[str, Any] = {"drug": drug.name, "target_class": drug.target_class, "dose_mg_kg": float(dose),
                                   "standard": std, "dose_day": at / 24, "readout_day": t_read / 24}
            for o in READOUTS:
                row[f"{o}_inhibition_pct"] = 100.0 * (1.0 - float(res[o][-1]) / float(ref[o][-1]))
            row["mil6r_occupancy"] = float(res["mil6r_occupancy"][-1])
            rows.append(row)
    return pd.DataFrame(rows)


def span_10_90(dose: Sequence[float], inhibition: Sequence[float]) -> float:
    """log10 dose span from 10 % to 90 % inhibition (linear interpolation in log dose); NaN if not reached.

    >>> round(span_10_90([0.01, 0.1, 1, 10, 100], [1, 9.1, 50, 90.9, 99]), 2)
    1.96
    """
    d = np.log10(np.asarray(dose, dtype=float))
    y = np.maximum.accumulate(np.asarray(inhibition, dtype=float))  # first crossings of a rising curve
    if y[0] > 10 or y[-1] < 90:
        return float("nan")
    return float(np.interp(90.0, y, d) - np.interp(10.0, y, d))


def _standard_mg_kg(text: str) -> float | None:
    s = text.replace(" ", "")
    if s.endswith("mg/kg"):
        return float(s[:-5])
    if s.endswith("mg"):
        return float(s[:-2]) / 70.0
    return None


def plot_dose_response(table: pd.DataFrame) -> Figure:
    """One panel per readout: inhibition against dose, one line per drug; span 10-90 % in the legend.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_dose_response(load_model("il6"), drugs=["tocilizumab"], doses_mg_kg=[0.1, 1.0])
    >>> len(plot_dose_response(t).axes)
    3
    """
    fig, axes = new_figure(1, 3, figsize=(18.0, 7.0))
    titles = {"classic_signal": "classic signalling", "trans_signal": "trans-signalling", "crp_mg_l": "CRP"}
    day = float(table["readout_day"].iloc[0])
    for ax, o in zip(axes, READOUTS):
        for i, (drug, d) in enumerate(table.groupby("drug", sort=False)):
            cls = str(d["target_class"].iloc[0])
            span = span_10_90(d["dose_mg_kg"], d[f"{o}_inhibition_pct"])
            hill = f"10-90 % over {span:.2f} decades (n_H {np.log10(81) / span:.1f})" if np.isfinite(span) else "no 10-90 % rise"
            colour = drug_colour(str(drug), i)
            ax.plot(d["dose_mg_kg"], d[f"{o}_inhibition_pct"], color=colour, ls=CLASS_LINESTYLES.get(cls, "-"), lw=2.2,
                    marker="o", ms=3.5, label=f"{drug} ({cls}): {hill}")
            std = _standard_mg_kg(str(d["standard"].iloc[0]))
            if std is not None:
                ax.axvline(std, color=colour, lw=0.9, ls=":", alpha=0.9)
        ax.set_xscale("log")
        ax.set_ylim(-25, 105)
        ax.axhline(0, color="#999999", lw=0.6)
        ax.set_xlabel("single IV dose at admission (mg/kg); dotted: standard dose")
        ax.set_ylabel(f"inhibition of {LABELS.get(o, o).split(' (')[0]} (%)")
        ax.set_title(f"{titles[o]}, day {day:g}")
        ax.legend(frameon=False, fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    after = day - float(table["dose_day"].iloc[0])
    fig.suptitle(f"Dose-response in severe COVID-19, {after:g} days after one dose at admission: "
                 "graded for cytokine binders, switch-like for the tight receptor binder sarilumab")
    return fig


def dose_response_figure(network: Network, *, drugs: Sequence[str] = DRUGS,
                         doses_mg_kg: Sequence[float] = DEFAULT_DOSES, scenario: str = "covid_severe",
                         readout_days: float = 3.0) -> tuple[pd.DataFrame, Figure]:
    """Data table and figure (h).

    >>> from il6sim.shipped import load_model
    >>> table, fig = dose_response_figure(load_model("il6"), drugs=["siltuximab"], doses_mg_kg=[1.0])
    >>> len(table)
    1
    """
    table = compute_dose_response(network, drugs=drugs, doses_mg_kg=doses_mg_kg, scenario=scenario,
                                  readout_days=readout_days)
    return table, plot_dose_response(table)
