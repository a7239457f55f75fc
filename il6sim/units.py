"""Units at the boundary: parse ``"2 pg/ml"``, check dimensions, convert to core units.

Core units are nmol, litre, hour, gram and cell; so concentrations are in nM, first-order rate
constants in 1/h and second-order ones in 1/(nM·h). A quantity is a value in core units plus a
dimension vector over (amount, volume, time, mass, cell). Mass and amount are linked only through a
molecular weight, which the caller supplies (:func:`convert`).

A number without a unit is a pure number; callers read it in their own core unit (a time in hours,
a parameter in the unit it is stored in). A unit whose dimensions cancel although it names
dimensioned units, such as ``mg/kg`` (a dose per body weight) or ``nM/nM``, is *not* a pure number:
:func:`parse_quantity` refuses it unless the caller asks for it (``allow_ratio=True``) to say what it
expected instead. Only ``1`` and ``%`` are explicitly dimensionless units.

>>> q = parse_quantity("0.384 1/(nM*h)")
>>> round(q.value, 6), format_dims(q.dims)
(0.384, '1/(nM*h)')
>>> round(convert(parse_quantity("2 pg/ml"), CONCENTRATION, mw=parse_quantity("21 kDa")), 9)
9.5238e-05
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
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
    "cancelled_ratio",
    "convert",
    "convert_parameter",
    "describe_quantity",
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
    """A value in core units (nmol, l, h, g, cell) with its dimension vector.

    ``unit`` is the unit as the user wrote it (empty for a bare number); it does not take part in
    comparisons.
    """

    value: float
    dims: Dims
    unit: str = field(default="", compare=False)

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


def parse_quantity(text: str | float | int, unit: str | None = None, *, allow_ratio: bool = False) -> Quantity:
    """Parse ``"<number> <unit>"`` (or a number plus a separate unit) into core units.

    A bare number is dimensionless. A unit whose dimensions cancel (``mg/kg``, ``nM/nM``) is refused,
    as it is no pure number either, unless ``allow_ratio`` (then the caller must check
    :func:`cancelled_ratio` of ``.unit`` itself).

    >>> parse_quantity("3 d").value
    72.0
    >>> parse_quantity(5, "pg/ml").dims == (0, -1, 0, 1, 0)
    True
    >>> parse_quantity("2 mg/kg")
    Traceback (most recent call last):
    ...
    il6sim.errors.UnitError: '2 mg/kg': 'mg/kg' is a dose per body weight (mass per mass), not a pure number (its units cancel); give the value in the unit the quantity needs, or a bare number
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
    if not allow_ratio:
        kind = cancelled_ratio(rest)
        if kind is not None:
            raise UnitError(f"'{_short(str(text))}': '{_short(rest)}' is {kind}, not a pure number (its units cancel); "
                            "give the value in the unit the quantity needs, or a bare number")
    return Quantity(number * factor, dims, rest)


_DIM_WORDS = ("amount", "volume", "time", "mass", "cell count")


def cancelled_ratio(unit: str) -> str | None:
    """Say what a unit is whose dimensions cancel although it names dimensioned units.

    ``None`` for an empty unit, a unit with a dimension, and the explicitly dimensionless ``1`` and ``%``.

    >>> cancelled_ratio("mg/kg")
    'a dose per body weight (mass per mass)'
    >>> cancelled_ratio("nM/nM")
    'a ratio of like units (amount and volume cancel)'
    >>> cancelled_ratio("%") is None and cancelled_ratio("nM/h") is None
    True
    """
    if not isinstance(unit, str) or not unit.strip():
        return None
    _, dims = parse_unit(unit)
    if not _close(dims, DIMENSIONLESS):
        return None
    seen = [False] * len(_DIM_WORDS)
    for tok in _tokenize(unit):
        for i, d in enumerate(_TOKENS.get(tok, (1.0, DIMENSIONLESS))[1]):
            seen[i] = seen[i] or d != 0
    names = [w for w, s in zip(_DIM_WORDS, seen) if s]
    if not names:
        return None
    if names == ["mass"]:
        return "a dose per body weight (mass per mass)"
    return f"a ratio of like units ({' and '.join(names)} {'cancels' if len(names) == 1 else 'cancel'})"


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


