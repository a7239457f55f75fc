"""Parameter sweeps: seeded designs, chunked and resumable runs through the jitted batch solver.

A sweep file (TOML) names a model, an optional scenario and dosing, the readouts and their
metrics, and the factors that vary::

    [sweep]
    model = "il6"              # shipped name or path (default "il6")
    scenario = "covid_severe"  # optional
    days = 28                  # simulated time (default: the scenario's, else 28 d)
    step = "6 h"               # output interval (metrics are computed on this grid)
    seed = 1                   # samplers are seeded; same seed → same numbers
    rows = 64                  # rows drawn by the samplers (grid factors multiply it)
    chunk_size = 32            # rows per chunk file
    observables = ["il6_free_pg_ml", "crp_mg_l"]
    metrics = ["peak", "auc", "trough", "time_above:10", "inhibition"]

    [[factors]]                # a grid: every value crossed with every other factor's
    parameter = "k_il6_basal"
    grid = ["0.5 nM/h", "1 nM/h"]

    [[factors]]                # a sampler: lhs, sobol, halton (low/high, scale = "linear"|"log"),
    parameter = "kd_il6_sil6r" # uniform, loguniform (low/high), normal (mean/sd), lognormal (median/sigma)
    sampler = "lhs"
    low = "0.1 nM"
    high = "1 nM"

    [[drugs]]                  # optional, as ``build_run``'s drug groups
    drug = "tocilizumab"
    dose = "8 mg/kg"
    at = "7 d"

Design rules
------------
* The whole design matrix is drawn up front from ``seed`` (one draw per sampler family, so
  LHS/Sobol stratification holds jointly), so a row's values never depend on ``chunk_size``.
  Grid factors are crossed (``itertools.product``) with the sampled rows.
* Every row starts from its own steady state at the scenario's parameters plus the row's values
  (as ``simulate(..., initial="steady")``); the scenario and doses then act from t = 0.
* Failures are data: a row whose steady state or integration fails keeps a status code and a
  message, and NaN metrics; the other rows are unaffected. Status codes are those of
  :mod:`il6sim._jitsolve` (0 success, 1-4 solver failures) plus 5 (no steady state).
* ``inhibition`` (percent) = 100 · (1 − AUC / AUC of the same row run without the drugs).
* Each chunk is written atomically to ``chunk-NNNNN.npz`` (``allow_pickle=False``), next to a
  ``manifest.json`` holding the spec, provenance and chunk list. ``resume=True`` keeps chunks whose
  file is complete and belongs to the same spec. Only metrics (n_rows × n_metrics) stay in memory.

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
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .compiled import CompiledNetwork
from .drugs import DEFAULT_WEIGHT_KG
from .errors import Il6simError, UnitError, suggest
from .network import Network
from .protocol import Protocol
from .results import atomic_write
from .tomlsource import TomlSource, check_keys, read_toml
from .units import parse_time

__all__ = ["Factor", "SweepResult", "SweepSpec", "load_sweep", "load_sweep_spec", "spec_from_dict", "sweep"]

SAMPLERS = ("lhs", "sobol", "halton", "uniform", "loguniform", "normal", "lognormal")
_QMC = ("lhs", "sobol", "halton")
METRICS = ("peak", "trough", "auc", "time_above:<threshold>", "inhibition")
NO_STEADY_STATE = 5
_SWEEP_KEYS = ("model", "scenario", "days", "step", "seed", "rows", "chunk_size", "observables", "metrics",
               "weight", "rtol", "atol", "max_steps", "timecourses", "name", "description")
_FACTOR_KEYS = ("parameter", "grid", "sampler", "low", "high", "scale", "mean", "sd", "median", "sigma", "name")
_DRUG_KEYS = ("drug", "dose", "route", "at", "every", "count", "infusion")
_FORMAT = 1


@dataclass(frozen=True)
class Factor:
    """One varied parameter: a grid of values or a sampler with its settings (core units)."""

    parameter: str
    grid: tuple[float, ...] = ()
    sampler: str | None = None
    low: float = math.nan
    high: float = math.nan
    log: bool = False
    mean: float = math.nan
    sd: float = math.nan


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep: everything needed to reproduce it, values in core units (nM, h)."""

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

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.parameter for f in self.factors)

    @property
    def n_rows(self) -> int:
        """Rows of the design: the product of the grid sizes times ``rows`` (if any factor samples)."""
        n = self.rows if any(f.sampler for f in self.factors) else 1
        for f in self.factors:
            if f.grid:
                n *= len(f.grid)
        return n

    @property
    def metric_names(self) -> tuple[str, ...]:
        """Column names ``metric:observable``, in the order chunks store them."""
        return tuple(f"{m}:{o}" for o in self.observables for m in self.metrics)

    def digest(self) -> str:
        """Hash of everything that changes the numbers (not the chunking)."""
        payload = {"raw": _jsonable(self.raw), "network": self.network.content_hash, "format": _FORMAT}
        payload["raw"].get("sweep", {}).pop("chunk_size", None)
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


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


