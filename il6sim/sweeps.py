"""Sweeps: seeded designs over parameters, drugs, doses, timing, genotypes, scenarios and body weight,
run chunk by chunk through the jitted batch solver, resumable, locally or on a Dask cluster.

A sweep file (TOML) names a model, an optional scenario and dosing, the readouts and their
metrics, and the factors that vary::

    [sweep]
    model = "il6"              # shipped name or path (default "il6")
    scenario = "covid_severe"  # optional (or make it a factor, below)
    days = 28                  # simulated time (default: the scenario's, else 28 d)
    step = "6 h"               # output interval (metrics are computed on this grid)
    seed = 1                   # samplers are seeded; same seed → same numbers
    rows = 64                  # rows drawn by the samplers (grid and level factors multiply it)
    chunk_size = 32            # rows per chunk file
    weight = "70 kg"           # body weight when it is not a factor
    observables = ["il6_free_pg_ml", "crp_mg_l"]
    metrics = ["peak", "auc", "trough", "time_above:10", "time_below:1", "inhibition"]

    [[factors]]                # a grid: every value crossed with every other factor's
    parameter = "k_il6_basal"
    grid = ["0.5 nM/h", "1 nM/h"]

    [[factors]]                # a sampler: lhs, sobol, halton (low/high, scale = "linear"|"log"),
    parameter = "kd_il6_sil6r" # uniform, loguniform (low/high), normal (mean/sd; truncated at 0),
    sampler = "lhs"            # lognormal (median/sigma, sigma = sd of ln value)
    low = "0.1 nM"
    high = "1 nM"

    [[drugs]]                  # fixed dosing for every row, as ``build_run``'s drug groups
    drug = "tocilizumab"
    dose = "8 mg/kg"
    at = "7 d"

Factors beyond parameters (each a list of levels crossed with everything else; a row carries the
level's label, e.g. ``drug = "siltuximab"``)::

    [[factors]]
    drug = ["tocilizumab", "siltuximab", "none"]   # replaces [[drugs]]; "none" = untreated;
                                                   # a level may be a dosing table or a list of them:
                                                   # {drug = "sarilumab", dose = "200 mg", route = "sc",
                                                   #  every = "14 d", count = 2, label = "SC q2w"}
    [[factors]]
    dose = ["4 mg/kg", "8 mg/kg"]   # set on every dosing group of the row; so are
    [[factors]]                     # route, at, every, count and infusion
    at = ["1 d", "7 d"]
    [[factors]]
    scenario = ["covid_moderate", "covid_severe"]  # replaces [sweep] scenario; "none" = no scenario
    [[factors]]
    genotype = ["rs2228145=AA", "rs2228145=CC"]    # or {variant = "rs2228145", levels = [...]}

Virtual populations draw patient characteristics per row with the seed::

    [[factors]]                                    # drawn per row with these probabilities
    genotype = { variant = "rs2228145", frequencies = { AA = 0.38, AC = 0.47, CC = 0.15 } }
    [[factors]]                                    # body weight (mg/kg doses and drug PK scale with it)
    weight = { sampler = "normal", mean = "80 kg", sd = "15 kg" }   # or a grid: ["60 kg", "90 kg"]

``models/sweeps/population_covid_severe.toml`` is a sourced example population.

Design rules
------------
* The whole design matrix is drawn up front from ``seed`` (one draw per sampler family, so
  LHS/Sobol stratification holds jointly), so a row's values never depend on ``chunk_size`` or on
  the number of workers. Grid and level factors are crossed (``itertools.product``, file order,
  first factor slowest) with the sampled rows (fastest). A level factor's column in the design
  matrix holds the level index; :attr:`SweepResult.labels` holds the labels.
* A row's model is ``network.with_genotype(...)`` for its genotypes, with its drugs added at its body
  weight (:func:`il6sim.regimen.build_run`); its parameters are the scenario's overrides, then the
  row's parameter values (a parameter factor replaces a genotype-scaled value). Rows that share
  drugs, doses, scenario, genotype and (when dosed) weight share one compiled network and protocol
  and run through one batch call.
* Every row starts from its own steady state at its parameters (as ``simulate(...,
  initial="steady")``); the scenario and doses then act from t = 0.
* Failures are data: a row whose steady state or integration fails keeps a status code and a
  message, and NaN metrics; the other rows are unaffected. Status codes are those of
  :mod:`il6sim._jitsolve` (0 success, 1-4 solver failures) plus 5 (no steady state) and 6 (the
  row's setting could not be built, e.g. a drawn body weight outside 1-500 kg).
* ``inhibition`` (percent) = 100 · (1 − AUC / AUC of the same row run without drugs): same draw,
  same scenario, genotype and weight. Rows whose level is "none" get 0.
* Each chunk is written atomically to ``chunk-NNNNN.npz`` (``allow_pickle=False``), next to a
  ``manifest.json`` holding the spec, provenance and chunk list. ``resume=True`` keeps chunks whose
  file is complete and belongs to the same spec. Only metrics (n_rows × n_metrics) stay in memory.
  Before anything runs, the output size is estimated and a sweep the disk cannot hold is refused.
* With ``client=`` (a ``dask.distributed.Client``) chunks run as tasks on the cluster and the
  driver writes them; numbers are identical to the local run whatever the number of workers.

>>> import il6sim.sweeps as sw
>>> spec = sw.spec_from_dict({"sweep": {"days": 2, "step": "12 h", "metrics": ["peak"],
...                                     "observables": ["il6_free_pg_ml"]},
...                           "factors": [{"parameter": "k_il6_basal", "grid": [0.01, 0.02]}]})
>>> res = sw.sweep(spec)
>>> res.status.tolist(), bool(res.metrics["peak:il6_free_pg_ml"][1] > res.metrics["peak:il6_free_pg_ml"][0])
([0, 0], True)
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import shutil
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .compiled import CompiledNetwork
from .drugs import DEFAULT_WEIGHT_KG
from .errors import Il6simError, ModelFileError, UnitError, suggest
from .network import Network
from .protocol import Protocol
from .results import atomic_write
from .tomlsource import TomlSource, check_keys, read_toml
from .units import MASS, convert, parse_quantity, parse_time

__all__ = ["Factor", "SweepResult", "SweepSpec", "load_sweep", "load_sweep_spec", "spec_from_dict", "sweep"]

SAMPLERS = ("lhs", "sobol", "halton", "uniform", "loguniform", "normal", "lognormal")
_QMC = ("lhs", "sobol", "halton")
METRICS = ("peak", "trough", "auc", "time_above:<threshold>", "time_below:<threshold>", "inhibition")
NO_STEADY_STATE = 5
BAD_SETTING = 6
_DOSE_KINDS = ("dose", "route", "at", "every", "count", "infusion")
_LEVEL_KINDS = ("drug", *_DOSE_KINDS, "scenario", "genotype")
_KINDS = ("parameter", "weight", *_LEVEL_KINDS)
_SWEEP_KEYS = ("model", "scenario", "days", "step", "seed", "rows", "chunk_size", "observables", "metrics",
               "weight", "rtol", "atol", "max_steps", "timecourses", "name", "description")
_FACTOR_KEYS = ("parameter", "grid", "sampler", "low", "high", "scale", "mean", "sd", "median", "sigma", "name",
                "weight", *_LEVEL_KINDS, "note", "source")
_DIST_KEYS = ("sampler", "low", "high", "scale", "mean", "sd", "median", "sigma")
_DRUG_KEYS = ("drug", "dose", "route", "at", "every", "count", "infusion")
_FORMAT = 2
_MAX_VALIDATED = 256  # level combinations checked one by one at parse time (beyond: each level alone)
_MESSAGE_BYTES = 4 * 96  # numpy stores messages as UTF-32


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
        return self.kind in _LEVEL_KINDS


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
        return len(_time_grid(self.duration_h, self.step_h))

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Column names ``metric:observable``, in the order chunks store them."""
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
        payload = {"raw": _jsonable(self.raw), "network": self.network.content_hash, "format": _FORMAT}
        payload["raw"].get("sweep", {}).pop("chunk_size", None)
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _time_grid(duration_h: float, step_h: float) -> np.ndarray:
    n_t = int(math.floor(duration_h / step_h + 1e-9)) + 1
    t = np.arange(n_t) * step_h
    return t if math.isclose(t[-1], duration_h) else np.append(t, duration_h)


