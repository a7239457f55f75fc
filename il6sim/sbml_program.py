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
