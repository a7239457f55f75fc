"""SBML import/export: the SBML Test Suite's mass-action cases, refusals, and an export round trip.

The 196 selected semantic cases of the SBML Test Suite (``/work/shared/sbml-test-suite``, see its
README) are simulated and compared with the suite's own rule
``|expected - actual| <= absolute + relative * |expected|`` for every row and column.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import il6sim
from il6sim.errors import ModelFileError

libsbml = pytest.importorskip("libsbml", reason="python-libsbml is not installed (pip install python-libsbml)")

from il6sim.sbml import read_sbml, read_sbml_string  # noqa: E402
from il6sim.sbml_export import to_sbml, to_sbml_string  # noqa: E402

SUITE = Path(__file__).resolve().parents[2] / "shared" / "sbml-test-suite"
CASES = SUITE / "cases"
MORE = SUITE / "more-cases"


def _selected() -> list[str]:
    listing = SUITE / "selected-cases.txt"
    if not listing.is_file():
        return []
    return listing.read_text().split()


SELECTED = _selected()
_OUTCOMES: dict[str, str] = {}  # case id -> "" (passed) or a failure description


def _need_suite() -> None:
    if not CASES.is_dir():
        pytest.skip(f"SBML test suite not found at {SUITE} (it lives next to the repository)")


# ---------------------------------------------------------------------------------------------
# Settings, results and the suite's pass rule
# ---------------------------------------------------------------------------------------------
def _settings(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            out[key.strip()] = value.strip()
    return out


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _number(text: str) -> float:
    t = text.strip().lower()
    if t in ("nan", "-nan"):
        return math.nan
    if t in ("inf", "+inf", "infinity"):
        return math.inf
    if t in ("-inf", "-infinity"):
        return -math.inf
    return float(t)


def _results(path: Path) -> np.ndarray:
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    return np.array([[_number(x) for x in ln.split(",")] for ln in lines[1:]], dtype=float)


def _model_file(folder: Path) -> Path:
    files = sorted(folder.glob("*-sbml-l3v2.xml")) or sorted(folder.glob("*-sbml-l*.xml"))[-1:]
    return files[0]


def _within(expected: np.ndarray, actual: np.ndarray, a_tol: float, r_tol: float) -> tuple[bool, str]:
    """The suite's rule, with NaN matched by NaN and infinities by the same infinity."""
    exp_nan, act_nan = np.isnan(expected), np.isnan(actual)
    exp_inf = np.isinf(expected)
    bad = (exp_nan != act_nan) | (exp_inf & (expected != actual))
    finite = ~exp_nan & ~exp_inf
    with np.errstate(invalid="ignore"):
        err = np.where(finite, np.abs(expected - actual), 0.0)
        band = a_tol + r_tol * np.abs(np.where(finite, expected, 0.0))
    bad |= finite & ~(err <= band)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        return False, (
            f"row {i}, column {j + 1}: expected {expected[i, j]!r}, got {actual[i, j]!r} "
            f"({int(bad.sum())} entries outside the band)"
        )
    return True, f"worst error {float(np.max(err / band, initial=0.0)):.2%} of the band"


def _run_case(case: str) -> tuple[bool, str]:
    folder = CASES / case
    settings = _settings(folder / f"{case}-settings.txt")
    expected = _results(folder / f"{case}-results.csv")
    net = read_sbml(_model_file(folder))
    t = np.linspace(
        float(settings["start"]), float(settings["start"]) + float(settings["duration"]), int(settings["steps"]) + 1
    )
    variables = _names(settings["variables"])
    amounts = set(_names(settings.get("amount", "")))
    if net.species and net.reactions:
        res = il6sim.simulate(net, t, method="Radau", rtol=1e-10, atol=1e-14)
        conc = {sid: np.asarray(res[sid]) for sid in net.species_ids}
    else:  # nothing changes
        conc = {s.id: np.full(t.shape, s.initial_nM) for s in net.species}
    volume = {c.id: c.volume_l for c in net.compartments}
    params = {p.id: p.value for p in net.parameters}
    actual = np.empty((t.size, len(variables)))
    for j, var in enumerate(variables):
        if var in conc:
            scale = volume[net.get_species(var).compartment] if var in amounts else 1.0
            actual[:, j] = conc[var] * scale
        elif var in volume:
            actual[:, j] = volume[var]
        elif var in params:
            actual[:, j] = params[var]
        else:
            return False, f"variable '{var}' is not in the imported model"
    if expected.shape != (t.size, len(variables) + 1):
        return False, f"results have shape {expected.shape}, expected {(t.size, len(variables) + 1)}"
    if not np.allclose(expected[:, 0], t, rtol=1e-12, atol=1e-12):
        return False, "time column differs from the settings"
    return _within(expected[:, 1:], actual, float(settings["absolute"]), float(settings["relative"]))


