"""Tests of the oracle itself (``tests/closed_forms.py``); independent of il6sim.

Each closed form is checked two ways that share no code with it:

* algebraically: the returned equilibrium satisfies every mass balance and every
  ``Kd`` relation to 1e-12 relative (the closed forms avoid cancellation, so this holds
  across totals and dissociation constants spanning 1e-3..1e3 nM);
* dynamically: a tight ``scipy.integrate.solve_ivp`` Radau integration of a plain-numpy
  right-hand side written out here by hand, run to (near) equilibrium, or sampled along
  the time course, agrees with the closed form.  Linear systems are also checked against
  a 60-digit decimal evaluation of Sylvester's formula for the matrix exponential.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import closed_forms as cf
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.optimize import brentq


def expm2_apply(m, t, x0, digits=60):
    """``expm(M t) @ x0`` for a 2x2 matrix with distinct real eigenvalues, in 60-digit decimal.

    ``m`` is a callable returning the matrix entries as ``Decimal`` (built from the rate
    constants inside the 60-digit context: for the stiff cases the slow eigenvalue is a
    near-cancellation of the entries, so a float-rounded matrix would already be ~1e-8 off).

    Uses Sylvester's formula ``[e^{l1 t}(M - l2 I) - e^{l2 t}(M - l1 I)] / (l1 - l2)``
    literally; its cancellations are harmless at 60 digits.  (``scipy.linalg.expm`` is not
    used as the reference: for the stiff, strongly non-normal matrices here its error reaches
    ~1e-7 relative at long times.)
    """
    with localcontext() as ctx:
        ctx.prec = digits
        md = m()
        x = [Decimal(float(v)) for v in x0]
        tr = md[0][0] + md[1][1]
        det = md[0][0] * md[1][1] - md[0][1] * md[1][0]
        disc = (tr * tr - 4 * det).sqrt()
        l1, l2 = (tr + disc) / 2, (tr - disc) / 2
        out = []
        for ti in np.atleast_1d(t):
            td = Decimal(float(ti))
            e1, e2 = (l1 * td).exp(), (l2 * td).exp()
            row = []
            for i in range(2):
                acc = Decimal(0)
                for j in range(2):
                    eye = 1 if i == j else 0
                    acc += ((md[i][j] - l2 * eye) * e1 - (md[i][j] - l1 * eye) * e2) * x[j]
                row.append(float(acc / (l1 - l2)))
            out.append(row)
    return np.array(out).T


# log-uniform positive floats: 10**x for x in [lo, hi]
def logfloats(lo, hi):
    return st.floats(min_value=lo, max_value=hi, allow_nan=False).map(lambda x: 10.0**x)


HYP = settings(max_examples=200, derandomize=True, deadline=None)


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# ---------------------------------------------------------------------------------------------
# L + R <=> C
# ---------------------------------------------------------------------------------------------


@HYP
@given(l0=logfloats(-3, 3), r0=logfloats(-3, 3), kd=logfloats(-3, 3))
def test_binding_equilibrium_satisfies_equations(l0, r0, kd):
    eq = cf.binding_equilibrium(l0, r0, kd)
    assert eq.ligand > 0 and eq.receptor > 0 and eq.complex > 0
    assert rel(eq.ligand + eq.complex, l0) < 1e-12
    assert rel(eq.receptor + eq.complex, r0) < 1e-12
    assert rel(eq.ligand * eq.receptor, kd * eq.complex) < 1e-12


def test_binding_equilibrium_readme_example():
    # models/README.md: L0 = 10 nM, R0 = 5 nM, Kd = 2 nM -> 3.7830 nM
    eq = cf.binding_equilibrium(10.0, 5.0, 2.0)
    s = 17.0
    assert eq.complex == pytest.approx((s - math.sqrt(s * s - 200.0)) / 2, rel=1e-14)
    assert round(eq.complex, 4) == 3.7830


def test_binding_equilibrium_edge_cases():
    assert cf.binding_equilibrium(0.0, 5.0, 1.0).complex == 0.0
    eq = cf.binding_equilibrium(0.0, 5.0, 1.0)
    assert eq.receptor == pytest.approx(5.0, rel=1e-15) and eq.ligand == 0.0
    with pytest.raises(ValueError):
        cf.binding_equilibrium(1.0, 1.0, 0.0)


def _binding_rhs(kon, koff):
    def rhs(t, y):
        l, r, c = y
        v = kon * l * r - koff * c
        return [-v, -v, v]

    def jac(t, y):
        l, r, c = y
        return [[-kon * r, -kon * l, koff], [-kon * r, -kon * l, koff], [kon * r, kon * l, -koff]]

    return rhs, jac


@pytest.mark.parametrize(
    "kon,kd,l0,r0",
    [(1.0, 2.0, 10.0, 5.0), (1e-2, 1e-2, 1.0, 3.0), (1e2, 1e2, 0.5, 50.0), (1e-4, 1e3, 1e3, 1.0)],
)
def test_binding_equilibrium_matches_radau(kon, kd, l0, r0):
    koff = kon * kd
    rhs, jac = _binding_rhs(kon, koff)
    eq = cf.binding_equilibrium(l0, r0, kd)
    lam = kon * (eq.ligand + eq.receptor) + koff  # relaxation rate at equilibrium
    t_end = 60.0 / lam
    sol = solve_ivp(rhs, (0, t_end), [l0, r0, 0.0], method="Radau", jac=jac,
                    rtol=1e-12, atol=1e-16 * max(l0, r0))
    assert sol.success
    l, r, c = sol.y[:, -1]
    assert rel(c, eq.complex) < 1e-8
    assert rel(l, eq.ligand) < 1e-8
    assert rel(r, eq.receptor) < 1e-8


# ---------------------------------------------------------------------------------------------
# Wang 1995 competition, and the ligand / receptor / decoy relabelling
# ---------------------------------------------------------------------------------------------


@HYP
@given(p0=logfloats(-3, 3), a0=logfloats(-3, 3), b0=logfloats(-3, 3),
       ka=logfloats(-3, 3), kb=logfloats(-3, 3))
def test_wang_satisfies_mass_balance_and_kd(p0, a0, b0, ka, kb):
    s = cf.wang_competitive_binding(p0, a0, b0, ka, kb)
    assert min(s.p, s.a, s.b, s.pa, s.pb) > 0
    assert rel(s.p + s.pa + s.pb, p0) < 1e-12
    assert rel(s.a + s.pa, a0) < 1e-12
    assert rel(s.b + s.pb, b0) < 1e-12
    assert rel(s.p * s.a, ka * s.pa) < 1e-12
    assert rel(s.p * s.b, kb * s.pb) < 1e-12
    # and P is a root of Wang's cubic (relative to the size of its terms)
    a, b, c = cf._wang_cubic_coefficients(p0, a0, b0, ka, kb)
    terms = [s.p**3, a * s.p**2, b * s.p, c]
    assert abs(sum(terms)) <= 1e-11 * max(abs(x) for x in terms)


@HYP
@given(p0=logfloats(-3, 3), a0=logfloats(-3, 3), b0=logfloats(-3, 3),
       ka=logfloats(-3, 3), kb=logfloats(-3, 3))
def test_wang_trig_formula_is_the_same_root(p0, a0, b0, ka, kb):
    """The published trigonometric root (unpolished) is the root the polish converges to.

    Its *absolute* accuracy is a small multiple of ``eps * max(|a|, sqrt(a²-3b), P0)``
    (cancellation in ``2 sqrt(a²-3b) cos(θ/3) - a`` and the ill-conditioned arccos near ±1),
    so its *relative* error can be large when P is tiny -- measured up to 700 % over
    1e-3..1e3 nM -- which is why ``wang_competitive_binding`` polishes it.  Check the
    absolute bound (measured worst case 2.4e-11 on 1e5 random draws; allow 1e-10).
    """
    polished = cf.wang_competitive_binding(p0, a0, b0, ka, kb).p
    trig = cf.wang_free_protein_trig(p0, a0, b0, ka, kb)
    a, b, _ = cf._wang_cubic_coefficients(p0, a0, b0, ka, kb)
    scale = max(abs(a), math.sqrt(max(a * a - 3 * b, 0.0)), p0)
    assert abs(trig - polished) <= 1e-10 * scale


def test_wang_independent_root_finder():
    """Against a bracketing solve of the P mass balance (brentq to full precision)."""
    rng = np.random.default_rng(1995)
    for _ in range(200):
        p0, a0, b0, ka, kb = 10.0 ** rng.uniform(-3, 3, size=5)

        def g(p, p0=p0, a0=a0, b0=b0, ka=ka, kb=kb):
            return p + a0 * p / (ka + p) + b0 * p / (kb + p) - p0

        p_ref = brentq(g, 0.0, p0, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
        assert rel(cf.wang_competitive_binding(p0, a0, b0, ka, kb).p, p_ref) < 1e-12


def test_wang_reduces_to_quadratic_without_competitor():
    for p0, a0, ka in [(5.0, 10.0, 2.0), (1e-3, 1e3, 1e-3), (1e3, 1e-3, 1.0)]:
        s = cf.wang_competitive_binding(p0, a0, 0.0, ka, 1.0)
        q = cf.binding_equilibrium(a0, p0, ka)
        assert rel(s.pa, q.complex) < 1e-12
        assert rel(s.p, q.receptor) < 1e-12
        assert s.pb == 0.0


def test_decoy_is_wang_relabelled():
    d = cf.ligand_receptor_decoy_equilibrium(2.0, 5.0, 30.0, 0.1, 3.0)
    w = cf.wang_competitive_binding(2.0, 5.0, 30.0, 0.1, 3.0)
    assert (d.ligand, d.receptor, d.decoy, d.ligand_receptor, d.ligand_decoy) == (
        w.p, w.a, w.b, w.pa, w.pb)
    assert rel(d.ligand + d.ligand_receptor + d.ligand_decoy, 2.0) < 1e-13


@pytest.mark.parametrize(
    "p0,a0,b0,ka,kb,kon_a,kon_b",
    [
        (5.0, 10.0, 20.0, 1.0, 3.0, 1.0, 0.1),
        (1.0, 1e3, 10.0, 1e-3, 1e2, 1e-2, 1e2),
        (100.0, 1.0, 0.1, 10.0, 1e-3, 1e3, 1e-4),
    ],
)
def test_wang_matches_radau(p0, a0, b0, ka, kb, kon_a, kon_b):
    def rhs(t, y):
        p, a, b, pa, pb = y
        va = kon_a * p * a - kon_a * ka * pa
        vb = kon_b * p * b - kon_b * kb * pb
        return [-va - vb, -va, -vb, va, vb]

    def jac(t, y):
        p, a, b, pa, pb = y
        da = [kon_a * a, kon_a * p, 0.0, -kon_a * ka, 0.0]  # d va / d(p, a, b, pa, pb)
        db = [kon_b * b, 0.0, kon_b * p, 0.0, -kon_b * kb]
        return [[-u - v for u, v in zip(da, db)], [-u for u in da], [-v for v in db], da, db]

    s = cf.wang_competitive_binding(p0, a0, b0, ka, kb)
    # the same horizon rule as test_equilibria: 60 / (lower bound of the slowest rate)
    lam = cf.competition_slowest_rate_lower_bound(s.p, s.a, s.b, kon_a, ka, kon_b, kb)
    sol = solve_ivp(rhs, (0, 60.0 / lam), [p0, a0, b0, 0.0, 0.0], method="Radau", jac=jac,
                    rtol=1e-12, atol=1e-18 * max(p0, a0, b0))
    assert sol.success
    p, a, b, pa, pb = sol.y[:, -1]
    for x, ref in [(pa, s.pa), (pb, s.pb), (p, s.p)]:
        assert abs(x - ref) <= 1e-8 * ref + 1e-12 * max(p0, a0, b0)


# ---------------------------------------------------------------------------------------------
# synthesis / turnover
# ---------------------------------------------------------------------------------------------


def test_turnover_steady_state():
    assert cf.receptor_turnover_steady_state(3.0, 0.5) == 6.0


@pytest.mark.parametrize(
    "ksyn,kdeg,kon,kd,kint,lig",
    [(1.0, 0.1, 1.0, 1.0, 0.3, 2.0), (1e-3, 1e-4, 1e4, 1e-3, 1e2, 1e-2),
     (1e3, 1e2, 1e-4, 1e3, 1e-4, 1e3)],
)
def test_turnover_with_ligand_steady_state(ksyn, kdeg, kon, kd, kint, lig):
    koff = kon * kd
    s = cf.receptor_turnover_with_ligand_steady_state(ksyn, kdeg, kon, koff, kint, lig)
    # linear algebra: J x = -source
    jac = np.array([[-(kdeg + kon * lig), koff], [kon * lig, -(koff + kint)]])
    x = np.linalg.solve(jac, [-ksyn, 0.0])
    assert rel(s.receptor, x[0]) < 1e-12 and rel(s.complex, x[1]) < 1e-12
    # residuals
    assert abs(ksyn - kdeg * s.receptor - kint * s.complex) <= 1e-13 * ksyn
    assert rel(kon * lig * s.receptor, (koff + kint) * s.complex) < 1e-13
    # rates
    slow, fast = cf.turnover_with_ligand_rates(kdeg, kon, koff, kint, lig)
    ev = np.sort(-np.linalg.eigvals(jac).real)
    assert rel(slow, ev[0]) < 1e-9 and rel(fast, ev[1]) < 1e-12
    # dynamics from R = C = 0
    sol = solve_ivp(lambda t, y: jac @ y + [ksyn, 0.0], (0, 60.0 / slow), [0.0, 0.0],
                    method="Radau", jac=lambda t, y: jac, rtol=1e-12, atol=1e-16 * s.receptor)
    assert rel(sol.y[0, -1], s.receptor) < 1e-8 and rel(sol.y[1, -1], s.complex) < 1e-8


# ---------------------------------------------------------------------------------------------
# time courses
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1e-4, 1e-1, 1.0, 1e2, 1e4])
def test_decay_matches_radau(k):
    t = np.linspace(0, 10.0 / k, 51)
    sol = solve_ivp(lambda t, y: -k * y, (0, t[-1]), [7.0], t_eval=t, method="Radau",
                    jac=lambda t, y: [[-k]], rtol=1e-11, atol=1e-20)
    np.testing.assert_allclose(sol.y[0], cf.first_order_decay(t, 7.0, k), rtol=1e-8, atol=0)


@pytest.mark.parametrize("kf,kr", [(1.0, 2.0), (1e-4, 1e4), (1e4, 1e-4), (1e3, 1e2)])
def test_isomerisation_matches_decimal_and_radau(kf, kr):
    a0, b0 = 3.0, 0.5
    kappa = kf + kr
    t = np.concatenate([[0.0], np.logspace(-3, 1.3, 40) / kappa])
    a, b = cf.reversible_isomerisation(t, a0, b0, kf, kr)
    m = np.array([[-kf, kr], [kf, -kr]])
    dkf, dkr = Decimal(kf), Decimal(kr)
    ref = expm2_apply(lambda: [[-dkf, dkr], [dkf, -dkr]], t, [a0, b0])
    np.testing.assert_allclose(a, ref[0], rtol=1e-13, atol=0)
    np.testing.assert_allclose(b, ref[1], rtol=1e-13, atol=0)
    sol = solve_ivp(lambda t, y: m @ y, (0, t[-1]), [a0, b0], t_eval=t, method="Radau",
                    jac=lambda t, y: m, rtol=1e-11, atol=1e-18)
    np.testing.assert_allclose(sol.y[0], a, rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(sol.y[1], b, rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(a + b, a0 + b0, rtol=1e-14)


# Rate constants span 1e-4..1e4 1/h and volume ratios 1e-2..1e2.  A case like
# (1e4, 1e4, 1e-4) is avoided: there the slow eigenvalue k21*kel/(...) is a 1e-8-relative
# near-cancellation of the float matrix entries, so *any* float integrator is ~1e-8 off and
# scipy's Radau crawls (tens of thousands of steps) -- a test of float arithmetic, not of the
# closed form.
TWO_CPT = [
    # k12, k21, kel, v1, v2
    (1.0, 0.5, 0.2, 3.0, 15.0),
    (1e-4, 1e2, 1.0, 1.0, 1.0),
    (1e3, 1e-3, 1e-1, 5.0, 0.05),
    (1e-2, 1e-2, 1e4, 2.0, 20.0),
    (10.0, 1.0, 0.0, 3.0, 12.0),
    (1e4, 1e4, 1e-1, 1.0, 100.0),
]


@pytest.mark.parametrize("k12,k21,kel,v1,v2", TWO_CPT)
def test_two_compartment_matches_decimal_and_radau(k12, k21, kel, v1, v2):
    a0, b0 = 4.0, 1.0
    lam_fast, lam_slow = cf.two_compartment_eigenvalues(k12, k21, kel)
    m = cf.two_compartment_matrix(k12, k21, kel, v1, v2)
    ev = np.sort(np.linalg.eigvals(m).real)
    assert lam_fast == pytest.approx(ev[0], rel=1e-12)
    assert lam_slow == pytest.approx(ev[1], rel=1e-9, abs=1e-12 * abs(lam_fast))
    t_end = 8.0 / abs(lam_slow) if lam_slow != 0 else 50.0 / abs(lam_fast)
    t = np.concatenate([[0.0], np.logspace(np.log10(1e-3 / abs(lam_fast)), np.log10(t_end), 50)])
    a, b = cf.two_compartment_linear(t, a0, b0, k12, k21, kel, v1, v2)
    def m_dec():
        d12, d21, del_, dv1, dv2 = (Decimal(x) for x in (k12, k21, kel, v1, v2))
        return [[-(d12 + del_), d21 * dv2 / dv1], [d12 * dv1 / dv2, -d21]]

    ref = expm2_apply(m_dec, t, [a0, b0])
    scale = max(a0, b0, a0 * v1 / v2, b0 * v2 / v1)
    np.testing.assert_allclose(a, ref[0], rtol=1e-11, atol=0)
    np.testing.assert_allclose(b, ref[1], rtol=1e-11, atol=0)
    sol = solve_ivp(lambda t, y: m @ y, (0, t[-1]), [a0, b0], t_eval=t, method="Radau",
                    jac=lambda t, y: m, rtol=1e-11, atol=1e-18 * scale)
    np.testing.assert_allclose(sol.y[0], a, rtol=1e-8, atol=1e-13 * scale)
    np.testing.assert_allclose(sol.y[1], b, rtol=1e-8, atol=1e-13 * scale)
    if kel == 0.0:  # amount is conserved
        np.testing.assert_allclose(v1 * a + v2 * b, v1 * a0 + v2 * b0, rtol=1e-13)


@HYP
@given(k12=logfloats(-4, 4), k21=logfloats(-4, 4), kel=logfloats(-4, 4), t=logfloats(-6, 6))
def test_two_compartment_initial_value_and_semigroup(k12, k21, kel, t):
    """x(0) = x0, x(t) >= 0, and x(2t) = x(t) propagated for another t, across 8 decades of
    rate constants and 12 of time (a solution formula that is wrong anywhere fails this)."""
    v1, v2, a0, b0 = 3.0, 7.0, 2.0, 5.0
    a, b = cf.two_compartment_linear(0.0, a0, b0, k12, k21, kel, v1, v2)
    assert rel(float(a), a0) < 1e-14 and rel(float(b), b0) < 1e-14
    x_t = np.array(cf.two_compartment_linear(t, a0, b0, k12, k21, kel, v1, v2), dtype=float)
    x_2t = np.array(cf.two_compartment_linear(2 * t, a0, b0, k12, k21, kel, v1, v2), dtype=float)
    x_2t_from_t = np.array(cf.two_compartment_linear(t, x_t[0], x_t[1], k12, k21, kel, v1, v2),
                           dtype=float)
    assert np.all(x_t >= 0) and np.all(x_2t >= 0)
    np.testing.assert_allclose(x_2t_from_t, x_2t, rtol=1e-10, atol=1e-300)
