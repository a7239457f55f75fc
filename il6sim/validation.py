"""Validation of the calibrated model on published observations it was never fitted to.

``models/validation/observations.tsv`` was frozen before the first fit (its README says how). This
module predicts each row it can from the shipped model and the calibration's parameter sets
(:func:`il6sim.calibration.ensemble`): exposures at label regimens, accumulation, dose ratios,
tmax, sIL-6R plateaus and CRP under treatment, all in the ``ra`` scenario starting from its own
steady state. Rows it cannot predict say why.

>>> from il6sim.validation import load_observations
>>> len(load_observations()) > 50
True
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import Il6simError
from .shipped import models_dir

__all__ = ["Observation", "Prediction", "band_sets", "explained_misses", "load_observations", "predict_all", "predictions_table", "summary",
           "to_markdown"]

OBSERVATIONS = Path("validation") / "observations.tsv"
MISSES = Path("validation") / "misses.tsv"   # why each missed row misses (written by hand after the fit)
BODY_WEIGHT_KG = 70.0          # the typical patient; label rows for >= 100 kg use HEAVY_KG
HEAVY_KG = 110.0
STEADY_DOSES_H = 52 * 7 * 24.0  # a year of dosing reaches steady state for both antibodies
POINT_TOLERANCE = 0.25          # relative; for published values that come without a spread


@dataclass(frozen=True)
class Observation:
    """One row of the validation table (columns of ``observations.tsv``)."""

    id: str
    drug: str
    route: str
    dose: str
    interval: str
    population: str
    quantity: str
    statistic: str
    value: float
    unit: str
    spread: tuple[float, float] | None
    spread_kind: str
    time: str
    source: str
    note: str


def _num(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def load_observations(path: str | Path | None = None) -> list[Observation]:
    """Read the frozen validation table."""
    p = Path(path) if path else models_dir() / OBSERVATIONS
    out = []
    with open(p, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            lo, hi = _num(r["spread_low"]), _num(r["spread_high"])
            spread = (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else None
            out.append(Observation(r["id"], r["drug"], r["route"], r["dose"], r["interval"], r["population"],
                                   r["quantity"], r["statistic"], _num(r["value"]), r["unit"], spread,
                                   r["spread_kind"], r["time"], r["source"], r["note"]))
    return out


@dataclass
class Prediction:
    """The model's value for one observation: best fit and the band over the calibration's sets."""

    observation: Observation
    best: float = math.nan
    low: float = math.nan
    high: float = math.nan
    reason: str = ""            # why there is no prediction, or how it was made
    values: list[float] = field(default_factory=list, repr=False)

    @property
    def predicted(self) -> bool:
        return math.isfinite(self.best)

    @property
    def consistent(self) -> bool | None:
        """Observed value (or its published spread) overlaps the predicted band; None if not predicted."""
        if not self.predicted:
            return None
        o = self.observation
        if not math.isfinite(o.value) and o.spread is None:
            return None
        # a value published without a spread is met within POINT_TOLERANCE of it
        obs_lo, obs_hi = o.spread if o.spread else (o.value / (1 + POINT_TOLERANCE), o.value * (1 + POINT_TOLERANCE))
        lo = min(obs_lo, o.value) if math.isfinite(o.value) else obs_lo
        hi = max(obs_hi, o.value) if math.isfinite(o.value) else obs_hi
        return not (self.high < lo or self.low > hi)


# ------------------------------------------------------------------------------------------------
# Regimens and their exposure metrics

@dataclass(frozen=True)
class _Regimen:
    drug: str
    route: str
    dose: str
    every_h: float
    weight_kg: float


def _interval_h(text: str) -> float | None:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*d\s*", text)
    return float(m.group(1)) * 24.0 if m else None


def _doses_in_window(time: str, every_h: float) -> tuple[int, int] | None:
    """(number of doses given, index of the interval the row describes) from the row's ``time`` text."""
    t = time.lower()
    steady = int(round(STEADY_DOSES_H / every_h))
    if t.startswith("steady state vs first dose") or t.startswith("steady state"):
        return steady, steady - 1
    if "first dosing interval" in t or "first dose" in t:
        return 1, 0
    m = re.search(r"weeks (\d+)-(\d+)", t)
    if m:
        k = int(round(int(m.group(1)) * 7 * 24.0 / every_h))
        return k + 1, k
    if "final dose of 12 weeks" in t:
        n = int(round(12 * 7 * 24.0 / every_h))
        return n, n - 1
    return None


