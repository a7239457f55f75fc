"""SBML import of mass-action models (optional extra: needs ``python-libsbml``).

Import: :func:`read_sbml` turns an SBML file whose kinetic laws are mass action *once expanded*
into a :class:`~il6sim.network.Network` (general SBML: :mod:`il6sim.sbml_model`). Export is
:mod:`il6sim.sbml_export`; ``to_sbml`` and ``to_sbml_string`` are re-exported here.

What the importer accepts
-------------------------
* constant compartments with a size (any number of spatial dimensions except 0);
* species with an ``initialAmount`` or ``initialConcentration`` (stored as concentration =
  amount / compartment size), boundary species, and ``constant="true"`` species (held constant, as
  boundary species: SBML forbids them as reactants or products unless they are boundary species);
* global parameters with a value and kinetic-law local parameters (which shadow global ids and
  even species, reaction and species-reference ids, as SBML scopes them);
* reactions whose kinetic law, expanded algebraically, is a sum of monomials
  ``c · Π [S]^n`` (``n >= 0``): the math may use ``+``, ``-``, ``*``, ``/``, ``power``/``^`` with an
  exponent that evaluates to a constant, numbers (``INF``, ``NaN``, ``pi``, ``exponentiale``
  included), species, compartments and parameters. Species may not end up in a denominator, and
  a power of a sum of species needs a non-negative integer exponent.

The expansion works on the MathML tree (libSBML ``ASTNode``), never on text. Each monomial becomes
an il6sim :class:`~il6sim.network.Reaction` with ``compartment=None`` (its rate is amount per time,
the SBML kinetic-law convention), the SBML reaction's stoichiometry and explicit kinetic orders
(the monomial's exponents, which may differ from the stoichiometry). Two monomials share one
il6sim reaction as ``forward`` and ``reverse`` (the reverse factor is the negated coefficient, so
this is exact whatever the signs); a reaction that expands to one or two monomials keeps its SBML
id, a longer one becomes ``<id>__1``, ``<id>__2``, ... A kinetic law that is identically zero gives
one reaction with rate constant 0.

Rate constants: **global parameters stay symbolic** (``RateExpr`` terms with their exponents), so
``simulate(..., parameters={"k1": ...})`` and sweeps can vary them. Numbers, local parameters and
compartment sizes are folded into the numeric ``RateExpr.factor`` (a local parameter is not a
network parameter: its id is only unique within its reaction). A species-free sub-expression that
is not a product (e.g. the sum in ``S / (k1 + k2)``) is evaluated numerically with the file's
parameter values.

Units are taken as they are: a concentration is amount / compartment size in the model's own
units, and the time axis is the model's time unit (il6sim reports it as "hours").

Everything else is refused with a one-line :class:`~il6sim.errors.ModelFileError` naming the file,
the construct and the element id: events, rules (assignment, rate, algebraic), initial
assignments, function definitions, constraints, non-constant or 0-dimensional compartments,
``hasOnlySubstanceUnits="true"``, conversion factors, fast reactions, stoichiometryMath and
non-constant stoichiometry, species references used in math, missing values, SBML packages (the
diagram-only ``layout`` and ``render`` are ignored), and kinetic-law math beyond the above (``time``, ``piecewise``, ``delay``, ``rateOf``, ``avogadro``,
functions, relations). Files with a ``<!DOCTYPE`` (the only place XML entities can be declared)
are refused before they reach the XML parser.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelFileError, NetworkError
from .network import (
    ID_PATTERN,
    Compartment,
    Genotype,
    Network,
    Observable,
    Parameter,
    RateExpr,
    Reaction,
    Species,
)

__all__ = ["read_sbml", "read_sbml_string"]

SUPPORTED = (
    "supported: constant compartments with a size, species with initial values, global and local "
    "parameters, reactions whose kinetic law expands to a sum of c*S1^n1*S2^n2... monomials"
)
MATH_SUPPORTED = (
    "supported in kinetic laws: + - * /, power with a constant exponent, numbers, species, compartments and parameters"
)
IL6SIM_NS = "https://github.com/il6sim/il6sim/sbml-annotation"
_MAX_INTEGER_POWER = 64
# Packages that do not change what a model simulates: diagrams (layout, render) and the extended
# L3V2 MathML (its functions are refused by the kinetic-law expander anyway).
_HARMLESS_PACKAGES = {"layout", "render", "l3v2extendedmath"}


class SbmlDocumentError(ModelFileError):
    """The file itself cannot be read as SBML (missing, not UTF-8, entity declarations, invalid, no model):
    no other reader is tried."""


def _libsbml() -> Any:
    try:
        import libsbml
    except ImportError:  # pragma: no cover - depends on the environment
        raise SbmlDocumentError(
            "SBML support needs python-libsbml: pip install python-libsbml (or il6sim[sbml])"
        ) from None
    return libsbml


# =============================================================================================
# Polynomials in species with symbolic parameter factors
# =============================================================================================
# A polynomial is {(species_key, parameter_key): coefficient}; a key is a sorted tuple of
# (id, exponent) with no zero exponents. Exponents of species must be >= 0 in the final result.
Key = tuple[tuple[str, float], ...]
Poly = dict[tuple[Key, Key], float]


def _merge(a: Key, b: Key, scale: float = 1.0) -> Key:
    out = dict(a)
    for name, e in b:
        out[name] = out.get(name, 0.0) + scale * e
    return tuple(sorted((n, e) for n, e in out.items() if e != 0.0))


def _scale_key(a: Key, e: float) -> Key:
    return tuple((n, x * e) for n, x in a if x * e != 0.0)


def _add_term(out: Poly, key: tuple[Key, Key], coef: float) -> None:
    total = out.get(key, 0.0) + coef
    if total == 0.0:
        out.pop(key, None)
    else:
        out[key] = total


def _const(value: float) -> Poly:
    return {((), ()): float(value)} if value != 0.0 else {}


def _poly_add(a: Poly, b: Poly, sign: float = 1.0) -> Poly:
    out = dict(a)
    for key, c in b.items():
        _add_term(out, key, sign * c)
    return out


def _mul(x: float, y: float) -> float:
    with np.errstate(all="ignore"):
        return float(np.float64(x) * np.float64(y))


def _div(x: float, y: float) -> float:
    with np.errstate(all="ignore"):
        return float(np.float64(x) / np.float64(y))


def _pow(x: float, y: float) -> float:
    with np.errstate(all="ignore"):
        return float(np.power(np.float64(x), np.float64(y)))


def _poly_mul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for (sa, pa), ca in a.items():
        for (sb, pb), cb in b.items():
            _add_term(out, (_merge(sa, sb), _merge(pa, pb)), _mul(ca, cb))
    return out


def _species_free(a: Poly) -> bool:
    return all(not s for s, _ in a)


def _poly_value(a: Poly, params: dict[str, float]) -> float:
    """Numeric value of a species-free polynomial."""
    total = 0.0
    for (_, pk), c in a.items():
        v = c
        for name, e in pk:
            v = _mul(v, _pow(params[name], e))
        total += v
    return total


# =============================================================================================
# Import
# =============================================================================================
@dataclass
class _Ctx:
    """Name resolution for one kinetic law."""

    where: str  # e.g. "file.xml: kinetic law of reaction 'J1'"
    local: dict[str, float]
    species: set[str]
    compartments: dict[str, float]
    params: dict[str, float]
    reactions: set[str]
    species_refs: set[str]


def _refuse(where: str, what: str, supported: str = SUPPORTED) -> ModelFileError:
    if "not supported" not in what:
        what += " is not supported"
    return ModelFileError(f"{where}: {what} ({supported})")


def _node_name(node: Any, libsbml: Any) -> str:
    t = node.getType()
    special = {
        libsbml.AST_NAME_TIME: "csymbol time",
        libsbml.AST_NAME_AVOGADRO: "csymbol avogadro",
        libsbml.AST_FUNCTION_DELAY: "csymbol delay",
        libsbml.AST_LAMBDA: "lambda",
        libsbml.AST_CONSTANT_TRUE: "true",
        libsbml.AST_CONSTANT_FALSE: "false",
    }
    if t in special:
        return special[t]
    rate_of = getattr(libsbml, "AST_FUNCTION_RATE_OF", None)
    if rate_of is not None and t == rate_of:
        return "csymbol rateOf"
    if t == libsbml.AST_FUNCTION:
        return f"call of function '{node.getName()}'"
    name = node.getName() or node.getOperatorName() or ""
    return name or f"AST type {t}"


def _expand(node: Any, ctx: _Ctx, libsbml: Any) -> Poly:
    """Expand a kinetic-law MathML tree into a polynomial; refuse anything else."""
    t = node.getType()
    n = node.getNumChildren()
    if t in (libsbml.AST_INTEGER, libsbml.AST_REAL, libsbml.AST_REAL_E, libsbml.AST_RATIONAL):
        return _const(node.getValue())
    if t == libsbml.AST_CONSTANT_PI:
        return _const(math.pi)
    if t == libsbml.AST_CONSTANT_E:
        return _const(math.e)
    if t == libsbml.AST_NAME:
        return _name(node.getName(), ctx)
    if t == libsbml.AST_PLUS:
        out: Poly = {}
        for i in range(n):
            out = _poly_add(out, _expand(node.getChild(i), ctx, libsbml))
        return out
    if t == libsbml.AST_MINUS:
        if n == 1:
            return _poly_add({}, _expand(node.getChild(0), ctx, libsbml), -1.0)
        if n == 2:
            return _poly_add(_expand(node.getChild(0), ctx, libsbml), _expand(node.getChild(1), ctx, libsbml), -1.0)
        raise _refuse(ctx.where, f"'minus' with {n} arguments", MATH_SUPPORTED)
    if t == libsbml.AST_TIMES:
        out = _const(1.0)
        for i in range(n):
            out = _poly_mul(out, _expand(node.getChild(i), ctx, libsbml))
        return out
    if t == libsbml.AST_DIVIDE:
        if n != 2:
            raise _refuse(ctx.where, f"'divide' with {n} arguments", MATH_SUPPORTED)
        num = _expand(node.getChild(0), ctx, libsbml)
        den = _expand(node.getChild(1), ctx, libsbml)
        return _poly_mul(num, _power(den, -1.0, ctx))
    if t in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER):
        if n != 2:
            raise _refuse(ctx.where, f"'power' with {n} arguments", MATH_SUPPORTED)
        base = _expand(node.getChild(0), ctx, libsbml)
        expo = _expand(node.getChild(1), ctx, libsbml)
        if not _species_free(expo):
            raise _refuse(ctx.where, "an exponent that depends on a species", MATH_SUPPORTED)
        return _power(base, _poly_value(expo, ctx.params), ctx)
    raise _refuse(ctx.where, f"MathML {_node_name(node, libsbml)}", MATH_SUPPORTED)


def _name(name: str, ctx: _Ctx) -> Poly:
    # SBML scoping: a local parameter shadows every model-wide id.
    if name in ctx.local:
        return _const(ctx.local[name])
    if name in ctx.species:
        return {(((name, 1.0),), ()): 1.0}
    if name in ctx.compartments:
        return _const(ctx.compartments[name])
    if name in ctx.params:
        return {((), ((name, 1.0),)): 1.0}
    if name in ctx.species_refs:
        raise _refuse(
            ctx.where, f"species reference '{name}' used in math (stoichiometry as a variable)", MATH_SUPPORTED
        )
    if name in ctx.reactions:
        raise _refuse(ctx.where, f"reaction id '{name}' used in math (a reaction rate as a variable)", MATH_SUPPORTED)
    raise ModelFileError(f"{ctx.where}: unknown id '{name}' in the math")


def _power(base: Poly, e: float, ctx: _Ctx) -> Poly:
    if e == 0.0 or math.isnan(e):
        return _const(1.0 if e == 0.0 else math.nan)
    if len(base) == 1:
        (((sk, pk), c),) = base.items()
        return {(_scale_key(sk, e), _scale_key(pk, e)): _pow(c, e)}
    if not base:  # 0 ** e
        value = _pow(0.0, e)
        return _const(value)
    if _species_free(base):
        # A species-free sum (e.g. k1 + k2): evaluate it with the file's parameter values.
        return _const(_pow(_poly_value(base, ctx.params), e))
    if e < 0:
        raise _refuse(ctx.where, "a sum with species in a denominator", MATH_SUPPORTED)
    if e != int(e) or e > _MAX_INTEGER_POWER:
        raise _refuse(ctx.where, f"a sum with species raised to the power {e:g}", MATH_SUPPORTED)
    out = _const(1.0)
    for _ in range(int(e)):
        out = _poly_mul(out, base)
    return out


def _check_id(where: str, sid: str) -> str:
    if not ID_PATTERN.match(sid):
        raise ModelFileError(f"{where}: id '{sid}' is not a valid il6sim id")
    return sid


def _annotation(sb: Any) -> dict[str, str]:
    """Attributes of the il6sim annotation of an SBML element (empty if none)."""
    ann = sb.getAnnotation() if sb.isSetAnnotation() else None
    if ann is None:
        return {}
    for i in range(ann.getNumChildren()):
        child = ann.getChild(i)
        if child.getURI() == IL6SIM_NS:
            attrs = child.getAttributes()
            return {attrs.getName(j): attrs.getValue(j) for j in range(attrs.getLength())}
    return {}


def read_sbml(path: str | Path) -> Network:
    """Read an SBML file (any Level/Version libSBML reads) into a Network.

    Parameters
    ----------
    path : the SBML file.

    Returns
    -------
    Network with SBML ids, concentrations in the model's own units (amount / compartment size)
    and one il6sim reaction per pair of monomials of each kinetic law (see the module docs).

    Raises
    ------
    ModelFileError : the file is unreadable, not valid SBML, or uses a construct il6sim does not
        support (the message names the construct and the element id).

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("libsbml")  # (this example needs python-libsbml)
    >>> import il6sim, tempfile, os
    >>> from il6sim.sbml_export import to_sbml
    >>> path = os.path.join(tempfile.mkdtemp(), "binding.xml")
    >>> to_sbml(il6sim.load_model("models/examples/binding.toml"), path)
    >>> read_sbml(path).species_ids
    ('l', 'r', 'l__r')
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SbmlDocumentError(f"{path}: cannot read SBML file: {exc.strerror or exc}") from None
    return read_sbml_string(raw, source=str(path))


