"""Regimen finder (target attainment): the smallest dose, or the longest dosing interval, that meets a
target at steady state, for the typical patient or for a chosen fraction of a virtual population.

A target is a steady-state readout of one observable over the **last dosing interval** of a long
run of repeated doses, compared with a bound:

=========  ==========================================  ======================
``KIND``   readout over the last interval               :mod:`il6sim.readouts`
=========  ==========================================  ======================
trough     value just before the next dose              ``ctrough[last]``
peak       largest value                                ``cmax[last]``
mean       time-averaged value, AUCτ / τ                ``auctau[last]`` / τ
auc        area over the interval (value x h)           ``auctau[last]``
=========  ==========================================  ======================

spelled ``KIND:OBSERVABLE`` (``trough:sil6r_occupancy``) with ``at_least`` or ``at_most``.

**Steady state.** Each regimen runs for at least a year (and at least 8 doses) from the scenario's
own steady state; the readout of the last interval is compared with the one before it, and the
run is doubled (up to three times) until they differ by less than 1 % for every patient.

**Search.** Doses (or intervals) on a geometric grid are run in one sweep through the jitted
batch solver; the grid brackets the answer, which bisection in log space then narrows to a
relative width ``rtol``. The answer reported is the end of the final bracket that *meets* the
target (the smallest dose, the longest interval), so it is never on the wrong side of it. For a
population, "meets" means that at least ``fraction`` of its patients meet the target; each
patient is the same draw at every dose (the population's seed), so the fraction is monotone when
each patient's readout is.

>>> t = parse_target("trough:sil6r_occupancy", at_least=0.9)
>>> t.label, t.metric_name
('trough sil6r_occupancy >= 0.9', 'ctrough[last]')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import Il6simError, ModelFileError, UnitError, UnknownNameError, suggest

__all__ = ["KINDS", "Target", "TargetResult", "find_dose", "find_interval", "parse_target"]

#: readout kinds and the per-interval metric each one reads (see the module table)
KINDS = {"trough": "ctrough", "peak": "cmax", "mean": "auctau", "auc": "auctau"}
MIN_DAYS, MIN_DOSES, MAX_DOUBLINGS, STEADY_RTOL = 364.0, 8, 3, 0.01
_GRID_RATIO = 2.0 ** 0.5  # spacing of the first grid (a factor 1.41 between neighbours)
_FORBIDDEN = ("drug", "dose", "route", "at", "every", "count", "infusion", "scenario", "calibration")


@dataclass(frozen=True)
class Target:
    """A steady-state readout of one observable, to be kept at or above (``at_least``) or at or below a bound."""

    kind: str
    observable: str
    bound: float
    at_least: bool = True

    @property
    def metric_name(self) -> str:
        """The per-interval metric of :mod:`il6sim.readouts` behind the readout (of the last interval)."""
        return f"{KINDS[self.kind]}[last]"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.observable} {'>=' if self.at_least else '<='} {self.bound:g}"

    def met(self, value: np.ndarray) -> np.ndarray:
        """Whether each value meets the target (NaN, a failed run, never does)."""
        v = np.asarray(value, dtype=float)
        with np.errstate(invalid="ignore"):
            return (v >= self.bound) if self.at_least else (v <= self.bound)


def parse_target(metric: str, *, at_least: float | None = None, at_most: float | None = None) -> Target:
    """A :class:`Target` from ``KIND:OBSERVABLE`` and exactly one bound.

    >>> parse_target("peak:drug_total_ug_ml", at_most=300).label
    'peak drug_total_ug_ml <= 300'
    >>> parse_target("median:crp_mg_l", at_most=5)
    Traceback (most recent call last):
    ...
    il6sim.errors.Il6simError: --metric 'median:crp_mg_l': unknown kind 'median'; did you mean 'mean'? (kinds: trough, peak, mean, auc)
    """
    kind, sep, observable = str(metric).partition(":")
    kind, observable = kind.strip(), observable.strip()
    if not sep or not observable:
        raise Il6simError(f"--metric '{metric}': write KIND:OBSERVABLE, e.g. trough:sil6r_occupancy")
    if kind not in KINDS:
        raise Il6simError(f"--metric '{metric}': unknown kind '{kind}'{suggest(kind, tuple(KINDS))} "
                          f"(kinds: {', '.join(KINDS)})")
    if (at_least is None) == (at_most is None):
        raise Il6simError("give exactly one of --at-least and --at-most")
    bound = float(at_least if at_least is not None else at_most)  # type: ignore[arg-type]
    if not math.isfinite(bound):
        raise Il6simError(f"the bound must be a finite number, got {bound}")
    return Target(kind, observable, bound, at_least is not None)


@dataclass(frozen=True)
class TargetResult:
    """The answer of a search, the grid and bisection points behind it, and what was asked.

    ``table`` holds one row per regimen tried, in search order: ``dose`` (in ``unit``) or
    ``every_d``, the typical patient's ``value`` or a population's ``fraction`` meeting the target
    with the ``p05``/``p50``/``p95`` of the readout, and ``met``.
    """

    search: str
    value: float
    unit: str
    target: Target
    regimen: dict[str, Any]
    scenario: str | None
    patients: int
    fraction: float | None
    achieved: float
    steady_days: float
    table: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    notes: tuple[str, ...] = ()

    @property
    def answer(self) -> str:
        """The last line of ``il6sim target``: ``dose = <value> <unit>`` or ``every = <value> d``."""
        return f"{self.search} = {self.value:.3g} {self.unit}"

    def format(self) -> str:
        """A plain-text report: what was asked, the regimens tried, notes, then :attr:`answer`."""
        who = ("the typical patient" if self.fraction is None
               else f"at least {self.fraction:.0%} of {self.patients} patients")
        lines = [f"target: {self.target.label} at steady state, for {who}",
                 f"regimen: {', '.join(f'{k} {v}' for k, v in self.regimen.items())}; "
                 f"scenario {self.scenario or 'none'}; steady state after {self.steady_days:g} d"]
        key = "dose" if self.search == "dose" else "every_d"
        head = f"{key + (' (' + self.unit + ')' if self.search == 'dose' else ''):>14}"
        if self.fraction is None:
            lines.append(f"{head} {'readout':>12} met")
            for r in sorted(self.table, key=lambda r: r[key]):
                lines.append(f"{r[key]:>14.4g} {r['value']:>12.5g} {'yes' if r['met'] else 'no'}")
        else:
            lines.append(f"{head} {'fraction met':>12} {'p05':>10} {'p50':>10} {'p95':>10}")
            for r in sorted(self.table, key=lambda r: r[key]):
                lines.append(f"{r[key]:>14.4g} {r['fraction']:>12.3f} {r['p05']:>10.4g} {r['p50']:>10.4g} "
                             f"{r['p95']:>10.4g}")
        lines += [f"note: {n}" for n in self.notes]
        achieved = (f"readout {self.achieved:.5g}" if self.fraction is None
                    else f"{self.achieved:.1%} of patients meet the target")
        lines.append(f"at the answer: {achieved}")
        lines.append(self.answer)
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
@dataclass
class _Question:
    target: Target
    drug: str
    route: str | None
    infusion: str | None
    scenario: str | None
    model: str
    weight: str | float
    step_h: float
    factors: list[dict[str, Any]]
    rows: int
    seed: int
    source: Any  # the population file's TomlSource (for error locations), or None
    progress: Callable[[int, int], None] | None
    patients: int = 1  # patients per regimen in the last sweep (the file's rows times its grid and levels)

    def readouts(self, groups: Sequence[tuple[str, float]], days: float) -> dict[tuple[str, float], np.ndarray]:
        """Steady-state readouts (last and second-last interval) of each (dose, every_h) pair, per patient."""
        from .sweeps import sweep
        from .sweeps.spec import parse_sweep_spec
        from .tomlsource import TomlSource

        out: dict[tuple[str, float], np.ndarray] = {}
        by_every: dict[float, list[str]] = {}
        for dose, every_h in groups:
            by_every.setdefault(every_h, []).append(dose)
        for every_key, doses in by_every.items():
            every_h = float(f"{every_key:.10g}")  # the interval the doses get, so the run ends on a dose interval
            count = max(MIN_DOSES, math.ceil(days * 24.0 / every_h - 1e-9))
            kind = KINDS[self.target.kind]
            head: dict[str, Any] = {"model": self.model, "days": count * every_h / 24.0, "step": f"{self.step_h:g} h",
                                    "observables": [self.target.observable], "timecourses": False,
                                    "metrics": [f"{kind}[last]", f"{kind}[{count - 1}]"], "rows": self.rows,
                                    "seed": self.seed, "weight": self.weight}
            if self.scenario:
                head["scenario"] = self.scenario
            group: dict[str, Any] = {"drug": self.drug, "dose": doses[0], "every": f"{every_h!r} h", "count": count}
            if self.route:
                group["route"] = self.route
            if self.infusion:
                group["infusion"] = self.infusion
            data = {"sweep": head, "drugs": [group], "factors": [*self.factors, {"dose": list(doses)}]}
            src = self.source
            spec = parse_sweep_spec(TomlSource(src.path if src else "<target>", src.text if src else "", data))
            res = sweep(spec, progress=self.progress)
            last = res.metrics[f"{kind}[last]:{self.target.observable}"]
            prev = res.metrics[f"{kind}[{count - 1}]:{self.target.observable}"]
            if self.target.kind == "mean":
                last, prev = last / every_h, prev / every_h
            labels = np.asarray(res.labels["dose"], dtype=str)
            for dose in doses:  # the rows of each dose, whatever the order the sweep crossed its factors in
                rows = labels == dose
                self.patients = int(rows.sum())
                out[(dose, every_key)] = np.stack([last[rows], prev[rows]])
        return out


def _unsteady(pair: np.ndarray) -> bool:
    last, prev = pair
    ok = np.isfinite(last)
    return bool(np.any(np.abs(last[ok] - prev[ok]) > STEADY_RTOL * np.maximum(np.abs(last[ok]), 1e-12)))


def _population(path: str | Path | None, patients: int | None) -> tuple[list[dict[str, Any]], int, int, Any,
                                                                        str | None]:
    """The patient factors, rows, seed and scenario of a population (sweep) file."""
    if path is None:
        if patients is not None:
            raise Il6simError("--patients needs --population FILE")
        return [], 1, 0, None, None
    from .shipped import resolve
    from .tomlsource import read_toml

    src = read_toml(resolve(path, "sweeps"))
    data = src.data
    factors = data.get("factors", [])
    if not isinstance(factors, list) or not factors:
        raise ModelFileError(f"{path}: [[factors]]: a population needs at least one [[factors]] table")
    for i, f in enumerate(factors):
        bad = [k for k in (f if isinstance(f, dict) else {}) if k in _FORBIDDEN]
        if bad:
            raise src.error(("factors", i), bad[0], f"a population for target attainment varies patients only; "
                            f"the regimen ({bad[0]}) is what the search sets, so remove this factor")
    head = data.get("sweep", {}) if isinstance(data.get("sweep", {}), dict) else {}
    rows = patients if patients is not None else head.get("rows", 100)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise src.error(("sweep",), "rows", f"must be a whole number >= 1, got {rows!r}")
    seed = head.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise src.error(("sweep",), "seed", f"must be a whole number >= 0, got {seed!r}")
    return list(factors), int(rows), int(seed), src, head.get("scenario")


def _question(target: Target, drug: str, *, route: str | None, infusion: str | None, scenario: str | None,
              model: str, weight: str | float, step: str | float, population: str | Path | None,
              patients: int | None,
              progress: Callable[[int, int], None] | None) -> _Question:
    from .regimen import build_run
    from .shipped import load_network
    from .units import parse_time

    factors, rows, seed, src, pop_scenario = _population(population, patients)
    group: dict[str, Any] = {"drug": drug, **({"route": route} if route else {})}
    scen = scenario if scenario is not None else (pop_scenario or "ra")
    probe = build_run(load_network(model), scenario=scen or None, drug_groups=[group], weight=weight, duration_h=24.0)
    known = tuple(o.id for o in probe.network.observables)
    if target.observable not in known:
        raise UnknownNameError(f"--metric: unknown observable '{target.observable}'{suggest(target.observable, known)}")
    step_h = parse_time(step)
    if not step_h > 0:
        raise UnitError(f"--step must be > 0, got {step!r}")
    return _Question(target, drug, route, infusion, scenario if scenario is not None else (pop_scenario or "ra"),
                     model, weight, step_h, factors, rows, seed, src, progress)


def _summary(target: Target, values: np.ndarray, fraction: float | None) -> dict[str, Any]:
    """The table row of one regimen: the typical patient's readout, or a population's fraction and percentiles."""
    met = target.met(values)
    if fraction is None:
        return {"value": float(values[0]), "met": bool(met[0])}
    frac = float(np.mean(met))
    finite = values[np.isfinite(values)]
    q = np.percentile(finite, [5, 50, 95]) if finite.size else [np.nan] * 3
    return {"fraction": frac, "p05": float(q[0]), "p50": float(q[1]), "p95": float(q[2]), "met": frac >= fraction}


def _in_search_order(table: Mapping[float, Mapping[str, Any]], increasing_meets: bool) -> tuple[list[float], list[bool]]:
    """The regimens tried, in the direction the target becomes met (doses up, intervals down), and whether each is."""
    order = sorted(table, reverse=not increasing_meets)
    return order, [bool(table[x]["met"]) for x in order]


def _search(q: _Question, grid: list[float], increasing_meets: bool, evaluate: Callable[[list[float], float],
            dict[float, np.ndarray]], fraction: float | None, rtol: float, what: str,
            unit: str) -> tuple[float, float, list[dict[str, Any]], list[str], float]:
    """Grid, then bisection in log space; returns (answer, achieved, table, notes, steady days)."""
    days = MIN_DAYS
    notes: list[str] = []
    warned = False
    table: dict[float, dict[str, Any]] = {}

    def run(points: list[float]) -> None:
        nonlocal days, warned
        todo = list(points)
        for attempt in range(MAX_DOUBLINGS + 1):
            got = evaluate(todo, days)
            unsteady = any(_unsteady(v) for v in got.values())
            if not unsteady or attempt == MAX_DOUBLINGS:
                break
            days *= 2.0  # not yet at steady state: everything so far again, over the longer run
            todo = sorted(set(todo) | set(table))
            table.clear()
        if unsteady and not warned:
            warned = True
            notes.append(f"the readout still changes by more than {STEADY_RTOL:.0%} between the last two "
                         f"intervals after {days:g} d (a slow approach to steady state)")
        for x, pair in got.items():
            table[x] = {what: x, **_summary(q.target, pair[0], fraction)}

    run(list(grid))
    order, flags = _in_search_order(table, increasing_meets)
    if not any(flags):
        raise Il6simError(f"no {what} in {min(order):.4g}-{max(order):.4g} {unit} meets the target "
                          f"({q.target.label}); at {order[-1]:.4g} {unit} the readout is "
                          f"{_describe(table[order[-1]], fraction)}: widen the range or relax the target")
    first = flags.index(True)
    if any(not f for f in flags[first:]):
        notes.append(f"the target is not met at every {what} beyond the first that meets it on the grid: "
                     "the readout is not monotone in it; the first is reported")
    if first == 0:
        notes.append(f"the target is met already at the end of the range ({order[0]:.3g} {unit}); "
                     "widen the range to look further")
        answer = order[0]
    else:
        bad, good = order[first - 1], order[first]
        while abs(math.log(good / bad)) > math.log1p(rtol):
            mid = math.sqrt(bad * good)
            before = days
            run([mid])
            if days != before:  # a longer run re-evaluated everything: bracket again from the fresh table
                order, flags = _in_search_order(table, increasing_meets)
                if not any(flags):
                    raise Il6simError(f"no {what} meets the target ({q.target.label}) at steady state "
                                      f"(after {days:g} d)")
                k = flags.index(True)
                if k == 0:
                    bad = good = order[0]
                    break
                bad, good = order[k - 1], order[k]
                continue
            if table[mid]["met"]:
                good = mid
            else:
                bad = mid
        answer = good
    row = table[answer]
    achieved = row["value"] if fraction is None else row["fraction"]
    return answer, achieved, [table[x] for x in table], notes, days


def _describe(row: Mapping[str, Any], fraction: float | None) -> str:
    return f"{row['value']:.4g}" if fraction is None else f"met by {row['fraction']:.1%} of patients"


def _check_fraction(fraction: float | None, population: str | Path | None) -> float | None:
    if population is None:
        if fraction is not None:
            raise Il6simError("--fraction needs --population FILE (a virtual population)")
        return None
    f = 0.9 if fraction is None else float(fraction)
    if not 0.0 < f <= 1.0:
        raise Il6simError(f"--fraction must be in (0, 1], got {fraction}")
    return f


def _default_unit(drug_name: str, route: str | None) -> tuple[str, float | None]:
    """The unit of the drug's standard dose (mg/kg or mg) when the route is its standard one, and that dose."""
    from .drugs import load_drug
    from .units import MASS, convert, parse_quantity

    drug = load_drug(drug_name)
    raw = drug.standard_dose
    text = str(raw.get("dose", "")).replace(" ", "")
    std_route = str(raw.get("route", "iv"))
    if text and (route is None or route == std_route):
        per_kg = text.endswith("/kg")
        try:
            q = parse_quantity(text[:-3] if per_kg else text)
            amount = convert(q, MASS) * 1e3  # mg (the core mass unit is g)
        except UnitError:
            return "mg", None
        return ("mg/kg" if per_kg else "mg"), amount
    return "mg", None


