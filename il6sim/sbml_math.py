"""SBML MathML and model structure as plain data: every math element becomes an :class:`~il6sim.expr.Formula`.

Optional extra: needs ``python-libsbml`` (imported only when a function here is called). Nothing is
simulated here; :func:`read_model_math` hands the model's structure and math to whichever kernel
simulates it, and :func:`math_to_formula` converts one libSBML ``ASTNode``.

How MathML maps onto :mod:`il6sim.expr` trees (built node by node, never through text, so names are
kept exactly and numbers are the ones libSBML read):

* numbers: integers, reals, e-notation (``mantissa`` and ``exponent`` rejoined as decimal text, so
  ``1.1e-3`` is the correctly rounded double), rationals (``numerator / denominator``), ``true``/
  ``false`` (1/0), ``pi``, ``exponentiale``, ``infinity``, ``notanumber``;
* names stay names (species, compartments, parameters, reaction and species-reference ids); kinetic
  law local parameters are renamed by the caller's ``local`` mapping; csymbol ``time`` becomes the
  name ``time`` and csymbol ``avogadro`` the number :data:`AVOGADRO` (the value SBML L3 fixes);
* ``plus minus times divide power`` as sums, products and powers (n-ary, left to right); ``root``
  (``sqrt`` for degree 2, else ``x^(1/degree)``, NaN for negative ``x``), ``log`` (base 10 by
  default, ``log2``/``log10``/``log(x, base)``), ``ln exp abs floor ceiling``, ``min max``;
  ``quotient(a, b)`` truncates ``a/b`` toward zero and ``rem(a, b) = a - b*quotient(a, b)`` (MathML:
  the remainder has the sign of ``a``);
* trigonometric functions the evaluator lacks are written with the ones it has (Abramowitz & Stegun
  4.3-4.6): ``sec = 1/cos``, ``arcsec(x) = arccos(1/x)``, ``arccot(x) = arctan(1/x)``, ``sech =
  1/cosh``, ``arcsinh(x) = sign(x)*ln(|x| + sqrt(x^2 + 1))``, ``arccosh``, ``arctanh``,
  ``arcsech(x) = arccosh(1/x)`` and so on;
* ``piecewise`` (pieces then ``otherwise``; the first true piece wins), relations (n-ary ``a < b <
  c`` is ``a < b && b < c``), ``and or not`` (n-ary; ``and()`` is true, ``or()`` false), ``xor``
  (true when an odd number of arguments is true), ``implies``;
* ``factorial(x)`` is Γ(x + 1); ``rateOf(x)`` (x an id) stays a call ``rateOf`` for the simulator, which
  replaces it by the derivative of ``x`` (:mod:`il6sim.sbml_model`);
* function definitions are inlined: their arguments are substituted into the body (bodies that call
  other functions are inlined first; a cycle is refused).

Refused with :class:`SbmlMathError` (one line naming the element and the construct, its
``construct`` attribute says which): ``delay``, ``rateOf`` of anything but an id, ``lambda`` outside a
function definition, unknown functions, package MathML (``distrib`` ...), SBML Level 3 packages
that the document uses (diagram-only ``layout``/``render`` are ignored, and so is a package that is
declared but has no element in the document), and a model id ``time`` where csymbol ``time`` is
used. Algebraic rules and ``fast`` reactions are kept, for the caller to refuse by name. Units are
ignored: they never change SBML core numerics.

Examples
--------
>>> import pytest; libsbml = pytest.importorskip("libsbml")  # (this example needs python-libsbml)
>>> f = math_to_formula(libsbml.parseL3Formula("Vmax * S / (Km + S)"), functions={}, where="reaction 'R1'")
>>> str(f), float(f.evaluate({"Vmax": 2.0, "S": 1.0, "Km": 3.0}))
('Vmax * S / (Km + S)', 0.5)
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ModelFileError, suggest
from .expr import Call, Formula, Node, Num, Pow, Prod, Sum, Sym

__all__ = ["AVOGADRO", "Compartment", "Event", "FunctionDefinition", "Parameter", "Reaction", "SbmlMath",
           "SbmlMathError", "Species", "SpeciesReference", "math_to_formula", "read_model_math"]

#: The value of csymbol ``avogadro`` that SBML Level 3 Versions 1 and 2 fix (1/mol).
AVOGADRO = 6.02214179e23
_IGNORED_PACKAGES = frozenset({"layout", "render"})  # drawings only: they never change the math


class SbmlMathError(ModelFileError):
    """SBML math or structure il6sim cannot represent; ``construct`` names what was refused.

    Examples
    --------
    >>> SbmlMathError("reaction 'R1' kineticLaw: delay() is not supported", construct="delay").construct
    'delay'
    """

    def __init__(self, message: str, construct: str = "") -> None:
        super().__init__(message)
        self.construct = construct


def _libsbml() -> Any:
    try:
        import libsbml
    except ImportError:  # pragma: no cover - depends on the environment
        raise ModelFileError("SBML support needs python-libsbml: pip install python-libsbml (or il6sim[sbml])") from None
    return libsbml


# -- plain data ---------------------------------------------------------------------------------------
def _frozen(d: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class FunctionDefinition:
    """An SBML ``functionDefinition``: argument names and a body with nested calls already inlined."""

    id: str
    arguments: tuple[str, ...]
    body: Formula


@dataclass(frozen=True)
class Compartment:
    """An SBML compartment; ``size`` and ``spatial_dimensions`` are None where the file leaves them unset."""

    id: str
    size: float | None
    spatial_dimensions: float | None
    constant: bool


@dataclass(frozen=True)
class Species:
    """An SBML species; at most one of the initial amount and concentration is set."""

    id: str
    compartment: str
    initial_amount: float | None
    initial_concentration: float | None
    has_only_substance_units: bool
    boundary_condition: bool
    constant: bool
    conversion_factor: str | None


@dataclass(frozen=True)
class Parameter:
    """A global SBML parameter (``value`` None when unset)."""

    id: str
    value: float | None
    constant: bool


@dataclass(frozen=True)
class SpeciesReference:
    """A reactant or product of a reaction.

    ``stoichiometry`` is None when unset; rules, initial assignments and events may set it through the
    reference's own ``id`` when ``constant`` is False; Level 2 files may give ``stoichiometry_math``.
    """

    species: str
    stoichiometry: float | None
    id: str | None = None
    constant: bool = True
    stoichiometry_math: Formula | None = None


@dataclass(frozen=True)
class Reaction:
    """An SBML reaction with its kinetic law.

    Local parameters are renamed ``<reaction id>__<local id>`` in ``kinetic_law``; their values are in
    ``local_parameters`` under the new names.
    """

    id: str
    reactants: tuple[SpeciesReference, ...]
    products: tuple[SpeciesReference, ...]
    modifiers: tuple[str, ...]
    kinetic_law: Formula | None
    local_parameters: Mapping[str, float | None]
    reversible: bool
    fast: bool


@dataclass(frozen=True)
class Event:
    """An SBML event; ``assignments`` maps each variable to its formula, in document order.

    Level 2 events read as ``initial_value=True`` and ``persistent=True``, the Level 3 equivalents of
    Level 2 semantics.
    """

    id: str | None
    trigger: Formula | None
    initial_value: bool
    persistent: bool
    delay: Formula | None
    priority: Formula | None
    use_values_from_trigger_time: bool
    assignments: Mapping[str, Formula]


@dataclass(frozen=True)
class SbmlMath:
    """Everything of an SBML model that a simulator needs, by id, with all math as formulas.

    Mappings are read-only and keep document order. Events, which may lack ids, are a tuple in
    document order; algebraic rules (no variable) a tuple of formulas ``0 = f``.
    """

    level: int
    version: int
    model_id: str
    compartments: Mapping[str, Compartment]
    species: Mapping[str, Species]
    parameters: Mapping[str, Parameter]
    conversion_factor: str | None
    functions: Mapping[str, FunctionDefinition]
    initial_assignments: Mapping[str, Formula]
    assignment_rules: Mapping[str, Formula]
    rate_rules: Mapping[str, Formula]
    algebraic_rules: tuple[Formula, ...]
    reactions: Mapping[str, Reaction]
    events: tuple[Event, ...]


# -- MathML to expression trees ------------------------------------------------------------------------
def _formula(node: Node, where: str) -> Formula:
    return Formula(str(Formula("", node)), node, where)


def _neg(n: Node) -> Node:
    return Num(-n.value) if isinstance(n, Num) else Sum(((True, n),))


def _inv(n: Node) -> Node:
    return Prod(((True, n),))


def _chain(cls: type[Sum] | type[Prod], first: Node, rest: list[tuple[bool, Node]]) -> Node:
    items = list(first.items) if isinstance(first, cls) else [(False, first)]  # (a+b)+c evaluates as a+b+c
    return cls(tuple(items + rest))


def _truth(n: Node) -> Node:
    return Call("!", (Call("!", (n,)),))


def _c(name: str, *args: Node) -> Node:
    return Call(name, args)


def _asinh(x: Node) -> Node:  # sign(x) * ln(|x| + sqrt(x^2 + 1)): no cancellation for x < 0
    root = _c("sqrt", Sum(((False, Pow(x, Num(2.0))), (False, Num(1.0)))))
    return Prod(((False, _c("sign", x)), (False, _c("ln", Sum(((False, _c("abs", x)), (False, root)))))))


def _acosh(x: Node) -> Node:  # ln(x + sqrt(x-1)*sqrt(x+1)): no overflow of x^2
    root = Prod(((False, _c("sqrt", Sum(((False, x), (True, Num(1.0)))))), (False, _c("sqrt", Sum(((False, x),
                                                                                                   (False, Num(1.0))))))))
    return _c("ln", Sum(((False, x), (False, root))))


def _atanh(x: Node) -> Node:  # ln((1+x)/(1-x))/2
    ratio = Prod(((False, Sum(((False, Num(1.0)), (False, x)))), (True, Sum(((False, Num(1.0)), (True, x))))))
    return Prod(((False, Num(0.5)), (False, _c("ln", ratio))))


def _quotient(a: Node, b: Node) -> Node:  # MathML: truncated toward zero
    q = Prod(((False, a), (True, b)))
    return _c("piecewise", _c("ceil", q), _c("<", q, Num(0.0)), _c("floor", q))


_ONE_ARG: dict[str, Callable[[Node], Node]] = {
    "EXP": lambda x: _c("exp", x), "LN": lambda x: _c("ln", x), "ABS": lambda x: _c("abs", x),
    "FLOOR": lambda x: _c("floor", x), "CEILING": lambda x: _c("ceil", x),
    "SIN": lambda x: _c("sin", x), "COS": lambda x: _c("cos", x), "TAN": lambda x: _c("tan", x),
    "SEC": lambda x: _inv(_c("cos", x)), "CSC": lambda x: _inv(_c("sin", x)), "COT": lambda x: _inv(_c("tan", x)),
    "SINH": lambda x: _c("sinh", x), "COSH": lambda x: _c("cosh", x), "TANH": lambda x: _c("tanh", x),
    "SECH": lambda x: _inv(_c("cosh", x)), "CSCH": lambda x: _inv(_c("sinh", x)),
    "COTH": lambda x: _inv(_c("tanh", x)),
    "ARCSIN": lambda x: _c("arcsin", x), "ARCCOS": lambda x: _c("arccos", x), "ARCTAN": lambda x: _c("arctan", x),
    "ARCSEC": lambda x: _c("arccos", _inv(x)), "ARCCSC": lambda x: _c("arcsin", _inv(x)),
    "ARCCOT": lambda x: _c("arctan", _inv(x)),
    "ARCSINH": _asinh, "ARCCOSH": _acosh, "ARCTANH": _atanh,
    "ARCSECH": lambda x: _acosh(_inv(x)), "ARCCSCH": lambda x: _asinh(_inv(x)), "ARCCOTH": lambda x: _atanh(_inv(x)),
}
_RELATIONS = {"EQ": "==", "NEQ": "!=", "GT": ">", "LT": "<", "GEQ": ">=", "LEQ": "<="}
_REFUSED = {"FUNCTION_DELAY": ("delay", "delay() is not supported (delay differential equations)"),
            "LAMBDA": ("lambda", "lambda is only allowed in a functionDefinition")}


@functools.cache
def _kinds() -> dict[int, str]:  # libSBML AST type number -> "PLUS", "FUNCTION_SIN", ...
    libsbml = _libsbml()
    return {getattr(libsbml, k): k[4:] for k in dir(libsbml) if k.startswith("AST_")}


class _Converter:
    def __init__(self, functions: Mapping[str, FunctionDefinition], where: str, local: Mapping[str, str],
                 time_taken: bool = False) -> None:
        self.functions, self.where, self.local, self.time_taken = functions, where, local, time_taken
        self.kind = _kinds()

    def fail(self, msg: str, construct: str) -> SbmlMathError:
        return SbmlMathError(f"{self.where}: {msg}" if self.where else msg, construct=construct)

    def args(self, ast: Any, lo: int, hi: int | None, what: str) -> list[Node]:
        n = ast.getNumChildren()
        if n < lo or (hi is not None and n > hi):
            want = str(lo) if hi == lo else f"at least {lo}" if hi is None else f"{lo} to {hi}"
            raise self.fail(f"{what} takes {want} argument{'s' * (want != '1')}, got {n}", "arguments")
        return [self.conv(ast.getChild(i)) for i in range(n)]

    def conv(self, ast: Any) -> Node:  # one branch per MathML element, flat on purpose
        kind = self.kind.get(ast.getType(), "UNKNOWN")
        short = kind.removeprefix("FUNCTION_")
        if kind == "INTEGER":
            return Num(float(ast.getInteger()))
        if kind == "REAL":
            return Num(float(ast.getReal()))
        if kind == "REAL_E":  # rejoin the text so 1.1e-3 is the correctly rounded double, not 1.1 * 10**-3
            return Num(float(f"{ast.getMantissa()!r}e{ast.getExponent()}"))
        if kind == "RATIONAL":
            return Num(ast.getNumerator() / ast.getDenominator())
        if kind == "NAME":
            name = ast.getName()
            return Sym(self.local.get(name, name))
        if kind == "NAME_TIME":
            if self.time_taken:
                raise self.fail("csymbol time clashes with an id or argument named 'time'; rename it", "time id")
            return Sym("time")
        if kind == "NAME_AVOGADRO":
            return Num(AVOGADRO)
        if kind in ("CONSTANT_TRUE", "CONSTANT_FALSE", "CONSTANT_PI", "CONSTANT_E"):
            return Num({"CONSTANT_TRUE": 1.0, "CONSTANT_FALSE": 0.0, "CONSTANT_PI": math.pi}.get(kind, math.e))
        if kind == "PLUS":
            a = self.args(ast, 0, None, "plus")
            return Num(0.0) if not a else a[0] if len(a) == 1 else _chain(Sum, a[0], [(False, x) for x in a[1:]])
        if kind == "TIMES":
            a = self.args(ast, 0, None, "times")
            return Num(1.0) if not a else a[0] if len(a) == 1 else _chain(Prod, a[0], [(False, x) for x in a[1:]])
        if kind == "MINUS":
            a = self.args(ast, 1, None, "minus")
            return _neg(a[0]) if len(a) == 1 else _chain(Sum, a[0], [(True, x) for x in a[1:]])
        if kind == "DIVIDE":
            a = self.args(ast, 2, 2, "divide")
            return _chain(Prod, a[0], [(True, a[1])])
        if kind in ("POWER", "FUNCTION_POWER"):
            a = self.args(ast, 2, 2, "power")
            return Pow(a[0], a[1])
        if kind == "FUNCTION_ROOT":
            a = self.args(ast, 1, 2, "root")
            if len(a) == 1 or a[0] == Num(2.0):
                return _c("sqrt", a[-1])
            return Pow(a[1], Num(1.0 / a[0].value) if isinstance(a[0], Num) else _inv(a[0]))
        if kind == "FUNCTION_LOG":
            a = self.args(ast, 1, 2, "log")
            if len(a) == 1 or a[0] == Num(10.0):
                return _c("log10", a[-1])
            return _c("log2", a[1]) if a[0] == Num(2.0) else _c("log", a[1], a[0])
        if short in _ONE_ARG and kind.startswith("FUNCTION_"):
            return _ONE_ARG[short](self.args(ast, 1, 1, short.lower())[0])
        if kind in ("FUNCTION_MIN", "FUNCTION_MAX"):
            return _c(short.lower(), *self.args(ast, 1, None, short.lower()))
        if kind in ("FUNCTION_QUOTIENT", "FUNCTION_REM"):
            x, y = self.args(ast, 2, 2, short.lower())
            q = _quotient(x, y)
            return q if short == "QUOTIENT" else Sum(((False, x), (True, Prod(((False, y), (False, q))))))
        if kind == "FUNCTION_PIECEWISE":
            a = self.args(ast, 1, None, "piecewise")
            return a[0] if len(a) == 1 else _c("piecewise", *a)
        if kind.startswith("RELATIONAL_"):
            op = _RELATIONS[kind[11:]]
            a = self.args(ast, 2, 2, "neq") if op == "!=" else self.args(ast, 0, None, kind[11:].lower())
            pairs = [_c(op, a[i], a[i + 1]) for i in range(len(a) - 1)]
            return Num(1.0) if not pairs else pairs[0] if len(pairs) == 1 else _c("&&", *pairs)
        if kind in ("LOGICAL_AND", "LOGICAL_OR"):
            a = self.args(ast, 0, None, kind[8:].lower())
            empty, op = (1.0, "&&") if kind == "LOGICAL_AND" else (0.0, "||")
            return Num(empty) if not a else _truth(a[0]) if len(a) == 1 else _c(op, *a)
        if kind == "LOGICAL_XOR":  # parity: fold (!acc != !x), which is 1 where exactly one is true
            a = self.args(ast, 0, None, "xor")
            out = Num(0.0) if not a else _truth(a[0])
            for x in a[1:]:
                out = _c("!=", _c("!", out), _c("!", x))
            return out
        if kind == "LOGICAL_NOT":
            return _c("!", self.args(ast, 1, 1, "not")[0])
        if kind == "LOGICAL_IMPLIES":
            x, y = self.args(ast, 2, 2, "implies")
            return _c("||", _c("!", x), y)
        if kind == "FUNCTION":
            return self.call(ast)
        if kind == "FUNCTION_FACTORIAL":
            return _c("factorial", self.args(ast, 1, 1, "factorial")[0])
        if kind == "FUNCTION_RATE_OF":  # kept as a call; the simulator replaces it by the variable's derivative
            arg = self.args(ast, 1, 1, "rateOf")[0]
            if not isinstance(arg, Sym):
                raise self.fail("rateOf() takes the id of a species, compartment, parameter or species reference",
                                "rateOf")
            return _c("rateOf", arg)
        if kind in _REFUSED:
            construct, msg = _REFUSED[kind]
            raise self.fail(msg, construct)
        name = ast.getName() or kind.lower()
        raise self.fail(f"MathML {name!r} ({'AST_' + kind}) is not supported in SBML core math", name)

    def call(self, ast: Any) -> Node:
        name = ast.getName()
        fd = self.functions.get(name)
        if fd is None:
            raise self.fail(f"unknown function {name!r}; define it in listOfFunctionDefinitions"
                            f"{suggest(name, self.functions)}", "unknown function")
        if ast.getNumChildren() != len(fd.arguments):
            raise self.fail(f"function {name!r} takes {len(fd.arguments)} argument"
                            f"{'s' * (len(fd.arguments) != 1)} ({', '.join(fd.arguments)}), got "
                            f"{ast.getNumChildren()}", "arguments")
        args = [self.conv(ast.getChild(i)) for i in range(ast.getNumChildren())]
        return fd.body.substitute({a: Formula("", v) for a, v in zip(fd.arguments, args)}).node


def math_to_formula(ast: Any, *, functions: Mapping[str, FunctionDefinition], where: str,
                    local: Mapping[str, str] | None = None) -> Formula:
    """Convert one libSBML MathML tree into a :class:`~il6sim.expr.Formula`.

    Parameters
    ----------
    ast : libsbml.ASTNode
        The math of a kinetic law, rule, assignment, trigger, ...
    functions : mapping of str to FunctionDefinition
        Function definitions by id (bodies already inlined, as :func:`read_model_math` makes them);
        calls to them are inlined.
    where : str
        Element named in error messages, e.g. ``"reaction 'R1' kineticLaw"``.
    local : mapping of str to str, optional
        Names to rename (kinetic-law local parameters to ``<reaction>__<local>``).

    Returns
    -------
    Formula
        Symbols are the names the math uses, ``time`` for csymbol time.

    Raises
    ------
    SbmlMathError
        For ``delay``, ``rateOf`` of an expression, a ``lambda``, an unknown function, a wrong argument
        count, or MathML outside SBML core; the message names ``where`` and the construct.

    Examples
    --------
    >>> import pytest; libsbml = pytest.importorskip("libsbml")  # (this example needs python-libsbml)
    >>> f = math_to_formula(libsbml.parseL3Formula("piecewise(k * time, time < 2, 0)"), functions={},
    ...                     where="rateRule 'x'", local={"k": "R1__k"})
    >>> str(f), float(f.evaluate({"R1__k": 3.0, "time": 1.0}))
    ('piecewise(R1__k * time, time < 2, 0)', 3.0)
    >>> math_to_formula(libsbml.parseL3Formula("delay(x, 1)"), functions={}, where="reaction 'R1' kineticLaw")
    Traceback (most recent call last):
    ...
    il6sim.sbml_math.SbmlMathError: reaction 'R1' kineticLaw: delay() is not supported (delay differential equations)
    """
    if ast is None:
        raise SbmlMathError(f"{where}: no math", construct="missing math")
    return _formula(_Converter(functions, where, local or {}).conv(ast), where)


# -- model structure ------------------------------------------------------------------------------------
def _read_document(source: str | os.PathLike[str] | bytes) -> tuple[Any, str]:
    libsbml = _libsbml()
    label = ""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not source.lstrip().startswith("<")):
        path = Path(source)
        label = path.name
        try:
            raw: str | bytes = path.read_bytes()
        except OSError as exc:
            raise ModelFileError(f"{path}: cannot read SBML file: {exc.strerror or exc}") from None
    else:
        raw = source
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ModelFileError(f"{label or 'SBML text'}: not UTF-8 encoded") from None
    if re.search(r"<!\s*(DOCTYPE|ENTITY)", raw, flags=re.IGNORECASE):
        raise SbmlMathError(f"{label or 'SBML text'}: <!DOCTYPE>/<!ENTITY> found; SBML with XML entity "
                            "declarations is refused for safety (remove the DOCTYPE)", construct="DOCTYPE")
    doc = libsbml.readSBMLFromString(raw)
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.isError() or err.isFatal():
            msg = " ".join(err.getMessage().split())
            raise SbmlMathError(f"{label or 'SBML text'}: invalid SBML (line {err.getLine()}): {msg}",
                                construct="invalid SBML")
    return doc, label


def _refuse_packages(doc: Any, prefix: str) -> None:
    used: dict[str, int] = {}
    elements = doc.getListOfAllElements()
    for i in range(elements.getSize()):
        pkg = elements.get(i).getPackageName()
        used[pkg] = used.get(pkg, 0) + 1
    for i in range(doc.getNumPlugins()):
        name = doc.getPlugin(i).getPackageName()
        if name not in _IGNORED_PACKAGES and used.get(name):
            raise SbmlMathError(f"{prefix}SBML package '{name}' is used ({used[name]} element"
                                f"{'s' * (used[name] != 1)}); SBML Level 3 packages are not supported",
                                construct=f"package {name}")
    for i in range(doc.getNumUnknownPackages()):
        uri = doc.getUnknownPackageURI(i)
        raise SbmlMathError(f"{prefix}SBML package {uri!r} is not known to libSBML and not supported",
                            construct="package (unknown)")


def _label(sb: Any, kind: str, index: int) -> str:
    sid = sb.getId() if sb.isSetId() else ""
    return f"{kind} '{sid}'" if sid else f"{kind} #{index + 1}"


def _opt(sb: Any, what: str) -> float | None:
    return float(getattr(sb, "get" + what)()) if getattr(sb, "isSet" + what)() else None


def _calls(ast: Any, call_type: int) -> set[str]:
    out, stack = set(), [ast]
    while stack:
        n = stack.pop()
        if n.getType() == call_type:
            out.add(n.getName())
        stack.extend(n.getChild(i) for i in range(n.getNumChildren()))
    return out


def _functions(model: Any, prefix: str, libsbml: Any) -> dict[str, FunctionDefinition]:
    raw: dict[str, tuple[tuple[str, ...], Any]] = {}
    for i, fd in enumerate(model.getListOfFunctionDefinitions()):
        where = f"{prefix}{_label(fd, 'functionDefinition', i)}"
        lam = fd.getMath()
        if lam is not None and not lam.isLambda():
            raise SbmlMathError(f"{where}: math is not a <lambda>", construct="functionDefinition without lambda")
        nb = 0 if lam is None else lam.getNumBvars()
        if lam is None or lam.getNumChildren() <= nb:
            continue  # L3V2 allows a definition without math; a call to it is refused as an unknown function
        raw[fd.getId()] = (tuple(lam.getChild(k).getName() for k in range(nb)), lam.getChild(nb))
    done: dict[str, FunctionDefinition] = {}

    def resolve(fid: str, chain: tuple[str, ...]) -> None:
        if fid in done:
            return
        if fid in chain:
            cycle = " -> ".join((*chain[chain.index(fid):], fid))
            raise SbmlMathError(f"{prefix}functionDefinition '{fid}': recursive definition ({cycle}); SBML forbids "
                                "recursion", construct="recursive function")
        args, body = raw[fid]
        for callee in sorted(_calls(body, libsbml.AST_FUNCTION) & raw.keys()):
            resolve(callee, (*chain, fid))
        where = f"{prefix}functionDefinition '{fid}'"  # csymbol time must not be captured by a bvar 'time'
        done[fid] = FunctionDefinition(fid, args, _formula(_Converter(done, where, {}, "time" in args).conv(body),
                                                          where))

    for fid in raw:
        resolve(fid, ())
    return {fid: done[fid] for fid in raw}


def read_model_math(source: str | os.PathLike[str] | bytes) -> SbmlMath:
    """Read an SBML file (or SBML text) into :class:`SbmlMath`: structure by id, math as formulas.

    Parameters
    ----------
    source : str, path or bytes
        A path, or the SBML document itself (text starting with ``<``, or bytes). Any level/version.

    Raises
    ------
    SbmlMathError
        For invalid SBML, a used SBML package, or math :func:`math_to_formula` refuses; one line
        naming the file, the element and the construct (also in the ``construct`` attribute).

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("libsbml")  # (this example needs python-libsbml)
    >>> text = '''<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2"><model>
    ...   <listOfParameters><parameter id="k" value="2" constant="true"/></listOfParameters>
    ... </model></sbml>'''
    >>> m = read_model_math(text)
    >>> (m.level, m.version), m.parameters["k"]
    ((3, 2), Parameter(id='k', value=2.0, constant=True))
    """
    libsbml = _libsbml()
    doc, label = _read_document(source)
    prefix = f"{label}: " if label else ""
    model = doc.getModel()
    if model is None:
        raise SbmlMathError(f"{prefix}the SBML document has no model", construct="no model")
    _refuse_packages(doc, prefix)
    level, version = doc.getLevel(), doc.getVersion()
    functions = _functions(model, prefix, libsbml)
    ids = {el.getId() for el in (*model.getListOfCompartments(), *model.getListOfSpecies(),
                                 *model.getListOfParameters(), *model.getListOfReactions())}
    ids |= {sr.getId() for r in model.getListOfReactions() for sr in (*r.getListOfReactants(),
                                                                      *r.getListOfProducts()) if sr.isSetId()}
    time_taken = "time" in ids

    def conv(ast: Any, where: str, local: Mapping[str, str] | None = None) -> Formula:
        if ast is None:
            raise SbmlMathError(f"{prefix}{where}: no math", construct="missing math")
        w = prefix + where
        return _formula(_Converter(functions, w, local or {}, time_taken).conv(ast), w)

    compartments = {c.getId(): Compartment(
        c.getId(), float(c.getVolume()) if level == 1 else _opt(c, "Size"),
        float(c.getSpatialDimensionsAsDouble()) if level < 3 or c.isSetSpatialDimensions() else None,
        bool(c.getConstant())) for c in model.getListOfCompartments()}
    species = {s.getId(): Species(
        s.getId(), s.getCompartment(), _opt(s, "InitialAmount"), _opt(s, "InitialConcentration"),
        bool(s.getHasOnlySubstanceUnits()), bool(s.getBoundaryCondition()), bool(s.getConstant()),
        s.getConversionFactor() if level >= 3 and s.isSetConversionFactor() else None)
        for s in model.getListOfSpecies()}
    parameters = {p.getId(): Parameter(p.getId(), _opt(p, "Value"), bool(p.getConstant()))
                  for p in model.getListOfParameters()}

    initial = {ia.getSymbol(): conv(ia.getMath(), f"initialAssignment '{ia.getSymbol()}'")
               for ia in model.getListOfInitialAssignments() if ia.isSetMath()}
    assign: dict[str, Formula] = {}
    rate: dict[str, Formula] = {}
    algebraic: list[Formula] = []
    for i, rule in enumerate(model.getListOfRules()):
        if not rule.isSetMath():
            continue  # L3V2: a rule without math has no effect
        if rule.isAlgebraic():
            algebraic.append(conv(rule.getMath(), f"algebraicRule #{i + 1}"))
        elif rule.isRate():
            rate[rule.getVariable()] = conv(rule.getMath(), f"rateRule '{rule.getVariable()}'")
        else:
            assign[rule.getVariable()] = conv(rule.getMath(), f"assignmentRule '{rule.getVariable()}'")

    reactions: dict[str, Reaction] = {}
    for i, r in enumerate(model.getListOfReactions()):
        rid = r.getId()
        where = _label(r, "reaction", i)

        def ref(sr: Any, kind: str, where: str = where) -> SpeciesReference:
            sid = sr.getId() if sr.isSetId() else None
            smath = None
            if level == 2 and sr.isSetStoichiometryMath() and sr.getStoichiometryMath().isSetMath():
                smath = conv(sr.getStoichiometryMath().getMath(), f"{where} {kind} '{sr.getSpecies()}' "
                             "stoichiometryMath")
            if level >= 3:
                stoich = _opt(sr, "Stoichiometry")
            else:
                stoich = float(sr.getStoichiometry()) / sr.getDenominator()  # libSBML keeps a rational as n/d
            return SpeciesReference(sr.getSpecies(), stoich, sid, bool(sr.getConstant()) if level >= 3 else
                                    smath is None, smath)

        kl = r.getKineticLaw()
        local: dict[str, str] = {}
        values: dict[str, float | None] = {}
        law = None
        if kl is not None:
            params = kl.getListOfLocalParameters() if level >= 3 else kl.getListOfParameters()
            for p in params:
                new = f"{rid}__{p.getId()}"
                if new in ids:
                    raise SbmlMathError(f"{prefix}{where}: local parameter '{p.getId()}' would be renamed '{new}', "
                                        "which is already a model id; rename one of them", construct="local id clash")
                local[p.getId()], values[new] = new, _opt(p, "Value")
            if kl.isSetMath():
                law = conv(kl.getMath(), f"{where} kineticLaw", local)
        reactions[rid] = Reaction(
            rid, tuple(ref(sr, "reactant") for sr in r.getListOfReactants()),
            tuple(ref(sr, "product") for sr in r.getListOfProducts()),
            tuple(m.getSpecies() for m in r.getListOfModifiers()), law, _frozen(values),
            bool(r.getReversible()), bool(r.isSetFast() and r.getFast()))

    events: list[Event] = []
    for i, ev in enumerate(model.getListOfEvents()):
        where = _label(ev, "event", i)
        tr, de, pr = ev.getTrigger(), ev.getDelay(), ev.getPriority() if level >= 3 else None
        events.append(Event(
            ev.getId() if ev.isSetId() else None,
            conv(tr.getMath(), f"{where} trigger") if tr is not None and tr.isSetMath() else None,
            bool(tr.getInitialValue()) if level >= 3 and tr is not None else True,
            bool(tr.getPersistent()) if level >= 3 and tr is not None else True,
            conv(de.getMath(), f"{where} delay") if de is not None and de.isSetMath() else None,
            conv(pr.getMath(), f"{where} priority") if pr is not None and pr.isSetMath() else None,
            bool(ev.getUseValuesFromTriggerTime()),
            _frozen({ea.getVariable(): conv(ea.getMath(), f"{where} eventAssignment '{ea.getVariable()}'")
                     for ea in ev.getListOfEventAssignments() if ea.isSetMath()})))

    return SbmlMath(
        level=level, version=version, model_id=model.getId(), compartments=_frozen(compartments),
        species=_frozen(species), parameters=_frozen(parameters),
        conversion_factor=model.getConversionFactor() if level >= 3 and model.isSetConversionFactor() else None,
        functions=_frozen(functions), initial_assignments=_frozen(initial), assignment_rules=_frozen(assign),
        rate_rules=_frozen(rate), algebraic_rules=tuple(algebraic), reactions=_frozen(reactions),
        events=tuple(events))