# --------------------------------------------------------------------------------------------
# Reading specs: every problem is a one-line ModelFileError naming file, table and key.
def load_sweep_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file (TOML); see the module docstring for the format.

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
    return parse_sweep_spec(TomlSource(source, "", json.loads(json.dumps(_jsonable(dict(data))))))


def _local_path(src: TomlSource, name: Any) -> Any:
    """A file named relative to the sweep file, if it exists there; else the name unchanged."""
    if isinstance(name, str) and src.path and not src.path.startswith("<"):
        try:
            if (Path(src.path).parent / name).is_file():
                return str(Path(src.path).parent / name)
        except (OSError, ValueError):  # a name too long or with a NUL byte is no file here
            pass
    return name


def parse_sweep_spec(src: TomlSource) -> SweepSpec:
    """Validate a parsed sweep file; raises :class:`ModelFileError` on the first problem."""
    from .shipped import load_model

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
        network = load_model(_local_path(src, model))
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
        check_keys(src, ("drugs", i), d, _DRUG_KEYS)
        if "drug" not in d:
            raise src.error(("drugs", i), "drug", "missing")
        groups.append({**d, "drug": _local_path(src, d["drug"])})
    scenario = head.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise src.error(where, "scenario", "must be a scenario name or path")
    scenario = _local_path(src, scenario)
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
        _weight_kg(weight)
    except UnitError as exc:
        raise src.error(where, "weight", str(exc)) from None

    raw_factors = data.get("factors", [])
    if not isinstance(raw_factors, list):
        raise src.error((), "factors", "must be an array of tables [[factors]]")
    factors = tuple(_parse_factor(src, i, f, network) for i, f in enumerate(raw_factors))
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
    for k in _DOSE_KINDS:
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

    probe = _setting_run(network, factors, groups, scenario, weight, duration, {})
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
    for m in metrics:
        if m.startswith(("time_above:", "time_below:")):
            try:
                ok = math.isfinite(float(m.split(":", 1)[1]))
            except ValueError:
                ok = False
            if not ok:
                raise src.error(where, "metrics", f"'{m}': give a finite number after '{m.split(':')[0]}:' "
                                                  "(in the observable's unit)")
        elif m not in ("peak", "trough", "auc", "inhibition"):
            raise src.error(where, "metrics", f"unknown metric '{m}'{suggest(m, ('peak', 'trough', 'auc', 'inhibition'))}"
                                              f" (valid: {', '.join(METRICS)})")
        if m == "inhibition" and not any_drug:
            raise src.error(where, "metrics", "'inhibition' compares with the untreated run: add [[drugs]] "
                                              "or a drug factor")

    return SweepSpec(network, model, scenario, float(duration), float(step_h), seed, rows, chunk_size,
                     tuple(observables), tuple(metrics), factors, tuple(groups), weight, rtol, atol, max_steps,
                     timecourses, src.path, data, src.text)


