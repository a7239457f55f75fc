"""The shipped model's calibration: the joint training problem and the values it sets.

``models/calibration/joint/`` fits every training data set of ``models/calibration/`` at once
(a PEtab problem with il6sim's extension). ``shipped.tsv`` beside it says which model, scenario or
drug parameter each fitted value becomes in the shipped files; ``ensemble.tsv`` holds the best fit,
per shipped parameter the parameter sets at the ends of its 95 % interval (one, the refit at
the far end, for a parameter the fit left on a bound), and every other
optimum of the multistart inside the 95 % likelihood threshold (the calibration's uncertainty),
written by ``il6sim calibrate --write``.

>>> from il6sim.calibration import shipped_parameters
>>> shipped_parameters()["ra_drive"].targets
('baseline_inflammation',)
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import Il6simError
from .shipped import models_dir

__all__ = ["Calibration", "Laplace", "Optimum", "ShippedParameter", "bound_profile", "calibrate", "laplace", "ensemble",
           "joint_problem_path", "other_optima", "overrides", "reference_run", "shipped_parameters", "shipped_values"]

JOINT = Path("calibration") / "joint"
PROFILE_POINTS = 20     # per side of each profile
PROFILE_RTOL = 1e-8     # integrator tolerance along the profiles (the fit itself uses 1e-10)


def joint_problem_path() -> Path:
    """The joint calibration problem's YAML file in the shipped models folder."""
    return models_dir() / JOINT / "problem.yaml"


@dataclass(frozen=True)
class ShippedParameter:
    """A fitted parameter of the joint problem and the run parameters it sets in the shipped files."""

    id: str
    targets: tuple[str, ...]   # network parameters of a run with scenario ra and both antibodies; () = none
    file: str                  # the file that carries the value ('' when the value is not shipped)
    note: str = ""


def shipped_parameters() -> dict[str, ShippedParameter]:
    """Read ``shipped.tsv``: fitted parameter -> the parameters it becomes in the shipped files."""
    path = models_dir() / JOINT / "shipped.tsv"
    out: dict[str, ShippedParameter] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            targets = tuple(t for t in row["targets"].split(";") if t and t != "-")
            out[row["parameterId"]] = ShippedParameter(row["parameterId"], targets, row["file"].strip("-"),
                                                       row.get("note", ""))
    return out


def reference_run(weight: str | float = 70.0) -> Any:
    """A run with scenario ``ra`` and both calibrated antibodies: every shipped target is one of its parameters."""
    from .regimen import build_run
    from .shipped import load_network

    groups = [{"drug": "tocilizumab", "dose": "1 mg", "route": "iv"},
              {"drug": "sarilumab", "dose": "1 mg", "route": "sc"}]
    return build_run(load_network(), scenario="ra", drug_groups=groups, weight=weight, duration_h=24.0)


def shipped_values() -> dict[str, float]:
    """The value each shipped fitted parameter has in the shipped files (model, ``ra`` scenario, drugs)."""
    from .compiled import compile_network

    run = reference_run()
    cn = compile_network(run.network)
    in_scenario = cn.parameter_vector(run.parameters)
    in_files = cn.parameter_vector({})  # without the scenario's overrides: model and drug files
    out = {}
    for pid, sp in shipped_parameters().items():
        if not sp.targets:
            continue
        vector = in_scenario if _in_scenario_file(sp) else in_files
        values = {float(vector[cn.parameter_index[t]]) for t in sp.targets}
        if len(values) != 1:
            raise Il6simError(f"shipped.tsv: the targets of '{pid}' ({', '.join(sp.targets)}) have different values "
                              "in the shipped files; they must be set together")
        out[pid] = values.pop()
    return out


def overrides(values: Mapping[str, float], scenario: str | None = None) -> dict[str, float]:
    """Run parameters that put fitted ``values`` (joint-problem ids) into a shipped run of ``scenario``.

    Values the shipped files keep in a scenario file (``models/scenarios/ra.toml``) apply only to
    runs of that scenario.
    """
    out: dict[str, float] = {}
    # a scenario file's value overrides the model file's for the same run parameter (as the scenario
    # itself does), so the scenario's rows are applied last
    rows = sorted(shipped_parameters().items(), key=lambda item: _in_scenario_file(item[1]))
    for pid, sp in rows:
        home = Path(sp.file)
        if _in_scenario_file(sp) and home.stem != scenario:
            continue
        if pid in values:
            for t in sp.targets:
                out[t] = float(values[pid])
    return out


def _in_scenario_file(sp: ShippedParameter) -> bool:
    return Path(sp.file).parent.name == "scenarios"


