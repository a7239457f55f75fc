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
