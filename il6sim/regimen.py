"""A run: a model with its drugs, a scenario and dosing, ready to simulate.

``build_run`` gathers what the command line (or a regimen file) asks for: it loads each drug, adds
it to the model, turns doses into protocol events, joins them with the scenario's protocol and
checks that every dose falls inside the simulated time.

Regimen files (TOML) hold anything longer than a few options::

    [regimen]
    weight = "80 kg"
    [[doses]]
    drug = "tocilizumab"
    dose = "8 mg/kg"
    route = "iv"
    infusion = "1 h"
    at = "1 d"
    every = "28 d"
    count = 3

>>> from il6sim.shipped import load_model
>>> run = build_run(load_model("il6"), drug_groups=[{"drug": "tocilizumab", "dose": "8mg/kg", "at": "1d"}])
>>> [type(e).__name__ for e in run.protocol.events]
['Infusion']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .drugs import (
    DEFAULT_WEIGHT_KG,
    MAX_DOSES,
    Dose,
    Drug,
    add_drug,
    dose_protocol,
    load_drug,
    parse_dose,
    standard_dose,
)
from .errors import Il6simError, ModelFileError, ProtocolError, SolverError, UnitError
from .network import Network
from .protocol import Protocol
from .results import Result
from .scenario import Scenario, load_scenario
from .tomlsource import TomlSource, check_keys, read_toml
from .units import MASS, cancelled_ratio, convert, parse_quantity, parse_time

__all__ = ["Run", "admission_of", "build_run", "parse_dose_time", "parse_regimen", "parse_weight"]

_ORIGIN = "_origin"  # key of a regimen-file dose group holding (source, index), for error locations


@dataclass(frozen=True)
class Run:
    """A network (drugs added), parameter overrides and a protocol over ``duration_h`` hours."""

    network: Network
    parameters: Mapping[str, float] = field(default_factory=dict)
    protocol: Protocol = Protocol()
    duration_h: float = 28 * 24.0
    drugs: tuple[Drug, ...] = ()
    doses: tuple[Dose, ...] = ()
    scenario: Scenario | None = None
    weight_kg: float = DEFAULT_WEIGHT_KG

    def simulate(self, t_eval: Sequence[float] | np.ndarray, *, start: str = "steady", **options: Any) -> Result:
        """Simulate from the drug-free steady state (``start="steady"``) or the file's values.

        The steady state is the model's own, or, for a scenario whose file says ``start = "disease"``
        (chronic disease such as ``ra``), the one at the scenario's parameters.
        """
        from .solve import simulate, steady_state

        initial = None
        try:
            if start == "steady":
                disease = self.scenario is not None and self.scenario.start == "disease"
                ss = steady_state(self.network, parameters=dict(self.parameters) if disease else None)
                if not ss.converged and not np.isfinite(ss.residual):
                    raise SolverError(f"the steady state failed on non-finite numbers (residual {ss.residual}); "
                                      "check extreme parameter values (--set, scenario, drug files)")
                if not ss.converged:
                    raise Il6simError(f"model '{self.network.name}' has no steady state to start from "
                                      f"(residual {ss.residual:.1e}); use --start file")
                initial = ss
            return simulate(self.network, t_eval, parameters=dict(self.parameters), protocol=self.protocol,
                            initial=initial, events_beyond_end="ignore", **options)
        except Il6simError:
            raise
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:  # NaN/inf reached the solver
            what = "steady state" if initial is None and start == "steady" else "integration"
            raise SolverError(f"the {what} failed on non-finite numbers ({exc}); check extreme parameter values "
                              "(--set, scenario, drug files) and the tolerances") from None


def parse_weight(text: str | float) -> float:
    """Body weight in kg from ``"80kg"``, ``"80 kg"`` or a bare number of kg.

    Any unit must be a mass: ``"80 %"`` or ``"80 mg/kg"`` is refused, not read as kg.
    """
    try:
        q = parse_quantity(text if not isinstance(text, (int, float)) else float(text), None, allow_ratio=True)
        kind = cancelled_ratio(q.unit)
        if kind is not None:
            raise UnitError(f"weight '{text}': '{q.unit}' is {kind}, not a body weight; write e.g. '80 kg'")
        kg = q.value if not q.unit else convert(q, MASS, what=f"weight '{text}'") / 1e3
    except UnitError as exc:
        raise UnitError(f"--weight: {exc}") from None
    if not (1.0 <= kg <= 500.0):
        raise UnitError(f"--weight {text}: body weight must be between 1 and 500 kg")
    return kg


def _admission_offset(value: Any) -> float | None:
    """Hours after admission for ``"admission"``, ``"admission+4d"`` or ``"admission-12h"``; else None."""
    if not isinstance(value, str) or not value.strip().lower().startswith("admission"):
        return None
    rest = value.strip()[len("admission"):].strip()
    if not rest:
        return 0.0
    if rest[0] not in "+-":
        raise UnitError(f"time '{value}': write 'admission', 'admission+4d' or 'admission-12h'")
    offset = parse_time(rest[1:].strip(), "d")
    return offset if rest[0] == "+" else -offset


def admission_of(scenario: Scenario | None) -> float | None:
    """The scenario's admission time in hours, or None where it has none (no scenario, or admission 0)."""
    return scenario.admission_h if scenario is not None and scenario.admission_h > 0 else None


