"""Numba kernels over a compiled network's index arrays (the only module, with ``_jitsolve``, that
imports numba).

Every network is described by the same handful of arrays (see :mod:`il6sim.compiled`), so each
kernel is compiled once, cached on disk (``cache=True``) and reused for every network, drug
combination and parameter set.

Array layout (CSR; all index arrays int64, values float64). A network has ``R`` reactions; each has
a forward half ``h = 2j`` and a reverse half ``h = 2j + 1`` (rate constant 0 when irreversible):

* rate constants: ``k[h] = kc_const[h] · Π p[kc_idx[a]] ** kc_exp[a]`` for ``a`` in
  ``kc_ptr[h]:kc_ptr[h+1]``;
* monomials: ``m[h] = k[h] · Π c[r_sp[a]] ** r_ord[a]`` for ``a`` in ``r_ptr[h]:r_ptr[h+1]``;
* net rate of reaction ``j``: ``v[j] = m[2j] − m[2j+1]``. The net rate is formed before it is
  added to species, so rounding scales with the net flux, not with the gross forward and reverse
  fluxes of a fast equilibrium;
* right-hand side: ``dc[s_sp[a]] += s_coef[a] · v[j]`` for ``a`` in ``s_ptr[j]:s_ptr[j+1]``, plus an
  external input ``u`` (infusions, nM/h).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Options in one place: cached on disk, release the GIL (threads can run sweeps), IEEE semantics.
_jit = njit(cache=True, nogil=True, fastmath=False, error_model="numpy")


@_jit
def power(x: float, order: float) -> float:
    """``x ** order`` with fast paths for small integer orders; 0 for x <= 0 and fractional order."""
    if order == 1.0:
        return x
    if order == 0.0:
        return 1.0
    if order == 2.0:
        return x * x
    n = int(order)
    if n == order and 0 < n <= 8:
        out = x
        for _ in range(n - 1):
            out *= x
        return out
    if x <= 0.0:
        return 0.0
    return x**order


@_jit
def power_derivative(x: float, order: float) -> float:
    """d/dx of :func:`power`."""
    if order == 1.0:
        return 1.0
    if order == 0.0:
        return 0.0
    if order == 2.0:
        return 2.0 * x
    return order * power(x, order - 1.0)


@_jit
def rate_constants(p, kc_ptr, kc_idx, kc_exp, kc_const, out):
    """Fill ``out[h]`` with the rate constant of half-reaction ``h``; return ``out``."""
    for j in range(kc_const.shape[0]):
        k = kc_const[j]
        for a in range(kc_ptr[j], kc_ptr[j + 1]):
            e = kc_exp[a]
            if e == 1.0:
                k *= p[kc_idx[a]]
            elif e == -1.0:
                k /= p[kc_idx[a]]
            else:
                k *= p[kc_idx[a]] ** e
        out[j] = k
    return out


@_jit
def monomials(c, k, r_ptr, r_sp, r_ord, out):
    """Fill ``out[h] = k[h] · Π c ** order`` for every half-reaction ``h``; return ``out``."""
    for h in range(k.shape[0]):
        v = k[h]
        if v != 0.0:
            for a in range(r_ptr[h], r_ptr[h + 1]):
                v *= power(c[r_sp[a]], r_ord[a])
        out[h] = v
    return out


@_jit
def _monomial(c, kh, r_ptr, r_sp, r_ord, h):
    v = kh
    for a in range(r_ptr[h], r_ptr[h + 1]):
        v *= power(c[r_sp[a]], r_ord[a])
    return v


@_jit
def rhs_into(c, k, u, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, out):
    """Write dc/dt into ``out`` (nM/h) and return it."""
    for i in range(out.shape[0]):
        out[i] = u[i]
    for j in range(s_ptr.shape[0] - 1):
        v = 0.0
        if k[2 * j] != 0.0:
            v = _monomial(c, k[2 * j], r_ptr, r_sp, r_ord, 2 * j)
        if k[2 * j + 1] != 0.0:
            v -= _monomial(c, k[2 * j + 1], r_ptr, r_sp, r_ord, 2 * j + 1)
        if v != 0.0:
            for a in range(s_ptr[j], s_ptr[j + 1]):
                out[s_sp[a]] += s_coef[a] * v
    return out


@_jit
def rhs(c, k, u, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef):
    """dc/dt as a new array (nM/h)."""
    return rhs_into(c, k, u, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, np.empty_like(c))


@_jit
def jacobian_into(c, k, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, out):
    """Write the analytic Jacobian d(dc/dt)/dc (dense, 1/h) into ``out`` and return it."""
    out[:, :] = 0.0
    for h in range(k.shape[0]):
        kh = k[h]
        if kh == 0.0:
            continue
        j = h // 2
        sign = 1.0 if h % 2 == 0 else -1.0
        start = r_ptr[h]
        stop = r_ptr[h + 1]
        for a in range(start, stop):
            m = r_sp[a]
            d = sign * kh * power_derivative(c[m], r_ord[a])
            if d == 0.0:
                continue
            for b in range(start, stop):
                if b != a:
                    d *= power(c[r_sp[b]], r_ord[b])
            for s in range(s_ptr[j], s_ptr[j + 1]):
                out[s_sp[s], m] += s_coef[s] * d
    return out


@_jit
def jacobian(c, k, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef):
    """The analytic Jacobian as a new (n, n) array."""
    n = c.shape[0]
    return jacobian_into(c, k, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, np.empty((n, n)))


def expand_orders(r_ptr: np.ndarray, r_sp: np.ndarray, r_ord: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Reactant lists with each species repeated by its (integer) order: ``(e_ptr, e_sp, ok)``.

    Plain NumPy (run once per network). ``ok`` is False, and the lists are empty, when some order
    is not an integer in 1..8; then :func:`rhs_expanded_into` does not apply and :func:`rhs_into`
    must be used.
    """
    r_ord = np.asarray(r_ord, dtype=float)
    if r_ord.size and not np.all((r_ord >= 1.0) & (r_ord <= 8.0) & (r_ord == np.round(r_ord))):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), False
    reps = r_ord.astype(np.int64)
    e_sp = np.repeat(np.asarray(r_sp, dtype=np.int64), reps)
    e_ptr = np.zeros(len(r_ptr), dtype=np.int64)
    cum = np.concatenate(([0], np.cumsum(reps)))
    e_ptr[:] = cum[np.asarray(r_ptr, dtype=np.int64)]
    return e_ptr, e_sp, True


