"""Model files: the schema, unit conversion at load, and a clear one-line error for each bad input."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import write_model

from il6sim import ModelFileError, compile_network, load_model, simulate, steady_state
from il6sim.errors import UnitError, UnknownNameError
from il6sim.modelfile import parse_equation, parse_rate_expr

GOOD = """\
[model]
name = "t"

[compartments.blood]
volume = "3 l"
source = "assumed"

[compartments.liver]
volume = "1.5 l"
source = "assumed"

[species.il6]
compartment = "blood"
initial = "2 pg/ml"
mw = "21 kDa"

[species.il6r]
compartment = "blood"
initial = "1 nM"

[species.il6__il6r]
compartment = "blood"
initial = "0 nM"

[species.il6_liv]
compartment = "liver"
initial = "0 nM"

[parameters.kon]
value = "1.07e5 1/(M*s)"
source = "Dwivedi 2014"

[parameters.kd]
value = "5 nM"
source = "Dwivedi 2014"

[parameters.ksyn]
value = "0.01 nM/h"
source = "assumed: test"

[parameters.kt]
value = "0.5 1/h"
source = "assumed: test"

[[reactions]]
equation = "il6 + il6r <=> il6__il6r"
forward = "kon"
kd = "kd"

[[reactions]]
equation = "-> il6"
rate = "ksyn"

[[reactions]]
equation = "il6 <=> il6_liv"
forward = "kt"
reverse = "kt"