def test_selected_case_list_complete() -> None:
    _need_suite()
    assert len(SELECTED) == 196
    assert all((CASES / c).is_dir() for c in SELECTED)


@pytest.mark.parametrize("case", SELECTED or ["(suite missing)"])
def test_suite_case(case: str) -> None:
    _need_suite()
    try:
        ok, detail = _run_case(case)
    except Exception as exc:  # a refusal or a solver failure counts as a failed case
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    _OUTCOMES[case] = "" if ok else detail
    assert ok, f"SBML test suite case {case}: {detail}"


def test_suite_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs last in this file's order: reports ``SBML test suite: N/196 passed``."""
    _need_suite()
    for case in SELECTED:  # cases not run in this session (e.g. -k selection) are run here
        if case not in _OUTCOMES:
            try:
                ok, detail = _run_case(case)
            except Exception as exc:
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            _OUTCOMES[case] = "" if ok else detail
    passed = sum(1 for c in SELECTED if not _OUTCOMES[c])
    line = f"SBML test suite: {passed}/{len(SELECTED)} passed"
    with capsys.disabled():
        print(f"\n{line}")
    failed = {c: _OUTCOMES[c] for c in SELECTED if _OUTCOMES[c]}
    assert not failed, f"{line}; failing: " + "; ".join(f"{c}: {d}" for c, d in list(failed.items())[:10])


# ---------------------------------------------------------------------------------------------
# Refusals: one case per unsupported construct, each with its one-line message
# ---------------------------------------------------------------------------------------------
REFUSALS = [
    ("events", "event", "events are not supported"),
    ("rate-rules", "rate rule", "rate rules are not supported"),
    ("assignment-rules", "assignment rule", "assignment rules are not supported"),
    ("algebraic-rules", "algebraic rule", "algebraic rules are not supported"),
    ("function-definitions", "function definition", "function definitions are not supported"),
    ("initial-assignments", "initial assignment", "initial assignments are not supported"),
    ("general-math", "kinetic law of reaction", "supported in kinetic laws"),
    ("hasOnlySubstanceUnits", "species", "hasOnlySubstanceUnits=true is not supported"),
    ("0D-compartment", "compartment", "0-dimensional compartments are not supported"),
    ("conversion-factors", "", "conversion factor"),
    ("fast-reactions", "reaction", "fast reactions are not supported"),
    ("stoichiometry-math", "", "not supported"),
    ("comp", "package 'comp'", "packages are not supported"),
]


