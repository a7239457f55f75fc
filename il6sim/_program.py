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
from numba import njit

_jit = njit(cache=True, nogil=True, fastmath=False, error_model="numpy")

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
def program_rhs(t: float, y: np.ndarray, regs: np.ndarray, code: np.ndarray, time_reg: int,
                state_regs: np.ndarray, deriv_regs: np.ndarray) -> np.ndarray:
    """Load ``t`` and ``y`` into ``regs``, run ``code``, return the derivative registers (a new array)."""
    regs[time_reg] = t
    for k in range(state_regs.shape[0]):
        regs[state_regs[k]] = y[k]
    run_program(code, regs)
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
        run_program(code, work)
        for k in range(out_regs.shape[0]):
            out[i, k] = work[out_regs[k]]
    return out
