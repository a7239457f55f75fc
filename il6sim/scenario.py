"""Scenario files: a protocol of stimuli over a model's steady state (``models/scenarios/*.toml``).

A scenario sets parameters from t = 0, and lists events (parameter changes, additions to species)
and infusions at fixed times. Values carry units and are converted with the network's parameter
units, species molecular weights and compartment volumes. The format is in
``models/scenarios/README.md``.

>>> from il6sim.shipped import load_model
>>> sc = load_scenario("healthy", load_model("il6"))
>>> sc.name
'healthy'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelFileError, UnitError, suggest
from .network import Network
from .protocol import AddConcentration, Event, Infusion, Protocol, SetParameter
from .shipped import resolve
from .tomlsource import TomlSource, check_keys, read_toml
from .units import (
    CONCENTRATION,
    Dims,
    Quantity,
    convert,
    convert_parameter,
    parse_quantity,
    parse_time,
    parse_unit,
)

__all__ = ["Scenario", "convert_parameter_value", "load_scenario", "parse_scenario", "then"]


@dataclass(frozen=True)
class Scenario:
    """Parameter overrides (core units) and a protocol, with a default duration in hours."""

    name: str
    description: str = ""
    duration_h: float = 28 * 24.0
    parameters: Mapping[str, float] = field(default_factory=dict)
    protocol: Protocol = Protocol()
    source: str = ""
    path: str = ""
    admission_h: float = 0.0
    start: str = "healthy"  # "healthy": runs start from the model's own steady state; "disease": at these parameters


def parameter_dims(network: Network, pid: str) -> Dims:
    """Dimension vector of a parameter, from the core unit stored with it."""
    unit = network.get_parameter(pid).unit
    return parse_unit(unit)[1] if unit and unit != "1" else (0, 0, 0, 0, 0)


def convert_parameter_value(network: Network, pid: str, value: str | float) -> float:
    """Convert a user value (``"0.5 1/h"``, or a bare number in core units) for parameter ``pid``.

    The rules are :func:`il6sim.units.convert_parameter`'s (the model layer calls it directly): a
    unit must have the parameter's dimension; ``mg/kg`` and other cancelling units are refused.

    >>> from il6sim.network import _tiny
    >>> convert_parameter_value(_tiny(), "k", "1 1/min")
    60.0
    """
    return convert_parameter(pid, network.get_parameter(pid).unit, value)


def _concentration(network: Network, sid: str, q: Quantity) -> float:
    sp = network.get_species(sid)
    return convert(q, CONCENTRATION, mw=sp.mw_g_per_nmol, what=f"amount added to {sid}")


def _rate(network: Network, sid: str, q: Quantity) -> float:
    """An input rate as nM/h: concentration/time, amount/time or mass/time (per compartment volume)."""
    sp = network.get_species(sid)
    volume = network.get_compartment(sp.compartment).volume_l
    per_conc: Dims = (1, -1, -1, 0, 0)
    if q.dims[1] == 0:  # amount or mass per time → divide by the volume
        q = Quantity(q.value / volume, (q.dims[0], q.dims[1] - 1, q.dims[2], q.dims[3], q.dims[4]))
    return convert(q, per_conc, mw=sp.mw_g_per_nmol, what=f"infusion rate into {sid}")


def load_scenario(name_or_path: str | Path, network: Network) -> Scenario:
    """Load a shipped scenario by name or a scenario file by path, checked against ``network``.

    ``"FIRST+SECOND@TIME"`` composes two scenarios (:func:`then`): ``FIRST`` from t = 0 (a chronic
    disease such as ``ra``), and ``SECOND`` (an infection) starting at ``TIME`` (bare numbers are
    days); the composition may itself be a ``FIRST``.

    >>> from il6sim.shipped import load_model
    >>> sc = load_scenario("ra+covid_severe@100d", load_model("il6"))
    >>> sc.name, sc.duration_h / 24, round(sc.admission_h / 24, 3), sc.start
    ('ra+covid_severe@100d', 145.0, 115.8, 'disease')
    """
    text = str(name_or_path)
    composed = _COMPOSED.fullmatch(text)
    if composed and not isinstance(name_or_path, Path) and not Path(text).is_file():
        first, second, at = composed.group("first", "second", "at")
        try:
            at_h = parse_time(at.strip(), "d")
        except UnitError:
            raise UnitError(f"scenario '{text}': the start of the second scenario, after '@', must be a time "
                            f"such as 100d, got '{at.strip()}'") from None
        return then(load_scenario(first.strip(), network), load_scenario(second.strip(), network), at_h, network)
    return parse_scenario(read_toml(resolve(name_or_path, "scenarios")), network)


_COMPOSED = re.compile(r"(?P<first>.+)\+(?P<second>[^+@]+)@(?P<at>[^+@]+)")


def then(first: Scenario, second: Scenario, at_h: float, network: Network) -> Scenario:
    """``first`` from t = 0, and ``second`` starting at ``at_h`` on top of it (one scenario).

    The composition keeps ``first``'s parameters, start (``disease``: runs start from its own
    steady state) and events; ``second``'s events move ``at_h`` later, and each of its parameter
    settings becomes an event at ``at_h`` (so a chronic disease's settings hold until the second
    scenario sets them). Its duration is ``at_h`` plus ``second``'s, its admission ``at_h`` plus
    ``second``'s: drugs given "at admission" (``compare``) enter the second scenario's admission.
    ``second``'s own ``start`` is ignored. Spelled ``"ra+covid_severe@100d"`` wherever a scenario
    name is accepted (``load_scenario``, ``--scenario``, sweep files).

    >>> from il6sim.shipped import load_model
    >>> net = load_model("il6")
    >>> sc = then(load_scenario("ra", net), load_scenario("covid_severe_fixed", net), 24.0 * 100, net)
    >>> [round(t / 24, 3) for t in sc.protocol.change_times()]  # its parameters, infusion start and stop
    [100.0, 105.0, 113.0]
    """
    if not (math.isfinite(at_h) and at_h >= 0):
        raise UnitError(f"scenario {second.name}: its start must be a finite time >= 0, got {at_h!r} h")
    events = list(first.protocol.events) + list(second.protocol.shifted(at_h).events)
    for pid, value in second.parameters.items():  # always, even when equal: first may have changed it by then
        events.append(SetParameter(at_h, pid, value, label=second.name))
    name = f"{first.name}+{second.name}@{at_h / 24:g}d"
    description = (f"{first.name} from t = 0 ({first.description.split('.')[0]}), then {second.name} from day "
                   f"{at_h / 24:g} ({second.description.split('.')[0]})")
    return Scenario(name, description, at_h + second.duration_h, dict(first.parameters), Protocol(tuple(events)),
                    f"{first.name}: {first.source} | {second.name}: {second.source}", first.path,
                    at_h + second.admission_h, first.start)


def parse_scenario(src: TomlSource, network: Network) -> Scenario:
    data = src.data
    check_keys(src, (), data, ("scenario", "parameters", "events", "infusions"))
    head = data.get("scenario", {})
    if not isinstance(head, dict):
        raise src.error((), "scenario", "must be a table")
    check_keys(src, ("scenario",), head, ("name", "description", "days", "admission", "source", "notes",
                                                   "start"))
    for key in ("name", "description", "source", "notes"):
        if key in head and not isinstance(head[key], str):
            raise src.error(("scenario",), key, f"must be a string, got {type(head[key]).__name__}")
    name = str(head.get("name", Path(src.path).stem))
    duration = 28 * 24.0
    if "days" in head:
        duration = _time(src, ("scenario",), head, "days", default_unit="d")
        if duration <= 0:
            raise src.error(("scenario",), "days", "must be positive")

    start_mode = head.get("start", "healthy")
    if start_mode not in ("healthy", "disease"):
        raise src.error(("scenario",), "start", f"must be \"healthy\" (the model's steady state) or \"disease\" "
                        f"(the steady state at this scenario's parameters), got {start_mode!r}")
    admission = _time(src, ("scenario",), head, "admission", default_unit="d") if "admission" in head else 0.0
    if admission >= duration:
        raise src.error(("scenario",), "admission", "must fall inside the scenario's duration (days)")

    params: dict[str, float] = {}
    raw_params = data.get("parameters", {})
    if not isinstance(raw_params, dict):
        raise src.error((), "parameters", "must be a table of name = \"value unit\"")
    for pid, value in raw_params.items():
        params[pid] = _param(src, ("parameters",), pid, value, network)

    events: list[Event] = []
    raw_events = data.get("events", [])
    if not isinstance(raw_events, list):
        raise src.error((), "events", "must be an array of tables: write each as [[events]]")
    for i, ev in enumerate(raw_events):
        where: tuple[str | int, ...] = ("events", i)
        if not isinstance(ev, dict):
            raise src.error(where, None, "must be a table")
        check_keys(src, where, ev, ("at", "set", "add", "note"))
        at = _time(src, where, ev, "at", default_unit="h")
        if "set" not in ev and "add" not in ev:
            raise src.error(where, None, "an event needs 'set' and/or 'add'")
        for pid, value in _subtable(src, where, ev, "set").items():
            events.append(SetParameter(at, pid, _param(src, where, pid, value, network, key="set")))
        for sid, value in _subtable(src, where, ev, "add").items():
            if sid not in network.species_ids:
                raise src.error(where, "add", f"unknown species '{sid}'{suggest(sid, network.species_ids)}")
            try:
                delta = _concentration(network, sid, parse_quantity(value))
            except UnitError as exc:
                raise src.error(where, "add", str(exc)) from None
            if not (math.isfinite(delta) and delta >= 0):
                raise src.error(where, "add", f"amount for '{sid}' must be finite and >= 0")
            events.append(AddConcentration(at, sid, delta))

    raw_inf = data.get("infusions", [])
    if not isinstance(raw_inf, list):
        raise src.error((), "infusions", "must be an array of tables: write each as [[infusions]]")
    for i, inf in enumerate(raw_inf):
        where = ("infusions", i)
        if not isinstance(inf, dict):
            raise src.error(where, None, "must be a table")
        check_keys(src, where, inf, ("species", "start", "stop", "rate", "note"))
        raw_sid = inf.get("species")
        if not isinstance(raw_sid, str) or raw_sid not in network.species_ids:
            raise src.error(where, "species", f"unknown species '{raw_sid}'{suggest(str(raw_sid), network.species_ids)}")
        sid = raw_sid
        start = _time(src, where, inf, "start", default_unit="h")
        stop = _time(src, where, inf, "stop", default_unit="h")
        if stop <= start:
            raise src.error(where, "stop", "must be after start")
        try:
            rate = _rate(network, sid, parse_quantity(inf.get("rate", "")))
        except UnitError as exc:
            raise src.error(where, "rate", str(exc)) from None
        if not (math.isfinite(rate) and rate >= 0):
            raise src.error(where, "rate", "must be finite and >= 0")
        events.append(Infusion(start, stop, sid, rate))
    return Scenario(name, str(head.get("description", "")), duration, params, Protocol(tuple(events)),
                    str(head.get("source", "")), src.path, admission, start_mode)


def _subtable(src: TomlSource, where: tuple[str | int, ...], entry: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = entry.get(key, {})
    if not isinstance(value, dict):
        raise src.error(where, key, "must be a table like { name = \"value unit\" }")
    return value


def _param(src: TomlSource, where: tuple[str | int, ...], pid: str, value: Any, network: Network,
           key: str | None = None) -> float:
    if pid not in network.parameter_ids:
        raise src.error(where, key or pid, f"unknown parameter '{pid}'{suggest(pid, network.parameter_ids)}")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise src.error(where, key or pid, f"value for '{pid}' must be a number with its unit")
    try:
        return convert_parameter_value(network, pid, value)
    except UnitError as exc:
        raise src.error(where, key or pid, str(exc)) from None


def _time(src: TomlSource, where: tuple[str | int, ...], entry: Mapping[str, Any], key: str, default_unit: str) -> float:
    if key not in entry:
        raise src.error(where, key, "missing")
    try:
        t = parse_time(entry[key], default_unit)
    except (UnitError, ModelFileError) as exc:
        raise src.error(where, key, str(exc)) from None
    return t

