"""The sweep engine: runs blocks of design-matrix rows through the jitted batch solver.

:class:`SweepEngine` holds what is fixed across chunks (the output grid, the default setting) and a
cache of compiled settings, one per combination of drugs, doses, scenario, genotypes and (when dosed)
body weight. For each row it finds the steady state at the row's parameters, integrates the
scenario and doses from there with :func:`il6sim.batch.run_batch`, runs the untreated twin when
``inhibition`` is asked for, and turns the time courses into metrics. Failures are data: a row
keeps a status code and a message, and NaN metrics.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..compiled import CompiledNetwork
from ..drugs import DEFAULT_WEIGHT_KG
from ..errors import Il6simError
from ..protocol import AddConcentration, Infusion, Protocol
from ..readouts import DosingSchedule, add_dose_times, parse_metric
from .factors import parse_weight_kg
from .metrics import metric_values, observables_of
from .spec import SweepSpec, setting_run, time_grid

__all__ = ["BAD_SETTING", "NO_STEADY_STATE", "SweepEngine"]

NO_STEADY_STATE = 5  # status of a row with no steady state to start from (0-4: il6sim._jitsolve)
BAD_SETTING = 6  # status of a row whose setting could not be built (e.g. a drawn weight outside 1-500 kg)


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
    schedule: DosingSchedule  # of the first dose group: intervals and the first dose for windows
    t_run: np.ndarray  # the output grid with this setting's dose times as pre/post pairs
    keep: np.ndarray  # indices of t_run that make up the sweep's output grid (post-dose values)


class SweepEngine:
    """Runs rows of a sweep's design matrix: what :func:`il6sim.sweeps.sweep` and Sobol' analyses solve with.

    Built once per spec, it keeps what is fixed across chunks (the output grid ``t``, the default
    setting's ``run``, ``cn``, ``protocol``, ``untreated`` and parameter vector ``base``) and a cache
    of compiled settings, and is safe to share between threads.

    Methods
    -------
    chunk(values)
        Run an (n_rows, n_factors) block of the design matrix; returns a dict with ``values``,
        ``status``, ``messages``, ``metrics`` (n_rows, n_metrics), ``labels`` and, if kept,
        ``timecourses`` (n_rows, n_t, n_observables).
    parameter_rows(values)
        Full parameter vectors of the default setting with the parameter factors' values.
    labels(values)
        (n_rows, n_level_factors) labels of the rows' levels.
    key(row), setting(key)
        The setting key of a row, and its compiled setting (cached).
    """

    _CACHE = 64  # settings kept (a drawn body weight makes one per dosed row)

    def __init__(self, spec: SweepSpec) -> None:
        self.spec = spec
        self.t = time_grid(spec.duration_h, spec.step_h)
        self.parsed_metrics = [parse_metric(m) for m in spec.metrics]
        self.param_cols = [j for j, f in enumerate(spec.factors) if f.kind == "parameter"]
        self.level_cols = [j for j, f in enumerate(spec.factors) if f.is_level]
        self.weight_col = next((j for j, f in enumerate(spec.factors) if f.kind == "weight"), None)
        self._settings: OrderedDict[tuple[Any, ...], _Setting] = OrderedDict()
        self._lock = threading.RLock()
        default = self.setting(self.key(np.zeros(len(spec.factors)) if self.weight_col is None else
                                        np.array([parse_weight_kg(spec.weight) if j == self.weight_col else 0.0
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
        from ..compiled import compile_network

        if key in self._settings:
            self._settings.move_to_end(key)
            return self._settings[key]
        spec = self.spec
        levels = dict(zip(self.level_cols, key[:-1]))
        run = setting_run(spec.network, spec.factors, spec.drugs, spec.scenario, spec.weight, spec.duration_h,
                          levels, weight_kg=key[-1])
        cn = compile_network(run.network)
        untreated = run.scenario.protocol if run.scenario is not None else Protocol()
        dose_times = sorted({e.time_h for e in run.protocol.events if isinstance(e, (AddConcentration, Infusion))}
                            - {e.time_h for e in untreated.events})
        schedule = DosingSchedule.of_doses(run.doses)
        t_run, keep = add_dose_times(self.t, dose_times)
        st = _Setting(run, cn, run.protocol, untreated,
                      cn.parameter_vector(run.parameters), [cn.parameter_index[spec.factors[j].parameter]
                                                            for j in self.param_cols],
                      [cn.observable_ids.index(o) for o in spec.observables], schedule, t_run, keep)
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
        metrics = np.full((n, len(spec.metric_names)), np.nan)
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
            self._run_group(st, values[rows], np.asarray(rows), status, messages, obs, metrics)
        for r in range(n):
            if status[r] != 0:
                obs[r] = np.nan
                metrics[r] = np.nan
        out = {"values": values, "status": status, "messages": np.array(messages, dtype=str),
               "metrics": metrics, "labels": self.labels(values)}
        if spec.timecourses:
            out["timecourses"] = obs
        return out

    def _run_group(self, st: _Setting, values: np.ndarray, rows: np.ndarray, status: np.ndarray,
                   messages: list[str], obs: np.ndarray, metrics: np.ndarray) -> None:
        from ..batch import run_batch
        from ..solve import steady_state_at

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
        res = run_batch(cn, p[good], st.protocol, st.t_run, y0=y0[good], **kw)
        n_obs = len(spec.observables)
        run_obs = np.full((good.size, st.t_run.size, n_obs), np.nan)
        for k, g in enumerate(good):
            r = rows[g]
            status[r], messages[r] = res.status[k], res.messages[k]
            if res.status[k] == 0:
                run_obs[k] = observables_of(cn, res.y[k], st.obs_idx)
                obs[r] = run_obs[k][st.keep]
        ref_obs = None
        if any(m.needs_reference for m in self.parsed_metrics):
            same = st.protocol == st.untreated  # untreated rows are their own reference
            ref = res if same else run_batch(cn, p[good], st.untreated, st.t_run, y0=y0[good], **kw)
            ref_obs = np.full_like(run_obs, np.nan)
            for k, g in enumerate(good):
                r = rows[g]
                if ref.status[k] == 0:
                    ref_obs[k] = observables_of(cn, ref.y[k], st.obs_idx)
                elif status[r] == 0:
                    status[r] = ref.status[k]
                    messages[r] = f"untreated reference run: {ref.messages[k]}"
        metrics[rows[good]] = metric_values(st.t_run, run_obs, self.parsed_metrics, st.schedule, ref_obs)
