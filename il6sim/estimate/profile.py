"""Profile likelihoods, confidence intervals and prediction bands from a fit.

The profile of parameter ``j`` (Raue et al. 2009, Bioinformatics 25:1923) fixes ``z_j`` at steps
away from the best fit in both directions on its scale and re-optimises every other estimated
parameter, warm-started from the previous point, until the log-likelihood has dropped by more
than the threshold ``chi2_{0.95}(1) / 2 = 1.92`` or the bound is reached. The 95 % confidence
interval is where the profile crosses the threshold (interpolated linearly); a side that reaches
its bound first leaves the parameter *practically non-identifiable* on that side.

Prediction bands: every parameter vector met on the profiles whose log-likelihood is within the
threshold of the best is simulated for the asked observable and condition; the band is their
pointwise envelope (with the best fit's curve). This is the profile-based band of Kreutz et al.
(2012, BMC Syst Biol 6:120) in its simplest form: it shows what the data do not pin down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .fit import FitResult, optimize_from
from .objective import Objective
from .problem import ObservableSpec, Problem, assemble
from .tables import PetabError, Table

__all__ = ["THRESHOLD_95", "ParameterProfile", "ProfileResult", "predict", "profile"]

#: half the 95 % quantile of chi-square with one degree of freedom
THRESHOLD_95 = 0.5 * 3.841458820694124


@dataclass(frozen=True)
class ParameterProfile:
    """The profile of one estimated parameter: points on its scale, llh, and the full vectors met."""

    id: str
    scale: str
    z: np.ndarray            # the profiled parameter's value on its scale, increasing
    llh: np.ndarray
    x: np.ndarray            # (n_points, n_all) full linear parameter vectors
    lower: float             # 95 % interval on the linear scale (nan: not reached)
    upper: float
    lower_at_bound: bool
    upper_at_bound: bool

    @property
    def identifiable(self) -> bool:
        """Both ends of the 95 % interval lie inside the bounds."""
        return not (self.lower_at_bound or self.upper_at_bound)


@dataclass(frozen=True)
class ProfileResult:
    """Profiles of the estimated parameters of a fit, with their 95 % intervals."""

    fit: FitResult = field(repr=False)
    profiles: tuple[ParameterProfile, ...]
    threshold: float = THRESHOLD_95
    wall_time_s: float = 0.0

    def table(self) -> Any:
        """Long table: ``parameter, value, value_scaled, llh, delta_llh`` per profile point."""
        import pandas as pd

        best = self.fit.best_llh
        rows = []
        for p in self.profiles:
            for z, llh, x in zip(p.z, p.llh, p.x):
                rows.append({"parameter": p.id, "value": float(x[self.fit.problem.parameter_ids.index(p.id)]),
                             "value_scaled": float(z), "llh": float(llh), "delta_llh": float(best - llh)})
        return pd.DataFrame(rows)

    def intervals(self) -> Any:
        """One row per parameter: best value, 95 % interval, whether each end hit a bound."""
        import pandas as pd

        best = self.fit.parameters
        return pd.DataFrame([{"parameter": p.id, "best": best[p.id], "lower_95": p.lower, "upper_95": p.upper,
                              "lower_at_bound": p.lower_at_bound, "upper_at_bound": p.upper_at_bound,
                              "identifiable": p.identifiable} for p in self.profiles])

    def parameter_sets(self) -> np.ndarray:
        """Full linear parameter vectors within the threshold of the best fit (best first)."""
        best = self.fit.best_llh
        sets = [self.fit.problem.x_from_free_scaled(self.fit.best.z)[0]]
        for p in self.profiles:
            keep = p.llh >= best - self.threshold
            sets.extend(p.x[keep])
        return np.array(sets)

    def predict(self, observable: str, times: Sequence[float], **options: Any) -> Any:
        """Prediction band of ``observable`` (see :func:`predict`) from :meth:`parameter_sets`."""
        return predict(self.fit.problem, self.parameter_sets(), observable, times, **options)


def _crossing(z_in: float, llh_in: float, z_out: float, llh_out: float, level: float) -> float:
    if llh_in == llh_out:
        return z_out
    return z_in + (level - llh_in) * (z_out - z_in) / (llh_out - llh_in)


def _one_side(obj: Objective, res: FitResult, j: int, direction: int, threshold: float, max_points: int,
              derivatives: str) -> list[tuple[float, float, np.ndarray]]:
    problem = res.problem
    lb, ub = problem.bounds_on_scale()
    span = ub[j] - lb[j]
    step = span / 200
    z = res.best.z.copy()
    best = res.best_llh
    points: list[tuple[float, float, np.ndarray]] = []
    prev_drop = 0.0
    for _ in range(max_points):
        zj = float(np.clip(z[j] + direction * step, lb[j], ub[j]))
        if zj == z[j]:
            break
        sr = optimize_from(obj, np.concatenate([z[:j], [zj], z[j + 1:]]), fixed=[j], fixed_values=[zj],
                           derivatives=derivatives, max_evaluations=400)
        if not math.isfinite(sr.llh):
            step /= 2
            if step < span * 1e-5:
                break
            continue
        z_prev = z.copy()
        z = sr.z.copy()
        points.append((zj, sr.llh, problem.x_from_free_scaled(z)[0]))
        drop = best - sr.llh
        if drop > threshold:
            _refine(obj, problem, j, z_prev, points, best - threshold, derivatives)
            break
        change = drop - prev_drop
        prev_drop = drop
        if change < 0.1 * threshold:
            step = min(step * 2, span / 10)
        elif change > 0.5 * threshold:
            step = max(step / 2, span * 1e-4)
        if zj in (lb[j], ub[j]):
            break
    return points


def _refine(obj: Objective, problem: Problem, j: int, z_inside: np.ndarray,
            points: list[tuple[float, float, np.ndarray]], level: float, derivatives: str, steps: int = 4) -> None:
    """Add profile points by regula falsi between the last point above ``level`` and the first below it."""
    inside = points[-2] if len(points) > 1 else None
    if inside is None:
        return
    (za, la, _), (zb, lb_, _) = inside, points[-1]
    z_warm = z_inside
    for _ in range(steps):
        zc = _crossing(za, la, zb, lb_, level)
        if not (min(za, zb) < zc < max(za, zb)):
            break
        sr = optimize_from(obj, np.concatenate([z_warm[:j], [zc], z_warm[j + 1:]]), fixed=[j], fixed_values=[zc],
                           derivatives=derivatives, max_evaluations=400)
        if not math.isfinite(sr.llh):
            break
        points.insert(len(points) - 1, (zc, sr.llh, problem.x_from_free_scaled(sr.z)[0]))
        if abs(sr.llh - level) < 1e-3:
            break
        if sr.llh > level:
            za, la, z_warm = zc, sr.llh, sr.z
        else:
            zb, lb_ = zc, sr.llh
    origin = points[0][0]
    points.sort(key=lambda q: abs(q[0] - origin))  # outward from the best fit, as the caller reads them


def profile(res: FitResult, parameters: Sequence[str] | None = None, *, threshold: float = THRESHOLD_95,
            max_points: int = 40, derivatives: str = "central", rtol: float = 1e-10, atol: float = 1e-14,
            threads: int | None = None, progress: Callable[[int, int], None] | None = None) -> ProfileResult:
    """Profile likelihoods of ``parameters`` (default: every estimated one) around the best fit of ``res``."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    problem = res.problem
    ids = list(problem.free_ids)
    names = list(parameters) if parameters is not None else ids
    for nm in names:
        if nm not in ids:
            raise PetabError(f"cannot profile '{nm}': not an estimated parameter (estimated: {', '.join(ids)})")
    jobs = [(ids.index(nm), d) for nm in names for d in (-1, 1)]
    lb, ub = problem.bounds_on_scale()

    def run(job: tuple[int, int]) -> list[tuple[float, float, np.ndarray]]:
        obj = Objective(problem, rtol=rtol, atol=atol, threads=1)
        return _one_side(obj, res, job[0], job[1], threshold, max_points, derivatives)

    sides: dict[tuple[int, int], list[tuple[float, float, np.ndarray]]] = {}
    workers = max(1, min(len(jobs), threads or os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        for k, (job, pts) in enumerate(zip(jobs, pool.map(run, jobs)), start=1):
            sides[job] = pts
            if progress:
                progress(k, len(jobs))
    best = res.best_llh
    level = best - threshold
    x_best = problem.x_from_free_scaled(res.best.z)[0]
    out = []
    for nm in names:
        j = ids.index(nm)
        spec = problem.parameters[int(problem.free[j])]
        down, up = sides[(j, -1)], sides[(j, 1)]
        pts = [*reversed(down), (float(res.best.z[j]), best, x_best), *up]
        z = np.array([p[0] for p in pts])
        llh = np.array([p[1] for p in pts])
        xs = np.array([p[2] for p in pts])
        ends = []
        for side, bound in ((down, lb[j]), (up, ub[j])):
            prev = (float(res.best.z[j]), best)
            crossed = math.nan
            for zj, lj, _ in side:
                if lj < level:
                    crossed = _crossing(prev[0], prev[1], zj, lj, level)
                    break
                prev = (zj, lj)
            at_bound = math.isnan(crossed)
            ends.append((float(spec.from_scale(crossed)) if not at_bound else float(spec.from_scale(bound)), at_bound))
        out.append(ParameterProfile(nm, spec.scale, z, llh, xs, ends[0][0], ends[1][0], ends[0][1], ends[1][1]))
    return ProfileResult(res, tuple(out), threshold, time.perf_counter() - t0)


def predict(problem: Problem, parameter_sets: np.ndarray, observable: str, times: Sequence[float], *,
            condition: str | None = None, preequilibration: str | None = None, rtol: float = 1e-10,
            atol: float = 1e-14) -> Any:
    """Simulate ``observable`` at ``times`` under ``condition`` for every parameter set; return the band.

    ``observable`` is an observable of the problem or any species or observable of the model;
    ``condition`` a condition id of the problem (default: the first measured one). Returns a
    DataFrame ``time, best, lower, upper, n_sets`` (``best`` is the first set's curve).
    """
    import pandas as pd

    t = np.asarray(times, dtype=float)
    if t.size == 0 or np.any(t < 0) or np.any(~np.isfinite(t) & (t != np.inf)):
        raise PetabError("prediction times must be >= 0 (inf for the steady state)")
    cond = condition or problem.experiments[0].condition
    if cond not in problem.conditions:
        raise PetabError(f"unknown condition '{cond}' (conditions: {', '.join(problem.conditions)})")
    observables = dict(problem.observables)
    if observable not in observables:
        from ..expr import parse_formula

        cn = problem.experiments[0].cn
        if observable not in cn.species_ids and observable not in cn.observable_ids:
            raise PetabError(f"unknown observable '{observable}': not a problem observable, model species or model "
                             "observable")
        observables[observable] = ObservableSpec(observable, parse_formula(observable), parse_formula("1"))
    cols = ("observableId", "preequilibrationConditionId", "simulationConditionId", "measurement", "time")
    rows = [{"observableId": observable, "preequilibrationConditionId": preequilibration or "",
             "simulationConditionId": cond, "measurement": "1", "time": repr(float(x))} for x in t]
    spec = observables[observable]
    if spec.n_observable_parameters or spec.n_noise_parameters:
        raise PetabError(f"observable '{observable}' has placeholders filled per measurement row; predict a model "
                         "species or observable instead")
    table = Table("<predict>", cols, rows, list(range(2, 2 + len(rows))))
    sub = assemble(problem.path, problem.network, problem.model_file, problem.parameters, observables,
                   problem.conditions, table, problem.extension, check_usage=False)
    sim, _, ok = Objective(sub, rtol=rtol, atol=atol).simulate(np.atleast_2d(parameter_sets))
    good = sim[ok]
    if good.size == 0:
        raise PetabError("every parameter set failed to simulate for this prediction")
    return pd.DataFrame({"time": t, "best": sim[0], "lower": good.min(axis=0), "upper": good.max(axis=0),
                         "n_sets": int(ok.sum())})