def _range(text: str | None, default: tuple[float, float], unit: str, what: str) -> tuple[float, float]:
    from .units import parse_time

    if text is None:
        return default
    lo_s, sep, hi_s = str(text).partition("..")
    if not sep:
        raise Il6simError(f"--range '{text}': write LOW..HIGH, e.g. 10..1000 (in {unit})")
    try:
        if what == "every":
            lo, hi = parse_time(lo_s.strip(), "d") / 24.0, parse_time(hi_s.strip(), "d") / 24.0
        else:
            lo, hi = float(lo_s), float(hi_s)
    except (ValueError, UnitError):
        raise Il6simError(f"--range '{text}': LOW and HIGH must be numbers (in {unit})") from None
    if not (0 < lo < hi and math.isfinite(hi)):
        raise Il6simError(f"--range '{text}': need 0 < LOW < HIGH")
    return lo, hi


def _geometric(lo: float, hi: float) -> list[float]:
    n = max(3, int(math.ceil(math.log(hi / lo) / math.log(_GRID_RATIO))) + 1)
    return [float(x) for x in np.geomspace(lo, hi, n)]


def find_dose(target: Target, drug: str, *, every: str | float = "14 d", route: str | None = None,
              infusion: str | None = None, scenario: str | None = None, model: str = "il6",
              weight: str | float = "70 kg", unit: str | None = None, dose_range: str | None = None,
              population: str | Path | None = None, fraction: float | None = None, patients: int | None = None,
              rtol: float = 0.01, step: str | float = "6 h",
              progress: Callable[[int, int], None] | None = None) -> TargetResult:
    """The smallest dose given every ``every`` that meets ``target`` at steady state.

    Parameters
    ----------
    target : from :func:`parse_target`.
    drug, route, infusion : the drug (shipped name or file) and how it is given.
    every : the dosing interval (``"14 d"``; bare numbers are days).
    scenario : the disease (default: the population file's, else ``ra``).
    unit : ``mg`` or ``mg/kg`` (default: the unit of the drug's standard dose for its route, else mg).
    dose_range : ``"LOW..HIGH"`` in ``unit`` (default: the standard dose / 30 to x 10, else 1..2000 mg).
    population, fraction, patients : a virtual population (a sweep file whose ``[[factors]]``
        draw patients, or the name of a shipped one in ``models/sweeps``), the fraction of it that must meet the target (default 0.9) and how many
        patients to draw (default: the file's ``rows``).
    rtol : relative width of the final bracket.

    >>> t = parse_target("trough:sil6r_occupancy", at_least=0.9)
    >>> res = find_dose(t, "sarilumab", every="14 d", route="sc", dose_range="50..400", rtol=0.05)
    >>> 100 < res.value <= 200, res.unit
    (True, 'mg')
    """
    from .units import parse_time

    frac = _check_fraction(fraction, population)
    default_unit, standard = _default_unit(drug, route)
    unit = unit or default_unit
    if unit not in ("mg", "mg/kg"):
        raise UnitError(f"--unit must be mg or mg/kg, got {unit!r}")
    if standard and unit == default_unit:
        default = (standard / 30.0, standard * 10.0)
    else:  # 1-2000 mg, or the same per kg of the reference weight
        from .regimen import parse_weight

        per = parse_weight(weight) if unit == "mg/kg" else 1.0
        default = (1.0 / per, 2000.0 / per)
    lo, hi = _range(dose_range, default, unit, "dose")
    _check_rtol(rtol)
    every_h = parse_time(every, "d")
    if not every_h > 0:
        raise UnitError(f"--every must be > 0, got {every!r}")
    q = _question(target, drug, route=route, infusion=infusion, scenario=scenario, model=model, weight=weight,
                  step=step, population=population, patients=patients, progress=progress)

    def evaluate(points: list[float], days: float) -> dict[float, np.ndarray]:
        got = q.readouts([(f"{x:.10g} {unit}", every_h) for x in points], days)
        return {x: got[(f"{x:.10g} {unit}", every_h)] for x in points}

    answer, achieved, table, notes, days = _search(q, _geometric(lo, hi), True, evaluate, frac, rtol, "dose", unit)
    regimen = {"drug": drug, "every": f"{every_h / 24:g} d"}
    if route:
        regimen["route"] = route
    return TargetResult("dose", answer, unit, target, regimen, q.scenario, q.patients, frac, achieved, days,
                        tuple(table), tuple(notes))