class _Simulator:
    """Simulates regimens in the ``ra`` scenario from its drug-free steady state, cached per parameter set."""

    def __init__(self) -> None:
        from .shipped import load_network

        self.network = load_network()
        self.cache: dict[tuple[Any, ...], dict[str, np.ndarray]] = {}

    def run(self, reg: _Regimen, n_doses: int, params: Mapping[str, float]) -> dict[str, np.ndarray]:
        key = (reg, n_doses, tuple(sorted(params.items())))
        if key in self.cache:
            return self.cache[key]
        from .regimen import build_run
        from .solve import simulate, steady_state

        group = {"drug": reg.drug, "dose": reg.dose, "route": reg.route, "every": f"{reg.every_h / 24.0:g} d",
                 "count": n_doses}
        if reg.route == "iv":
            group["infusion"] = "1 h"
        end = n_doses * reg.every_h
        run = build_run(self.network, scenario="ra", drug_groups=[group], weight=reg.weight_kg, duration_h=end + 1.0)
        p = {**dict(run.parameters), **params}
        # only parameters this network has (a sarilumab run has no tocilizumab constants)
        names = {q.id for q in run.network.parameters}
        p = {k: v for k, v in p.items() if k in names}
        ss = steady_state(run.network, parameters=p)
        local = np.unique(np.concatenate([np.arange(0.0, 3.0, 0.25), np.arange(3.0, 48.0, 1.0),
                                          np.arange(48.0, reg.every_h, 6.0), [reg.every_h - 0.01]]))
        local = local[local < reg.every_h]
        t = np.concatenate([k * reg.every_h + local for k in range(n_doses)])
        res = simulate(run.network, t, parameters=p, protocol=run.protocol, initial=ss, events_beyond_end="ignore")
        df = res.to_dataframe()
        out = {"t": t, "drug": df["drug_total_ug_ml"].to_numpy(), "sil6r": df["sil6r_total_ng_ml"].to_numpy(),
               "crp": df["crp_mg_l"].to_numpy(), "crp0": np.array([float(df["crp_mg_l"].iloc[0])]),
               "every": np.array([reg.every_h])}
        self.cache[key] = out
        return out