_QUANTITY_WORDS: dict[Dims, str] = {
    DIMENSIONLESS: "a pure number",
    AMOUNT: "an amount",
    VOLUME: "a volume",
    TIME: "a time",
    MASS: "a mass",
    CONCENTRATION: "a concentration",
    MOLAR_MASS: "a molar mass",
    (0, -1, 0, 1, 0): "a mass concentration",
    (1, -1, -1, 0, 0): "a concentration per time",
    (0, -1, -1, 1, 0): "a mass concentration per time",
    (0, 0, -1, 0, 0): "a first-order rate (per time)",
    (-1, 1, -1, 0, 0): "a second-order rate constant (per concentration per time)",
    (-2, 2, -1, 0, 0): "a third-order rate constant (per concentration squared per time)",
    (1, 0, -1, 0, 0): "an amount per time",
    (0, 0, -1, 1, 0): "a mass per time",
    (1, 0, 0, 0, -1): "an amount per cell",
    (0, 0, 0, 0, 1): "a number of cells",
}


def describe_quantity(dims: Dims) -> str:
    """The kind of quantity a dimension vector is, in words with an article.

    >>> describe_quantity((1, -1, -1, 0, 0)), describe_quantity((0, 0, 2, 0, 0))
    ('a concentration per time', 'a quantity in h^2')
    """
    for named, words in _QUANTITY_WORDS.items():
        if _close(dims, named):
            return words
    return f"a quantity in {format_dims(dims)}"


def convert_parameter(pid: str, core_unit: str, value: str | float) -> float:
    """A user's value for parameter ``pid``, stored in ``core_unit``, in core units.

    A bare number (no unit) is read in the core unit. A value with a unit must have the parameter's
    dimension (``"0.5 1/d"`` for a ``1/h`` parameter); a pure number with an explicit unit (``"50 %"``,
    ``"0.5 1"``) only fits a dimensionless parameter, and a unit whose dimensions cancel (``mg/kg``,
    a dose per body weight) fits none. Parameters are molar, so mass units (``pg/ml``) are refused:
    there is no molecular weight to convert with. The value must be finite and >= 0.

    >>> round(convert_parameter("k_il6_basal", "nM/h", "1.2 nM/d"), 12)
    0.05
    >>> convert_parameter("k_il6_basal", "nM/h", 0.05)
    0.05
    >>> convert_parameter("k_il6_basal", "nM/h", "2 mg/kg")
    Traceback (most recent call last):
    ...
    il6sim.errors.UnitError: k_il6_basal expects a concentration per time such as 'nM/h'; 'mg/kg' is a dose per body weight (mass per mass), not a concentration per time: write the value in nM/h, or as a bare number (read as nM/h)
    """
    target = parse_unit(core_unit)[1] if core_unit and core_unit.strip() not in ("", "1") else DIMENSIONLESS
    q = parse_quantity(value, allow_ratio=True)
    if not q.unit:
        out = q.value
    elif _close(q.dims, DIMENSIONLESS):
        kind = cancelled_ratio(q.unit)
        if kind is not None or not _close(target, DIMENSIONLESS):
            raise UnitError(_wrong_dimension(pid, target, q, kind or "a pure number"))
        out = q.value
    else:
        try:
            out = convert(q, target, what=f"value for {pid}")
        except UnitError:
            raise UnitError(_wrong_dimension(pid, target, q, describe_quantity(q.dims))) from None
    if not math.isfinite(out) or out < 0:
        raise UnitError(f"value for {pid} must be finite and >= 0, got {value!r}")
    return out


def _wrong_dimension(pid: str, target: Dims, q: Quantity, kind: str) -> str:
    """One line: what ``pid`` expects, what the unit of ``q`` is instead, and how to write it."""
    want = describe_quantity(target)
    if _close(target, DIMENSIONLESS):
        return f"{pid} expects a pure number (no unit); '{_short(q.unit)}' is {kind}: write a bare number"
    core = format_dims(target)
    hint = ""
    diff = _add(target, q.dims, -1)
    if diff[0] != 0 and math.isclose(diff[3], -diff[0]) and all(abs(x) < 1e-12 for x in (diff[1], diff[2], diff[4])):
        hint = " (parameters are molar: convert mass with the molecular weight)"
    return (f"{pid} expects {want} such as '{core}'; '{_short(q.unit)}' is {kind}, not {want}: "
            f"write the value in {core}{hint}, or as a bare number (read as {core})")


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
    q = parse_quantity(value, allow_ratio=True)
    kind = cancelled_ratio(q.unit)
    if kind is not None:
        raise UnitError(f"time '{_short(str(value))}': '{_short(q.unit)}' is {kind}, not a time; "
                        "write e.g. '12h' or '3d'")
    if not q.unit:  # a bare number; an explicit '1' or '%' is no time
        q = parse_quantity(q.value, default_unit)
    hours = convert(q, TIME, what="time")
    if not math.isfinite(hours):
        raise UnitError(f"time must be finite, got {value!r}")
    if hours < 0:
        raise UnitError(f"time must not be negative, got {value!r}")
    return hours