@_jit
def rhs_expanded_into(c, k, u, e_ptr, e_sp, s_ptr, s_sp, s_coef, out):
    """:func:`rhs_into` for integer orders over the lists of :func:`expand_orders` (no powers, no
    branches per reactant: about three times faster on the shipped model)."""
    for i in range(out.shape[0]):
        out[i] = u[i]
    for j in range(s_ptr.shape[0] - 1):
        h = 2 * j
        v = k[h]
        if v != 0.0:
            for a in range(e_ptr[h], e_ptr[h + 1]):
                v *= c[e_sp[a]]
        w = k[h + 1]
        if w != 0.0:
            for a in range(e_ptr[h + 1], e_ptr[h + 2]):
                w *= c[e_sp[a]]
        v -= w
        if v != 0.0:
            for a in range(s_ptr[j], s_ptr[j + 1]):
                out[s_sp[a]] += s_coef[a] * v
    return out


# --------------------------------------------------------------------------------------------
# Lane kernels: the same mass action for LANES independent rows at once. Arrays carry a trailing
# lane axis (``c[i, l]``, ``k[h, l]``, ``out[i, l]``) and each lane's arithmetic is exactly that
# of a row computed alone, so a row's result does not depend on which rows share its call. The
# four lanes are spelled out as scalars: numba leaves LLVM's SLP vectoriser off, and four
# independent chains per index load run 2-3x faster per row than one (measured on the shipped
# model: right-hand side 0.27 us per row against 0.62 us alone).
LANES = 4
# Index loads are cast to unsigned: numba wraps negative signed indices (a compare and select on
# every address, on the critical path of these latency-bound loops), not unsigned ones, and no
# index here is negative. Measured on the shipped model: ~18% off the whole integrator, same bits.
_u = np.uint64