def parse_sweep_spec(src: TomlSource) -> SweepSpec:
    """Validate a parsed sweep file; raises :class:`ModelFileError` on the first problem."""
    from .regimen import build_run
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
    model_ref: str | Path = model
    if src.path and not src.path.startswith("<") and (Path(src.path).parent / model).is_file():
        model_ref = Path(src.path).parent / model
    try:
        network = load_model(model_ref)
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
        groups.append(dict(d))
    scenario = head.get("scenario")
    if scenario is not None and not isinstance(scenario, str):
        raise src.error(where, "scenario", "must be a scenario name or path")
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
        run = build_run(network, scenario=scenario, drug_groups=groups, weight=weight, duration_h=duration_h)
    except Il6simError as exc:
        key = "scenario" if scenario and "scenario" in str(exc).lower() else ("drugs" if groups else "scenario")
        raise src.error(where if key == "scenario" else (), key, str(exc)) from None
    try:
        step_h = parse_time(head.get("step", "6 h"), "h")
    except UnitError as exc:
        raise src.error(where, "step", str(exc)) from None
    if not (0 < step_h <= run.duration_h):
        raise src.error(where, "step", f"must be > 0 and at most the simulated time ({run.duration_h:g} h)")

    obs_ids = tuple(o.id for o in run.network.observables)
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
        if m.startswith("time_above:"):
            try:
                float(m.split(":", 1)[1])
            except ValueError:
                raise src.error(where, "metrics", f"'{m}': give a number after 'time_above:' "
                                                  "(in the observable's unit)") from None
        elif m not in ("peak", "trough", "auc", "inhibition"):
            raise src.error(where, "metrics", f"unknown metric '{m}'{suggest(m, ('peak', 'trough', 'auc', 'inhibition'))}"
                                              f" (valid: {', '.join(METRICS)})")
        if m == "inhibition" and not groups:
            raise src.error(where, "metrics", "'inhibition' compares with the untreated run: add [[drugs]]")

    raw_factors = data.get("factors", [])
    if not isinstance(raw_factors, list):
        raise src.error((), "factors", "must be an array of tables [[factors]]")
    factors = tuple(_parse_factor(src, i, f, run.network) for i, f in enumerate(raw_factors))
    names = [f.parameter for f in factors]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise src.error(("factors", i), "parameter", f"'{n}' is varied twice; give each parameter one factor")

    return SweepSpec(network, model, scenario, float(run.duration_h), float(step_h), seed, rows, chunk_size,
                     tuple(observables), tuple(metrics), factors, tuple(groups), weight, rtol, atol, max_steps,
                     bool(head.get("timecourses", True)), src.path, data)