def read_sbml_string(text: str | bytes, source: str = "<string>") -> Network:
    """Read SBML from a string or bytes; ``source`` names it in error messages."""
    libsbml = _libsbml()
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SbmlDocumentError(f"{source}: SBML file is not UTF-8 encoded") from None
    if re.search(r"<!\s*(DOCTYPE|ENTITY)", text, flags=re.IGNORECASE):
        raise SbmlDocumentError(
            f"{source}: document type declaration (<!DOCTYPE/<!ENTITY>) found; SBML files with XML "
            "entity declarations are refused for safety (remove the DOCTYPE)"
        )
    doc = libsbml.readSBMLFromString(text)
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.isError() or err.isFatal():
            msg = " ".join(err.getMessage().split())
            raise SbmlDocumentError(f"{source}: invalid SBML (line {err.getLine()}): {msg}")
    model = doc.getModel()
    if model is None:
        raise SbmlDocumentError(f"{source}: the SBML document has no model")
    return _convert(doc, model, source, libsbml)


def _eid(sb: Any, kind: str, index: int) -> str:
    sid = sb.getId() if sb.isSetId() else ""
    if not sid and sb.isSetMetaId():
        sid = sb.getMetaId()
    return f"{kind} '{sid}'" if sid else f"{kind} #{index + 1}"


