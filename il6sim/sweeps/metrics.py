"""Per-row metrics of a sweep's observable time courses, through :mod:`il6sim.readouts`.

:func:`metric_values` reduces (n_rows, n_t, n_observables) time courses of rows that share one
setting (so one output grid and one dosing schedule) to the (n_rows, n_metrics) table that chunks
store, in ``SweepSpec.metric_names`` order (observable-major); :func:`observables_of` computes the
chosen observables of one solved row from its states with plain loops (no BLAS), so the numbers are
the same bits whatever the thread count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..compiled import CompiledNetwork
from ..readouts import DosingSchedule, Metric

__all__ = ["metric_values", "observables_of"]


def metric_values(t: np.ndarray, obs: np.ndarray, metrics: Sequence[Metric], schedule: DosingSchedule,
                  ref_obs: np.ndarray | None = None) -> np.ndarray:
    """(n_rows, n_obs * n_metrics) from (n_rows, n_t, n_obs) time courses on grid ``t``.

    ``schedule`` gives the first dose (for ``dose`` in windows) and the dosing intervals;
    ``ref_obs`` holds the untreated twins' time courses (for inhibition).
    """
    n_rows = obs.shape[0]
    cols = []
    for o in range(obs.shape[2]):
        y = obs[:, :, o]
        ref = ref_obs[:, :, o] if ref_obs is not None else None
        for m in metrics:
            if m.needs_reference and ref is None:
                cols.append(np.full(n_rows, np.nan))
                continue
            cols.append(np.broadcast_to(m.evaluate(t, y, dose_times=schedule.times_h, tau_h=schedule.tau_h,
                                                   reference=ref), (n_rows,)))
    return np.stack(cols, axis=1) if cols else np.zeros((n_rows, 0))


def observables_of(cn: CompiledNetwork, y: np.ndarray, idx: Sequence[int]) -> np.ndarray:
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
