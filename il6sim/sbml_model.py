"""General SBML models as plain data: states, ordered assignments, derivatives and events.

:func:`build_sbml_model` turns the structure and math that :func:`il6sim.sbml_math.read_model_math`
reads into an :class:`SbmlModel`, the description a simulator integrates
(:func:`il6sim.sbml_simulate.simulate_sbml`). Nothing here is compiled or simulated; every SBML rule
that decides *what* is integrated lives here, and every mistake in the file is found here.

Semantics (SBML Level 3 Version 2, the same for Levels 1 and 2 where they say the same):

* **What a name means in math.** A species id is its concentration (amount / compartment size), or its
  amount when ``hasOnlySubstanceUnits`` is true or its compartment has 0 spatial dimensions; a
  compartment id its size, a parameter id its value, a species-reference id its stoichiometry, a
  reaction id its rate (the kinetic law, substance per time), ``time`` the time.
* **States.** A species changed by reactions is integrated as its *amount* (internal name
  ``amount(S)``), so a compartment that changes size dilutes it, as SBML says. Species, parameters,
  compartments and species references with a rate rule are integrated in their own units (the rule
  gives the derivative of the value the id stands for). ``d amount(S)/dt = cf · Σ stoichiometry ·
  rate`` over the reactions, ``cf`` the species' conversion factor, else the model's, else 1; boundary
  and constant species are not changed by reactions.
* **Assignments** (assignment rules, species concentrations from amounts, reaction rates) are one list
  ordered by dependency, evaluated before the derivatives at every time; a cycle is an error naming it.
* **Initial values**: file values, then initial assignments and assignment rules, solved together
  in dependency order (a species' initial concentration becomes its amount at its compartment's initial
  size; an initial assignment to a species sets the value its id stands for).
* **Events**: triggers are formulas (true when non-zero) evaluated on the state; an event fires when
  its trigger goes from false to true (``initialValue`` is the trigger's value just before the start);
  delays, priorities, ``persistent`` and ``useValuesFromTriggerTime`` are kept for the simulator.

Refused with a one-line :class:`SbmlModelError` naming the element and the construct: algebraic rules,
fast reactions, a variable set by two rules (or a rule and an initial assignment that disagree in
kind), a rule or event changing a constant, a rule and a reaction both changing one non-boundary
species, an event assigning a variable that an assignment rule sets, cyclic assignments, unknown
names, and values the file leaves undefined where they are used.

Examples
--------
>>> import pytest; _ = pytest.importorskip("libsbml")  # (this example needs python-libsbml)
>>> from il6sim.sbml_math import read_model_math
>>> text = '''<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2"><model>
...  <listOfCompartments><compartment id="c" size="2" constant="true"/></listOfCompartments>
...  <listOfSpecies><species id="S" compartment="c" initialAmount="4" hasOnlySubstanceUnits="false"
...    boundaryCondition="false" constant="false"/></listOfSpecies>
...  <listOfParameters><parameter id="k" value="0.5" constant="true"/></listOfParameters>
...  <listOfReactions><reaction id="R" reversible="false"><listOfReactants>
...    <speciesReference species="S" stoichiometry="1" constant="true"/></listOfReactants>
...    <kineticLaw><math xmlns="http://www.w3.org/1998/Math/MathML"><apply><times/><ci>k</ci><ci>S</ci>
...    <ci>c</ci></apply></math></kineticLaw></reaction></listOfReactions></model></sbml>'''
>>> m = build_sbml_model(read_model_math(text))
>>> m.states, [name for name, _ in m.assignments], str(m.derivatives[0])
(('amount(S)',), ['S', 'R'], '-R')
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from .errors import ModelFileError, suggest
from .expr import Call, Formula, FormulaError, Node, Num, Pow, Prod, Sum, Sym
from .sbml_math import Event, SbmlMath, read_model_math

__all__ = ["SbmlModel", "SbmlModelError", "amount_name", "build_sbml_model", "rate_of_name", "read_sbml_model"]


class SbmlModelError(ModelFileError):
    """An SBML model il6sim cannot simulate as written; ``construct`` names what was refused."""

    def __init__(self, message: str, construct: str = "") -> None:
        super().__init__(message)
        self.construct = construct


def amount_name(species: str) -> str:
    """The internal state name of a species integrated as an amount (cannot clash with an SBML id)."""
    return f"amount({species})"


@dataclass(frozen=True)
class SbmlModel:
    """An SBML model lowered to what an ODE simulator with events integrates.

    Attributes
    ----------
    name : the model id (or the file name).
    source : where it was read from (file path or ``"<string>"``).
    states : integrated variables (``amount(S)`` for species changed by reactions; ids for rate rules).
    derivatives : one formula per state.
    assignments : (name, formula) evaluated in this order before the derivatives at every time.
    constants : every other name math may use, with the value the file gives (NaN where it gives none
        and something sets it at the start); events and parameter overrides change them.
    initial : (name, formula) evaluated in this order at the start, over ``constants``: initial
        assignments, assignment rules, species concentrations and amounts, and reaction rates.
    events : the model's events (triggers and assignments as formulas), in document order.
    species_units : species id → ``"concentration"`` or ``"amount"`` (what its column reports).
    outputs : result columns: every species, compartment and global parameter, then every species
        reference whose value changes (rules, events, initial assignments).
    compartment_of : species id → compartment id.
    """

    name: str
    source: str
    states: tuple[str, ...]
    derivatives: tuple[Formula, ...]
    assignments: tuple[tuple[str, Formula], ...]
    constants: Mapping[str, float]
    initial: tuple[tuple[str, Formula], ...]
    events: tuple[Event, ...]
    species_units: Mapping[str, str]
    outputs: tuple[str, ...]
    compartment_of: Mapping[str, str]
    sbml: SbmlMath

    def __repr__(self) -> str:
        return (f"SbmlModel({self.name!r}, {len(self.states)} states, {len(self.assignments)} assignments, "
                f"{len(self.events)} events)")

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names a caller may override in ``simulate(..., parameters=)``: the file's constants."""
        return tuple(self.constants)


