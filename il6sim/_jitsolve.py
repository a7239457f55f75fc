"""A fully jitted stiff integrator: adaptive Rosenbrock methods over the kernels of :mod:`il6sim._kernels`.

Why a Rosenbrock method: our systems are small (tens of species), stiff and cheap to differentiate
analytically. A Rosenbrock step needs one Jacobian, one LU factorisation and ``s`` linear solves,
with no Newton iteration that can fail to converge, and the stiffly accurate Rodas family has a
dense-output interpolant of its own, so output times never shorten a step.

Methods (coefficients are the published ones; the implementation here is our own):

* ``Rodas5P`` (default): 8 stages, order 5 with an embedded order-4 estimate and a
  4th-order dense output. G. Steinebach, "Construction of Rosenbrock-Wanner method Rodas5P and
  numerical benchmarks within the Julia Differential Equations package", BIT Numer. Math. 63, 27
  (2023), doi:10.1007/s10543-023-00967-x.
* ``Rodas4``: 6 stages, order 4(3) with a 3rd-order dense output. E. Hairer, G. Wanner, Solving
  Ordinary Differential Equations II, 2nd ed., Springer 1996, Sect. IV.7 (Table 7.2 and the
  RODAS code's transformed coefficients).

Both are written in the transformed form (Hairer & Wanner IV.7, eq. 7.25): with
``W = I/(h γ) - J`` the stage vectors ``k_i`` solve

    W k_i = f(y + Σ_{j<i} a_ij k_j) + Σ_{j<i} (c_ij / h) k_j,

``y_new = y + Σ m_j k_j``, and the last stage ``k_s`` is the local error estimate (both methods are
stiffly accurate: the embedded solution is the argument of the last stage). The dense output over a
step ``[t, t + h]`` at ``θ = (τ - t)/h`` is

    y(θ) = (1 - θ) y + θ (y_new + (1 - θ) (K1 + θ (K2 + θ K3))),   K_d = Σ_j H_dj k_j.

Within one protocol segment the input ``u`` and the rate constants are constant, so the system is
autonomous and the methods' time-derivative terms (``γ_i``/``d_i``) vanish.

Step-size control: scaled RMS norm ``‖k_s / (atol + rtol·max(|y|, |y_new|))‖``, the standard
controller ``h_new = h · clip(0.9 · err^(-1/(q+1)), 0.2, 6)`` with Gustafsson's predictive variant
after accepted steps (Hairer & Wanner IV.8, eq. 8.21) and no growth right after a rejection. Output
times only select where the dense output is evaluated; they never change the step sequence.

Linear algebra and cost: ``W`` is factored by a fixed-pattern sparse LU. The Jacobian's structural
pattern never changes for a network, so :func:`symbolic` (plain NumPy, once per network, memoised)
picks a minimum-degree ordering, computes the fill-in and writes the whole elimination as flat index
arrays; each step then scatters the analytic Jacobian straight into the factor pattern and runs the
numeric elimination and triangular solves over those arrays (on the 49-species model with a drug:
347 factor entries instead of 2,401; factor ~2 µs and a solve ~0.7 µs against ~11 µs and ~2 µs
dense). There is no pivoting; a pivot small against its row or a large multiplier sends that step
to a dense LU with partial pivoting. The right-hand side uses reactant lists expanded by their
integer orders (no powers or branches per reactant; ~3x faster than the general kernel, which is
kept for fractional orders).

Lanes: the integrator advances ``LANES`` (4) rows side by side. Each lane has its own time, step
size, protocol segment and accept/reject decision, and a lane whose row ends claims the next row;
only the arithmetic is shared: the Jacobian, the factorisation, the stages and the solves run over
arrays with a trailing lane axis, spelled out as four scalar chains per index load. A lane's
arithmetic is exactly that of its row alone, so results do not depend on which rows share a call,
on the thread count or on the chunking of a sweep. In a batch this runs a row of the shipped model
in ~0.4x the time of the one-row integrator it replaced (same steps, same results).

Compilation: one jitted entry point, :func:`_integrate_rows_into`, holds the row loop, the segment
loop and the integrator (numba compiles, and LLVM optimises, each nesting level of calls again), and
releases the GIL; a batch runs it once per Python thread and the threads' lanes claim rows one at
a time from a shared atomic counter, so there is no ``parallel=True`` variant to compile.
:func:`integrate` and :func:`integrate_batch` are thin Python wrappers. A single row uses one lane
of four, so one simulation costs ~1.4x what it did with the one-row integrator; batches are where
the lanes pay (:func:`il6sim.batch.run_batch`).

Status codes returned by the jitted functions (``STATUS_MESSAGES`` gives the wording):

0 success, 1 step budget exceeded, 2 NaN or infinite value, 3 step size too small,
4 singular iteration matrix.

>>> import numpy as np
>>> from il6sim.compiled import compile_network
>>> from il6sim.network import _tiny
>>> cn = compile_network(_tiny())
>>> st, y_out, y_end, *_ = integrate(cn.x0, 0.0, 2.0, np.array([1.0, 2.0]), cn.rate_constants(),
...                                  np.zeros(1), *cn.kernel_args(), 1e-10, np.full(1, 1e-14), 100000, 0.0)
>>> int(st), round(float(y_end[0]), 8) == round(float(np.exp(-1.0)), 8)
(0, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.core.extending import intrinsic

from ._kernels import LANES, _u, expand_orders, jacobian_lanes_into, rhs_lanes_into

__all__ = [
    "METHODS",
    "STATUS_MESSAGES",
    "JitBackend",
    "atol_vector",
    "integrate",
    "integrate_batch",
    "method_code",
    "status_message",
]

# Options in one place (as in _kernels): cached on disk, GIL released (Python threads run rows in
# parallel: no parallel=True variant to compile), IEEE semantics.
_jit = njit(cache=True, nogil=True, error_model="numpy")
# The integrator's per-step helpers are inlined into the entry point at numba's IR level: LLVM does
# not inline them by itself (they are large and numba links them as separate functions), and each
# call passes every array as its flattened fields. Same bits, ~0.94x the time per row (ab_jit.py),
# no measurable change in the cold compile. The kernels of _kernels stay calls: the right-hand side
# has three call sites, and inlining it there made the cold compile ~30 % longer for no clear gain.
_inl = njit(cache=True, nogil=True, error_model="numpy", inline="always")

SUCCESS, BUDGET, NONFINITE, STEP_TOO_SMALL, SINGULAR = 0, 1, 2, 3, 4
STATUS_MESSAGES = {
    SUCCESS: "integration successful",
    BUDGET: "step budget of {max_steps} steps exceeded at t = {t:g} h",
    NONFINITE: "NaN or infinite value at t = {t:g} h",
    STEP_TOO_SMALL: "step size became too small at t = {t:g} h",
    SINGULAR: "singular iteration matrix at t = {t:g} h",
}

# --------------------------------------------------------------------------------------------
# Tableaus, padded to 8 stages so every method shares one array type (index = method code).
_MAX_STAGES = 8


def _rodas5p() -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]:
    """Rodas5P, Steinebach (2023), transformed coefficients a_ij, c_ij and dense-output h_ij."""
    a = [
        [],
        [3.0],
        [2.849394379747939, 0.45842242204463923],
        [-6.954028509809101, 2.489845061869568, -10.358996098473584],
        [2.8029986275628964, 0.5072464736228206, -0.3988312541770524, -0.04721187230404641],
        [-7.502846399306121, 2.561846144803919, -11.627539656261098, -0.18268767659942256,
         0.030198172008377946],
    ]
    c = [
        [],
        [-14.155112264123755],
        [-17.97296035885952, -2.859693295451294],
        [147.12150275711716, -1.41221402718213, 71.68940251302358],
        [165.43517024871676, -0.4592823456491126, 42.90938336958603, -5.961986721573306],
        [24.854864614690072, -3.0009227002832186, 47.4931110020768, 5.5814197821558125, -0.6610691825249471],
        [30.91273214028599, -3.1208243349937974, 77.79954646070892, 34.28646028294783, -19.097331116725623,
         -28.087943162872662],
        [37.80277123390563, -3.2571969029072276, 112.26918849496327, 66.9347231244047, -40.06618937091002,
         -54.66780262877968, -9.48861652309627],
    ]
    h = [
        [25.948786856663858, -2.5579724845846235, 10.433815404888879, -2.3679251022685204, 0.524948541321073,
         1.1241088310450404, 0.4272876194431874, -0.17202221070155493],
        [-9.91568850695171, -0.9689944594115154, 3.0438037242978453, -24.495224566215796, 20.176138334709044,
         15.98066361424651, -6.789040303419874, -6.710236069923372],
        [11.419903575922262, 2.8879645146136994, 72.92137995996029, 80.12511834622643, -52.072871366152654,
         -59.78993625266729, -0.15582684282751913, 4.883087185713722],
    ]
    # Stiffly accurate tail: stage 7 starts from stage 6's argument plus k6, stage 8 adds k7,
    # and the solution adds k8 (so k8 is the difference to the embedded solution).
    a.append(a[5] + [1.0])
    a.append(a[5] + [1.0, 1.0])
    m = a[5] + [1.0, 1.0, 1.0]
    return _pad(a, c, m, h, 8), 0.21193756319429014


def _rodas4() -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]:
    """Rodas4, Hairer & Wanner (1996), transformed coefficients (their RODAS code, METH=1)."""
    a = [
        [],
        [1.544],
        [0.9466785280815826, 0.2557011698983284],
        [3.314825187068521, 2.896124015972201, 0.9986419139977817],
        [1.221224509226641, 6.019134481288629, 12.53708332932087, -0.687886036105895],
    ]
    c = [
        [],
        [-5.6688],
        [-2.430093356833875, -0.2063599157091915],
        [-0.1073529058151375, -9.594562251023355, -20.47028614809616],
        [7.496443313967647, -10.24680431464352, -33.99990352819905, 11.7089089320616],
        [8.083246795921522, -7.981132988064893, -31.52159432874371, 16.31930543123136, -6.058818238834054],
    ]
    h = [
        [10.12623508344586, -7.487995877610167, -34.80091861555747, -7.992771707568823, 1.025137723295662, 0.0],
        [-0.6762803392801253, 6.087714651680015, 16.43084320892478, 24.76722511418386, -6.594389125716872, 0.0],
    ]
    a.append(a[4] + [1.0])
    m = a[4] + [1.0, 1.0]
    return _pad(a, c, m, h, 6), 0.25


def _pad(a: list, c: list, m: list, h: list, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    A = np.zeros((_MAX_STAGES, _MAX_STAGES))
    C = np.zeros((_MAX_STAGES, _MAX_STAGES))
    M = np.zeros(_MAX_STAGES)
    H = np.zeros((3, _MAX_STAGES))
    for i in range(s):
        A[i, : len(a[i])] = a[i]
        C[i, : len(c[i])] = c[i]
    M[:s] = m
    for d, row in enumerate(h):
        H[d, : len(row)] = row
    return A, C, M, H


#: name -> method code understood by the jitted functions.
METHODS = {"Rodas5P": 0, "Rodas4": 1}
(_A5, _C5, _M5, _H5), _G5 = _rodas5p()
(_A4, _C4, _M4, _H4), _G4 = _rodas4()
TAB_A = np.stack([_A5, _A4])
TAB_C = np.stack([_C5, _C4])
TAB_M = np.stack([_M5, _M4])
TAB_H = np.stack([_H5, _H4])
TAB_STAGES = np.array([8, 6], dtype=np.int64)
TAB_GAMMA = np.array([_G5, _G4])
TAB_ERR_EXP = np.array([1.0 / 5.0, 1.0 / 4.0])  # 1 / (embedded order + 1)
TAB_ORDER = np.array([5, 4], dtype=np.int64)
# Stiffly accurate tail: from stage TAB_TAIL on, a stage's argument is the previous stage's argument
# plus the previous stage vector, and the solution is the last argument plus the last vector, so
# the integrator forms them with one addition each (the same sums, in the same order).
TAB_TAIL = np.array([6, 5], dtype=np.int64)
for _m in range(len(TAB_TAIL)):
    _s, _tail = int(TAB_STAGES[_m]), int(TAB_TAIL[_m])
    for _i in range(_tail, _s + 1):
        _row = TAB_A[_m, _i] if _i < _s else TAB_M[_m]
        _prev = TAB_A[_m, _i - 1]
        assert np.array_equal(_row[:_i - 1], _prev[:_i - 1]) and _row[_i - 1] == 1.0 and not _row[_i:].any()

_SAFETY = 0.9
_FAC_MIN = 0.2  # smallest step-size ratio h_new / h
_FAC_MAX = 6.0  # largest step-size ratio h_new / h
_MAX_NONFINITE_RETRIES = 12


# --------------------------------------------------------------------------------------------
# Fixed-pattern sparse LU. The structural pattern of J never changes for a network, so the
# ordering, the fill-in and the elimination sequence are worked out once (``_symbolic``) and every
# step only runs the numeric factorisation over flat index arrays. No pivoting: W = I/(hγ) - J of a
# mass-action network has a large positive diagonal (1/(hγ) plus the consumption rates); a pivot
# below _PIVOT_RATIO times the largest entry of its row, or a multiplier above _MAX_MULTIPLIER,
# sends that step to the dense LU with partial pivoting instead (autocatalysis can do this).
_PIVOT_RATIO = 1e-8
_MAX_MULTIPLIER = 1e8


def lu_plan(pat: np.ndarray) -> tuple[np.ndarray, ...]:
    """Ordering, fill-in and elimination sequence of a sparse LU without pivoting for the structural
    pattern ``pat`` (n x n booleans, diagonal included). Returns ``(perm, row_ptr, col_idx, diag_pos,
    elim_row_ptr, elim_pos, elim_k, upd_ptr, upd_dst, upd_src, pos)``, described in :func:`_symbolic`;
    ``pos[i, k]`` is the value index of permuted entry ``(i, k)`` (-1 outside the filled pattern)."""
    i64 = np.int64
    n = pat.shape[0]
    # Minimum-degree ordering on the symmetrised pattern (greedy, fill-reducing; n is tens).
    g = pat | pat.T
    np.fill_diagonal(g, False)
    alive = np.ones(n, dtype=bool)
    perm = np.empty(n, dtype=i64)
    for step in range(n):
        deg = np.where(alive, (g & alive).sum(axis=1), n + 1)
        v = int(np.argmin(deg))
        perm[step] = v
        alive[v] = False
        nb = g[v] & alive
        g[np.ix_(nb, nb)] = True
        np.fill_diagonal(g, False)
    # Fill-in of the (unsymmetric) permuted pattern.
    f = pat[np.ix_(perm, perm)].copy()
    for k in range(n):
        rows = np.nonzero(f[k + 1:, k])[0] + k + 1
        if rows.size:
            f[rows, k + 1:] |= f[k, k + 1:]
    rr, cc = np.nonzero(f)  # row-major, columns sorted within a row
    nnz = rr.size
    pos = np.full((n, n), -1, dtype=i64)
    pos[rr, cc] = np.arange(nnz)
    row_ptr = np.zeros(n + 1, dtype=i64)
    row_ptr[1:] = np.cumsum(f.sum(axis=1))
    col_idx = cc.astype(i64)
    diag_pos = pos[np.arange(n), np.arange(n)].copy()
    elim_row_ptr = [0]
    elim_pos: list[int] = []
    elim_k: list[int] = []
    upd_ptr = [0]
    upd_dst: list[int] = []
    upd_src: list[int] = []
    for i in range(n):
        for k in np.nonzero(f[i, :i])[0].tolist():
            elim_pos.append(int(pos[i, k]))
            elim_k.append(int(k))
            cols = np.nonzero(f[k, k + 1:])[0] + k + 1
            upd_dst.extend(pos[i, cols].tolist())
            upd_src.extend(pos[k, cols].tolist())
            upd_ptr.append(len(upd_dst))
        elim_row_ptr.append(len(elim_pos))
    return (perm, row_ptr, col_idx, diag_pos, *(np.asarray(x, dtype=i64) for x in (
        elim_row_ptr, elim_pos, elim_k, upd_ptr, upd_dst, upd_src)), pos)


def _symbolic(n: int, r_ptr: np.ndarray, r_sp: np.ndarray, r_ord: np.ndarray, s_ptr: np.ndarray,
              s_sp: np.ndarray) -> tuple[np.ndarray, ...]:
    """Ordering, fill-in and elimination sequence of ``W = I/(hγ) - J`` for this network (plain NumPy,
    once per network: keeping it out of numba keeps the first-call compile short).

    Returns ``(perm, row_ptr, col_idx, diag_pos, elim_row_ptr, elim_pos, elim_k, upd_ptr, upd_dst,
    upd_src, jac_ptr, jac_pos, e_ptr, e_sp, e_jac_ptr, e_jac_pos)``: row ``i`` of the permuted matrix is species ``perm[i]``;
    the factors live in one CSR value array (``row_ptr``, sorted ``col_idx``; unit L left of
    ``diag_pos``); elimination ``e`` of row ``i`` (``elim_row_ptr[i]:elim_row_ptr[i+1]``) divides
    entry ``elim_pos[e]`` by pivot ``elim_k[e]`` and subtracts the multiple from the entries
    ``upd_dst`` using ``upd_src`` (``upd_ptr[e]:upd_ptr[e+1]``); the Jacobian contribution of
    reactant entry ``a`` to stoichiometry entry ``s`` lands at ``jac_pos[jac_ptr[a] + s - s_ptr[j]]``;
    ``e_ptr``, ``e_sp`` are the expanded reactant lists of :func:`il6sim._kernels.expand_orders`
    (empty when some order is not a small integer: then the general kernels are used) and
    ``e_jac_ptr``, ``e_jac_pos`` the Jacobian positions of their entries.
    """
    i64 = np.int64
    r_ptr, r_sp, s_ptr, s_sp = (np.asarray(x, dtype=i64) for x in (r_ptr, r_sp, s_ptr, s_sp))
    n_half = r_ptr.size - 1
    half_of = np.repeat(np.arange(n_half), np.diff(r_ptr))  # half-reaction of each reactant entry
    pat = np.eye(n, dtype=bool)
    for a in range(r_sp.size):
        j = half_of[a] // 2
        pat[s_sp[s_ptr[j]:s_ptr[j + 1]], r_sp[a]] = True
    perm, row_ptr, col_idx, diag_pos, elim_row_ptr, elim_pos, elim_k, upd_ptr, upd_dst, upd_src, pos = lu_plan(pat)
    iperm = np.empty(n, dtype=i64)
    iperm[perm] = np.arange(n)
    jac_ptr = np.zeros(r_sp.size + 1, dtype=i64)
    for a in range(r_sp.size):
        j = half_of[a] // 2
        jac_ptr[a + 1] = jac_ptr[a] + s_ptr[j + 1] - s_ptr[j]
    jac_pos = np.empty(jac_ptr[-1], dtype=i64)
    for a in range(r_sp.size):
        j = half_of[a] // 2
        sp = s_sp[s_ptr[j]:s_ptr[j + 1]]
        jac_pos[jac_ptr[a]:jac_ptr[a + 1]] = pos[iperm[sp], iperm[r_sp[a]]]
    assert np.all(jac_pos >= 0) and np.all(diag_pos >= 0)
    e_ptr, e_sp, _ = expand_orders(r_ptr, r_sp, np.asarray(r_ord, dtype=float))
    # The same positions for the expanded reactant entries (a species of order m appears m times).
    e_half_of = np.repeat(np.arange(n_half), np.diff(e_ptr)) if e_ptr.size else np.zeros(0, dtype=i64)
    e_counts = np.array([s_ptr[hh // 2 + 1] - s_ptr[hh // 2] for hh in e_half_of], dtype=i64)
    e_jac_ptr = np.concatenate(([0], np.cumsum(e_counts))).astype(i64)
    e_jac_pos = np.empty(e_jac_ptr[-1], dtype=i64)
    for a in range(e_sp.size):
        j = e_half_of[a] // 2
        sp = s_sp[s_ptr[j]:s_ptr[j + 1]]
        e_jac_pos[e_jac_ptr[a]:e_jac_ptr[a + 1]] = pos[iperm[sp], iperm[e_sp[a]]]
    assert np.all(e_jac_pos >= 0)
    return tuple(np.ascontiguousarray(x, dtype=i64) for x in (
        perm, row_ptr, col_idx, diag_pos, elim_row_ptr, elim_pos, elim_k, upd_ptr, upd_dst, upd_src, jac_ptr,
        jac_pos, e_ptr, e_sp, e_jac_ptr, e_jac_pos))


@_inl
def _sparse_factor_lanes(a, sym, inv_diag, ok):
    """Factor the values ``a`` (nnz, LANES) of W (pattern of ``sym``) in place, lane by lane.

    ``ok[l]`` is set False where a pivot is unsafe: not above ``_PIVOT_RATIO`` times the largest
    entry of its original row, not finite, or a multiplier above ``_MAX_MULTIPLIER`` (the caller
    then factors that lane densely with partial pivoting).
    """
    row_ptr, diag_pos = sym[1], sym[3]
    elim_row_ptr, elim_pos, elim_k, upd_ptr, upd_dst, upd_src = sym[4], sym[5], sym[6], sym[7], sym[8], sym[9]
    ok0 = ok1 = ok2 = ok3 = True
    for i in range(diag_pos.shape[0]):
        b0 = b1 = b2 = b3 = 0.0
        for p in range(_u(row_ptr[i]), _u(row_ptr[i + 1])):
            b0 = max(b0, abs(a[p, 0]))
            b1 = max(b1, abs(a[p, 1]))
            b2 = max(b2, abs(a[p, 2]))
            b3 = max(b3, abs(a[p, 3]))
        for e in range(_u(elim_row_ptr[i]), _u(elim_row_ptr[i + 1])):
            pe = _u(elim_pos[e])
            kk = _u(elim_k[e])
            m0 = a[pe, 0] * inv_diag[kk, 0]
            m1 = a[pe, 1] * inv_diag[kk, 1]
            m2 = a[pe, 2] * inv_diag[kk, 2]
            m3 = a[pe, 3] * inv_diag[kk, 3]
            a[pe, 0] = m0
            a[pe, 1] = m1
            a[pe, 2] = m2
            a[pe, 3] = m3
            ok0 = ok0 and abs(m0) <= _MAX_MULTIPLIER
            ok1 = ok1 and abs(m1) <= _MAX_MULTIPLIER
            ok2 = ok2 and abs(m2) <= _MAX_MULTIPLIER
            ok3 = ok3 and abs(m3) <= _MAX_MULTIPLIER
            for q in range(_u(upd_ptr[e]), _u(upd_ptr[e + 1])):
                dst = _u(upd_dst[q])
                src = _u(upd_src[q])
                a[dst, 0] -= m0 * a[src, 0]
                a[dst, 1] -= m1 * a[src, 1]
                a[dst, 2] -= m2 * a[src, 2]
                a[dst, 3] -= m3 * a[src, 3]
        dp = _u(diag_pos[i])
        d0, d1, d2, d3 = a[dp, 0], a[dp, 1], a[dp, 2], a[dp, 3]
        ok0 = ok0 and abs(d0) > _PIVOT_RATIO * b0 and math.isfinite(d0)
        ok1 = ok1 and abs(d1) > _PIVOT_RATIO * b1 and math.isfinite(d1)
        ok2 = ok2 and abs(d2) > _PIVOT_RATIO * b2 and math.isfinite(d2)
        ok3 = ok3 and abs(d3) > _PIVOT_RATIO * b3 and math.isfinite(d3)
        # An unsafe lane gets a harmless pivot: its sparse result is never used.
        inv_diag[i, 0] = 1.0 / d0 if ok0 else 1.0
        inv_diag[i, 1] = 1.0 / d1 if ok1 else 1.0
        inv_diag[i, 2] = 1.0 / d2 if ok2 else 1.0
        inv_diag[i, 3] = 1.0 / d3 if ok3 else 1.0
    ok[0], ok[1], ok[2], ok[3] = ok0, ok1, ok2, ok3


@_inl
def _sparse_solve_lanes(a, sym, inv_diag, b, x):
    """Solve ``W x = b`` lane by lane, in place in ``b`` (n, LANES), with the factors of
    :func:`_sparse_factor_lanes` (``x``: work of the same shape)."""
    perm, row_ptr, col_idx, diag_pos = sym[0], sym[1], sym[2], sym[3]
    n = perm.shape[0]
    for i in range(n):
        pi = _u(perm[i])
        c0, c1, c2, c3 = b[pi, 0], b[pi, 1], b[pi, 2], b[pi, 3]
        for p in range(_u(row_ptr[i]), _u(diag_pos[i])):
            cc = _u(col_idx[p])
            c0 -= a[p, 0] * x[cc, 0]
            c1 -= a[p, 1] * x[cc, 1]
            c2 -= a[p, 2] * x[cc, 2]
            c3 -= a[p, 3] * x[cc, 3]
        x[i, 0], x[i, 1], x[i, 2], x[i, 3] = c0, c1, c2, c3
    for i in range(n - 1, -1, -1):
        c0, c1, c2, c3 = x[i, 0], x[i, 1], x[i, 2], x[i, 3]
        for p in range(_u(diag_pos[i] + 1), _u(row_ptr[i + 1])):
            cc = _u(col_idx[p])
            c0 -= a[p, 0] * x[cc, 0]
            c1 -= a[p, 1] * x[cc, 1]
            c2 -= a[p, 2] * x[cc, 2]
            c3 -= a[p, 3] * x[cc, 3]
        x[i, 0] = c0 * inv_diag[i, 0]
        x[i, 1] = c1 * inv_diag[i, 1]
        x[i, 2] = c2 * inv_diag[i, 2]
        x[i, 3] = c3 * inv_diag[i, 3]
    for i in range(n):
        pi = _u(perm[i])
        b[pi, 0], b[pi, 1], b[pi, 2], b[pi, 3] = x[i, 0], x[i, 1], x[i, 2], x[i, 3]


@_jit
def _to_dense_w(jv, sym, inv_hg, W, lane):
    """Dense ``W = I/(hγ) - J`` (species order) of one lane from the Jacobian values on the sparse pattern."""
    perm, row_ptr, col_idx = sym[0], sym[1], sym[2]
    for i in range(W.shape[0]):
        for q in range(W.shape[1]):
            W[i, q] = 0.0
    for i in range(perm.shape[0]):
        for p in range(row_ptr[i], row_ptr[i + 1]):
            W[perm[i], perm[col_idx[p]]] = -jv[p, lane]
        W[perm[i], perm[i]] += inv_hg


# Dense LU with partial pivoting: the fallback when a sparse pivot is unsafe.
@_jit
def _lu_factor(a, piv):
    """Factor ``a`` in place (L unit lower, U upper); return False if a pivot is zero or not finite."""
    n = a.shape[0]
    for col in range(n):
        best = col
        big = abs(a[col, col])
        for r in range(col + 1, n):
            v = abs(a[r, col])
            if v > big:
                big = v
                best = r
        piv[col] = best
        if not (big > 0.0) or not math.isfinite(big):
            return False
        if best != col:
            for q in range(n):
                tmp = a[col, q]
                a[col, q] = a[best, q]
                a[best, q] = tmp
        inv = 1.0 / a[col, col]
        for r in range(col + 1, n):
            lr = a[r, col] * inv
            if lr != 0.0:
                a[r, col] = lr
                for q in range(col + 1, n):
                    a[r, q] -= lr * a[col, q]
            else:
                a[r, col] = 0.0
    return True


@_jit
def _lu_solve(lu, piv, b):
    """Solve in place ``A x = b`` given the factorisation of :func:`_lu_factor`."""
    n = lu.shape[0]
    for i in range(n):
        p = piv[i]
        if p != i:
            tmp = b[i]
            b[i] = b[p]
            b[p] = tmp
    for i in range(n):
        acc = b[i]
        for q in range(i):
            acc -= lu[i, q] * b[q]
        b[i] = acc
    for i in range(n - 1, -1, -1):
        acc = b[i]
        for q in range(i + 1, n):
            acc -= lu[i, q] * b[q]
        b[i] = acc / lu[i, i]


@_jit
def _initial_step(lane, y, kl, ul, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_sp, s_coef, rtol, atol, order, span,
                  hmax, f0, arg, f1):
    """Hairer, Norsett & Wanner I, Sect. II.4 starting-step heuristic for one lane (two f evaluations)."""
    n = y.shape[0]
    rhs_lanes_into(y, kl, ul, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_sp, s_coef, f0)
    a0 = 0.0
    a1 = 0.0
    for q in range(n):
        sc = atol[q] + rtol * abs(y[q, lane])
        a0 += (y[q, lane] / sc) ** 2
        a1 += (f0[q, lane] / sc) ** 2
    d0 = math.sqrt(a0 / max(n, 1))
    d1 = math.sqrt(a1 / max(n, 1))
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / d1
    h0 = min(h0, span)
    for q in range(n):
        for ll in range(LANES):
            arg[q, ll] = y[q, ll]
        arg[q, lane] = y[q, lane] + h0 * f0[q, lane]
    rhs_lanes_into(arg, kl, ul, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_sp, s_coef, f1)
    a2 = 0.0
    for q in range(n):
        sc = atol[q] + rtol * abs(y[q, lane])
        a2 += ((f1[q, lane] - f0[q, lane]) / h0 / sc) ** 2
    d2 = math.sqrt(a2 / max(n, 1))
    big = max(d1, d2)
    if big <= 1e-15 or not math.isfinite(big):
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / big) ** (1.0 / (order + 1.0))
    return min(100.0 * h0, h1, hmax, span)


@_inl
def _stage_argument(i, tail, A, y, K, arg):
    """``arg = y + Σ_{j<i} a_ij k_j`` for all lanes (in the stiffly accurate tail: the previous
    argument plus the previous stage vector, the same sum)."""
    for q in range(y.shape[0]):
        if i >= tail:
            arg[q, 0] += K[i - 1, q, 0]
            arg[q, 1] += K[i - 1, q, 1]
            arg[q, 2] += K[i - 1, q, 2]
            arg[q, 3] += K[i - 1, q, 3]
            continue
        a0, a1, a2, a3 = y[q, 0], y[q, 1], y[q, 2], y[q, 3]
        for j in range(i):
            aij = A[i, j]
            a0 += aij * K[j, q, 0]
            a1 += aij * K[j, q, 1]
            a2 += aij * K[j, q, 2]
            a3 += aij * K[j, q, 3]
        arg[q, 0], arg[q, 1], arg[q, 2], arg[q, 3] = a0, a1, a2, a3


@_inl
def _stage_vector(i, C, inv_h, f, K):
    """Right-hand side of stage ``i`` for all lanes: ``K[i] = f + Σ_{j<i} (c_ij / h) k_j``."""
    ih0, ih1, ih2, ih3 = inv_h[0], inv_h[1], inv_h[2], inv_h[3]
    for q in range(f.shape[0]):
        a0, a1, a2, a3 = f[q, 0], f[q, 1], f[q, 2], f[q, 3]
        for j in range(i):
            cij = C[i, j]
            a0 += (cij * ih0) * K[j, q, 0]
            a1 += (cij * ih1) * K[j, q, 1]
            a2 += (cij * ih2) * K[j, q, 2]
            a3 += (cij * ih3) * K[j, q, 3]
        K[i, q, 0], K[i, q, 1], K[i, q, 2], K[i, q, 3] = a0, a1, a2, a3


@_inl
def _solution_and_error(lane, arg, k_last, y, ynew, rtol, atol):
    """One lane's new solution (last argument plus last stage vector: stiffly accurate) into ``ynew``
    and its scaled RMS error ``‖k_s / (atol + rtol·max(|y|, |y_new|))‖`` (inf if not finite)."""
    n = y.shape[0]
    finite = True
    acc_e = 0.0
    for q in range(n):
        acc = arg[q, lane] + k_last[q, lane]
        ynew[q, lane] = acc
        if not math.isfinite(acc):
            finite = False
        e = k_last[q, lane] / (atol[q] + rtol * max(abs(y[q, lane]), abs(acc)))
        acc_e += e * e
    return math.sqrt(acc_e / max(n, 1)) if finite else math.inf


@_inl
def _dense_output(lane, io, i_hi, t_out, t, h, t_new, s, H, K, y, ynew, dense, y_out):
    """Write one lane's outputs ``t_out[io:]`` inside ``(t, t_new]`` from the step's dense output;
    return the next output index."""
    n = y.shape[0]
    for d in range(3):
        for q in range(n):
            acc = 0.0
            for j in range(s):
                acc += H[d, j] * K[j, q, lane]
            dense[d, q] = acc
    while io < i_hi and t_out[io] <= t_new:
        if t_out[io] == t_new:
            for q in range(n):
                y_out[io, q] = ynew[q, lane]
        else:
            th = (t_out[io] - t) / h
            th1 = 1.0 - th
            for q in range(n):
                y_out[io, q] = th1 * y[q, lane] + th * (
                    ynew[q, lane] + th1 * (dense[0, q] + th * (dense[1, q] + th * dense[2, q])))
        io += 1
    return io


@intrinsic
def _claim(typingctx, counter):  # type: ignore[no-untyped-def]
    """Atomically ``counter[0] += 1`` and return the old value (threads claim rows one at a time)."""
    sig = types.int64(counter)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [context.get_constant(types.intp, 0)])
        return builder.atomic_rmw("add", ptr, context.get_constant(types.int64, 1), "monotonic")

    return sig, codegen


# Lane states of the integrator.
_IDLE, _NEXT, _RUNNING = 0, 1, 2


@_jit
def _integrate_rows_into(next_row, row_hi, seg_t, lo, hi, k_rows, u_seg, jump_seg, y0_rows, t_out, r_ptr, r_sp,
                         r_ord, s_ptr, s_sp, s_coef, sym, rtol, atol, max_steps_rows, h0_in, hmax_in, method,
                         fixed_step, status_out, y_out_all, stats):
    """Integrate rows ``next_row[0]:row_hi`` through a piecewise-constant protocol (the one compiled entry point).

    Segment ``g`` runs from ``seg_t[g]`` to ``seg_t[g+1]`` with rate constants ``k_rows[row, g]`` and
    input ``u_seg[g]`` after adding ``jump_seg[g]`` to the state, and reports the output rows
    ``lo[g]:hi[g]`` (outputs at a segment's start are its initial state). Writes ``status_out[row]``,
    ``y_out_all[row]`` (NaN from a failure on; outputs outside ``lo[0]:hi[-1]`` are not touched) and
    ``stats[row]`` = (t reached, attempted steps, f evaluations, Jacobians, LU factorisations);
    ``max_steps_rows[row]`` bounds the attempted steps of each segment.

    ``LANES`` rows run side by side, each with its own time, step size, segment and step
    acceptance: every attempted step evaluates the Jacobian, factors W, runs the stages and the
    error estimate of all lanes at once (the arithmetic of each lane is exactly that of the row
    alone), then each lane accepts or rejects on its own. A lane whose row ends claims the next
    row by an atomic increment of ``next_row[0]`` (int64), so rows of different cost do not wait
    for each other, and threads that share the counter share the rows without blocks. Releases
    the GIL: Python threads run it in parallel.
    """
    n = y0_rows.shape[1]
    n_seg = seg_t.shape[0] - 1
    n_k = k_rows.shape[2]
    A = TAB_A[method]
    C = TAB_C[method]
    H = TAB_H[method]
    s = TAB_STAGES[method]
    gamma = TAB_GAMMA[method]
    err_exp = TAB_ERR_EXP[method]
    order = TAB_ORDER[method]
    tail = TAB_TAIL[method]
    nnz = sym[2].shape[0]
    diag_pos = sym[3]
    jac_ptr = sym[10]
    jac_pos = sym[11]
    e_ptr = sym[12]
    e_sp = sym[13]
    e_jac_ptr = sym[14]
    e_jac_pos = sym[15]
    L = LANES
    # Lane data (species x lanes), allocated once per call.
    y = np.zeros((n, L))
    ynew = np.zeros((n, L))
    arg = np.zeros((n, L))
    fbuf = np.zeros((n, L))
    xwork = np.zeros((n, L))
    inv_diag = np.zeros((n, L))
    K = np.zeros((_MAX_STAGES, n, L))
    jv = np.zeros((nnz, L))
    wv = np.zeros((nnz, L))
    kl = np.zeros((n_k, L))
    ul = np.zeros((n, L))
    W = np.zeros((L, n, n))
    piv = np.zeros((L, n), dtype=np.int64)
    bdense = np.zeros((L, n))
    dense = np.zeros((3, n))
    sparse_ok = np.zeros(L, dtype=np.bool_)
    # Lane state.
    state = np.zeros(L, dtype=np.int64)
    lane_row = np.zeros(L, dtype=np.int64)
    lane_seg = np.zeros(L, dtype=np.int64)
    lane_status = np.zeros(L, dtype=np.int64)
    i_out = np.zeros(L, dtype=np.int64)
    n_steps = np.zeros(L, dtype=np.int64)
    n_bad = np.zeros(L, dtype=np.int64)
    t = np.zeros(L)
    t_end = np.zeros(L)
    h = np.zeros(L)
    hmax = np.zeros(L)
    h_acc = np.zeros(L)
    err_acc = np.zeros(L)
    inv_hg = np.zeros(L)
    inv_h = np.zeros(L)
    first = np.zeros(L, dtype=np.bool_)
    rejected = np.zeros(L, dtype=np.bool_)
    last = np.zeros(L, dtype=np.bool_)
    stepping = np.zeros(L, dtype=np.bool_)
    use_dense = np.zeros(L, dtype=np.bool_)
    # Only np.zeros above (each distinct allocation call is one more function for numba to compile).
    inv_diag[:] = 1.0
    lane_row[:] = -1
    h[:] = 1.0
    hmax[:] = 1.0
    err_acc[:] = 1.0
    inv_hg[:] = 1.0
    inv_h[:] = 1.0
    eps = 2.220446049250313e-16
    done_claiming = False
    while True:
        # 1. Lanes without a running segment: close finished rows, take new rows, enter segments.
        running = 0
        for l in range(L):
            while state[l] != _RUNNING:
                if state[l] == _IDLE:
                    if done_claiming:
                        break
                    row = _claim(next_row)
                    if row >= row_hi:
                        done_claiming = True
                        break
                    lane_row[l] = row
                    lane_seg[l] = -1
                    lane_status[l] = SUCCESS
                    i_out[l] = lo[0]
                    for q in range(n):
                        y[q, l] = y0_rows[row, q]
                    for q in range(5):
                        stats[row, q] = 0.0
                    stats[row, 0] = seg_t[0]
                    state[l] = _NEXT
                row = lane_row[l]
                g = lane_seg[l] + 1
                if lane_status[l] != SUCCESS or g >= n_seg:
                    status_out[row] = lane_status[l]
                    if lane_status[l] != SUCCESS:  # outputs from the failure on are NaN
                        for i in range(i_out[l], hi[n_seg - 1]):
                            for q in range(n):
                                y_out_all[row, i, q] = np.nan
                    for q in range(n):  # an idle lane computes on neutral data
                        y[q, l] = 0.0
                        ul[q, l] = 0.0
                    for q in range(n_k):
                        kl[q, l] = 0.0
                    h[l] = 1.0
                    lane_row[l] = -1
                    state[l] = _IDLE
                    continue
                lane_seg[l] = g
                for q in range(n):
                    y[q, l] += jump_seg[g, q]
                    ul[q, l] = u_seg[g, q]
                for q in range(n_k):
                    kl[q, l] = k_rows[row, g, q]
                t0 = seg_t[g]
                t[l] = t0
                t_end[l] = seg_t[g + 1]
                stats[row, 0] = t0
                io = lo[g]
                while io < hi[g] and t_out[io] <= t0:  # outputs at the start time are the initial state
                    for q in range(n):
                        y_out_all[row, io, q] = y[q, l]
                    io += 1
                i_out[l] = io
                finite = True
                for q in range(n):
                    if not math.isfinite(y[q, l]) or not math.isfinite(ul[q, l]):
                        finite = False
                for q in range(n_k):
                    if not math.isfinite(kl[q, l]):
                        finite = False
                if not finite:
                    lane_status[l] = NONFINITE
                    continue
                if t_end[l] > t0:  # (a zero-length segment only applies its jump and outputs)
                    span = t_end[l] - t0
                    hm = hmax_in if hmax_in > 0.0 else span
                    hmax[l] = min(hm, span)
                    if h0_in > 0.0:
                        h[l] = min(h0_in, hmax[l])
                    else:
                        h[l] = _initial_step(l, y, kl, ul, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_sp, s_coef, rtol,
                                             atol, order, span, hmax[l], fbuf, arg, ynew)
                        stats[row, 2] += 2
                        if not (h[l] > 0.0) or not math.isfinite(h[l]):
                            h[l] = min(1e-6, hmax[l])
                    n_steps[l] = 0
                    n_bad[l] = 0
                    first[l] = True
                    rejected[l] = False
                    h_acc[l] = 0.0
                    err_acc[l] = 1.0
                    state[l] = _RUNNING
            if state[l] == _RUNNING:
                running += 1
        if running == 0:
            break

        # 2. Which lanes attempt a step, and with which h.
        n_stepping = 0
        for l in range(L):
            stepping[l] = False
            inv_hg[l] = 1.0 / gamma
            inv_h[l] = 1.0
            if state[l] != _RUNNING:
                continue
            row = lane_row[l]
            if n_steps[l] >= max_steps_rows[row]:
                lane_status[l] = BUDGET
                state[l] = _NEXT
                continue
            last[l] = False
            if t[l] + 1.0001 * h[l] >= t_end[l]:
                h[l] = t_end[l] - t[l]
                last[l] = True
            if h[l] < 16.0 * eps * max(abs(t[l]), abs(t_end[l]) * 1e-3):
                lane_status[l] = STEP_TOO_SMALL
                state[l] = _NEXT
                continue
            n_steps[l] += 1
            stats[row, 1] += 1
            stats[row, 2] += s
            stats[row, 3] += 1
            stats[row, 4] += 1
            inv_hg[l] = 1.0 / (h[l] * gamma)
            inv_h[l] = 1.0 / h[l]
            stepping[l] = True
            n_stepping += 1
        if n_stepping == 0:
            continue

        # 3. Jacobian and W = I/(hγ) - J of all lanes; sparse LU, dense with pivoting where unsafe.
        jacobian_lanes_into(y, kl, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_coef, jac_pos, jac_ptr, e_jac_pos,
                            e_jac_ptr, jv)
        for q in range(nnz):
            for l in range(L):
                wv[q, l] = -jv[q, l]
        for q in range(n):
            for l in range(L):
                wv[diag_pos[q], l] += inv_hg[l]
        _sparse_factor_lanes(wv, sym, inv_diag, sparse_ok)
        any_dense = False
        for l in range(L):
            use_dense[l] = False
            if stepping[l] and not sparse_ok[l]:
                _to_dense_w(jv, sym, inv_hg[l], W[l], l)
                if _lu_factor(W[l], piv[l]):
                    use_dense[l] = True
                    any_dense = True
                else:
                    stepping[l] = False
                    n_bad[l] += 1
                    if n_bad[l] > _MAX_NONFINITE_RETRIES or fixed_step:
                        lane_status[l] = SINGULAR
                        state[l] = _NEXT
                    else:
                        h[l] *= 0.25
                        rejected[l] = True

        # 4. Stages (all lanes at once).
        for i in range(s):
            _stage_argument(i, tail, A, y, K, arg)
            rhs_lanes_into(arg, kl, ul, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_sp, s_coef, fbuf)
            Ki = K[i]
            _stage_vector(i, C, inv_h, fbuf, K)
            if any_dense:
                for l in range(L):
                    if use_dense[l]:
                        for q in range(n):
                            bdense[l, q] = Ki[q, l]
            _sparse_solve_lanes(wv, sym, inv_diag, Ki, xwork)
            if any_dense:
                for l in range(L):
                    if use_dense[l]:
                        _lu_solve(W[l], piv[l], bdense[l])
                        for q in range(n):
                            Ki[q, l] = bdense[l, q]

        # 5. Each stepping lane: error estimate, accept (dense output) or reject, next step size.
        for l in range(L):
            if not stepping[l]:
                continue
            row = lane_row[l]
            err = _solution_and_error(l, arg, K[s - 1], y, ynew, rtol, atol)
            if not math.isfinite(err):
                n_bad[l] += 1
                if n_bad[l] > _MAX_NONFINITE_RETRIES or fixed_step:
                    lane_status[l] = NONFINITE
                    state[l] = _NEXT
                    continue
                h[l] *= 0.25
                rejected[l] = True
                continue
            hl = h[l]
            if fixed_step or err <= 1.0:
                # Accept: dense output at the output times inside (t, t + h].
                t_new = t_end[l] if last[l] else t[l] + hl
                io = i_out[l]
                i_hi = hi[lane_seg[l]]
                if io < i_hi and t_out[io] <= t_new:
                    i_out[l] = _dense_output(l, io, i_hi, t_out, t[l], hl, t_new, s, H, K, y, ynew, dense,
                                             y_out_all[row])
                for q in range(n):
                    y[q, l] = ynew[q, l]
                t[l] = t_new
                stats[row, 0] = t_new
                n_bad[l] = 0
                if last[l]:
                    state[l] = _NEXT
                if fixed_step:
                    continue
                # Step-size proposal (fac = h / h_new), Gustafsson's predictive controller.
                fac = min(1.0 / _FAC_MIN, max(1.0 / _FAC_MAX, err ** err_exp / _SAFETY))
                if not first[l]:
                    fac_g = (h_acc[l] / hl) * (err * err / err_acc[l]) ** err_exp / _SAFETY
                    fac_g = min(1.0 / _FAC_MIN, max(1.0 / _FAC_MAX, fac_g))
                    fac = max(fac, fac_g)
                h_acc[l] = hl
                err_acc[l] = max(1e-2, err)
                h_new = hl / fac
                if rejected[l]:
                    h_new = min(h_new, hl)
                rejected[l] = False
                first[l] = False
                h[l] = min(h_new, hmax[l])
            else:
                fac = min(1.0 / _FAC_MIN, err ** err_exp / _SAFETY)
                if first[l]:
                    h[l] = hl * 0.1  # the first guess can be far off (Hairer's RODAS does the same)
                else:
                    h[l] = hl / fac
                rejected[l] = True


# --------------------------------------------------------------------------------------------
# Python side: thin wrappers over the single jitted entry point.
_SYMBOLIC_CACHE: dict[bytes, tuple] = {}


def symbolic(r_ptr: np.ndarray, r_sp: np.ndarray, r_ord: np.ndarray, s_ptr: np.ndarray, s_sp: np.ndarray,
             n: int) -> tuple:
    """The sparse-LU analysis of :func:`_symbolic` for these network arrays (memoised)."""
    key = b"|".join(np.ascontiguousarray(a).tobytes() for a in (r_ptr, r_sp, r_ord, s_ptr, s_sp)) + str(n).encode()
    hit = _SYMBOLIC_CACHE.get(key)
    if hit is None:
        if len(_SYMBOLIC_CACHE) > 64:
            _SYMBOLIC_CACHE.clear()
        hit = _symbolic(n, r_ptr, r_sp, r_ord, s_ptr, s_sp)
        _SYMBOLIC_CACHE[key] = hit
    return hit


def _default_threads() -> int:
    """numba's thread count (``numba.set_num_threads`` applies) without starting its thread pool."""
    import numba
    from numba.np.ufunc import parallel

    if getattr(parallel, "_is_initialized", False):
        return int(numba.get_num_threads())
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def _run_rows(seg_t: np.ndarray, lo: np.ndarray, hi: np.ndarray, k_rows: np.ndarray, u_seg: np.ndarray,
              jump_seg: np.ndarray, y0_rows: np.ndarray, t_out: np.ndarray, arrays: Sequence[np.ndarray], rtol: float,
              atol_vec: np.ndarray, max_steps_rows: np.ndarray, h0: float, hmax: float, method: int, fixed_step: bool,
              threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run every row on ``threads`` threads, which claim rows one at a time from a shared counter."""
    n_rows, n = y0_rows.shape
    r_ptr, r_sp, r_ord, s_ptr, s_sp = arrays[:5]
    sym = symbolic(r_ptr, r_sp, r_ord, s_ptr, s_sp, n)
    seg_t = np.ascontiguousarray(seg_t, dtype=float)
    t_out = np.ascontiguousarray(t_out, dtype=float)
    lo = np.ascontiguousarray(lo, dtype=np.int64)
    hi = np.ascontiguousarray(hi, dtype=np.int64)
    if seg_t.size < 2 or lo.shape != (seg_t.size - 1,) or hi.shape != lo.shape:
        raise ValueError(f"lo and hi need one entry per segment ({seg_t.size - 1}); got {lo.shape} and {hi.shape}")
    if np.any(lo[1:] != hi[:-1]) or np.any(hi < lo) or lo[0] < 0 or hi[-1] > t_out.size:
        raise ValueError("output ranges must be consecutive (lo[g + 1] == hi[g]) and within t_out")
    status = np.zeros(n_rows, dtype=np.int64)
    y_out = np.empty((n_rows, t_out.size, n))  # the kernel writes every output of [lo[0], hi[-1])
    y_out[:, :lo[0]] = np.nan
    y_out[:, hi[-1]:] = np.nan
    stats = np.zeros((n_rows, 5))
    args = (seg_t, lo, hi, np.ascontiguousarray(k_rows, dtype=float), np.ascontiguousarray(u_seg, dtype=float),
            np.ascontiguousarray(jump_seg, dtype=float), np.ascontiguousarray(y0_rows, dtype=float), t_out,
            *arrays, sym, float(rtol), np.ascontiguousarray(atol_vec, dtype=float),
            np.ascontiguousarray(max_steps_rows, dtype=np.int64), float(h0), float(hmax), int(method),
            bool(fixed_step), status, y_out, stats)
    n_threads = max(1, min(int(threads or _default_threads()), -(-n_rows // LANES)))
    next_row = np.zeros(1, dtype=np.int64)  # rows are claimed from this counter, one at a time
    if n_threads == 1:
        _integrate_rows_into(next_row, n_rows, *args)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_threads) as pool:
            list(pool.map(lambda _: _integrate_rows_into(next_row, n_rows, *args), range(n_threads)))
    return status, y_out, stats


def integrate(y0: np.ndarray, t0: float, t1: float, t_out: np.ndarray, k: np.ndarray, u: np.ndarray,
              r_ptr: np.ndarray, r_sp: np.ndarray, r_ord: np.ndarray, s_ptr: np.ndarray, s_sp: np.ndarray,
              s_coef: np.ndarray, rtol: float, atol_vec: np.ndarray, max_steps: int, h0: float,
              hmax: float = math.inf, method: int = 0, fixed_step: bool = False) -> tuple:
    """Integrate ``dc/dt = f(c; k) + u`` from ``t0`` to ``t1`` with a Rodas method.

    Parameters
    ----------
    y0 : (n,) initial state, nM.
    t0, t1 : start and end, h.
    t_out : (m,) increasing output times in [t0, t1], h.
    k : (2R,) rate constants of the half-reactions; u : (n,) constant input, nM/h.
    r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef : the network arrays (``CompiledNetwork.kernel_args()``).
    rtol : relative tolerance; atol_vec : (n,) absolute tolerances, nM.
    max_steps : budget of attempted steps; h0 : first step (<= 0: chosen automatically), h.
    hmax : largest step, h; method : code from ``METHODS``; fixed_step : constant step ``h0``
        without error control (for convergence studies).

    Returns
    -------
    (status, y_out (m, n) with NaN where not reached, y_end (n,), n_steps, n_fev, n_jev, n_lu, t_reached)
    """
    y0 = np.asarray(y0, dtype=float)
    n = y0.shape[0]
    t_out = np.asarray(t_out, dtype=float)
    t1_eff = max(float(t1), float(t0))
    # y_end is the row's state at the end: an extra output at t1 reports it (appended, then dropped).
    t_all = np.append(t_out, t1_eff)
    status, y_out, stats = _run_rows(
        np.array([float(t0), t1_eff]), np.zeros(1, np.int64), np.full(1, t_all.size, np.int64),
        np.asarray(k, dtype=float)[None, None, :], np.asarray(u, dtype=float)[None], np.zeros((1, n)), y0[None],
        t_all, (r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef), rtol, atol_vec, np.array([max_steps]), h0, hmax, method,
        fixed_step, threads=1)
    st = int(status[0])
    y_end = y_out[0, -1].copy() if st == SUCCESS else np.asarray(y0, dtype=float).copy()
    s = stats[0]
    return st, y_out[0, :-1], y_end, int(s[1]), int(s[2]), int(s[3]), int(s[4]), float(s[0])


def integrate_batch(seg_t: np.ndarray, lo: np.ndarray, hi: np.ndarray, k_rows: np.ndarray, u_seg: np.ndarray,
                    jump_seg: np.ndarray, y0_rows: np.ndarray, t_out: np.ndarray, r_ptr: np.ndarray, r_sp: np.ndarray,
                    r_ord: np.ndarray, s_ptr: np.ndarray, s_sp: np.ndarray, s_coef: np.ndarray, rtol: float,
                    atol_vec: np.ndarray, max_steps_rows: np.ndarray, h0: float = 0.0, hmax: float = math.inf,
                    method: int = 0, threads: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integrate every parameter row through a piecewise-constant protocol, rows in parallel threads.

    The arrays are those of :func:`il6sim.lowering.lower_protocol` (``Segments``) with the rate
    constants per row; :func:`il6sim.batch.batch_arrays` builds them all.

    Parameters
    ----------
    seg_t : (n_seg + 1,) segment boundaries, h (zero-length segments apply events without integrating).
    lo, hi : (n_seg,) int64, the output rows ``t_out[lo[g]:hi[g]]`` segment ``g`` reports, consecutive
        (``lo[g + 1] == hi[g]``): those at its start show the state after its jump, those at its end
        the state reached there (before the next segment's jump).
    k_rows : (n_rows, n_seg, 2R) rate constants per row and segment.
    u_seg : (n_seg, n) constant input per segment, nM/h.
    jump_seg : (n_seg, n) additive jumps applied at the start of each segment, nM.
    y0_rows : (n_rows, n) initial states (before the first segment's jump), nM.
    t_out : (m,) non-decreasing output times, h.
    max_steps_rows : (n_rows,) step budget per segment for each row.
    threads : worker threads (default: numba's thread count).

    Returns
    -------
    (status (n_rows,), y_out (n_rows, m, n), stats (n_rows, 5): t reached, attempted steps,
    f evaluations, Jacobians, LU factorisations). Failed rows hold NaN from the failure on; rows
    outside ``lo[0]:hi[-1]`` are NaN. From numba code, call the jitted ``_integrate_rows_into``
    with the arrays of :func:`symbolic` instead.
    """
    return _run_rows(seg_t, lo, hi, k_rows, u_seg, jump_seg, y0_rows, t_out, (r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef),
                     rtol, atol_vec, max_steps_rows, h0, hmax, method, False, threads)


def atol_vector(atol: Any, n: int) -> np.ndarray:
    """``atol`` (a scalar or one value per species, nM) as an (n,) array."""
    a = np.asarray(atol, dtype=float)
    if a.ndim == 0:
        return np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"atol has shape {a.shape}; give a scalar or one value per species ({n})")
    return a.copy()


def method_code(method: str) -> int:
    """The code of a Rosenbrock method name (``METHODS``); unknown names are a ValueError."""
    code = METHODS.get(method)
    if code is None:
        raise ValueError(f"unknown Rosenbrock method '{method}' (valid: {', '.join(METHODS)})")
    return code


def status_message(status: int, t: float, max_steps: int) -> str:
    """The message for a status code of the jitted functions."""
    return STATUS_MESSAGES.get(int(status), "unknown failure at t = {t:g} h").format(t=t, max_steps=max_steps)


class JitBackend:
    """The jitted Rosenbrock integrator behind the ``Backend`` protocol of :mod:`il6sim.solve`.

    ``max_steps`` bounds the attempted steps of each segment; exceeding it is a failure with a
    message, never a hang.

    >>> import numpy as np, il6sim
    >>> from il6sim.solve import SolverOptions
    >>> cn = il6sim.compile_network(il6sim.network._tiny())
    >>> ys, y_end, stats, err = JitBackend().advance(cn, cn.rate_constants(), np.zeros(1), 0.0, 2.0, cn.x0,
    ...                                              np.array([2.0]), SolverOptions(method="Rodas5P"))
    >>> err is None, bool(abs(y_end[0] - np.exp(-1.0)) < 1e-6)
    (True, True)
    """

    methods: tuple[str, ...] = ("Rodas5P", "Rodas4")

    def __init__(self, max_steps: int = 100_000) -> None:
        self.max_steps = int(max_steps)

    def advance(self, cn: Any, k: np.ndarray, u: np.ndarray, t0: float, t1: float, y0: np.ndarray,
                t_out: np.ndarray, options: Any) -> tuple[np.ndarray, np.ndarray, dict[str, int], str | None]:
        """Return (states at t_out (len(t_out), n), state at t1, stats, error message or None)."""
        n = len(y0)
        atol = atol_vector(options.atol, n)
        hmax = float(options.max_step) if options.max_step is not None else math.inf
        h0 = float(options.first_step) if options.first_step else 0.0
        r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef = cn.kernel_args()
        status, ys, y_end, n_steps, n_fev, n_jev, n_lu, t_reached = integrate(
            np.ascontiguousarray(y0, dtype=float), float(t0), float(t1),
            np.ascontiguousarray(t_out, dtype=float), np.ascontiguousarray(k, dtype=float),
            np.ascontiguousarray(u, dtype=float), r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, float(options.rtol), atol,
            self.max_steps, h0, hmax, method_code(options.method), False)
        stats = {"nfev": int(n_fev), "njev": int(n_jev), "nlu": int(n_lu), "nsteps": int(n_steps)}
        if status != SUCCESS:
            return np.empty((0, n)), np.asarray(y0, dtype=float), stats, (
                f"{options.method} failed: {status_message(status, t_reached, self.max_steps)}")
        return ys, y_end, stats, None