def _window(sim: Mapping[str, np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tau = float(sim["every"][0])
    m = (sim["t"] >= k * tau) & (sim["t"] < (k + 1) * tau)
    return sim["t"][m] - k * tau, sim["drug"][m], sim["sil6r"][m]


def _metric(sim: Mapping[str, np.ndarray], quantity: str, k: int) -> float:
    t, c, s = _window(sim, k)
    if quantity == "cmax_ug_ml":
        return float(np.max(c))
    if quantity == "ctrough_ug_ml":
        return float(c[-1])
    if quantity.startswith("auc_tau"):
        return float(np.trapezoid(c, t) / 24.0)
    if quantity == "tmax_d":
        return float(t[int(np.argmax(c))] / 24.0)
    if quantity.startswith("sil6r"):
        return float(np.trapezoid(s, t) / (t[-1] - t[0]))
    raise KeyError(quantity)


_EXPOSURE = {"cmax_ug_ml", "ctrough_ug_ml", "auc_tau_ug_d_ml", "tmax_d", "sil6r_complex_ng_ml"}
_NOT_PREDICTED = {
    "t_half_d": "not predicted: an apparent half-life depends on how it is read from the curve; the label does not say",
    "time_to_steady_state_ctrough_wk": "not predicted: depends on the label model's criterion for steady state",
    "time_to_steady_state_auc_wk": "not predicted: depends on the label model's criterion for steady state",
    "time_to_steady_state_wk": "not predicted: depends on the label model's criterion for steady state",
    "crp_change_vs_placebo_mg_l": "not predicted: needs the placebo response, which the model does not have",
    "crp_change_from_baseline_mg_l": "not predicted: the arm's baseline CRP is not in the frozen row",
}


def _regimen(o: Observation, *, dose: str | None = None) -> _Regimen | None:
    every = _interval_h(o.interval)
    if every is None or o.drug not in ("tocilizumab", "sarilumab"):
        return None
    weight = HEAVY_KG if ">= 100 kg" in o.population else BODY_WEIGHT_KG
    # "150 mg or 200 mg": the last named dose (the label's recommended one)
    return _Regimen(o.drug, o.route, dose or o.dose.split(" or ")[-1], every, weight)


def _predict_one(o: Observation, sim: _Simulator, params: Mapping[str, float],
                 by_id: Mapping[str, Observation]) -> tuple[float, str]:
    """The model's value of ``o`` under one parameter set, and how it was made (or why not)."""
    if o.quantity in _NOT_PREDICTED:
        return math.nan, _NOT_PREDICTED[o.quantity]
    if o.drug not in ("tocilizumab", "sarilumab"):
        return math.nan, "not predicted: placebo arm (no drug; the placebo response is not modelled)"
    if o.population.startswith("healthy"):
        return math.nan, "not predicted: a healthy-volunteer SC/IV effect ratio whose effect measure is not defined"
    if o.quantity in ("auc_ratio_8_vs_4_mg_kg", "ctrough_ratio_8_vs_4_mg_kg"):
        q = "auc_tau_ug_d_ml" if o.quantity.startswith("auc") else "ctrough_ug_ml"
        vals = []
        for dose in ("8 mg/kg", "4 mg/kg"):
            reg = _regimen(o, dose=dose)
            assert reg is not None
            n, k = _doses_in_window("steady state", reg.every_h) or (0, 0)
            vals.append(_metric(sim.run(reg, n, params), q, k))
        return vals[0] / vals[1], "ratio of steady-state values, 8 vs 4 mg/kg q4w, 70 kg"
    if o.quantity.startswith("accumulation_ratio"):
        measure = {"auc": "auc_tau_ug_d_ml", "exposure": "auc_tau_ug_d_ml", "cmax": "cmax_ug_ml",
                   "ctrough": "ctrough_ug_ml"}.get(o.quantity.split("_")[-1])
        reg = _regimen(o)
        if measure is None or reg is None:
            return math.nan, "not predicted: which exposure measure accumulates is not stated"
        n, k = _doses_in_window("steady state", reg.every_h) or (0, 0)
        s = sim.run(reg, n, params)
        return (_metric(s, measure, k) / _metric(s, measure, 0),
                f"{reg.dose}: steady-state interval over the first interval")
    if o.quantity in _EXPOSURE:
        reg = _regimen(o)
        window = _doses_in_window(o.time, reg.every_h) if reg else None
        if reg is None or window is None:
            return math.nan, f"not predicted: regimen or time '{o.time}' not understood"
        n, k = window
        how = f"{reg.dose} {reg.route} every {reg.every_h / 24:g} d, {reg.weight_kg:g} kg, interval {k + 1} of {n}"
        return _metric(sim.run(reg, n, params), o.quantity, k), how
    if o.quantity == "crp_mg_l" and o.id.endswith("_wk24"):
        base = by_id.get(o.id[: -len("_wk24")] + "_baseline")
        reg = _regimen(o)
        if base is None or reg is None:
            return math.nan, "not predicted: no baseline row for this arm"
        n = int(round(24 * 7 * 24.0 / reg.every_h))
        s = sim.run(reg, n, params)
        rel = float(s["crp"][-1] / s["crp0"][0])
        return base.value * rel, (f"arm baseline {base.value:g} mg/l x the model's CRP ratio at week 24 "
                                  f"(just before the 7th infusion) to its RA steady state")
    if o.quantity == "crp_mg_l":
        return math.nan, "context row: an arm's untreated baseline (used to scale the week-24 prediction)"
    return math.nan, f"not predicted: quantity '{o.quantity}' not supported"


def band_sets(sets: Sequence[Mapping[str, float]]) -> list[dict[str, float]]:
    """The best set and, per parameter, the two sets at the ends of its range among ``sets``."""
    if not sets:
        raise Il6simError("no parameter sets to make a band from")
    chosen = [dict(sets[0])]
    keys = sorted(sets[0])
    for k in keys:
        vals = np.array([s[k] for s in sets])
        for i in (int(np.argmin(vals)), int(np.argmax(vals))):
            if dict(sets[i]) not in chosen:
                chosen.append(dict(sets[i]))
    return chosen


def predict_all(observations: Sequence[Observation] | None = None,
                parameter_sets: Sequence[Mapping[str, float]] | None = None) -> list[Prediction]:
    """Predict every observation under each parameter set (joint-problem ids); best = the first set."""
    from .calibration import ensemble, overrides

    obs = list(observations) if observations is not None else load_observations()
    sets = list(parameter_sets) if parameter_sets is not None else band_sets(ensemble())
    by_id = {o.id: o for o in obs}
    sim = _Simulator()
    out = []
    for o in obs:
        pred = Prediction(o)
        for s in sets:
            v, how = _predict_one(o, sim, overrides(s, scenario="ra"), by_id)
            pred.reason = how
            if not math.isfinite(v):
                break
            pred.values.append(v)
        if pred.values:
            pred.best = pred.values[0]
            pred.low, pred.high = min(pred.values), max(pred.values)
        out.append(pred)
    return out


def summary(predictions: Sequence[Prediction]) -> dict[str, int]:
    """Counts: rows, predicted, consistent with the observation, missed, not predicted."""
    predicted = [p for p in predictions if p.predicted]
    return {"rows": len(predictions), "predicted": len(predicted),
            "consistent": sum(1 for p in predicted if p.consistent),
            "missed": sum(1 for p in predicted if p.consistent is False),
            "not_predicted": len(predictions) - len(predicted)}


def explained_misses(path: str | Path | None = None) -> dict[str, str]:
    """``misses.tsv``: observation id -> why the model misses it."""
    p = Path(path) if path else models_dir() / MISSES
    if not p.is_file():
        return {}
    with open(p, newline="", encoding="utf-8") as f:
        return {r["id"]: r["explanation"] for r in csv.DictReader(f, delimiter="\t")}


def _fmt(x: float) -> str:
    return "" if not math.isfinite(x) else f"{x:.3g}"


def to_markdown(predictions: Sequence[Prediction], *, n_sets: int, command: str) -> str:
    """The validation report: counts, then one table row per observation (observed vs predicted band)."""
    s = summary(predictions)
    lines = [
        "# Validation: the calibrated model against published data it was never fitted to",
        "",
        f"Generated by `{command}`; do not edit by hand.",
        "",
        "The observations are `models/validation/observations.tsv`, frozen on 2026-12-04 before the first fit",
        "(`models/validation/README.md`: how each row was found, and which rows come from the same population-PK",
        "models as training pseudo-data, so that they check consistency rather than independence). The training",
        "data are `models/calibration/`; `tests/test_validation.py` checks that the two folders share no file and",
        "no source figure.",
        "",
        "**Predicted** is the shipped model (the best fit of `models/calibration/joint`); the **band** is the range",
        f"over {n_sets} parameter sets of the calibration: the best fit, for every shipped fitted parameter the",
        "sets at the ends of its 95 % interval (one for a parameter fitted to a bound), and every other optimum of",
        "the fit inside the 95 % likelihood threshold (`models/calibration/joint/ensemble.tsv`, README there). Every",
        "prediction runs in scenario `ra` from its own drug-free steady state, 70 kg unless the row says otherwise.",
        "The band is parameter uncertainty of the typical patient, not between-patient spread; the observed",
        "spread (SD, range or CI as published) is between patients. A row **agrees** when the two overlap; a",
        f"value published without a spread agrees when the band comes within {POINT_TOLERANCE:.0%} of it.",
        "",
        f"**{s['rows']} rows: {s['predicted']} predicted, {s['consistent']} agree, {s['missed']} miss,"
        f" {s['not_predicted']} not predicted** (reason in the table).",
        "",
        "| id | quantity | observed | spread | predicted | band | agrees | how / why not |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in predictions:
        o = p.observation
        spread = f"{_fmt(o.spread[0])} – {_fmt(o.spread[1])} ({o.spread_kind})" if o.spread else ""
        band = f"{_fmt(p.low)} – {_fmt(p.high)}" if p.predicted else ""
        agrees = {True: "yes", False: "**no**", None: ""}[p.consistent]
        lines.append(f"| {o.id} | {o.quantity} ({o.statistic}, {o.unit}) | {_fmt(o.value)} | {spread} | "
                     f"{_fmt(p.best)} | {band} | {agrees} | {p.reason} |")
    why = explained_misses()
    missed = [p.observation.id for p in predictions if p.consistent is False]
    lines += ["", "## Misses, explained", "",
              "Written after the fit, in `models/validation/misses.tsv` (a test checks every miss has one):", ""]
    lines += [f"* **{m}**: {why.get(m, 'NOT EXPLAINED')}" for m in missed]
    return "\n".join(lines) + "\n"


def predictions_table(predictions: Sequence[Prediction]) -> Any:
    """One row per observation: observed (with spread), predicted (best, band), agreement (1, 0, -1 = none)."""
    import pandas as pd

    rows = []
    for p in predictions:
        o = p.observation
        rows.append({"id": o.id, "drug": o.drug, "quantity": o.quantity, "unit": o.unit, "observed": o.value,
                     "spread_low": o.spread[0] if o.spread else math.nan,
                     "spread_high": o.spread[1] if o.spread else math.nan, "predicted": p.best, "lower": p.low,
                     "upper": p.high, "agrees": {True: 1, False: 0, None: -1}[p.consistent], "how": p.reason})
    return pd.DataFrame(rows)
