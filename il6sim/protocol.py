"""Protocols: what happens at fixed times (doses, stimuli, parameter changes, infusions).

Dosing belongs to the protocol, not to the chemistry: the solver splits integration at event
times and applies events between pieces. Everything here is in core units (h, nM, nM/h); the
unit-aware builders (drug doses in mg, scenario files) convert before they get here.

An output at the time of an event shows the state *after* the event; an event at t = 0 is applied
once, before the first output. A time given twice in the output times (``t_eval`` of
:func:`il6sim.simulate`, ``t_out`` of :func:`il6sim.batch.run_batch`) shows at its first occurrence
the state just *before* the events at that time (the left limit: a trough before a dose) and at the
second the state after them; where nothing happens at that time both are equal, and further
occurrences show the state after. Events after the last output time are not applied (``simulate``
refuses them unless ``events_beyond_end="ignore"``); events at the last output time are. At equal
times, parameter changes come first, then doses, then infusions (:meth:`Protocol.sorted_events`).
Both solver backends and batches follow these rules through one lowering,
:func:`il6sim.lowering.lower_protocol`.

>>> p = Protocol((AddConcentration(24.0, "a", 1.5), SetParameter(48.0, "k", 0.0)))
>>> [e.time_h for e in p.sorted_events()]
[24.0, 48.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any, Union

from .errors import ProtocolError

__all__ = ["AddConcentration", "Event", "Infusion", "Protocol", "ScaleParameter", "SetParameter"]


def _check_time(t: float, what: str) -> None:
    if not isinstance(t, (int, float)) or isinstance(t, bool) or not math.isfinite(t):
        raise ProtocolError(f"{what}: time must be a finite number of hours, got {t!r}")
    if t < 0:
        raise ProtocolError(f"{what}: time must not be negative, got {t:g} h")


@dataclass(frozen=True)
class AddConcentration:
    """Add ``delta_nM`` to species ``species`` at ``time_h`` (a bolus)."""

    time_h: float
    species: str
    delta_nM: float
    label: str = ""

    def __post_init__(self) -> None:
        _check_time(self.time_h, f"dose of {self.species}")
        if not math.isfinite(self.delta_nM) or self.delta_nM < 0:
            raise ProtocolError(f"dose of {self.species}: amount must be finite and >= 0, got {self.delta_nM!r}")


@dataclass(frozen=True)
class SetParameter:
    """Set parameter ``name`` to ``value`` (core units) from ``time_h`` on."""

    time_h: float
    name: str
    value: float
    label: str = ""

    def __post_init__(self) -> None:
        _check_time(self.time_h, f"setting {self.name}")
        if not math.isfinite(self.value) or self.value < 0:
            raise ProtocolError(f"setting {self.name}: value must be finite and >= 0, got {self.value!r}")


@dataclass(frozen=True)
class ScaleParameter:
    """Multiply parameter ``name`` by ``factor`` from ``time_h`` on (relative to its value then)."""

    time_h: float
    name: str
    factor: float
    label: str = ""

    def __post_init__(self) -> None:
        _check_time(self.time_h, f"scaling {self.name}")
        if not math.isfinite(self.factor) or self.factor < 0:
            raise ProtocolError(f"scaling {self.name}: factor must be finite and >= 0, got {self.factor!r}")


@dataclass(frozen=True)
class Infusion:
    """Zero-order input of ``rate_nM_per_h`` into ``species`` over ``[start_h, stop_h)``."""

    start_h: float
    stop_h: float
    species: str
    rate_nM_per_h: float
    label: str = ""

    def __post_init__(self) -> None:
        _check_time(self.start_h, f"infusion of {self.species}")
        _check_time(self.stop_h, f"infusion of {self.species}")
        if not self.stop_h > self.start_h:
            raise ProtocolError(f"infusion of {self.species}: stop ({self.stop_h:g} h) must be after start ({self.start_h:g} h)")
        if not math.isfinite(self.rate_nM_per_h) or self.rate_nM_per_h < 0:
            raise ProtocolError(f"infusion of {self.species}: rate must be finite and >= 0")

    @property
    def time_h(self) -> float:
        return self.start_h


Event = Union[AddConcentration, SetParameter, ScaleParameter, Infusion]


@dataclass(frozen=True)
class Protocol:
    """An immutable collection of events; combine protocols with ``+``."""

    events: tuple[Event, ...] = ()

    def __add__(self, other: Protocol) -> Protocol:
        return Protocol(self.events + other.events)

    @classmethod
    def of(cls, events: Iterable[Event]) -> Protocol:
        return cls(tuple(events))

    def shifted(self, dt_h: float) -> Protocol:
        """The same events ``dt_h`` hours later (``dt_h`` >= 0).

        >>> Protocol((Infusion(0.0, 2.0, "x", 1.0),)).shifted(24.0).change_times()
        [24.0, 26.0]
        """
        if not (math.isfinite(dt_h) and dt_h >= 0):
            raise ProtocolError(f"a protocol can only be shifted later in time, by a finite dt >= 0 h, got {dt_h!r}")
        out: list[Event] = []
        for e in self.events:
            if isinstance(e, Infusion):
                out.append(replace(e, start_h=e.start_h + dt_h, stop_h=e.stop_h + dt_h))
            else:
                out.append(replace(e, time_h=e.time_h + dt_h))
        return Protocol(tuple(out))

    def sorted_events(self) -> list[Event]:
        """Events by time; at equal times parameter changes, then doses, then infusions (stable)."""
        order = {SetParameter: 0, ScaleParameter: 0, AddConcentration: 1, Infusion: 2}
        return sorted(self.events, key=lambda e: (e.time_h, order[type(e)]))

    def change_times(self) -> list[float]:
        """Every time at which the integration must be split."""
        times: set[float] = set()
        for e in self.events:
            times.add(e.time_h)
            if isinstance(e, Infusion):
                times.add(e.stop_h)
        return sorted(times)

    def last_time(self) -> float:
        return max(self.change_times(), default=0.0)

    def to_dicts(self) -> list[dict[str, Any]]:
        """JSON-able description for provenance."""
        return [{"type": type(e).__name__, **asdict(e)} for e in self.sorted_events()]

    @classmethod
    def from_dicts(cls, items: Iterable[dict[str, Any]]) -> Protocol:
        kinds = {c.__name__: c for c in (AddConcentration, SetParameter, ScaleParameter, Infusion)}
        events = []
        for item in items:
            item = dict(item)
            kind = kinds.get(item.pop("type", ""))
            if kind is None:
                raise ProtocolError(f"unknown event type in {item!r}")
            events.append(kind(**item))
        return cls(tuple(events))