def ensemble() -> list[dict[str, float]]:
    """The calibration's parameter sets (``ensemble.tsv``): the best fit first, then the interval ends."""
    path = models_dir() / JOINT / "ensemble.tsv"
    if not path.is_file():
        raise Il6simError(f"{path}: no ensemble; run `il6sim calibrate --write` to make it")
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: float(v) for k, v in row.items() if k != "set"} for row in csv.DictReader(f, delimiter="\t")]


LEVEL_95 = 1.959963984540054  # two-sided 95 % normal quantile


@dataclass
class Laplace:
    """The linearised (Gauss-Newton) uncertainty of a fit on the parameters' scales.

    ``sets`` are the best fit and, for each parameter in ``ids``, the two points at the ends of its
    95 % Wald interval with the other parameters at their conditional optimum (the linearised
    profile); ``drop`` is the log-likelihood lost at each of those points (1.92 if the likelihood
    were exactly Gaussian on the parameters' scales). A parameter that ends on a bound has no
    curvature there: its interval comes from refits with it held further in (:func:`bound_profile`),
    ``method`` says which.
    """

    ids: tuple[str, ...]
    lower: dict[str, float]
    upper: dict[str, float]
    at_bound: dict[str, bool]
    identifiable: dict[str, bool]
    sets: list[dict[str, float]]
    drop: dict[str, tuple[float, float]]
    method: dict[str, str] = field(default_factory=dict)


def _values(problem: Any, z: np.ndarray) -> dict[str, float]:
    """Every parameter of ``problem`` by id (linear scale) at the free parameters ``z`` (their scales)."""
    return dict(zip(problem.parameter_ids, map(float, problem.x_from_free_scaled(z)[0])))


def laplace(res: Any, names: Sequence[str]) -> Laplace:
    """Wald intervals and linearised-profile parameter sets of ``names`` around the best fit ``res``."""
    from .estimate.fit import FiniteDifferences
    from .estimate.objective import Objective

    problem = res.problem
    free = list(problem.free_ids)
    lb, ub = problem.bounds_on_scale()
    z0 = np.asarray(res.best.z, dtype=float)
    span = ub - lb
    interior = [j for j in range(len(free)) if min(z0[j] - lb[j], ub[j] - z0[j]) > 1e-6 * span[j]]
    fd = FiniteDifferences(Objective(problem), mode="central")
    jac = fd.jacobian(z0)[:, interior]
    cov_i = np.linalg.pinv(jac.T @ jac)
    cov = np.zeros((len(free), len(free)))
    cov[np.ix_(interior, interior)] = cov_i

    best_llh = res.best_llh
    sets = [_values(problem, z0)]
    out_lo, out_hi, bound, ident, drop, method = {}, {}, {}, {}, {}, {}
    for name in names:
        j = free.index(name)
        spec = problem.parameters[int(problem.free[j])]
        sd = float(np.sqrt(max(cov[j, j], 0.0)))
        if j not in interior:   # at a bound: no curvature there; refit with the parameter held further in
            end, llh_end, z_end, whole = bound_profile(res, j)
            at_lower = z0[j] - lb[j] <= ub[j] - z0[j]
            here, there = float(spec.from_scale(z0[j])), float(spec.from_scale(end))
            out_lo[name], out_hi[name] = (here, there) if at_lower else (there, here)
            bound[name], ident[name], method[name] = True, False, "bound profile" + (" (whole range)" if whole else "")
            drop[name] = (np.nan, best_llh - llh_end) if at_lower else (best_llh - llh_end, np.nan)
            sets.append(_values(problem, z_end))
            continue
        lo_z, hi_z = z0[j] - LEVEL_95 * sd, z0[j] + LEVEL_95 * sd
        bound[name] = bool(lo_z <= lb[j] or hi_z >= ub[j])
        ident[name] = not bound[name]
        out_lo[name] = float(spec.from_scale(max(lo_z, lb[j])))
        out_hi[name] = float(spec.from_scale(min(hi_z, ub[j])))
        direction = cov[:, j] / sd if sd > 0 else np.zeros_like(z0)
        drops = []
        for sign in (-1.0, 1.0):
            z = np.clip(z0 + sign * LEVEL_95 * direction, lb, ub)
            v = _values(problem, z)
            sets.append(v)
            drops.append(best_llh - problem.log_likelihood(v))
        drop[name] = (float(drops[0]), float(drops[1]))
    return Laplace(tuple(names), out_lo, out_hi, bound, ident, sets, drop, method)


