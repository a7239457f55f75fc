"""Unit parsing and conversion at the boundary."""

from __future__ import annotations

import pytest

from il6sim.units import (
    CONCENTRATION,
    TIME,
    UnitError,
    convert,
    format_dims,
    parse_quantity,
    parse_time,
    rate_constant_dims,
)


@pytest.mark.parametrize(
    ("text", "core"),
    [
        ("1 nM", 1.0), ("1 pM", 1e-3), ("1 uM", 1e3), ("1 µM", 1e3), ("2 h", 2.0), ("30 min", 0.5),
        ("3 d", 72.0), ("1 wk", 168.0), ("1.07e5 1/(M*s)", 1.07e5 * 3600 / 1e9), ("1 nM^-1 h^-1", 1.0),
        ("1.26 1/d", 1.26 / 24), ("3 l", 3.0), ("250 ml", 0.25), ("10 %", 0.1), ("1 mg/kg", 1e-6),
    ],
)
def test_core_values(text: str, core: float) -> None:
    assert parse_quantity(text).value == pytest.approx(core, rel=1e-12)


def test_mass_concentrations_need_a_molecular_weight() -> None:
    mw = parse_quantity("21 kDa")
    assert convert(parse_quantity("21 pg/ml"), CONCENTRATION, mw=mw) == pytest.approx(1e-3)  # 1 pM
    assert convert(parse_quantity("1 ug/ml"), CONCENTRATION, mw=parse_quantity("148 kDa")) == pytest.approx(6.7568, rel=1e-4)
    with pytest.raises(UnitError, match="molecular weight"):
        convert(parse_quantity("2 pg/ml"), CONCENTRATION)


def test_rate_constant_dimensions() -> None:
    assert format_dims(rate_constant_dims(0)) == "nM/h"
    assert format_dims(rate_constant_dims(1)) == "1/h"
    assert format_dims(rate_constant_dims(2)) == "1/(nM*h)"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [("5 pg/mll", "unknown unit 'mll'"), ("pg", "does not start with a number"), ("5 (nM", "unbalanced|ends too early"),
     ("5 nM^x", "exponent"), ("5 nM $", "not understood")],
)
def test_bad_units(text: str, pattern: str) -> None:
    with pytest.raises(UnitError, match=pattern):
        parse_quantity(text)


def test_times() -> None:
    assert parse_time("12h") == 12.0 and parse_time("3d") == 72.0 and parse_time(2, "d") == 48.0
    with pytest.raises(UnitError, match="negative"):
        parse_time("-1 h")
    with pytest.raises(UnitError, match="expected time"):
        convert(parse_quantity("5 nM"), TIME)