def _weight_kg(value: Any) -> float:
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
            parts.append(" ".join([Path(str(g["drug"])).stem] + [str(g[k]) for k in _DRUG_KEYS[1:] if k in g]))
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
                bad = [k for k in e if k not in (*_DRUG_KEYS, "label")]
                if bad:
                    raise src.error(where, kind, f"level {v!r}: unknown key '{bad[0]}'{suggest(bad[0], _DRUG_KEYS)}")
                grp.append({**e, "drug": _local_path(src, e["drug"])})
            levels.append(tuple(grp))
        elif kind == "scenario":
            if not isinstance(v, str):
                raise src.error(where, kind, f"level {v!r}: give a scenario name or path, or \"none\"")
            levels.append(None if v == "none" else _local_path(src, v))
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


def _parse_factor(src: TomlSource, i: int, f: Any, network: Network) -> Factor:
    from .scenario import convert_parameter_value

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
    if kind in _LEVEL_KINDS:
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
                return Factor("weight_kg", grid=tuple(_weight_kg(v) for v in w), kind="weight")
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
            return _weight_kg(v)

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
    if sampler in _QMC or sampler in ("uniform", "loguniform"):
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


def _setting_run(network: Network, factors: Sequence[Factor], groups: Sequence[Mapping[str, Any]],
                 scenario: str | None, weight: Any, duration_h: float | None, levels: Mapping[int, int],
                 weight_kg: float | None = None) -> Any:
    """The :class:`~il6sim.regimen.Run` of one combination of levels (factor index → level index)."""
    from .regimen import build_run

    net, grp, sc = network, [dict(g) for g in groups], scenario
    for fi, f in enumerate(factors):
        if f.is_level:
            lv = f.levels[levels.get(fi, 0)]
            if f.kind == "genotype":
                net = net.with_genotype(f.parameter, lv)
            elif f.kind == "drug":
                grp = [{k: v for k, v in g.items() if k != "label"} for g in lv]
            elif f.kind == "scenario":
                sc = lv
    for fi, f in enumerate(factors):
        if f.kind in _DOSE_KINDS:
            for g in grp:
                g[f.kind] = f.levels[levels.get(fi, 0)]
    return build_run(net, scenario=sc, drug_groups=grp, weight=weight if weight_kg is None else weight_kg,
                     duration_h=duration_h)


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
            run = _setting_run(network, factors, groups, scenario, weight, duration_h, combo)
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
        durations.add(float(run.duration_h))
    return durations


# --------------------------------------------------------------------------------------------
def sampled_values(factor: Factor, u: np.ndarray) -> np.ndarray:
    """A sampled factor's values (core units) at unit-interval points ``u``: its inverse CDF.

    ``categorical`` gives level indices; ``normal`` is truncated at 0 (parameters and weights are
    non-negative); ``lognormal`` is ``median·exp(sigma·Φ⁻¹(u))``; the rest are uniform on
    ``[low, high]``, in log space when the scale is ``log``. ``u`` is clipped to [1e-15, 1 − 1e-15].
    """
    from scipy import stats

    f = factor
    q = np.clip(np.asarray(u, dtype=float), 1e-15, 1 - 1e-15)
    if f.sampler == "categorical":  # drawn level: inverse of the cumulative frequencies
        cum = np.cumsum(f.probs) / np.sum(f.probs)
        return np.minimum(np.searchsorted(cum, q, side="right"), len(f.probs) - 1).astype(float)
    if f.sampler == "normal":
        lo = stats.norm.cdf(0.0, f.mean, f.sd)
        return np.asarray(stats.norm.ppf(lo + q * (1 - lo), f.mean, f.sd), dtype=float)
    if f.sampler == "lognormal":
        return np.asarray(f.mean * np.exp(f.sd * stats.norm.ppf(q)), dtype=float)
    if f.log:
        return np.asarray(np.exp(np.log(f.low) + q * (np.log(f.high) - np.log(f.low))), dtype=float)
    return np.asarray(f.low + q * (f.high - f.low), dtype=float)


