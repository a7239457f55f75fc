"""A PEtab v1 problem, checked and lowered to what the objective needs.

:func:`load_problem` reads the YAML and tables (:mod:`~il6sim.estimate.tables`), the model (SBML
through il6sim's reader, or an il6sim TOML model), parses every formula safely
(:mod:`il6sim.expr`), checks every cross-reference with a one-line error naming file,
row and column, and groups the measurements into *experiments* (one per preequilibration and
simulation condition pair), each with its compiled network and the rules that turn a vector of
PEtab parameters into model parameters and initial states.

Values everywhere are a *source*: a constant, or the index of a parameter-table entry; a vector
``x`` of all parameter-table values (linear scale) resolves every source at once, for many rows.

The il6sim extension (optional, documented in ``docs/estimation.md``): the problem entry may hold
``il6sim: {conditions: {CONDITION_ID: {scenario: NAME, regimen: FILE, weight: "70 kg"}}}``; such a
condition is built as ``il6sim.build_run`` builds it (drugs added, doses, scenario events), starts
from the drug-free steady state, and its measurement times are in hours.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..compiled import CompiledNetwork, compile_network
from ..errors import Il6simError, suggest
from ..expr import Formula, FormulaError, parse_formula
from ..network import Network
from ..protocol import Protocol
from ..sbml_model import SbmlModel
from ..sbml_simulate import SbmlCompiled
from .tables import PetabError, Table, number, read_problem_yaml, read_table

__all__ = ["Experiment", "Measurements", "ObservableSpec", "ParameterSpec", "Problem", "Source", "load_problem"]

SCALES = ("lin", "log", "log10")
TRANSFORMS = ("lin", "log", "log10")
DISTRIBUTIONS = ("normal", "laplace")
PRIORS = ("uniform", "normal", "laplace", "logNormal", "logLaplace", "parameterScaleUniform", "parameterScaleNormal",
          "parameterScaleLaplace")
_PLACEHOLDER = re.compile(r"^(observable|noise)Parameter(\d+)_(.+)$")

#: a value: ("const", number) or ("x", index into the parameter table)
Source = tuple[str, float]


@dataclass(frozen=True)
class ParameterSpec:
    """One row of the parameter table (bounds and nominal value on the linear scale)."""

    id: str
    scale: str
    lower: float
    upper: float
    nominal: float
    estimate: bool
    where: str = ""
    prior: str = ""                              # PEtab objectivePriorType ("" = flat on the parameter scale)
    prior_parameters: tuple[float, ...] = ()     # its objectivePriorParameters

    def log_prior(self, x: float) -> float:
        """The log prior density at linear value ``x`` (PEtab v1 definitions; 0 for a flat prior)."""
        kind, p = self.prior, self.prior_parameters
        if kind in ("", "parameterScaleUniform"):
            return 0.0
        v = float(self.to_scale(x)) if kind.startswith("parameterScale") else float(x)
        base = kind.removeprefix("parameterScale")
        base = base[0].lower() + base[1:]
        if base in ("logNormal", "logLaplace"):
            if v <= 0:
                return -math.inf
            shift, v = -math.log(v), math.log(v)  # density of ln x, times d(ln x)/dx = 1/x
        else:
            shift = 0.0
        if base == "uniform":
            return -math.log(p[1] - p[0]) if p[0] <= v <= p[1] else -math.inf
        if base in ("normal", "logNormal"):
            return shift - 0.5 * math.log(2 * math.pi * p[1] ** 2) - 0.5 * ((v - p[0]) / p[1]) ** 2
        return shift - math.log(2 * p[1]) - abs(v - p[0]) / p[1]  # laplace, logLaplace

    def to_scale(self, x: np.ndarray | float) -> np.ndarray:
        """Linear value(s) to this parameter's scale."""
        a = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return a if self.scale == "lin" else (np.log(a) if self.scale == "log" else np.log10(a))

    def from_scale(self, z: np.ndarray | float) -> np.ndarray:
        """Value(s) on this parameter's scale back to linear."""
        a = np.asarray(z, dtype=float)
        with np.errstate(over="ignore"):
            return a if self.scale == "lin" else (np.exp(a) if self.scale == "log" else 10.0**a)


