"""General SBML models: lowering, the register-program kernel, events, and bad input.

Oracles: closed forms (first-order decay, a rate rule with a known solution, an event at a known
time), ``il6sim.expr``'s NumPy evaluation of the same formulas for the register programs, and the
SBML rules each refusal cites.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

libsbml = pytest.importorskip("libsbml", reason="python-libsbml is not installed (pip install python-libsbml)")

import il6sim  # noqa: E402
from il6sim._program import OPCODES, run_program  # noqa: E402
from il6sim.errors import ModelFileError, SolverError  # noqa: E402
from il6sim.expr import parse_formula  # noqa: E402
from il6sim.sbml_model import SbmlModel, SbmlModelError, read_sbml_model  # noqa: E402
from il6sim.sbml_program import ProgramBuilder  # noqa: E402
from il6sim.shipped import load_network  # noqa: E402

NS = 'xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2"'


def model(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><sbml {NS}><model id="m">{body}</model></sbml>'


def m(text: str) -> str:
    """MathML from L3 infix text (libSBML's parser)."""
    return libsbml.writeMathMLToString(libsbml.parseL3Formula(text)).split("?>", 1)[-1]


def params(**values: float | None) -> str:
    out = []
    for k, v in values.items():
        const = "false"
        value = "" if v is None else f' value="{v}"'
        out.append(f'<parameter id="{k}"{value} constant="{const}"/>')
    return "<listOfParameters>" + "".join(out) + "</listOfParameters>"


def rules(*items: tuple[str, str, str]) -> str:
    return "<listOfRules>" + "".join(f'<{kind} variable="{var}">{m(f)}</{kind}>' for kind, var, f in items) + \
        "</listOfRules>"


COMP = '<listOfCompartments><compartment id="c" size="2" constant="true"/></listOfCompartments>'


def decay(extra: str = "", species_extra: str = "") -> str:
    """S -> (rate k*S*c) in compartment c of size 2, S starts at 4 amount (2 concentration): S = 2 exp(-k t), k = 1."""
    return model(
        COMP + '<listOfSpecies><species id="S" compartment="c" initialAmount="4" hasOnlySubstanceUnits="false" '
        f'boundaryCondition="false" constant="false"/>{species_extra}</listOfSpecies>'
        '<listOfParameters><parameter id="k" value="1" constant="false"/></listOfParameters>'
        '<listOfReactions><reaction id="R" reversible="false"><listOfReactants><speciesReference species="S" '
        f'stoichiometry="1" constant="true"/></listOfReactants><kineticLaw>{m("k * S * c")}</kineticLaw>'
        f'</reaction></listOfReactions>{extra}')


# -- the register-program kernel against NumPy evaluation -------------------------------------------------
FORMULAS = ["2 * x + y / z - 1", "x^y + exp(-z) * ln(y)", "piecewise(x, x > y, y, y > z, z)",
            "min(x, y, z) + max(x, y) - abs(-z)", "(x < y && y < z) || !(x == z)", "log(y, 2) + log10(z) + sqrt(x)",
            "floor(x * 3.7) + ceil(y / 3) + sign(x - z)", "sin(x) * cos(y) + tan(z / 4) + sinh(0.3) - tanh(x)",
            "factorial(z) + x - x", "arcsin(0.5) + arccos(0.25) + arctan(y)", "(x + y) * (x + y) - (x + y)^2"]


@pytest.mark.parametrize("text", FORMULAS)
@pytest.mark.parametrize("env", [{"x": 0.7, "y": 2.5, "z": 3.0}, {"x": 4.0, "y": 1.5, "z": 0.5}])
def test_program_agrees_with_numpy_evaluation(text: str, env: dict[str, float]) -> None:
    f = parse_formula(text)
    b = ProgramBuilder()
    code = b.program([("out", f)])
    regs = b.registers(env)
    run_program(code, regs)
    expected = float(f.evaluate(env))
    assert regs[b.reg("out")] == pytest.approx(expected, rel=1e-14, abs=1e-14), text


def test_program_shares_subexpressions_and_names_every_opcode() -> None:
    b = ProgramBuilder()
    code = b.program([("out", parse_formula("(x + y) * (x + y)"))])
    assert len(code) == 2  # one ADD, one MUL: the repeated sum is computed once
    assert sorted(OPCODES.values()) == list(range(len(OPCODES)))


def test_division_by_zero_in_an_untaken_branch_is_harmless() -> None:
    b = ProgramBuilder()
    code = b.program([("out", parse_formula("piecewise(1 / x, x != 0, 0)"))])
    regs = b.registers({"x": 0.0})
    run_program(code, regs)
    assert regs[b.reg("out")] == 0.0


# -- simulations against closed forms -------------------------------------------------------------------------
def test_first_order_decay_matches_the_closed_form() -> None:
    mod = read_sbml_model(decay())
    t = np.linspace(0, 4, 9)
    res = il6sim.simulate(mod, t, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(res["S"], 2.0 * np.exp(-t), rtol=1e-8)
    assert res.units["S"] == "model units" and mod.species_units["S"] == "concentration"
    assert set(res.names) >= {"S", "c", "k"}


def test_event_at_a_known_time_and_output_after_it() -> None:
    ev = (f'<listOfEvents><event id="E" useValuesFromTriggerTime="true"><trigger initialValue="true" '
          f'persistent="true">{m("time >= 1.5")}</trigger><listOfEventAssignments><eventAssignment variable="S">'
          f'{m("S + 3")}</eventAssignment></listOfEventAssignments></event></listOfEvents>')
    res = il6sim.simulate(read_sbml_model(decay(ev)), [0.0, 1.0, 1.5, 3.0], rtol=1e-11, atol=1e-14)
    s15 = 2.0 * math.exp(-1.5) + 3.0
    np.testing.assert_allclose(res["S"], [2.0, 2.0 * math.exp(-1.0), s15, s15 * math.exp(-1.5)], rtol=1e-8)


def test_state_event_fires_at_the_crossing() -> None:
    # S(t) = 2 exp(-t) falls to 1 at t = ln 2; the event then sets k = 0, so S stays at 1.
    ev = (f'<listOfEvents><event id="E" useValuesFromTriggerTime="true"><trigger initialValue="true" '
          f'persistent="true">{m("S <= 1")}</trigger><listOfEventAssignments><eventAssignment variable="k">'
          f'{m("0")}</eventAssignment></listOfEventAssignments></event></listOfEvents>')
    res = il6sim.simulate(read_sbml_model(decay(ev)), [0.0, 0.5, 2.0, 5.0], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(res["S"], [2.0, 2.0 * math.exp(-0.5), 1.0, 1.0], rtol=1e-9)


def test_rate_rule_rateof_and_algebraic_rule() -> None:
    # dx/dt = -x; y = rateOf(x) = -x; 0 = z + x - 3 (algebraic, linear in z) so z = 3 - x.
    text = model(params(x=1.0, y=None, z=None) + rules(("rateRule", "x", "-x"), ("assignmentRule", "y", "rateOf(x)"))
                 + "".replace("", "")).replace(
        "</listOfRules>", f"<algebraicRule>{m('z + x - 3')}</algebraicRule></listOfRules>")
    res = il6sim.simulate(read_sbml_model(text), [0.0, 1.0, 2.0], rtol=1e-11, atol=1e-14)
    x = np.exp(-np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(res["x"], x, rtol=1e-8)
    np.testing.assert_allclose(res["y"], -x, rtol=1e-8)
    np.testing.assert_allclose(res["z"], 3 - x, rtol=1e-8)


def test_parameter_overrides_and_unknown_names() -> None:
    mod = read_sbml_model(decay())
    res = il6sim.simulate(mod, [0.0, 1.0], parameters={"k": 2.0}, rtol=1e-11, atol=1e-14)
    assert res["S"][-1] == pytest.approx(2.0 * math.exp(-2.0), rel=1e-8)
    with pytest.raises(il6sim.errors.UnknownNameError, match="parameter 'kk' is not a constant.*did you mean 'k'"):
        il6sim.simulate(mod, [0.0, 1.0], parameters={"kk": 1.0})
    with pytest.raises(SolverError, match="initial= on a general SBML model takes a mapping"):
        il6sim.simulate(mod, [0.0, 1.0], initial="steady")
    res = il6sim.simulate(mod, [0.0, 1.0], initial={"S": 3.0}, rtol=1e-11, atol=1e-14)
    assert res["S"][-1] == pytest.approx(3.0 * math.exp(-1.0), rel=1e-8)


def test_a_protocol_dose_equals_the_same_dose_as_an_sbml_event() -> None:
    from il6sim.errors import ProtocolError
    from il6sim.protocol import AddConcentration, Infusion, Protocol, ScaleParameter

    ev = (f'<listOfEvents><event id="E" useValuesFromTriggerTime="true"><trigger initialValue="true" '
          f'persistent="true">{m("time >= 1.5")}</trigger><listOfEventAssignments><eventAssignment variable="S">'
          f'{m("S + 3")}</eventAssignment><eventAssignment variable="k">{m("k * 2")}</eventAssignment>'
          '</listOfEventAssignments></event></listOfEvents>')
    t = np.linspace(0.0, 4.0, 17)
    in_file = il6sim.simulate(read_sbml_model(decay(ev)), t, rtol=1e-11, atol=1e-14)
    dosed = il6sim.simulate(read_sbml_model(decay()), t, rtol=1e-11, atol=1e-14, protocol=Protocol.of(
        [AddConcentration(1.5, "S", 3.0), ScaleParameter(1.5, "k", 2.0)]))
    np.testing.assert_allclose(dosed["S"], in_file["S"], rtol=1e-12)
    np.testing.assert_allclose(dosed["k"], in_file["k"], rtol=0)
    with pytest.raises(ProtocolError, match="infusions are not supported on a general SBML model"):
        il6sim.simulate(read_sbml_model(decay()), t, protocol=Protocol.of([Infusion(1.0, 2.0, "S", 1.0)]))
    with pytest.raises(ProtocolError, match="'SS' is not a species of SBML model 'm'; did you mean 'S'"):
        il6sim.simulate(read_sbml_model(decay()), t, protocol=Protocol.of([AddConcentration(1.0, "SS", 1.0)]))


def test_random_order_of_tied_events_is_seeded() -> None:
    ev = "".join(
        f'<event id="E{i}" useValuesFromTriggerTime="false"><trigger initialValue="true" persistent="true">'
        f'{m("time >= 1")}</trigger><priority>{m("1")}</priority><listOfEventAssignments>'
        f'<eventAssignment variable="q">{m(f"q * 10 + {i}")}</eventAssignment></listOfEventAssignments></event>'
        for i in (1, 2))
    mod = read_sbml_model(model(params(q=0.0) + f"<listOfEvents>{ev}</listOfEvents>"))
    from il6sim.sbml_simulate import simulate_sbml

    orders = {float(simulate_sbml(mod, [0.0, 2.0], seed=s)["q"][-1]) for s in range(12)}
    assert orders == {12.0, 21.0}  # both orders occur (random), each execution sees the other's result
    assert simulate_sbml(mod, [0.0, 2.0], seed=3)["q"][-1] == simulate_sbml(mod, [0.0, 2.0], seed=3)["q"][-1]


# -- bad SBML: one line naming the element ---------------------------------------------------------------------
BAD = [
    ("cyclic rules", model(params(a=None, b=None) + rules(("assignmentRule", "a", "b + 1"), ("assignmentRule", "b", "a"))),
     r"cyclic initial assignments and rules: assignmentRule 'a' -> assignmentRule 'b' -> assignmentRule 'a'; break"),
    ("event on constant", model('<listOfParameters><parameter id="p" value="1" constant="true"/></listOfParameters>'
                                f'<listOfEvents><event id="E" useValuesFromTriggerTime="true"><trigger initialValue='
                                f'"true" persistent="true">{m("time > 1")}</trigger><listOfEventAssignments>'
                                f'<eventAssignment variable="p">{m("2")}</eventAssignment></listOfEventAssignments>'
                                '</event></listOfEvents>'),
     r"event 'E' assigns 'p', a parameter declared constant"),
    ("rule and reaction", decay(rules(("rateRule", "S", "1"))),
     r"species 'S' is changed both by a rule and by reaction 'R'"),
    ("division by zero", decay().replace('initialAmount="4"', 'initialAmount="4"').replace(
        "</listOfParameters>", '<parameter id="z" value="0" constant="true"/></listOfParameters>').replace(
        "<listOfReactions>", '<listOfInitialAssignments><initialAssignment symbol="S">' + m("1 / z") +
        "</initialAssignment></listOfInitialAssignments><listOfReactions>"),
     r"the initial value of species 'S' is inf \(a division by zero"),
    ("unknown id", model(params(a=None) + rules(("assignmentRule", "a", "bb * 2"))),
     r"assignmentRule 'a' uses 'bb', which is not defined in the model"),
    ("two unknowns", model(params(a=None, b=None)).replace(
        "</listOfParameters>", f"</listOfParameters><listOfRules><algebraicRule>{m('a + b')}</algebraicRule>"
        "</listOfRules>"), r"algebraicRule #1 \(a \+ b\) determines 2 variables \(a, b\)"),
    ("non-linear", model(params(a=None)).replace(
        "</listOfParameters>", f"</listOfParameters><listOfRules><algebraicRule>{m('a * a - 2')}</algebraicRule>"
        "</listOfRules>"), r"algebraicRule #1 \(a \* a - 2\) is not linear in 'a'"),
    ("fast reaction", decay().replace('reversible="false"', 'reversible="false" fast="true"').replace(
        "version2/core", "version1/core").replace('version="2"', 'version="1"'),
     r"reaction 'R' is fast"),
]


@pytest.mark.parametrize(("label", "text", "pattern"), BAD, ids=[b[0] for b in BAD])
def test_bad_sbml_is_one_line_naming_the_element(label: str, text: str, pattern: str) -> None:
    mod = None
    with pytest.raises(ModelFileError, match=pattern) as info:
        mod = read_sbml_model(text)
        il6sim.simulate(mod, [0.0, 1.0])
    assert "\n" not in str(info.value)
    assert isinstance(info.value, SbmlModelError) or mod is None


def test_cli_and_api_name_a_general_model_where_a_network_is_needed(tmp_path) -> None:
    path = tmp_path / "general.xml"
    path.write_text(decay(rules(("assignmentRule", "k", "1 + 0 * time"))).replace(
        '<parameter id="k" value="1" constant="false"/>', '<parameter id="k" constant="false"/>'))
    assert isinstance(il6sim.load_model(path), SbmlModel)
    with pytest.raises(ModelFileError, match=r"general\.xml.*this needs a mass-action model"):
        load_network(path)
    res = il6sim.simulate(str(path), [0.0, 1.0], rtol=1e-11, atol=1e-14)
    assert res["S"][-1] == pytest.approx(2.0 * math.exp(-1.0), rel=1e-8)