def _is_exported_observable(model: Any, rule: Any) -> bool:
    """An assignment rule :func:`to_sbml` wrote for an il6sim observable (its parameter says so)."""
    if not rule.isAssignment():
        return False
    p = model.getParameter(rule.getVariable())
    return p is not None and _annotation(p).get("observable") == "1"


def _refuse_unsupported(doc: Any, model: Any, src: str, libsbml: Any) -> None:
    for i in range(doc.getNumPlugins()):
        name = doc.getPlugin(i).getPackageName()
        if name not in _HARMLESS_PACKAGES and doc.isPackageEnabled(name):
            raise _refuse(f"{src}: package '{name}'", "SBML Level 3 packages are not supported")
    if doc.getNumUnknownPackages():
        uri = doc.getUnknownPackageURI(0)
        raise _refuse(f"{src}: package '{uri}'", "SBML Level 3 packages are not supported")
    for i in range(model.getNumFunctionDefinitions()):
        fd = model.getFunctionDefinition(i)
        raise _refuse(f"{src}: {_eid(fd, 'function definition', i)}", "function definitions are not supported")
    for i in range(model.getNumEvents()):
        raise _refuse(f"{src}: {_eid(model.getEvent(i), 'event', i)}", "events are not supported")
    for i in range(model.getNumRules()):
        rule = model.getRule(i)
        if _is_exported_observable(model, rule):
            continue  # an il6sim observable written as an assignment rule: read back from the annotation
        if rule.isAlgebraic():
            raise _refuse(f"{src}: algebraic rule #{i + 1}", "algebraic rules are not supported")
        kind = "rate rule" if rule.isRate() else "assignment rule"
        raise _refuse(f"{src}: {kind} for '{rule.getVariable()}'", f"{kind}s are not supported")
    for i in range(model.getNumInitialAssignments()):
        ia = model.getInitialAssignment(i)
        raise _refuse(f"{src}: initial assignment for '{ia.getSymbol()}'", "initial assignments are not supported")
    for i in range(model.getNumConstraints()):
        raise _refuse(f"{src}: {_eid(model.getConstraint(i), 'constraint', i)}", "constraints are not supported")
    if model.getLevel() >= 3 and model.isSetConversionFactor():
        raise _refuse(
            f"{src}: model '{model.getId()}'", f"conversion factor '{model.getConversionFactor()}' is not supported"
        )


