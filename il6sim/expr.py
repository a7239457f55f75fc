"""Safe parser, vectorised evaluator and symbolic derivative for PEtab/SBML math formulas.

Formulas arrive as text (PEtab ``observableFormula`` / ``noiseFormula``, later SBML kinetic laws). They
are never handed to ``eval`` or ``sympify``: a tokenizer and a Pratt parser build a small immutable
tree that only this module interprets, with NumPy, over whatever arrays the caller supplies.

Grammar, loosest binding first (all binary operators left-associative unless noted):

==========================  ==========================================================================
``||``  ``or``              logical or (n-ary)
``&&``  ``and``             logical and (n-ary)
``!``  ``not`` (prefix)     logical not; binds looser than comparisons: ``!a < b`` is ``!(a < b)``
``< <= > >= == !=``         comparisons, non-associative (``a < b < c`` is an error)
``+ -``                     addition, subtraction
``* /``                     multiplication, division
``-  +`` (prefix)           unary minus/plus: ``2*-3`` is ``2*(-3)``
``^  **``                   power, right-associative and tighter than a unary minus on its left:
                            ``2^3^2`` is ``2^(3^2)``, ``-x^2`` is ``-(x^2)``, ``2^-1`` is allowed
``f(a, b)``  ``( )``        function calls and parentheses
==========================  ==========================================================================

Numbers are decimal or scientific (``1``, ``2.5``, ``.5``, ``1e-3``, ``1E+05``) and always float.
Names are ``[A-Za-z_][A-Za-z0-9_]*``. Constants: ``pi``, ``inf``/``Infinity``, ``nan``/``NaN``,
``true``/``false`` (also ``True``/``False``; 1 and 0). ``e`` and ``E`` are **ordinary symbols**, not
Euler's number: PEtab and SBML models use them as ids (write ``exp(1)``). The words ``and``, ``or``,
``not`` are operators, so they cannot be symbols. A name is a function only when ``(`` follows it.
Functions: ``exp log ln log10 log2 sqrt abs sin cos tan sinh cosh tanh arcsin asin arccos acos
arctan atan floor ceil sign`` (one argument), ``log(x, base)``, ``pow(a, b)``, ``min(...)``,
``max(...)`` and ``piecewise(v1, c1, v2, c2, ..., otherwise)``.

Semantics: comparisons and logic give 0.0/1.0, a condition is true where it is non-zero (NaN too);
``piecewise`` evaluates every branch and picks the first true condition per element (NaN where none
is true and there is no ``otherwise``). Domain errors give NaN/inf silently. Text longer than
:data:`MAX_LENGTH` characters or nested deeper than :data:`MAX_DEPTH` levels is rejected.

Examples
--------
>>> f = parse_formula("scale * (A + B_1) + offset")
>>> sorted(f.symbols)
['A', 'B_1', 'offset', 'scale']
>>> float(f.evaluate({"scale": 2.0, "A": 1.0, "B_1": 0.5, "offset": 0.1}))
3.1
>>> str(parse_formula("k*x^2").derivative("x"))
'2 * k * x'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, NamedTuple, TypeAlias

import numpy as np
import numpy.typing as npt

from .errors import Il6simError, suggest

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "Formula", "FormulaError", "parse_formula"]

MAX_LENGTH = 100_000  # characters of formula text
MAX_DEPTH = 200  # nested parentheses, operators and calls


class FormulaError(Il6simError, ValueError):
    """A formula cannot be parsed, evaluated or transformed; the one-line message says where and why."""


# -- syntax tree: Num (float constant), Sym (free symbol), Sum and Prod (flat n-ary, evaluated left to
# right; items are (negated, term) and (divide, factor), so long sums and products never recurse), Pow,
# and Call (functions, comparisons ``<`` ..., logic ``&&`` ``||`` ``!``). ---------------------------------
@dataclass(frozen=True, slots=True)
class Num:
    value: float


@dataclass(frozen=True, slots=True)
class Sym:
    name: str


@dataclass(frozen=True, slots=True)
class Sum:
    items: tuple[tuple[bool, Node], ...]


@dataclass(frozen=True, slots=True)
class Prod:
    items: tuple[tuple[bool, Node], ...]


@dataclass(frozen=True, slots=True)
class Pow:
    base: Node
    exp: Node


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]


Node: TypeAlias = Num | Sym | Sum | Prod | Pow | Call
_ZERO, _ONE, _TWO = Num(0.0), Num(1.0), Num(2.0)


# -- numerics ------------------------------------------------------------------------------------
def _log(x: Any, base: Any = None) -> Any:
    return np.log(x) if base is None else np.log(x) / np.log(base)


def _piecewise(*a: Any) -> Any:
    out = a[-1] if len(a) % 2 else np.float64(np.nan)
    for k in reversed(range(len(a) // 2)):  # applied last-to-first so the first true condition wins
        out = np.where(np.not_equal(a[2 * k + 1], 0), a[2 * k], out)
    return out


def _factorial(x: Any) -> Any:  # Γ(x + 1), elementwise (NaN below the poles, as the kernel's math.gamma)
    return np.vectorize(lambda v: math.gamma(v + 1.0) if v + 1.0 > 0 or v != math.floor(v) else math.nan,
                        otypes=[np.float64])(x)


def _truth(x: Any) -> Any:
    return np.not_equal(x, 0)


_MANY = 10**9
_FUNCS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "exp": (1, 1, np.exp), "log": (1, 2, _log), "ln": (1, 1, np.log), "log10": (1, 1, np.log10),
    "log2": (1, 1, np.log2), "sqrt": (1, 1, np.sqrt), "abs": (1, 1, np.abs), "sin": (1, 1, np.sin),
    "cos": (1, 1, np.cos), "tan": (1, 1, np.tan), "sinh": (1, 1, np.sinh), "cosh": (1, 1, np.cosh),
    "tanh": (1, 1, np.tanh), "arcsin": (1, 1, np.arcsin), "asin": (1, 1, np.arcsin),
    "arccos": (1, 1, np.arccos), "acos": (1, 1, np.arccos), "arctan": (1, 1, np.arctan),
    "atan": (1, 1, np.arctan), "floor": (1, 1, np.floor), "ceil": (1, 1, np.ceil), "sign": (1, 1, np.sign),
    "pow": (2, 2, np.power), "min": (1, _MANY, lambda *a: reduce(np.minimum, a)),
    "max": (1, _MANY, lambda *a: reduce(np.maximum, a)), "piecewise": (2, _MANY, _piecewise),
    "factorial": (1, 1, _factorial),
}
_IMPL: dict[str, Callable[..., Any]] = {name: spec[2] for name, spec in _FUNCS.items()} | {
    "<": lambda a, b: 1.0 * np.less(a, b), "<=": lambda a, b: 1.0 * np.less_equal(a, b),
    ">": lambda a, b: 1.0 * np.greater(a, b), ">=": lambda a, b: 1.0 * np.greater_equal(a, b),
    "==": lambda a, b: 1.0 * np.equal(a, b), "!=": lambda a, b: 1.0 * np.not_equal(a, b),
    "&&": lambda *a: 1.0 * reduce(np.logical_and, map(_truth, a)),
    "||": lambda *a: 1.0 * reduce(np.logical_or, map(_truth, a)),
    "!": lambda a: 1.0 * np.equal(a, 0),
}
_CONSTANTS = {"pi": math.pi, "inf": math.inf, "Infinity": math.inf, "nan": math.nan, "NaN": math.nan,
              "true": 1.0, "false": 0.0, "True": 1.0, "False": 0.0}
_CMP = frozenset({"<", "<=", ">", ">=", "==", "!="})
_INFIX = {"||": (1, 2), "&&": (2, 3), **dict.fromkeys(_CMP, (4, 5)), "+": (5, 6), "-": (5, 6),
          "*": (6, 7), "/": (6, 7), "^": (8, 8)}  # (left, right) binding power; right == left: right-assoc
_CANON = {"or": "||", "and": "&&", "**": "^"}
_CHAINS = {"+": {"+", "-"}, "-": {"+", "-"}, "*": {"*", "/"}, "/": {"*", "/"}, "&&": {"&&"}, "||": {"||"}}
_EXPECT = "expected a number, a name or '('"


# -- tokenizer -----------------------------------------------------------------------------------
class _Tok(NamedTuple):
    kind: str  # num, name, dotted, op, end, error (text is then the message)
    text: str
    col: int  # 1-based


_TOKEN_RE = re.compile(
    r"(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<dotted>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)"
    r"|(?P<name>[A-Za-z_]\w*)|(?P<op>\*\*|&&|\|\||<=|>=|==|!=|[-+*/^(),<>!])", re.ASCII)
_BAD = {"'": "strings are not allowed", '"': "strings are not allowed", "=": "assignment '=' is not allowed; use '=='"
        " to compare", ":": "':' is not allowed (no lambdas, slices or dicts)", "&": "use '&&' or 'and'",
        "|": "use '||' or 'or'", "[": "brackets are not allowed; use '(' and ')'", "{": "braces are not allowed"}
_BAD.update({"]": _BAD["["], "}": _BAD["{"]})


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos, n = 0, len(text)
    while True:
        while pos < n and text[pos].isspace():
            pos += 1
        if pos >= n:
            toks.append(_Tok("end", "", pos + 1))
            return toks
        m = _TOKEN_RE.match(text, pos)
        if m is None:  # stop here; the parser raises when (and if) it reaches this token
            ch = text[pos]
            why = _BAD.get(ch, "formulas contain only numbers, names, operators and function calls")
            toks.append(_Tok("error", f"unexpected {ch!r} at column {pos + 1}; {why}", pos + 1))
            return toks
        toks.append(_Tok(m.lastgroup or "", m.group(), pos + 1))
        pos = m.end()


# -- parser --------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.where, self.toks, self.i, self.depth = where, _tokenize(text), 0, 0

    def fail(self, msg: str) -> FormulaError:
        return FormulaError(f"{self.where}: {msg}" if self.where else msg)

    def peek(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind == "error":
            raise self.fail(tok.text)
        return tok

    def take(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def infix(self, tok: _Tok) -> str | None:
        if (tok.kind == "op" and (tok.text in _INFIX or tok.text == "**")) or (tok.kind == "name" and tok.text in
                                                                              ("and", "or")):
            return _CANON.get(tok.text, tok.text)
        return None

    def expr(self, min_bp: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"formula nested deeper than {MAX_DEPTH} levels at column {self.toks[self.i].col}; "
                            "split it into simpler formulas")
        lhs = self.prefix()
        while (op := self.infix(self.peek())) is not None and _INFIX[op][0] >= min_bp:
            rbp = _INFIX[op][1]
            if op in _CHAINS:  # flat n-ary node, built in a loop: long sums never recurse
                group = _CHAINS[op]
                items: list[tuple[bool, Node]]
                if op in ("+", "-"):
                    items = list(lhs.items) if isinstance(lhs, Sum) else [(False, lhs)]
                elif op in ("*", "/"):
                    items = list(lhs.items) if isinstance(lhs, Prod) else [(False, lhs)]
                else:
                    items = [(False, a) for a in (lhs.args if isinstance(lhs, Call) and lhs.name == op else (lhs,))]
                while (o := self.infix(self.peek())) in group:
                    self.i += 1
                    items.append((o in ("-", "/"), self.expr(rbp)))
                lhs = Sum(tuple(items)) if op in ("+", "-") else Prod(tuple(items)) if op in ("*", "/") else \
                    Call(op, tuple(t for _, t in items))
                continue
            tok = self.take()
            rhs = self.expr(rbp)
            if op == "^":
                lhs = Pow(lhs, rhs)
                continue
            lhs = Call(op, (lhs, rhs))
            nxt = self.peek()
            if self.infix(nxt) in _CMP:
                raise self.fail(f"chained comparison at column {nxt.col} (after {tok.text!r} at column {tok.col}); "
                                "write (a < b) && (b < c)")
        self.depth -= 1
        return lhs

    def prefix(self) -> Node:
        tok = self.take()
        k, t = tok.kind, tok.text
        if k == "num":
            return Num(float(t))
        if k == "end":
            prev = self.toks[self.i - 2]
            raise self.fail(f"unexpected end of formula after {prev.text!r} at column {prev.col}; {_EXPECT}")
        nxt = self.toks[self.i]
        if k == "name":
            if t == "not":
                return Call("!", (self.expr(3),))
            if nxt.kind == "op" and nxt.text == "(":
                return self.call(tok)
            if t in ("and", "or"):
                raise self.fail(f"unexpected {t!r} at column {tok.col}; {_EXPECT}")
            return Num(_CONSTANTS[t]) if t in _CONSTANTS else Sym(t)
        if k == "dotted":
            if nxt.kind == "op" and nxt.text == "(":
                raise self.fail(f"unknown function {t!r} at column {tok.col}; attribute access is not allowed, "
                                f"known functions: {', '.join(sorted(_FUNCS))}")
            raise self.fail(f"attribute access {t!r} at column {tok.col} is not allowed; use a plain name "
                            "such as k_1")
        if k == "op" and t == "(":
            inner = self.expr(0)
            close = self.peek()
            if close.kind == "op" and close.text == ")":
                self.i += 1
                return inner
            if close.kind == "end":
                raise self.fail(f"'(' at column {tok.col} is never closed; add ')'")
            raise self.fail(f"unexpected {close.text!r} at column {close.col}; expected an operator or ')'")
        if k == "op" and t in ("-", "+", "!"):
            operand = self.expr(3 if t == "!" else 7)
            return _neg(operand) if t == "-" else operand if t == "+" else Call("!", (operand,))
        raise self.fail(f"unexpected {t!r} at column {tok.col}; {_EXPECT}")

    def call(self, tok: _Tok) -> Node:
        name = tok.text
        if name not in _FUNCS:
            raise self.fail(f"unknown function {name!r} at column {tok.col}; known functions: "
                            f"{', '.join(sorted(_FUNCS))}{suggest(name, _FUNCS)}")
        self.i += 1  # '('
        args: list[Node] = []
        if self.peek().text == ")":
            self.i += 1
        else:
            while True:
                args.append(self.expr(0))
                sep = self.take()
                if sep.kind == "op" and sep.text == ")":
                    break
                if sep.kind == "end":
                    raise self.fail(f"call to {name}() at column {tok.col} is never closed; add ')'")
                if sep.text != ",":
                    raise self.fail(f"unexpected {sep.text!r} at column {sep.col}; expected ',' or ')' in the call "
                                    f"to {name}()")
        lo, hi, _ = _FUNCS[name]
        if not lo <= len(args) <= hi:
            want = f"{lo}" if lo == hi else f"{lo} or {hi}" if hi == lo + 1 else f"at least {lo}"
            raise self.fail(f"{name}() at column {tok.col} takes {want} argument{'s' * (want != '1')}, "
                            f"got {len(args)}")
        return Call(name, tuple(args))


# -- simplifying constructors (used by derivative) ----------------------------------------------------
def _is(n: Node, v: float) -> bool:
    return isinstance(n, Num) and n.value == v


def _neg(n: Node) -> Node:
    if isinstance(n, Num):
        return Num(-n.value)
    if isinstance(n, Sum) and len(n.items) == 1 and n.items[0][0]:
        return n.items[0][1]
    return Sum(((True, n),))


def _add(items: list[tuple[bool, Node]]) -> Node:
    flat: list[tuple[bool, Node]] = []
    for neg, t in items:
        flat.extend(((neg != n2, t2) for n2, t2 in t.items) if isinstance(t, Sum) else ((neg, t),))
    const = sum(-t.value if neg else t.value for neg, t in flat if isinstance(t, Num)) + 0.0
    rest: list[tuple[bool, Node]] = [(neg, t) for neg, t in flat if not isinstance(t, Num)]
    if const != 0:  # also true for nan
        rest.insert(0, (False, Num(const)))
    if not rest:
        return _ZERO
    if rest[0][0]:  # -x * y rather than -(x * y)
        rest[0] = (False, _mul([(False, Num(-1.0)), (False, rest[0][1])]))
    return rest[0][1] if len(rest) == 1 else Sum(tuple(rest))


def _mul(items: list[tuple[bool, Node]]) -> Node:
    """Product with numeric factors folded into one leading coefficient; a zero coefficient gives 0."""
    flat: list[tuple[bool, Node]] = []
    for div, f in items:
        flat.extend(((div != d2, f2) for d2, f2 in f.items) if isinstance(f, Prod) else ((div, f),))
    coef, rest = np.float64(1.0), list[tuple[bool, Node]]()
    with np.errstate(all="ignore"):
        for div, f in flat:
            if isinstance(f, Sum) and len(f.items) == 1 and f.items[0][0]:
                coef, f = -coef, f.items[0][1]
            if isinstance(f, Num):
                coef = coef / f.value if div else coef * f.value
            else:
                rest.append((div, f))
    if coef == 0 or not rest:
        return Num(float(coef))
    if coef == -1 and not rest[0][0]:
        rest[0] = (False, _neg(rest[0][1]))  # -x * y rather than -(x * y)
    elif coef != 1 or rest[0][0]:
        rest.insert(0, (False, Num(float(coef))))
    return rest[0][1] if len(rest) == 1 else Prod(tuple(rest))


def _pow(b: Node, e: Node) -> Node:
    if isinstance(e, Num) and e.value in (0.0, 1.0):
        return _ONE if e.value == 0 else b
    if isinstance(e, Num) and isinstance(b, Num):
        with np.errstate(all="ignore"):
            return Num(float(np.power(b.value, e.value)))
    return Pow(b, e)


# -- derivative ----------------------------------------------------------------------------------
_Factors = list[tuple[bool, Node]]
_CHAIN: dict[str, Callable[[Node, Node], _Factors]] = {  # (call, argument u) -> factors of f'(u)
    "exp": lambda n, u: [(False, n)],
    "log": lambda n, u: [(True, u)], "ln": lambda n, u: [(True, u)],
    "log10": lambda n, u: [(True, u), (True, Num(math.log(10)))],
    "log2": lambda n, u: [(True, u), (True, Num(math.log(2)))],
    "sqrt": lambda n, u: [(True, _TWO), (True, n)],
    "sin": lambda n, u: [(False, Call("cos", (u,)))], "cos": lambda n, u: [(False, _neg(Call("sin", (u,))))],
    "tan": lambda n, u: [(True, _pow(Call("cos", (u,)), _TWO))],
    "sinh": lambda n, u: [(False, Call("cosh", (u,)))], "cosh": lambda n, u: [(False, Call("sinh", (u,)))],
    "tanh": lambda n, u: [(False, _add([(False, _ONE), (True, _pow(n, _TWO))]))],
    "arcsin": lambda n, u: [(True, Call("sqrt", (_add([(False, _ONE), (True, _pow(u, _TWO))]),)))],
    "arccos": lambda n, u: [(False, Num(-1.0)), (True, Call("sqrt", (_add([(False, _ONE), (True, _pow(u, _TWO))]),)))],
    "arctan": lambda n, u: [(True, _add([(False, _ONE), (False, _pow(u, _TWO))]))],
}
_CHAIN.update(asin=_CHAIN["arcsin"], acos=_CHAIN["arccos"], atan=_CHAIN["arctan"])


def _d(n: Node, x: str) -> Node:
    if isinstance(n, Num):
        return _ZERO
    if isinstance(n, Sym):
        return _ONE if n.name == x else _ZERO
    if isinstance(n, Sum):
        return _add([(neg, _d(t, x)) for neg, t in n.items])
    if isinstance(n, Prod):
        terms: _Factors = []
        for i, (div, f) in enumerate(n.items):
            df = _d(f, x)
            if not _is(df, 0):
                others = [*n.items[:i], *n.items[i + 1:], (False, df)]
                terms.append((div, _mul([*others, (True, f), (True, f)] if div else others)))  # (1/f)' = -f'/f^2
        return _add(terms)
    if isinstance(n, Pow):
        return _dpow(n, n.base, n.exp, x)
    name, a = n.name, n.args
    if name in _CHAIN and len(a) == 1:
        du = _d(a[0], x)
        return _ZERO if _is(du, 0) else _mul([(False, du), *_CHAIN[name](n, a[0])])
    if name == "log":  # log(u, base) = ln(u) / ln(base)
        return _d(Prod(((False, Call("log", (a[0],))), (True, Call("log", (a[1],))))), x)
    if name == "pow":
        return _dpow(n, a[0], a[1], x)
    if name == "piecewise":  # branches differentiated, conditions kept
        ds = [_d(v, x) if i % 2 == 0 else v for i, v in enumerate(a)]
        return _ZERO if len(a) % 2 and all(_is(v, 0) for v in ds[::2]) else Call(name, tuple(ds))
    if name == "abs":
        du = _d(a[0], x)
        return _ZERO if _is(du, 0) else Call("piecewise", (_neg(du), Call("<", (a[0], _ZERO)), du))
    if name in ("min", "max"):  # derivative of the first active argument
        ds, op = [_d(v, x) for v in a], "<=" if name == "min" else ">="
        if all(_is(v, 0) for v in ds) or len(a) == 1:
            return ds[0]
        args: list[Node] = []
        for i in range(len(a) - 1):
            conds = tuple(Call(op, (a[i], a[j])) for j in range(len(a)) if j != i)
            args += [ds[i], conds[0] if len(conds) == 1 else Call("&&", conds)]
        return Call("piecewise", (*args, ds[-1]))
    return _ZERO  # sign, floor, ceil, comparisons, logic: piecewise constant


def _dpow(n: Node, b: Node, e: Node, x: str) -> Node:
    db, de = _d(b, x), _d(e, x)
    if _is(de, 0):  # e * b^(e-1) * b'
        return _ZERO if _is(db, 0) else _mul([(False, e), (False, _pow(b, _add([(False, e), (True, _ONE)]))),
                                               (False, db)])
    parts: _Factors = [(False, _mul([(False, de), (False, Call("log", (b,)))]))]  # b^e * (e' ln b + e b'/b)
    if not _is(db, 0):
        parts.append((False, _mul([(False, e), (False, db), (True, b)])))
    return _mul([(False, n), (False, _add(parts))])


# -- evaluation, substitution, printing -------------------------------------------------------------
def _ev(n: Node, env: Mapping[str, Any]) -> Any:
    if isinstance(n, Num):
        return np.float64(n.value)
    if isinstance(n, Sym):
        return env[n.name]
    if isinstance(n, Sum | Prod):
        add = isinstance(n, Sum)
        acc: Any = None
        for inv, t in n.items:  # a loop, not a recursion per term
            v = _ev(t, env)
            if acc is None:
                acc = (-v if add else np.float64(1.0) / v) if inv else v
            else:
                acc = (acc - v if inv else acc + v) if add else (acc / v if inv else acc * v)
        return acc
    if isinstance(n, Pow):
        return np.power(_ev(n.base, env), _ev(n.exp, env))
    return _IMPL[n.name](*[_ev(a, env) for a in n.args])


def _symbols(node: Node) -> frozenset[str]:
    out, stack = set(), [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Sym):
            out.add(n.name)
        elif isinstance(n, Sum | Prod):
            stack.extend(t for _, t in n.items)
        elif isinstance(n, Pow):
            stack += [n.base, n.exp]
        elif isinstance(n, Call):
            stack.extend(n.args)
    return frozenset(out)


def _subst(n: Node, m: Mapping[str, Node]) -> Node:
    if isinstance(n, Sym):
        return m.get(n.name, n)
    if isinstance(n, Sum):
        return Sum(tuple((neg, _subst(t, m)) for neg, t in n.items))
    if isinstance(n, Prod):
        return Prod(tuple((div, _subst(t, m)) for div, t in n.items))
    if isinstance(n, Pow):
        return Pow(_subst(n.base, m), _subst(n.exp, m))
    if isinstance(n, Call):
        return Call(n.name, tuple(_subst(a, m) for a in n.args))
    return n


def _fmt(n: Node) -> tuple[str, int]:
    """Text and precedence (1 ``||`` ... 5 sum, 6 product, 7 negative, 8 power, 9 atom)."""
    if isinstance(n, Num):
        v = n.value
        if math.isnan(v) or math.isinf(v):
            return ("nan", 9) if math.isnan(v) else ("inf", 9) if v > 0 else ("-inf", 7)
        return (str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)), 7 if v < 0 else 9
    if isinstance(n, Sym):
        return n.name, 9
    if isinstance(n, Sum):
        parts = [("-" + _wrap(t, 8)) if neg else _wrap(t, 6, lead=True) for neg, t in n.items[:1]]
        parts += [(" - " if neg else " + ") + _wrap(t, 6) for neg, t in n.items[1:]]
        return "".join(parts), 7 if len(n.items) == 1 else 5
    if isinstance(n, Prod):
        parts = [("1 / " + _wrap(t, 8)) if div else _wrap(t, 6, lead=True) for div, t in n.items[:1]]
        parts += [(" / " + _wrap(t, 8)) if div else (" * " + _wrap(t, 7)) for div, t in n.items[1:]]
        return "".join(parts), 6
    if isinstance(n, Pow):
        return f"{_wrap(n.base, 9)}^{_wrap(n.exp, 8)}", 8
    if n.name in _CMP:
        return f"{_wrap(n.args[0], 5, lead=True)} {n.name} {_wrap(n.args[1], 5, lead=True)}", 4
    if n.name in ("&&", "||"):
        p = 2 if n.name == "&&" else 1
        return f" {n.name} ".join(_wrap(a, p + 1, lead=True) for a in n.args), p
    if n.name == "!":
        return "!" + _wrap(n.args[0], 9), 3
    return f"{n.name}({', '.join(_fmt(a)[0] for a in n.args)})", 9


def _wrap(n: Node, min_prec: int, lead: bool = False) -> str:
    s, p = _fmt(n)
    return f"({s})" if p < min_prec or (p == 7 and not lead) else s


# -- public API ----------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class Formula:
    """A parsed formula: immutable, hashable, compared by its syntax tree.

    Build one with :func:`parse_formula`. ``text`` is the source text (for derived formulas, the
    printed tree); ``node`` is the syntax tree; ``where`` prefixes error messages; ``symbols`` are the
    free identifiers (not function names or constants).

    Examples
    --------
    >>> f = parse_formula("observableParameter1_x * exp(-k*time)")
    >>> sorted(f.symbols), f.is_constant
    (['k', 'observableParameter1_x', 'time'], False)
    >>> str(f.substitute({"observableParameter1_x": 2.0, "k": "k_deg"}))
    '2 * exp(-k_deg * time)'
    """

    text: str = field(compare=False)
    node: Node
    where: str = field(default="", compare=False)
    symbols: frozenset[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols", _symbols(self.node))

    def __str__(self) -> str:
        return _fmt(self.node)[0]

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    @property
    def is_constant(self) -> bool:
        """True when the formula uses no symbols.

        Examples
        --------
        >>> parse_formula("2 * pi").is_constant
        True
        """
        return not self.symbols

    def _error(self, msg: str) -> FormulaError:
        return FormulaError(f"{self.where}: {msg}" if self.where else msg)

    def _derived(self, node: Node) -> Formula:
        return Formula(_fmt(node)[0], node, self.where)

    def evaluate(self, env: Mapping[str, float | npt.ArrayLike]) -> npt.NDArray[np.float64]:
        """Evaluate with NumPy, broadcasting the values of the symbols against each other.

        Parameters
        ----------
        env : mapping of str to float or array
            A value for every name in :attr:`symbols` (others are ignored), e.g. states of shape
            (n_rows, n_times) and parameters of shape (n_rows, 1) or scalars.

        Returns
        -------
        numpy.ndarray
            Float array of the broadcast shape of the values used (0-d for a constant formula).
            Domain errors (``log(-1)``, ``1/0``) give NaN or inf without warnings.

        Examples
        --------
        >>> parse_formula("a * t").evaluate({"a": [[1.0], [2.0]], "t": [0.0, 1.0, 2.0]})
        array([[0., 1., 2.],
               [0., 2., 4.]])
        """
        missing = sorted(self.symbols - set(env))
        if missing:
            known = sorted(env)
            listed = ", ".join(known[:20]) + (f", ... ({len(known) - 20} more)" if len(known) > 20 else "")
            more = f" (also missing: {', '.join(missing[1:6])}{', ...' * (len(missing) > 6)})" if missing[1:] else ""
            hint = suggest(missing[0], known) or "; pass a value for it to evaluate()"
            raise self._error(f"no value for symbol {missing[0]!r}{more}; known symbols: {listed or '(none)'}{hint}")
        values = {}
        for s in self.symbols:
            try:
                values[s] = np.asarray(env[s], dtype=np.float64)
            except (TypeError, ValueError):
                raise self._error(f"value of symbol {s!r} is not numeric ({type(env[s]).__name__}); pass a float "
                                  "or an array of floats") from None
        try:
            with np.errstate(all="ignore"):
                out = np.asarray(_ev(self.node, values), dtype=np.float64)
        except ValueError as exc:
            raise self._error(f"cannot broadcast the values of {', '.join(sorted(self.symbols))}: {exc}") from None
        except RecursionError:
            raise self._error("formula too deeply nested to evaluate; split it into simpler formulas") from None
        return out.copy() if any(out is v for v in values.values()) else out  # never hand back an input array

    def substitute(self, mapping: Mapping[str, str | float | Formula]) -> Formula:
        """Replace symbols, all at once, by names, numbers, formula text or formulas.

        Keys that are not symbols of this formula are ignored.

        Examples
        --------
        >>> f = parse_formula("noiseParameter1_y + noiseParameter2_y * y")
        >>> str(f.substitute({"noiseParameter1_y": 0.1, "noiseParameter2_y": "sd_rel"}))
        '0.1 + sd_rel * y'
        """
        m: dict[str, Node] = {}
        for key, value in mapping.items():
            if key not in self.symbols:
                continue
            if isinstance(value, Formula):
                m[key] = value.node
            elif isinstance(value, str):
                m[key] = parse_formula(value, where=f"{self.where + ': ' if self.where else ''}value for {key!r}").node
            elif isinstance(value, int | float | np.integer | np.floating):
                m[key] = Num(float(value))
            else:
                raise self._error(f"cannot substitute {key!r} by a {type(value).__name__}; use a name, a number "
                                  "or a Formula")
        return self._derived(_subst(self.node, m)) if m else self

    def derivative(self, symbol: str) -> Formula:
        """Symbolic partial derivative with respect to ``symbol``, lightly simplified.

        Kinks and steps (``abs``, ``min``, ``max``, ``piecewise`` conditions) give the derivative of the
        active branch; ``sign``, ``floor``, ``ceil``, comparisons and logic give 0. ``0 * inf`` is
        simplified to 0, as symbolic algebra usually does.

        Examples
        --------
        >>> str(parse_formula("exp(-k*t)").derivative("k"))
        '-t * exp(-k * t)'
        >>> str(parse_formula("max(x, 0)").derivative("x"))
        'piecewise(1, x >= 0, 0)'
        """
        if not isinstance(symbol, str) or not re.fullmatch(r"[A-Za-z_]\w*", symbol, re.ASCII):
            raise self._error(f"cannot differentiate with respect to {symbol!r}; give a symbol name")
        try:
            return self._derived(_d(self.node, symbol))
        except RecursionError:
            raise self._error("formula too deeply nested to differentiate; split it into simpler formulas") from None


def parse_formula(text: str, *, where: str = "") -> Formula:
    """Parse formula text into a :class:`Formula` without executing anything.

    Parameters
    ----------
    text : str
        The formula, at most :data:`MAX_LENGTH` characters and :data:`MAX_DEPTH` levels deep.
    where : str, optional
        Location prefix for error messages, e.g. ``"observables.tsv:3 observableFormula"``.

    Raises
    ------
    FormulaError
        On any syntax error, unknown function, or limit exceeded; the message names ``where``,
        the column and what was expected.

    Examples
    --------
    >>> float(parse_formula("2^3^2 - -2^2").evaluate({}))
    516.0
    >>> parse_formula("k1 * (A + ", where="obs.tsv:3 observableFormula")
    Traceback (most recent call last):
    ...
    il6sim.expr.FormulaError: obs.tsv:3 observableFormula: unexpected end of formula after '+' at column 9; expected a number, a name or '('
    """
    prefix = f"{where}: " if where else ""
    if not isinstance(text, str):
        raise FormulaError(f"{prefix}formula must be text, got {type(text).__name__} {text!r}; write e.g. 'k1 * A'")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"{prefix}formula is {len(text)} characters long, more than the limit of {MAX_LENGTH}; "
                           "split it into simpler formulas")
    if not text.strip():
        raise FormulaError(f"{prefix}empty formula; write an expression such as 'k1 * A'")
    p = _Parser(text, where)
    try:
        node = p.expr(0)
    except RecursionError:  # only when called from an already deep stack: MAX_DEPTH bounds our own
        raise p.fail("formula too deeply nested to parse; split it into simpler formulas") from None
    tok = p.peek()
    if tok.kind != "end":
        if tok.text == ")":
            raise p.fail(f"unmatched ')' at column {tok.col}; remove it or add a matching '('")
        raise p.fail(f"unexpected {tok.text!r} at column {tok.col}; expected an operator or the end of the formula")
    return Formula(text, node, where)
