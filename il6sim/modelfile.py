"""The model-file reader: TOML → :class:`~il6sim.network.Network` (schema in ``models/README.md``).

Every value is converted to core units here, every reference checked, and every error names the
file, the line and the table/key. Rate expressions are parsed by a tiny grammar (names and numbers
joined by ``*`` and ``/``); nothing is evaluated as code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ModelFileError, NetworkError, UnitError, suggest
from .network import ID_PATTERN, Compartment, Genotype, Network, Observable, Parameter, RateExpr, Reaction, Species
from .tomlsource import TomlSource, check_keys, read_toml
from .units import (
    CONCENTRATION,
    DIMENSIONLESS,
    MOLAR_MASS,
    VOLUME,
    Dims,
    Quantity,
    convert,
    describe_dims,
    format_dims,
    parse_quantity,
    parse_unit,
    rate_constant_dims,
)

__all__ = ["parse_model", "read_model"]

_TOP_KEYS = ("model", "compartments", "species", "parameters", "reactions", "observables", "genotypes")
_MODEL_KEYS = ("name", "description", "version", "source", "notes")
_COMPARTMENT_KEYS = ("volume", "source", "name", "note")
_SPECIES_KEYS = ("compartment", "initial", "mw", "boundary", "kind", "name", "source", "note")
_PARAMETER_KEYS = ("value", "unit", "source", "mw", "name", "note")
_REACTION_KEYS = ("equation", "rate", "forward", "reverse", "kd", "id", "compartment", "orders",
                  "reverse_orders", "note", "source")
_OBSERVABLE_KEYS = ("terms", "unit", "mw", "scale", "description", "source", "counts", "denominator")
_ARROWS = ("<=>", "<->", "->", "=>")
MAX_STOICHIOMETRY = 1000.0


def read_model(path: str | Path) -> Network:
    """Read a model file into a :class:`Network`.

    >>> net = read_model("models/examples/binding.toml")
    >>> net.species_ids
    ('l', 'r', 'l__r')
    """
    return parse_model(read_toml(path))


def parse_model(src: TomlSource) -> Network:
    """Build a :class:`Network` from a parsed TOML source."""
    data = src.data
    check_keys(src, (), data, _TOP_KEYS)
    model = _table(src, data, "model", required=False)
    check_keys(src, ("model",), model, _MODEL_KEYS)
    name = _str(src, ("model",), model, "name", default=Path(src.path).stem)

    compartments = []
    where: tuple[str | int, ...]
    for cid, entry in _table(src, data, "compartments").items():
        where = ("compartments", cid)
        _check_id(src, where, cid, "compartment")
        entry = _entry(src, where, entry)
        check_keys(src, where, entry, _COMPARTMENT_KEYS)
        volume = _quantity(src, where, entry, "volume", VOLUME, positive=True)
        compartments.append(Compartment(cid, volume, _str(src, where, entry, "source", default="")))
    comp_ids = [c.id for c in compartments]

    species = []
    for sid, entry in _table(src, data, "species").items():
        where = ("species", sid)
        _check_id(src, where, sid, "species")
        entry = _entry(src, where, entry)
        check_keys(src, where, entry, _SPECIES_KEYS)
        comp = _str(src, where, entry, "compartment")
        if comp not in comp_ids:
            raise src.error(where, "compartment", f"unknown compartment '{comp}'{suggest(comp, comp_ids)}")
        mw = _mw(src, where, entry)
        initial = _quantity(src, where, entry, "initial", CONCENTRATION, mw=mw, nonnegative=True)
        boundary = entry.get("boundary", False)
        if not isinstance(boundary, bool):
            raise src.error(where, "boundary", "must be true or false")
        species.append(Species(
            sid, comp, initial, mw,
            boundary=boundary,
            kind=_str(src, where, entry, "kind", default=""),
            name=_str(src, where, entry, "name", default=""),
            source=_str(src, where, entry, "source", default=""),
        ))
    species_ids = [s.id for s in species]
    species_comp = {s.id: s.compartment for s in species}

    parameters = []
    param_dims: dict[str, Dims] = {}
    for pid, entry in _table(src, data, "parameters", required=False).items():
        where = ("parameters", pid)
        _check_id(src, where, pid, "parameter")
        entry = _entry(src, where, entry)
        check_keys(src, where, entry, _PARAMETER_KEYS)
        source = _str(src, where, entry, "source", default="")
        if not source.strip():
            raise src.error(where, "source", "missing: every parameter needs a source (a citation, or 'assumed: why')")
        mw = _mw(src, where, entry)
        q = _raw_quantity(src, where, entry, "value", unit_key="unit")
        if not math.isfinite(q.value):
            raise src.error(where, "value", f"must be finite, got {q.value}")
        if q.value < 0:
            raise src.error(where, "value", f"must not be negative, got {q.value:g}")
        dims = q.dims
        value = q.value
        if q.dims[3] != 0:  # a mass quantity: express per amount with the molecular weight
            amount_dims: Dims = (q.dims[0] + q.dims[3], q.dims[1], q.dims[2], 0, q.dims[4])
            try:
                value = convert(q, amount_dims, mw=mw, what=f"'{entry['value']}'")
            except UnitError as exc:
                raise src.error(where, "value", str(exc)) from None
            dims = amount_dims
        param_dims[pid] = dims
        parameters.append(Parameter(pid, value, format_dims(dims), source))

    reactions = []
    reaction_ids: set[str] = set()
    raw_reactions = data.get("reactions", [])
    if not isinstance(raw_reactions, list):
        raise src.error(("reactions",), None, "must be an array of tables: write each as [[reactions]]")
    for i, entry in enumerate(raw_reactions):
        where = ("reactions", i)
        entry = _entry(src, where, entry)
        check_keys(src, where, entry, _REACTION_KEYS)
        rid = _str(src, where, entry, "id", default=f"r{i + 1}")
        _check_id(src, where, rid, "reaction", key="id")
        if rid in reaction_ids:
            raise src.error(where, "id", f"duplicate reaction id '{rid}'")
        reaction_ids.add(rid)
        reactions.append(_parse_reaction(src, where, entry, rid, species_ids, species_comp, comp_ids, param_dims))

    observables = []
    for oid, entry in _table(src, data, "observables", required=False).items():
        where = ("observables", oid)
        _check_id(src, where, oid, "observable")
        entry = _entry(src, where, entry)
        check_keys(src, where, entry, _OBSERVABLE_KEYS)
        observables.append(_parse_observable(src, where, oid, entry, species_ids))

    genotypes = []
    for gid, entry in _table(src, data, "genotypes", required=False).items():
        genotypes.append(_parse_genotype(src, ("genotypes", gid), gid, _entry(src, ("genotypes", gid), entry),
                                         [p.id for p in parameters]))

    try:
        return Network(
            name=name,
            compartments=tuple(compartments),
            species=tuple(species),
            parameters=tuple(parameters),
            reactions=tuple(reactions),
            observables=tuple(observables),
            genotypes=tuple(genotypes),
            description=_str(src, ("model",), model, "description", default=""),
            source_file=src.path,
        )
    except NetworkError as exc:  # duplicates across tables and similar
        raise ModelFileError(f"{src.path}: {exc}") from None


# ----------------------------------------------------------------------------------------------
def _table(src: TomlSource, data: Mapping[str, Any], key: str, required: bool = True) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        if required:
            raise src.error((), key, f"missing: the file needs a [{key}] table")
        return {}
    if not isinstance(value, dict):
        raise src.error((), key, f"must be a table ([{key}.<id>] sections)")
    if required and not value:
        raise src.error((key,), None, "is empty")
    return value


def _entry(src: TomlSource, where: tuple[str | int, ...], entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise src.error(where, None, "must be a table of keys")
    return entry


def _check_id(src: TomlSource, where: tuple[str | int, ...], ident: str, kind: str, key: str | None = None) -> None:
    if not ID_PATTERN.match(ident):
        raise src.error(where, key, f"'{ident}' is not a valid {kind} id: use letters, digits and _, starting with a letter")


def _str(src: TomlSource, where: tuple[str | int, ...], entry: Mapping[str, Any], key: str,
         default: str | None = None) -> str:
    if key not in entry:
        if default is None:
            raise src.error(where, key, "missing")
        return default
    value = entry[key]
    if not isinstance(value, str):
        raise src.error(where, key, f"must be a string, got {type(value).__name__}")
    return value


def _raw_quantity(src: TomlSource, where: tuple[str | int, ...], entry: Mapping[str, Any], key: str,
                  unit_key: str | None = None) -> Quantity:
    if key not in entry:
        raise src.error(where, key, "missing")
    value = entry[key]
    unit = None
    if unit_key is not None and unit_key in entry:
        unit = entry[unit_key]
        if not isinstance(unit, str):
            raise src.error(where, unit_key, "must be a string such as \"1/h\"")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise src.error(where, key, f"must be a number with its unit, e.g. \"5 pg/ml\"; got {value!r}")
    try:
        return parse_quantity(value, unit)
    except UnitError as exc:
        raise src.error(where, key, str(exc)) from None


def _quantity(src: TomlSource, where: tuple[str | int, ...], entry: Mapping[str, Any], key: str, dims: Dims, *,
              mw: float | None = None, positive: bool = False, nonnegative: bool = False) -> float:
    q = _raw_quantity(src, where, entry, key)
    if q.dims == DIMENSIONLESS and dims != DIMENSIONLESS:
        if q.value == 0 and not positive:
            return 0.0
        raise src.error(where, key, f"missing unit: write e.g. \"{entry[key]} {format_dims(dims)}\"")
    try:
        value = convert(q, dims, mw=mw, what=f"'{entry[key]}'")
    except UnitError as exc:
        raise src.error(where, key, str(exc)) from None
    if not math.isfinite(value):
        raise src.error(where, key, f"must be finite, got {value}")
    if positive and not value > 0:
        raise src.error(where, key, f"must be positive, got {value:g}")
    if nonnegative and value < 0:
        raise src.error(where, key, f"must not be negative, got {value:g}")
    return value


def _mw(src: TomlSource, where: tuple[str | int, ...], entry: Mapping[str, Any]) -> float | None:
    if "mw" not in entry:
        return None
    return _quantity(src, where, entry, "mw", MOLAR_MASS, positive=True)


_TERM = re.compile(r"^\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*$")


def parse_equation(text: str) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float], ...], bool]:
    """Parse ``"2 a + b <=> c"`` into reactants, products and reversibility.

    >>> parse_equation("il6 + il6r <=> il6__il6r")
    ((('il6', 1.0), ('il6r', 1.0)), (('il6__il6r', 1.0),), True)
    >>> parse_equation("-> il6")
    ((), (('il6', 1.0),), False)
    """
    arrow = next((a for a in _ARROWS if a in text), None)
    if arrow is None:
        raise ValueError(f"equation '{text}' has no arrow; write 'a + b -> c' or 'a + b <=> c'")
    if text.count(arrow) != 1:
        raise ValueError(f"equation '{text}' has more than one arrow")
    left, right = text.split(arrow)
    return _side(left, text), _side(right, text), arrow in ("<=>", "<->")


def _side(text: str, whole: str) -> tuple[tuple[str, float], ...]:
    text = text.strip()
    if text in ("", "0", "∅", "Ø", "nothing"):
        return ()
    out: dict[str, float] = {}
    for term in text.split("+"):
        m = _TERM.match(term)
        if not m:
            raise ValueError(f"equation '{whole}': cannot read '{term.strip()}'; write '2 a' with a space, ids as letters/digits/_")
        coef = float(m.group(1)) if m.group(1) else 1.0
        if not (coef > 0 and coef <= MAX_STOICHIOMETRY):
            raise ValueError(f"equation '{whole}': coefficient of '{m.group(2)}' must be positive and at most "
                             f"{MAX_STOICHIOMETRY:g}")
        out[m.group(2)] = out.get(m.group(2), 0.0) + coef
        if out[m.group(2)] > MAX_STOICHIOMETRY:
            raise ValueError(f"equation '{whole}': '{m.group(2)}' appears more than {MAX_STOICHIOMETRY:g} times")
    return tuple(out.items())


_EXPR_TOKEN = re.compile(r"\s*(\*|/|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+|[A-Za-z_][A-Za-z0-9_]*)")


def parse_rate_expr(text: str, param_ids: Mapping[str, Any]) -> RateExpr:
    """Parse ``"kon * kd"`` or ``"2 * k1 / k2"`` into a :class:`RateExpr`.

    >>> parse_rate_expr("kon * kd", {"kon": 1, "kd": 1}).terms
    (('kon', 1.0), ('kd', 1.0))
    """
    tokens = []
    pos = 0
    while pos < len(text.rstrip()):
        m = _EXPR_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"rate expression '{text}': cannot read '{text[pos:].strip()}'; use names and numbers joined by * and /")
        tokens.append(m.group(1))
        pos = m.end()
    if not tokens:
        raise ValueError("rate expression is empty")
    factor = 1.0
    terms: list[tuple[str, float]] = []
    sign = 1.0
    expect_operand = True
    for tok in tokens:
        if tok in ("*", "/"):
            if expect_operand:
                raise ValueError(f"rate expression '{text}': '{tok}' where a name or number was expected")
            sign = 1.0 if tok == "*" else -1.0
            expect_operand = True
            continue
        if not expect_operand:
            raise ValueError(f"rate expression '{text}': missing '*' or '/' before '{tok}'")
        expect_operand = False
        if tok[0].isdigit() or tok[0] == ".":
            number = float(tok)
            if sign < 0 and number == 0:
                raise ValueError(f"rate expression '{text}': division by zero")
            factor = factor * number if sign > 0 else factor / number
            if not (math.isfinite(factor) and factor > 0):
                raise ValueError(f"rate expression '{text}': the numbers multiply to {factor:g}; "
                                 "give a positive finite factor (or put the value in a parameter)")
        else:
            if tok not in param_ids:
                raise KeyError(f"unknown parameter '{tok}'{suggest(tok, param_ids)}")
            terms.append((tok, sign))
    if expect_operand:
        raise ValueError(f"rate expression '{text}' ends with an operator")
    return RateExpr(factor, tuple(terms))


def _expr_dims(expr: RateExpr, param_dims: Mapping[str, Dims]) -> Dims:
    dims = [0.0] * 5
    for pid, exponent in expr.terms:
        for i, d in enumerate(param_dims[pid]):
            dims[i] += exponent * d
    return tuple(dims)  # type: ignore[return-value]


def _parse_orders(src: TomlSource, where: tuple[str | int, ...], entry: Mapping[str, Any], key: str,
                  species_ids: list[str]) -> tuple[tuple[str, float], ...]:
    if key not in entry:
        return ()
    raw = entry[key]
    if not isinstance(raw, dict):
        raise src.error(where, key, "must be a table like { il6 = 1 }")
    out = []
    for sid, order in raw.items():
        if sid not in species_ids:
            raise src.error(where, key, f"unknown species '{sid}'{suggest(sid, species_ids)}")
        if isinstance(order, bool) or not isinstance(order, (int, float)) or not math.isfinite(order) or order < 0:
            raise src.error(where, key, f"order of '{sid}' must be a number >= 0, got {order!r}")
        out.append((sid, float(order)))
    return tuple(out)


def _parse_reaction(src: TomlSource, where: tuple[str | int, ...], entry: Mapping[str, Any], rid: str,
                    species_ids: list[str], species_comp: Mapping[str, str], comp_ids: list[str],
                    param_dims: Mapping[str, Dims]) -> Reaction:
    equation = _str(src, where, entry, "equation")
    try:
        reactants, products, reversible = parse_equation(equation)
    except ValueError as exc:
        raise src.error(where, "equation", str(exc)) from None
    if not reactants and not products:
        raise src.error(where, "equation", f"'{equation}' has no species")
    for sid, _ in reactants + products:
        if sid not in species_ids:
            raise src.error(where, "equation", f"unknown species '{sid}'{suggest(sid, species_ids)}")

    def expr(key: str) -> RateExpr:
        raw = entry[key]
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raise src.error(where, key, "give the name of a parameter (numbers need units, so define them in [parameters])")
        if not isinstance(raw, str):
            raise src.error(where, key, "must be a string naming parameters, e.g. \"kon\" or \"kon * kd\"")
        try:
            return parse_rate_expr(raw, param_dims)
        except (ValueError, KeyError) as exc:
            raise src.error(where, key, str(exc.args[0])) from None

    if "rate" in entry and "forward" in entry:
        raise src.error(where, "rate", "give 'rate' or 'forward', not both")
    fkey = "rate" if "rate" in entry else "forward"
    if fkey not in entry:
        raise src.error(where, None, "missing rate: give 'rate' (or 'forward') naming a parameter")
    forward = expr(fkey)
    reverse = None
    if reversible:
        if "reverse" in entry and "kd" in entry:
            raise src.error(where, "kd", "give 'reverse' or 'kd', not both")
        if "reverse" in entry:
            reverse = expr("reverse")
        elif "kd" in entry:
            reverse = forward.times(expr("kd"))
        else:
            raise src.error(where, None, f"reversible equation '{equation}' needs 'reverse' or 'kd'")
    else:
        for key in ("reverse", "kd"):
            if key in entry:
                raise src.error(where, key, f"only for reversible equations ('<=>'); '{equation}' is irreversible")

    compartment = entry.get("compartment")
    if compartment is not None:
        if not isinstance(compartment, str) or compartment not in comp_ids:
            raise src.error(where, "compartment", f"unknown compartment '{compartment}'{suggest(str(compartment), comp_ids)}")
    else:
        compartment = species_comp[(reactants or products)[0][0]]

    orders = _parse_orders(src, where, entry, "orders", species_ids)
    reverse_orders = _parse_orders(src, where, entry, "reverse_orders", species_ids)
    if reverse_orders and not reversible:
        raise src.error(where, "reverse_orders", "only for reversible equations")
    reaction = Reaction(rid, reactants, products, forward, reverse, compartment, orders, reverse_orders,
                        note=str(entry.get("note", "")))
    fwd_key = fkey
    for expression, order_sum, key in (
        (forward, sum(reaction.forward_orders().values()), fwd_key),
        (reverse, sum(reaction.backward_orders().values()), "kd" if "kd" in entry else "reverse"),
    ):
        if expression is None:
            continue
        got = _expr_dims(expression, param_dims)
        want = rate_constant_dims(order_sum)
        if any(abs(a - b) > 1e-9 for a, b in zip(got, want)):
            raise src.error(
                where, key,
                f"'{entry[key]}' has dimension {describe_dims(got)} ({format_dims(got)}), but a rate constant "
                f"of total order {order_sum:g} needs {format_dims(want)}",
            )
    return reaction


def _coefficients(src: TomlSource, where: tuple[str | int, ...], entry: Mapping[str, Any], key: str,
                  species_ids: list[str]) -> tuple[tuple[str, float], ...]:
    """A ``{ species = coefficient }`` table, checked."""
    raw = entry.get(key)
    if not isinstance(raw, dict) or not raw:
        raise src.error(where, key, "missing: a table of species and coefficients, e.g. { il6 = 1 }")
    out = []
    for sid, coef in raw.items():
        if sid not in species_ids:
            raise src.error(where, key, f"unknown species '{sid}'{suggest(sid, species_ids)}")
        if isinstance(coef, bool) or not isinstance(coef, (int, float)) or not math.isfinite(coef):
            raise src.error(where, key, f"coefficient of '{sid}' must be a number")
        out.append((sid, float(coef)))
    return tuple(out)


def _parse_observable(src: TomlSource, where: tuple[str | int, ...], oid: str, entry: Mapping[str, Any],
                      species_ids: list[str]) -> Observable:
    terms = _coefficients(src, where, entry, "terms", species_ids)
    denominator = _coefficients(src, where, entry, "denominator", species_ids) if "denominator" in entry else ()
    counts = _str(src, where, entry, "counts", default="")
    unit = _str(src, where, entry, "unit", default="1" if denominator else "nM")
    mw = _mw(src, where, entry)
    if denominator:
        return Observable(oid, terms, 1.0, unit, _str(src, where, entry, "description", default=""),
                          denominator, counts)
    scale = Quantity(1.0, DIMENSIONLESS)
    if "scale" in entry:
        scale = _raw_quantity(src, where, entry, "scale")
        if not (math.isfinite(scale.value) and scale.value > 0):
            raise src.error(where, "scale", "must be positive and finite")
    try:
        unit_factor, unit_dims = parse_unit(unit)
        base = Quantity(scale.value, tuple(a + b for a, b in zip(CONCENTRATION, scale.dims)))  # type: ignore[arg-type]
        factor = convert(base, unit_dims, mw=mw, what="observable") / unit_factor
    except UnitError as exc:
        raise src.error(where, "unit", str(exc)) from None
    return Observable(oid, terms, factor, unit, _str(src, where, entry, "description", default=""),
                      counts=counts)


def _parse_genotype(src: TomlSource, where: tuple[str | int, ...], gid: str, entry: Mapping[str, Any],
                    param_ids: list[str]) -> Genotype:
    reference = _str(src, where, entry, "reference")
    scales: list[tuple[str, tuple[tuple[str, float], ...]]] = []
    for key, value in entry.items():
        if key in ("reference", "description", "source", "name", "note"):
            continue
        gwhere = where + (key,)
        if not isinstance(value, dict):
            raise src.error(where, key, "must be a table [genotypes.<variant>.<genotype>] with a 'scale' table")
        check_keys(src, gwhere, value, ("scale", "note", "source"))
        raw = value.get("scale", {})
        if not isinstance(raw, dict):
            raise src.error(gwhere, "scale", "must be a table of parameter = factor")
        scale = []
        for pid, f in raw.items():
            if pid not in param_ids:
                raise src.error(gwhere, "scale", f"unknown parameter '{pid}'{suggest(pid, param_ids)}")
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not math.isfinite(f) or f < 0:
                raise src.error(gwhere, "scale", f"factor for '{pid}' must be a number >= 0")
            scale.append((pid, float(f)))
        scales.append((key, tuple(scale)))
    names = [g for g, _ in scales]
    if reference not in names:
        scales.insert(0, (reference, ()))
    return Genotype(gid, reference, tuple(scales), _str(src, where, entry, "description", default=""),
                    _str(src, where, entry, "source", default=""))