def design_matrix(spec: SweepSpec) -> np.ndarray:
    """The (n_rows, n_factors) matrix of values in core units (levels: their index), drawn from ``spec.seed``.

    Grid and level factors vary slowest (in file order), the sampled row fastest.
    """
    from scipy.stats import qmc

    sampled = [i for i, f in enumerate(spec.factors) if f.sampler]
    n_s = spec.rows if sampled else 1
    u = np.empty((n_s, len(spec.factors)))
    seeds = np.random.SeedSequence(spec.seed).spawn(len(SAMPLERS))
    for family, ss in zip(SAMPLERS, seeds):
        cols = [i for i in sampled if (spec.factors[i].sampler in _QMC and spec.factors[i].sampler == family)
                or (spec.factors[i].sampler not in _QMC and family == "uniform")]
        if not cols:
            continue
        rng = np.random.default_rng(ss)
        if family == "lhs":
            draw = qmc.LatinHypercube(d=len(cols), rng=rng).random(n_s)
        elif family == "sobol":
            with warnings.catch_warnings():  # balance warning for n not a power of 2: documented, fine
                warnings.simplefilter("ignore", UserWarning)
                draw = qmc.Sobol(d=len(cols), rng=rng).random(n_s)
        elif family == "halton":
            draw = qmc.Halton(d=len(cols), rng=rng).random(n_s)
        else:
            draw = rng.random((n_s, len(cols)))
        u[:, cols] = draw
    sample = np.empty_like(u)
    for i, f in enumerate(spec.factors):
        if f.sampler:
            sample[:, i] = sampled_values(f, u[:, i])
    grids = [range(len(f.grid)) if f.grid else range(1) for f in spec.factors]
    out = np.empty((spec.n_rows, len(spec.factors)))
    for r, (combo, s) in enumerate(itertools.product(itertools.product(*grids), range(n_s))):
        for i, f in enumerate(spec.factors):
            out[r, i] = f.grid[combo[i]] if f.grid else sample[s, i]
    return out


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SweepResult:
    """Per-row factor values and labels, status, messages and metrics of a sweep (time courses on demand).

    Attributes
    ----------
    parameters : (n_rows, n_factors) factor values in core units (level factors: the level index);
        columns ``factor_names``.
    status : (n_rows,) int, 0 = success (see the module docstring for the codes).
    messages : (n_rows,) str.
    metrics : name (``metric:observable``) → (n_rows,) float, NaN for failed rows.
    time_h : (n_t,) output times, h.
    labels : level factor name (``drug``, ``dose``, ``scenario``, a variant id, …) → (n_rows,) str.
    """

    factor_names: tuple[str, ...]
    parameters: np.ndarray
    status: np.ndarray
    messages: np.ndarray
    metrics: dict[str, np.ndarray]
    time_h: np.ndarray
    observables: tuple[str, ...]
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    out_dir: Path | None = None
    _timecourses: np.ndarray | None = field(default=None, repr=False)
    labels: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        return self.status == 0

    @property
    def values(self) -> np.ndarray:
        """The design matrix (same as ``parameters``)."""
        return self.parameters

    def timecourses(self, rows: slice | Sequence[int] | None = None) -> np.ndarray:
        """Observable time courses (n_rows, n_t, n_observables), read from the chunks if on disk."""
        if self._timecourses is not None:
            tc = self._timecourses
        elif self.out_dir is not None:
            parts = []
            for ch in self.manifest["chunks"]:
                with np.load(self.out_dir / ch["file"], allow_pickle=False) as z:
                    if "timecourses" not in z:
                        raise Il6simError(f"{self.out_dir}: this sweep was run with timecourses = false")
                    parts.append(z["timecourses"])
            tc = np.concatenate(parts)
        else:
            raise Il6simError("this sweep kept no time courses (timecourses = false)")
        return tc if rows is None else tc[rows]

    def _factor_columns(self) -> dict[str, Any]:
        cols: dict[str, Any] = {}
        for j, name in enumerate(self.factor_names):
            cols[name] = self.labels[name] if name in self.labels else self.parameters[:, j]
        return cols

    def to_dataframe(self, long: bool = False) -> Any:
        """A table of the results (pandas).

        ``long=False``: one row per run: ``row``, the factors (level factors as their labels),
        ``status``, ``message``, then one column per metric. ``long=True``: one row per run and
        metric, with columns ``row``, factors, ``status``, ``message``, ``metric``, ``observable``,
        ``value`` (the long/tidy form for grouping and plotting).
        """
        import pandas as pd

        cols: dict[str, Any] = {"row": np.arange(len(self.status)), **self._factor_columns()}
        cols["status"] = self.status
        cols["message"] = self.messages
        if not long:
            cols.update(self.metrics)
            return pd.DataFrame(cols)
        base = pd.DataFrame(cols)
        parts = []
        for name, values in self.metrics.items():
            metric, obs = name.rsplit(":", 1) if name.startswith(("time_above:", "time_below:")) else name.split(":", 1)
            part = base.copy()
            part["metric"], part["observable"], part["value"] = metric, obs, values
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def to_xarray(self, timecourses: bool = False) -> Any:
        """A labelled ``xarray.Dataset`` over dimension ``row`` (needs xarray: ``pip install il6sim[dist]``).

        Factor columns (labels for level factors), ``status`` and ``message`` are coordinates; every
        metric is a variable; with ``timecourses=True`` each observable is a (row, time_h) variable.
        """
        try:
            import xarray as xr
        except ImportError:
            raise Il6simError("to_xarray needs xarray: pip install 'il6sim[dist]' (or xarray)") from None
        coords: dict[str, Any] = {"row": np.arange(len(self.status))}
        for name, col in self._factor_columns().items():
            coords[name] = ("row", np.asarray(col))
        coords["status"] = ("row", self.status)
        coords["message"] = ("row", np.asarray(self.messages, dtype=str))
        data: dict[str, Any] = {name: ("row", v) for name, v in self.metrics.items()}
        if timecourses:
            coords["time_h"] = self.time_h
            tc = self.timecourses()
            for j, o in enumerate(self.observables):
                data[o] = (("row", "time_h"), tc[:, :, j])
        prov = {k: json.dumps(v) for k, v in self.manifest.items() if k in ("provenance", "spec", "digest")}
        return xr.Dataset(data, coords=coords, attrs=prov)


    def to_netcdf(self, path: str | Path, timecourses: bool = False) -> Path:
        """Write :meth:`to_xarray` as one netCDF file (netCDF3 through scipy: no extra C library).

        The file is written next to ``path`` and renamed into place, so it is never half-written;
        read it back with ``xarray.open_dataset(path)``. Needs xarray (``pip install il6sim[dist]``).
        """
        import os
        import tempfile

        target = Path(path)
        ds = self.to_xarray(timecourses=timecourses)
        directory = target.parent if str(target.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        except OSError as exc:
            raise Il6simError(f"{target}: cannot write here: {exc.strerror}") from None
        os.close(fd)
        try:
            ds.to_netcdf(tmp, engine="scipy")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

def _metric_values(t: np.ndarray, obs: np.ndarray, metrics: Sequence[str], auc_ref: np.ndarray | None) -> np.ndarray:
    """(n_rows, n_obs * n_metrics) in ``metric_names`` order from (n_rows, n_t, n_obs) time courses."""
    dt = np.diff(t)
    auc = np.sum(0.5 * (obs[:, 1:] + obs[:, :-1]) * dt[None, :, None], axis=1) if t.size > 1 else obs[:, 0] * 0
    cols = []
    for o in range(obs.shape[2]):
        y = obs[:, :, o]
        for m in metrics:
            if m == "peak":
                cols.append(np.max(y, axis=1))
            elif m == "trough":
                cols.append(np.min(y, axis=1))
            elif m == "auc":
                cols.append(auc[:, o])
            elif m == "inhibition":
                ref = auc_ref[:, o] if auc_ref is not None else np.full(len(y), np.nan)
                with np.errstate(divide="ignore", invalid="ignore"):
                    cols.append(np.where(ref != 0, 100.0 * (1.0 - auc[:, o] / ref), np.nan))
            else:  # time_above/time_below:<threshold>, with linear interpolation of the crossings
                d = y - float(m.split(":", 1)[1])
                if m.startswith("time_below:"):  # time below X is the time -y spends above -X
                    d = -d
                a, b = d[:, :-1], d[:, 1:]
                with np.errstate(divide="ignore", invalid="ignore"):
                    frac = np.where((a > 0) & (b > 0), 1.0,
                                    np.where((a > 0) != (b > 0), np.maximum(a, b).clip(0) / (np.abs(a) + np.abs(b)),
                                             0.0))
                val = np.sum(frac * dt[None, :], axis=1)
                cols.append(np.where(np.isnan(y).any(axis=1), np.nan, val))
    return np.stack(cols, axis=1) if cols else np.zeros((obs.shape[0], 0))


def _observables(cn: CompiledNetwork, y: np.ndarray, idx: Sequence[int]) -> np.ndarray:
    """``cn.observables(y)[:, idx]`` without BLAS: the same bits whatever the BLAS thread count.

    A threaded matrix product may sum in another order when a Dask worker runs BLAS on one
    thread (Dask sets OMP_NUM_THREADS=1), so the sweep uses einsum's plain loops instead.
    """
    rows = list(idx)
    out = np.einsum("ts,os->to", y, cn.observable_matrix[rows], optimize=False)
    den_m = cn.observable_denominator[rows]
    ratio = np.any(den_m != 0, axis=1)
    if ratio.any():
        den = np.einsum("ts,os->to", y, den_m[ratio], optimize=False)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, ratio] = np.where(den != 0, out[:, ratio] / np.where(den != 0, den, 1.0), 0.0)
    return out