@_jit
def rhs_lanes_into(c, k, u, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_sp, s_coef, out):
    """dc/dt of ``LANES`` rows at once into ``out`` (n, LANES); ``e_ptr``/``e_sp`` from
    :func:`expand_orders` (empty: general orders through :func:`power`)."""
    for i in range(out.shape[0]):
        out[i, 0] = u[i, 0]
        out[i, 1] = u[i, 1]
        out[i, 2] = u[i, 2]
        out[i, 3] = u[i, 3]
    expanded = e_ptr.shape[0] > 0
    # The four product loops stay written out: folding them into one helper returning a 4-tuple
    # (commit 5de5d3c) made the whole integrator ~3x slower per row (LLVM stopped inlining it).
    for j in range(s_ptr.shape[0] - 1):
        h = 2 * j
        v0 = k[h, 0]
        v1 = k[h, 1]
        v2 = k[h, 2]
        v3 = k[h, 3]
        w0 = k[h + 1, 0]
        w1 = k[h + 1, 1]
        w2 = k[h + 1, 2]
        w3 = k[h + 1, 3]
        if expanded:
            for a in range(_u(e_ptr[h]), _u(e_ptr[h + 1])):
                sp = _u(e_sp[a])
                v0 *= c[sp, 0]
                v1 *= c[sp, 1]
                v2 *= c[sp, 2]
                v3 *= c[sp, 3]
            for a in range(_u(e_ptr[h + 1]), _u(e_ptr[h + 2])):
                sp = _u(e_sp[a])
                w0 *= c[sp, 0]
                w1 *= c[sp, 1]
                w2 *= c[sp, 2]
                w3 *= c[sp, 3]
        else:
            for a in range(_u(r_ptr[h]), _u(r_ptr[h + 1])):
                sp = _u(r_sp[a])
                o = r_ord[a]
                v0 *= power(c[sp, 0], o)
                v1 *= power(c[sp, 1], o)
                v2 *= power(c[sp, 2], o)
                v3 *= power(c[sp, 3], o)
            for a in range(_u(r_ptr[h + 1]), _u(r_ptr[h + 2])):
                sp = _u(r_sp[a])
                o = r_ord[a]
                w0 *= power(c[sp, 0], o)
                w1 *= power(c[sp, 1], o)
                w2 *= power(c[sp, 2], o)
                w3 *= power(c[sp, 3], o)
        v0 -= w0
        v1 -= w1
        v2 -= w2
        v3 -= w3
        for a in range(_u(s_ptr[j]), _u(s_ptr[j + 1])):
            sp = _u(s_sp[a])
            cf = s_coef[a]
            out[sp, 0] += cf * v0
            out[sp, 1] += cf * v1
            out[sp, 2] += cf * v2
            out[sp, 3] += cf * v3
    return out


@_jit
def jacobian_lanes_into(c, k, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_coef, jac_pos, jac_ptr, e_jac_pos, e_jac_ptr,
                        out):
    """The analytic Jacobian of ``LANES`` rows scattered into sparse values ``out`` (nnz, LANES).

    The contribution of reactant entry ``a`` (of half-reaction ``h``, reaction ``j = h // 2``) to
    stoichiometry entry ``s`` is added to ``out[jac_pos[jac_ptr[a] + s - s_ptr[j]]]``; entries no
    reaction touches are zero. With the expanded lists of :func:`expand_orders` (non-empty
    ``e_ptr``) the entries are the expanded ones and ``e_jac_pos``/``e_jac_ptr`` their positions:
    the derivative of ``k Π c`` by one entry is ``k`` times the other entries, with no powers (a
    species of order m contributes m such terms). The jitted solver lays the positions out on the
    pattern of its sparse LU factors; with dense row-major positions this is :func:`jacobian_into`.
    """
    for q in range(out.shape[0]):
        out[q, 0] = 0.0
        out[q, 1] = 0.0
        out[q, 2] = 0.0
        out[q, 3] = 0.0
    expanded = e_ptr.shape[0] > 0
    for h in range(k.shape[0]):
        if k[h, 0] == 0.0 and k[h, 1] == 0.0 and k[h, 2] == 0.0 and k[h, 3] == 0.0:
            continue
        j = h // 2
        sign = 1.0 if h % 2 == 0 else -1.0
        k0 = sign * k[h, 0]
        k1 = sign * k[h, 1]
        k2 = sign * k[h, 2]
        k3 = sign * k[h, 3]
        s0 = s_ptr[j]
        s1 = s_ptr[j + 1]
        start = _u(e_ptr[h] if expanded else r_ptr[h])
        stop = _u(e_ptr[h + 1] if expanded else r_ptr[h + 1])
        for a in range(start, stop):
            if expanded:
                d0, d1, d2, d3 = k0, k1, k2, k3
                for b in range(start, stop):
                    if b != a:
                        sb = _u(e_sp[b])
                        d0 *= c[sb, 0]
                        d1 *= c[sb, 1]
                        d2 *= c[sb, 2]
                        d3 *= c[sb, 3]
                pos = e_jac_pos
                base = e_jac_ptr[a] - s0
            else:
                m = _u(r_sp[a])
                o = r_ord[a]
                d0 = k0 * power_derivative(c[m, 0], o)
                d1 = k1 * power_derivative(c[m, 1], o)
                d2 = k2 * power_derivative(c[m, 2], o)
                d3 = k3 * power_derivative(c[m, 3], o)
                for b in range(start, stop):
                    if b != a:
                        sb = _u(r_sp[b])
                        ob = r_ord[b]
                        d0 *= power(c[sb, 0], ob)
                        d1 *= power(c[sb, 1], ob)
                        d2 *= power(c[sb, 2], ob)
                        d3 *= power(c[sb, 3], ob)
                pos = jac_pos
                base = jac_ptr[a] - s0
            for s in range(s0, s1):
                p = _u(pos[base + s])
                cf = s_coef[s]
                out[p, 0] += cf * d0
                out[p, 1] += cf * d1
                out[p, 2] += cf * d2
                out[p, 3] += cf * d3
    return out