def _parse_factor(src: TomlSource, i: int, f: Any, network: Network) -> Factor:
    from .scenario import convert_parameter_value

    where = ("factors", i)
    if not isinstance(f, dict):
        raise src.error(where, None, "must be a table")
    check_keys(src, where, f, _FACTOR_KEYS)
    pid = f.get("parameter")
    if not isinstance(pid, str):
        raise src.error(where, "parameter", "missing: name the parameter to vary")
    if pid not in network.parameter_ids:
        raise src.error(where, "parameter", f"unknown parameter '{pid}'{suggest(pid, network.parameter_ids)}")

    def value(key: str) -> float:
        if key not in f:
            raise src.error(where, key, f"missing: sampler '{f.get('sampler')}' needs '{key}'")
        v = f[key]
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            raise src.error(where, key, "must be a number with its unit")
        try:
            return convert_parameter_value(network, pid, v)
        except UnitError as exc:
            raise src.error(where, key, str(exc)) from None

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
    sampler = f["sampler"]
    if sampler not in SAMPLERS:
        raise src.error(where, "sampler", f"unknown sampler '{sampler}'{suggest(str(sampler), SAMPLERS)} "
                                          f"(valid: {', '.join(SAMPLERS)})")
    scale = f.get("scale", "log" if sampler == "loguniform" else "linear")
    if scale not in ("linear", "log") or (sampler == "loguniform" and scale != "log"):
        raise src.error(where, "scale", f"must be 'linear' or 'log', got {scale!r}")
    if sampler in _QMC or sampler in ("uniform", "loguniform"):
        low, high = value("low"), value("high")
        if not low < high:
            raise src.error(where, "high", f"empty range: low ({low:g}) must be < high ({high:g}) in core units")
        if scale == "log" and low <= 0:
            raise src.error(where, "low", "must be > 0 on a log scale")
        return Factor(pid, sampler=sampler, low=low, high=high, log=scale == "log")
    if sampler == "normal":
        mean, sd = value("mean"), value("sd")
        if not sd > 0:
            raise src.error(where, "sd", f"must be > 0, got {f['sd']!r}")
        return Factor(pid, sampler=sampler, mean=mean, sd=sd)
    median = value("median")
    sigma = f.get("sigma")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not (sigma > 0 and math.isfinite(sigma)):
        raise src.error(where, "sigma", f"must be a positive number (the sd of log(value)), got {sigma!r}")
    if not median > 0:
        raise src.error(where, "median", "must be > 0")
    return Factor(pid, sampler=sampler, mean=median, sd=float(sigma))


