"""SBML export: a network (and a dosing protocol) as SBML Level 3 Version 2 (needs ``python-libsbml``).

compartment, reaction or model id that is already taken by a species or parameter gets a suffix
such as ``_compartment``, and the annotation keeps the il6sim id for re-import), writes core
units (nmol, litre, hour; nM concentrations) as unit definitions on the model and on every
parameter whose unit string parses, and writes each
reaction's kinetic law as ``V_c · kf · Π S^order − V_c · kr · Π P^order`` (``V_c`` only when the
reaction has a compartment; otherwise its rate already is amount per time). Sources go to notes
(for people) and, with units, molecular weights, kinds, observables and genotypes, to an
``il6sim`` annotation that :func:`read_sbml` reads back. Observables are also written as parameters
set by assignment rules (what other tools plot; the reader skips them and takes the annotation).
A ``protocol`` is written as SBML events at fixed times: a dose adds to its species, a parameter
change sets or scales the parameter (which becomes non-constant), and an infusion is a zero-order
input reaction whose rate parameter one event switches on and another off; event priorities keep
il6sim's order at equal times. A file with a protocol is general SBML (it has events), read back by
:func:`il6sim.load_model` through :mod:`il6sim.sbml_model`, and runs unchanged in libRoadRunner.

>>> import il6sim, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "binding.xml"
>>> to_sbml(il6sim.load_model("models/examples/binding.toml"), path)
>>> il6sim.load_model(str(path)).species[0].id
'l'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from .errors import ModelFileError
from .network import ID_PATTERN, Network, RateExpr
from .protocol import AddConcentration, Infusion, Protocol, ScaleParameter, SetParameter
from .sbml import IL6SIM_NS, _libsbml

__all__ = ["to_sbml", "to_sbml_string"]

_CORE_UNITS = {  # dimension index -> (libsbml unit kind name, scale, multiplier)
    0: ("mole", -9, 1.0),  # nmol
    1: ("litre", 0, 1.0),  # l
    2: ("second", 0, 3600.0),  # h
    3: ("gram", 0, 1.0),  # g
    4: ("item", 0, 1.0),  # cell
}


def _unit_id(unit: str) -> str:
    text = unit.replace(" ", "").replace("·", "*").replace("(", "").replace(")", "")
    text = text.replace("/", "_per_").replace("*", "_").replace("^", "_pow_").replace("-", "m").replace(".", "p")
    text = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return "u_" + text


def _extras_to(network: Network) -> str:
    data = {
        "observables": [
            {
                "id": o.id,
                "terms": o.terms,
                "factor": o.factor,
                "unit": o.unit,
                "description": o.description,
                "denominator": o.denominator,
                "counts": o.counts,
            }
            for o in network.observables
        ],
        "genotypes": [
            {"id": g.id, "reference": g.reference, "scales": g.scales, "description": g.description, "source": g.source}
            for g in network.genotypes
        ],
    }
    return json.dumps(data, separators=(",", ":"))


def _set_annotation(sb: Any, attrs: dict[str, str], libsbml: Any) -> None:
    attrs = {k: v for k, v in attrs.items() if v}
    if not attrs:
        return
    from xml.sax.saxutils import quoteattr

    body = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
    text = f'<il6sim:data xmlns:il6sim="{IL6SIM_NS}" {body}/>'
    if sb.appendAnnotation(text) != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelFileError(f"could not write the il6sim annotation of '{sb.getId()}'")


def _set_notes(sb: Any, text: str, libsbml: Any) -> None:
    if text:
        sb.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{escape(text)}</p></body>')


def _check(rc: int, what: str, libsbml: Any) -> None:
    if rc != libsbml.LIBSBML_OPERATION_SUCCESS:
        raise ModelFileError(f"SBML export failed while {what}: {libsbml.OperationReturnValue_toString(rc)}")


def _ast_name(name: str, libsbml: Any) -> Any:
    node = libsbml.ASTNode(libsbml.AST_NAME)
    node.setName(name)
    return node


def _ast_number(x: float, libsbml: Any, units: str = "") -> Any:
    node = libsbml.ASTNode(libsbml.AST_REAL)
    node.setValue(float(x))
    if units:
        node.setUnits(units)  # an SBML L3 number with its unit (sbml:units)
    return node


def _ast_op(op: Any, children: Iterable[Any], libsbml: Any) -> Any:
    node = libsbml.ASTNode(op)
    for child in children:
        node.addChild(child)
    return node


def _monomial_ast(comp: str | None, expr: RateExpr, orders: dict[str, float], libsbml: Any) -> Any:
    factors = []
    if comp is not None:
        factors.append(_ast_name(comp, libsbml))
    for pid, e in expr.terms:
        factors.append(_power_ast(_ast_name(pid, libsbml), e, libsbml))
    for sid, e in orders.items():
        if e != 0.0:
            factors.append(_power_ast(_ast_name(sid, libsbml), e, libsbml))
    if expr.factor != 1.0 or not factors:
        factors.insert(0, _ast_number(expr.factor, libsbml))
    if len(factors) == 1:
        return factors[0]
    return _ast_op(libsbml.AST_TIMES, factors, libsbml)


def _power_ast(base: Any, e: float, libsbml: Any) -> Any:
    if e == 1.0:
        return base
    if e == int(e):
        expo = libsbml.ASTNode(libsbml.AST_INTEGER)
        expo.setValue(int(e))
    else:
        expo = _ast_number(e, libsbml)
    return _ast_op(libsbml.AST_POWER, [base, expo], libsbml)


def to_sbml_string(network: Network, protocol: Protocol | None = None) -> str:
    """The SBML Level 3 Version 2 text of ``network`` (see :func:`to_sbml`)."""
    libsbml = _libsbml()
    actions = protocol.sorted_events() if protocol is not None else []
    _check_protocol(network, actions)
    ids = _export_ids(network)
    changed = {e.name for e in actions if isinstance(e, SetParameter | ScaleParameter)}
    doc = libsbml.SBMLDocument(3, 2)
    model = doc.createModel()
    model.setId(ids[("model", network.name)])
    if network.description:
        model.setName(network.description)
    # Core units: nmol, litre, hour; concentrations in nM.
    defs = {"nmol": ((0, 1.0),), "hour": ((2, 1.0),)}
    for uid, parts in defs.items():
        _unit_definition(model, uid, parts, libsbml)
    for setter, uid in (
        (model.setSubstanceUnits, "nmol"),
        (model.setExtentUnits, "nmol"),
        (model.setTimeUnits, "hour"),
        (model.setVolumeUnits, "litre"),
    ):
        _check(setter(uid), "setting the model units", libsbml)
    _set_annotation(
        model, {"extras": _extras_to(network), "description": network.description, "id": network.name}, libsbml
    )

    for c in network.compartments:
        comp = model.createCompartment()
        comp.setId(ids[("compartment", c.id)])
        comp.setSpatialDimensions(3)
        comp.setSize(c.volume_l)
        comp.setUnits("litre")
        comp.setConstant(True)
        _set_notes(comp, c.source, libsbml)
        _set_annotation(comp, {"source": c.source, "id": _renamed(ids, "compartment", c.id)}, libsbml)
    for s in network.species:
        sp = model.createSpecies()
        sp.setId(s.id)
        if s.name:
            sp.setName(s.name)
        sp.setCompartment(ids[("compartment", s.compartment)])
        sp.setInitialConcentration(s.initial_nM)
        sp.setSubstanceUnits("nmol")
        sp.setHasOnlySubstanceUnits(False)
        sp.setBoundaryCondition(s.boundary)
        sp.setConstant(False)
        _set_notes(sp, s.source, libsbml)
        _set_annotation(
            sp,
            {
                "source": s.source,
                "kind": s.kind,
                "mw_g_per_nmol": "" if s.mw_g_per_nmol is None else repr(s.mw_g_per_nmol),
            },
            libsbml,
        )
    made: set[str] = {"nmol", "hour"}
    for p in network.parameters:
        par = model.createParameter()
        par.setId(p.id)
        par.setValue(p.value)
        par.setConstant(p.id not in changed)
        uid = _parameter_units(model, p.unit, made, libsbml)
        if uid:
            par.setUnits(uid)
        _set_notes(par, p.source, libsbml)
        _set_annotation(par, {"unit": p.unit, "source": p.source}, libsbml)
    for r in network.reactions:
        rx = model.createReaction()
        rx.setId(ids[("reaction", r.id)])
        _set_annotation(rx, {"id": _renamed(ids, "reaction", r.id)}, libsbml)
        rx.setReversible(r.reverse is not None)
        for sid, coef in r.reactants:
            ref = rx.createReactant()
            ref.setSpecies(sid)
            ref.setStoichiometry(coef)
            ref.setConstant(True)
        for sid, coef in r.products:
            ref = rx.createProduct()
            ref.setSpecies(sid)
            ref.setStoichiometry(coef)
            ref.setConstant(True)
        fwd_orders = r.forward_orders()
        rev_orders = r.backward_orders() if r.reverse is not None else {}
        on_sides = {sid for sid, _ in r.reactants + r.products}
        for sid in sorted((set(fwd_orders) | set(rev_orders)) - on_sides):
            if fwd_orders.get(sid, 0.0) or rev_orders.get(sid, 0.0):
                rx.createModifier().setSpecies(sid)
        comp_id = None if r.compartment is None else ids[("compartment", r.compartment)]
        math_ = _monomial_ast(comp_id, r.forward, fwd_orders, libsbml)
        if r.reverse is not None:
            math_ = _ast_op(libsbml.AST_MINUS, [math_, _monomial_ast(comp_id, r.reverse, rev_orders, libsbml)], libsbml)
        kl = rx.createKineticLaw()
        _check(kl.setMath(math_), f"writing the kinetic law of '{r.id}'", libsbml)
        _set_notes(rx, r.note, libsbml)
    taken = {s.id for s in network.species} | {p.id for p in network.parameters} | set(ids.values())
    _write_observables(model, network, taken, made, libsbml)
    _write_protocol(model, network, actions, ids, taken, made, libsbml)
    return libsbml.writeSBMLToString(doc)


def _check_protocol(network: Network, actions: list[Any]) -> None:
    for e in actions:
        if isinstance(e, AddConcentration | Infusion):
            network.get_species(e.species)  # an unknown id is one line naming it
        else:
            network.get_parameter(e.name)


def _fresh(base: str, taken: set[str]) -> str:
    sid, k = base, 1
    while sid in taken:
        k += 1
        sid = f"{base}_{k}"
    taken.add(sid)
    return sid


def _linear_ast(terms: Iterable[tuple[str, float]], libsbml: Any, zero_units: str) -> Any:
    """``c1 * s1 + c2 * s2 + ...`` as MathML (dimensionless coefficients; 0 in ``zero_units`` for none)."""
    parts = [t if c == 1.0 else _ast_op(libsbml.AST_TIMES, [_ast_number(c, libsbml, "dimensionless"), t], libsbml)
             for sid, c in terms for t in [_ast_name(sid, libsbml)]]
    if not parts:
        return _ast_number(0.0, libsbml, zero_units)
    return parts[0] if len(parts) == 1 else _ast_op(libsbml.AST_PLUS, parts, libsbml)


def _write_observables(model: Any, network: Network, taken: set[str], made: set[str], libsbml: Any) -> None:
    """Each observable as a parameter set by an assignment rule (what SBML tools plot and export), its
    conversion factor a constant parameter ``<id>_factor`` with its unit; the model annotation still
    carries the definition for :func:`read_sbml`."""
    nm = _unit_of(model, "nM", made, libsbml)
    for o in network.observables:
        oid = _fresh(o.id, taken)
        unit = _unit_of(model, o.unit, made, libsbml)
        fac = model.createParameter()
        fac.setId(_fresh(f"{oid}_factor", taken))
        fac.setValue(o.factor)
        fac.setConstant(True)
        fac_units = _unit_of(model, o.unit, made, libsbml, per="" if o.denominator else "nM")
        if fac_units:
            fac.setUnits(fac_units)
        _set_annotation(fac, {"observable": "1"}, libsbml)
        par = model.createParameter()
        par.setId(oid)
        par.setConstant(False)
        if unit:
            par.setUnits(unit)
        if o.description:
            par.setName(o.description)
        _set_annotation(par, {"observable": "1", "unit": o.unit, "id": "" if oid == o.id else o.id}, libsbml)
        num = _linear_ast(o.terms, libsbml, nm)
        if o.denominator:  # factor * terms / denominator, 0 where the denominator is 0
            den = _linear_ast(o.denominator, libsbml, nm)
            ratio = _ast_op(libsbml.AST_DIVIDE, [num, den], libsbml)
            value = _ast_op(libsbml.AST_TIMES, [_ast_name(fac.getId(), libsbml), ratio], libsbml)
            cond = _ast_op(libsbml.AST_RELATIONAL_NEQ, [den.deepCopy(), _ast_number(0.0, libsbml, nm)], libsbml)
            value = _ast_op(libsbml.AST_FUNCTION_PIECEWISE, [value, cond, _ast_number(0.0, libsbml, unit)], libsbml)
        else:
            value = _ast_op(libsbml.AST_TIMES, [_ast_name(fac.getId(), libsbml), num], libsbml)
        rule = model.createAssignmentRule()
        rule.setVariable(oid)
        _check(rule.setMath(value), f"writing observable '{o.id}'", libsbml)


def _write_protocol(model: Any, network: Network, actions: list[Any], ids: dict[tuple[str, str], str],
                    taken: set[str], made: set[str], libsbml: Any) -> None:
    """A Protocol as SBML events at fixed times (trigger ``time >= t``, true at t = 0 for doses at 0;
    priorities keep il6sim's order at equal times: parameter changes, doses, infusions) and, per
    infusion, a zero-order input reaction whose rate parameter two events switch on and off."""

    def at(t: float, k: int, eid: str) -> Any:
        ev = model.createEvent()
        ev.setId(_fresh(eid, taken))
        ev.setUseValuesFromTriggerTime(False)  # events due together see each other's changes (dose + dose, set then scale)
        trig = ev.createTrigger()
        trig.setInitialValue(False)
        trig.setPersistent(True)
        clock = libsbml.ASTNode(libsbml.AST_NAME_TIME)
        clock.setName("time")
        _check(trig.setMath(_ast_op(libsbml.AST_RELATIONAL_GEQ, [clock, _ast_number(t, libsbml, "hour")], libsbml)),
               f"writing the trigger of '{eid}'", libsbml)
        ev.createPriority().setMath(_ast_number(float(len(actions) - k), libsbml, "dimensionless"))
        return ev

    def assign(ev: Any, var: str, math_: Any) -> None:
        ea = ev.createEventAssignment()
        ea.setVariable(var)
        _check(ea.setMath(math_), f"writing event '{ev.getId()}'", libsbml)

    comp_of = {s.id: s.compartment for s in network.species}
    nm = _unit_of(model, "nM", made, libsbml)
    rate_units = _unit_of(model, "nM/h", made, libsbml)
    for k, e in enumerate(actions):
        if isinstance(e, AddConcentration):
            ev = at(e.time_h, k, f"dose_{k + 1}")
            assign(ev, e.species, _ast_op(libsbml.AST_PLUS, [_ast_name(e.species, libsbml),
                                                              _ast_number(e.delta_nM, libsbml, nm)], libsbml))
        elif isinstance(e, SetParameter):
            units = model.getParameter(e.name).getUnits()
            assign(at(e.time_h, k, f"set_{k + 1}"), e.name, _ast_number(e.value, libsbml, units))
        elif isinstance(e, ScaleParameter):
            assign(at(e.time_h, k, f"scale_{k + 1}"), e.name, _ast_op(libsbml.AST_TIMES, [
                _ast_name(e.name, libsbml), _ast_number(e.factor, libsbml, "dimensionless")], libsbml))
        else:  # an infusion: rate parameter (nM/h) switched on at start and off at stop
            rate = model.createParameter()
            rate.setId(_fresh(f"infusion_rate_{k + 1}", taken))
            rate.setValue(0.0)
            rate.setConstant(False)
            rate.setUnits(rate_units)
            _set_annotation(rate, {"unit": "nM/h", "source": f"infusion of {e.species}"}, libsbml)
            rx = model.createReaction()
            rx.setId(_fresh(f"infusion_{k + 1}", taken))
            rx.setReversible(False)
            ref = rx.createProduct()
            ref.setSpecies(e.species)
            ref.setStoichiometry(1.0)
            ref.setConstant(True)
            comp = ids[("compartment", comp_of[e.species])]
            _check(rx.createKineticLaw().setMath(_ast_op(libsbml.AST_TIMES, [
                _ast_name(comp, libsbml), _ast_name(rate.getId(), libsbml)], libsbml)),
                f"writing infusion '{rx.getId()}'", libsbml)
            assign(at(e.start_h, k, f"infusion_start_{k + 1}"), rate.getId(),
                   _ast_number(e.rate_nM_per_h, libsbml, rate_units))
            assign(at(e.stop_h, k, f"infusion_stop_{k + 1}"), rate.getId(), _ast_number(0.0, libsbml, rate_units))


def _renamed(ids: dict[tuple[str, str], str], kind: str, iid: str) -> str:
    return "" if ids[(kind, iid)] == iid else iid


def _unit_definition(model: Any, uid: str, parts: Iterable[tuple[int, float]], libsbml: Any) -> None:
    ud = model.createUnitDefinition()
    ud.setId(uid)
    for dim, exponent in parts:
        kind, scale, multiplier = _CORE_UNITS[dim]
        u = ud.createUnit()
        u.setKind(libsbml.UnitKind_forName(kind))
        u.setExponent(exponent)
        u.setScale(scale)
        u.setMultiplier(multiplier)


def _any_units(model: Any, factor: float, dims: Iterable[float], made: set[str], libsbml: Any) -> str:
    """Id of a unit definition for ``factor`` times the core-unit powers ``dims`` (created on first use)."""
    parts = [(i, float(e)) for i, e in enumerate(dims) if e != 0]
    if not parts and math.isclose(factor, 1.0, rel_tol=1e-12):
        return "dimensionless"
    uid = "u_" + "_".join(f"{_CORE_UNITS[i][0]}{e:g}".replace("-", "m").replace(".", "p") for i, e in parts)
    if not math.isclose(factor, 1.0, rel_tol=1e-12):
        uid += "_x" + f"{factor:.12g}".replace("-", "m").replace(".", "p").replace("+", "")
    uid = re.sub(r"[^A-Za-z0-9_]", "_", uid if parts else uid.replace("u__x", "u_x"))
    if uid not in made:
        _unit_definition(model, uid, parts, libsbml)
        if not math.isclose(factor, 1.0, rel_tol=1e-12):
            u = model.getUnitDefinition(uid).createUnit()
            u.setKind(libsbml.UnitKind_forName("dimensionless"))
            u.setExponent(1.0)
            u.setScale(0)
            u.setMultiplier(factor)
        made.add(uid)
    return uid


def _unit_of(model: Any, unit: str, made: set[str], libsbml: Any, per: str = "") -> str:
    """Id of a unit definition for ``unit`` (divided by ``per``), any multiple of core units; "" if it does
    not parse."""
    from .errors import UnitError
    from .units import parse_unit

    try:
        factor, dims = parse_unit(unit or "1")
        powers = list(dims)
        if per:
            f2, d2 = parse_unit(per)
            factor, powers = factor / f2, [a - b for a, b in zip(dims, d2)]
    except UnitError:
        return ""
    return _any_units(model, factor, powers, made, libsbml)


def _parameter_units(model: Any, unit: str, made: set[str], libsbml: Any) -> str:
    """Id of a unit definition for ``unit`` (created on first use); "" if it does not parse."""
    from .errors import UnitError
    from .units import parse_unit

    if not unit or unit == "1":
        return "dimensionless"
    try:
        factor, dims = parse_unit(unit)
    except UnitError:
        return ""
    if factor != 1.0 and not math.isclose(factor, 1.0, rel_tol=1e-12):
        return ""  # not a core unit: leave it undeclared rather than write a wrong one
    parts = [(i, float(e)) for i, e in enumerate(dims) if e != 0]
    if not parts:
        return "dimensionless"
    uid = _unit_id(unit)
    if uid not in made:
        _unit_definition(model, uid, parts, libsbml)
        made.add(uid)
    return uid


def _export_ids(network: Network) -> dict[tuple[str, str], str]:
    """SBML ids for il6sim ids: SBML has one id namespace, il6sim one per kind.

    Species and parameters keep their ids first; a compartment, reaction or the model whose id is
    already taken gets a suffix (``_compartment``, ``_reaction``, ``_model``), and the il6sim id is
    kept in the element's il6sim annotation so :func:`read_sbml` restores it.
    """
    out: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    groups = [
        ("species", list(network.species_ids)),
        ("parameter", list(network.parameter_ids)),
        ("compartment", [c.id for c in network.compartments]),
        ("reaction", [r.id for r in network.reactions]),
    ]
    for kind, ids in groups:
        for i in ids:
            new = i
            k = 1
            while new in taken:
                new = f"{i}_{kind}" if k == 1 else f"{i}_{kind}{k}"
                k += 1
            taken.add(new)
            out[(kind, i)] = new
    model_id = network.name if ID_PATTERN.match(network.name) else "il6sim_model"
    while model_id in taken:
        model_id += "_model"
    out[("model", network.name)] = model_id
    return out


def to_sbml(network: Network, path: str | Path, protocol: Protocol | None = None) -> None:
    """Write ``network`` as an SBML Level 3 Version 2 file.

    Parameters
    ----------
    network : the network (core units: nM, h, l).
    path : the output file.
    protocol : doses, parameter changes and infusions to write as SBML events (see the module docs);
        start the network from the state the regimen assumes (e.g. its steady state) first.

    Examples
    --------
    >>> import pytest; _ = pytest.importorskip("libsbml")  # (this example needs python-libsbml)
    >>> import il6sim, tempfile, os, pathlib
    >>> path = os.path.join(tempfile.mkdtemp(), "binding.xml")
    >>> to_sbml(il6sim.load_model("models/examples/binding.toml"), path)
    >>> pathlib.Path(path).read_text().splitlines()[1]
    '<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">'
    """
    from .fileio import atomic_write

    text = to_sbml_string(network, protocol)
    atomic_write(path, text.encode("utf-8"))  # a failed write leaves no half-written file