def _convert(doc: Any, model: Any, src: str, libsbml: Any) -> Network:
    _refuse_unsupported(doc, model, src, libsbml)
    level = model.getLevel()

    compartments: list[Compartment] = []
    sizes: dict[str, float] = {}
    comp_names: dict[str, str] = {}  # SBML id -> il6sim id (an il6sim export may have renamed it)
    for i in range(model.getNumCompartments()):
        c = model.getCompartment(i)
        where = f"{src}: compartment '{c.getId()}'"
        if not c.getConstant():
            raise _refuse(where, "non-constant compartments are not supported")
        dims = c.getSpatialDimensionsAsDouble() if c.isSetSpatialDimensions() else 3.0
        if dims == 0:
            raise _refuse(where, "0-dimensional compartments are not supported")
        if not c.isSetSize() and not (level < 3 and c.isSetVolume()):
            raise _refuse(where, "a compartment without a size is not supported (give size=...)")
        size = float(c.getSize())
        if not (math.isfinite(size) and size > 0):
            raise ModelFileError(f"{where}: size {size:g} is not supported (it must be positive and finite)")
        sizes[c.getId()] = size
        ann = _annotation(c)
        comp_names[c.getId()] = ann.get("id") or c.getId()
        compartments.append(Compartment(_check_id(where, comp_names[c.getId()]), size, source=ann.get("source", "")))

    species: list[Species] = []
    species_comp: dict[str, str] = {}
    for i in range(model.getNumSpecies()):
        s = model.getSpecies(i)
        where = f"{src}: species '{s.getId()}'"
        if s.getHasOnlySubstanceUnits():
            raise _refuse(where, "hasOnlySubstanceUnits=true is not supported")
        if level >= 3 and s.isSetConversionFactor():
            raise _refuse(where, f"conversion factor '{s.getConversionFactor()}' is not supported")
        comp = s.getCompartment()
        if comp not in sizes:
            raise ModelFileError(f"{where}: unknown compartment '{comp}'")
        if s.isSetInitialConcentration():
            conc = float(s.getInitialConcentration())
        elif s.isSetInitialAmount():
            conc = _div(s.getInitialAmount(), sizes[comp])
        else:
            raise _refuse(
                where,
                "a species without an initial value is not supported (give initialAmount or initialConcentration)",
            )
        if math.isnan(conc):
            raise ModelFileError(f"{where}: initial value is NaN")
        ann = _annotation(s)
        mw = ann.get("mw_g_per_nmol")
        species.append(
            Species(
                _check_id(where, s.getId()),
                comp_names[comp],
                conc,
                mw_g_per_nmol=float(mw) if mw not in (None, "") else None,
                boundary=bool(s.getBoundaryCondition() or s.getConstant()),
                kind=ann.get("kind", ""),
                name=s.getName() if s.isSetName() else "",
                source=ann.get("source", ""),
            )
        )
        species_comp[s.getId()] = comp

    parameters: list[Parameter] = []
    values: dict[str, float] = {}
    for i in range(model.getNumParameters()):
        p = model.getParameter(i)
        where = f"{src}: parameter '{p.getId()}'"
        if _annotation(p).get("observable") == "1":
            continue  # an exported observable (its definition is in the model annotation)
        if not p.isSetValue():
            raise _refuse(where, "a parameter without a value is not supported")
        ann = _annotation(p)
        values[p.getId()] = float(p.getValue())
        parameters.append(
            Parameter(_check_id(where, p.getId()), float(p.getValue()), ann.get("unit", "1"), ann.get("source", ""))
        )

    reaction_ids = {model.getReaction(i).getId() for i in range(model.getNumReactions())}
    species_refs: set[str] = set()
    for i in range(model.getNumReactions()):
        r = model.getReaction(i)
        for lst in (r.getListOfReactants(), r.getListOfProducts(), r.getListOfModifiers()):
            for j in range(lst.size()):
                if lst.get(j).isSetId():
                    species_refs.add(lst.get(j).getId())
    taken = set(reaction_ids) | set(species_comp) | set(sizes) | set(values) | species_refs

    reactions: list[Reaction] = []
    for i in range(model.getNumReactions()):
        reactions.extend(
            _reaction(
                model.getReaction(i),
                src,
                level,
                sizes,
                species_comp,
                values,
                reaction_ids,
                species_refs,
                taken,
                libsbml,
            )
        )

    ann = _annotation(model)
    observables, genotypes = _extras_from(ann.get("extras", ""), src)
    try:
        return Network(
            name=ann.get("id") or (model.getId() if model.isSetId() and model.getId() else Path(src).stem),
            compartments=tuple(compartments),
            species=tuple(species),
            parameters=tuple(parameters),
            reactions=tuple(reactions),
            observables=observables,
            genotypes=genotypes,
            description=model.getName() if model.isSetName() else ann.get("description", ""),
            source_file=src,
            metadata=(("format", f"SBML L{level}V{model.getVersion()}"),),
        )
    except NetworkError as exc:
        raise ModelFileError(f"{src}: {exc}") from None


