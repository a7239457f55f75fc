"""One ``[[factors]]`` table of a sweep file → a validated :class:`Factor` in core units.

A factor is one varied quantity: a parameter (a grid of values or a seeded sampler with its
settings), the body weight (a grid or a distribution), or a list of levels (drugs or dosing tables,
dose, route, timing, repeat and infusion settings, scenarios, genotypes given as a grid or drawn with
frequencies). This module holds the :class:`Factor` record, the factor kinds and samplers, and the
parsers that check one table and convert its values with their units; every problem is a one-line
:class:`~il6sim.errors.ModelFileError` naming file, table and key. :mod:`il6sim.sweeps.spec` reads
the whole file and calls :func:`parse_factor` for each table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Il6simError, ModelFileError, UnitError, suggest
from ..network import Network
from ..tomlsource import TomlSource, check_keys
from ..units import MASS, convert, parse_quantity

__all__ = ["DOSE_KINDS", "DRUG_KEYS", "LEVEL_KINDS", "QMC_SAMPLERS", "SAMPLERS", "Factor", "local_path",
           "parse_factor", "parse_weight_kg"]

SAMPLERS = ("lhs", "sobol", "halton", "uniform", "loguniform", "normal", "lognormal")
QMC_SAMPLERS = ("lhs", "sobol", "halton")
DOSE_KINDS = ("dose", "route", "at", "every", "count", "infusion")
LEVEL_KINDS = ("drug", *DOSE_KINDS, "scenario", "genotype", "calibration")
_KINDS = ("parameter", "weight", *LEVEL_KINDS)
_FACTOR_KEYS = ("parameter", "grid", "sampler", "low", "high", "scale", "mean", "sd", "median", "sigma", "name",
                "weight", *LEVEL_KINDS, "note", "source")
_DIST_KEYS = ("sampler", "low", "high", "scale", "mean", "sd", "median", "sigma")
DRUG_KEYS = ("drug", "dose", "route", "at", "every", "count", "infusion")


@dataclass(frozen=True)
class Factor:
    """One varied quantity: a grid of values, a sampler with its settings (core units), or levels.

    ``parameter`` is the column name: a parameter id, ``weight_kg``, ``drug``, ``dose``, ``route``,
    ``at``, ``every``, ``count``, ``infusion``, ``scenario`` or a genetic variant id. For level
    factors (``kind`` other than ``parameter``/``weight``) the design column holds the level index,
    ``levels`` the values and ``labels`` their names; ``probs`` makes the level drawn per row.
    """

    parameter: str
    grid: tuple[float, ...] = ()
    sampler: str | None = None
    low: float = math.nan
    high: float = math.nan
    log: bool = False
    mean: float = math.nan
    sd: float = math.nan
    kind: str = "parameter"
    levels: tuple[Any, ...] = ()
    labels: tuple[str, ...] = ()
    probs: tuple[float, ...] = ()

    @property
    def name(self) -> str:
        return self.parameter

    @property
    def is_level(self) -> bool:
        return self.kind in LEVEL_KINDS


def local_path(src: TomlSource, name: Any) -> Any:
    """A file named relative to the sweep file, if it exists there; else the name unchanged."""
    if isinstance(name, str) and src.path and not src.path.startswith("<"):
        try:
            if (Path(src.path).parent / name).is_file():
                return str(Path(src.path).parent / name)
        except (OSError, ValueError):  # a name too long or with a NUL byte is no file here
            pass
    return name


def parse_weight_kg(value: Any) -> float:
    """Body weight in kg from ``"80 kg"`` or a bare number of kg; 1-500 kg."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UnitError(f"body weight must be a mass like '80 kg', got {value!r}")
    q = parse_quantity(value)
    kg = q.value if q.dims == (0, 0, 0, 0, 0) else convert(q, MASS, what=f"body weight '{value}'") / 1e3
    if not (math.isfinite(kg) and 1.0 <= kg <= 500.0):
        raise UnitError(f"body weight must be between 1 and 500 kg, got {value!r}")
    return kg