@dataclass(frozen=True)
class _Setting:
    """One combination of drugs, doses, scenario, genotypes and weight: a compiled network and protocols."""

    run: Any
    cn: CompiledNetwork
    protocol: Protocol
    untreated: Protocol
    base: np.ndarray
    fidx: list[int]
    obs_idx: list[int]


class _Runner:
    """Everything fixed across chunks: the output grid, and a cache of compiled settings.

    ``chunk(values)`` runs an (n_rows, n_factors) block of the design matrix and returns a dict
    with ``values``, ``status``, ``messages``, ``metrics`` (n_rows, n_metrics), ``labels`` and, if
    kept, ``timecourses`` (n_rows, n_t, n_observables).
    """

    _CACHE = 64  # settings kept (a drawn body weight makes one per dosed row)

    def __init__(self, spec: SweepSpec) -> None:
        self.spec = spec
        self.t = _time_grid(spec.duration_h, spec.step_h)
        self.param_cols = [j for j, f in enumerate(spec.factors) if f.kind == "parameter"]
        self.level_cols = [j for j, f in enumerate(spec.factors) if f.is_level]
        self.weight_col = next((j for j, f in enumerate(spec.factors) if f.kind == "weight"), None)
        self._settings: OrderedDict[tuple[Any, ...], _Setting] = OrderedDict()
        self._lock = threading.RLock()
        default = self.setting(self.key(np.zeros(len(spec.factors)) if self.weight_col is None else
                                        np.array([_weight_kg(spec.weight) if j == self.weight_col else 0.0
                                                  for j in range(len(spec.factors))])))
        # the setting of level 0 of every level factor (the only one when no level factor is given)
        self.run, self.cn, self.protocol, self.untreated = default.run, default.cn, default.protocol, default.untreated
        self.obs_idx, self.fidx, self.base = default.obs_idx, default.fidx, default.base

    def key(self, row: np.ndarray) -> tuple[Any, ...]:
        levels = tuple(int(row[j]) for j in self.level_cols)
        w = None if self.weight_col is None else float(row[self.weight_col])
        return (*levels, w)

    def setting(self, key: tuple[Any, ...]) -> _Setting:
        with self._lock:  # Dask may run chunks in threads of one process
            return self._setting_locked(key)

    def _setting_locked(self, key: tuple[Any, ...]) -> _Setting:
        from .compiled import compile_network

        if key in self._settings:
            self._settings.move_to_end(key)
            return self._settings[key]
        spec = self.spec
        levels = dict(zip(self.level_cols, key[:-1]))
        run = _setting_run(spec.network, spec.factors, spec.drugs, spec.scenario, spec.weight, spec.duration_h,
                           levels, weight_kg=key[-1])
        cn = compile_network(run.network)
        st = _Setting(run, cn, run.protocol, run.scenario.protocol if run.scenario is not None else Protocol(),
                      cn.parameter_vector(run.parameters), [cn.parameter_index[spec.factors[j].parameter]
                                                            for j in self.param_cols],
                      [cn.observable_ids.index(o) for o in spec.observables])
        self._settings[key] = st
        if len(self._settings) > self._CACHE:
            self._settings.popitem(last=False)
        return st

    def parameter_rows(self, values: np.ndarray) -> np.ndarray:
        """Full parameter vectors of the default setting with the parameter factors' values."""
        p = np.tile(self.base, (values.shape[0], 1))
        p[:, self.fidx] = values[:, self.param_cols]
        return p

    def labels(self, values: np.ndarray) -> np.ndarray:
        """(n_rows, n_level_factors) labels of the rows' levels."""
        out = np.empty((len(values), len(self.level_cols)), dtype=object)
        for c, j in enumerate(self.level_cols):
            lab = self.spec.factors[j].labels
            out[:, c] = [lab[int(v)] for v in values[:, j]]
        return out.astype(str) if out.size else np.zeros((len(values), 0), dtype=str)

    def chunk(self, values: np.ndarray) -> dict[str, np.ndarray]:
        values = np.asarray(values, dtype=float)
        spec = self.spec
        n, n_obs = len(values), len(spec.observables)
        status = np.zeros(n, dtype=np.int64)
        messages = [""] * n
        obs = np.full((n, self.t.size, n_obs), np.nan)
        ref_obs = np.full((n, self.t.size, n_obs), np.nan) if "inhibition" in spec.metrics else None
        groups: dict[tuple[Any, ...], list[int]] = {}
        for r in range(n):
            row = values[r]
            key = self.key(row)
            if key[-1] is not None:  # weight matters only with drugs: untreated rows share a setting
                try:
                    has_drug = bool(self.setting((*key[:-1], DEFAULT_WEIGHT_KG)).run.doses)
                except Il6simError:
                    has_drug = True
                if not has_drug:
                    key = (*key[:-1], DEFAULT_WEIGHT_KG)
            groups.setdefault(key, []).append(r)
        for key, rows in groups.items():
            try:
                st = self.setting(key)
            except Il6simError as exc:
                status[rows] = BAD_SETTING
                for r in rows:
                    messages[r] = f"setting could not be built: {exc}"
                continue
            self._run_group(st, values[rows], np.asarray(rows), status, messages, obs, ref_obs)
        for r in range(n):
            if status[r] != 0:
                obs[r] = np.nan
        ref_auc = _metric_values(self.t, ref_obs, ["auc"], None) if ref_obs is not None else None
        out = {"values": values, "status": status, "messages": np.array(messages, dtype=str),
               "metrics": _metric_values(self.t, obs, spec.metrics, ref_auc), "labels": self.labels(values)}
        if spec.timecourses:
            out["timecourses"] = obs
        return out

    def _run_group(self, st: _Setting, values: np.ndarray, rows: np.ndarray, status: np.ndarray,
                   messages: list[str], obs: np.ndarray, ref_obs: np.ndarray | None) -> None:
        from .batch import run_batch
        from .solve import steady_state_at

        spec, cn = self.spec, st.cn
        p = np.tile(st.base, (len(rows), 1))
        p[:, st.fidx] = values[:, self.param_cols]
        y0 = np.tile(cn.x0, (len(rows), 1))
        ok = np.ones(len(rows), dtype=bool)
        cache: dict[bytes, Any] = {}
        for k in range(len(rows)):
            b = p[k].tobytes()
            if b not in cache:
                cache[b] = steady_state_at(cn, p[k], cn.x0.copy())
            ss = cache[b]
            if ss.converged and np.all(np.isfinite(ss.values)):
                y0[k] = ss.values
            else:
                ok[k] = False
                status[rows[k]] = NO_STEADY_STATE
                messages[rows[k]] = f"no steady state found to start from (residual {ss.residual:.2e})"
        good = np.where(ok)[0]
        if not good.size:
            return
        kw: dict[str, Any] = {"rtol": spec.rtol, "atol": spec.atol, "max_steps": spec.max_steps}
        res = run_batch(cn, p[good], st.protocol, self.t, y0=y0[good], **kw)
        for k, g in enumerate(good):
            r = rows[g]
            status[r], messages[r] = res.status[k], res.messages[k]
            if res.status[k] == 0:
                obs[r] = _observables(cn, res.y[k], st.obs_idx)
        if ref_obs is None:
            return
        same = st.protocol == st.untreated  # untreated rows are their own reference
        ref = res if same else run_batch(cn, p[good], st.untreated, self.t, y0=y0[good], **kw)
        for k, g in enumerate(good):
            r = rows[g]
            if ref.status[k] == 0:
                ref_obs[r] = _observables(cn, ref.y[k], st.obs_idx)
            elif status[r] == 0:
                status[r] = ref.status[k]
                messages[r] = f"untreated reference run: {ref.messages[k]}"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def _chunk_complete(path: Path, n_rows: int, digest: str) -> bool:
    try:
        with np.load(path, allow_pickle=False) as z:
            ok = str(z["digest"]) == digest and z["status"].shape == (n_rows,)
            for k in z.files:  # read every array: a damaged file fails here, not later
                z[k]
            return bool(ok and "metrics" in z)
    except Exception:  # unreadable or truncated: recompute it
        return False