def _side(r: Any, lst: Any, where: str, level: int, species: dict[str, str]) -> tuple[tuple[str, float], ...]:
    merged: dict[str, float] = {}
    for j in range(lst.size()):
        ref = lst.get(j)
        sid = ref.getSpecies()
        rwhere = f"{where}, species reference to '{sid}'"
        if sid not in species:
            raise ModelFileError(f"{rwhere}: unknown species '{sid}'")
        if level < 3 and ref.isSetStoichiometryMath():
            raise _refuse(rwhere, "stoichiometryMath is not supported")
        if level >= 3:
            if not ref.isSetStoichiometry():
                raise _refuse(rwhere, "a species reference without a stoichiometry is not supported")
            if not ref.getConstant():
                raise _refuse(rwhere, "non-constant stoichiometry (constant=false) is not supported")
        coef = float(ref.getStoichiometry())
        if not math.isfinite(coef):
            raise ModelFileError(f"{rwhere}: stoichiometry is not finite")
        merged[sid] = merged.get(sid, 0.0) + coef
    return tuple(merged.items())


def _reaction(
    r: Any,
    src: str,
    level: int,
    sizes: dict[str, float],
    species: dict[str, str],
    params: dict[str, float],
    reaction_ids: set[str],
    species_refs: set[str],
    taken: set[str],
    libsbml: Any,
) -> list[Reaction]:
    rid = r.getId()
    where = f"{src}: reaction '{rid}'"
    ctx_where = f"{src}: kinetic law of reaction '{rid}'"
    rid = _check_id(where, _annotation(r).get("id") or rid)
    if r.isSetFast() and r.getFast():
        raise _refuse(where, "fast reactions are not supported")
    reactants = _side(r, r.getListOfReactants(), where, level, species)
    products = _side(r, r.getListOfProducts(), where, level, species)
    for j in range(r.getNumModifiers()):
        sid = r.getModifier(j).getSpecies()
        if sid not in species:
            raise ModelFileError(f"{where}, modifier '{sid}': unknown species '{sid}'")
    kl = r.getKineticLaw() if r.isSetKineticLaw() else None
    if kl is None or not kl.isSetMath():
        raise _refuse(where, "a reaction without kinetic-law math is not supported")
    local: dict[str, float] = {}
    lst = kl.getListOfLocalParameters() if level >= 3 else kl.getListOfParameters()
    for j in range(lst.size()):
        lp = lst.get(j)
        if not lp.isSetValue():
            raise _refuse(f"{where}, local parameter '{lp.getId()}'", "a local parameter without a value")
        local[lp.getId()] = float(lp.getValue())
    ctx = _Ctx(ctx_where, local, set(species), sizes, params, reaction_ids, species_refs)
    poly = _expand(kl.getMath(), ctx, libsbml)
    for (sk, _), _c in poly.items():
        for sid, e in sk:
            if e < 0:
                raise _refuse(ctx.where, f"species '{sid}' in a denominator", MATH_SUPPORTED)

    def value(term: tuple[tuple[Key, Key], float]) -> float:
        (_, pk), c = term
        return _poly_value({((), pk): c}, params)

    terms = sorted(poly.items(), key=lambda t: (t[0][0], t[0][1]))
    positive = [t for t in terms if not value(t) < 0]
    negative = [t for t in terms if value(t) < 0]
    pairs: list[tuple[Any, Any]] = []
    while positive or negative:
        fwd = positive.pop(0) if positive else negative.pop(0)
        rev = negative.pop(0) if negative else (positive.pop(0) if positive else None)
        pairs.append((fwd, rev))
    if not pairs:
        pairs = [((((), ()), 0.0), None)]

    def orders(sk: Key, side: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
        # An empty override would mean "orders = stoichiometry"; pin a zero order instead.
        if sk:
            return sk
        return ((side[0][0], 0.0),) if side else ()

    ids = [rid] if len(pairs) == 1 else []
    k = 1
    while len(ids) < len(pairs):
        cand = f"{rid}__{k}"
        k += 1
        if cand not in taken:
            ids.append(cand)
            taken.add(cand)
    out = []
    for new_id, (fwd, rev) in zip(ids, pairs):
        (fsk, fpk), fc = fwd
        forward = RateExpr(fc, fpk)
        reverse = None
        rorders: tuple[tuple[str, float], ...] = ()
        if rev is not None:
            (rsk, rpk), rc = rev
            reverse = RateExpr(-rc, rpk)
            rorders = orders(rsk, products)
        note = "" if new_id == rid else f"part of SBML reaction '{rid}'"
        out.append(
            Reaction(new_id, reactants, products, forward, reverse, None, orders(fsk, reactants), rorders, note=note)
        )
    return out


# =============================================================================================
# Export
# =============================================================================================
def _extras_from(text: str, src: str) -> tuple[tuple[Observable, ...], tuple[Genotype, ...]]:
    if not text:
        return (), ()
    try:
        data = json.loads(text)
        obs = tuple(
            Observable(
                o["id"],
                tuple((s, float(c)) for s, c in o["terms"]),
                float(o["factor"]),
                o["unit"],
                o.get("description", ""),
                tuple((s, float(c)) for s, c in o.get("denominator", ())),
                o.get("counts", ""),
            )
            for o in data.get("observables", ())
        )
        gen = tuple(
            Genotype(
                g["id"],
                g["reference"],
                tuple((name, tuple((p, float(f)) for p, f in scale)) for name, scale in g["scales"]),
                g.get("description", ""),
                g.get("source", ""),
            )
            for g in data.get("genotypes", ())
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(f"{src}: il6sim annotation of the model is malformed: {exc}") from None
    return obs, gen


def __getattr__(name: str) -> Any:  # the writer lives in sbml_export; keep il6sim.sbml.to_sbml working
    if name in ("to_sbml", "to_sbml_string"):
        from . import sbml_export

        return getattr(sbml_export, name)
    raise AttributeError(f"module 'il6sim.sbml' has no attribute {name!r}")