# --------------------------------------------------------------------------------------------
def design_matrix(spec: SweepSpec) -> np.ndarray:
    """The (n_rows, n_factors) matrix of values in core units, drawn from ``spec.seed``.

    Grid factors vary slowest (in file order), the sampled row fastest.
    """
    from scipy import stats
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
        if not f.sampler:
            continue
        q = np.clip(u[:, i], 1e-15, 1 - 1e-15)
        if f.sampler == "normal":  # truncated at 0: parameters are non-negative
            lo = stats.norm.cdf(0.0, f.mean, f.sd)
            sample[:, i] = stats.norm.ppf(lo + q * (1 - lo), f.mean, f.sd)
        elif f.sampler == "lognormal":
            sample[:, i] = f.mean * np.exp(f.sd * stats.norm.ppf(q))
        elif f.log:
            sample[:, i] = np.exp(np.log(f.low) + q * (np.log(f.high) - np.log(f.low)))
        else:
            sample[:, i] = f.low + q * (f.high - f.low)
    grids = [range(len(f.grid)) if f.grid else range(1) for f in spec.factors]
    out = np.empty((spec.n_rows, len(spec.factors)))
    for r, (combo, s) in enumerate(itertools.product(itertools.product(*grids), range(n_s))):
        for i, f in enumerate(spec.factors):
            out[r, i] = f.grid[combo[i]] if f.grid else sample[s, i]
    return out


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SweepResult:
    """Per-row factor values, status, messages and metrics of a sweep (time courses on demand).

    Attributes
    ----------
    parameters : (n_rows, n_factors) factor values in core units; columns ``factor_names``.
    status : (n_rows,) int, 0 = success (see the module docstring for the codes).
    messages : (n_rows,) str.
    metrics : name (``metric:observable``) → (n_rows,) float, NaN for failed rows.
    time_h : (n_t,) output times, h.
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

    @property
    def ok(self) -> np.ndarray:
        return self.status == 0

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

    def to_dataframe(self) -> Any:
        """A wide table, one row per run: factors, status, message, then every metric."""
        import pandas as pd

        cols: dict[str, Any] = {"row": np.arange(len(self.status))}
        for j, name in enumerate(self.factor_names):
            cols[name] = self.parameters[:, j]
        cols["status"] = self.status
        cols["message"] = self.messages
        cols.update(self.metrics)
        return pd.DataFrame(cols)


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
            else:  # time_above:<threshold>, with linear interpolation of the crossings
                d = y - float(m.split(":", 1)[1])
                a, b = d[:, :-1], d[:, 1:]
                with np.errstate(divide="ignore", invalid="ignore"):
                    frac = np.where((a > 0) & (b > 0), 1.0,
                                    np.where((a > 0) != (b > 0), np.maximum(a, b).clip(0) / (np.abs(a) + np.abs(b)),
                                             0.0))
                val = np.sum(frac * dt[None, :], axis=1)
                cols.append(np.where(np.isnan(y).any(axis=1), np.nan, val))
    return np.stack(cols, axis=1) if cols else np.zeros((obs.shape[0], 0))


class _Runner:
    """Everything fixed across chunks: compiled network, protocols, output grid."""

    def __init__(self, spec: SweepSpec) -> None:
        from .compiled import compile_network
        from .regimen import build_run

        self.spec = spec
        run = build_run(spec.network, scenario=spec.scenario, drug_groups=[dict(g) for g in spec.drugs],
                        weight=spec.weight, duration_h=spec.duration_h)
        self.run = run
        self.cn: CompiledNetwork = compile_network(run.network)
        self.protocol = run.protocol
        self.untreated = run.scenario.protocol if run.scenario is not None else Protocol()
        n_t = int(math.floor(spec.duration_h / spec.step_h + 1e-9)) + 1
        t = np.arange(n_t) * spec.step_h
        self.t = t if math.isclose(t[-1], spec.duration_h) else np.append(t, spec.duration_h)
        self.obs_idx = [self.cn.observable_ids.index(o) for o in spec.observables]
        self.fidx = [self.cn.parameter_index[f] for f in spec.factor_names]
        self.base = self.cn.parameter_vector(run.parameters)

    def parameter_rows(self, values: np.ndarray) -> np.ndarray:
        p = np.tile(self.base, (values.shape[0], 1))
        p[:, self.fidx] = values
        return p

    def chunk(self, values: np.ndarray) -> dict[str, np.ndarray]:
        from ._jitsolve import run_batch
        from .solve import _steady_state_compiled

        spec, cn = self.spec, self.cn
        p = self.parameter_rows(values)
        n = len(p)
        y0 = np.tile(cn.x0, (n, 1))
        status = np.zeros(n, dtype=np.int64)
        messages = [""] * n
        cache: dict[bytes, Any] = {}
        for r in range(n):
            key = p[r].tobytes()
            if key not in cache:
                cache[key] = _steady_state_compiled(cn, p[r], cn.x0.copy())
            ss = cache[key]
            if ss.converged and np.all(np.isfinite(ss.values)):
                y0[r] = ss.values
            else:
                status[r] = NO_STEADY_STATE
                messages[r] = f"no steady state found to start from (residual {ss.residual:.2e})"
        good = np.where(status == 0)[0]
        n_obs = len(self.obs_idx)
        obs = np.full((n, self.t.size, n_obs), np.nan)
        ref_auc = None
        if good.size:
            res = run_batch(cn, p[good], self.protocol, self.t, y0=y0[good], rtol=spec.rtol, atol=spec.atol,
                            max_steps=spec.max_steps)
            status[good] = res.status
            for k, r in enumerate(good):
                messages[r] = res.messages[k]
                if res.status[k] == 0:
                    obs[r] = cn.observables(res.y[k])[:, self.obs_idx]
            if "inhibition" in spec.metrics:
                ref = run_batch(cn, p[good], self.untreated, self.t, y0=y0[good], rtol=spec.rtol, atol=spec.atol,
                                max_steps=spec.max_steps)
                ref_obs = np.full((n, self.t.size, n_obs), np.nan)
                for k, r in enumerate(good):
                    if ref.status[k] == 0:
                        ref_obs[r] = cn.observables(ref.y[k])[:, self.obs_idx]
                    elif status[r] == 0:
                        status[r] = ref.status[k]
                        messages[r] = f"untreated reference run: {ref.messages[k]}"
                        obs[r] = np.nan
                ref_auc = _metric_values(self.t, ref_obs, ["auc"], None)
        for r in range(n):
            if status[r] != 0:
                obs[r] = np.nan
        out = {"values": values, "status": status, "messages": np.array(messages, dtype=str),
               "metrics": _metric_values(self.t, obs, spec.metrics, ref_auc)}
        if spec.timecourses:
            out["timecourses"] = obs
        return out


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
            return str(z["digest"]) == digest and z["status"].shape == (n_rows,) and "metrics" in z
    except Exception:  # unreadable or truncated: recompute it
        return False


def sweep(spec_or_path: SweepSpec | str | Path, out_dir: str | Path | None = None, *, resume: bool = False,
          progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run a sweep, chunk by chunk; with ``out_dir``, write each chunk and a manifest there.

    Parameters
    ----------
    spec_or_path : a :class:`SweepSpec` or the path of a sweep file (validated before any work).
    out_dir : directory for ``manifest.json`` and ``chunk-NNNNN.npz`` (created if missing);
        ``None`` keeps everything in memory.
    resume : keep chunk files that are complete and belong to this spec; recompute the others.
    progress : called as ``progress(rows_done, n_rows)`` after each chunk.

    >>> spec = spec_from_dict({"sweep": {"days": 1, "step": "12 h", "metrics": ["auc"],
    ...                                  "observables": ["crp_mg_l"]}})
    >>> sweep(spec).metrics["auc:crp_mg_l"].shape
    (1,)
    """
    spec = spec_or_path if isinstance(spec_or_path, SweepSpec) else load_sweep_spec(spec_or_path)
    values = design_matrix(spec)
    runner = _Runner(spec)
    n_rows, cs = len(values), spec.chunk_size
    starts = list(range(0, n_rows, cs))
    digest = spec.digest()
    chunks: list[dict[str, Any]] = [{"file": f"chunk-{i:05d}.npz", "start": s, "stop": min(s + cs, n_rows)} for i, s in enumerate(starts)]
    manifest = {
        "format": _FORMAT, "kind": "il6sim-sweep", "complete": False, "digest": digest,
        "spec": _jsonable(spec.raw), "spec_source": spec.source,
        "factor_names": list(spec.factor_names), "observables": list(spec.observables),
        "metric_names": list(spec.metric_names), "n_rows": n_rows, "t": runner.t.tolist(),
        "provenance": {"il6sim_version": __version__, "model": spec.network.name,
                       "network_hash": runner.cn.content_hash, "base_network_hash": spec.network.content_hash,
                       "solver": {"solver": "jit", "method": "Rodas5P", "rtol": spec.rtol, "atol": spec.atol,
                                  "max_steps": spec.max_steps}},
        "chunks": chunks,
    }
    out = Path(out_dir) if out_dir is not None else None
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
        atomic_write(old, json.dumps(manifest, indent=1).encode())
    metrics = np.full((n_rows, len(spec.metric_names)), np.nan)
    status = np.zeros(n_rows, dtype=np.int64)
    messages = np.empty(n_rows, dtype=object)
    tcs: list[np.ndarray] | None = [] if (out is None and spec.timecourses) else None
    for ch in chunks:
        a, b = ch["start"], ch["stop"]
        path = out / ch["file"] if out is not None else None
        if path is not None and resume and _chunk_complete(path, b - a, digest):
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in ("status", "messages", "metrics")}
        else:
            data = runner.chunk(values[a:b])
            if path is not None:
                buf = io.BytesIO()
                arrays: dict[str, Any] = {"digest": np.array(digest), "start": np.array(a), **data}
                np.savez(buf, allow_pickle=False, **arrays)
                atomic_write(path, buf.getvalue())
        metrics[a:b], status[a:b], messages[a:b] = data["metrics"], data["status"], data["messages"]
        if tcs is not None:
            tcs.append(data["timecourses"])
        if progress is not None:
            progress(b, n_rows)
    if out is not None:
        manifest["complete"] = True
        atomic_write(out / "manifest.json", json.dumps(manifest, indent=1).encode())
    return SweepResult(spec.factor_names, values, status, messages.astype(str),
                       {name: metrics[:, j] for j, name in enumerate(spec.metric_names)}, runner.t,
                       spec.observables, manifest, out, np.concatenate(tcs) if tcs else None)


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
    if manifest.get("kind") != "il6sim-sweep":
        raise Il6simError(f"{out}/manifest.json: not an il6sim sweep manifest")
    if not manifest.get("complete"):
        raise Il6simError(f"{out}: the sweep did not finish; run it again with resume to complete it")
    parts: dict[str, list[np.ndarray]] = {"values": [], "status": [], "messages": [], "metrics": []}
    for ch in manifest["chunks"]:
        with np.load(out / ch["file"], allow_pickle=False) as z:
            if str(z["digest"]) != manifest["digest"]:
                raise Il6simError(f"{out / ch['file']}: belongs to another sweep; rerun with resume")
            for k in parts:
                parts[k].append(z[k])
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    names = manifest["metric_names"]
    return SweepResult(tuple(manifest["factor_names"]), cat["values"].reshape(len(cat["status"]), -1),
                       cat["status"], cat["messages"], {n: cat["metrics"][:, j] for j, n in enumerate(names)},
                       np.array(manifest["t"]), tuple(manifest["observables"]), manifest, out)

