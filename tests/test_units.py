"""Unit parsing and conversion at the boundary."""

from __future__ import annotations

import pytest

from il6sim.units import (
    CONCENTRATION,
    DIMENSIONLESS,
    TIME,
    UnitError,
    cancelled_ratio,
    convert,
    convert_parameter,
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
        ("1.26 1/d", 1.26 / 24), ("3 l", 3.0), ("250 ml", 0.25), ("10 %", 0.1), ("0.5 1", 0.5),
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


# ----- units whose dimensions cancel are not pure numbers -----------------------------------------
@pytest.mark.parametrize(
    ("unit", "kind"),
    [("mg/kg", "a dose per body weight (mass per mass)"), ("ug/g", "a dose per body weight (mass per mass)"),
     ("nM/nM", "a ratio of like units (amount and volume cancel)"), ("h/d", "a ratio of like units (time cancels)"),
     ("%", None), ("1", None), ("nM/h", None), ("mg", None)],
)
def test_cancelled_ratio(unit: str, kind: str | None) -> None:
    assert cancelled_ratio(unit) == kind


def test_dose_per_body_weight_is_not_a_pure_number() -> None:
    with pytest.raises(UnitError, match=r"^'2 mg/kg': 'mg/kg' is a dose per body weight \(mass per mass\), not a pure "
                                        r"number \(its units cancel\)"):
        parse_quantity("2 mg/kg")
    with pytest.raises(UnitError, match="not a pure number"):
        parse_quantity(2, "mg/kg")
    q = parse_quantity("2 mg/kg", allow_ratio=True)  # for callers that say what they expected instead
    assert q.dims == DIMENSIONLESS and q.value == pytest.approx(2e-6) and q.unit == "mg/kg"
    # explicitly dimensionless units stay pure numbers
    assert parse_quantity("50 %").value == 0.5 and parse_quantity("50 %").dims == DIMENSIONLESS
    assert parse_quantity("3").unit == "" and parse_quantity("3 nM") == parse_quantity("3", "nM")


def test_times_refuse_pure_numbers_with_a_unit() -> None:
    with pytest.raises(UnitError, match=r"time '3 mg/kg': 'mg/kg' is a dose per body weight .*, not a time"):
        parse_time("3 mg/kg")
    with pytest.raises(UnitError, match="expected time"):
        parse_time("50 %")  # only a number without any unit takes the default unit
    assert parse_time("2", "d") == 48.0


# ----- parameter values: the dimension rule -----------------------------------------------------
def test_parameter_value_in_its_own_dimension() -> None:
    assert convert_parameter("k_il6_basal", "nM/h", "0.05 nM/h") == 0.05  # a correct unit converts
    assert convert_parameter("k_il6_basal", "nM/h", "1.2 nM/d") == pytest.approx(0.05, rel=1e-14)
    assert convert_parameter("k_il6_basal", "nM/h", 0.05) == 0.05  # a bare number is in the core unit
    assert convert_parameter("k_il6_basal", "nM/h", "0.05") == 0.05
    assert convert_parameter("kon", "1/(nM*h)", "1e6 1/(M*s)") == pytest.approx(3.6)
    assert convert_parameter("kd", "nM", "2 pM") == pytest.approx(2e-3)


@pytest.mark.parametrize(
    ("pid", "unit", "value", "pattern"),
    [
        ("k_il6_basal", "nM/h", "2 mg/kg",
         r"^k_il6_basal expects a concentration per time such as 'nM/h'; 'mg/kg' is a dose per body weight "
         r"\(mass per mass\), not a concentration per time: write the value in nM/h, or as a bare number"),
        ("k_il6_basal", "nM/h", "1 nM", r"'nM' is a concentration, not a concentration per time"),
        ("k_il6_basal", "nM/h", "50 %", r"'%' is a pure number, not a concentration per time"),
        ("k_il6_basal", "nM/h", "5 pg/(ml*h)", r"mass concentration per time, .*convert mass with the molecular weight"),
        ("k_el", "1/h", "2 mg/kg", r"^k_el expects a first-order rate \(per time\) such as '1/h'; 'mg/kg' is a dose"),
        ("kon", "1/(nM*h)", "1 1/h", r"^kon expects a second-order rate constant .* such as '1/\(nM\*h\)'"),
        ("kd", "nM", "2 ng/ml", r"^kd expects a concentration such as 'nM'; 'ng/ml' is a mass concentration"),
        ("baseline_inflammation", "1", "2 mg/kg",
         r"^baseline_inflammation expects a pure number \(no unit\); 'mg/kg' is a dose per body weight"),
        ("baseline_inflammation", "1", "2 1/h", r"^baseline_inflammation expects a pure number .*first-order rate"),
        ("k_il6_basal", "nM/h", "-1 nM/h", r"value for k_il6_basal must be finite and >= 0"),
        ("k_il6_basal", "nM/h", "5 pg/mll", r"unknown unit 'mll'"),
    ],
)
def test_parameter_value_of_the_wrong_dimension(pid: str, unit: str, value: str, pattern: str) -> None:
    with pytest.raises(UnitError, match=pattern) as info:
        convert_parameter(pid, unit, value)
    assert "\n" not in str(info.value)


def test_dimensionless_parameters_take_pure_numbers() -> None:
    # the shipped model's dimensionless parameters (abc_lung, abc_liver, baseline_inflammation) are stored in "1"
    assert convert_parameter("abc_lung", "1", "0.5") == 0.5
    assert convert_parameter("abc_lung", "1", 0.5) == 0.5
    assert convert_parameter("abc_lung", "1", "50 %") == 0.5
    assert convert_parameter("abc_lung", "1", "0.5 1") == 0.5
    assert convert_parameter("abc_lung", "", "0.5") == 0.5