def _level_label(kind: str, level: Any) -> str:
    if kind == "drug":
        if not level:
            return "none"
        parts = []
        for g in level:
            if "label" in g:
                return str(g["label"])
            parts.append(" ".join([Path(str(g["drug"])).stem] + [str(g[k]) for k in DRUG_KEYS[1:] if k in g]))
        return " + ".join(parts)
    if kind == "scenario":
        return "none" if level is None else Path(str(level)).stem
    return str(level)


def _parse_levels(src: TomlSource, i: int, f: dict[str, Any], kind: str, network: Network) -> Factor:
    where = ("factors", i)
    raw = f[kind]
    extra = [k for k in f if k not in (kind, "name", "note", "source")]
    if extra:
        raise src.error(where, extra[0], f"a '{kind}' factor takes a list of levels only (got '{extra[0]}')")
    probs: tuple[float, ...] = ()
    if kind == "calibration":
        # the calibration's parameter sets (il6sim.calibration.ensemble), as levels
        if raw != "ensemble":
            raise src.error(where, kind, f"the only calibration is \"ensemble\" (the parameter sets of "
                                         f"models/calibration/joint/ensemble.tsv), got {raw!r}")
        from ..calibration import ensemble
        from ..validation import band_sets

        try:
            sets = band_sets(ensemble())
        except Il6simError as exc:
            raise src.error(where, kind, str(exc)) from None
        set_labels = ("best", *(f"set{k}" for k in range(1, len(sets))))
        return Factor("calibration", grid=tuple(float(k) for k in range(len(sets))), kind=kind,
                      levels=tuple(sets), labels=set_labels)
    if kind == "genotype":
        if isinstance(raw, list):
            if not raw or not all(isinstance(v, str) and "=" in v for v in raw):
                raise src.error(where, kind, "give levels as 'VARIANT=GENOTYPE' strings, e.g. ['rs2228145=AA']")
            variants = {v.split("=", 1)[0].strip() for v in raw}
            if len(variants) != 1:
                raise src.error(where, kind, "one variant per factor; add a factor for each variant")
            variant = variants.pop()
            levels: list[Any] = [v.split("=", 1)[1].strip() for v in raw]
        elif isinstance(raw, dict):
            ok = ("variant", "levels", "frequencies")
            check_keys(src, where, raw, ok)
            variant = raw.get("variant")
            if not isinstance(variant, str):
                raise src.error(where, "genotype", "name the variant: {variant = \"rs2228145\", ...}")
            if ("levels" in raw) == ("frequencies" in raw):
                raise src.error(where, "genotype", "give either 'levels' (a grid) or 'frequencies' (drawn per row)")
            if "levels" in raw:
                levels = raw["levels"]
                if not isinstance(levels, list) or not levels or not all(isinstance(v, str) for v in levels):
                    raise src.error(where, "genotype", "levels: must be a non-empty list of genotypes")
            else:
                freq = raw["frequencies"]
                if not isinstance(freq, dict) or not freq:
                    raise src.error(where, "genotype", "frequencies: must be a table like { AA = 0.4, AC = 0.45 }")
                for g, p in freq.items():
                    if isinstance(p, bool) or not isinstance(p, (int, float)) or not (0 <= p <= 1):
                        raise src.error(where, "genotype", f"frequencies: '{g}' must be a number in [0, 1], got {p!r}")
                total = float(sum(freq.values()))
                if not abs(total - 1.0) <= 1e-6:
                    raise src.error(where, "genotype", f"frequencies: must add up to 1, got {total:g}")
                levels = list(freq)
                probs = tuple(float(freq[g]) for g in levels)
        else:
            raise src.error(where, kind, "must be a list of 'VARIANT=GENOTYPE' or a table {variant = ..., levels/"
                                         "frequencies = ...}")
        try:
            gt = network.get_genotype(variant)
            for g in levels:
                gt.scale_for(g)
        except Il6simError as exc:
            raise src.error(where, kind, str(exc)) from None
        return Factor(variant, grid=() if probs else tuple(float(k) for k in range(len(levels))),
                      sampler="categorical" if probs else None, kind=kind, levels=tuple(levels),
                      labels=tuple(levels), probs=probs)
    if not isinstance(raw, list) or not raw:
        raise src.error(where, kind, "must be a non-empty list of levels")
    levels = []
    for v in raw:
        if kind == "drug":
            if v == "none":
                levels.append(())
                continue
            entries = [v] if isinstance(v, (str, dict)) else v
            if not isinstance(entries, list) or not entries:
                raise src.error(where, kind, f"level {v!r}: give a drug name, a dosing table or a list of tables")
            grp = []
            for e in entries:
                e = {"drug": e} if isinstance(e, str) else e
                if not isinstance(e, dict) or not isinstance(e.get("drug"), str):
                    raise src.error(where, kind, f"level {v!r}: each dosing table needs drug = \"name\"")
                bad = [k for k in e if k not in (*DRUG_KEYS, "label")]
                if bad:
                    raise src.error(where, kind, f"level {v!r}: unknown key '{bad[0]}'{suggest(bad[0], DRUG_KEYS)}")
                grp.append({**e, "drug": local_path(src, e["drug"])})
            levels.append(tuple(grp))
        elif kind == "scenario":
            if not isinstance(v, str):
                raise src.error(where, kind, f"level {v!r}: give a scenario name or path, or \"none\"")
            levels.append(None if v == "none" else local_path(src, v))
        else:
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise src.error(where, kind, f"level {v!r}: must be a string or a number")
            levels.append(v)
    labels = tuple(_level_label(kind, lv) for lv in levels)
    if len(set(labels)) != len(labels):
        raise src.error(where, kind, f"levels repeat (labels {', '.join(labels)}); give each level once "
                                     "(or a distinct label)")
    return Factor(kind, grid=tuple(float(k) for k in range(len(levels))), kind=kind, levels=tuple(levels),
                  labels=labels)