def check_disk(spec: SweepSpec, out_dir: str | Path) -> int:
    """Estimated bytes of the sweep's output; raise a one-line error if the disk cannot hold them.

    >>> spec = spec_from_dict({"sweep": {"days": 1, "observables": ["crp_mg_l"]}})
    >>> 0 < check_disk(spec, ".") < 100_000
    True
    """
    need = spec.n_rows * spec.bytes_per_row() + 64 * 1024 + 1024 * math.ceil(spec.n_rows / spec.chunk_size)
    where = Path(out_dir).absolute()
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    if need > free:
        key = "rows" if "rows" in spec.raw.get("sweep", {}) else None
        raise spec.error(("sweep",), key, f"too many runs for the disk: {spec.n_rows:,} rows need about "
                                          f"{_size(need)} in {out_dir}, and {_size(free)} are free "
                                          "(fewer rows, timecourses = false, a larger step or another disk)")
    return need


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"  # pragma: no cover


_WORKER_RUNNERS: OrderedDict[str, _Runner] = OrderedDict()
_WORKER_LOCK = threading.Lock()


def _remote_chunk(spec: SweepSpec, values: np.ndarray) -> dict[str, np.ndarray]:
    """A chunk on a Dask worker; the runner (compiled settings) is kept per worker process."""
    digest = spec.digest()
    with _WORKER_LOCK:
        runner = _WORKER_RUNNERS.get(digest)
        if runner is None:
            runner = _WORKER_RUNNERS[digest] = _Runner(spec)
            while len(_WORKER_RUNNERS) > 2:
                _WORKER_RUNNERS.popitem(last=False)
    return runner.chunk(values)


