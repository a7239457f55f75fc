"""Lower an :class:`~il6sim.sbml_model.SbmlModel`'s formulas to register programs for :mod:`il6sim._program`.

One register file per model: register 0 is the time, then one register per named value (states,
constants, assignments), then numeric constants and temporaries. Four straight-line programs share
it: ``main`` (assignments in dependency order, then the derivatives), ``triggers`` (one register per
event trigger, run after ``main``), ``events`` (every delay, priority and event-assignment value, run
after ``main``). Within a program, a sub-expression that occurs twice is computed once (the syntax
trees are hashable). Nothing here is compiled: lowering a model is a walk over its formulas.

Examples
--------
>>> from il6sim.expr import parse_formula
>>> b = ProgramBuilder()
>>> code = b.program([("y", parse_formula("2 * x + 1"))])
>>> regs = b.registers({"x": 3.0})
>>> from il6sim._program import run_program
>>> run_program(code, regs); float(regs[b.reg("y")])
7.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from . import _program as P
from .expr import Call, Formula, Node, Num, Pow, Prod, Sum, Sym

__all__ = ["ProgramBuilder"]

_UNARY = {"exp": P.EXP, "ln": P.LN, "log10": P.LOG10, "log2": P.LOG2, "sqrt": P.SQRT, "abs": P.ABS,
          "floor": P.FLOOR, "ceil": P.CEIL, "sign": P.SIGN, "sin": P.SIN, "cos": P.COS, "tan": P.TAN,
          "sinh": P.SINH, "cosh": P.COSH, "tanh": P.TANH, "arcsin": P.ASIN, "asin": P.ASIN,
          "arccos": P.ACOS, "acos": P.ACOS, "arctan": P.ATAN, "atan": P.ATAN, "!": P.NOT,
          "factorial": P.FACTORIAL}
_BINARY = {"<": P.LT, "<=": P.LE, ">": P.GT, ">=": P.GE, "==": P.EQ, "!=": P.NE, "pow": P.POW,
           "&&": P.AND, "||": P.OR, "min": P.MIN, "max": P.MAX}


class ProgramBuilder:
    """Allocates registers by name and lowers formulas into instruction arrays.

    Register 0 is the clock, named ``time_name`` (``"time"``, csymbol time; pass another name when
    the model has an id ``time``, which is then an ordinary value).
    """

    TIME = 0

    def __init__(self, time_name: str = "time") -> None:
        self._names: dict[str, int] = {time_name: 0}
        self._numbers: dict[tuple[float, float], int] = {}
        self._image: list[float] = [0.0]
        self._nan: int | None = None
        self._floor = 0

    # registers ------------------------------------------------------------------------------------
    def reg(self, name: str) -> int:
        """The register of a named value (allocated on first use)."""
        r = self._names.get(name)
        if r is None:
            r = self._names[name] = self._new()
        return r

    def _new(self, value: float = 0.0) -> int:
        self._image.append(value)
        return len(self._image) - 1

    def _number(self, value: float) -> int:
        if math.isnan(value):
            if self._nan is None:
                self._nan = self._new(math.nan)
            return self._nan
        key = (value, math.copysign(1.0, value))  # -0.0 and 0.0 apart
        r = self._numbers.get(key)
        if r is None:
            r = self._numbers[key] = self._new(value)
        return r

    @property
    def names(self) -> Mapping[str, int]:
        """Name → register."""
        return dict(self._names)

    def registers(self, values: Mapping[str, float] | None = None) -> np.ndarray:
        """A register image: numbers in place, named values from ``values`` (others 0)."""
        regs = np.array(self._image, dtype=np.float64)
        for name, v in (values or {}).items():
            if name in self._names:
                regs[self._names[name]] = v
        return regs

    # lowering --------------------------------------------------------------------------------------
    def program(self, assignments: Iterable[tuple[str, Formula]]) -> np.ndarray:
        """Instructions that compute each ``name = formula`` in order (later ones may read earlier ones)."""
        code: list[tuple[int, int, int, int, int]] = []
        memo: dict[Node, int] = {}
        self._floor = len(self._image) - 1  # registers above this are this program's temporaries
        for name, f in assignments:
            dst = self.reg(name)
            src = self._lower(f.node, code, memo)
            if code and code[-1][1] == src and src not in self._names.values() and src > self._floor:
                code[-1] = (code[-1][0], dst, *code[-1][2:])  # write the last result straight to its name
                memo = {k: (dst if v == src else v) for k, v in memo.items()}
            elif src != dst:
                code.append((P.COPY, dst, src, 0, 0))
        return np.array(code, dtype=np.int64).reshape(-1, 5)

    def _emit(self, code: list, op: int, a: int, b: int = 0, c: int = 0) -> int:
        d = self._new()
        code.append((op, d, a, b, c))
        return d

    def _lower(self, n: Node, code: list, memo: dict[Node, int]) -> int:
        if isinstance(n, Num):
            return self._number(n.value)
        if isinstance(n, Sym):
            return self.reg(n.name)
        hit = memo.get(n)
        if hit is not None:
            return hit
        if isinstance(n, Sum | Prod):
            add = isinstance(n, Sum)
            acc = -1
            for inv, term in n.items:  # left to right, as il6sim.expr evaluates
                r = self._lower(term, code, memo)
                if acc < 0:
                    acc = (self._emit(code, P.NEG if add else P.INV, r)) if inv else r
                else:
                    op = (P.SUB if inv else P.ADD) if add else (P.DIV if inv else P.MUL)
                    acc = self._emit(code, op, acc, r)
            out = acc
        elif isinstance(n, Pow):
            out = self._emit(code, P.POW, self._lower(n.base, code, memo), self._lower(n.exp, code, memo))
        else:
            assert isinstance(n, Call)
            args = [self._lower(a, code, memo) for a in n.args]
            name = n.name
            if name in _UNARY and len(args) == 1:
                out = self._emit(code, _UNARY[name], args[0])
            elif name == "log":
                ln = self._emit(code, P.LN, args[0])
                out = ln if len(args) == 1 else self._emit(code, P.DIV, ln, self._emit(code, P.LN, args[1]))
            elif name in ("min", "max", "&&", "||"):
                out = args[0]
                if len(args) == 1 and name in ("&&", "||"):
                    out = self._emit(code, P.NE, out, self._number(0.0))
                for a in args[1:]:
                    out = self._emit(code, _BINARY[name], out, a)
            elif name in _BINARY and len(args) == 2:
                out = self._emit(code, _BINARY[name], args[0], args[1])
            elif name == "piecewise":
                out = args[-1] if len(args) % 2 else self._number(math.nan)
                for k in reversed(range(len(args) // 2)):  # the first true condition wins
                    out = self._emit(code, P.SELECT, args[2 * k + 1], args[2 * k], out)
            else:
                raise ValueError(f"no instruction for {name}() with {len(args)} arguments")
        memo[n] = out
        return out


_READS_B = frozenset({P.ADD, P.SUB, P.MUL, P.DIV, P.POW, P.LT, P.LE, P.GT, P.GE, P.EQ, P.NE, P.AND, P.OR,
                      P.MIN, P.MAX})


def jacobian_pattern(code: np.ndarray, n_regs: int, state_regs: np.ndarray, time_reg: int,
                     deriv_regs: np.ndarray) -> np.ndarray:
    """Which derivative can depend on which state: the structural Jacobian of the system the
    integrator sees, states then time (``(n + 1) x (n + 1)`` booleans), from the
    registers each instruction of ``code`` reads (a ``SELECT`` depends on all three operands).

    >>> from il6sim.expr import parse_formula
    >>> b = ProgramBuilder()
    >>> s = [b.reg("x"), b.reg("y")]
    >>> code = b.program([("dx", parse_formula("-k * x")), ("dy", parse_formula("x * time"))])
    >>> jacobian_pattern(code, len(b.registers()), np.array(s), 0, np.array([b.reg("dx"), b.reg("dy")])).astype(int)
    array([[1, 0, 0],
           [1, 0, 1],
           [0, 0, 0]])
    """
    n = state_regs.size
    deps = [0] * n_regs
    for j, r in enumerate(state_regs.tolist()):
        deps[r] = 1 << j
    deps[time_reg] = 1 << n
    for op, d, a, b, c in code.tolist():
        v = deps[a]
        if op in _READS_B:
            v |= deps[b]
        elif op == P.SELECT:
            v |= deps[b] | deps[c]
        deps[d] = v
    pat = np.zeros((n + 1, n + 1), dtype=bool)
    for i, r in enumerate(deriv_regs.tolist()):
        bits = deps[r]
        while bits:
            low = bits & -bits
            pat[i, low.bit_length() - 1] = True
            bits ^= low
    return pat


def column_groups(pat: np.ndarray) -> list[list[int]]:
    """Columns of a sparse Jacobian that no row shares, so one finite difference can estimate them
    together (greedy colouring, Curtis, Powell & Reid 1974), columns with most entries first.

    >>> column_groups(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=bool))
    [[0, 2], [1]]
    """
    m = pat.shape[1]
    order = sorted(range(m), key=lambda c: (-int(pat[:, c].sum()), c))
    groups: list[list[int]] = []
    rows_used: list[np.ndarray] = []
    for c in order:
        col = pat[:, c]
        for g, used in zip(groups, rows_used):
            if not np.any(used & col):
                g.append(c)
                used |= col
                break
        else:
            groups.append([c])
            rows_used.append(col.copy())
    return [sorted(g) for g in groups]


def jacobian_plan(pat: np.ndarray) -> tuple[np.ndarray, ...]:
    """The integer arrays :func:`il6sim._program.rodas_segment` needs for a sparse Jacobian by grouped
    finite differences and a sparse LU of ``W = I/(hγ) - J`` (pattern ``pat`` plus the diagonal):
    :func:`il6sim._jitsolve.lu_plan`'s first ten arrays, then the column groups (``grp_ptr``,
    ``grp_cols``) and, per column, its rows and their value positions (``col_ptr``, ``col_rows``,
    ``col_pos``)."""
    from ._jitsolve import lu_plan

    m = pat.shape[0]
    plan = lu_plan(pat | np.eye(m, dtype=bool))
    perm, pos = plan[0], plan[10]
    iperm = np.empty(m, dtype=np.int64)
    iperm[perm] = np.arange(m)
    groups = column_groups(pat)
    grp_ptr = np.cumsum([0, *(len(g) for g in groups)]).astype(np.int64)
    grp_cols = np.array([c for g in groups for c in g], dtype=np.int64)
    col_ptr = np.zeros(m + 1, dtype=np.int64)
    rows: list[int] = []
    where: list[int] = []
    for c in range(m):
        rr = np.nonzero(pat[:, c])[0].tolist()
        rows += rr
        where += [int(pos[iperm[r], iperm[c]]) for r in rr]
        col_ptr[c + 1] = len(rows)
    return tuple(np.ascontiguousarray(x, dtype=np.int64) for x in (
        *plan[:10], grp_ptr, grp_cols, col_ptr, np.array(rows), np.array(where)))
