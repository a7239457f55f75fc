"""A whole sweep file → a validated :class:`SweepSpec`, and the helpers every later stage shares.

This module reads a sweep file (TOML, or a dict of its tables), checks the ``[sweep]``,
``[[drugs]]`` and ``[[factors]]`` tables (each factor through :mod:`il6sim.sweeps.factors`), and
builds every combination of levels once, so that a bad drug file, a dose past the simulated time or
an unknown observable is a one-line :class:`~il6sim.errors.ModelFileError` naming file, table and
key before any work starts. The result is a frozen :class:`SweepSpec` in core units (nM, h, kg) with
its digest. It also holds what the design, the engine and the store share: the output time grid,
the :class:`~il6sim.regimen.Run` of one combination of levels and the JSON form of a spec. The file
format itself is documented in :mod:`il6sim.sweeps`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..drugs import DEFAULT_WEIGHT_KG
from ..errors import Il6simError, ModelFileError, UnitError, suggest
from ..network import Network
from ..readouts import ReadoutError, parse_metric
from ..tomlsource import TomlSource, check_keys, read_toml
from ..units import parse_time
from .factors import DOSE_KINDS, DRUG_KEYS, Factor, local_path, parse_factor, parse_weight_kg

__all__ = ["FORMAT", "METRICS", "SweepSpec", "jsonable", "load_sweep_spec", "parse_sweep_spec", "setting_run",
           "spec_from_dict", "time_grid"]

#: metric kinds (spelling and windows: :mod:`il6sim.readouts`)
METRICS = ("peak", "trough", "mean", "auc", "time_above:<threshold>", "time_below:<threshold>", "inhibition",
           "cmax[<interval>]", "ctrough[<interval>]", "auctau[<interval>]", "value[<time>]", "before[<time>]")
_SWEEP_KEYS = ("model", "scenario", "days", "step", "seed", "rows", "chunk_size", "observables", "metrics",
               "weight", "rtol", "atol", "max_steps", "timecourses", "name", "description")
FORMAT = 3  # of the chunk files and the manifest; part of the spec's digest (3: metrics through il6sim.readouts)
_MAX_VALIDATED = 256  # level combinations checked one by one at parse time (beyond: each level alone)
_MESSAGE_BYTES = 4 * 96  # numpy stores messages as UTF-32


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: everything needed to reproduce it, values in core units (nM, h, kg)."""

    network: Network = field(repr=False)
    model: str = "il6"
    scenario: str | None = None
    duration_h: float = 28 * 24.0
    step_h: float = 6.0
    seed: int = 0
    rows: int = 1
    chunk_size: int = 256
    observables: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ("peak", "auc")
    factors: tuple[Factor, ...] = ()
    drugs: tuple[Mapping[str, Any], ...] = ()
    weight: str | float = DEFAULT_WEIGHT_KG
    rtol: float = 1e-6
    atol: float = 1e-12
    max_steps: int = 100_000
    timecourses: bool = True
    source: str = "<dict>"
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    text: str = field(default="", repr=False)

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.parameter for f in self.factors)

    @property
    def label_names(self) -> tuple[str, ...]:
        """Names of the level factors, whose rows carry labels."""
        return tuple(f.parameter for f in self.factors if f.is_level)

    @property
    def n_rows(self) -> int:
        """Rows of the design: the product of the grid sizes times ``rows`` (if any factor samples)."""
        n = self.rows if any(f.sampler for f in self.factors) else 1
        for f in self.factors:
            if f.grid:
                n *= len(f.grid)
        return n

    @property
    def n_times(self) -> int:
        return len(time_grid(self.duration_h, self.step_h))

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Column names ``metric:observable`` (canonical metric names, windows included), in chunk order."""
        return tuple(f"{m}:{o}" for o in self.observables for m in self.metrics)

    def bytes_per_row(self) -> int:
        """Bytes a row takes in the chunk files (estimate, slightly high)."""
        n = 8 * (len(self.factors) + 1 + len(self.metric_names)) + _MESSAGE_BYTES + 4 * 32 * len(self.label_names)
        if self.timecourses:
            n += 8 * self.n_times * len(self.observables)
        return n

    def error(self, table: Sequence[str | int], key: str | None, message: str) -> ModelFileError:
        """A one-line error naming this spec's file, line and key."""
        return TomlSource(self.source, self.text, dict(self.raw)).error(table, key, message)

    def digest(self) -> str:
        """Hash of everything that changes the numbers (not the chunking)."""
        payload = {"raw": jsonable(self.raw), "network": self.network.content_hash, "format": FORMAT}
        payload["raw"].get("sweep", {}).pop("chunk_size", None)
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def time_grid(duration_h: float, step_h: float) -> np.ndarray:
    n_t = int(math.floor(duration_h / step_h + 1e-9)) + 1
    t = np.arange(n_t) * step_h
    return t if math.isclose(t[-1], duration_h) else np.append(t, duration_h)


