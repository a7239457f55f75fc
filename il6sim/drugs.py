"""Drugs: data (one TOML file each, ``models/drugs/``) plus one transform that adds them to a model.

``add_drug(network, drug)`` returns a new :class:`~il6sim.network.Network` with the drug's PK
compartments, species, binding reactions and observables (schema and construction rules in
``models/drugs/README.md``). Competitive exclusion holds by construction: a drug-bound species is
never a reactant of the binding it blocks. Dosing is a protocol (:func:`dose_protocol`), not
chemistry.

>>> from il6sim.shipped import load_model
>>> net = add_drug(load_model("il6"), load_drug("tocilizumab"))
>>> "tcz__sil6r" in net.species_ids
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelFileError, ProtocolError, UnitError, UnknownNameError, suggest
from .network import ID_PATTERN, Compartment, Network, Observable, Parameter, RateExpr, Reaction, Species
from .protocol import AddConcentration, Infusion, Protocol, ScaleParameter
from .shipped import resolve
from .tomlsource import TomlSource, check_keys, read_toml
from .units import (
    AMOUNT,
    CONCENTRATION,
    DIMENSIONLESS,
    MASS,
    MOLAR_MASS,
    VOLUME,
    Dims,
    Quantity,
    convert,
    parse_quantity,
)

__all__ = ["Dose", "Drug", "DrugTarget", "add_drug", "dose_protocol", "load_drug", "parse_dose", "standard_dose"]

TARGET_CLASSES = ("cytokine", "receptor", "complex", "production")
TARGET_KINDS = {
    "cytokine": ("il6", "il6__sil6r", "il6__mil6r"),
    "receptor": ("mil6r", "sil6r"),
    "complex": ("il6__sil6r",),
}
MEMBRANE_COMPONENTS = ("mil6r", "gp130")
DEFAULT_WEIGHT_KG = 70.0
MAX_DOSES = 10_000  # doses in one regimen: more is a typo, and each dose is an event the solver stops at
MAX_DOSE_G = 1e3  # a single dose above 1 kg of drug is a typo (the largest real doses are a few grams)
_CLEARANCE: Dims = (0, 1, -1, 0, 0)  # l/h
_RATE: Dims = (0, 0, -1, 0, 0)  # 1/h
_KON: Dims = (-1, 1, -1, 0, 0)  # 1/(nM*h)


@dataclass(frozen=True)
class DrugTarget:
    """One target kind a drug binds, with its constants in core units."""

    kind: str
    kon: float
    koff: float
    kint: float | None = None
    source: str = ""


@dataclass(frozen=True)
class Drug:
    """A drug: what it binds, its PK (two-compartment, linear) and its standard regimen."""

    id: str
    name: str
    target_class: str
    mw_g_per_nmol: float | None = None
    blocks: str = "il6r"
    targets: tuple[DrugTarget, ...] = ()
    cl_l_h: float = 0.0
    v1_l: float = 1.0
    q_l_h: float = 0.0
    v2_l: float = 1.0
    ka_per_h: float | None = None
    f_sc: float | None = None
    weight_ref_kg: float = DEFAULT_WEIGHT_KG
    cl_weight_exponent: float = 0.0
    v_weight_exponent: float = 0.0
    effects: tuple[tuple[str, float], ...] = ()
    standard_dose: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    source: str = ""
    path: str = ""

    def pk_at_weight(self, weight_kg: float) -> tuple[float, float, float, float]:
        """CL, V1, Q, V2 (l/h, l) scaled allometrically to ``weight_kg``."""
        w = weight_kg / self.weight_ref_kg
        fc, fv = w**self.cl_weight_exponent, w**self.v_weight_exponent
        return self.cl_l_h * fc, self.v1_l * fv, self.q_l_h * fc, self.v2_l * fv


# ------------------------------------------------------------------------------------------------
def load_drug(name_or_path: str | Path) -> Drug:
    """Load a shipped drug by name (``"tocilizumab"``) or a drug file by path.

    >>> load_drug("siltuximab").target_class
    'cytokine'
    """
    return parse_drug(read_toml(resolve(name_or_path, "drugs")))


def _q(src: TomlSource, where: tuple, entry: Mapping[str, Any], key: str, dims: Dims, *, required: bool = True,
       positive: bool = True) -> float | None:
    if key not in entry:
        if required:
            raise src.error(where, key, "missing")
        return None
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise src.error(where, key, f"must be a number with its unit, got {value!r}")
    try:
        q = parse_quantity(value)
        if q.dims == DIMENSIONLESS and dims != DIMENSIONLESS:
            raise UnitError(f"missing unit in {value!r}")
        out = convert(q, dims, what=f"'{value}'")
    except UnitError as exc:
        raise src.error(where, key, str(exc)) from None
    if not math.isfinite(out) or (positive and out <= 0) or out < 0:
        raise src.error(where, key, f"must be {'positive' if positive else '>= 0'} and finite, got {value!r}")
    return out


def parse_drug(src: TomlSource) -> Drug:
    data = src.data
    check_keys(src, (), data, ("drug", "pk", "targets", "effects", "dosing"))
    head = data.get("drug")
    if not isinstance(head, dict):
        raise src.error((), "drug", "missing: the file needs a [drug] table")
    check_keys(src, ("drug",), head, ("id", "name", "target_class", "mw", "valency", "blocks", "description",
                                       "source", "note"))
    did = head.get("id")
    if not isinstance(did, str) or not ID_PATTERN.match(did) or not did[0].isalpha() or len(did) > 32:
        raise src.error(("drug",), "id", f"missing or invalid ({did!r}): a short prefix of ASCII letters, digits and _, "
                                         "starting with a letter")
    for key in ("name", "description", "source", "valency"):
        if key in head and not isinstance(head[key], str):
            raise src.error(("drug",), key, f"must be a string, got {type(head[key]).__name__}")
    name = str(head.get("name", did))
    tclass = head.get("target_class")
    if tclass not in TARGET_CLASSES:
        raise src.error(("drug",), "target_class",
                        f"must be one of {', '.join(TARGET_CLASSES)}{suggest(str(tclass), TARGET_CLASSES)}")
    blocks = str(head.get("blocks", "il6r"))
    if blocks not in ("il6r", "gp130"):
        raise src.error(("drug",), "blocks", "must be 'il6r' (site I) or 'gp130' (site III)")

    if tclass == "production":
        effects = []
        raw = data.get("effects", [])
        if not isinstance(raw, list) or not raw:
            raise src.error((), "effects", "missing: a production drug needs [[effects]] with parameter and factor")
        for i, eff in enumerate(raw):
            where = ("effects", i)
            if not isinstance(eff, dict):
                raise src.error(where, None, "must be a table")
            check_keys(src, where, eff, ("parameter", "factor", "source", "note"))
            pid = eff.get("parameter")
            factor = eff.get("factor")
            if not isinstance(pid, str):
                raise src.error(where, "parameter", "missing: the model parameter the drug scales")
            if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 <= factor <= 10:
                raise src.error(where, "factor", "must be a number between 0 and 10")
            effects.append((pid, float(factor)))
        return Drug(did, name, tclass, effects=tuple(effects), standard_dose=_dosing(src, data),
                    description=str(head.get("description", "")), source=str(head.get("source", "")), path=src.path)

    mw = _q(src, ("drug",), head, "mw", MOLAR_MASS)
    pk = data.get("pk")
    if not isinstance(pk, dict):
        raise src.error((), "pk", "missing: the file needs a [pk] table (cl, v1, q, v2)")
    check_keys(src, ("pk",), pk, ("cl", "v1", "q", "v2", "ka", "f_sc", "weight_ref", "cl_weight_exponent",
                                   "v_weight_exponent", "source", "note"))
    f_sc = pk.get("f_sc")
    if f_sc is not None and (isinstance(f_sc, bool) or not isinstance(f_sc, (int, float)) or not 0 < f_sc <= 1):
        raise src.error(("pk",), "f_sc", "must be a fraction in (0, 1]")
    weight_ref = _q(src, ("pk",), pk, "weight_ref", MASS, required=False)
    if weight_ref is not None and not 1e3 <= weight_ref <= 500e3:  # grams
        raise src.error(("pk",), "weight_ref", f"must be a body weight between 1 and 500 kg, got {pk['weight_ref']!r}")
    exponents = {}
    for key in ("cl_weight_exponent", "v_weight_exponent"):
        e = pk.get(key, 0.0)
        if isinstance(e, bool) or not isinstance(e, (int, float)) or not math.isfinite(e) or abs(e) > 3:
            raise src.error(("pk",), key, f"must be a number between -3 and 3 (allometric exponents are near 0.75 "
                                          f"and 1), got {e!r}")
        exponents[key] = float(e)

    targets = []
    raw_targets = data.get("targets", [])
    if not isinstance(raw_targets, list) or not raw_targets:
        raise src.error((), "targets", "missing: a binder needs at least one [[targets]] table")
    for i, t in enumerate(raw_targets):
        where = ("targets", i)
        if not isinstance(t, dict):
            raise src.error(where, None, "must be a table")
        check_keys(src, where, t, ("kind", "kd", "kon", "koff", "kint", "source", "note"))
        kind = t.get("kind")
        if not isinstance(kind, str) or not kind:
            raise src.error(where, "kind", "missing: the species kind bound (e.g. il6, mil6r, sil6r, il6__sil6r)")
        kon = _q(src, where, t, "kon", _KON)
        if "kd" in t and "koff" in t:
            raise src.error(where, "kd", "give kd or koff, not both")
        if "kd" in t:
            koff = kon * _q(src, where, t, "kd", CONCENTRATION)  # type: ignore[operator]
        elif "koff" in t:
            koff = _q(src, where, t, "koff", _RATE)
        else:
            raise src.error(where, None, "missing: give kd (or koff) with kon")
        kint = _q(src, where, t, "kint", _RATE, required=False, positive=False)
        targets.append(DrugTarget(kind, kon, koff, kint, str(t.get("source", ""))))  # type: ignore[arg-type]
    return Drug(
        did, name, tclass, mw, blocks, tuple(targets),
        cl_l_h=_q(src, ("pk",), pk, "cl", _CLEARANCE, positive=False),  # type: ignore[arg-type]
        v1_l=_q(src, ("pk",), pk, "v1", VOLUME),  # type: ignore[arg-type]
        q_l_h=_q(src, ("pk",), pk, "q", _CLEARANCE, positive=False),  # type: ignore[arg-type]
        v2_l=_q(src, ("pk",), pk, "v2", VOLUME),  # type: ignore[arg-type]
        ka_per_h=_q(src, ("pk",), pk, "ka", _RATE, required=False),
        f_sc=None if f_sc is None else float(f_sc),
        weight_ref_kg=DEFAULT_WEIGHT_KG if weight_ref is None else weight_ref * 1e-3,
        cl_weight_exponent=exponents["cl_weight_exponent"],
        v_weight_exponent=exponents["v_weight_exponent"],
        standard_dose=_dosing(src, data),
        description=str(head.get("description", "")),
        source=str(head.get("source", "")),
        path=src.path,
    )


def _dosing(src: TomlSource, data: Mapping[str, Any]) -> dict[str, Any]:
    raw = data.get("dosing", {})
    if not isinstance(raw, dict):
        raise src.error((), "dosing", "must be a table")
    check_keys(src, ("dosing",), raw, ("dose", "route", "infusion", "every", "count", "source", "note"))
    from .units import parse_time

    where = ("dosing",)
    if "dose" in raw:
        if isinstance(raw["dose"], bool) or not isinstance(raw["dose"], (str, int, float)):
            raise src.error(where, "dose", f"must be a dose with its unit such as \"8 mg/kg\", got {raw['dose']!r}")
        try:
            parse_dose(raw["dose"], 1.0, DEFAULT_WEIGHT_KG)  # checks unit and range; the real mw applies later
        except UnitError as exc:
            raise src.error(where, "dose", str(exc)) from None
    if "route" in raw and raw["route"] not in ("iv", "sc", "oral"):
        raise src.error(where, "route", f"must be 'iv', 'sc' or 'oral', got {raw['route']!r}")
    for key, unit in (("every", "d"), ("infusion", "h")):
        if key in raw:
            try:
                if not parse_time(raw[key], unit) > 0:
                    raise UnitError(f"must be positive, got {raw[key]!r}")
            except UnitError as exc:
                raise src.error(where, key, str(exc)) from None
    if "count" in raw:
        c = raw["count"]
        if isinstance(c, bool) or not isinstance(c, int) or not 1 <= c <= MAX_DOSES:
            raise src.error(where, "count", f"must be a whole number from 1 to {MAX_DOSES}, got {c!r}")
    return dict(raw)


# ------------------------------------------------------------------------------------------------
def _components(kind: str) -> list[str]:
    return kind.split("__") if kind else []


def _on_membrane(s: Species) -> bool:
    """A complex on a cell (circulating leukocytes sit in blood): not part of a serum assay."""
    return any(c in MEMBRANE_COMPONENTS for c in _components(s.kind))


def _blood(net: Network) -> str:
    ids = [c.id for c in net.compartments]
    if "blood" in ids:
        return "blood"
    raise UnknownNameError(f"model '{net.name}' has no compartment 'blood' for the drug's serum concentration")


def _exchange_expr(net: Network, tissue: str, blood: str) -> tuple[RateExpr, RateExpr] | None:
    """The protein exchange rate between blood and a tissue: that of sIL-6R (a ~50 kDa protein)."""
    by_id = {s.id: s for s in net.species}
    for preferred in ("sil6r", "sgp130", "il6__sil6r"):
        for r in net.reactions:
            if r.reverse is None or len(r.reactants) != 1 or len(r.products) != 1:
                continue
            a, b = by_id[r.reactants[0][0]], by_id[r.products[0][0]]
            if a.kind == b.kind == preferred and a.compartment == blood and b.compartment == tissue:
                return r.forward, r.reverse
    return None


def add_drug(network: Network, drug: Drug, *, weight_kg: float = DEFAULT_WEIGHT_KG) -> Network:
    """Return ``network`` with ``drug`` added (PK compartments, binding, fates, observables).

    A ``production`` drug (a glucocorticoid) adds nothing here: it acts through its protocol.
    """
    if drug.target_class == "production":
        for pid, _ in drug.effects:
            network.get_parameter(pid)
        return network
    if drug.id in network.species_ids or f"{drug.id}_central" in {c.id for c in network.compartments}:
        raise ModelFileError(f"drug '{drug.id}' is already part of model '{network.name}'")
    if not (math.isfinite(weight_kg) and 1.0 <= weight_kg <= 500.0):
        raise ProtocolError(f"body weight must be between 1 and 500 kg, got {weight_kg:g} kg")
    blood = _blood(network)
    d = drug.id
    cl, v1, q, v2 = drug.pk_at_weight(weight_kg)
    comps = [Compartment(f"{d}_central", v1, f"{drug.name} central volume (V1), {drug.path}"),
             Compartment(f"{d}_peripheral", v2, f"{drug.name} peripheral volume (V2)")]
    src = f"{drug.name} PK ({Path(drug.path).name})"
    params = [
        Parameter(f"{d}_k10", cl / v1, "1/h", f"{src}: CL/V1"),
        Parameter(f"{d}_k12", q / v1, "1/h", f"{src}: Q/V1 (both directions in V1: amount flux Q*(C1-C2))"),
        Parameter(f"{d}_weight_kg", weight_kg, "1", "body weight used to scale PK and mg/kg doses"),
    ]
    mw = drug.mw_g_per_nmol
    species = [
        Species(d, f"{d}_central", 0.0, mw, kind=d, name=f"free {drug.name}, serum"),
        Species(f"{d}_p", f"{d}_peripheral", 0.0, mw, kind=d, name=f"free {drug.name}, peripheral"),
        Species(f"{d}_cleared", f"{d}_central", 0.0, mw, kind=f"{d}_cleared",
                name=f"{drug.name} eliminated (amount / V1), for mass balance"),
    ]
    reactions = [
        Reaction(f"{d}_distribution", ((d, 1.0),), ((f"{d}_p", 1.0),), RateExpr.of(f"{d}_k12"),
                 RateExpr.of(f"{d}_k12"), compartment=f"{d}_central"),
        Reaction(f"{d}_elimination", ((d, 1.0),), ((f"{d}_cleared", 1.0),), RateExpr.of(f"{d}_k10"),
                 compartment=f"{d}_central"),
    ]
    if drug.ka_per_h is not None:
        comps.append(Compartment(f"{d}_depot", 1.0, "nominal 1 l SC depot (only amounts matter)"))
        species.append(Species(f"{d}_depot", f"{d}_depot", 0.0, mw, kind=f"{d}_depot", name=f"{drug.name}, SC depot"))
        params.append(Parameter(f"{d}_ka", drug.ka_per_h, "1/h", f"{src}: SC absorption rate"))
        reactions.append(Reaction(f"{d}_absorption", ((f"{d}_depot", 1.0),), ((d, 1.0),), RateExpr.of(f"{d}_ka"),
                                  compartment=f"{d}_depot"))

    # partition of the drug into each tissue's interstitium: parameter abc_<compartment>, else 1
    def partition(comp: str) -> RateExpr:
        pid = f"abc_{comp}"
        return RateExpr.of(pid) if comp != blood and pid in network.parameter_ids else RateExpr()

    by_kind: dict[str, list[Species]] = {}
    for s in network.species:
        by_kind.setdefault(s.kind, []).append(s)
    new_species: dict[str, Species] = {}
    target_of: dict[str, DrugTarget] = {}
    for t_i, target in enumerate(drug.targets):
        matches = by_kind.get(target.kind, [])
        if not matches:
            kinds = sorted(k for k in by_kind if k)
            raise UnknownNameError(
                f"drug '{drug.name}': target kind '{target.kind}' is not in model '{network.name}'"
                f"{suggest(target.kind, kinds)}"
            )
        params += [Parameter(f"{d}_kon_{t_i}", target.kon, "1/(nM*h)", f"{src}: kon for {target.kind}; {target.source}"),
                   Parameter(f"{d}_koff_{t_i}", target.koff, "1/h", f"{src}: koff for {target.kind}; {target.source}")]
        for x in matches:
            cx = Species(f"{d}__{x.id}", x.compartment, 0.0, None, kind=f"{d}__{x.kind}",
                         name=f"{drug.name} bound to {x.id}")
            new_species[cx.id] = cx
            target_of[cx.id] = target
            reactions.append(Reaction(
                f"{d}_binds_{x.id}", ((d, 1.0), (x.id, 1.0)), ((cx.id, 1.0),),
                RateExpr.of(f"{d}_kon_{t_i}").times(partition(x.compartment)), RateExpr.of(f"{d}_koff_{t_i}"),
                compartment=x.compartment,
            ))

    # site-III cytokine binders: drug·IL-6 still binds IL-6R, mirroring the model's own reactions
    if drug.target_class == "cytokine" and drug.blocks == "gp130":
        for r in network.reactions:
            reactant_ids = [s for s, _ in r.reactants]
            product_ids = [s for s, _ in r.products]
            bound = [s for s in reactant_ids if f"{d}__{s}" in new_species and network.get_species(s).kind == "il6"]
            if len(bound) != 1 or len(product_ids) != 1 or f"{d}__{product_ids[0]}" not in new_species:
                continue
            reactants = tuple((f"{d}__{s}" if s == bound[0] else s, c) for s, c in r.reactants)
            reactions.append(Reaction(f"{d}_mirror_{r.id}", reactants, ((f"{d}__{product_ids[0]}", 1.0),),
                                      r.forward, r.reverse, compartment=r.compartment))

    # a drug-bound target keeps the conversions the drug does not block: shedding of drug-bound
    # membrane IL-6R gives drug-bound sIL-6R (ADAM10/17 cut the stalk, away from the binding site)
    for r in network.reactions:
        if r.reverse is not None or len(r.reactants) != 1 or len(r.products) != 1:
            continue
        (a, _), (b, _) = r.reactants[0], r.products[0]
        if f"{d}__{a}" in new_species and f"{d}__{b}" in new_species and \
                network.get_species(a).kind != network.get_species(b).kind:
            reactions.append(Reaction(f"{d}_mirror_{r.id}", ((f"{d}__{a}", 1.0),), ((f"{d}__{b}", 1.0),), r.forward,
                                      compartment=r.compartment, orders=((f"{d}__{a}", 1.0),)))

    # fates of the complexes
    for cid, cx in new_species.items():
        target = target_of[cid]
        if _on_membrane(cx):
            if target.kint is None:
                raise ModelFileError(f"{drug.path}: [[targets]] kind '{target.kind}' binds membrane species "
                                     f"({cid}); give kint, the internalisation rate of the complex")
            pid = f"{d}_kint_{target.kind}"
            if pid not in {p.id for p in params}:
                params.append(Parameter(pid, target.kint, "1/h", f"{src}: internalisation of drug-bound {target.kind}"))
            reactions.append(Reaction(f"{d}_internalise_{cid}", ((cid, 1.0),), ((f"{d}_cleared", 1.0),),
                                      RateExpr.of(pid), compartment=cx.compartment))
        elif cx.compartment == blood:
            reactions.append(Reaction(f"{d}_eliminate_{cid}", ((cid, 1.0),), ((f"{d}_cleared", 1.0),),
                                      RateExpr.of(f"{d}_k10"), compartment=blood))
        else:
            base = cid[len(d) + 2:]
            kind = network.get_species(base).kind
            partner = next((s for s in network.species if s.kind == kind and s.compartment == blood), None)
            exchange = _exchange_expr(network, cx.compartment, blood)
            if partner is None or exchange is None or f"{d}__{partner.id}" not in new_species:
                raise ModelFileError(f"drug '{drug.name}': no way back to blood for {cid} (no blood {kind} or no "
                                     f"exchange reaction for proteins between blood and {cx.compartment})")
            reactions.append(Reaction(f"{d}_exchange_{cid}", ((f"{d}__{partner.id}", 1.0),), ((cid, 1.0),),
                                      exchange[0], exchange[1], compartment=blood))

    net = network.extended(compartments=comps, species=species + list(new_species.values()),
                           parameters=params, reactions=reactions, name=network.name)
    added = list(new_species.values())
    drug_obs = _drug_observables(net, drug, added, blood)
    present = {o.id for o in net.observables}   # a second drug updates the all-drug totals and occupancies
    return net.extended(replace_observables=_observables(net, drug, added, blood)
                        + [o for o in drug_obs if o.id in present],
                        observables=[o for o in drug_obs if o.id not in present])


def _observables(net: Network, drug: Drug, added: Sequence[Species], blood: str) -> list[Observable]:
    """Totals that count a component (``counts``) also count the drug complexes holding it."""
    out = []
    for obs in net.observables:
        if not obs.counts:
            continue
        comps = {net.get_species(s).compartment for s, _ in obs.terms}
        extra = [(s.id, 1.0) for s in added
                 if s.compartment in comps and obs.counts in _components(s.kind) and s.id not in dict(obs.terms)
                 and not _on_membrane(s)]
        if extra:
            out.append(Observable(obs.id, obs.terms + tuple(extra), obs.factor, obs.unit, obs.description,
                                  obs.denominator, obs.counts))
    return out


def _drug_observables(net: Network, drug: Drug, added: Sequence[Species], blood: str) -> list[Observable]:
    d = drug.id
    mw = drug.mw_g_per_nmol or 0.0
    serum = [(d, 1.0)] + [(s.id, 1.0) for s in added if s.compartment == blood and not _on_membrane(s)]
    obs = [Observable(f"{d}_total_ug_ml", tuple(serum), mw * 1e3, "ug/ml",
                      f"serum {drug.name}, free plus bound (free drug and its complexes in blood)")]
    existing = {o.id: o for o in net.observables}
    total = existing.get("drug_total_ug_ml")
    terms = tuple((sid, mw * 1e3) for sid, _ in serum)
    obs.append(Observable("drug_total_ug_ml", (total.terms if total else ()) + terms, 1.0, "ug/ml",
                          "serum drug of every drug in the run, free plus bound (µg/ml, summed by mass)"))

    # every drug added so far has a <id>_central compartment; its complexes' kinds start with <id>
    drug_ids = {c.id[: -len("_central")] for c in net.compartments if c.id.endswith("_central")}

    def occupancy(oid: str, component: str, compartments: set[str] | None, desc: str) -> Observable:
        every = [s for s in net.species if component in _components(s.kind)
                 and (compartments is None or s.compartment in compartments)]
        drug_bound = [s for s in every if _components(s.kind)[0] in drug_ids]
        return Observable(oid, tuple((s.id, 1.0) for s in drug_bound), 1.0, "1", desc,
                          denominator=tuple((s.id, 1.0) for s in every))

    obs.append(occupancy("mil6r_occupancy", "mil6r", None,
                         "fraction of membrane IL-6R (all cells, all forms) held by a drug"))
    obs.append(occupancy("sil6r_occupancy", "sil6r", {blood},
                         "fraction of serum sIL-6R (all forms) held in a drug complex"))
    return obs



# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dose:
    """A dosing regimen in user terms; amounts resolve against a drug and a body weight."""

    drug: str
    amount: str
    route: str = "iv"
    at_h: float = 0.0
    every_h: float | None = None
    count: int = 1
    infusion_h: float | None = None


def parse_dose(text: str | float, mw_g_per_nmol: float | None, weight_kg: float) -> float:
    """A dose (``"8 mg/kg"``, ``"640 mg"``, ``"4.3 nmol"``) as nmol; per-weight doses use ``weight_kg``.

    >>> mw = 148e3 * 1e-9  # 148 kDa in g/nmol
    >>> abs(parse_dose("8 mg/kg", mw, 80.0) - parse_dose("640 mg", mw, 70.0)) < 1e-9
    True
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise UnitError(f"dose {text!r} is not a number with a unit")
    s = str(text).strip()
    per = re.fullmatch(r"(.+?)\s*/\s*(kg|g)", s)
    body_mass_g = 1.0
    if per:
        s = per.group(1)
        body_mass_g = weight_kg * 1e3 / (1e3 if per.group(2) == "kg" else 1.0)
    try:
        q = parse_quantity(s)
    except UnitError as exc:
        raise UnitError(f"dose '{text}': {exc}") from None
    if q.dims == DIMENSIONLESS:
        raise UnitError(f"dose '{text}' has no unit; write e.g. '8 mg/kg' or '400 mg'")
    if q.dims not in (MASS, AMOUNT):
        raise UnitError(f"dose '{text}' must be a mass (mg), a mass per body weight (mg/kg) or an amount (nmol)")
    if not math.isfinite(q.value) or q.value < 0:
        raise UnitError(f"dose '{text}' must be a finite amount >= 0")
    if q.dims == MASS and q.value * body_mass_g > MAX_DOSE_G:
        raise UnitError(f"dose '{text}' is {q.value * body_mass_g:.3g} g of drug; doses above {MAX_DOSE_G:g} g are "
                        "refused as typos (check the unit: mg, mg/kg)")
    return convert(Quantity(q.value * body_mass_g, q.dims), AMOUNT, mw=mw_g_per_nmol, what=f"dose '{text}'")