def parse_dose_time(value: Any, admission_h: float | None, default_unit: str = "h") -> float:
    """A dosing time in hours: a time (``"7d"``) or one relative to the scenario's admission.

    ``"admission"``, ``"admission+4d"`` and ``"admission-12h"`` need a scenario with an admission
    time (``admission_h``); the result must not be negative.

    >>> parse_dose_time("admission+4d", 24.0 * 15), parse_dose_time("2d", None)
    (456.0, 48.0)
    """
    offset = _admission_offset(value)
    if offset is None:
        return parse_time(value, default_unit)
    if admission_h is None:
        raise UnitError(f"time '{value}' is relative to admission, but no scenario gives one; add --scenario "
                        "(one with an admission time) or give the time itself, e.g. '7d'")
    at = admission_h + offset
    if at < 0:
        raise UnitError(f"time '{value}' falls before t = 0 (admission is at {admission_h / 24:g} d)")
    return at


def _dose_from_group(group: Mapping[str, Any], drug: Drug, admission_h: float | None = None) -> Dose:
    base = standard_dose(drug) if drug.standard_dose.get("dose") else None
    try:
        at = parse_dose_time(group.get("at", 0.0), admission_h)
        every = parse_time(group["every"], "d") if "every" in group else (base.every_h if base and "dose" not in group else None)
        infusion = parse_time(group["infusion"], "h") if "infusion" in group else (
            base.infusion_h if base and "route" not in group else None)
    except UnitError as exc:
        raise UnitError(f"--drug {group['drug']}: {exc}") from None
    if every is not None and every <= 0:
        raise ProtocolError(f"--drug {group['drug']}: --every must be positive")
    if infusion is not None and infusion <= 0:
        raise ProtocolError(f"--drug {group['drug']}: --infusion must be positive")
    raw_count = group.get("count", base.count if base and "dose" not in group else 1)
    try:
        if isinstance(raw_count, bool) or (isinstance(raw_count, float) and not raw_count.is_integer()):
            raise ValueError
        count = int(raw_count.strip() if isinstance(raw_count, str) else raw_count)
    except (TypeError, ValueError, OverflowError):
        raise ProtocolError(f"--drug {group['drug']}: --count must be a whole number, got {raw_count!r}") from None
    if count < 1:
        raise ProtocolError(f"--drug {group['drug']}: --count must be at least 1, got {count}")
    if count > MAX_DOSES:
        raise ProtocolError(f"--drug {group['drug']}: --count must be at most {MAX_DOSES}, got {count}")
    _check_every_count(group, count)
    amount = group.get("dose", base.amount if base else None)
    if amount is None:
        raise ProtocolError(f"--drug {group['drug']}: give --dose (the drug file has no standard dose)")
    route = str(group.get("route", base.route if base else "iv")).lower()
    if route not in ("iv", "sc"):
        raise ProtocolError(f"--drug {group['drug']}: --route must be iv or sc, got '{route}'")
    if route == "sc":
        infusion = None
    return Dose(drug.id, str(amount), route, at, every, count, infusion)


def _check_every_count(group: Mapping[str, Any], count: int) -> None:
    """``--every`` and ``--count`` go together: one without the other would silently mean one dose.

    Only what the group itself gives counts: a drug's standard regimen brings its own interval and count.
    """
    name = group["drug"]
    if "every" in group and "count" not in group:
        raise ProtocolError(f"--drug {name}: --every {group['every']} without --count gives a single dose; "
                            "add --count N (doses in all, the first at --at)")
    if "count" in group and "every" not in group and count > 1:
        raise ProtocolError(f"--drug {name}: --count {group['count']} without --every; add --every TIME "
                            "(the interval between doses, e.g. --every 14d)")


def _regimen_groups(path: str | Path) -> tuple[list[dict[str, Any]], str | None]:
    return parse_regimen(read_toml(path))