def parse_factor(src: TomlSource, i: int, f: Any, network: Network) -> Factor:
    """Validate ``[[factors]]`` table number ``i`` of ``src`` against ``network``."""
    from ..scenario import convert_parameter_value

    where = ("factors", i)
    if not isinstance(f, dict):
        raise src.error(where, None, "must be a table")
    check_keys(src, where, f, _FACTOR_KEYS)
    present = [k for k in _KINDS if k in f]
    if not present:
        raise src.error(where, "parameter", f"missing: name what varies (one of {', '.join(_KINDS)})")
    if len(present) > 1:
        raise src.error(where, present[1], f"one factor varies one thing (found {', '.join(present)}); "
                                           "give each its own [[factors]] table")
    kind = present[0]
    if kind in LEVEL_KINDS:
        return _parse_levels(src, i, f, kind, network)
    if kind == "weight":
        w = f["weight"]
        extra = [k for k in f if k not in ("weight", "name", "note", "source")]
        if extra:
            raise src.error(where, extra[0], "a weight factor is weight = [levels] or weight = {sampler = ...}")
        if isinstance(w, list):
            if not w:
                raise src.error(where, "weight", "must be a non-empty list of body weights")
            try:
                return Factor("weight_kg", grid=tuple(parse_weight_kg(v) for v in w), kind="weight")
            except UnitError as exc:
                raise src.error(where, "weight", str(exc)) from None
        if not isinstance(w, dict):
            raise src.error(where, "weight", "must be a list of weights or a table {sampler = ..., ...}")
        bad = [k for k in w if k not in _DIST_KEYS]
        if bad:
            raise src.error(where, "weight", f"unknown key '{bad[0]}'{suggest(bad[0], _DIST_KEYS)} "
                                             f"(allowed: {', '.join(_DIST_KEYS)})")

        def kg(key: str, v: Any) -> float:
            if key == "sd":  # a spread, not a weight: any positive mass
                q = parse_quantity(v)
                return q.value if q.dims == (0, 0, 0, 0, 0) else convert(q, MASS, what="sd of body weight") / 1e3
            return parse_weight_kg(v)

        if "sampler" not in w:
            raise src.error(where, "weight", f"missing sampler (one of {', '.join(SAMPLERS)})")
        return _parse_distribution(src, where, w, "weight_kg", "weight", kg, "weight.")
    pid = f.get("parameter")
    if not isinstance(pid, str):
        raise src.error(where, "parameter", "missing: name the parameter to vary")
    if pid not in network.parameter_ids:
        raise src.error(where, "parameter", f"unknown parameter '{pid}'{suggest(pid, network.parameter_ids)}")

    if ("grid" in f) == ("sampler" in f):
        raise src.error(where, "grid", "give either 'grid' (a list of values) or 'sampler' (one of "
                                       f"{', '.join(SAMPLERS)})")
    if "grid" in f:
        grid = f["grid"]
        if not isinstance(grid, list) or not grid:
            raise src.error(where, "grid", "must be a non-empty list of values with units")
        vals = []
        for v in grid:
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                raise src.error(where, "grid", f"value {v!r} must be a number with its unit")
            try:
                vals.append(convert_parameter_value(network, pid, v))
            except UnitError as exc:
                raise src.error(where, "grid", str(exc)) from None
        return Factor(pid, grid=tuple(vals))
    return _parse_distribution(src, where, f, pid, "parameter",
                               lambda _key, v: convert_parameter_value(network, pid, v), "")