@dataclass(frozen=True)
class ObservableSpec:
    """One row of the observable table: formulas, transformation and noise distribution."""

    id: str
    formula: Formula
    noise: Formula
    transformation: str = "lin"
    distribution: str = "normal"
    n_observable_parameters: int = 0
    n_noise_parameters: int = 0


@dataclass(frozen=True)
class Experiment:
    """Measurements simulated together: one (preequilibration, simulation) condition pair."""

    preequilibration: str | None
    condition: str
    network: Network | SbmlModel
    cn: CompiledNetwork | SbmlCompiled
    protocol: Protocol
    base_parameters: np.ndarray                       # model parameter vector before any source
    parameter_sources: tuple[tuple[int, Source], ...]  # (model parameter index, source), simulation
    preeq_parameter_sources: tuple[tuple[int, Source], ...]
    species_sources: tuple[tuple[int, Source], ...]    # initial values set by the simulation condition
    preeq_species_sources: tuple[tuple[int, Source], ...]
    start_steady: bool                                  # il6sim extension: start from the steady state
    times: np.ndarray                                   # sorted unique finite measurement times
    rows: np.ndarray                                    # measurement rows of this experiment
    time_index: np.ndarray                              # per row: index into times, or -1 for inf


@dataclass(frozen=True)
class Measurements:
    """The measurement table as arrays (one entry per row, in file order)."""

    observable: tuple[str, ...]
    experiment: np.ndarray
    time: np.ndarray
    value: np.ndarray
    observable_parameters: tuple[tuple[str, ...], ...]
    noise_parameters: tuple[tuple[str, ...], ...]
    where: tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    """A checked PEtab problem: parameters, observables, experiments and measurements.

    Use :meth:`log_likelihood`, :meth:`simulate` and :meth:`objective` (see
    :mod:`il6sim.estimate.objective`); fit with :func:`il6sim.estimate.fit`.
    """

    path: str
    network: Network | SbmlModel
    parameters: tuple[ParameterSpec, ...]
    observables: dict[str, ObservableSpec]
    experiments: tuple[Experiment, ...]
    measurements: Measurements
    measurement_table: Table = field(repr=False)
    conditions: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    model_file: str = ""
    extension: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- parameters ---------------------------------------------------------------------------
    @property
    def parameter_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.parameters)

    @property
    def free(self) -> np.ndarray:
        """Indices of the estimated parameters in the parameter table."""
        return np.array([i for i, p in enumerate(self.parameters) if p.estimate], dtype=np.int64)

    @property
    def free_ids(self) -> tuple[str, ...]:
        return tuple(self.parameters[i].id for i in self.free)

    @property
    def nominal(self) -> np.ndarray:
        """All parameter-table values at their nominal values (linear scale)."""
        return np.array([p.nominal for p in self.parameters])

    def bounds_on_scale(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of the estimated parameters on their scales."""
        ps = [self.parameters[i] for i in self.free]
        return (np.array([float(p.to_scale(p.lower)) for p in ps]), np.array([float(p.to_scale(p.upper)) for p in ps]))

    def x_from_free_scaled(self, z: np.ndarray) -> np.ndarray:
        """Rows of estimated values on their scales (n, n_free) → full linear vectors (n, n_all)."""
        z = np.atleast_2d(np.asarray(z, dtype=float))
        x = np.tile(self.nominal, (z.shape[0], 1))
        for k, i in enumerate(self.free):
            x[:, i] = self.parameters[i].from_scale(z[:, k])
        return x

    def free_scaled(self, values: Mapping[str, float] | None = None) -> np.ndarray:
        """Estimated parameters on their scales from linear ``values`` (nominal where not given)."""
        values = dict(values or {})
        unknown = [k for k in values if k not in self.parameter_ids]
        if unknown:
            raise PetabError(f"parameter '{unknown[0]}' is not in the parameter table of {self.path}"
                             f"{suggest(unknown[0], self.parameter_ids)}")
        return np.array([float(self.parameters[i].to_scale(values.get(self.parameters[i].id,
                                                                        self.parameters[i].nominal)))
                         for i in self.free])

    def x_from_values(self, values: Mapping[str, float] | None = None) -> np.ndarray:
        """The full linear parameter vector with ``values`` (linear scale) replacing nominal values."""
        x = self.nominal.copy()
        ids = self.parameter_ids
        for k, v in dict(values or {}).items():
            if k not in ids:
                raise PetabError(f"parameter '{k}' is not in the parameter table of {self.path}{suggest(k, ids)}")
            x[ids.index(k)] = float(v)
        return x

    # -- evaluation (implemented in objective.py; thin wrappers for the public API) -------------
    def log_likelihood(self, parameters: Mapping[str, float] | None = None, **options: Any) -> float:
        """The PEtab log-likelihood (higher is better) at ``parameters`` (linear scale; nominal when None).

        >>> import il6sim.estimate as est
        >>> p = est.load_problem("../shared/petab-benchmark/Perelson_Science1996/Perelson_Science1996.yaml")
        >>> round(p.log_likelihood({"c": 1.860625, "delta": 0.5473381, "sd_task0_model0_perelson1_V": 0.1228322}), 2)
        -222.28
        """
        from .objective import Objective

        return float(-Objective(self, **options).nllh(self.x_from_values(parameters)[None, :])[0])

    def log_prior(self, parameters: Mapping[str, float] | None = None) -> float:
        """Sum of the estimated parameters' log prior densities (PEtab ``objectivePriorType``; flat priors add 0).

        The log-posterior is ``log_likelihood(...) + log_prior(...)``.
        """
        x = self.x_from_values(parameters)
        return float(sum(p.log_prior(float(v)) for p, v in zip(self.parameters, x) if p.estimate))

    @property
    def has_priors(self) -> bool:
        """True when an estimated parameter has a prior that is not flat on its scale."""
        return any(p.estimate and p.prior not in ("", "parameterScaleUniform") for p in self.parameters)

    def simulate(self, parameters: Mapping[str, float] | None = None, **options: Any) -> Any:
        """The measurement table (a pandas DataFrame) with a ``simulation`` column at ``parameters``."""
        from .objective import Objective

        return Objective(self, **options).simulation_table(self.x_from_values(parameters))


# ---------------------------------------------------------------------------------------------
def load_problem(path: str | Path) -> Problem:
    """Read and check a PEtab v1 problem (YAML + tables + SBML or il6sim TOML model).

    Every problem is refused with one line naming file, row and column; nothing is simulated here.
    """
    files = read_problem_yaml(path)
    model_file = files.model_files[0]
    network = _load_network(model_file)
    ptable = read_table(files.parameter_file, required=("parameterId", "parameterScale", "lowerBound", "upperBound",
                                                       "nominalValue", "estimate"))
    parameters = _parameters(ptable)
    otables = [read_table(f, required=("observableId", "observableFormula", "noiseFormula"))
               for f in files.observable_files]
    ctables = [read_table(f, required=("conditionId",)) for f in files.condition_files]
    mtables = [read_table(f, required=("observableId", "simulationConditionId", "measurement", "time"))
               for f in files.measurement_files]
    if len(mtables) != 1:
        mt = _concat(mtables)
    else:
        mt = mtables[0]
    observables = _observables(otables)
    conditions = _conditions(ctables)
    return assemble(files.yaml, network, model_file, parameters, observables, conditions, mt, files.extension)


def _concat(tables: Sequence[Table]) -> Table:
    cols = tuple(dict.fromkeys(c for t in tables for c in t.columns))
    rows, lines = [], []
    for t in tables:
        for r, ln in zip(t.rows, t.lines):
            rows.append({c: r.get(c, "") for c in cols})
            lines.append(ln)
    return Table(" + ".join(t.path for t in tables), cols, rows, lines)


def _load_network(path: str) -> Network | SbmlModel:
    from ..shipped import load_model

    if not Path(path).is_file():
        raise PetabError(f"{path}: no such model file (named in the problem YAML)")
    return load_model(path)


def _new_id(t: Table, i: int, column: str, seen: set[str] | dict[str, Any], what: str) -> str:
    """The identifier in row ``i``, checked to be valid and not seen before in ``seen``."""
    ident = t.rows[i][column]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident):
        raise PetabError(f"{t.where(i, column)}: {ident!r} is not a valid identifier")
    if ident in seen:
        raise PetabError(f"{t.where(i, column)}: {what} '{ident}' is defined twice")
    return ident


def _parameters(t: Table) -> tuple[ParameterSpec, ...]:
    out: list[ParameterSpec] = []
    seen: set[str] = set()
    for i, r in enumerate(t.rows):
        pid = _new_id(t, i, "parameterId", seen, "parameter")
        seen.add(pid)
        scale = r["parameterScale"] or "lin"
        if scale not in SCALES:
            raise PetabError(f"{t.where(i, 'parameterScale')}: {scale!r}; use one of {', '.join(SCALES)}")
        est = r["estimate"]
        if est not in ("0", "1"):
            raise PetabError(f"{t.where(i, 'estimate')}: {est!r}; write 1 (estimated) or 0 (fixed)")
        nominal = number(r["nominalValue"], t.where(i, "nominalValue")) if r["nominalValue"] else math.nan
        lo = number(r["lowerBound"], t.where(i, "lowerBound"), allow_inf=True) if r["lowerBound"] else -math.inf
        hi = number(r["upperBound"], t.where(i, "upperBound"), allow_inf=True) if r["upperBound"] else math.inf
        if est == "1":
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise PetabError(f"{t.where(i, 'lowerBound')}: estimated parameter '{pid}' needs finite bounds")
            if lo > hi:
                raise PetabError(f"{t.where(i, 'lowerBound')}: lower bound {lo:g} is above the upper bound {hi:g} "
                                 f"of '{pid}'; swap them")
            if scale != "lin" and lo <= 0:
                raise PetabError(f"{t.where(i, 'lowerBound')}: '{pid}' is estimated on a {scale} scale, so its "
                                 f"lower bound must be > 0 (got {lo:g})")
        if math.isnan(nominal):
            raise PetabError(f"{t.where(i, 'nominalValue')}: '{pid}' has no nominal value")
        prior = r.get("objectivePriorType", "") or ""
        prior_parameters: tuple[float, ...] = ()
        if prior and prior not in PRIORS:
            raise PetabError(f"{t.where(i, 'objectivePriorType')}: {prior!r}; use one of {', '.join(PRIORS)}")
        if prior and prior != "parameterScaleUniform":
            text = r.get("objectivePriorParameters", "") or ""
            prior_parameters = tuple(number(v, t.where(i, "objectivePriorParameters")) for v in text.split(";") if v)
            if len(prior_parameters) != 2 or prior_parameters[1] <= 0 and "niform" not in prior:
                raise PetabError(f"{t.where(i, 'objectivePriorParameters')}: {prior} needs two numbers 'a;b' "
                                 "(location; scale > 0, or lower; upper for a uniform prior)")
        out.append(ParameterSpec(pid, scale, lo, hi, nominal, est == "1", t.where(i), prior, prior_parameters))
    if not out:
        raise PetabError(f"{t.path}: the parameter table has no rows")
    return tuple(out)


def _observables(tables: Sequence[Table]) -> dict[str, ObservableSpec]:
    out: dict[str, ObservableSpec] = {}
    for t in tables:
        for i, r in enumerate(t.rows):
            oid = _new_id(t, i, "observableId", out, "observable")
            try:
                f = parse_formula(r["observableFormula"], where=t.where(i, "observableFormula"))
                n = parse_formula(r["noiseFormula"] or "1", where=t.where(i, "noiseFormula"))
            except FormulaError as exc:
                raise PetabError(str(exc)) from None
            tr = r.get("observableTransformation") or "lin"
            if tr not in TRANSFORMS:
                raise PetabError(f"{t.where(i, 'observableTransformation')}: {tr!r}; use one of "
                                 f"{', '.join(TRANSFORMS)}")
            dist = r.get("noiseDistribution") or "normal"
            if dist not in DISTRIBUTIONS:
                raise PetabError(f"{t.where(i, 'noiseDistribution')}: {dist!r}; use one of "
                                 f"{', '.join(DISTRIBUTIONS)}")
            n_obs = _n_placeholders(f, "observable", oid, t.where(i, "observableFormula"))
            n_noise = _n_placeholders(n, "noise", oid, t.where(i, "noiseFormula"))
            out[oid] = ObservableSpec(oid, f, n, tr, dist, n_obs, n_noise)
    return out


def _n_placeholders(f: Formula, kind: str, oid: str, where: str) -> int:
    found = set()
    for s in f.symbols:
        m = _PLACEHOLDER.match(s)
        if m and m.group(1) == kind:
            if m.group(3) != oid:
                raise PetabError(f"{where}: placeholder '{s}' belongs to observable '{m.group(3)}', not '{oid}'")
            found.add(int(m.group(2)))
    if found and found != set(range(1, max(found) + 1)):
        raise PetabError(f"{where}: {kind}Parameter placeholders must be numbered 1..n, got {sorted(found)}")
    return len(found)


def _conditions(tables: Sequence[Table]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for t in tables:
        for i, r in enumerate(t.rows):
            cid = r["conditionId"]
            if cid in out:
                raise PetabError(f"{t.where(i, 'conditionId')}: condition '{cid}' is defined twice")
            out[cid] = {k: v for k, v in r.items() if k not in ("conditionId", "conditionName")}
            out[cid]["__where__"] = t.where(i)
    return out


def _source(text: str, ids: Sequence[str], where: str, what: str) -> Source:
    try:
        return ("const", float(text))
    except ValueError:
        pass
    if text in ids:
        return ("x", float(list(ids).index(text)))
    raise PetabError(f"{where}: {text!r} is neither a number nor a parameter of the parameter table{suggest(text, ids)}"
                     f" ({what})")


def _condition_sources(cid: str, cond: Mapping[str, str], net: Network, cn: CompiledNetwork, ids: Sequence[str]
                       ) -> tuple[list[tuple[int, Source]], list[tuple[int, Source]],
                                                           dict[str, float]]:
    params, species, compartments = [], [], {}
    where = cond.get("__where__", cid)
    for col, text in cond.items():
        if col == "__where__" or text == "" or text.lower() == "nan":
            continue
        w = f"{where} column {col}"
        if col in cn.parameter_index:
            params.append((cn.parameter_index[col], _source(text, ids, w, f"condition '{cid}'")))
        elif col in cn.species_ids:
            species.append((cn.species_ids.index(col), _source(text, ids, w, f"condition '{cid}'")))
        elif col in {c.id for c in getattr(net, "compartments", ())}:
            s = _source(text, ids, w, f"condition '{cid}'")
            if s[0] != "const":
                raise PetabError(f"{w}: a compartment size set by an estimated parameter is not supported; "
                                 "give a number")
            compartments[col] = float(s[1])
        elif col in ids:
            raise PetabError(f"{w}: '{col}' is a parameter-table entry, not a model entity; a condition sets model "
                             "parameters, species or compartments")
        else:
            known = list(cn.parameter_ids) + list(cn.species_ids)
            raise PetabError(f"{w}: '{col}' is not a parameter, species or compartment of the model{suggest(col, known)}")
    return params, species, compartments


def assemble(path: str, network: Network | SbmlModel, model_file: str, parameters: tuple[ParameterSpec, ...],
             observables: dict[str, ObservableSpec], conditions: dict[str, dict[str, str]], mt: Table,
             extension: Mapping[str, Any], *, check_usage: bool = True) -> Problem:
    """Check a problem's tables against each other and group its measurements into experiments."""
    ids = [p.id for p in parameters]
    ext_conditions = dict(extension.get("conditions", {}) or {})
    for cid in ext_conditions:
        if cid not in conditions:
            raise PetabError(f"{path}: il6sim.conditions names '{cid}', which is not in the condition table"
                             f"{suggest(cid, list(conditions))}")
    # measurement rows
    obs_col, n = [], len(mt.rows)
    times = np.empty(n)
    values = np.empty(n)
    pairs: dict[tuple[str | None, str], int] = {}
    exp_of = np.empty(n, dtype=np.int64)
    oparams, nparams, wheres = [], [], []
    for i, r in enumerate(mt.rows):
        oid = r["observableId"]
        if oid not in observables:
            raise PetabError(f"{mt.where(i, 'observableId')}: unknown observable '{oid}'{suggest(oid, list(observables))}")
        sim = r["simulationConditionId"]
        if sim not in conditions:
            raise PetabError(f"{mt.where(i, 'simulationConditionId')}: unknown condition '{sim}'"
                             f"{suggest(sim, list(conditions))}")
        pre = r.get("preequilibrationConditionId", "") or None
        if pre is not None and pre not in conditions:
            raise PetabError(f"{mt.where(i, 'preequilibrationConditionId')}: unknown condition '{pre}'"
                             f"{suggest(pre, list(conditions))}")
        values[i] = number(r["measurement"], mt.where(i, "measurement"))
        spec = observables[oid]
        if spec.transformation != "lin" and values[i] <= 0:
            raise PetabError(f"{mt.where(i, 'measurement')}: {values[i]:g} is not positive, but observable '{oid}' has "
                             f"a {spec.transformation} transformation (log-normal noise); remove the row or use lin")
        times[i] = number(r["time"], mt.where(i, "time"), allow_inf=True)
        if times[i] < 0 or times[i] == -math.inf:
            raise PetabError(f"{mt.where(i, 'time')}: {r['time']} is negative; simulations start at 0")
        op = tuple(s.strip() for s in r.get("observableParameters", "").split(";")) if r.get("observableParameters") \
            else ()
        npar = tuple(s.strip() for s in r.get("noiseParameters", "").split(";")) if r.get("noiseParameters") else ()
        for vals, count, col in ((op, spec.n_observable_parameters, "observableParameters"),
                                 (npar, spec.n_noise_parameters, "noiseParameters")):
            if len(vals) != count:
                raise PetabError(f"{mt.where(i, col)}: observable '{oid}' has {count} placeholder(s) in its formula "
                                 f"but this row gives {len(vals)} value(s)")
            for v in vals:
                _source(v, ids, mt.where(i, col), f"observable '{oid}'")
        obs_col.append(oid)
        oparams.append(op)
        nparams.append(npar)
        wheres.append(mt.where(i))
        exp_of[i] = pairs.setdefault((pre, sim), len(pairs))
    if n == 0:
        raise PetabError(f"{mt.path}: the measurement table has no rows")
    # experiments
    experiments = []
    base_cache: dict[str, tuple[Network, CompiledNetwork, Protocol, np.ndarray, bool]] = {}
    for (pre, sim), e in pairs.items():
        rows = np.where(exp_of == e)[0]
        ext = ext_conditions.get(sim)
        key = sim if ext else "__model__"
        if key not in base_cache:
            base_cache[key] = _base(network, ext, path, sim)
        net, cn, protocol, base_p, steady = base_cache[key]
        ps, ss, comps = _condition_sources(sim, conditions[sim], net, cn, ids)
        if comps and isinstance(net, Network):
            net = replace(net, compartments=tuple(replace(c, volume_l=comps.get(c.id, c.volume_l))
                                                  for c in net.compartments))
            cn = compile_network(net)
        pps: list[tuple[int, Source]] = []
        pss: list[tuple[int, Source]] = []
        if pre is not None:
            pps, pss, pcomps = _condition_sources(pre, conditions[pre], net, cn, ids)
            if pcomps:
                raise PetabError(f"{conditions[pre]['__where__']}: a preequilibration condition that changes "
                                 "compartment sizes is not supported")
        # model parameters that are parameter-table entries take their values from x
        model_params = [(cn.parameter_index[p.id], ("x", float(k))) for k, p in enumerate(parameters)
                        if p.id in cn.parameter_index]
        t = times[rows]
        finite = np.unique(t[np.isfinite(t)])
        tidx = np.where(np.isfinite(t), np.searchsorted(finite, np.where(np.isfinite(t), t, 0.0)), -1)
        experiments.append(Experiment(pre, sim, net, cn, protocol, base_p, tuple(model_params + ps),
                                      tuple(model_params + pps), tuple(ss), tuple(pss), steady,
                                      finite, rows, tidx.astype(np.int64)))
    meas = Measurements(tuple(obs_col), exp_of, times, values, tuple(oparams), tuple(nparams), tuple(wheres))
    problem = Problem(path, network, parameters, observables, tuple(experiments), meas, mt, conditions, model_file,
                      dict(extension))
    _check_symbols(problem, check_usage)
    return problem


def _base(network: Network | SbmlModel, ext: Mapping[str, Any] | None, path: str, cid: str) -> tuple[
        Any, Any, Protocol, np.ndarray, bool]:
    if isinstance(network, SbmlModel):
        if ext:
            raise PetabError(f"{path}: il6sim.conditions.{cid}: scenarios, regimens and drugs need an il6sim model; "
                             "this problem's model is general SBML")
        cs = SbmlCompiled(network)
        return network, cs, Protocol(), cs.parameter_vector(), False
    if not ext:
        cn = compile_network(network)
        return network, cn, Protocol(), cn.parameter_vector(), False
    from ..regimen import build_run

    unknown = [k for k in ext if k not in ("scenario", "regimen", "weight", "drugs")]
    if unknown:
        raise PetabError(f"{path}: il6sim.conditions.{cid}: unknown key '{unknown[0]}' "
                         "(keys: scenario, regimen, weight, drugs)")
    regimen = ext.get("regimen")
    if regimen is not None:
        regimen = str(Path(path).parent / regimen)
    try:
        run = build_run(network, scenario=ext.get("scenario"), regimen=regimen, weight=ext.get("weight", "70 kg"),
                        drug_groups=list(ext.get("drugs", []) or []), duration_h=1e9)
    except Il6simError as exc:
        raise PetabError(f"{path}: il6sim.conditions.{cid}: {exc}") from None
    cn = compile_network(run.network)
    return run.network, cn, run.protocol, cn.parameter_vector(run.parameters), True


def _check_symbols(problem: Problem, check_usage: bool = True) -> None:
    """Every formula symbol resolves, and every parameter-table entry is used somewhere."""
    ids = set(problem.parameter_ids)
    used: set[str] = set()
    for e in problem.experiments:
        for _, src in (*e.parameter_sources, *e.preeq_parameter_sources, *e.species_sources,
                       *e.preeq_species_sources):
            if src[0] == "x":
                used.add(problem.parameters[int(src[1])].id)
    for vals in (*problem.measurements.observable_parameters, *problem.measurements.noise_parameters):
        used.update(v for v in vals if v in ids)
    cn0 = problem.experiments[0].cn
    known_model = set(cn0.species_ids) | set(cn0.parameter_ids) | set(cn0.observable_ids) | {
        c.id for c in getattr(problem.network, "compartments", ())} | {"time", "t"}
    for e in problem.experiments:
        known_model |= set(e.cn.species_ids) | set(e.cn.parameter_ids) | set(e.cn.observable_ids)
    measured = set(problem.measurements.observable)
    for oid, spec in problem.observables.items():
        if not check_usage and oid not in measured:  # a prediction's sub-problem: only what it simulates
            continue
        for f, col in ((spec.formula, "observableFormula"), (spec.noise, "noiseFormula")):
            for s in f.symbols:
                if _PLACEHOLDER.match(s):
                    continue
                if s in ids:
                    used.add(s)
                elif s not in known_model and not (col == "noiseFormula" and s == oid):
                    raise PetabError(f"observable '{oid}' {col}: '{s}' is not a model species, parameter or "
                                     f"compartment, nor in the parameter table{suggest(s, sorted(known_model | ids))}")
    for p in problem.parameters if check_usage else ():
        if p.id not in used:
            raise PetabError(f"{p.where} column parameterId: parameter '{p.id}' is used nowhere (not a model "
                             "parameter, not in a condition, formula or measurement row); remove it")
