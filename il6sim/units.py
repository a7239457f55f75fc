"""Units at the boundary: parse ``"2 pg/ml"``, check dimensions, convert to core units.

Core units are nmol, litre, hour, gram and cell; so concentrations are in nM, first-order rate
constants in 1/h and second-order ones in 1/(nM·h). A quantity is a value in core units plus a
dimension vector over (amount, volume, time, mass, cell). Mass and amount are linked only through a
molecular weight, which the caller supplies (:func:`convert`).

>>> q = parse_quantity("0.384 1/(nM*h)")
>>> round(q.value, 6), format_dims(q.dims)
(0.384, '1/(nM*h)')
>>> round(convert(parse_quantity("2 pg/ml"), CONCENTRATION, mw=parse_quantity("21 kDa")), 9)
9.5238e-05
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .errors import UnitError

__all__ = [
    "AMOUNT",
    "AVOGADRO",
    "CONCENTRATION",
    "DIMENSIONLESS",
    "MASS",
    "MOLAR_MASS",
    "TIME",
    "VOLUME",
    "Dims",
    "Quantity",
    "convert",
    "format_dims",
    "parse_quantity",
    "parse_time",
    "parse_unit",
    "rate_constant_dims",
]

AVOGADRO = 6.02214076e23

Dims = tuple[float, float, float, float, float]  # amount, volume, time, mass, cell

DIMENSIONLESS: Dims = (0, 0, 0, 0, 0)
AMOUNT: Dims = (1, 0, 0, 0, 0)
VOLUME: Dims = (0, 1, 0, 0, 0)
TIME: Dims = (0, 0, 1, 0, 0)
MASS: Dims = (0, 0, 0, 1, 0)
CONCENTRATION: Dims = (1, -1, 0, 0, 0)
MOLAR_MASS: Dims = (-1, 0, 0, 1, 0)

_NMOL_PER_MOL = 1e9


def _u(factor: float, amount: float = 0, volume: float = 0, time: float = 0, mass: float = 0,
       cell: float = 0) -> tuple[float, Dims]:
    return factor, (amount, volume, time, mass, cell)


# Each token: factor to core units (nmol, l, h, g, cell) and its dimensions.
_TOKENS: dict[str, tuple[float, Dims]] = {
    "1": _u(1.0),
    "%": _u(0.01),
    # amount
    "mol": _u(1e9, amount=1), "mmol": _u(1e6, amount=1), "umol": _u(1e3, amount=1),
    "µmol": _u(1e3, amount=1), "μmol": _u(1e3, amount=1), "nmol": _u(1.0, amount=1),
    "pmol": _u(1e-3, amount=1), "fmol": _u(1e-6, amount=1),
    "molecule": _u(_NMOL_PER_MOL / AVOGADRO, amount=1),
    "molecules": _u(_NMOL_PER_MOL / AVOGADRO, amount=1),
    # molar concentration
    "M": _u(1e9, amount=1, volume=-1), "mM": _u(1e6, amount=1, volume=-1),
    "uM": _u(1e3, amount=1, volume=-1), "µM": _u(1e3, amount=1, volume=-1),
    "μM": _u(1e3, amount=1, volume=-1), "nM": _u(1.0, amount=1, volume=-1),
    "pM": _u(1e-3, amount=1, volume=-1), "fM": _u(1e-6, amount=1, volume=-1),
    # mass
    "kg": _u(1e3, mass=1), "g": _u(1.0, mass=1), "mg": _u(1e-3, mass=1), "ug": _u(1e-6, mass=1),
    "µg": _u(1e-6, mass=1), "μg": _u(1e-6, mass=1), "mcg": _u(1e-6, mass=1),
    "ng": _u(1e-9, mass=1), "pg": _u(1e-12, mass=1), "fg": _u(1e-15, mass=1),
    # molar mass: 1 Da = 1 g/mol = 1e-9 g/nmol
    "Da": _u(1e-9, amount=-1, mass=1), "kDa": _u(1e-6, amount=-1, mass=1),
    # volume
    "l": _u(1.0, volume=1), "L": _u(1.0, volume=1), "dl": _u(0.1, volume=1),
    "dL": _u(0.1, volume=1), "ml": _u(1e-3, volume=1), "mL": _u(1e-3, volume=1),
    "ul": _u(1e-6, volume=1), "uL": _u(1e-6, volume=1), "µl": _u(1e-6, volume=1),
    "µL": _u(1e-6, volume=1), "μl": _u(1e-6, volume=1), "μL": _u(1e-6, volume=1),
    # time
    "s": _u(1 / 3600, time=1), "sec": _u(1 / 3600, time=1), "min": _u(1 / 60, time=1),
    "h": _u(1.0, time=1), "hr": _u(1.0, time=1), "hour": _u(1.0, time=1),
    "hours": _u(1.0, time=1), "d": _u(24.0, time=1), "day": _u(24.0, time=1),
    "days": _u(24.0, time=1), "wk": _u(168.0, time=1), "week": _u(168.0, time=1),
    "weeks": _u(168.0, time=1),
    # cells
    "cell": _u(1.0, cell=1), "cells": _u(1.0, cell=1),
}

_NAMED_DIMS: dict[Dims, str] = {
    DIMENSIONLESS: "dimensionless",
    AMOUNT: "amount",
    VOLUME: "volume",
    TIME: "time",
    MASS: "mass",
    CONCENTRATION: "concentration",
    MOLAR_MASS: "molar mass",
}

MAX_UNIT_LENGTH = 200  # a unit longer than this is not a unit; refuse it before parsing
MAX_BRACKET_DEPTH = 10
MAX_EXPONENT = 10


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "..."


_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan)\s*", re.I)
_TOKEN = re.compile(r"\s*(\(|\)|\*|·|/|\^|[-+]?\d+(?:\.\d+)?|[A-Za-zµμ%]+)")


@dataclass(frozen=True)
class Quantity:
    """A value in core units (nmol, l, h, g, cell) with its dimension vector."""

    value: float
    dims: Dims

    def __str__(self) -> str:
        unit = format_dims(self.dims)
        return f"{self.value:g}" if unit == "1" else f"{self.value:g} {unit}"


def _tokenize(text: str) -> list[str]:
    tokens = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise UnitError(f"unit '{text}' not understood at '{text[pos:]}'")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


class _UnitParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise UnitError(f"unit '{self.text}' ends too early")
        self.pos += 1
        return tok

    def parse(self) -> tuple[float, Dims]:
        result = self.expr()
        if self.peek() is not None:
            raise UnitError(f"unit '{self.text}' not understood at '{self.peek()}'")
        return result

    def expr(self) -> tuple[float, Dims]:
        factor, dims = self.power()
        while True:
            tok = self.peek()
            if tok in ("*", "·"):
                self.take()
                f2, d2 = self.power()
                factor, dims = factor * f2, _add(dims, d2)
            elif tok == "/":
                self.take()
                f2, d2 = self.power()
                factor, dims = factor / f2, _add(dims, d2, -1)
            elif tok is not None and tok != ")":
                f2, d2 = self.power()  # juxtaposition multiplies: "nM^-1 h^-1"
                factor, dims = factor * f2, _add(dims, d2)
            else:
                return factor, dims

    def power(self) -> tuple[float, Dims]:
        factor, dims = self.atom()
        if self.peek() == "^":
            self.take()
            tok = self.take()
            if not re.fullmatch(r"[-+]?\d+(?:\.\d+)?", tok):
                raise UnitError(f"unit '{self.text}': exponent '{tok}' is not a number")
            exponent = float(tok)
            if abs(exponent) > MAX_EXPONENT:
                raise UnitError(f"unit '{self.text}': exponent {tok} is out of range "
                                f"(use powers between -{MAX_EXPONENT} and {MAX_EXPONENT})")
            try:
                factor = factor**exponent
            except OverflowError:
                raise UnitError(f"unit '{self.text}': the power overflows; simplify the unit") from None
            dims = tuple(d * exponent for d in dims)  # type: ignore[assignment]
        return factor, dims

    def atom(self) -> tuple[float, Dims]:
        tok = self.take()
        if tok == "(":
            self.depth += 1
            if self.depth > MAX_BRACKET_DEPTH:
                raise UnitError(f"unit '{_short(self.text)}': brackets nested more than {MAX_BRACKET_DEPTH} deep")
            inner = self.expr()
            if self.take() != ")":
                raise UnitError(f"unit '{self.text}': unbalanced brackets")
            self.depth -= 1
            return inner
        if tok in _TOKENS:
            return _TOKENS[tok]
        raise UnitError(f"unknown unit '{tok}' in '{self.text}'{_unit_hint(tok)}")


def _unit_hint(tok: str) -> str:
    import difflib

    close = difflib.get_close_matches(tok, list(_TOKENS), n=3, cutoff=0.5)
    return ("; did you mean " + ", ".join(f"'{c}'" for c in close) + "?") if close else ""


def _add(a: Dims, b: Dims, sign: float = 1) -> Dims:
    return tuple(x + sign * y for x, y in zip(a, b))  # type: ignore[return-value]


def parse_unit(text: str) -> tuple[float, Dims]:
    """Parse a unit expression; return (factor to core units, dimension vector).

    >>> parse_unit("ng/ml")[1] == (0, -1, 0, 1, 0)
    True
    """
    if not isinstance(text, str) or not text.strip():
        raise UnitError("empty unit")
    if len(text) > MAX_UNIT_LENGTH:
        raise UnitError(f"unit '{_short(text)}' is {len(text)} characters long; a unit has at most {MAX_UNIT_LENGTH}")
    return _UnitParser(text).parse()


def parse_quantity(text: str | float | int, unit: str | None = None) -> Quantity:
    """Parse ``"<number> <unit>"`` (or a number plus a separate unit) into core units.

    A bare number is dimensionless.

    >>> parse_quantity("3 d").value
    72.0
    >>> parse_quantity(5, "pg/ml").dims == (0, -1, 0, 1, 0)
    True
    """
    if isinstance(text, bool):
        raise UnitError(f"expected a number with a unit, got {text!r}")
    if isinstance(text, (int, float)):
        try:
            number, rest = float(text), (unit or "")
        except OverflowError:
            raise UnitError(f"number {str(text)[:12]}... is too large for a float") from None
    elif isinstance(text, str):
        m = _NUMBER.match(text)
        if not m:
            raise UnitError(f"'{text}' does not start with a number; write e.g. '5 pg/ml'")
        number, rest = float(m.group(1)), text[m.end():].strip()
        if unit is not None:
            if rest:
                raise UnitError(f"'{text}' has a unit and a separate unit '{unit}' is also given")
            rest = unit
    else:
        raise UnitError(f"expected a number with a unit, got {type(text).__name__} {text!r}")
    if not rest:
        return Quantity(number, DIMENSIONLESS)
    factor, dims = parse_unit(rest)
    return Quantity(number * factor, dims)


def convert(q: Quantity, target: Dims, *, mw: Quantity | float | None = None, what: str | None = None) -> float:
    """Return ``q`` in core units of dimension ``target``.

    Mass and amount are exchanged through ``mw`` (a molar-mass Quantity, or g/nmol as a float).
    """
    if _close(q.dims, target):
        return q.value
    what = what or f"'{q}'"
    diff = _add(target, q.dims, -1)
    k = diff[0]
    if k != 0 and math.isclose(diff[3], -k) and all(abs(x) < 1e-12 for x in (diff[1], diff[2], diff[4])):
        if mw is None:
            raise UnitError(
                f"{what} is a mass quantity; give the molecular weight (mw = \"21 kDa\") "
                f"or use {format_dims(target)}"
            )
        mw_value = mw if isinstance(mw, float) else convert(mw, MOLAR_MASS, what="mw")
        if not mw_value > 0:
            raise UnitError(f"molecular weight must be positive, got {mw}")
        return q.value * mw_value ** (-k)
    raise UnitError(
        f"{what} has dimension {describe_dims(q.dims)}, expected {describe_dims(target)} "
        f"(e.g. {format_dims(target)})"
    )


def _close(a: Dims, b: Dims) -> bool:
    return all(abs(x - y) < 1e-12 for x, y in zip(a, b))


def rate_constant_dims(order: float) -> Dims:
    """Dimension of a mass-action rate constant whose reactant orders add up to ``order``."""
    return (1 - order, -(1 - order), -1, 0, 0)


def describe_dims(dims: Dims) -> str:
    """Name a dimension vector: 'concentration', or the core unit that carries it."""
    for named, name in _NAMED_DIMS.items():
        if _close(dims, named):
            return name
    return format_dims(dims)


def format_dims(dims: Dims) -> str:
    """Write a dimension vector as a core unit string, e.g. ``1/(nM*h)`` or ``nM/h``."""
    amount, volume, time, mass, cell = dims
    # Express amount with volume as nM where possible.
    conc = 0.0
    if amount > 0 and volume < 0:
        conc = min(amount, -volume)
    elif amount < 0 and volume > 0:
        conc = max(amount, -volume)
    amount -= conc
    volume += conc
    num: list[str] = []
    den: list[str] = []
    for sym, exp in (("nM", conc), ("nmol", amount), ("l", volume), ("g", mass), ("cell", cell),
                     ("h", time)):
        if abs(exp) < 1e-12:
            continue
        e = abs(exp)
        part = sym if abs(e - 1) < 1e-12 else f"{sym}^{e:g}"
        (num if exp > 0 else den).append(part)
    top = "*".join(num) if num else "1"
    if not den:
        return top
    bottom = den[0] if len(den) == 1 else "(" + "*".join(den) + ")"
    return f"{top}/{bottom}"


def parse_time(value: Any, default_unit: str = "h") -> float:
    """A time in hours from ``"12h"``, ``"3 d"`` or a bare number in ``default_unit``; must be >= 0.

    >>> parse_time("3d"), parse_time(2, "d"), parse_time("90 min")
    (72.0, 48.0, 1.5)
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UnitError(f"time must be a number with a unit such as '12h' or '3d', got {value!r}")
    q = parse_quantity(value)
    if q.dims == (0, 0, 0, 0, 0):
        q = parse_quantity(q.value, default_unit)
    hours = convert(q, TIME, what="time")
    if not math.isfinite(hours):
        raise UnitError(f"time must be finite, got {value!r}")
    if hours < 0:
        raise UnitError(f"time must not be negative, got {value!r}")
    return hours