def _num(x: float) -> Formula:
    return Formula("", Num(float(x)))


def _sym(name: str) -> Formula:
    return Formula("", Sym(name))


def _times(a: Formula, b: Formula) -> Formula:
    return Formula("", Prod(((False, a.node), (False, b.node))))


def _over(a: Formula, b: Formula) -> Formula:
    return Formula("", Prod(((False, a.node), (True, b.node))))


def _toposort(entries: Mapping[str, Formula], where: Mapping[str, str], prefix: str, what: str) -> list[str]:
    """Order ``entries`` so each comes after the entries its formula uses; a cycle is an error naming it."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for root in entries:
        if state.get(root) == 2:
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(entries[root].symbols & entries.keys()))]
        state[root] = 1
        while stack:
            name, deps = stack[-1]
            if deps:
                dep = deps.pop()
                if state.get(dep) == 1:
                    chain = [n for n, _ in stack]
                    cycle = chain[chain.index(dep):] + [dep]
                    raise SbmlModelError(f"{prefix}cyclic {what}: " + " -> ".join(
                        where.get(n, n) for n in cycle) + "; break the cycle", construct="cyclic rules")
                if state.get(dep) is None:
                    state[dep] = 1
                    stack.append((dep, sorted(entries[dep].symbols & entries.keys())))
                continue
            stack.pop()
            state[name] = 2
            order.append(name)
    return order


def rate_of_name(name: str) -> str:
    """The internal name that stands for ``rateOf(name)`` (cannot clash with an SBML id)."""
    return f"rateOf({name})"


def _replace_rate_of(node: Node, found: set[str]) -> Node:
    if isinstance(node, Call):
        if node.name == "rateOf" and len(node.args) == 1 and isinstance(node.args[0], Sym):
            found.add(node.args[0].name)
            return Sym(rate_of_name(node.args[0].name))
        return Call(node.name, tuple(_replace_rate_of(a, found) for a in node.args))
    if isinstance(node, Sum):
        return Sum(tuple((neg, _replace_rate_of(t, found)) for neg, t in node.items))
    if isinstance(node, Prod):
        return Prod(tuple((inv, _replace_rate_of(t, found)) for inv, t in node.items))
    if isinstance(node, Pow):
        return Pow(_replace_rate_of(node.base, found), _replace_rate_of(node.exp, found))
    return node


def _without_rate_of(sb: SbmlMath) -> tuple[SbmlMath, set[str]]:
    """``sb`` with every ``rateOf(x)`` replaced by the symbol ``rateOf(x)`` (:func:`rate_of_name`); the ids named."""
    found: set[str] = set()

    def fix(f: Formula | None) -> Formula | None:
        if f is None or "rateOf" not in str(f):
            return f
        return Formula(f.text, _replace_rate_of(f.node, found))

    def fixed(m: Mapping[str, Formula]) -> Mapping[str, Formula]:
        return MappingProxyType({k: fix(v) for k, v in m.items()})  # type: ignore[misc]

    reactions = {rid: replace(r, kinetic_law=fix(r.kinetic_law),
                              reactants=tuple(replace(sr, stoichiometry_math=fix(sr.stoichiometry_math))
                                              for sr in r.reactants),
                              products=tuple(replace(sr, stoichiometry_math=fix(sr.stoichiometry_math))
                                             for sr in r.products)) for rid, r in sb.reactions.items()}
    events = tuple(replace(ev, trigger=fix(ev.trigger), delay=fix(ev.delay), priority=fix(ev.priority),
                           assignments=fixed(ev.assignments)) for ev in sb.events)
    out = replace(sb, initial_assignments=fixed(sb.initial_assignments), assignment_rules=fixed(sb.assignment_rules),
                  rate_rules=fixed(sb.rate_rules), reactions=MappingProxyType(reactions), events=events,
                  algebraic_rules=tuple(fix(f) for f in sb.algebraic_rules))  # type: ignore[misc]
    return out, found


def _solve_algebraic(sb: SbmlMath, fail: Callable[[str, str], SbmlModelError]) -> SbmlMath:
    """Turn each algebraic rule ``0 = f`` into an assignment rule for the one variable it determines.

    The variable is the one id in ``f`` that nothing else determines (not constant, no rule, not a
    species changed by reactions); ``f`` must be linear in it (its derivative free of it), so
    ``x = -f(x = 0) / (df/dx)`` is exact. Rules are taken in turn until each has one such variable;
    anything else (several unknowns, a non-linear rule) is refused, naming the rule.
    """
    if not sb.algebraic_rules:
        return sb
    reacting = {sr.species for r in sb.reactions.values() for sr in (*r.reactants, *r.products)
                if sr.species in sb.species and not sb.species[sr.species].boundary_condition}
    variable = {**{c: not v.constant for c, v in sb.compartments.items()},
                **{p: not v.constant for p, v in sb.parameters.items()},
                **{s: not v.constant and s not in reacting for s, v in sb.species.items()},
                **{sr.id: not sr.constant for r in sb.reactions.values() for sr in (*r.reactants, *r.products)
                   if sr.id}}
    assigned = dict(sb.assignment_rules)
    todo = list(enumerate(sb.algebraic_rules, 1))

    def unknowns(f: Formula) -> list[str]:
        return sorted(x for x in f.symbols if variable.get(x) and x not in assigned and x not in sb.rate_rules)

    while todo:
        pick = next((k for k, (_, f) in enumerate(todo) if len(unknowns(f)) == 1), None)
        if pick is None:
            i, f = todo[0]
            unknown = unknowns(f)
            raise fail(f"algebraicRule #{i} ({f}) determines {len(unknown)} variables ({', '.join(unknown) or 'none'}); "
                       "only rules that fix one variable are supported: rewrite it as an assignment rule",
                       "algebraic rule")
        i, f = todo.pop(pick)
        unknown = unknowns(f)
        x = unknown[0]
        try:
            slope = f.derivative(x)
        except FormulaError:
            slope = None
        if slope is None or x in slope.symbols or slope.is_constant and float(slope.evaluate({})) == 0.0:
            raise fail(f"algebraicRule #{i} ({f}) is not linear in '{x}'; only linear algebraic rules are supported: "
                       "rewrite it as an assignment rule", "algebraic rule")
        at_zero = f.substitute({x: 0.0})
        assigned[x] = Formula("", Prod(((False, Num(-1.0)), (False, at_zero.node), (True, slope.node))))
    return replace(sb, assignment_rules=MappingProxyType(assigned), algebraic_rules=())


def build_sbml_model(sb: SbmlMath, *, source: str = "<string>") -> SbmlModel:
    """Lower :class:`~il6sim.sbml_math.SbmlMath` to an :class:`SbmlModel` (see the module docstring).

    Raises
    ------
    SbmlModelError
        One line naming the file, the element and what to change.
    """
    prefix = f"{source}: " if source and source != "<string>" else ""
    sb, rate_of = _without_rate_of(sb)

    def fail(msg: str, construct: str) -> SbmlModelError:
        return SbmlModelError(prefix + msg, construct=construct)

    sb = _solve_algebraic(sb, fail)
    for r in sb.reactions.values():
        if r.fast:
            raise fail(f"reaction '{r.id}' is fast (fast reactions are not supported); set fast=\"false\"",
                       "fast reaction")
    comps, species, params = sb.compartments, sb.species, sb.parameters
    refs = {sr.id: sr for r in sb.reactions.values() for sr in (*r.reactants, *r.products) if sr.id}
    kinds = {**{c: "compartment" for c in comps}, **{s: "species" for s in species},
             **{p: "parameter" for p in params}, **{s: "species reference" for s in refs},
             **{r: "reaction" for r in sb.reactions}}
    locals_: dict[str, float | None] = {k: v for r in sb.reactions.values() for k, v in r.local_parameters.items()}

    def constant(name: str) -> bool:
        if name in comps:
            return comps[name].constant
        if name in species:
            return species[name].constant
        if name in params:
            return params[name].constant
        if name in refs:
            return refs[name].constant
        return True

    def settable(name: str, what: str) -> None:
        if name not in kinds or kinds[name] == "reaction":
            raise fail(f"{what}: '{name}' is not a species, compartment, parameter or species reference"
                       f"{suggest(name, [k for k, v in kinds.items() if v != 'reaction'])}", "unknown variable")

    for var in sb.assignment_rules:
        settable(var, f"assignmentRule '{var}'")
        if var in sb.rate_rules:
            raise fail(f"'{var}' has both an assignment rule and a rate rule; keep one", "two rules")
        if constant(var):
            raise fail(f"assignmentRule '{var}' sets a {kinds[var]} declared constant; set constant=\"false\"",
                       "rule on constant")
    for var in sb.rate_rules:
        settable(var, f"rateRule '{var}'")
        if constant(var):
            raise fail(f"rateRule '{var}' changes a {kinds[var]} declared constant; set constant=\"false\"",
                       "rule on constant")
    for var in sb.initial_assignments:
        settable(var, f"initialAssignment '{var}'")
        if var in sb.assignment_rules:
            raise fail(f"'{var}' has both an initial assignment and an assignment rule; keep one",
                       "rule and initial assignment")

    zero_dim = {c for c, v in comps.items() if v.spatial_dimensions == 0}
    species_units = {s: "amount" if v.has_only_substance_units or v.compartment in zero_dim else "concentration"
                     for s, v in species.items()}
    for s, v in species.items():
        if v.compartment not in comps:
            raise fail(f"species '{s}' is in compartment '{v.compartment}', which does not exist", "unknown id")
    if sb.conversion_factor and sb.conversion_factor not in params:
        raise fail(f"model conversionFactor '{sb.conversion_factor}' is not a parameter", "unknown id")

    # reaction effects on species amounts
    flux: dict[str, list[tuple[bool, Formula, str]]] = {}
    for r in sb.reactions.values():
        if r.kinetic_law is None:
            raise fail(f"reaction '{r.id}' has no kinetic law; give it one", "missing kinetic law")
        for sign, side in ((True, r.reactants), (False, r.products)):
            for sr in side:
                if sr.species not in species:
                    raise fail(f"reaction '{r.id}': species '{sr.species}' does not exist"
                               f"{suggest(sr.species, species)}", "unknown id")
                sp = species[sr.species]
                if sp.boundary_condition or sp.constant:
                    continue
                if sr.species in sb.assignment_rules or sr.species in sb.rate_rules:
                    raise fail(f"species '{sr.species}' is changed both by a rule and by reaction '{r.id}'; make it a "
                               "boundary species or drop one", "rule and reaction")
                if sr.stoichiometry_math is not None:
                    st = sr.stoichiometry_math
                elif sr.id:
                    st = _sym(sr.id)
                else:
                    st = _num(1.0 if sr.stoichiometry is None else sr.stoichiometry)
                flux.setdefault(sr.species, []).append((sign, st, r.id))

    states: list[str] = []
    derivatives: list[Formula] = []
    assignments: dict[str, Formula] = {}
    label: dict[str, str] = {}
    amount_species = [s for s in species if s not in sb.assignment_rules and s not in sb.rate_rules]
    for s in amount_species:
        name = amount_name(s)
        items = tuple((neg, Sym(rid) if st.node == Num(1.0) else Prod(((False, st.node), (False, Sym(rid)))))
                      for neg, st, rid in flux.get(s, ()))
        if not items:
            d = _num(0.0)
        else:
            d = Formula("", Sum(items) if len(items) > 1 or items[0][0] else items[0][1])
        cf = species[s].conversion_factor or sb.conversion_factor
        if cf and items:
            if cf not in params:
                raise fail(f"species '{s}': conversionFactor '{cf}' is not a parameter", "unknown id")
            d = _times(_sym(cf), d)
        states.append(name)
        derivatives.append(d)
        comp = species[s].compartment
        assignments[s] = _sym(name) if species_units[s] == "amount" else _over(_sym(name), _sym(comp))
        label[s] = f"species '{s}'"
    for var, f in sb.rate_rules.items():
        states.append(var)
        derivatives.append(f)
    for var, f in sb.assignment_rules.items():
        assignments[var] = f
        label[var] = f"assignmentRule '{var}'"
    for r in sb.reactions.values():
        assert r.kinetic_law is not None
        assignments[r.id] = r.kinetic_law
        label[r.id] = f"reaction '{r.id}'"

    # rateOf(x): the derivative of what x stands for
    derivative_of = dict(zip(states, derivatives))
    for x in sorted(rate_of):
        where = f"rateOf({x})"
        if x in sb.assignment_rules:
            raise fail(f"{where}: '{x}' is set by an assignment rule; rateOf of such a variable is not supported",
                       "rateOf")
        if x in sb.rate_rules:
            d = sb.rate_rules[x]
        elif x in species:
            d = derivative_of[amount_name(x)]
            if species_units[x] == "concentration":
                comp = species[x].compartment
                if comp in sb.assignment_rules:
                    raise fail(f"{where}: the size of compartment '{comp}' is set by an assignment rule; rateOf "
                               "of a species in it is not supported", "rateOf")
                d = _over(d, _sym(comp))
                if comp in sb.rate_rules:  # d(n/V)/dt = (dn/dt)/V - [S] (dV/dt)/V
                    d = Formula("", Sum(((False, d.node), (True, _over(_times(_sym(x), sb.rate_rules[comp]),
                                                                        _sym(comp)).node))))
        elif (x in kinds and kinds[x] != "reaction") or x in locals_:
            d = _num(0.0)
        else:
            raise fail(f"{where}: '{x}' is not a species, compartment, parameter or species reference"
                       f"{suggest(x, kinds)}", "rateOf")
        assignments[rate_of_name(x)] = d
        label[rate_of_name(x)] = where

    # every name math may read must exist
    known = set(kinds) | set(locals_) | {"time"} | set(states) | {rate_of_name(x) for x in rate_of}
    all_math: list[tuple[str, Formula]] = [*((label.get(n, n), f) for n, f in assignments.items()),
                                           *((f"rateRule '{v}'", f) for v, f in sb.rate_rules.items()),
                                           *((f"initialAssignment '{v}'", f) for v, f in sb.initial_assignments.items())]
    for i, ev in enumerate(sb.events):
        where = f"event '{ev.id}'" if ev.id else f"event #{i + 1}"
        for what, fm in (("trigger", ev.trigger), ("delay", ev.delay), ("priority", ev.priority)):
            if fm is not None:
                all_math.append((f"{where} {what}", fm))
        for var, f in ev.assignments.items():
            settable(var, f"{where} eventAssignment")
            if constant(var):
                raise fail(f"{where} assigns '{var}', a {kinds[var]} declared constant; set constant=\"false\" "
                           "or drop the assignment", "event on constant")
            if var in sb.assignment_rules:
                raise fail(f"{where} assigns '{var}', which an assignment rule sets; drop one", "event on rule")
            all_math.append((f"{where} eventAssignment '{var}'", f))
    for r in sb.reactions.values():
        for sr in (*r.reactants, *r.products):
            if sr.stoichiometry_math is not None:
                all_math.append((f"reaction '{r.id}' stoichiometryMath", sr.stoichiometry_math))
    for where, f in all_math:
        unknown = f.symbols - known
        if unknown:
            bad = sorted(unknown)[0]
            raise fail(f"{where} uses '{bad}', which is not defined in the model{suggest(bad, known)}", "unknown id")

    # constants: every name not computed at run time
    consts: dict[str, float] = {}
    for cid, cv in comps.items():
        if cid not in assignments and cid not in sb.rate_rules:
            consts[cid] = math.nan if cv.size is None else cv.size
    for pid, pv in params.items():
        if pid not in assignments and pid not in sb.rate_rules:
            consts[pid] = math.nan if pv.value is None else pv.value
    for sid, sr in refs.items():
        if sid not in assignments and sid not in sb.rate_rules:
            consts[sid] = math.nan if sr.stoichiometry is None else sr.stoichiometry
    for lid, lv in locals_.items():
        consts[lid] = math.nan if lv is None else lv

    # initial values: one dependency order over file values, initial assignments and rules
    init: dict[str, Formula] = {}
    init_label: dict[str, str] = {}
    for s, v in species.items():
        size = _sym(v.compartment)
        if s in sb.initial_assignments:
            f = sb.initial_assignments[s]
        elif s in sb.assignment_rules:
            f = sb.assignment_rules[s]
        elif v.initial_amount is not None:
            f = _num(v.initial_amount) if species_units[s] == "amount" else _over(_num(v.initial_amount), size)
        elif v.initial_concentration is not None:
            f = _num(v.initial_concentration) if species_units[s] == "concentration" else \
                _times(_num(v.initial_concentration), size)
        elif s in sb.rate_rules or s in amount_species:
            raise fail(f"species '{s}' has no initial amount, concentration or initial assignment; give it one",
                       "missing value")
        else:
            f = _num(math.nan)
        init[s] = f
        init_label[s] = f"species '{s}'"
        if s in amount_species:
            init[amount_name(s)] = _sym(s) if species_units[s] == "amount" else _times(_sym(s), size)
            init_label[amount_name(s)] = f"species '{s}'"
    for var in sb.rate_rules:
        if var not in species:
            value = {**{c: v.size for c, v in comps.items()}, **{p: v.value for p, v in params.items()},
                     **{r: v.stoichiometry for r, v in refs.items()}}[var]
            if value is None and var not in sb.initial_assignments:
                raise fail(f"rateRule '{var}': the {kinds[var]} has no initial value; give it one", "missing value")
            init[var] = _num(math.nan if value is None else value)
            init_label[var] = f"{kinds[var]} '{var}'"
    for var, f in sb.assignment_rules.items():
        init[var] = f
        init_label[var] = f"assignmentRule '{var}'"
    for var, f in sb.initial_assignments.items():
        init[var] = f
        init_label[var] = f"initialAssignment '{var}'"
    for r in sb.reactions.values():
        assert r.kinetic_law is not None
        init[r.id] = r.kinetic_law
        init_label[r.id] = f"reaction '{r.id}'"
    for x in rate_of:
        init[rate_of_name(x)] = assignments[rate_of_name(x)]
        init_label[rate_of_name(x)] = f"rateOf({x})"
    init_order = _toposort(init, init_label, prefix=prefix, what="initial assignments and rules")
    assign_order = _toposort(assignments, label, prefix=prefix, what="assignment rules")
    ordered = tuple((n, assignments[n]) for n in assign_order)

    changed = set(sb.assignment_rules) | set(sb.rate_rules) | set(sb.initial_assignments) | {
        v for ev in sb.events for v in ev.assignments}
    outputs = [*species, *comps, *params, *(r for r in refs if r in changed)]
    return SbmlModel(
        name=sb.model_id or source, source=source, states=tuple(states), derivatives=tuple(derivatives),
        assignments=ordered, constants=MappingProxyType(consts),
        initial=tuple((n, init[n]) for n in init_order), events=sb.events,
        species_units=MappingProxyType(species_units), outputs=tuple(outputs),
        compartment_of=MappingProxyType({s: v.compartment for s, v in species.items()}), sbml=sb)


def read_sbml_model(source: str | os.PathLike[str] | bytes) -> SbmlModel:
    """Read an SBML file (or text) into an :class:`SbmlModel`; errors are one line naming the element.

    >>> import pytest; _ = pytest.importorskip("libsbml")  # (this example needs python-libsbml)
    >>> read_sbml_model("../shared/biomodels/BIOMD0000000537.xml")  # doctest: +SKIP
    """
    label = "<string>" if isinstance(source, bytes) or (isinstance(source, str) and source.lstrip().startswith("<")) \
        else str(source)
    return build_sbml_model(read_model_math(source), source=label)