def find_interval(target: Target, drug: str, *, dose: str, route: str | None = None, infusion: str | None = None,
                  scenario: str | None = None, model: str = "il6", weight: str | float = "70 kg",
                  every_range: str | None = None, population: str | Path | None = None,
                  fraction: float | None = None, patients: int | None = None, rtol: float = 0.01,
                  step: str | float = "6 h",
                  progress: Callable[[int, int], None] | None = None) -> TargetResult:
    """The longest dosing interval at which ``dose`` meets ``target`` at steady state (in days).

    ``every_range`` is ``"LOW..HIGH"`` in days (default 1..182); the other arguments are those of
    :func:`find_dose`.

    >>> t = parse_target("trough:sil6r_occupancy", at_least=0.9)
    >>> res = find_interval(t, "sarilumab", dose="200 mg", route="sc", every_range="7..56", rtol=0.05)
    >>> 14 <= res.value < 56, res.answer.startswith("every = ")
    (True, True)
    """
    frac = _check_fraction(fraction, population)
    lo, hi = _range(every_range, (1.0, 182.0), "d", "every")
    _check_rtol(rtol)
    q = _question(target, drug, route=route, infusion=infusion, scenario=scenario, model=model, weight=weight,
                  step=step, population=population, patients=patients, progress=progress)

    def evaluate(points: list[float], days: float) -> dict[float, np.ndarray]:
        got = q.readouts([(dose, x * 24.0) for x in points], days)
        return {x: got[(dose, x * 24.0)] for x in points}

    answer, achieved, table, notes, days = _search(q, _geometric(lo, hi), False, evaluate, frac, rtol, "every_d", "d")
    regimen = {"drug": drug, "dose": dose}
    if route:
        regimen["route"] = route
    return TargetResult("every", answer, "d", target, regimen, q.scenario, q.patients, frac, achieved, days,
                        tuple(table), tuple(notes))


def _check_rtol(rtol: float) -> None:
    if not (0 < rtol < 1):
        raise Il6simError(f"rtol must be in (0, 1), got {rtol}")
