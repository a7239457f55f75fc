"""The reaction network: frozen, validated, plain data in core units.

A :class:`Network` holds compartments, species, parameters, reactions and observables. It does no
file I/O and knows nothing of numba; :func:`il6sim.compile_network` lowers it to arrays.

Mass-action convention: a reaction's forward rate is ``v = k · Π [X]^order`` with **no** ``1/n!``
factor (the SBML and COPASI convention). ``k`` is the product of the reaction's rate expression,
``v`` is a concentration per hour in the reaction's compartment, and a species ``S`` in compartment
``c`` changes by ``stoich(S) · v · V_reaction / V_c``. A reaction whose ``compartment`` is ``None``
has its rate in amount per hour (nmol/h): then ``d[S]/dt = stoich(S) · v / V_c`` (the SBML
kinetic-law convention; the SBML importer uses it).

>>> net = Network(
...     name="decay",
...     compartments=(Compartment("c", 1.0),),
...     species=(Species("a", "c", 1.0),),
...     parameters=(Parameter("k", 0.5, "1/h"),),
...     reactions=(Reaction("r1", reactants=(("a", 1.0),), products=(), forward=RateExpr.of("k"),
...                         compartment="c"),),
... )
>>> net.species_ids
('a',)
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from .errors import NetworkError, UnknownNameError, suggest

__all__ = [
    "Compartment",
    "Genotype",
    "Network",
    "Observable",
    "Parameter",
    "RateExpr",
    "Reaction",
    "Species",
]

ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Compartment:
    """A well-mixed volume (litres)."""

    id: str
    volume_l: float
    source: str = ""


@dataclass(frozen=True)
class Species:
    """A chemical species; ``initial_nM`` in its compartment, ``mw_g_per_nmol`` if known."""

    id: str
    compartment: str
    initial_nM: float
    mw_g_per_nmol: float | None = None
    boundary: bool = False
    kind: str = ""
    name: str = ""
    source: str = ""


@dataclass(frozen=True)
class Parameter:
    """A named constant in core units; ``unit`` is the core unit it is stored in."""

    id: str
    value: float
    unit: str = "1"
    source: str = ""


@dataclass(frozen=True)
class RateExpr:
    """A rate constant as ``factor · Π parameter^exponent``.

    >>> RateExpr.of("kon", "kd").terms
    (('kon', 1.0), ('kd', 1.0))
    """

    factor: float = 1.0
    terms: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, *names: str, factor: float = 1.0) -> RateExpr:
        return cls(factor, tuple((n, 1.0) for n in names))

    def times(self, other: RateExpr) -> RateExpr:
        return RateExpr(self.factor * other.factor, self.terms + other.terms)

    def evaluate(self, values: Mapping[str, float]) -> float:
        out = self.factor
        for name, exponent in self.terms:
            out *= values[name] ** exponent
        return out

    def __str__(self) -> str:
        parts = [] if self.factor == 1.0 and self.terms else [f"{self.factor:g}"]
        for name, exponent in self.terms:
            parts.append(name if exponent == 1 else f"{name}^{exponent:g}")
        return " * ".join(parts)


@dataclass(frozen=True)
class Reaction:
    """An elementary reaction, irreversible unless ``reverse`` is given.

    ``orders``/``reverse_orders`` override the kinetic orders of reactants/products (defaults:
    their stoichiometries). ``compartment`` is where ``v`` is a concentration rate; ``None`` means
    ``v`` is in nmol/h.
    """

    id: str
    reactants: tuple[tuple[str, float], ...]
    products: tuple[tuple[str, float], ...]
    forward: RateExpr
    reverse: RateExpr | None = None
    compartment: str | None = None
    orders: tuple[tuple[str, float], ...] = ()
    reverse_orders: tuple[tuple[str, float], ...] = ()
    note: str = ""

    def forward_orders(self) -> dict[str, float]:
        """Kinetic orders of the forward rate by species."""
        return _orders(self.reactants, self.orders)

    def backward_orders(self) -> dict[str, float]:
        """Kinetic orders of the reverse rate by species."""
        return _orders(self.products, self.reverse_orders)

    def equation(self) -> str:
        def side(terms: tuple[tuple[str, float], ...]) -> str:
            return " + ".join(s if c == 1 else f"{c:g} {s}" for s, c in terms)

        arrow = "<=>" if self.reverse is not None else "->"
        return f"{side(self.reactants)} {arrow} {side(self.products)}".strip()


def _orders(side: tuple[tuple[str, float], ...], override: tuple[tuple[str, float], ...]) -> dict[str, float]:
    if override:
        return dict(override)
    out: dict[str, float] = {}
    for sid, coef in side:
        out[sid] = out.get(sid, 0.0) + coef
    return out


@dataclass(frozen=True)
class Observable:
    """A readout ``factor · Σ coef·[species]`` in ``unit`` (``factor`` converts from nM).

    With a ``denominator`` it is the ratio ``factor · Σ terms / Σ denominator`` (0 where the
    denominator is 0). ``counts`` names a component (e.g. ``"il6"``): species that transforms add
    to the observable's compartment and that hold this component are counted too (an assay's total).
    """

    id: str
    terms: tuple[tuple[str, float], ...]
    factor: float = 1.0
    unit: str = "nM"
    description: str = ""
    denominator: tuple[tuple[str, float], ...] = ()
    counts: str = ""


@dataclass(frozen=True)
class Genotype:
    """A genetic variant: per genotype, dimensionless factors that multiply parameters."""

    id: str
    reference: str
    scales: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]
    description: str = ""
    source: str = ""

    @property
    def genotypes(self) -> tuple[str, ...]:
        return tuple(g for g, _ in self.scales)

    def scale_for(self, genotype: str) -> dict[str, float]:
        for g, scale in self.scales:
            if g == genotype:
                return dict(scale)
        raise UnknownNameError(
            f"unknown genotype '{genotype}' for {self.id}{suggest(genotype, self.genotypes)} "
            f"(valid: {', '.join(self.genotypes)})"
        )


@dataclass(frozen=True)
class Network:
    """A validated reaction network in core units (nM, h, l). Immutable; transforms return copies."""

    name: str
    compartments: tuple[Compartment, ...]
    species: tuple[Species, ...]
    parameters: tuple[Parameter, ...] = ()
    reactions: tuple[Reaction, ...] = ()
    observables: tuple[Observable, ...] = ()
    genotypes: tuple[Genotype, ...] = ()
    description: str = ""
    source_file: str = ""
    metadata: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        _validate(self)

    # ----- lookups -------------------------------------------------------------------------
    @cached_property
    def species_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.species)

    @cached_property
    def parameter_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.parameters)

    @cached_property
    def observable_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.observables)

    @cached_property
    def _species_by_id(self) -> dict[str, Species]:
        return {s.id: s for s in self.species}

    @cached_property
    def _parameters_by_id(self) -> dict[str, Parameter]:
        return {p.id: p for p in self.parameters}

    @cached_property
    def _compartments_by_id(self) -> dict[str, Compartment]:
        return {c.id: c for c in self.compartments}

    def get_species(self, sid: str) -> Species:
        try:
            return self._species_by_id[sid]
        except KeyError:
            raise UnknownNameError(f"unknown species '{sid}'{suggest(sid, self.species_ids)}") from None

    def get_parameter(self, pid: str) -> Parameter:
        try:
            return self._parameters_by_id[pid]
        except KeyError:
            raise UnknownNameError(f"unknown parameter '{pid}'{suggest(pid, self.parameter_ids)}") from None

    def get_compartment(self, cid: str) -> Compartment:
        try:
            return self._compartments_by_id[cid]
        except KeyError:
            raise UnknownNameError(
                f"unknown compartment '{cid}'{suggest(cid, self._compartments_by_id)}"
            ) from None

    def get_genotype(self, gid: str) -> Genotype:
        for g in self.genotypes:
            if g.id == gid:
                return g
        names = [g.id for g in self.genotypes]
        raise UnknownNameError(
            f"unknown genetic variant '{gid}'{suggest(gid, names)}"
            + (f" (this model has: {', '.join(names)})" if names else " (this model defines none)")
        )

    def species_of_kind(self, kind: str) -> tuple[Species, ...]:
        """Species whose ``kind`` is ``kind`` (the molecular entity, whatever the compartment)."""
        return tuple(s for s in self.species if s.kind == kind)

    # ----- transforms ----------------------------------------------------------------------
    def with_parameters(self, values: Mapping[str, float | str]) -> Network:
        """Return a copy with parameter values replaced.

        A number is in the parameter's core unit; a string carries its unit (``"0.5 1/d"``) and must
        have the parameter's dimension (:func:`il6sim.units.convert_parameter`).

        >>> from il6sim.network import _tiny
        >>> _tiny().with_parameters({"k": 2.0}).get_parameter("k").value
        2.0
        >>> _tiny().with_parameters({"k": "1 1/min"}).get_parameter("k").value
        60.0
        """
        from .units import convert_parameter

        new: dict[str, float] = {}
        for pid, v in values.items():
            unit = self.get_parameter(pid).unit  # unknown names are refused, with suggestions
            new[pid] = convert_parameter(pid, unit, v) if isinstance(v, str) else float(v)
        params = tuple(replace(p, value=new[p.id]) if p.id in new else p for p in self.parameters)
        return replace(self, parameters=params)

    def with_initial(self, values: Mapping[str, float]) -> Network:
        """Return a copy with initial concentrations replaced (nM)."""
        for sid in values:
            self.get_species(sid)
        species = tuple(replace(s, initial_nM=float(values[s.id])) if s.id in values else s for s in self.species)
        return replace(self, species=species)

    def with_genotype(self, variant: str, genotype: str) -> Network:
        """Return a copy with the genotype's parameter factors applied."""
        scale = self.get_genotype(variant).scale_for(genotype)
        values = {pid: self.get_parameter(pid).value * f for pid, f in scale.items()}
        return replace(self.with_parameters(values),
                       metadata=self.metadata + ((f"genotype:{variant}", genotype),))

    def extended(
        self,
        *,
        compartments: Iterable[Compartment] = (),
        species: Iterable[Species] = (),
        parameters: Iterable[Parameter] = (),
        reactions: Iterable[Reaction] = (),
        observables: Iterable[Observable] = (),
        replace_observables: Iterable[Observable] = (),
        name: str | None = None,
    ) -> Network:
        """Return a copy with components added (and observables replaced by id)."""
        repl = {o.id: o for o in replace_observables}
        obs = tuple(repl.pop(o.id, o) for o in self.observables) + tuple(observables) + tuple(repl.values())
        return replace(
            self,
            name=name or self.name,
            compartments=self.compartments + tuple(compartments),
            species=self.species + tuple(species),
            parameters=self.parameters + tuple(parameters),
            reactions=self.reactions + tuple(reactions),
            observables=obs,
        )

    # ----- identity ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (used for hashing and provenance)."""
        return {
            "name": self.name,
            "compartments": [[c.id, c.volume_l] for c in self.compartments],
            "species": [[s.id, s.compartment, s.initial_nM, s.mw_g_per_nmol, s.boundary, s.kind]
                        for s in self.species],
            "parameters": [[p.id, p.value, p.unit] for p in self.parameters],
            "reactions": [
                [r.id, r.reactants, r.products, [r.forward.factor, r.forward.terms],
                 None if r.reverse is None else [r.reverse.factor, r.reverse.terms],
                 r.compartment, r.orders, r.reverse_orders]
                for r in self.reactions
            ],
            "observables": [[o.id, o.terms, o.factor, o.unit, o.denominator] for o in self.observables],
        }

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the network's content (structure and values), hex, first 16 characters."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=_json_default)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _json_default(obj: object) -> object:
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    raise TypeError(type(obj).__name__)