def _parse_distribution(src: TomlSource, where: tuple[str | int, ...], f: Mapping[str, Any], name: str, kind: str,
                        conv: Callable[[str, Any], float], prefix: str) -> Factor:
    """A sampled factor: ``sampler`` and its settings, converted by ``conv(key, value)`` to core units."""

    def err(key: str, message: str) -> ModelFileError:
        return src.error(where, prefix + key if prefix else key, message)

    def value(key: str) -> float:
        if key not in f:
            raise err(key, f"missing: sampler '{f.get('sampler')}' needs '{key}'")
        v = f[key]
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise err(key, "must be a number with its unit")
        try:
            out = conv(key, v)
        except UnitError as exc:
            raise err(key, str(exc)) from None
        if not math.isfinite(out):
            raise err(key, f"must be finite, got {v!r}")
        return out

    sampler = f["sampler"]
    if sampler not in SAMPLERS:
        raise err("sampler", f"unknown sampler '{sampler}'{suggest(str(sampler), SAMPLERS)} "
                             f"(valid: {', '.join(SAMPLERS)})")
    scale = f.get("scale", "log" if sampler == "loguniform" else "linear")
    if scale not in ("linear", "log") or (sampler == "loguniform" and scale != "log"):
        raise err("scale", f"must be 'linear' or 'log', got {scale!r}")
    if sampler in QMC_SAMPLERS or sampler in ("uniform", "loguniform"):
        low, high = value("low"), value("high")
        if not low < high:
            raise err("high", f"empty range: low ({low:g}) must be < high ({high:g}) in core units")
        if scale == "log" and low <= 0:
            raise err("low", "must be > 0 on a log scale")
        return Factor(name, sampler=sampler, low=low, high=high, log=scale == "log", kind=kind)
    if sampler == "normal":
        mean, sd = value("mean"), value("sd")
        if not sd > 0:
            raise err("sd", f"must be > 0, got {f['sd']!r}")
        return Factor(name, sampler=sampler, mean=mean, sd=sd, kind=kind)
    median = value("median")
    sigma = f.get("sigma")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not (sigma > 0 and math.isfinite(sigma)):
        raise err("sigma", f"must be a positive number (the sd of log(value)), got {sigma!r}")
    if not median > 0:
        raise err("median", "must be > 0")
    return Factor(name, sampler=sampler, mean=median, sd=float(sigma), kind=kind)
