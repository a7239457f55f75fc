"""The numba kernels against a plain-NumPy twin, and the analytic Jacobian against finite differences."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy_oracle import jacobian_fd, rhs
from strategies import random_networks

from il6sim import compile_network, load_model
from il6sim.network import Compartment, Network, Parameter, RateExpr, Reaction, Species


@settings(max_examples=150, deadline=None)
@given(net=random_networks(), seed=st.integers(0, 2**32 - 1))
def test_rhs_equals_numpy_twin(net: Network, seed: int) -> None:
    cn = compile_network(net)
    c = np.random.default_rng(seed).uniform(0.0, 5.0, cn.n_species)
    np.testing.assert_allclose(cn.rhs(c), rhs(net, c), rtol=1e-12, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(net=random_networks(), seed=st.integers(0, 2**32 - 1))
def test_jacobian_equals_finite_differences(net: Network, seed: int) -> None:
    cn = compile_network(net)
    c = np.random.default_rng(seed).uniform(0.5, 5.0, cn.n_species)
    jac = cn.jacobian(c)
    fd = jacobian_fd(net, c)
    scale = np.max(np.abs(jac)) + 1e-12
    np.testing.assert_allclose(jac, fd, rtol=1e-5, atol=1e-6 * scale)


def test_shipped_model_kernels_match_twin() -> None:
    net = load_model("il6")
    cn = compile_network(net)
    c = np.random.default_rng(1).uniform(0.0, 2.0, cn.n_species)
    np.testing.assert_allclose(cn.rhs(c), rhs(net, c), rtol=1e-12, atol=1e-15)
    jac, fd = cn.jacobian(c), jacobian_fd(net, c)
    np.testing.assert_allclose(jac, fd, rtol=1e-5, atol=1e-7 * np.max(np.abs(jac)))


def test_mass_action_has_no_factorial_factor() -> None:
    """2 A -> B with rate constant k: v = k [A]^2 and d[A]/dt = -2 k [A]^2 (SBML/COPASI)."""
    net = Network(
        "dimer", (Compartment("c", 1.0),), (Species("a", "c", 3.0), Species("b", "c", 0.0)),
        (Parameter("k", 0.5, "1/(nM*h)"),),
        (Reaction("r", (("a", 2.0),), (("b", 1.0),), RateExpr.of("k"), compartment="c"),),
    )
    cn = compile_network(net)
    assert cn.rates(cn.x0)[0] == pytest.approx(0.5 * 9.0)
    assert cn.rhs(cn.x0).tolist() == pytest.approx([-9.0, 4.5])


def test_transport_conserves_amount_between_volumes() -> None:
    """a (3 l) -> b (1 l) at k[a] per hour in a's volume: b gains 3x what a loses in concentration."""
    net = Network(
        "transport", (Compartment("big", 3.0), Compartment("small", 1.0)),
        (Species("a", "big", 2.0), Species("b", "small", 0.0)),
        (Parameter("k", 0.1, "1/h"),),
        (Reaction("r", (("a", 1.0),), (("b", 1.0),), RateExpr.of("k"), compartment="big"),),
    )
    cn = compile_network(net)
    assert cn.rhs(cn.x0).tolist() == pytest.approx([-0.2, 0.6])
    law = cn.conservation_laws
    assert law.shape == (1, 2)
    assert law[0, 1] / law[0, 0] == pytest.approx(1 / 3)  # amount: 3 l·[a] + 1 l·[b]


