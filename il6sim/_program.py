"""One numba kernel that runs any model's formulas as a register program (no compile per model).

A program is an ``int64`` array of instructions, one row each: ``(op, dst, a, b, c)``, meaning
``regs[dst] = OP(regs[a], regs[b], regs[c])`` (unused operands are 0). The register file is one
``float64`` array holding the time, the states, the constants, every named value and every
intermediate result, so a program is a straight line with no stack and no branches: ``piecewise``
is a ``SELECT`` of values already computed (IEEE arithmetic, ``error_model="numpy"``: a division by
zero in the branch not taken gives ``inf`` and is never seen).

The opcodes are the module constants below (:data:`OPCODES` maps names to numbers); the lowering
from formulas lives in :mod:`il6sim.sbml_program`. Options match :mod:`il6sim._kernels`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from ._jitsolve import _lu_factor, _lu_solve

_jit = njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
_inl = njit(cache=True, nogil=True, fastmath=False, error_model="numpy", inline="always")  # inlined at numba IR

OPCODES = {name: code for code, name in enumerate((
    "COPY", "NEG", "ADD", "SUB", "MUL", "DIV", "POW", "EXP", "LN", "LOG10", "LOG2", "SQRT", "ABS", "FLOOR",
    "CEIL", "SIGN", "SIN", "COS", "TAN", "SINH", "COSH", "TANH", "ASIN", "ACOS", "ATAN", "LT", "LE", "GT",
    "GE", "EQ", "NE", "AND", "OR", "NOT", "SELECT", "MIN", "MAX", "INV", "FACTORIAL"))}
COPY, NEG, ADD, SUB, MUL, DIV, POW, EXP, LN, LOG10, LOG2, SQRT, ABS, FLOOR = range(14)
CEIL, SIGN, SIN, COS, TAN, SINH, COSH, TANH, ASIN, ACOS, ATAN, LT, LE, GT = range(14, 28)
GE, EQ, NE, AND, OR, NOT, SELECT, MIN, MAX, INV, FACTORIAL = range(28, 39)


@_jit
def _unary(op: int, x: float) -> float:
    if op == COPY:
        return x
    if op == NEG:
        return -x
    if op == EXP:
        return math.exp(x)
    if op == LN:
        return np.log(x)
    if op == LOG10:
        return np.log10(x)
    if op == LOG2:
        return np.log2(x)
    if op == SQRT:
        return np.sqrt(x)
    if op == ABS:
        return abs(x)
    if op == FLOOR:
        return np.floor(x)
    if op == CEIL:
        return np.ceil(x)
    if op == SIGN:
        return np.sign(x)
    if op == SIN:
        return math.sin(x)
    if op == COS:
        return math.cos(x)
    if op == TAN:
        return math.tan(x)
    if op == SINH:
        return math.sinh(x)
    if op == COSH:
        return math.cosh(x)
    if op == TANH:
        return math.tanh(x)
    if op == ASIN:
        return np.arcsin(x)
    if op == ACOS:
        return np.arccos(x)
    if op == ATAN:
        return math.atan(x)
    if op == NOT:
        return 1.0 if x == 0.0 else 0.0
    if op == INV:
        return 1.0 / x
    if op == FACTORIAL:  # Γ(x + 1); NaN at the poles
        return math.gamma(x + 1.0) if (x + 1.0 > 0.0 or x != np.floor(x)) else np.nan
    return np.nan


@_jit
def _binary(op: int, x: float, y: float) -> float:
    if op == ADD:
        return x + y
    if op == SUB:
        return x - y
    if op == MUL:
        return x * y
    if op == DIV:
        return x / y
    if op == POW:
        if y == 2.0:
            return x * x
        if y == 1.0:
            return x
        return x**y
    if op == LT:
        return 1.0 if x < y else 0.0
    if op == LE:
        return 1.0 if x <= y else 0.0
    if op == GT:
        return 1.0 if x > y else 0.0
    if op == GE:
        return 1.0 if x >= y else 0.0
    if op == EQ:
        return 1.0 if x == y else 0.0
    if op == NE:
        return 1.0 if x != y else 0.0
    if op == AND:
        return 1.0 if (x != 0.0 and y != 0.0) else 0.0
    if op == OR:
        return 1.0 if (x != 0.0 or y != 0.0) else 0.0
    if op == MIN:
        return y if (y < x or x != x) else x
    if op == MAX:
        return y if (y > x or x != x) else x
    return np.nan


@_jit
def run_program(code: np.ndarray, regs: np.ndarray) -> None:
    """Execute ``code`` (rows ``(op, dst, a, b, c)``) on ``regs`` in place."""
    for i in range(code.shape[0]):
        op = code[i, 0]
        if op == SELECT:
            regs[code[i, 1]] = regs[code[i, 3]] if regs[code[i, 2]] != 0.0 else regs[code[i, 4]]
        elif op == ADD:  # the commonest ops first, without a call
            regs[code[i, 1]] = regs[code[i, 2]] + regs[code[i, 3]]
        elif op == MUL:
            regs[code[i, 1]] = regs[code[i, 2]] * regs[code[i, 3]]
        elif op == SUB:
            regs[code[i, 1]] = regs[code[i, 2]] - regs[code[i, 3]]
        elif op == DIV:
            regs[code[i, 1]] = regs[code[i, 2]] / regs[code[i, 3]]
        elif op in (NEG, EXP, LN, LOG10, LOG2, SQRT, ABS, FLOOR, CEIL, SIGN, SIN, COS, TAN, SINH, COSH, TANH,
                    ASIN, ACOS, ATAN, NOT, INV, COPY, FACTORIAL):
            regs[code[i, 1]] = _unary(op, regs[code[i, 2]])
        else:
            regs[code[i, 1]] = _binary(op, regs[code[i, 2]], regs[code[i, 3]])


@_jit
def run_compiled(fn, regs: np.ndarray) -> None:
    """Run a program compiled by :mod:`il6sim.sbml_native` (a function of the register file's address)."""
    fn(regs.ctypes)


def _exec(code, regs):
    """Run a program on ``regs``: an instruction array through the interpreter, or a compiled program
    (this Python body serves calls from Python; jitted callers get the overload below)."""
    if isinstance(code, np.ndarray):
        run_program(code, regs)
    else:
        run_compiled(code, regs)


@overload(_exec, jit_options={"nogil": True, "error_model": "numpy"})
def _exec_overload(code, regs):
    if isinstance(code, types.Array):
        return lambda code, regs: run_program(code, regs)
    if isinstance(code, types.FunctionType):
        return lambda code, regs: code(regs.ctypes)
    return None


@_jit
def program_rhs(t: float, y: np.ndarray, regs: np.ndarray, code: np.ndarray, time_reg: int,
                state_regs: np.ndarray, deriv_regs: np.ndarray) -> np.ndarray:
    """Load ``t`` and ``y`` into ``regs``, run ``code``, return the derivative registers (a new array)."""
    regs[time_reg] = t
    for k in range(state_regs.shape[0]):
        regs[state_regs[k]] = y[k]
    _exec(code, regs)
    out = np.empty(deriv_regs.shape[0])
    for k in range(deriv_regs.shape[0]):
        out[k] = regs[deriv_regs[k]]
    return out


@_jit
def program_values(t: np.ndarray, y: np.ndarray, regs: np.ndarray, code: np.ndarray, time_reg: int,
                   state_regs: np.ndarray, out_regs: np.ndarray) -> np.ndarray:
    """For each time ``t[i]`` and state row ``y[i]``: run ``code`` on a copy of ``regs``, return ``out_regs``."""
    out = np.empty((t.shape[0], out_regs.shape[0]))
    work = regs.copy()
    for i in range(t.shape[0]):
        work[time_reg] = t[i]
        for k in range(state_regs.shape[0]):
            work[state_regs[k]] = y[i, k]
        _exec(code, work)
        for k in range(out_regs.shape[0]):
            out[i, k] = work[out_regs[k]]
    return out


# -- a Rodas integrator over register programs (one model, one parameter row) -------------------------------
# The model's time is the last state (dt/dt = 1), so the method sees an autonomous system and the Jacobian's
# last column is the time derivative; the Jacobian is by forward differences over groups of columns that
# share no row, and W = I/(hγ) - J is factored on its sparse pattern.
# Statuses returned by rodas_segment:
SEG_DONE, SEG_ROOT, SEG_FAILED, SEG_MAX_STEPS = 0, 1, 2, 3


@_inl
def _run_at(code, regs, time_reg, state_regs, z):
    """Load the augmented state ``z = (y, t)`` into ``regs`` and run the main program."""
    n = state_regs.shape[0]
    regs[time_reg] = z[n]
    for k in range(n):
        regs[state_regs[k]] = z[k]
    _exec(code, regs)


@_inl
def _rhs_t(code, regs, time_reg, state_regs, deriv_regs, z, f):
    """``f = dz/dt`` for the augmented state ``z = (y, t)``."""
    _run_at(code, regs, time_reg, state_regs, z)
    n = state_regs.shape[0]
    for k in range(n):
        f[k] = regs[deriv_regs[k]]
    f[n] = 1.0


@_jit
def _roots_at(code, root_code, regs, time_reg, state_regs, root_regs, z, g):
    _run_at(code, regs, time_reg, state_regs, z)
    _exec(root_code, regs)
    for j in range(root_regs.shape[0]):
        g[j] = regs[root_regs[j]]


@_jit
def _trigger_values(code, trig_code, regs, time_reg, state_regs, trig_regs, z, out):
    _run_at(code, regs, time_reg, state_regs, z)
    _exec(trig_code, regs)
    for j in range(trig_regs.shape[0]):
        out[j] = regs[trig_regs[j]] != 0.0


@_jit
def _triggers_at(code, trig_code, regs, time_reg, state_regs, trig_regs, z, out):
    """True when a trigger at ``z`` differs from ``out`` (which is left as it is)."""
    now = np.empty(trig_regs.shape[0], dtype=np.bool_)
    _trigger_values(code, trig_code, regs, time_reg, state_regs, trig_regs, z, now)
    for j in range(now.shape[0]):
        if now[j] != out[j]:
            return True
    return False


@_inl
def _dense(theta, z, znew, dense, out):
    th1 = 1.0 - theta
    for q in range(z.shape[0]):
        out[q] = th1 * z[q] + theta * (znew[q] + th1 * (dense[0, q] + theta * (dense[1, q] + theta * dense[2, q])))


@_inl
def _sparse_factor(w, plan, inv_diag):
    """Factor ``W``'s values ``w`` (the filled pattern of :func:`il6sim.sbml_program.jacobian_plan`) in
    place without pivoting; False where a pivot is not above 1e-8 of its row's largest entry or not
    finite, or a multiplier exceeds 1e8 (then factor densely with partial pivoting instead)."""
    row_ptr, diag_pos = plan[1], plan[3]
    elim_row_ptr, elim_pos, elim_k, upd_ptr, upd_dst, upd_src = plan[4], plan[5], plan[6], plan[7], plan[8], plan[9]
    for i in range(diag_pos.shape[0]):
        big = 0.0
        for p in range(row_ptr[i], row_ptr[i + 1]):
            big = max(big, abs(w[p]))
        for e in range(elim_row_ptr[i], elim_row_ptr[i + 1]):
            pe = elim_pos[e]
            mult = w[pe] * inv_diag[elim_k[e]]
            if not abs(mult) <= 1e8:
                return False
            w[pe] = mult
            for q in range(upd_ptr[e], upd_ptr[e + 1]):
                w[upd_dst[q]] -= mult * w[upd_src[q]]
        d = w[diag_pos[i]]
        if not (abs(d) > 1e-8 * big and math.isfinite(d)):
            return False
        inv_diag[i] = 1.0 / d
    return True


@_inl
def _sparse_solve(w, plan, inv_diag, b, x):
    """Solve ``W x = b`` in place in ``b`` with the factors of :func:`_sparse_factor` (``x``: work)."""
    perm, row_ptr, col_idx, diag_pos = plan[0], plan[1], plan[2], plan[3]
    n = perm.shape[0]
    for i in range(n):
        acc = b[perm[i]]
        for p in range(row_ptr[i], diag_pos[i]):
            acc -= w[p] * x[col_idx[p]]
        x[i] = acc
    for i in range(n - 1, -1, -1):
        acc = x[i]
        for p in range(diag_pos[i] + 1, row_ptr[i + 1]):
            acc -= w[p] * x[col_idx[p]]
        x[i] = acc * inv_diag[i]
    for i in range(n):
        b[perm[i]] = x[i]


@_jit
def rodas_segment(code, root_code, trig_code, regs, time_reg, state_regs, deriv_regs, root_regs, zc_pos, zc_neg,
                  trig_regs, prev_trig, g0, y0, t0, t1, t_ignore, t_out, io, io_hi, y_out, rtol, atol, h0, hmax,
                  max_steps, A, C, M, H, gamma, stages, err_exp, stats, plan):
    """Integrate from ``t0`` towards ``t1`` with a Rosenbrock method (tableau ``A, C, M, H``, ``gamma``).

    Writes the states at ``t_out[io:io_hi]`` that fall inside the integrated span into ``y_out`` and stops
    early at the first time a root function leaves the sign of ``g0`` or a trigger differs from
    ``prev_trig`` (a change located at or before ``t_ignore``, just after a restart where root functions are ~0
    and their signs round-off, is adopted instead: the root's sign and ``prev_trig``, updated in place).
    Reaching exactly 0 counts as leaving a positive (negative) sign where ``zc_pos[j]``
    (``zc_neg[j]``) says so: where the relation's truth changes at 0 (``x >= a`` becomes true at 0 coming
    from below, ``x > a`` does not). Returns ``(status, t, y, next io, last step size)``; ``stats`` accumulates
    steps, rejected steps, right-hand sides and Jacobians. ``plan``
    (:func:`il6sim.sbml_program.jacobian_plan`): the Jacobian is estimated by forward differences, one
    program run per group of columns that share no row, and ``W = I/(hγ) - J`` is factored on its
    sparse pattern (densely with partial pivoting where a sparse pivot is unsafe).
    """
    n = y0.shape[0]
    m = n + 1
    z = np.empty(m)
    z[:n] = y0
    z[n] = t0
    znew = np.empty(m)
    arg = np.empty(m)
    f = np.empty(m)
    f0 = np.empty(m)
    K = np.zeros((stages, m))
    W = np.zeros((m, m))
    jv = np.zeros(plan[2].shape[0])  # the Jacobian on the filled pattern of W
    wv = np.empty(plan[2].shape[0])
    inv_diag = np.empty(m)
    xw = np.empty(m)
    dz = np.empty(m)
    grp_ptr, grp_cols, col_ptr, col_rows, col_pos = plan[10], plan[11], plan[12], plan[13], plan[14]
    perm, row_ptr, col_idx, diag_pos = plan[0], plan[1], plan[2], plan[3]
    sparse_ok = True
    piv = np.zeros(m, dtype=np.int64)
    dense = np.zeros((3, m))
    zi = np.empty(m)
    nr = root_regs.shape[0]
    g1 = np.empty(nr)
    gc = np.empty(nr)
    trig_now = prev_trig
    span = t1 - t0
    t = t0
    # initial step (Hairer, Norsett & Wanner I, II.4, simplified)
    _rhs_t(code, regs, time_reg, state_regs, deriv_regs, z, f0)
    stats[2] += 1
    if h0 > 0.0:
        h = min(h0, span)
    else:
        a0 = 0.0
        a1 = 0.0
        for q in range(n):
            sc = atol[q] + rtol * abs(z[q])
            a0 += (z[q] / sc) ** 2
            a1 += (f0[q] / sc) ** 2
        d0 = math.sqrt(a0 / max(n, 1))
        d1 = math.sqrt(a1 / max(n, 1))
        h = 1e-6 * max(span, 1e-300) if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
        h = min(h, span)
    h = min(h, hmax)
    need_jac = True
    steps = 0
    while t < t1:
        if steps >= max_steps:
            for q in range(n):
                y0[q] = z[q]
            return SEG_MAX_STEPS, t, io, h
        last = t + h >= t1 or t + 1.0000001 * h >= t1
        if last:
            h = t1 - t
        if need_jac:  # forward differences, one program run per group of columns sharing no row
            for g in range(grp_ptr.shape[0] - 1):
                for q in range(m):
                    zi[q] = z[q]
                for p in range(grp_ptr[g], grp_ptr[g + 1]):
                    c = grp_cols[p]
                    d = math.sqrt(2.2e-16) * max(abs(z[c]), atol[c] / max(rtol, 1e-16) if c < n else 1.0, 1e-8)
                    zi[c] = z[c] + d
                    dz[c] = zi[c] - z[c]
                _rhs_t(code, regs, time_reg, state_regs, deriv_regs, zi, f)
                for p in range(grp_ptr[g], grp_ptr[g + 1]):
                    c = grp_cols[p]
                    for q in range(col_ptr[c], col_ptr[c + 1]):
                        jv[col_pos[q]] = (f[col_rows[q]] - f0[col_rows[q]]) / dz[c]
            stats[2] += grp_ptr.shape[0] - 1
            stats[3] += 1
            need_jac = False
        inv_hg = 1.0 / (h * gamma)
        for p in range(wv.shape[0]):
            wv[p] = -jv[p]
        for i in range(m):
            wv[diag_pos[i]] += inv_hg
        sparse_ok = _sparse_factor(wv, plan, inv_diag)
        if not sparse_ok:  # dense W with partial pivoting
            for r in range(m):
                for c in range(m):
                    W[r, c] = 0.0
            for i in range(m):
                for p in range(row_ptr[i], row_ptr[i + 1]):
                    W[perm[i], perm[col_idx[p]]] = -jv[p]
                W[perm[i], perm[i]] += inv_hg
            if not _lu_factor(W, piv):
                h *= 0.25
                if h < 1e-14 * max(1.0, abs(t)):
                    for q in range(n):
                        y0[q] = z[q]
                    return SEG_FAILED, t, io, h
                continue
        ok = True
        for i in range(stages):
            for q in range(m):
                acc = z[q]
                for j in range(i):
                    acc += A[i, j] * K[j, q]
                arg[q] = acc
            if i == 0:
                for q in range(m):
                    f[q] = f0[q]
            else:
                _rhs_t(code, regs, time_reg, state_regs, deriv_regs, arg, f)
                stats[2] += 1
            for q in range(m):
                acc = f[q]
                for j in range(i):
                    acc += (C[i, j] / h) * K[j, q]
                K[i, q] = acc
            if sparse_ok:
                _sparse_solve(wv, plan, inv_diag, K[i], xw)
            else:
                _lu_solve(W, piv, K[i])
        err = 0.0
        for q in range(m):
            acc = z[q]
            for j in range(stages):
                acc += M[j] * K[j, q]
            znew[q] = acc
            if not math.isfinite(acc):
                ok = False
            if q < n:
                e = K[stages - 1, q] / (atol[q] + rtol * max(abs(z[q]), abs(acc)))
                err += e * e
        err = math.sqrt(err / max(n, 1)) if ok else math.inf
        if err > 1.0 or not ok:
            stats[1] += 1
            fac = 0.2 if not ok else max(0.2, 0.9 * err ** (-err_exp))
            h *= fac
            if h < 1e-14 * max(1.0, abs(t)):
                for q in range(n):
                    y0[q] = z[q]
                return SEG_FAILED, t, io, h
            continue
        # accepted
        steps += 1
        stats[0] += 1
        t_new = t1 if last else t + h
        znew[n] = t_new
        for d in range(3):
            for q in range(m):
                acc = 0.0
                for j in range(stages):
                    acc += H[d, j] * K[j, q]
                dense[d, q] = acc
        # roots and triggers
        cut = -1.0
        cut_theta = 1.0
        if nr > 0:
            _roots_at(code, root_code, regs, time_reg, state_regs, root_regs, znew, g1)
            for j in range(nr):
                zero_cross = zc_pos[j] if g0[j] > 0.0 else zc_neg[j]
                if g0[j] * g1[j] < 0.0 or (g1[j] == 0.0 and zero_cross and g0[j] != 0.0):
                    # Illinois regula falsi on theta in (0, 1]: first point where root j left g0's sign
                    lo, flo, hi, fhi = 0.0, g0[j], 1.0, g1[j]
                    if cut >= 0.0:
                        hi = (cut - t) / h
                        _dense(hi, z, znew, dense, zi)
                        zi[n] = t + hi * h
                        _roots_at(code, root_code, regs, time_reg, state_regs, root_regs, zi, gc)
                        fhi = gc[j]
                        if not (g0[j] * fhi < 0.0 or (fhi == 0.0 and zero_cross)):
                            continue
                    side = 0
                    for _ in range(200):
                        if (hi - lo) * h <= 1e-15 * max(1.0, abs(t + hi * h)):
                            break
                        c = (lo * fhi - hi * flo) / (fhi - flo) if fhi != flo else 0.5 * (lo + hi)
                        if not (lo < c < hi):
                            c = 0.5 * (lo + hi)
                        _dense(c, z, znew, dense, zi)
                        zi[n] = t + c * h
                        _roots_at(code, root_code, regs, time_reg, state_regs, root_regs, zi, gc)
                        fc = gc[j]
                        if fc * g0[j] > 0.0 or (fc == 0.0 and not zero_cross):
                            lo, flo = c, fc
                            if side == -1:
                                fhi *= 0.5
                            side = -1
                        else:
                            hi, fhi = c, fc
                            if side == 1:
                                flo *= 0.5
                            side = 1
                    at = t + hi * h if hi < 1.0 else t_new
                    if at <= t_ignore:  # round-off at the restart: adopt the new side
                        if g1[j] != 0.0:
                            g0[j] = g1[j]
                        continue
                    cut, cut_theta = at, hi
        if cut < 0.0 and trig_regs.shape[0] > 0:
            if _triggers_at(code, trig_code, regs, time_reg, state_regs, trig_regs, znew, trig_now):
                lo, hi = 0.0, 1.0  # a trigger changed with no root crossing: bisect on the triggers
                for _ in range(200):
                    if (hi - lo) * h <= 1e-15 * max(1.0, abs(t + hi * h)):
                        break
                    c = 0.5 * (lo + hi)
                    _dense(c, z, znew, dense, zi)
                    zi[n] = t + c * h
                    if _triggers_at(code, trig_code, regs, time_reg, state_regs, trig_regs, zi, trig_now):
                        hi = c
                    else:
                        lo = c
                at = t + hi * h if hi < 1.0 else t_new
                if at <= t_ignore:  # round-off at the restart: adopt the triggers' values
                    _trigger_values(code, trig_code, regs, time_reg, state_regs, trig_regs, znew, trig_now)
                else:
                    cut, cut_theta = at, hi
        stop = cut if cut >= 0.0 else t_new
        while io < io_hi and (t_out[io] < stop or (cut < 0.0 and t_out[io] == stop)):
            if t_out[io] == t_new:
                for q in range(n):
                    y_out[io, q] = znew[q]
            else:
                _dense((t_out[io] - t) / h, z, znew, dense, zi)
                for q in range(n):
                    y_out[io, q] = zi[q]
            io += 1
        if cut >= 0.0:
            if cut == t_new:
                for q in range(n):
                    y0[q] = znew[q]
            else:  # the state where the root function was found past its root (not re-derived from the time)
                _dense(cut_theta, z, znew, dense, zi)
                for q in range(n):
                    y0[q] = zi[q]
            return SEG_ROOT, cut, io, h
        # next step
        fac = min(6.0, max(0.2, 0.9 * max(err, 1e-10) ** (-err_exp)))
        t = t_new
        for q in range(m):
            z[q] = znew[q]
        _rhs_t(code, regs, time_reg, state_regs, deriv_regs, z, f0)
        stats[2] += 1
        need_jac = True
        for j in range(nr):
            if g1[j] != 0.0:
                g0[j] = g1[j]
        h = min(h * fac, hmax)
    for q in range(n):
        y0[q] = z[q]
    return SEG_DONE, t, io, h