def sweep(spec_or_path: SweepSpec | str | Path, out_dir: str | Path | None = None, *, resume: bool = False,
          progress: Callable[[int, int], None] | None = None, client: Any = None) -> SweepResult:
    """Run a sweep, chunk by chunk; with ``out_dir``, write each chunk and a manifest there.

    Parameters
    ----------
    spec_or_path : a :class:`SweepSpec` or the path of a sweep file (validated before any work).
    out_dir : directory for ``manifest.json`` and ``chunk-NNNNN.npz`` (created if missing);
        ``None`` keeps everything in memory.
    resume : keep chunk files that are complete and belong to this spec; recompute the others.
    progress : called as ``progress(rows_done, n_rows)`` after each chunk.
    client : a ``dask.distributed.Client``: chunks run as tasks on its workers (a few in flight
        per worker) and this process writes them as they arrive. Same numbers as a local run.

    >>> spec = spec_from_dict({"sweep": {"days": 1, "step": "12 h", "metrics": ["auc"],
    ...                                  "observables": ["crp_mg_l"]}})
    >>> sweep(spec).metrics["auc:crp_mg_l"].shape
    (1,)
    """
    spec = spec_or_path if isinstance(spec_or_path, SweepSpec) else load_sweep_spec(spec_or_path)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        check_disk(spec, out)  # before any work or directory
    values = design_matrix(spec)
    runner = _Runner(spec)
    n_rows, cs = len(values), spec.chunk_size
    digest = spec.digest()
    chunks: list[dict[str, Any]] = [{"file": f"chunk-{i:05d}.npz", "start": s, "stop": min(s + cs, n_rows)}
                                    for i, s in enumerate(range(0, n_rows, cs))]
    manifest = {
        "format": _FORMAT, "kind": "il6sim-sweep", "complete": False, "digest": digest,
        "spec": _jsonable(spec.raw), "spec_source": spec.source,
        "factor_names": list(spec.factor_names), "label_names": list(spec.label_names),
        "factors": [{"name": f.parameter, "kind": f.kind, **({"labels": list(f.labels)} if f.labels else {})}
                    for f in spec.factors],
        "observables": list(spec.observables), "metric_names": list(spec.metric_names), "n_rows": n_rows,
        "t": runner.t.tolist(),
        "provenance": {"il6sim_version": __version__, "model": spec.network.name,
                       "network_hash": runner.cn.content_hash, "base_network_hash": spec.network.content_hash,
                       "solver": {"solver": "jit", "method": "Rodas5P", "rtol": spec.rtol, "atol": spec.atol,
                                  "max_steps": spec.max_steps}},
        "chunks": chunks,
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        old = out / "manifest.json"
        if resume and old.is_file():
            try:
                prev = json.loads(old.read_text())
            except (OSError, ValueError):
                prev = {}
            if prev.get("digest") not in (None, digest):
                raise Il6simError(f"{out}: holds a different sweep (spec or model changed); "
                                  "use another directory or run without resume")
        for tmp in out.glob(".chunk-*.tmp"):  # left by a killed run
            tmp.unlink(missing_ok=True)
        atomic_write(old, json.dumps(manifest, indent=1).encode())
    metrics = np.full((n_rows, len(spec.metric_names)), np.nan)
    status = np.zeros(n_rows, dtype=np.int64)
    messages = np.empty(n_rows, dtype=object)
    labels = np.empty((n_rows, len(spec.label_names)), dtype=object)
    keep_tc = out is None and spec.timecourses
    tcs: dict[int, np.ndarray] = {}
    done_rows = 0

    def store(i: int, data: Mapping[str, np.ndarray], fresh: bool) -> None:
        nonlocal done_rows
        ch = chunks[i]
        a, b = ch["start"], ch["stop"]
        if fresh and out is not None:
            buf = io.BytesIO()
            np.savez(buf, allow_pickle=False, digest=np.array(digest), start=np.array(a), **data)
            atomic_write(out / ch["file"], buf.getvalue())
        metrics[a:b], status[a:b], messages[a:b] = data["metrics"], data["status"], data["messages"]
        labels[a:b] = data["labels"].reshape(b - a, -1)
        if keep_tc:
            tcs[i] = data["timecourses"]
        done_rows += b - a
        if progress is not None:
            progress(done_rows, n_rows)

    todo = []
    for i, ch in enumerate(chunks):
        path = out / ch["file"] if out is not None else None
        if path is not None and resume and _chunk_complete(path, ch["stop"] - ch["start"], digest):
            with np.load(path, allow_pickle=False) as z:
                store(i, {k: z[k] for k in ("status", "messages", "metrics", "labels") if k in z}
                      | ({} if "labels" in z else {"labels": np.zeros((ch["stop"] - ch["start"], 0), dtype=str)}),
                      False)
        else:
            todo.append(i)
    if client is None:
        for i in todo:
            store(i, runner.chunk(values[chunks[i]["start"]:chunks[i]["stop"]]), True)
    else:
        _run_on_dask(client, spec, values, chunks, todo, store)
    if out is not None:
        manifest["complete"] = True
        atomic_write(out / "manifest.json", json.dumps(manifest, indent=1).encode())
    return SweepResult(spec.factor_names, values, status, messages.astype(str),
                       {name: metrics[:, j] for j, name in enumerate(spec.metric_names)}, runner.t,
                       spec.observables, manifest, out,
                       np.concatenate([tcs[i] for i in sorted(tcs)]) if keep_tc else None,
                       {name: labels[:, j].astype(str) for j, name in enumerate(spec.label_names)})


def _run_on_dask(client: Any, spec: SweepSpec, values: np.ndarray, chunks: list[dict[str, Any]], todo: list[int],
                 store: Callable[[int, Mapping[str, np.ndarray], bool], None]) -> None:
    """Chunks as Dask tasks, a bounded number in flight (memory stays flat); results stored as they come."""
    from dask.distributed import as_completed

    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:  # pragma: no cover - an exotic client: assume one worker
        n_workers = 1
    window = 2 * n_workers + 1
    [spec_future] = client.scatter([spec], broadcast=True)
    pending = list(todo)
    index: dict[Any, int] = {}

    def submit() -> Any:
        i = pending.pop(0)
        ch = chunks[i]
        fut = client.submit(_remote_chunk, spec_future, values[ch["start"]:ch["stop"]], pure=False)
        index[fut] = i
        return fut

    running = as_completed([submit() for _ in range(min(window, len(pending)))])
    for fut in running:
        i = index.pop(fut)
        try:
            data = fut.result()
        except Exception as exc:  # a worker died or could not run the chunk: one line, resumable
            raise Il6simError(f"chunk {i} failed on the Dask cluster ({type(exc).__name__}: {exc}); "
                              "finished chunks are kept, rerun with resume") from None
        fut.release()
        store(i, data, True)
        if pending:
            running.add(submit())


def _check_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Refuse a manifest whose fields are missing or of the wrong type, or whose chunks leave ``out``."""
    expect = {"chunks": list, "metric_names": list, "factor_names": list, "observables": list, "t": list,
              "digest": str}
    for key, kind in expect.items():
        if not isinstance(manifest.get(key), kind):
            raise Il6simError(f"{out}/manifest.json: key {key!r} missing or not a {kind.__name__}; "
                              "the sweep directory is damaged, rerun the sweep")
    for i, ch in enumerate(manifest["chunks"]):
        name = ch.get("file") if isinstance(ch, dict) else None
        if not isinstance(name, str) or Path(name).name != name or not name.startswith("chunk-"):
            raise Il6simError(f"{out}/manifest.json: chunks[{i}] is not a chunk entry of this directory; "
                              "the sweep directory is damaged, rerun the sweep")


def load_sweep(out_dir: str | Path) -> SweepResult:
    """Read a finished sweep back from its directory (no pickle; time courses stay on disk).

    >>> load_sweep("no/such/dir")
    Traceback (most recent call last):
    ...
    il6sim.errors.Il6simError: no/such/dir: no manifest.json here; is this a sweep directory?
    """
    out = Path(out_dir)
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except FileNotFoundError:
        raise Il6simError(f"{out}: no manifest.json here; is this a sweep directory?") from None
    except ValueError as exc:
        raise Il6simError(f"{out}/manifest.json: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "il6sim-sweep":
        raise Il6simError(f"{out}/manifest.json: not an il6sim sweep manifest")
    if not manifest.get("complete"):
        raise Il6simError(f"{out}: the sweep did not finish; run it again with resume to complete it")
    _check_manifest(out, manifest)
    parts: dict[str, list[np.ndarray]] = {"values": [], "status": [], "messages": [], "metrics": [], "labels": []}
    for ch in manifest["chunks"]:
        try:
            with np.load(out / ch["file"], allow_pickle=False) as z:
                if str(z["digest"]) != manifest["digest"]:
                    raise Il6simError(f"{out / ch['file']}: belongs to another sweep; rerun with resume")
                for k in parts:
                    parts[k].append(z[k] if k in z else np.zeros((len(z["status"]), 0), dtype=str))
        except (OSError, ValueError, KeyError) as exc:
            raise Il6simError(f"{out / ch['file']}: unreadable chunk ({exc}); rerun the sweep with resume") from None
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    names = manifest["metric_names"]
    label_names = manifest.get("label_names", [])
    n = len(cat["status"])
    return SweepResult(tuple(manifest["factor_names"]), cat["values"].reshape(n, -1),
                       cat["status"], cat["messages"], {m: cat["metrics"][:, j] for j, m in enumerate(names)},
                       np.array(manifest["t"]), tuple(manifest["observables"]), manifest, out, None,
                       {m: cat["labels"].reshape(n, -1)[:, j] for j, m in enumerate(label_names)})