def dose_protocol(network: Network, drug: Drug, dose: Dose, *, weight_kg: float = DEFAULT_WEIGHT_KG) -> Protocol:
    """Events for ``dose`` of ``drug`` on a network that already holds the drug (:func:`add_drug`).

    IV bolus adds amount/V1 to the serum concentration; an IV infusion feeds it at a constant rate
    over ``infusion_h``; SC puts ``f_sc`` x amount into the depot. A production drug (a
    glucocorticoid) scales its parameters from the first dose to one interval after the last.
    """
    if dose.count < 1:
        raise ProtocolError(f"--count must be at least 1, got {dose.count}")
    if dose.count > MAX_DOSES:
        raise ProtocolError(f"--count {dose.count}: at most {MAX_DOSES} doses in one regimen")
    if dose.count > 1 and not dose.every_h:
        raise ProtocolError("several doses need an interval (--every)")
    times = [dose.at_h + i * (dose.every_h or 0.0) for i in range(dose.count)]
    events: list = []
    if drug.target_class == "production":
        end = times[-1] + (dose.every_h or 24.0)
        for pid, factor in drug.effects:
            network.get_parameter(pid)
            if factor == 0:
                raise ProtocolError(f"{drug.name}: a factor of 0 cannot be undone at the end of treatment")
            events += [ScaleParameter(times[0], pid, factor, label=drug.id),
                       ScaleParameter(end, pid, 1.0 / factor, label=drug.id)]
        return Protocol(tuple(events))
    nmol = parse_dose(dose.amount, drug.mw_g_per_nmol, weight_kg)
    v1 = network.get_compartment(f"{drug.id}_central").volume_l
    route = dose.route.lower()
    if route not in ("iv", "sc"):
        raise ProtocolError(f"route '{dose.route}' for {drug.name}: use 'iv' or 'sc'")
    for t in times:
        if route == "sc":
            if drug.ka_per_h is None or drug.f_sc is None:
                raise ProtocolError(f"{drug.name} has no SC route in its drug file (needs ka and f_sc); use --route iv")
            events.append(AddConcentration(t, f"{drug.id}_depot", drug.f_sc * nmol / 1.0, label=drug.id))
        elif dose.infusion_h:
            events.append(Infusion(t, t + dose.infusion_h, drug.id, nmol / v1 / dose.infusion_h, label=drug.id))
        else:
            events.append(AddConcentration(t, drug.id, nmol / v1, label=drug.id))
    return Protocol(tuple(events))


def standard_dose(drug: Drug, at_h: float = 0.0) -> Dose:
    """The regimen in the drug file's [dosing] table, starting at ``at_h``."""
    from .units import parse_time

    raw = drug.standard_dose
    if "dose" not in raw:
        raise ModelFileError(f"{drug.path}: [dosing] dose: missing (no standard regimen to use)")
    every = parse_time(raw["every"], "d") if "every" in raw else None
    infusion = parse_time(raw["infusion"], "h") if "infusion" in raw else None
    route = str(raw.get("route", "iv"))
    if route == "oral":
        route = "iv"
    return Dose(drug.id, str(raw["dose"]), route, at_h, every, int(raw.get("count", 1)), infusion)