def bound_profile(res: Any, j: int, *, threshold: float | None = None, steps: int = 4
                  ) -> tuple[float, float, np.ndarray, bool]:
    """The 95 % end of free parameter ``j``, which the best fit ``res`` left on a bound.

    Refits with parameter ``j`` held at the opposite bound; if the log-likelihood lost there is
    within ``threshold`` (default :data:`THRESHOLD_95`), the whole range is inside the 95 % set. Otherwise bisects (``steps``
    refits, on the parameter's scale) for the point where the loss crosses the threshold. Returns
    ``(end on the scale, llh there, free parameters there, whole range)``; the end returned is the
    last point found inside the threshold.
    """
    from .estimate.fit import optimize_from
    from .estimate.objective import Objective

    threshold = THRESHOLD_95 if threshold is None else threshold
    problem = res.problem
    lb, ub = problem.bounds_on_scale()
    z0 = np.asarray(res.best.z, dtype=float)
    objective = Objective(problem)
    near, far = z0[j], (ub[j] if z0[j] - lb[j] <= ub[j] - z0[j] else lb[j])

    def refit(v: float) -> tuple[float, np.ndarray]:
        start = z0.copy()
        start[j] = v
        st = optimize_from(objective, start, fixed=[j], fixed_values=[v])
        return st.llh, np.asarray(st.z, dtype=float)

    llh_far, z_far = refit(far)
    if res.best_llh - llh_far <= threshold:
        return float(far), float(llh_far), z_far, True
    inside = (float(near), float(res.best_llh), z0)
    for _ in range(steps):
        mid = 0.5 * (inside[0] + far)
        llh_mid, z_mid = refit(mid)
        if res.best_llh - llh_mid <= threshold:
            inside = (mid, float(llh_mid), z_mid)
        else:
            far = mid
    return inside[0], inside[1], inside[2], False


#: log-likelihood threshold of a 95 % likelihood-ratio confidence set for one parameter: chi2(1, 0.95) / 2
THRESHOLD_95 = 1.920729410347062
#: two optima are distinct when some free parameter differs by more than this on its scale (log10: 1.26x)
DISTINCT = 0.1


@dataclass(frozen=True)
class Optimum:
    """Another local optimum of the fit, inside the 95 % likelihood threshold of the best."""

    llh: float
    values: dict[str, float]
    n_starts: int


def other_optima(res: Any, threshold: float = THRESHOLD_95, distinct: float = DISTINCT) -> list[Optimum]:
    """Local optima among the fit's starts, other than the best, within ``threshold`` of its llh.

    A multistart fit whose starts end in two places of nearly equal likelihood has a confidence set
    in two pieces; a curvature (Wald) interval around the best sees only the first. Starts are
    grouped by where they ended (every free parameter within ``distinct`` on its scale of the
    group's first, best, start).
    """
    problem = res.problem
    best = res.best_llh
    groups: list[tuple[np.ndarray, float, int]] = []
    for st in res.starts:
        if not np.isfinite(st.llh) or best - st.llh > threshold:
            continue
        z = np.asarray(st.z, dtype=float)
        for k, (z0, llh0, n) in enumerate(groups):
            if np.max(np.abs(z - z0)) <= distinct:
                groups[k] = (z0, llh0, n + 1)
                break
        else:
            groups.append((z, float(st.llh), 1))
    return [Optimum(llh, _values(problem, z), n) for z, llh, n in groups[1:]]


@dataclass
class Calibration:
    """A fit of the joint problem with its uncertainty (linearised or profiles), set against the shipped values."""

    fit: Any
    profile: Any | None = None
    laplace: Laplace | None = None
    optima: list[Optimum] = field(default_factory=list)

    def table(self) -> Any:
        """One row per shipped parameter: fitted, 95 % interval and how it was found, shipped value, file."""
        import pandas as pd

        best = self.fit.parameters
        intervals: dict[str, dict[str, Any]] = {}
        if self.profile is not None:
            intervals = {r["parameter"]: {**r, "interval": "profile"} for r in self.profile.intervals().to_dict("records")}
        elif self.laplace is not None:
            lp = self.laplace
            intervals = {n: {"lower_95": lp.lower[n], "upper_95": lp.upper[n], "identifiable": lp.identifiable[n],
                             "interval": lp.method.get(n, "wald"),
                             "llh_drop_lower": lp.drop[n][0], "llh_drop_upper": lp.drop[n][1]} for n in lp.ids}
        shipped = shipped_values()
        rows = []
        for pid, sp in shipped_parameters().items():
            iv = intervals.get(pid, {})
            lo, hi = iv.get("lower_95", np.nan), iv.get("upper_95", np.nan)
            # the parameter's value at another optimum inside the threshold, where it moved (more than DISTINCT on
            # the log10 scale) and lies outside the interval
            elsewhere = [o for o in self.optima if abs(np.log10(o.values[pid] / best[pid])) > DISTINCT
                         and not (np.isfinite(lo) and lo * 0.999 <= o.values[pid] <= hi * 1.001)]
            other = "; ".join(f"{o.values[pid]:.4g} (llh {o.llh:.2f}, {o.n_starts} starts)" for o in elsewhere)
            rows.append({"parameter": pid, "fitted": best[pid], "lower_95": lo,
                         "upper_95": hi, "identifiable": False if other else iv.get("identifiable", None),
                         "interval": iv.get("interval", "") + (" + other optimum" if other else ""),
                         "llh_drop_lower": iv.get("llh_drop_lower", np.nan),
                         "llh_drop_upper": iv.get("llh_drop_upper", np.nan), "other_optimum": other,
                         "shipped": shipped.get(pid, np.nan), "file": sp.file or "(not shipped: " + sp.note + ")"})
        return pd.DataFrame(rows)

    def max_shipped_difference(self) -> float:
        """Largest relative difference between a shipped value and its fitted value."""
        t = self.table()
        t = t[np.isfinite(t["shipped"])]
        return float(np.max(np.abs(t["shipped"] / t["fitted"] - 1.0))) if len(t) else 0.0

    def ensemble_rows(self) -> list[dict[str, float]]:
        """Parameter sets (linear values by id): the best fit first, then the uncertainty's sets, then
        every other optimum inside the 95 % threshold (:func:`other_optima`)."""
        problem = self.fit.problem
        if self.profile is not None:
            sets = self.profile.parameter_sets()
            rows = [dict(zip(problem.parameter_ids, map(float, x))) for x in np.atleast_2d(sets)]
        elif self.laplace is not None:
            rows = list(self.laplace.sets)
        else:
            rows = [_values(problem, self.fit.best.z)]
        return rows + [dict(o.values) for o in self.optima]


