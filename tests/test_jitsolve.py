"""The jitted Rosenbrock integrator (``il6sim._jitsolve``): order, accuracy against scipy Radau on the
shipped model, protocol semantics, failure isolation in batches and independence of the output grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import il6sim
from il6sim import _jitsolve as js
from il6sim.batch import batch_arrays, run_batch
from il6sim.network import Compartment, Network, Parameter, RateExpr, Reaction, Species
from il6sim.regimen import build_run
from il6sim.solve import SOLVERS, SolverOptions

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p.stem for p in (ROOT / "models" / "scenarios").glob("*.toml"))
DRUGS = ["tocilizumab", "siltuximab"]

# A + B -> C (rate constant K_AB) as raw kernel arrays: a nonlinear problem with a closed form.
AB_ARRAYS = (np.array([0, 2, 2]), np.array([0, 1]), np.array([1.0, 1.0]),
             np.array([0, 3]), np.array([0, 1, 2]), np.array([-1.0, -1.0, 1.0]))
K_AB, A0, B0 = 2.0, 3.0, 1.0
# A <=> B as raw kernel arrays (linear).
ISO_ARRAYS = (np.array([0, 1, 2]), np.array([0, 1]), np.array([1.0, 1.0]),
              np.array([0, 2]), np.array([0, 1]), np.array([-1.0, 1.0]))


def ab_exact(t: float) -> np.ndarray:
    d = A0 - B0
    e = np.exp(-d * K_AB * t)
    b = d * B0 * e / (A0 - B0 * e)
    return np.array([b + d, b, B0 - b])


def iso_exact(t: float, kf: float, kr: float) -> np.ndarray:
    b = kf / (kf + kr) * (1.0 - np.exp(-(kf + kr) * t))
    return np.array([1.0 - b, b])


def fixed_step_errors(method: int, arrays: tuple, y0: np.ndarray, k: np.ndarray, exact, ns: list[int],
                      t_end: float = 2.0) -> list[float]:
    """Largest error at the step points of ``n`` constant steps, for each ``n`` in ``ns``."""
    errs = []
    for n_steps in ns:
        grid = np.linspace(0.0, t_end, n_steps + 1)
        st, y_out, *_ = js.integrate(y0, 0.0, t_end, grid, k, np.zeros(len(y0)), *arrays, 1.0,
                                     np.ones(len(y0)), 100000, t_end / n_steps, np.inf, method, True)
        assert st == 0
        errs.append(max(float(np.max(np.abs(y_out[i] - exact(t)))) for i, t in enumerate(grid)))
    return errs


def slope(ns: list[int], errs: list[float]) -> float:
    return float(-np.polyfit(np.log(ns), np.log(errs), 1)[0])


@pytest.mark.parametrize(("method", "order"), [("Rodas5P", 5), ("Rodas4", 4)])
def test_fixed_step_convergence_order_nonlinear(method: str, order: int) -> None:
    ns = [80, 160, 320, 640]  # asymptotic range (h * |df/dy| <= 0.3)
    errs = fixed_step_errors(js.METHODS[method], AB_ARRAYS, np.array([A0, B0, 0.0]), np.array([K_AB, 0.0]),
                             ab_exact, ns)
    assert slope(ns, errs) == pytest.approx(order, abs=0.25)
    assert slope(ns[-2:], errs[-2:]) == pytest.approx(order, abs=0.1)


@pytest.mark.parametrize(("method", "order"), [("Rodas5P", 5), ("Rodas4", 4)])
def test_fixed_step_convergence_order_linear(method: str, order: int) -> None:
    ns = [5, 10, 20, 40]
    kf, kr = 1.0, 0.5
    errs = fixed_step_errors(js.METHODS[method], ISO_ARRAYS, np.array([1.0, 0.0]), np.array([kf, kr]),
                             lambda t: iso_exact(t, kf, kr), ns)
    assert slope(ns, errs) >= order - 0.2


def test_dense_output_converges() -> None:
    """The interpolant between steps converges at least at order 4 (Rodas5P's dense output)."""
    errs, ns = [], [10, 20, 40, 80]
    for n_steps in ns:
        t_out = np.linspace(0.0, 2.0, 4 * n_steps + 1)[1::2]  # quarter and three-quarter points of steps
        st, y_out, *_ = js.integrate(np.array([A0, B0, 0.0]), 0.0, 2.0, t_out, np.array([K_AB, 0.0]),
                                     np.zeros(3), *AB_ARRAYS, 1.0, np.ones(3), 100000, 2.0 / n_steps, np.inf, 0,
                                     True)
        assert st == 0
        errs.append(max(np.max(np.abs(y_out[i] - ab_exact(t))) for i, t in enumerate(t_out)))
    assert slope(ns, errs) >= 3.7


@pytest.mark.parametrize("method", ["Rodas5P", "Rodas4"])
def test_adaptive_error_follows_tolerance_on_stiff_problem(method: str) -> None:
    kf, kr = 1.0e4, 1.0
    t_out = np.array([1e-4, 1e-2, 1.0, 10.0])
    previous = np.inf
    for rtol in (1e-4, 1e-6, 1e-8, 1e-10):
        st, y_out, y_end, n_steps, *_ = js.integrate(
            np.array([1.0, 0.0]), 0.0, 10.0, t_out, np.array([kf, kr]), np.zeros(2), *ISO_ARRAYS, rtol,
            np.full(2, rtol * 1e-3), 100000, 0.0, np.inf, js.METHODS[method], False)
        assert st == 0
        err = max(np.max(np.abs(y_out[i] - iso_exact(t, kf, kr))) for i, t in enumerate(t_out))
        assert err < 50 * rtol
        assert err < previous
        previous = err
        assert n_steps < 2000


# ---------------------------------------------------------------------------------------------
# The shipped model against scipy Radau at tight tolerance.
@pytest.fixture
def jit_solver(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(SOLVERS, "jit", js.JitBackend())
    return "jit"


def _runs() -> list[tuple[str, dict]]:
    return [(f"scenario:{s}", {"scenario": s}) for s in SCENARIOS] + [
        (f"drug:{d}", {"drug_groups": [{"drug": d, "at": "7d"}]}) for d in DRUGS]


def _rel_err(a: np.ndarray, b: np.ndarray, floor: float = 0.0) -> float:
    """Largest error of each column relative to that column's largest magnitude (at least ``floor``)."""
    scale = np.maximum(np.max(np.abs(b), axis=0), floor)
    scale[scale == 0] = 1.0
    return float(np.max(np.abs(a - b) / scale))


@pytest.mark.parametrize(("label", "kwargs"), _runs(), ids=[r[0] for r in _runs()])
def test_agrees_with_radau_on_shipped_model(label: str, kwargs: dict, jit_solver: str) -> None:
    run = build_run(il6sim.load_model("il6"), **kwargs)
    ss = il6sim.steady_state(run.network)
    t = np.arange(0.0, run.duration_h + 1.0, 3.0)
    common = dict(parameters=dict(run.parameters), protocol=run.protocol, initial=ss, events_beyond_end="ignore")
    ref = il6sim.simulate(run.network, t, method="Radau", rtol=1e-10, atol=1e-16, **common)
    res = il6sim.simulate(run.network, t, solver=jit_solver, method="Rodas5P", rtol=1e-6, atol=1e-12, **common)
    assert res.status == "success", res.message
    assert res.observable_values.shape[1] > 0
    # An observable that stays at ~0 (tissue damage without an infection: round-off of 1e-33 in the
    # reference) is compared absolutely below 1e-12 of its unit.
    assert _rel_err(res.observable_values, ref.observable_values, floor=1e-12) < 1e-4
    # Species that stay at ~0 nM (the inflammatory drive without a stimulus) are compared absolutely.
    assert _rel_err(res.values, ref.values, floor=1e-9) < 1e-4


def test_batch_rows_match_single_runs_and_radau(jit_solver: str) -> None:
    run = build_run(il6sim.load_model("il6"), drug_groups=[{"drug": "tocilizumab", "at": "7d"}])
    cn = il6sim.compile_network(run.network)
    ss = il6sim.steady_state(run.network)
    t = np.arange(0.0, 28 * 24.0 + 1.0, 6.0)
    rng = np.random.default_rng(3)
    rows = [dict(run.parameters)]
    names = ["kd_il6_sil6r", "k_int"]
    for _ in range(2):
        rows.append({**run.parameters, **{n: float(cn.p0[cn.parameter_index[n]] * rng.uniform(0.5, 2.0))
                                          for n in names}})
    res = run_batch(cn, rows, run.protocol, t, y0=np.asarray(ss.values), rtol=1e-6, atol=1e-12)
    assert res.status.tolist() == [0, 0, 0]
    for i, row in enumerate(rows):
        single = il6sim.simulate(cn, t, parameters=row, protocol=run.protocol, initial=ss, solver=jit_solver,
                                 method="Rodas5P", rtol=1e-6, atol=1e-12, events_beyond_end="ignore")
        np.testing.assert_allclose(res.y[i], single.values, rtol=1e-12, atol=1e-18)
    ref = il6sim.simulate(cn, t, parameters=rows[1], protocol=run.protocol, initial=ss, method="Radau",
                          rtol=1e-10, atol=1e-16, events_beyond_end="ignore")
    assert _rel_err(cn.observables(res.y[1]), ref.observable_values, floor=1e-12) < 1e-4


# ---------------------------------------------------------------------------------------------
# Protocol semantics on a decay network with a closed form.
def decay_network(k: float = 0.5, x0: float = 1.0) -> Network:
    return Network(
        name="decay", compartments=(Compartment("c", 1.0),), species=(Species("a", "c", x0),),
        parameters=(Parameter("k", k, "1/h"),),
        reactions=(Reaction("r1", (("a", 1.0),), (), RateExpr.of("k"), compartment="c"),),
    )


def decay_with_doses(t: np.ndarray, k: float, x0: float, doses: list[tuple[float, float]]) -> np.ndarray:
    out = x0 * np.exp(-k * t)
    for td, d in doses:
        out = out + np.where(t >= td, d * np.exp(-k * np.clip(t - td, 0.0, None)), 0.0)
    return out


def test_events_at_zero_and_at_output_times_count_once(jit_solver: str) -> None:
    net = decay_network()
    cn = il6sim.compile_network(net)
    doses = [(0.0, 2.0), (5.0, 1.0), (10.0, 0.5)]  # 10 h is the last output time
    protocol = il6sim.Protocol(tuple(il6sim.AddConcentration(td, "a", d) for td, d in doses))
    t = np.array([0.0, 2.5, 5.0, 7.5, 10.0])
    exact = decay_with_doses(t, 0.5, 1.0, doses)
    res = run_batch(cn, [{}], protocol, t, rtol=1e-10, atol=1e-14)
    assert res.status.tolist() == [0]
    np.testing.assert_allclose(res.y[0, :, 0], exact, rtol=1e-8)
    # Through simulate() on both backends: the same lowering, so the dose at the last output time shows too.
    sim = il6sim.simulate(cn, t, protocol=protocol, solver=jit_solver, method="Rodas5P", rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(sim["a"], exact, rtol=1e-8)
    ref = il6sim.simulate(cn, t, protocol=protocol, solver="scipy", method="Radau", rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(ref["a"], exact, rtol=1e-8)
    np.testing.assert_allclose(sim["a"], ref["a"], rtol=1e-8)


def test_infusion_and_parameter_events_in_batch() -> None:
    net = decay_network(k=0.5, x0=0.0)
    cn = il6sim.compile_network(net)
    protocol = il6sim.Protocol((il6sim.Infusion(1.0, 3.0, "a", 2.0), il6sim.ScaleParameter(3.0, "k", 2.0),
                                il6sim.SetParameter(4.0, "k", 0.0)))
    t = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 6.0])

    def exact(tt: float) -> float:
        if tt <= 1.0:
            return 0.0
        a3 = 4.0 * (1 - np.exp(-0.5 * (min(tt, 3.0) - 1.0)))
        if tt <= 3.0:
            return a3
        a4 = a3 * np.exp(-1.0 * (min(tt, 4.0) - 3.0))
        return a4

    res = run_batch(cn, [{}], protocol, t, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res.y[0, :, 0], [exact(x) for x in t], rtol=1e-8, atol=1e-14)


def test_parameter_matrix_equals_override_dicts() -> None:
    cn = il6sim.compile_network(decay_network())
    t = np.linspace(0.0, 4.0, 5)
    a = run_batch(cn, [{"k": 0.3}, {"k": 0.7}], il6sim.Protocol(), t)
    b = run_batch(cn, np.array([[0.3], [0.7]]), il6sim.Protocol(), t)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_allclose(a.y[:, -1, 0], np.exp(-np.array([0.3, 0.7]) * 4.0), rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Failures: messages in single runs, isolated rows in batches.
def _shipped_batch_inputs() -> tuple:
    run = build_run(il6sim.load_model("il6"), scenario="covid_severe")
    cn = il6sim.compile_network(run.network)
    ss = np.asarray(il6sim.steady_state(run.network).values)
    return run, cn, ss


def test_failing_rows_do_not_disturb_others() -> None:
    run, cn, ss = _shipped_batch_inputs()
    t = np.arange(0.0, run.duration_h + 1.0, 12.0)
    p = np.tile(cn.parameter_vector(dict(run.parameters)), (4, 1))
    p[1] *= 1.3
    p[2, :] = np.inf  # rate constants inf/NaN: fails at once
    budget = np.array([100000, 100000, 100000, 5])  # row 3: tiny step budget
    res = run_batch(cn, p, run.protocol, t, y0=ss, max_steps=budget)
    assert res.status.tolist() == [0, 0, js.NONFINITE, js.BUDGET]
    assert "NaN or infinite value at t = 0 h" in res.messages[2]
    assert "step budget of 5 steps exceeded at t = " in res.messages[3]
    assert np.isnan(res.y[3, -1]).all() and np.isnan(res.y[2, 1:]).all()
    for i in (0, 1):
        alone = run_batch(cn, p[i:i + 1], run.protocol, t, y0=ss)
        np.testing.assert_array_equal(res.y[i], alone.y[0])


def test_nan_produced_mid_run_is_a_failure() -> None:
    """A rate constant of inf with zero flux is fine at first; NaN appears once the species is dosed."""
    cn = il6sim.compile_network(decay_network(x0=0.0))
    protocol = il6sim.Protocol((il6sim.AddConcentration(2.0, "a", 1.0),))
    res = run_batch(cn, np.array([[np.inf], [0.5]]), protocol, [0.0, 1.0, 3.0])
    assert res.status.tolist() == [js.NONFINITE, 0]
    assert res.messages[0].startswith("NaN or infinite value at t = ")
    np.testing.assert_allclose(res.y[1, :, 0], [0.0, 0.0, np.exp(-0.5)], rtol=1e-5)


def test_backend_messages() -> None:
    run, cn, ss = _shipped_batch_inputs()
    k = cn.rate_constants(cn.parameter_vector(dict(run.parameters)))
    u = np.zeros(cn.n_species)
    u[cn.index_of_species("infl")] = 0.3
    options = SolverOptions(method="Rodas5P", rtol=1e-6, atol=1e-12)
    _, _, stats, err = js.JitBackend(max_steps=3).advance(cn, k, u, 0.0, 100.0, ss, np.array([50.0]), options)
    assert err is not None and "step budget of 3 steps exceeded at t = " in err and err.endswith(" h")
    assert stats["nsteps"] == 3
    bad = k.copy()
    bad[0] = np.nan
    _, _, _, err = js.JitBackend().advance(cn, bad, u, 0.0, 100.0, ss, np.array([50.0]), options)
    assert err is not None and "NaN or infinite value at t = 0 h" in err
    ys, y_end, stats, err = js.JitBackend().advance(cn, k, u, 0.0, 100.0, ss, np.array([50.0, 100.0]), options)
    assert err is None and ys.shape == (2, cn.n_species)
    np.testing.assert_array_equal(ys[-1], y_end)


# ---------------------------------------------------------------------------------------------
def test_results_do_not_depend_on_output_grid() -> None:
    run, cn, ss = _shipped_batch_inputs()
    coarse = np.arange(0.0, run.duration_h + 1.0, 24.0)
    fine = np.union1d(coarse, np.linspace(0.0, run.duration_h, 997))
    a = run_batch(cn, [{}], run.protocol, coarse, y0=ss, base_parameters=run.parameters)
    b = run_batch(cn, [{}], run.protocol, fine, y0=ss, base_parameters=run.parameters)
    idx = np.searchsorted(fine, coarse)
    np.testing.assert_array_equal(a.y[0], b.y[0][idx])
    np.testing.assert_array_equal(a.stats[:, 1:], b.stats[:, 1:])  # same steps and evaluations


def test_unknown_method_is_rejected() -> None:
    cn = il6sim.compile_network(decay_network())
    with pytest.raises(ValueError, match="unknown Rosenbrock method 'Rodas9'.*Rodas5P"):
        run_batch(cn, [{}], il6sim.Protocol(), [0.0, 1.0], method="Rodas9")


def test_jitted_batch_entry_point_equals_run_batch() -> None:
    cn = il6sim.compile_network(decay_network())
    protocol = il6sim.Protocol((il6sim.AddConcentration(0.0, "a", 1.0), il6sim.AddConcentration(1.5, "a", 2.0)))
    t = np.array([0.0, 1.0, 1.5, 3.0])
    rows = [{"k": 0.3}, {"k": 0.9}]
    arr = batch_arrays(cn, rows, protocol, t)
    status, y_out, _ = js.integrate_batch(arr.seg_t, arr.lo, arr.hi, arr.k_rows, arr.u_seg, arr.jump_seg,
                                          arr.y0_rows, arr.t_out, *cn.kernel_args(), 1e-8, np.full(1, 1e-14),
                                          np.full(2, 1000, np.int64))
    res = run_batch(cn, rows, protocol, t, rtol=1e-8, atol=1e-14)
    assert status.tolist() == [0, 0]
    np.testing.assert_array_equal(y_out, res.y)
    exact = decay_with_doses(t, 0.3, 1.0, [(0.0, 1.0), (1.5, 2.0)])
    np.testing.assert_allclose(y_out[0, :, 0], exact, rtol=1e-6)


def test_single_output_time_at_zero_shows_the_doses_at_zero() -> None:
    cn = il6sim.compile_network(decay_network())
    protocol = il6sim.Protocol((il6sim.AddConcentration(0.0, "a", 2.0),))
    res = run_batch(cn, [{}], protocol, [0.0])
    assert res.y[0, :, 0].tolist() == [3.0]


# ---------------------------------------------------------------------------------------------
# The fixed-pattern sparse LU, against dense NumPy linear algebra.
def _drug_network(drug: str) -> Network:
    return build_run(il6sim.load_model("il6"), drug_groups=[{"drug": drug, "at": "7d"}]).network


@pytest.mark.parametrize("drug", DRUGS)
def test_sparse_lu_solves_the_iteration_matrix_of_the_shipped_model(drug: str) -> None:
    from il6sim import _kernels

    net = _drug_network(drug)
    cn = il6sim.compile_network(net)
    n = cn.n_species
    sym = js.symbolic(cn.r_ptr, cn.r_sp, cn.r_ord, cn.s_ptr, cn.s_sp, n)
    perm, row_ptr, col_idx, diag_pos = sym[:4]
    assert sorted(perm.tolist()) == list(range(n))
    rng = np.random.default_rng(5)
    lanes = _kernels.LANES
    c = np.asarray(il6sim.steady_state(net).values)[:, None] * rng.uniform(0.5, 2.0, (n, lanes))
    k = np.tile(cn.rate_constants()[:, None], (1, lanes))
    jv = _kernels.jacobian_lanes_into(c, k, cn.r_ptr, cn.r_sp, cn.r_ord, sym[12], sym[13], cn.s_ptr, cn.s_coef,
                                      sym[11], sym[10], sym[15], sym[14], np.empty((col_idx.size, lanes)))
    jacs = [cn.jacobian(c[:, lane].copy()) for lane in range(lanes)]
    for lane in range(lanes):
        dense = np.zeros((n, n))
        for i in range(n):
            for p in range(row_ptr[i], row_ptr[i + 1]):
                dense[perm[i], perm[col_idx[p]]] = jv[p, lane]
        np.testing.assert_allclose(dense, jacs[lane], rtol=1e-14, atol=0.0)  # also: no entry outside the pattern
    assert col_idx.size < n * n / 3  # the ordering keeps the factors sparse
    inv_hg = np.geomspace(1e-4, 1e4, lanes)  # a different step size in every lane
    wv = -jv
    wv[diag_pos] += inv_hg
    inv_diag = np.empty((n, lanes))
    ok = np.zeros(lanes, dtype=np.bool_)
    js._sparse_factor_lanes(wv, sym, inv_diag, ok)
    assert ok.all()
    b = rng.normal(size=(n, lanes))
    x = b.copy()
    js._sparse_solve_lanes(wv, sym, inv_diag, x, np.empty((n, lanes)))
    for lane in range(lanes):
        want = np.linalg.solve(np.eye(n) * inv_hg[lane] - jacs[lane], b[:, lane])
        np.testing.assert_allclose(x[:, lane], want, rtol=1e-9, atol=1e-12 * np.max(np.abs(want)))


def autocatalytic_network() -> Network:
    """A -> 2 A (k = 2/h) and A <=> B (1/h both ways): J = [[1, 1], [1, -1]], a positive diagonal."""
    return Network(
        name="autocatalysis", compartments=(Compartment("c", 1.0),),
        species=(Species("a", "c", 1.0), Species("b", "c", 0.0)),
        parameters=(Parameter("k", 2.0, "1/h"), Parameter("kf", 1.0, "1/h"), Parameter("kr", 1.0, "1/h")),
        reactions=(Reaction("grow", (("a", 1.0),), (("a", 2.0),), RateExpr.of("k"), compartment="c"),
                   Reaction("iso", (("a", 1.0),), (("b", 1.0),), RateExpr.of("kf"), RateExpr.of("kr"),
                            compartment="c")),
    )


def rosenbrock_step_numpy(jac: np.ndarray, y: np.ndarray, h: float, method: int) -> np.ndarray:
    """One step of the transformed Rosenbrock scheme on y' = J y, solved densely with NumPy."""
    a, c, m = js.TAB_A[method], js.TAB_C[method], js.TAB_M[method]
    s, gamma = int(js.TAB_STAGES[method]), float(js.TAB_GAMMA[method])
    w = np.eye(len(y)) / (h * gamma) - jac
    ks: list[np.ndarray] = []
    for i in range(s):
        arg = y + sum((a[i, j] * ks[j] for j in range(i)), np.zeros_like(y))
        rhs = jac @ arg + sum((c[i, j] / h * ks[j] for j in range(i)), np.zeros_like(y))
        ks.append(np.linalg.solve(w, rhs))
    return y + sum(m[j] * ks[j] for j in range(s))


def test_unsafe_sparse_pivot_falls_back_to_pivoted_dense_lu() -> None:
    cn = il6sim.compile_network(autocatalytic_network())
    sym = js.symbolic(cn.r_ptr, cn.r_sp, cn.r_ord, cn.s_ptr, cn.s_sp, 2)
    assert sym[0].tolist() == [0, 1]  # A is eliminated first
    k = cn.rate_constants()
    jac = cn.jacobian(cn.x0)
    np.testing.assert_allclose(jac, [[1.0, 1.0], [1.0, -1.0]])
    gamma = float(js.TAB_GAMMA[0])
    h = 1.0 / gamma  # W = I/(h γ) - J has a zero where the sparse LU takes its first pivot
    lanes = js.LANES
    wv = np.tile(np.array([[0.0], [-1.0], [-1.0], [2.0]]), (1, lanes))
    wv[0, 1:] = np.resize([1.0, 2e-8, 4.0], lanes - 1)  # only lane 0 meets the zero pivot (2e-8: small but safe)
    ok = np.zeros(lanes, dtype=np.bool_)
    js._sparse_factor_lanes(wv, sym, np.empty((2, lanes)), ok)
    assert ok.tolist() == [False] + [True] * (lanes - 1)
    for step in (h, h * (1 + 1e-6), 0.3 * h):  # fallback, sparse with a small pivot, ordinary sparse
        st, y_out, y_end, *_ = js.integrate(cn.x0, 0.0, step, np.array([step]), k, np.zeros(2), *cn.kernel_args(),
                                            1.0, np.ones(2), 10, step, np.inf, 0, True)
        assert st == 0
        np.testing.assert_allclose(y_end, rosenbrock_step_numpy(jac, cn.x0, step, 0), rtol=1e-9)


def test_threads_do_not_change_results() -> None:
    cn = il6sim.compile_network(decay_network())
    rows = [{"k": 0.1 * (i + 1)} for i in range(13)]
    protocol = il6sim.Protocol((il6sim.AddConcentration(1.0, "a", 1.0),))
    t = np.linspace(0.0, 5.0, 11)
    one = run_batch(cn, rows, protocol, t, threads=1)
    two = run_batch(cn, rows, protocol, t, threads=2)
    np.testing.assert_array_equal(one.y, two.y)
    np.testing.assert_array_equal(one.stats, two.stats)
    np.testing.assert_allclose(one.y[:, :, 0], decay_with_doses(t[None, :], np.array([r["k"] for r in rows])[:, None],
                                                                 1.0, [(1.0, 1.0)]), rtol=1e-5)


def test_a_rows_result_does_not_depend_on_the_rows_beside_it() -> None:
    """Rows share lanes of the integrator but nothing else: a row run alone, in a batch, in reverse
    order or on two threads gives the same bits and the same step counts."""
    run, cn, ss = _shipped_batch_inputs()
    t = np.arange(0.0, run.duration_h + 1.0, 24.0)
    rng = np.random.default_rng(11)
    p = cn.parameter_vector(dict(run.parameters))[None, :] * np.exp(rng.uniform(-0.7, 0.7, (6, len(cn.p0))))
    batch = run_batch(cn, p, run.protocol, t, y0=ss, threads=1)
    backwards = run_batch(cn, p[::-1], run.protocol, t, y0=ss, threads=2)
    assert batch.status.tolist() == [0] * 6
    assert len(set(batch.stats[:, 1].tolist())) > 1  # rows of different cost share the lanes
    for i in range(6):
        alone = run_batch(cn, p[i:i + 1], run.protocol, t, y0=ss, threads=1)
        np.testing.assert_array_equal(alone.y[0], batch.y[i])
        np.testing.assert_array_equal(alone.stats[0], batch.stats[i])
        np.testing.assert_array_equal(backwards.y[5 - i], batch.y[i])


# ---------------------------------------------------------------------------------------------
# The jitted backend against the scipy backend (the reference) at simulate's default tolerances.
@pytest.mark.parametrize(("label", "kwargs"), _runs(), ids=[r[0] for r in _runs()])
def test_jit_agrees_with_scipy_backend_on_every_scenario_and_drug(label: str, kwargs: dict) -> None:
    run = build_run(il6sim.load_model("il6"), **kwargs)
    ss = il6sim.steady_state(run.network)
    t = np.arange(0.0, run.duration_h + 1.0, 3.0)
    common = dict(parameters=dict(run.parameters), protocol=run.protocol, initial=ss, events_beyond_end="ignore")
    ref = il6sim.simulate(run.network, t, solver="scipy", **common)
    res = il6sim.simulate(run.network, t, solver="jit", **common)
    assert ref.status == res.status == "success"
    assert res.provenance["solver_options"]["method"] == "Rodas5P"
    assert res.observable_values.shape[1] > 0
    assert _rel_err(res.observable_values, ref.observable_values, floor=1e-12) < 1e-4


def test_a_method_alone_picks_its_backend() -> None:
    from il6sim.solve import DEFAULT_SOLVER

    net = decay_network()
    t = np.array([0.0, 1.0])
    jit = il6sim.simulate(net, t, method="Rodas5P")
    radau = il6sim.simulate(net, t, method="Radau")
    default = il6sim.simulate(net, t)
    assert jit.provenance["solver_options"]["solver"] == "jit"
    assert radau.provenance["solver_options"]["solver"] == "scipy"
    assert default.provenance["solver_options"]["solver"] == DEFAULT_SOLVER
    for res in (jit, radau, default):
        assert res["a"][-1] == pytest.approx(np.exp(-0.5), rel=1e-6)
    with pytest.raises(il6sim.Il6simError, match="unknown method 'Rodas9'"):
        il6sim.simulate(net, t, method="Rodas9")