def parse_regimen(src: TomlSource) -> tuple[list[dict[str, Any]], str | None]:
    """Check a parsed regimen file; return its dose groups (as ``--drug`` groups) and its weight, if any."""
    check_keys(src, (), src.data, ("regimen", "doses"))
    head = src.data.get("regimen", {})
    if not isinstance(head, dict):
        raise src.error((), "regimen", "must be a table")
    check_keys(src, ("regimen",), head, ("name", "weight", "description", "source"))
    doses = src.data.get("doses", [])
    if not isinstance(doses, list) or not doses:
        raise src.error((), "doses", "missing: a regimen needs [[doses]] tables")
    groups = []
    for i, d in enumerate(doses):
        where = ("doses", i)
        if not isinstance(d, dict):
            raise src.error(where, None, "must be a table")
        check_keys(src, where, d, ("drug", "dose", "route", "at", "every", "count", "infusion", "note"))
        if "drug" not in d:
            raise src.error(where, "drug", "missing: a shipped drug name or the path of a drug file")
        if not isinstance(d["drug"], str) or not d["drug"].strip():
            raise src.error(where, "drug", f"must be a drug name or path (a string), got {d['drug']!r}")
        if "dose" in d and (isinstance(d["dose"], bool) or not isinstance(d["dose"], (str, int, float))):
            raise src.error(where, "dose", f"must be a dose with its unit such as \"8 mg/kg\", got {d['dose']!r}")
        if "dose" in d:
            try:  # unit, sign and size; the drug's molecular weight and the body weight apply later
                parse_dose(d["dose"], 1.0, DEFAULT_WEIGHT_KG)
            except UnitError as exc:
                raise src.error(where, "dose", str(exc)) from None
        if "route" in d and d["route"] not in ("iv", "sc"):
            raise src.error(where, "route", f"must be \"iv\" or \"sc\", got {d['route']!r}")
        if "count" in d and (isinstance(d["count"], bool) or not isinstance(d["count"], int)
                             or not 1 <= d["count"] <= MAX_DOSES):
            raise src.error(where, "count", f"must be a whole number from 1 to {MAX_DOSES}, got {d['count']!r}")
        if "every" in d and "count" not in d:
            raise src.error(where, "every", "without count gives a single dose; add count = N (doses in all, "
                                            "the first at 'at') to this [[doses]] table")
        if "count" in d and d["count"] > 1 and "every" not in d:
            raise src.error(where, "count", f"count = {d['count']} without every; add every = \"14 d\" (the "
                                            "interval between doses) to this [[doses]] table")
        for key, unit in (("at", "h"), ("every", "d"), ("infusion", "h")):
            if key in d:
                try:
                    if key != "at" or _admission_offset(d[key]) is None:  # admission: checked with the scenario
                        parse_time(d[key], unit)
                except UnitError as exc:
                    raise src.error(where, key, str(exc)) from None
        group = {k: v for k, v in d.items() if k != "note"}
        group[_ORIGIN] = (src, i)
        groups.append(group)
    weight = head.get("weight")
    if weight is not None:
        if isinstance(weight, bool) or not isinstance(weight, (str, int, float)):
            raise src.error(("regimen",), "weight", f"must be a body weight such as \"80 kg\", got {weight!r}")
        try:
            parse_weight(weight)
        except UnitError as exc:
            raise src.error(("regimen",), "weight", str(exc)) from None
    return groups, None if weight is None else str(weight)


@contextmanager
def _located(group: Mapping[str, Any]) -> Iterator[None]:
    """Errors about a dose group from a regimen file name that file, line and [[doses]] table."""
    origin = group.get(_ORIGIN)
    try:
        yield
    except ModelFileError:  # already names its file (a drug file)
        raise
    except Il6simError as exc:
        if origin is None:
            raise
        src, i = origin
        raise src.error(("doses", i), None, str(exc)) from None


def build_run(
    network: Network,
    *,
    scenario: str | Path | None = None,
    drug_groups: Sequence[Mapping[str, Any]] = (),
    regimen: str | Path | None = None,
    weight: str | float = DEFAULT_WEIGHT_KG,
    duration_h: float | None = None,
) -> Run:
    """Assemble a :class:`Run` from a scenario, ``--drug`` groups and/or a regimen file."""
    groups = [dict(g) for g in drug_groups]
    if regimen is not None:
        extra, regimen_weight = _regimen_groups(regimen)
        groups += extra
        if regimen_weight is not None and weight == DEFAULT_WEIGHT_KG:
            weight = regimen_weight
    weight_kg = parse_weight(weight)
    drugs: dict[str, Drug] = {}
    net = network
    for g in groups:
        name = str(g["drug"])
        if name not in drugs:
            with _located(g):
                drug = load_drug(name)
                if any(d.id == drug.id for d in drugs.values()):
                    raise Il6simError(f"two drug files use the id '{drug.id}'; give each drug its own id")
                drugs[name] = drug
                net = add_drug(net, drug, weight_kg=weight_kg)
    sc = load_scenario(scenario, net) if scenario else None
    duration = duration_h if duration_h is not None else (sc.duration_h if sc else 28 * 24.0)
    protocol = sc.protocol if sc else Protocol()
    doses = []
    for g in groups:
        drug = drugs[str(g["drug"])]
        with _located(g):
            dose = _dose_from_group(g, drug, admission_of(sc))
            events = dose_protocol(net, drug, dose, weight_kg=weight_kg)
            last = dose.at_h + (dose.count - 1) * (dose.every_h or 0.0)
            if last >= duration:
                raise ProtocolError(
                    f"--drug {g['drug']}: a dose at {last / 24:g} d is outside the simulated time "
                    f"(0 to {duration / 24:g} d); use --days or move --at/--every/--count"
                )
        doses.append(dose)
        protocol = protocol + events
    return Run(net, dict(sc.parameters) if sc else {}, protocol, duration, tuple(drugs.values()), tuple(doses), sc,
               weight_kg)