def calibrate(*, starts: int = 8, seed: int = 0, uncertainty: str = "laplace", threads: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> Calibration:
    """Fit the joint calibration problem from ``starts`` seeded points; then its uncertainty.

    ``uncertainty``: ``"laplace"`` (default: Wald intervals and linearised-profile sets from one
    Jacobian, seconds), ``"profile"`` (profile likelihoods, ~20 min on 2 cores) or ``"none"``. Both
    cover the parameters the shipped files carry; the others (noise, one data set's patients) are
    re-optimised (profiles) or follow their conditional optimum (laplace).
    """
    from .estimate import fit, load_problem

    if uncertainty not in ("laplace", "profile", "none"):
        raise Il6simError(f"uncertainty must be laplace, profile or none, got {uncertainty!r}")
    problem = load_problem(joint_problem_path())
    res = fit(problem, starts, seed, threads=threads, progress=progress)
    names = [p for p, sp in shipped_parameters().items() if sp.targets]
    optima = other_optima(res)
    if uncertainty == "profile":
        prof = res.profile(parameters=names, threads=threads, max_points=PROFILE_POINTS, rtol=PROFILE_RTOL)
        return Calibration(res, profile=prof, optima=optima)
    if uncertainty == "laplace":
        return Calibration(res, laplace=laplace(res, names), optima=optima)
    return Calibration(res, optima=optima)


# Target peaks of serum free IL-6 (pg/ml) of the fixed-drive scenarios: models/scenarios/README.md
# (covid_moderate and covid_severe run on the disease layer, which has no infusion rate to solve)
SCENARIO_TARGETS = {"covid_moderate_fixed": 13.6, "covid_severe_fixed": 36.7, "ards": 460.0, "sepsis": 983.6, "crs": 3110.5}


def scenario_drive_factor(name: str, target_pg_ml: float | None = None, *, step_h: float = 0.25) -> float:
    """Common factor on a scenario's infusion rates that puts the peak of free serum IL-6 at its target.

    The scenario's shape (timing, ratios between its infusions) is kept; only the scale is solved
    (scipy ``brentq`` on the log of the factor). Used to re-derive the shipped rates whenever the
    model changes IL-6 disposition (``models/scenarios/README.md``).
    """
    from dataclasses import replace

    from scipy.optimize import brentq

    from .protocol import Infusion, Protocol
    from .regimen import build_run
    from .shipped import load_network
    from .solve import simulate, steady_state

    target = SCENARIO_TARGETS[name] if target_pg_ml is None else target_pg_ml
    run = build_run(load_network(), scenario=name)
    ss = steady_state(run.network, parameters=None)
    t = np.arange(0.0, run.duration_h + step_h / 2, step_h)

    def peak(log_factor: float) -> float:
        f = float(np.exp(log_factor))
        events = tuple(replace(e, rate_nM_per_h=e.rate_nM_per_h * f) if isinstance(e, Infusion) else e
                       for e in run.protocol.events)
        res = simulate(run.network, t, parameters=dict(run.parameters), protocol=Protocol(events), initial=ss,
                       rtol=1e-9)
        return float(np.max(res["il6_free_pg_ml"]))

    g = lambda z: np.log(peak(z) / target)  # noqa: E731
    return float(np.exp(brentq(g, -5.0, 5.0, xtol=1e-10)))
