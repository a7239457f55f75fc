"""(h) Compute dose-response: inhibition some days after one dose, over a grid of doses, and its steepness.

Severe COVID-19, one dose at admission (day 15.8) of each drug over a log grid of doses (mg/kg, IV
infusion as in the drug file). The readout is the value ``readout_days`` after the dose
(``value[T]`` in :mod:`il6sim.readouts`), as percent inhibition against the untreated run at that
time: ``inhibition(value[18.8d]):<readout> (%)`` = 100 · (1 − value/value(untreated)), NaN where
the untreated value is 0. This is the inhibition of a level at one time, not of an area over a
window. The steepness of each curve is summarised by the log10 dose span between 10 % and 90 %
inhibition (:func:`span_10_90`); a Hill curve has span = log10(81) / n.

A receptor binder is switch-like when it binds so tightly that the receptor pool removes the
drug (target-mediated disposition): below the dose that saturates the receptor the drug is gone
within days, above it the block is complete. In the shipped model this holds for sarilumab;
tocilizumab (in-vivo KD 4.57 nM) is about as graded as the cytokine binders.

>>> from il6sim.shipped import load_model
>>> t = compute_dose_response(load_model("il6"), drugs=["siltuximab"], doses_mg_kg=[0.1, 10.0])
>>> bool(t["inhibition(value[18.8d]):classic_signal (%)"].is_monotonic_increasing)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..drugs import load_drug
from ..network import Network
from ..readouts import parse_metric, value_at
from .runs import scenario_run, simulate_run

__all__ = ["DEFAULT_DOSES", "DRUGS", "READOUTS", "compute_dose_response", "span_10_90", "steepness"]

DRUGS = ("siltuximab", "clazakizumab", "tocilizumab", "sarilumab")
DEFAULT_DOSES = tuple(float(x) for x in np.logspace(-3, 2, 21))
READOUTS = ("classic_signal", "trans_signal", "crp_mg_l")


def _column(metric: str, observable: str) -> str:
    return f"inhibition({metric}):{observable} (%)"


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
    ``inhibition(value[<readout day>]):<readout> (%)`` for classic signal, trans-signal and CRP, and
    ``mil6r_occupancy`` (at the readout day).

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_dose_response(load_model("il6"), drugs=["sarilumab"], doses_mg_kg=[0.01, 10.0])
    >>> low, high = t["inhibition(value[18.8d]):classic_signal (%)"]  # admission (15.8 d) + 3 d
    >>> bool(low < 20 and high > 95)
    True
    """
    base = scenario_run(network, scenario)
    at = base.scenario.admission_h if base.scenario else 0.0
    t_read = at + 24.0 * readout_days
    t = np.array([0.0, at, t_read])
    metric = parse_metric(f"value[{t_read}h]").name
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
                v, v0 = float(value_at(t, res[o], t_read)), float(value_at(t, ref[o], t_read))
                row[_column(metric, o)] = 100.0 * (1.0 - v / v0) if v0 != 0 else float("nan")
            row["mil6r_occupancy"] = float(value_at(t, res["mil6r_occupancy"], t_read))
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


def steepness(table: pd.DataFrame) -> pd.DataFrame:
    """Per drug and inhibition column of a dose-response table: the 10-90 % span (decades) and Hill n.

    ``hill_n`` = log10(81) / span, the Hill coefficient of a Hill curve with that span (NaN where
    the curve does not rise from below 10 % to above 90 %).

    >>> t = pd.DataFrame({"drug": ["a"] * 5, "dose_mg_kg": [0.01, 0.1, 1, 10, 100],
    ...                   "inhibition(value[10d]):crp_mg_l (%)": [1, 9.1, 50, 90.9, 99]})
    >>> steepness(t).round(2).values.tolist()
    [['a', 'inhibition(value[10d]):crp_mg_l (%)', 1.96, 0.98]]
    """
    rows = []
    cols = [c for c in table.columns if c.startswith("inhibition")]
    for drug, d in table.groupby("drug", sort=False):
        for c in cols:
            span = span_10_90(d["dose_mg_kg"], d[c])
            rows.append({"drug": drug, "column": c, "span_10_90_decades": span,
                         "hill_n": float(np.log10(81) / span) if np.isfinite(span) and span > 0 else float("nan")})
    return pd.DataFrame(rows, columns=["drug", "column", "span_10_90_decades", "hill_n"])
