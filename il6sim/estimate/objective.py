"""The PEtab objective: simulate every experiment for many parameter vectors at once, then the
negative log-likelihood with all its normalisation terms, residuals and their Jacobian.

For a measurement ``m`` of observable ``y`` with noise ``sigma`` (the noise formula's value) and
transformation ``h`` (lin, ln or log10), PEtab v1 (Schmiester et al. 2021, PLoS Comput Biol
17:e1008646) defines the contribution to the negative log-likelihood

* normal:  ``0.5 log(2 pi sigma^2) + 0.5 ((h(y) - h(m)) / sigma)^2``
* laplace: ``log(2 sigma) + |h(y) - h(m)| / sigma``

plus, for a transformed observable, the change of variables to the scale of ``m``: ``log(m)``
(ln) or ``log(m ln 10)`` (log10). :meth:`Objective.nllh` returns this sum; ``llh = -nllh``.

Rows of ``x`` (all parameter-table values, linear scale) are simulated together: each experiment is
one :func:`il6sim.batch.run_batch` call over all rows, so a finite-difference Jacobian over p
parameters is one batch of p + 1 rows in the integrator's lanes, never p scalar solves from Python.
A row whose simulation fails gets ``nan`` simulations and an infinite objective: a failed
evaluation, not a crash.

Least squares: with normal noise, ``nllh = 0.5 sum r^2 + sum log(sigma) + const`` with
``r = (h(y) - h(m)) / sigma``. When sigma depends on estimated parameters, each measurement adds a
"sigma residual" ``s = sqrt(2 log(sigma) + C)`` (``C`` a constant keeping the root real), so that
``0.5 sum (r^2 + s^2)`` equals the objective up to a constant and a least-squares solver sees all of
it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..batch import run_batch
from ..expr import Formula, parse_formula
from ..sbml_simulate import SbmlCompiled
from ..solve import steady_state_at
from .problem import Experiment, Problem, Source

__all__ = ["SIGMA_OFFSET", "Objective"]

#: the constant C of the sigma residuals: sqrt(2 log(sigma) + C) is real for sigma > exp(-C/2) (~1e-22)
SIGMA_OFFSET = 100.0
_LN10 = math.log(10.0)


def _resolve(src: Source, x: np.ndarray) -> np.ndarray:
    return np.full(x.shape[0], src[1]) if src[0] == "const" else x[:, int(src[1])]


class Objective:
    """Vectorised PEtab objective of a :class:`~il6sim.estimate.problem.Problem`.

    Parameters
    ----------
    problem : the PEtab problem.
    rtol, atol : integrator tolerances (atol in the model's concentration unit). The defaults are
        tight so that finite differences of the objective are accurate.
    threads : threads for the batch integrator (default: numba's).
    max_steps : step budget of each integration segment.

    Notes
    -----
    All methods take ``x`` of shape (n_rows, n_parameters): full parameter-table vectors on the
    linear scale (see :meth:`Problem.x_from_free_scaled`).
    """

    def __init__(self, problem: Problem, *, rtol: float = 1e-10, atol: float = 1e-14, threads: int | None = None,
                 max_steps: int = 200_000) -> None:
        self.problem = problem
        self.rtol, self.atol, self.threads, self.max_steps = rtol, atol, threads, max_steps
        self.n_evaluations = 0  # parameter rows simulated
        self._formulas: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Formula] = {}
        m = problem.measurements
        self._groups = self._group_rows()
        # per experiment: its groups with their columns among the experiment's own rows
        per_exp: dict[int, list[tuple[str, tuple[str, ...], tuple[str, ...], np.ndarray, np.ndarray]]] = {}
        for ei, oid, opar, npar, rows in self._groups:
            local = {int(r): k for k, r in enumerate(problem.experiments[ei].rows)}
            cols = np.array([local[int(r)] for r in rows], dtype=np.int64)
            per_exp.setdefault(ei, []).append((oid, opar, npar, rows, cols))
        self._per_experiment = list(per_exp.items())
        self.sigma_estimated = self._sigma_depends_on_parameters()
        self._transform = np.array([problem.observables[o].transformation for o in m.observable])
        self._laplace = np.array([problem.observables[o].distribution == "laplace" for o in m.observable])
        with np.errstate(divide="ignore", invalid="ignore"):
            self._h_m = self._h(m.value[None, :])[0]
            jac = np.where(self._transform == "log", np.log(m.value),
                           np.where(self._transform == "log10", np.log(m.value * _LN10), 0.0))
        self._change_of_variables = float(np.sum(jac))

    # -- formulas -----------------------------------------------------------------------------
    def _formula(self, kind: str, oid: str, values: tuple[str, ...], observable_values: tuple[str, ...] = ()
                 ) -> Formula:
        """The observable or noise formula with its placeholders replaced (a noise formula may also use the
        observable's placeholders: ``observable_values``)."""
        key = (kind, oid, values, observable_values)
        f = self._formulas.get(key)
        if f is None:
            spec = self.problem.observables[oid]
            base = spec.formula if kind == "observable" else spec.noise
            mapping: dict[str, Any] = {}
            for k, v in [*((f"{kind}Parameter{k}_{oid}", v) for k, v in enumerate(values, start=1)),
                         *((f"observableParameter{k}_{oid}", v) for k, v in enumerate(observable_values, start=1))]:
                try:
                    mapping[k] = float(v)
                except ValueError:
                    mapping[k] = parse_formula(v)
            f = base.substitute(mapping) if mapping else base
            self._formulas[key] = f
        return f

    def _group_rows(self) -> list[tuple[int, str, tuple[str, ...], tuple[str, ...], np.ndarray]]:
        """Measurement rows grouped by experiment, observable and placeholder values."""
        m = self.problem.measurements
        groups: dict[tuple[int, str, tuple[str, ...], tuple[str, ...]], list[int]] = {}
        for i in range(len(m.observable)):
            key = (int(m.experiment[i]), m.observable[i], m.observable_parameters[i], m.noise_parameters[i])
            groups.setdefault(key, []).append(i)
        return [(*k, np.array(v, dtype=np.int64)) for k, v in groups.items()]

    def _sigma_depends_on_parameters(self) -> bool:
        ids = set(self.problem.free_ids)
        for _, oid, opar, npar, _ in self._groups:
            f = self._formula("noise", oid, npar, opar)
            if f.symbols & ids or f.symbols - {oid} - set(self.problem.parameter_ids):
                return True  # on an estimated parameter, or on the state (possibly through the observable)
        return False

    def _h(self, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self._transform == "log", np.log(y), np.where(self._transform == "log10", np.log10(y), y))

    # -- simulation ---------------------------------------------------------------------------
    def _experiment_states(self, e: Experiment, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(states at each measurement row (n, n_rows_e, n_species), model parameters (n, n_p), ok (n,))."""
        cn, n = e.cn, x.shape[0]
        p = np.tile(e.base_parameters, (n, 1))
        for i, src in e.parameter_sources:
            p[:, i] = _resolve(src, x)
        y0 = np.tile(cn.x0, (n, 1))
        ok = np.all(np.isfinite(p), axis=1)
        if isinstance(cn, SbmlCompiled):  # a general SBML model: one simulation per row
            return self._sbml_states(e, cn, x, p, y0, ok)
        if e.preequilibration is not None or e.start_steady:
            pp = np.tile(e.base_parameters, (n, 1))
            for i, src in (e.preeq_parameter_sources if e.preequilibration is not None else e.parameter_sources):
                pp[:, i] = _resolve(src, x)
            for i, src in e.preeq_species_sources:
                y0[:, i] = _resolve(src, x)
            for r in range(n):
                if not ok[r]:
                    continue
                ss = steady_state_at(cn, pp[r], y0[r].copy())
                if ss.converged and np.all(np.isfinite(ss.values)):
                    y0[r] = ss.values
                else:
                    ok[r] = False
        for i, src in e.species_sources:
            y0[:, i] = _resolve(src, x)
        states = np.full((n, e.rows.size, cn.n_species), np.nan)
        if e.times.size:
            good = np.where(ok)[0]
            if good.size:
                res = run_batch(cn, p[good], e.protocol, e.times, y0=y0[good], rtol=self.rtol, atol=self.atol,
                                max_steps=self.max_steps, threads=self.threads)
                fin = e.time_index >= 0
                for k, r in enumerate(good):
                    if res.status[k] != 0:
                        ok[r] = False
                        continue
                    states[r, fin] = res.y[k, e.time_index[fin]]
        inf_rows = np.where(e.time_index < 0)[0]
        if inf_rows.size:
            for r in np.where(ok)[0]:
                ss = steady_state_at(cn, p[r], y0[r].copy())
                if ss.converged:
                    states[r, inf_rows] = ss.values
                else:
                    ok[r] = False
        return states, p, ok

    def _sbml_states(self, e: Experiment, cn: SbmlCompiled, x: np.ndarray, p: np.ndarray, y0: np.ndarray,
                     ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        preeq = None
        if e.preequilibration is not None:
            pp = np.tile(e.base_parameters, (x.shape[0], 1))
            py0 = np.tile(cn.x0, (x.shape[0], 1))
            for i, src in e.preeq_parameter_sources:
                pp[:, i] = _resolve(src, x)
            for i, src in e.preeq_species_sources:
                py0[:, i] = _resolve(src, x)
            preeq = (pp, py0)
        for i, src in e.species_sources:
            y0[:, i] = _resolve(src, x)
        states = np.full((x.shape[0], e.rows.size, cn.n_species), np.nan)
        good = np.where(ok)[0]
        inf_rows = e.time_index < 0
        if good.size:
            sim, steady, ok_sim = cn.simulate_rows(
                p[good], y0[good], e.times, rtol=self.rtol, atol=self.atol,
                preeq=None if preeq is None else (preeq[0][good], preeq[1][good]), steady_rows=bool(inf_rows.any()))
            ok[good] = ok_sim
            fin = ~inf_rows
            states[np.ix_(good, np.where(fin)[0])] = sim[:, e.time_index[fin]]
            if inf_rows.any():
                states[np.ix_(good, np.where(inf_rows)[0])] = steady[:, None, :]
        return states, p, ok

    def simulate(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Simulated observables and noise sigmas (n_rows, n_measurements), and per-row success."""
        x = np.atleast_2d(np.asarray(x, dtype=float))
        n = x.shape[0]
        self.n_evaluations += n
        m = self.problem.measurements
        sim = np.full((n, len(m.observable)), np.nan)
        sigma = np.full_like(sim, np.nan)
        ok = np.ones(n, dtype=bool)
        ids = self.problem.parameter_ids
        for ei, groups in self._per_experiment:
            e = self.problem.experiments[ei]
            states, p, ok_e = self._experiment_states(e, x)
            ok &= ok_e
            cn = e.cn
            volumes = {c.id: c.volume_l for c in getattr(e.network, "compartments", ())}
            for oid, opar, npar, rows, cols in groups:
                env: dict[str, Any] = {}
                f_obs = self._formula("observable", oid, opar)
                f_noise = self._formula("noise", oid, npar, opar)
                for s in f_obs.symbols | f_noise.symbols:
                    if s in cn.parameter_index:  # model parameters: table values and condition overrides applied
                        env[s] = p[:, cn.parameter_index[s]][:, None]
                    elif s in ids:
                        env[s] = x[:, ids.index(s)][:, None]
                    elif s in cn.species_ids:
                        env[s] = states[:, cols, cn.species_ids.index(s)]
                    elif s in ("time", "t"):
                        env[s] = m.time[rows][None, :]
                    elif s in cn.observable_ids:
                        flat = states[:, cols].reshape(-1, cn.n_species)
                        env[s] = cn.observables(flat)[:, cn.observable_ids.index(s)].reshape(n, cols.size)
                    elif s in volumes:
                        env[s] = volumes[s]
                y = np.broadcast_to(f_obs.evaluate(env), (n, cols.size))
                env[oid] = y
                sigma[:, rows] = np.broadcast_to(f_noise.evaluate(env), (n, cols.size))
                sim[:, rows] = y
        ok &= np.all(np.isfinite(sim), axis=1)
        return sim, sigma, ok

    # -- objective ----------------------------------------------------------------------------
    def nllh(self, x: np.ndarray) -> np.ndarray:
        """Negative log-likelihood per row (inf where a simulation failed or is outside the model's domain)."""
        sim, sigma, ok = self.simulate(x)
        return self.nllh_from(sim, sigma, ok)

    def nllh_from(self, sim: np.ndarray, sigma: np.ndarray, ok: np.ndarray) -> np.ndarray:
        h_y = self._h(sim)
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (h_y - self._h_m) / sigma
            terms = np.where(self._laplace, np.log(2 * sigma) + np.abs(d), 0.5 * np.log(2 * np.pi * sigma**2) + 0.5 * d**2)
        total = np.sum(terms, axis=1) + self._change_of_variables
        return np.where(ok & np.isfinite(total), total, np.inf)

    def residuals_from(self, sim: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Residuals (n_rows, n_res) whose half sum of squares is the objective up to a constant (normal noise)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (self._h(sim) - self._h_m) / sigma
            if not self.sigma_estimated:
                return r
            s = np.sqrt(np.maximum(2.0 * np.log(sigma) + np.log(2 * np.pi) + SIGMA_OFFSET, 0.0))
        return np.concatenate([r, s], axis=1)

    @property
    def least_squares_ok(self) -> bool:
        """True when every observable has normal noise (the objective is a sum of squares)."""
        return not bool(self._laplace.any())

    def simulation_table(self, x: np.ndarray) -> Any:
        """The measurement table as a DataFrame with ``simulation`` (and ``sigma``) columns."""
        import pandas as pd

        sim, sigma, _ = self.simulate(np.atleast_2d(x))
        t = self.problem.measurement_table
        df = pd.DataFrame(t.rows, columns=list(t.columns))
        df["simulation"] = sim[0]
        df["sigma"] = sigma[0]
        return df