[observables.il6_pg_ml]
terms = { il6 = 1 }
unit = "pg/ml"
mw = "21 kDa"
"""


def test_good_file_loads_in_core_units(tmp_path: Path) -> None:
    net = load_model(write_model(tmp_path, GOOD))
    assert net.get_parameter("kon").value == pytest.approx(1.07e5 * 3600 / 1e9)  # 1/(nM*h)
    assert net.get_species("il6").initial_nM == pytest.approx(2e-12 / 1e-3 / 21e3 * 1e9)
    rev = net.reactions[0].reverse
    assert rev is not None and [t for t, _ in rev.terms] == ["kon", "kd"]
    assert net.observables[0].factor == pytest.approx(21e3 * 1e-9 * 1e12 / 1e3)  # nM -> pg/ml
    assert net.reactions[2].compartment == "blood"


def test_observable_round_trips_units(tmp_path: Path) -> None:
    net = load_model(write_model(tmp_path, GOOD))
    ss = steady_state(net, parameters={"ksyn": 0.0})
    assert ss["il6_pg_ml"] == pytest.approx(ss["il6"] * 21e3 * 1e-9 * 1e12 / 1e3)


def _replace(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


# (file text, regex the one-line message must match, line number it must name or None)
BAD_INPUTS = [
    (_replace('equation = "il6 + il6r <=> il6__il6r"', 'equation = "il6 + il6rr <=> il6__il6r"'),
     r"\[\[reactions\]\] #1 equation: unknown species 'il6rr'; did you mean 'il6r'", 46),
    (_replace('forward = "kon"', 'forward = "konn"'), r"unknown parameter 'konn'; did you mean 'kon'", 47),
    (_replace('value = "0.5 1/h"', 'value = "0.5"'), r"has dimension dimensionless .* needs 1/h", 56),
    (_replace('value = "0.5 1/h"', 'value = "0.5 1/(nM*h)"'), r"needs 1/h", 56),
    (_replace('value = "0.5 1/h"', 'value = "0.5 mg/kg"'),
     r"\[parameters.kt\] value: '0.5 mg/kg': 'mg/kg' is a dose per body weight \(mass per mass\), not a pure number", 42),
    (_replace('value = "5 nM"', 'value = "5 nMol"'), r"\[parameters.kd\] value: unknown unit 'nMol'", 34),
    (_replace('value = "5 nM"', 'value = "-5 nM"'), r"\[parameters.kd\] value: must not be negative", 34),
    (_replace('value = "5 nM"', 'value = "nan nM"'), r"\[parameters.kd\] value: must be finite", 34),
    (_replace('value = "5 nM"', 'value = "inf nM"'), r"must be finite", 34),
    (_replace('initial = "1 nM"', 'initial = "1"'), r"\[species.il6r\] initial: missing unit", 19),
    (_replace('initial = "1 nM"', 'initial = "1 h"'), r"initial: '1 h' has dimension time, expected concentration", 19),
    (_replace('initial = "2 pg/ml"\nmw = "21 kDa"', 'initial = "2 pg/ml"'), r"'2 pg/ml' is a mass quantity; give the molecular weight", 14),
    (_replace('volume = "3 l"', 'volume = "0 l"'), r"\[compartments.blood\] volume: must be positive", 5),
    (_replace('volume = "3 l"', 'volume = "3 kg"'), r"has dimension mass, expected volume", 5),
    (_replace('[species.il6_liv]', '[species.il6r]'), r"TOML syntax error", 25),
    (_replace('equation = "-> il6"', 'equation = "il6 = il6r"'), r"has no arrow", 51),
    (_replace('equation = "-> il6"', 'equation = "2il6 -> il6r"'), r"cannot read '2il6'", 51),
    (_replace('equation = "-> il6"', 'equation = "il6 -> -> il6r"'), r"more than one arrow", 51),
    (GOOD + "\n[[reactions]\n", r"TOML syntax error", 64),
    (_replace('source = "Dwivedi 2014"', 'source = ""'), r"\[parameters.kon\] source: missing", None),
    (_replace('compartment = "liver"', 'compartment = "livr"'), r"unknown compartment 'livr'; did you mean 'liver'", 26),
    (_replace('kd = "kd"', 'kd = "kd"\nreverse = "kon"'), r"give 'reverse' or 'kd', not both", None),
    (_replace('kd = "kd"', ''), r"needs 'reverse' or 'kd'", None),
    (_replace('rate = "ksyn"', 'rate = 0.01'), r"give the name of a parameter", None),
    (_replace('rate = "ksyn"', 'rate = "ksyn **"'), r"rate: rate expression 'ksyn \*\*'", 52),
    (_replace('[species.il6r]\ncompartment = "blood"', '[species.il6r]\ncompartmnt = "blood"'),
     r"unknown key 'compartmnt'; did you mean 'compartment'", 18),
    (_replace('[species.il6__il6r]', '[species.1il6]'), r"'1il6' is not a valid species id", None),
    (_replace('terms = { il6 = 1 }', 'terms = { il7 = 1 }'), r"\[observables.il6_pg_ml\] terms: unknown species 'il7'", None),
    (_replace('unit = "pg/ml"', 'unit = "pg/mm"'), r"unknown unit 'mm'", None),
    (_replace('equation = "-> il6"', 'id = "dup"\nequation = "-> il6"').replace(
        'equation = "il6 <=> il6_liv"', 'id = "dup"\nequation = "il6 <=> il6_liv"'),
     r"\[\[reactions\]\] #3 id: duplicate reaction id 'dup'", 56),
    ("", r"file is empty", None),
    ("[model]\nname = 'x'\n", r"needs a \[compartments\] table", None),
]


@pytest.mark.parametrize(("text", "pattern", "line"), BAD_INPUTS, ids=[f"bad{i}" for i in range(len(BAD_INPUTS))])
def test_bad_input_gives_one_line_error_with_location(tmp_path: Path, text: str, pattern: str, line: int | None) -> None:
    path = write_model(tmp_path, text)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(str(path)), msg
    assert re.search(pattern, msg), msg
    if line is not None:
        assert msg.startswith(f"{path}:{line}:"), msg


def test_binary_and_missing_files(tmp_path: Path) -> None:
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\x00\x01\x02model")
    with pytest.raises(ModelFileError, match="binary file"):
        load_model(binary)
    with pytest.raises(ModelFileError, match="file not found"):
        load_model(tmp_path / "nope.toml")


def test_file_is_data_not_code(tmp_path: Path) -> None:
    """A value holding code is refused as a bad value; nothing is executed."""
    marker = tmp_path / "pwned"
    text = _replace('value = "5 nM"', f'value = "__import__(\'os\').system(\'touch {marker}\')"')
    with pytest.raises(ModelFileError, match="does not start with a number"):
        load_model(write_model(tmp_path, text))
    text = _replace('forward = "kon"', f'forward = "__import__(\'os\').system(\'touch {marker}\')"')
    with pytest.raises(ModelFileError):
        load_model(write_model(tmp_path, text))
    assert not marker.exists()


def test_equation_grammar() -> None:
    assert parse_equation("2 a + b -> c") == ((("a", 2.0), ("b", 1.0)), (("c", 1.0),), False)
    assert parse_equation("a + a -> b") == ((("a", 2.0),), (("b", 1.0),), False)
    assert parse_equation("a ->") == ((("a", 1.0),), (), False)
    assert parse_equation("0 -> a")[0] == ()
    assert parse_equation("a -> a + b")[1] == (("a", 1.0), ("b", 1.0))


def test_rate_expression_grammar() -> None:
    e = parse_rate_expr("2 * k1 / k2", {"k1": 1, "k2": 1})
    assert e.factor == 2.0 and e.terms == (("k1", 1.0), ("k2", -1.0))
    assert e.evaluate({"k1": 3.0, "k2": 4.0}) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="ends with an operator"):
        parse_rate_expr("k1 *", {"k1": 1})
    with pytest.raises(ValueError, match="missing"):
        parse_rate_expr("k1 k2", {"k1": 1, "k2": 1})


def test_orders_apart_from_stoichiometry(tmp_path: Path) -> None:
    text = _replace('equation = "-> il6"\nrate = "ksyn"',
                    'equation = "il6 -> il6r"\nrate = "kon"\norders = { il6 = 2 }')
    net = load_model(write_model(tmp_path, text))
    assert net.reactions[1].forward_orders() == {"il6": 2.0}


# ----- parameter values with units, through the model layer -------------------------------------
BINDING = "models/examples/binding.toml"


def test_shipped_dimensionless_parameters_take_pure_numbers_only() -> None:
    net = load_model("il6")
    dimensionless = sorted(p.id for p in net.parameters if p.unit == "1")
    assert dimensionless == ["abc_liver", "abc_lung", "baseline_inflammation", "f_trans_hep"]
    assert net.with_parameters({"abc_lung": "40 %", "baseline_inflammation": "2"}) == net.with_parameters(
        {"abc_lung": 0.4, "baseline_inflammation": 2.0})
    with pytest.raises(UnitError, match=r"^baseline_inflammation expects a pure number \(no unit\); 'mg/kg' is a dose"):
        net.with_parameters({"baseline_inflammation": "2 mg/kg"})


def test_with_parameters_and_parameter_vector_take_unit_strings() -> None:
    net = load_model("il6")
    assert net.with_parameters({"k_il6_basal": "0.05 nM/h"}).get_parameter("k_il6_basal").value == 0.05
    assert net.with_parameters({"k_il6_basal": "1.2 nM/d"}).get_parameter("k_il6_basal").value == pytest.approx(
        0.05, rel=1e-14)
    assert net.with_parameters({"k_il6_basal": 0.05}).get_parameter("k_il6_basal").value == 0.05  # core units
    cn = compile_network(net)
    i = cn.parameter_index["k_il6_basal"]
    assert cn.parameter_vector({"k_il6_basal": "0.05 nM/h"})[i] == 0.05
    assert cn.parameter_vector({"k_il6_basal": 0.05})[i] == 0.05
    np.testing.assert_array_equal(cn.parameter_vector({"k_il6_basal": "0.05 nM/h", "abc_lung": "40 %"}),
                                  cn.parameter_vector({"k_il6_basal": 0.05, "abc_lung": 0.4}))
    for bad in ("2 mg/kg", "0.05 nM", "50 %"):
        with pytest.raises(UnitError, match=r"^k_il6_basal expects a concentration per time such as 'nM/h'"):
            cn.parameter_vector({"k_il6_basal": bad})
        with pytest.raises(UnitError, match=r"^k_il6_basal expects a concentration per time"):
            net.with_parameters({"k_il6_basal": bad})
    with pytest.raises(UnknownNameError, match="did you mean 'k_il6_basal'"):
        cn.parameter_vector({"k_il6_basl": "0.05 nM/h"})
    with pytest.raises(UnknownNameError, match="did you mean 'k_il6_basal'"):
        net.with_parameters({"k_il6_basl": 0.05})


def test_unit_string_parameters_give_the_same_run_as_numbers() -> None:
    t = np.linspace(0.0, 10.0, 6)
    net = load_model(BINDING)
    by_number = simulate(net, t, parameters={"kon": 0.5, "kd": 2e-3})
    by_string = simulate(net.with_parameters({"kon": "0.5 1/(nM*h)", "kd": "2 pM"}), t)
    np.testing.assert_array_equal(by_string.values, by_number.values)
    ss_number = steady_state(BINDING, parameters={"kon": 0.5})
    ss_string = steady_state(BINDING, parameters={"kon": "0.5 1/(nM*h)"})
    np.testing.assert_array_equal(ss_string.values, ss_number.values)


def test_simulate_takes_unit_string_parameters() -> None:
    t = np.linspace(0.0, 10.0, 6)
    by_number = simulate(BINDING, t, parameters={"kon": 0.5})
    by_string = simulate(BINDING, t, parameters={"kon": "0.5 1/(nM*h)"})
    np.testing.assert_array_equal(by_string.values, by_number.values)
    assert by_string.provenance["parameter_overrides"] == {"kon": 0.5}