@pytest.mark.parametrize(("feature", "construct", "message"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_unsupported_construct_refused(feature: str, construct: str, message: str) -> None:
    listing = SUITE / "next-features" / f"{feature}.txt"
    if not listing.is_file() or not MORE.is_dir():
        pytest.skip(f"{listing} or {MORE} not found")
    cases = [c for c in listing.read_text().split() if (MORE / c).is_dir()]
    if not cases:
        pytest.skip(f"no case of {feature} is in more-cases/")
    path = _model_file(MORE / cases[0])
    with pytest.raises(ModelFileError) as info:
        read_sbml(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{path}: {construct}"), text
    assert message in text, text


def test_feature_lists_refused_or_passing() -> None:
    """Every case in more-cases/ is either refused with a ModelFileError or imports (no crash)."""
    if not MORE.is_dir():
        pytest.skip(f"{MORE} not found")
    for folder in sorted(MORE.iterdir()):
        files = sorted(folder.glob("*-sbml-l*.xml"))
        if not files:
            continue
        try:
            read_sbml(_model_file(folder))
        except ModelFileError as exc:
            assert "\n" not in str(exc)


ENTITY_SBML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE sbml [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> <!ENTITY big "aaaaaaaaaaaaaaaa"> ]>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="m" name="&xxe;&big;"/>
</sbml>
"""


def test_entity_declarations_refused(tmp_path: Path) -> None:
    path = tmp_path / "hostile.xml"
    path.write_text(ENTITY_SBML)
    with pytest.raises(ModelFileError, match="DOCTYPE"):
        read_sbml(path)
    with pytest.raises(ModelFileError, match="DOCTYPE"):
        il6sim.load_model(path)


def _sbml(body: str, reactions: str = "", constant_compartment: str = "true") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="m">
    <listOfCompartments>
      <compartment id="c" size="2" constant="{constant_compartment}"/>
    </listOfCompartments>
    <listOfSpecies>
      <species id="A" compartment="c" initialAmount="4" hasOnlySubstanceUnits="false"
               boundaryCondition="false" constant="false"/>
      <species id="B" compartment="c" initialConcentration="1" hasOnlySubstanceUnits="false"
               boundaryCondition="false" constant="false"/>
    </listOfSpecies>
    <listOfParameters><parameter id="k" value="0.5" constant="true"/></listOfParameters>
    {body}
    <listOfReactions>{reactions}</listOfReactions>
  </model>
</sbml>"""


def _reaction(math_xml: str) -> str:
    return f"""<reaction id="J" reversible="false">
      <listOfReactants><speciesReference species="A" stoichiometry="1" constant="true"/></listOfReactants>
      <listOfProducts><speciesReference species="B" stoichiometry="1" constant="true"/></listOfProducts>
      <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML">{math_xml}</math></kineticLaw>
    </reaction>"""


def test_expansion_keeps_global_parameters_symbolic() -> None:
    # c*k*(A - B)^2 / 2: three monomials, k stays a RateExpr term
    m = (
        "<apply><divide/><apply><times/><ci>c</ci><ci>k</ci><apply><power/><apply><minus/><ci>A</ci>"
        "<ci>B</ci></apply><cn type='integer'>2</cn></apply></apply><cn>2</cn></apply>"
    )
    net = read_sbml_string(_sbml("", _reaction(m)))
    assert net.get_species("A").initial_nM == 2.0
    assert {r.id for r in net.reactions} == {"J__1", "J__2"}
    assert all(("k", 1.0) in r.forward.terms for r in net.reactions)
    cn = il6sim.compile_network(net)
    a, b = 2.0, 1.0
    v = 2 * 0.5 * (a - b) ** 2 / 2  # amount/time
    assert np.allclose(cn.rhs(cn.x0), [-v / 2, v / 2])
    cn2 = il6sim.compile_network(net.with_parameters({"k": 1.0}))
    assert np.allclose(cn2.rhs(cn2.x0), [-2 * v / 2, 2 * v / 2])


@pytest.mark.parametrize(
    ("math_xml", "what"),
    [
        ("<apply><divide/><ci>k</ci><ci>A</ci></apply>", "species 'A' in a denominator"),
        (
            "<apply><times/><ci>k</ci><csymbol encoding='text' "
            "definitionURL='http://www.sbml.org/sbml/symbols/time'>t</csymbol></apply>",
            "MathML csymbol time",
        ),
        ("<apply><exp/><ci>A</ci></apply>", "MathML exp"),
        (
            "<apply><divide/><ci>A</ci><apply><plus/><ci>k</ci><ci>B</ci></apply></apply>",
            "a sum with species in a denominator",
        ),
        ("<ci>J</ci>", "reaction id 'J' used in math"),
        (
            "<apply><csymbol encoding='text' definitionURL='http://www.sbml.org/sbml/symbols/delay'>delay</csymbol>"
            "<ci>A</ci><cn>1</cn></apply>",
            "MathML csymbol delay",
        ),
        (
            "<apply><csymbol encoding='text' definitionURL='http://www.sbml.org/sbml/symbols/rateOf'>rateOf</csymbol>"
            "<ci>A</ci></apply>",
            "MathML csymbol rateOf",
        ),
        (
            "<apply><times/><ci>A</ci><csymbol encoding='text' "
            "definitionURL='http://www.sbml.org/sbml/symbols/avogadro'>avogadro</csymbol></apply>",
            "MathML csymbol avogadro",
        ),
    ],
)
def test_unsupported_math_refused(math_xml: str, what: str) -> None:
    with pytest.raises(ModelFileError) as info:
        read_sbml_string(_sbml("", _reaction(math_xml)), source="x.xml")
    text = str(info.value)
    assert text.startswith("x.xml: kinetic law of reaction 'J': ") and what in text, text


def test_non_constant_compartment_refused() -> None:
    text = _sbml("", _reaction("<ci>k</ci>"), constant_compartment="false")
    with pytest.raises(ModelFileError, match=r"^x.xml: compartment 'c': non-constant compartments are not"):
        read_sbml_string(text, source="x.xml")


def test_constant_rate_and_local_shadowing() -> None:
    # A local parameter named like the species and the global parameter shadows both.
    law = (
        "<kineticLaw><math xmlns='http://www.w3.org/1998/Math/MathML'><apply><times/><ci>k</ci><ci>A</ci>"
        "</apply></math><listOfLocalParameters><localParameter id='A' value='3'/>"
        "<localParameter id='k' value='-1'/></listOfLocalParameters></kineticLaw>"
    )
    text = _sbml("", _reaction("<cn>0</cn>").split("<kineticLaw>")[0] + law + "</reaction>")
    net = read_sbml_string(text)
    (r,) = net.reactions
    assert r.forward.factor == -3.0 and r.forward.terms == () and r.forward_orders() == {"A": 0.0}
    cn = il6sim.compile_network(net)
    assert np.allclose(cn.rhs(cn.x0), [3.0 / 2, -3.0 / 2])


# ---------------------------------------------------------------------------------------------
# Export and round trip
# ---------------------------------------------------------------------------------------------
def _round_trip(net: il6sim.Network, tmp_path: Path) -> tuple[il6sim.Network, Path]:
    path = tmp_path / f"{net.name}.xml"
    to_sbml(net, path)
    doc = libsbml.readSBMLFromFile(str(path))
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0
    doc.checkConsistency()  # all categories, units included
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0, doc.getErrorLog().toString()
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_WARNING) == 0, doc.getErrorLog().toString()
    return read_sbml(path), path


BINDERS = ("siltuximab", "sirukumab", "clazakizumab", "olokizumab", "tocilizumab", "sarilumab", "olamkicept")


def _models() -> list[tuple[str, il6sim.Network]]:
    from il6sim.drugs import add_drug, load_drug

    base = il6sim.load_model("il6")
    return [("il6", base)] + [(f"il6+{name}", add_drug(base, load_drug(name))) for name in BINDERS]


@pytest.fixture(scope="module")
def models() -> list[tuple[str, il6sim.Network]]:
    return _models()


T_SCENARIO = np.array([0.0, 0.5, 2.0, 12.0, 48.0, 168.0, 360.0])


def _perturbed_start(net: il6sim.Network) -> np.ndarray:
    """The severe COVID-19 state at day 13 (end of the inflammatory drive; il6sim with its
    protocol), plus an IV and an SC dose of the drug if there is one: the rest of the scenario has
    no events, so both simulators can run it from here."""
    from il6sim.scenario import load_scenario

    sc = load_scenario("covid_severe", net)
    ss = il6sim.steady_state(net)
    day13 = il6sim.simulate(net, [0.0, 13 * 24.0], initial=ss, parameters=dict(sc.parameters),
                            protocol=sc.protocol, method="Radau", rtol=1e-11, atol=1e-16)
    x = np.array(day13.values[-1], dtype=float)
    ids = net.species_ids
    drug_ids = [c.id[: -len("_central")] for c in net.compartments if c.id.endswith("_central")]
    for d in drug_ids:
        x[ids.index(d)] += 50.0  # nM, an IV dose
        if f"{d}_depot" in ids:
            x[ids.index(f"{d}_depot")] += 200.0  # an SC dose
    return x


def _scenario_parameters(net: il6sim.Network) -> dict[str, float]:
    from il6sim.scenario import load_scenario

    return dict(load_scenario("covid_severe", net).parameters)


def test_export_round_trip_matches_native(models: list[tuple[str, il6sim.Network]], tmp_path: Path) -> None:
    for label, net in models:
        back, _ = _round_trip(net, tmp_path)
        assert back.species_ids == net.species_ids, label
        assert back.parameter_ids == net.parameter_ids
        assert [p.unit for p in back.parameters] == [p.unit for p in net.parameters]
        assert back.observable_ids == net.observable_ids
        x0 = _perturbed_start(net)
        pars = _scenario_parameters(net)
        native = il6sim.simulate(net, T_SCENARIO, initial=x0, parameters=pars, method="Radau", rtol=1e-11, atol=1e-16)
        again = il6sim.simulate(back, T_SCENARIO, initial=x0, parameters=pars, method="Radau", rtol=1e-11,
                                atol=1e-16)
        a, b = np.asarray(native.values), np.asarray(again.values)
        scale = np.maximum(np.abs(a), 1e-12 * np.max(np.abs(a), axis=0) + 1e-300)
        assert np.max(np.abs(a - b) / scale) <= 1e-8, label
        ss_native = il6sim.steady_state(net)
        ss_back = il6sim.steady_state(back)
        assert np.allclose(ss_back.values, ss_native.values, rtol=1e-8, atol=1e-14)


def test_suite_models_survive_export() -> None:
    """Every selected case, imported, exported and imported again, has the same equations."""
    _need_suite()
    rng = np.random.default_rng(7)
    for case in SELECTED:
        net = read_sbml(_model_file(CASES / case))
        back = read_sbml_string(to_sbml_string(net), source=f"{case} exported")
        assert back.species_ids == net.species_ids and back.parameter_ids == net.parameter_ids, case
        assert [c.id for c in back.compartments] == [c.id for c in net.compartments], case
        if not net.reactions:
            continue
        a, b = il6sim.compile_network(net), il6sim.compile_network(back)
        for x in (a.x0, rng.uniform(0.1, 2.0, a.n_species)):
            fa, fb = a.rhs(x), b.rhs(x)
            assert np.allclose(fb, fa, rtol=1e-12, atol=1e-300, equal_nan=True), case


def test_export_keeps_units_and_sources(models: list[tuple[str, il6sim.Network]]) -> None:
    net = models[0][1]
    text = to_sbml_string(net)
    doc = libsbml.readSBMLFromString(text)
    model = doc.getModel()
    assert (doc.getLevel(), doc.getVersion()) == (3, 2)
    assert model.getTimeUnits() == "hour" and model.getSubstanceUnits() == "nmol"
    for p in net.parameters:
        par = model.getParameter(p.id)
        if p.unit not in ("", "1"):
            assert par.isSetUnits(), p.id
            ud = model.getUnitDefinition(par.getUnits())
            assert ud is not None
        if p.source:
            assert par.isSetNotes()


def test_roadrunner_agrees_with_il6sim(models: list[tuple[str, il6sim.Network]], tmp_path: Path) -> None:
    roadrunner = pytest.importorskip("roadrunner", reason="libroadrunner is not installed")
    for label, net in models:
        path = tmp_path / f"{re.sub(r'[^A-Za-z0-9_]', '_', label)}.xml"
        to_sbml(net, path)
        x0 = _perturbed_start(net)
        pars = _scenario_parameters(net)
        native = il6sim.simulate(net, T_SCENARIO, initial=x0, parameters=pars, method="Radau", rtol=1e-11, atol=1e-16)
        rr = roadrunner.RoadRunner(str(path))
        for pid, value in pars.items():
            rr.setValue(pid, float(value))
        rr.integrator.relative_tolerance = 1e-12
        rr.integrator.absolute_tolerance = 1e-18
        rr.integrator.max_num_steps = 100000
        for sid, value in zip(net.species_ids, x0):
            rr.setValue(f"[{sid}]", float(value))
        selections = ["time"] + [f"[{sid}]" for sid in net.species_ids]
        out = rr.simulate(times=T_SCENARIO.tolist(), selections=selections)
        got = np.asarray(out)[:, 1:]
        a = np.asarray(native.values)
        scale = np.maximum(np.abs(a), 1e-9 * np.max(np.abs(a), axis=0) + 1e-300)
        assert np.max(np.abs(a - got) / scale) <= 1e-5, label


def test_imported_model_sweeps_like_the_native_one(tmp_path: Path) -> None:
    """An SBML export of the shipped model, imported again, gives the same sweep (issue 7)."""
    import il6sim.sweeps as sw

    path = tmp_path / "il6.xml"
    to_sbml(il6sim.load_model("il6"), path)
    results = []
    for model in ("il6", str(path)):
        spec = sw.spec_from_dict({
            "sweep": {"model": model, "scenario": "covid_severe", "days": 14, "step": "12 h", "seed": 3, "rows": 3,
                      "observables": ["il6_free_pg_ml", "crp_mg_l"], "metrics": ["peak", "auc"]},
            "factors": [{"parameter": "k_il6_basal", "sampler": "lhs", "low": "0.005 nM/h", "high": "0.05 nM/h"}],
        })
        results.append(sw.sweep(spec))
    native, imported = results
    assert native.status.tolist() == imported.status.tolist() == [0, 0, 0]
    np.testing.assert_array_equal(native.parameters, imported.parameters)
    for name, values in native.metrics.items():
        np.testing.assert_allclose(imported.metrics[name], values, rtol=1e-6, err_msg=name)


def test_public_api_names(tmp_path: Path) -> None:
    """``il6sim.to_sbml(model, path)`` and ``il6sim.load_model("model.xml")``, as the issue names them."""
    path = tmp_path / "binding.xml"
    il6sim.to_sbml(il6sim.load_model("models/examples/binding.toml"), path)
    back = il6sim.load_model(str(path))
    assert back.species_ids == ("l", "r", "l__r")
    assert il6sim.steady_state(back)["l__r"] == pytest.approx(3.7830094339716984, rel=1e-9)