def test_one_compilation_serves_every_network() -> None:
    from il6sim import _kernels

    nets = [load_model("models/examples/binding.toml"), load_model("il6")]
    for net in nets:
        cn = compile_network(net)
        cn.rhs(cn.x0)
        cn.jacobian(cn.x0)
    for kernel in (_kernels.rhs, _kernels.jacobian, _kernels.rate_constants):
        assert len(kernel.signatures) == 1, kernel


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="already running without the JIT")
def test_kernel_tests_pass_without_jit() -> None:
    """Run the kernel tests with NUMBA_DISABLE_JIT=1 so the kernel bodies run as plain Python."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_kernels.py",
         "-k", "not without_jit and not one_compilation",],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


# ---------------------------------------------------------------------------------------------
# The kernels the jitted solver uses: expanded-order right-hand side and Jacobian values scattered
# to given positions, against the general kernels (themselves checked against the NumPy twin).
@settings(max_examples=100, deadline=None)
@given(net=random_networks(), seed=st.integers(0, 2**32 - 1))
def test_expanded_and_lane_kernels_equal_general_kernels(net: Network, seed: int) -> None:
    """The expanded-order right-hand side, and the lane kernels (four rows at once, each with its own
    state, input and rate constants), against the general one-row kernels."""
    from il6sim import _kernels

    cn = compile_network(net)
    n, lanes = cn.n_species, _kernels.LANES
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.0, 5.0, (n, lanes))
    u = rng.uniform(0.0, 1.0, (n, lanes))
    k = cn.rate_constants()[:, None] * rng.uniform(0.5, 2.0, (1, lanes))
    e_ptr, e_sp, ok = _kernels.expand_orders(cn.r_ptr, cn.r_sp, cn.r_ord)
    integer_orders = bool(np.all((cn.r_ord >= 1) & (cn.r_ord <= 8) & (cn.r_ord == np.round(cn.r_ord))))
    assert ok == integer_orders
    if not ok:
        assert e_ptr.size == 0 and e_sp.size == 0
    # Dense row-major positions make the scattered Jacobian the dense one.
    half_of = np.repeat(np.arange(len(cn.r_ptr) - 1), np.diff(cn.r_ptr))
    counts = [cn.s_ptr[h // 2 + 1] - cn.s_ptr[h // 2] for h in half_of]
    jac_ptr = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    jac_pos = np.concatenate([cn.s_sp[cn.s_ptr[h // 2]:cn.s_ptr[h // 2 + 1]] * n + cn.r_sp[a]
                              for a, h in enumerate(half_of)] or [np.zeros(0, np.int64)]).astype(np.int64)
    no_expansion = np.zeros(0, np.int64)
    lane_rhs = _kernels.rhs_lanes_into(c, k, u, cn.r_ptr, cn.r_sp, cn.r_ord, e_ptr, e_sp, cn.s_ptr, cn.s_sp,
                                       cn.s_coef, np.empty((n, lanes)))
    lane_rhs_general = _kernels.rhs_lanes_into(c, k, u, cn.r_ptr, cn.r_sp, cn.r_ord, no_expansion, no_expansion,
                                               cn.s_ptr, cn.s_sp, cn.s_coef, np.empty((n, lanes)))
    e_half_of = np.repeat(np.arange(len(cn.r_ptr) - 1), np.diff(e_ptr)) if ok else np.zeros(0, np.int64)
    e_counts = [cn.s_ptr[h // 2 + 1] - cn.s_ptr[h // 2] for h in e_half_of]
    e_jac_ptr = np.concatenate(([0], np.cumsum(e_counts))).astype(np.int64)
    e_jac_pos = np.concatenate([cn.s_sp[cn.s_ptr[h // 2]:cn.s_ptr[h // 2 + 1]] * n + e_sp[a]
                                for a, h in enumerate(e_half_of)] or [np.zeros(0, np.int64)]).astype(np.int64)
    lane_jac = _kernels.jacobian_lanes_into(c, k, cn.r_ptr, cn.r_sp, cn.r_ord, e_ptr, e_sp, cn.s_ptr, cn.s_coef,
                                            jac_pos, jac_ptr, e_jac_pos, e_jac_ptr, np.empty((n * n, lanes)))
    lane_jac_general = _kernels.jacobian_lanes_into(c, k, cn.r_ptr, cn.r_sp, cn.r_ord, no_expansion, no_expansion,
                                                    cn.s_ptr, cn.s_coef, jac_pos, jac_ptr, no_expansion, no_expansion,
                                                    np.empty((n * n, lanes)))
    for lane in range(lanes):
        cl, ul, kl = c[:, lane].copy(), u[:, lane].copy(), k[:, lane].copy()
        general = _kernels.rhs_into(cl, kl, ul, *cn.kernel_args(), np.empty(n))
        tol = dict(rtol=1e-13, atol=1e-13 * (np.max(np.abs(general)) + 1.0))
        if ok:
            fast = _kernels.rhs_expanded_into(cl, kl, ul, e_ptr, e_sp, cn.s_ptr, cn.s_sp, cn.s_coef, np.empty(n))
            np.testing.assert_allclose(fast, general, **tol)
        np.testing.assert_allclose(lane_rhs[:, lane], general, **tol)
        np.testing.assert_allclose(lane_rhs_general[:, lane], general, **tol)
        jac = _kernels.jacobian(cl, kl, *cn.kernel_args())
        for got in (lane_jac, lane_jac_general):
            np.testing.assert_allclose(got[:, lane].reshape(n, n), jac, rtol=1e-13, atol=1e-300)


def test_expand_orders_rejects_fractional_orders() -> None:
    from il6sim import _kernels

    e_ptr, e_sp, ok = _kernels.expand_orders(np.array([0, 2]), np.array([0, 1]), np.array([1.0, 0.5]))
    assert not ok and e_ptr.size == 0
    e_ptr, e_sp, ok = _kernels.expand_orders(np.array([0, 2, 3]), np.array([0, 1, 1]), np.array([2.0, 1.0, 1.0]))
    assert ok and e_ptr.tolist() == [0, 3, 4] and e_sp.tolist() == [0, 0, 1, 1]