def _validate(net: Network) -> None:
    def check_ids(kind: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i in ids:
            if not isinstance(i, str) or not ID_PATTERN.match(i):
                raise NetworkError(f"{kind} id {i!r} is not a valid id (letters, digits, _; not starting with a digit)")
            if i in seen:
                raise NetworkError(f"duplicate {kind} id '{i}'")
            seen.add(i)

    check_ids("compartment", [c.id for c in net.compartments])
    check_ids("species", [s.id for s in net.species])
    check_ids("parameter", [p.id for p in net.parameters])
    check_ids("reaction", [r.id for r in net.reactions])
    check_ids("observable", [o.id for o in net.observables])
    comps = {c.id for c in net.compartments}
    for c in net.compartments:
        if not (math.isfinite(c.volume_l) and c.volume_l > 0):
            raise NetworkError(f"compartment '{c.id}': volume must be positive and finite, got {c.volume_l}")
    species = {s.id for s in net.species}
    for s in net.species:
        if s.compartment not in comps:
            raise NetworkError(f"species '{s.id}': unknown compartment '{s.compartment}'{suggest(s.compartment, comps)}")
        if math.isnan(s.initial_nM):
            raise NetworkError(f"species '{s.id}': initial value is NaN")
    params = {p.id for p in net.parameters}
    for r in net.reactions:
        for sid, coef in r.reactants + r.products:
            if sid not in species:
                raise NetworkError(f"reaction '{r.id}': unknown species '{sid}'{suggest(sid, species)}")
            if not math.isfinite(coef):
                raise NetworkError(f"reaction '{r.id}': stoichiometry of '{sid}' is not finite")
        for expr in (r.forward, r.reverse):
            if expr is None:
                continue
            for pid, _ in expr.terms:
                if pid not in params:
                    raise NetworkError(f"reaction '{r.id}': unknown parameter '{pid}'{suggest(pid, params)}")
        for sid, order in r.orders + r.reverse_orders:
            if sid not in species:
                raise NetworkError(f"reaction '{r.id}': order given for unknown species '{sid}'{suggest(sid, species)}")
            if not (math.isfinite(order) and order >= 0):
                raise NetworkError(f"reaction '{r.id}': order of '{sid}' must be a finite number >= 0")
        if r.compartment is not None and r.compartment not in comps:
            raise NetworkError(f"reaction '{r.id}': unknown compartment '{r.compartment}'{suggest(r.compartment, comps)}")
    for o in net.observables:
        for sid, _ in o.terms + o.denominator:
            if sid not in species:
                raise NetworkError(f"observable '{o.id}': unknown species '{sid}'{suggest(sid, species)}")
    for g in net.genotypes:
        for gname, scale in g.scales:
            for pid, f in scale:
                if pid not in params:
                    raise NetworkError(f"genotype {g.id}={gname}: unknown parameter '{pid}'{suggest(pid, params)}")
                if not (math.isfinite(f) and f >= 0):
                    raise NetworkError(f"genotype {g.id}={gname}: factor for '{pid}' must be finite and >= 0")


def _tiny() -> Network:
    """A one-species decay network for doctests."""
    return Network(
        name="decay",
        compartments=(Compartment("c", 1.0),),
        species=(Species("a", "c", 1.0),),
        parameters=(Parameter("k", 0.5, "1/h"),),
        reactions=(Reaction("r1", (("a", 1.0),), (), RateExpr.of("k"), compartment="c"),),
    )
