"""Compiled register programs (il6sim.sbml_native) and the sparse Jacobian of the SBML integrator.

Oracles: the interpreter (il6sim._program.run_program), which the compiled code must match bit for
bit; a dense forward-difference Jacobian computed here with NumPy, whose non-zero entries must lie in
the structural pattern; numpy.linalg.solve for the sparse LU; closed forms for a stiff linear system.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import il6sim
from il6sim import _program as P
from il6sim.errors import ModelFileError, UnknownNameError
from il6sim.sbml_model import read_sbml_model
from il6sim.sbml_program import column_groups, jacobian_pattern, jacobian_plan
from il6sim.sbml_simulate import _initial_registers, _lower, _Run, simulate_sbml

pytest.importorskip("libsbml", reason="python-libsbml is not installed")

SHARED = Path(__file__).resolve().parents[2] / "shared"
SUITE = SHARED / "sbml-test-suite" / "semantic"
BIOMODELS = SHARED / "biomodels"
# a spread of test-suite cases: events with delays and priorities, rules, non-unit compartments,
# initial assignments, csymbol time, function definitions, plain mass action
CASES = ["00001", "00026", "00100", "00300", "00500", "00700", "00964", "00990", "01117", "01121", "00995",
         "01577", "01688", "01696", "01772"]


def _suite_case(case: str) -> tuple[object, np.ndarray]:
    from sbml_suite import newest_file, settings

    path = SUITE / case
    if not path.is_dir():
        pytest.skip(f"SBML Test Suite not found at {SUITE}")
    s = settings(path)
    try:
        model = read_sbml_model(newest_file(path))  # general SBML even where mass action would do
    except ModelFileError as exc:
        pytest.skip(f"case {case} is refused: {exc}")
    start, duration = float(s["start"]), float(s["duration"])
    return model, np.linspace(start, start + duration, int(s["steps"]) + 1)


@pytest.mark.parametrize("case", CASES)
def test_compiled_programs_give_the_interpreters_results_bit_for_bit(case: str) -> None:
    model, t = _suite_case(case)
    a = simulate_sbml(model, t, engine="interpreted")
    b = simulate_sbml(model, t, engine="compiled")
    assert a.provenance["solver"].get("engine", "interpreted") == "interpreted"
    if model.states:
        assert b.provenance["solver"]["engine"] == "compiled"
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.observable_values, b.observable_values)


def test_compiled_dwivedi_model_with_its_doses_matches_the_interpreter() -> None:
    path = BIOMODELS / "BIOMD0000000536.xml"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    model = il6sim.load_model(path)
    t = np.linspace(0.0, 2000.0, 401)
    a = simulate_sbml(model, t, engine="interpreted", rtol=1e-8, atol=1e-12)
    b = simulate_sbml(model, t, engine="compiled", rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.provenance["solver"]["events"] == b.provenance["solver"]["events"] > 0


def test_auto_engine_interprets_first_then_compiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IL6SIM_CACHE_DIR", str(tmp_path))
    model, t = _suite_case("00002")  # a model no other test here compiles
    first = simulate_sbml(model, t)
    second = simulate_sbml(model, t)
    assert first.provenance["solver"]["engine"] == "interpreted"
    assert second.provenance["solver"]["engine"] == "compiled"
    assert list((tmp_path / "programs").glob("il6sim_program_*.py"))  # the source is cached on disk
    np.testing.assert_array_equal(first.values, second.values)


def test_an_unknown_engine_is_one_line_naming_the_choices() -> None:
    model, t = _suite_case("00001")
    with pytest.raises(UnknownNameError, match="unknown engine 'compild'.*compiled"):
        simulate_sbml(model, t, engine="compild")


def _dense_fd_jacobian(low, regs: np.ndarray, z: np.ndarray) -> np.ndarray:
    n = z.size - 1

    def f(zz: np.ndarray) -> np.ndarray:
        out = np.zeros(n + 1)
        out[:n] = P.program_rhs(zz[n], zz[:n].copy(), regs, low.main, 0, low.state_regs, low.deriv_regs)
        return out

    f0 = f(z)
    jac = np.zeros((n + 1, n + 1))
    for c in range(n + 1):
        zz = z.copy()
        d = 1e-7 * max(abs(z[c]), 1.0)
        zz[c] += d
        jac[:, c] = (f(zz) - f0) / d
    return jac


@pytest.mark.parametrize("name", ["BIOMD0000000534", "BIOMD0000000537"])
def test_the_structural_pattern_holds_every_nonzero_jacobian_entry(name: str) -> None:
    path = BIOMODELS / f"{name}.xml"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    model = il6sim.load_model(path)
    low = _lower(model)
    times = [0.0, 5.0, 200.0]
    pattern = jacobian_pattern(low.main, low.builder.registers().size, low.state_regs, 0, low.deriv_regs)
    rng = np.random.default_rng(1)
    assert 0 < pattern.sum() < pattern.size / 4  # sparse: the grouping has something to gain
    checked = 0
    for when in times:  # the initial state randomly scaled, at a few times
        run = _Run(model, low, _initial_registers(model, low, {}))
        y = run.y * rng.uniform(0.5, 2.0, run.y.size) + rng.uniform(0.0, 1e-3, run.y.size)
        z = np.append(y, when)
        jac = _dense_fd_jacobian(low, run.regs, z)
        outside = (np.abs(jac) > 0) & ~pattern
        assert not outside.any(), f"non-zero Jacobian entries outside the pattern at {np.argwhere(outside)[:5]}"
        checked += int((np.abs(jac) > 0).sum())
    assert checked > 0
    groups = column_groups(pattern)
    assert sorted(c for g in groups for c in g) == list(range(pattern.shape[1]))
    for g in groups:  # no two columns of a group share a row
        assert (pattern[:, g].sum(axis=1) <= 1).all()
    assert len(groups) < pattern.shape[1] / 2


def test_sparse_lu_solves_like_numpy_and_refuses_a_zero_pivot() -> None:
    rng = np.random.default_rng(3)
    n = 12
    pat = rng.random((n, n)) < 0.2
    a = np.where(pat, rng.normal(size=(n, n)), 0.0) + np.diag(rng.uniform(5.0, 9.0, n))
    plan = jacobian_plan(pat)  # W = I/(hγ) - J on pattern | diagonal
    perm, row_ptr, col_idx = plan[0], plan[1], plan[2]
    w = np.zeros(col_idx.size)
    for i in range(n):
        for p in range(row_ptr[i], row_ptr[i + 1]):
            w[p] = a[perm[i], perm[col_idx[p]]]
    inv_diag = np.empty(n)
    assert P._sparse_factor(w, plan, inv_diag)
    b = rng.normal(size=n)
    x = b.copy()
    P._sparse_solve(w, plan, inv_diag, x, np.empty(n))
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-12)
    swap = np.array([[False, True], [True, False]])
    plan2 = jacobian_plan(swap)
    w2 = np.zeros(plan2[2].size)
    for i in range(2):
        for p in range(plan2[1][i], plan2[1][i + 1]):
            w2[p] = 0.0 if plan2[0][i] == plan2[0][plan2[2][p]] else 1.0
    assert not P._sparse_factor(w2, plan2, np.empty(2))  # zero diagonal: the integrator pivots densely


def test_a_fast_oscillator_with_an_off_diagonal_jacobian_matches_its_closed_form() -> None:
    """x' = w y, y' = -w x (w = 1e4): a Jacobian with nothing on its diagonal, solved through W's sparse LU."""
    from il6sim.sbml_math import read_model_math
    from il6sim.sbml_model import build_sbml_model

    text = """<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2"><model>
     <listOfParameters><parameter id="w" value="10000" constant="true"/>
      <parameter id="x" value="1" constant="false"/><parameter id="y" value="0" constant="false"/></listOfParameters>
     <listOfRules>
      <rateRule variable="x"><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/><ci>w</ci><ci>y</ci></apply></math></rateRule>
      <rateRule variable="y"><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/><cn>-1</cn><ci>w</ci><ci>x</ci></apply></math></rateRule>
     </listOfRules></model></sbml>"""
    model = build_sbml_model(read_model_math(text))
    t = np.linspace(0.0, 0.01, 11)
    res = simulate_sbml(model, t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res["x"], np.cos(1e4 * t), atol=1e-7)
    np.testing.assert_allclose(res["y"], -np.sin(1e4 * t), atol=1e-7)