# --------------------------------------------------------------------------------------------
# Reading specs: every problem is a one-line ModelFileError naming file, table and key.
def load_sweep_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file (TOML); see :mod:`il6sim.sweeps` for the format.

    >>> load_sweep_spec("no/such/file.toml")
    Traceback (most recent call last):
    ...
    il6sim.errors.ModelFileError: no/such/file.toml: file not found
    """
    return parse_sweep_spec(read_toml(path))


def spec_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> SweepSpec:
    """Validate a sweep given as a dict of the TOML's tables (for scripts and tests).

    >>> spec_from_dict({"sweep": {"rows": 0}}).rows
    Traceback (most recent call last):
    ...
    il6sim.errors.ModelFileError: <dict>: [sweep] rows: must be a whole number >= 1, got 0
    """
    return parse_sweep_spec(TomlSource(source, "", json.loads(json.dumps(jsonable(dict(data))))))


def parse_sweep_spec(src: TomlSource) -> SweepSpec:
    """Validate a parsed sweep file; raises :class:`ModelFileError` on the first problem."""
    from ..shipped import load_network

    data = src.data
    check_keys(src, (), data, ("sweep", "factors", "drugs"))
    head = data.get("sweep", {})
    if not isinstance(head, dict):
        raise src.error((), "sweep", "must be a table")
    check_keys(src, ("sweep",), head, _SWEEP_KEYS)
    where = ("sweep",)

    model = head.get("model", "il6")
    if not isinstance(model, str):
        raise src.error(where, "model", "must be a model name or path")
    try:
        network = load_network(local_path(src, model))
    except Il6simError as exc:
        raise src.error(where, "model", str(exc)) from None

    def whole(key: str, default: int, low: int) -> int:
        v = head.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise src.error(where, key, f"must be a whole number >= {low}, got {v!r}")
        return int(v)

    rows = whole("rows", 1, 1)
    chunk_size = whole("chunk_size", 256, 1)
    seed = whole("seed", 0, 0)
    max_steps = whole("max_steps", 100_000, 1)

    def positive(key: str, default: float) -> float:
        v = head.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > 0 and math.isfinite(v)):
            raise src.error(where, key, f"must be a positive number, got {v!r}")
        return float(v)

    rtol, atol = positive("rtol", 1e-6), positive("atol", 1e-12)
    timecourses = head.get("timecourses", True)
    if not isinstance(timecourses, bool):
        raise src.error(where, "timecourses", "must be true or false")

    drugs = data.get("drugs", [])
    if not isinstance(drugs, list):
        raise src.error((), "drugs", "must be an array of tables [[drugs]]")
    groups = []
    for i, d in enumerate(drugs):
        if not isinstance(d, dict):
            raise src.error(("drugs", i), None, "must be a table")
        check_keys(src, ("drugs", i), d, DRUG_KEYS)
        if "drug" not in d:
            raise src.error(("drugs", i), "drug", "missing")
        groups.append({**d, "drug": local_path(src, d["drug"])})
    scenario = head.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise src.error(where, "scenario", "must be a scenario name or path")
    scenario = local_path(src, scenario)
    duration_h = None
    if "days" in head:
        try:
            duration_h = parse_time(head["days"], "d")
        except UnitError as exc:
            raise src.error(where, "days", str(exc)) from None
        if duration_h <= 0:
            raise src.error(where, "days", "must be > 0")
    weight = head.get("weight", DEFAULT_WEIGHT_KG)
    try:
        parse_weight_kg(weight)
    except UnitError as exc:
        raise src.error(where, "weight", str(exc)) from None

    raw_factors = data.get("factors", [])
    if not isinstance(raw_factors, list):
        raise src.error((), "factors", "must be an array of tables [[factors]]")
    factor_net = _with_fixed_drugs(network, groups, weight)  # parameter factors may name drug parameters
    factors = tuple(parse_factor(src, i, f, factor_net) for i, f in enumerate(raw_factors))
    names = [f.parameter for f in factors]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise src.error(("factors", i), factors[i].kind, f"'{n}' is varied twice; give it one factor")
    kinds = {f.kind: i for i, f in enumerate(factors)}
    if "scenario" in kinds and scenario is not None:
        raise src.error(("factors", kinds["scenario"]), "scenario",
                        "the scenario is also set in [sweep]; give it in one place")
    if "drug" in kinds and groups:
        raise src.error(("factors", kinds["drug"]), "drug", "replaces [[drugs]]; give the dosing in one place")
    any_drug = bool(groups) or ("drug" in kinds and any(lv for lv in factors[kinds["drug"]].levels))
    for k in DOSE_KINDS:
        if k in kinds and not any_drug:
            raise src.error(("factors", kinds[k]), k, f"a '{k}' factor needs a drug: add [[drugs]] or a drug factor")

    # Every combination of levels must build (drug files, doses inside the simulated time, scenarios).
    durations = _check_settings(src, network, factors, groups, scenario, weight, duration_h)
    if len(durations) > 1:
        raise src.error(where, "days", "the scenarios last " + " and ".join(f"{d / 24:g}" for d in sorted(durations))
                        + " days; give days to simulate them over the same time")
    duration = durations.pop()
    try:
        step_h = parse_time(head.get("step", "6 h"), "h")
    except UnitError as exc:
        raise src.error(where, "step", str(exc)) from None
    if not (0 < step_h <= duration):
        raise src.error(where, "step", f"must be > 0 and at most the simulated time ({duration:g} h)")

    probe = setting_run(network, factors, groups, scenario, weight, duration, {})
    obs_ids = tuple(o.id for o in probe.network.observables)
    observables = head.get("observables", list(obs_ids))
    if not isinstance(observables, list) or not observables or not all(isinstance(o, str) for o in observables):
        raise src.error(where, "observables", "must be a non-empty list of observable names")
    for o in observables:
        if o not in obs_ids:
            raise src.error(where, "observables", f"unknown observable '{o}'{suggest(o, obs_ids)}")
    metrics = head.get("metrics", ["peak", "auc"])
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise src.error(where, "metrics", "must be a non-empty list of metric names")
    canonical = []
    for m in metrics:
        try:
            metric = parse_metric(m)
        except ReadoutError as exc:
            raise src.error(where, "metrics", str(exc)) from None
        if (metric.needs_reference or metric.interval is not None) and not any_drug:
            what = "compares with the untreated run" if metric.needs_reference else "reads dosing intervals"
            raise src.error(where, "metrics", f"'{m}' {what}: add [[drugs]] or a drug factor")
        if metric.name in canonical:
            raise src.error(where, "metrics", f"'{m}' is listed twice (as {metric.name})")
        canonical.append(metric.name)
    metrics = canonical

    return SweepSpec(network, model, scenario, float(duration), float(step_h), seed, rows, chunk_size,
                     tuple(observables), tuple(metrics), factors, tuple(groups), weight, rtol, atol, max_steps,
                     timecourses, src.path, data, src.text)


def setting_run(network: Network, factors: Sequence[Factor], groups: Sequence[Mapping[str, Any]],
                scenario: str | None, weight: Any, duration_h: float | None, levels: Mapping[int, int],
                weight_kg: float | None = None) -> Any:
    """The :class:`~il6sim.regimen.Run` of one combination of levels (factor index → level index)."""
    from ..regimen import build_run

    net, grp, sc = network, [dict(g) for g in groups], scenario
    calibrated: Mapping[str, float] | None = None
    for fi, f in enumerate(factors):
        if f.is_level:
            lv = f.levels[levels.get(fi, 0)]
            if f.kind == "calibration":
                calibrated = lv
            elif f.kind == "genotype":
                net = net.with_genotype(f.parameter, lv)
            elif f.kind == "drug":
                grp = [{k: v for k, v in g.items() if k != "label"} for g in lv]
            elif f.kind == "scenario":
                sc = lv
    for fi, f in enumerate(factors):
        if f.kind in DOSE_KINDS:
            for g in grp:
                g[f.kind] = f.levels[levels.get(fi, 0)]
    if calibrated is None:
        return build_run(net, scenario=sc, drug_groups=grp, weight=weight if weight_kg is None else weight_kg,
                         duration_h=duration_h)
    # one of the calibration's parameter sets (model values into the network, the rest into the run)
    from ..bands import calibrated_run
    from ..calibration import overrides
    from ..scenario import load_scenario

    sc_name = load_scenario(sc, net).name if sc else None
    return calibrated_run(net, overrides(calibrated, sc_name), scenario=sc, drug_groups=grp,
                          weight=weight if weight_kg is None else weight_kg, duration_h=duration_h)


def _check_settings(src: TomlSource, network: Network, factors: Sequence[Factor], groups: Sequence[Mapping[str, Any]],
                    scenario: str | None, weight: Any, duration_h: float | None) -> set[float]:
    """Build every combination of levels (or each level alone if there are many); return the durations."""
    level = [fi for fi, f in enumerate(factors) if f.is_level and f.kind != "genotype"]
    sizes = [len(factors[fi].levels) for fi in level]
    if math.prod(sizes) <= _MAX_VALIDATED:
        combos: list[dict[int, int]] = [dict(zip(level, c)) for c in itertools.product(*(range(n) for n in sizes))]
    else:
        combos = [{fi: k} for fi, n in zip(level, sizes) for k in range(n)]
    durations = set()
    for combo in combos:
        try:
            run = setting_run(network, factors, groups, scenario, weight, duration_h, combo)
        except Il6simError as exc:
            if not level:
                key = "scenario" if scenario and "scenario" in str(exc).lower() else ("drugs" if groups else "scenario")
                raise src.error(("sweep",) if key == "scenario" else (), key, str(exc)) from None
            blame = next((fi for fi in level if factors[fi].kind == "drug"), level[0])
            for fi in level:  # the factor the message names, if any
                if factors[fi].kind in ("scenario",) and "scenario" in str(exc).lower():
                    blame = fi
            where = ", ".join(f"{factors[fi].parameter} = {factors[fi].labels[k]!r}" for fi, k in combo.items())
            raise src.error(("factors", blame), factors[blame].kind, f"with {where}: {exc}") from None
        for fi, f in enumerate(factors):
            if f.kind == "parameter" and f.parameter not in run.network.parameter_ids:
                where = ", ".join(f"{factors[j].parameter} = {factors[j].labels[k]!r}" for j, k in combo.items())
                raise src.error(("factors", fi), "parameter",
                                f"'{f.parameter}' belongs to a drug that is not given"
                                f"{' with ' + where if where else ''}; vary it only where every row doses that drug")
        durations.add(float(run.duration_h))
    return durations


def _with_fixed_drugs(network: Network, groups: Sequence[Mapping[str, Any]], weight: Any) -> Network:
    """``network`` with the drugs of ``[[drugs]]`` added, so that a parameter factor may name a drug
    parameter (``sar_k10``); a drug that fails to load is reported later, in place, by the settings check."""
    from ..drugs import add_drug, load_drug

    net, seen = network, set()
    for g in groups:
        name = str(g["drug"])
        if name in seen:
            continue
        seen.add(name)
        try:
            net = add_drug(net, load_drug(name), weight_kg=parse_weight_kg(weight))
        except Il6simError:
            return network
    return net


def jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON data (dicts, lists, numbers, strings, None); anything else as its ``str``."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)
