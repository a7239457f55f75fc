"""Many parameter rows through one protocol on the jitted integrator (:func:`run_batch`).

The protocol is lowered once by :func:`il6sim.lowering.lower_protocol`, the same lowering
:func:`il6sim.simulate` uses, so a batch row and a single simulation follow the same rules (events
at t = 0 count once, an output at an event time shows the state after it, a repeated output time
shows the state before and after the events there, events after the last output time are
ignored). :func:`batch_arrays` adds the rate constants of every row and segment;
:func:`il6sim._jitsolve.integrate_batch` runs the rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ._jitsolve import SUCCESS, atol_vector, integrate_batch, method_code, status_message
from .lowering import lower_protocol
from .protocol import Protocol

if TYPE_CHECKING:
    from .compiled import CompiledNetwork

__all__ = ["BatchArrays", "BatchResult", "batch_arrays", "run_batch"]


@dataclass(frozen=True)
class BatchArrays:
    """The arrays :func:`il6sim._jitsolve.integrate_batch` takes for one protocol and many parameter rows.

    ``seg_t``, ``lo``, ``hi``, ``u_seg`` and ``jump_seg`` are those of the lowering
    (:class:`il6sim.lowering.Segments`); ``k_rows`` (n_rows, n_seg, 2R) holds each row's rate
    constants in each segment; ``y0_rows`` (n_rows, n) the initial states.
    """

    seg_t: np.ndarray
    k_rows: np.ndarray
    u_seg: np.ndarray
    jump_seg: np.ndarray
    y0_rows: np.ndarray
    t_out: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


@dataclass(frozen=True)
class BatchResult:
    """Per-row status, message, states and solver statistics of a batch run."""

    t: np.ndarray
    status: np.ndarray
    y: np.ndarray
    stats: np.ndarray = field(repr=False)  # (n_rows, 5): t_reached, n_steps, n_fev, n_jev, n_lu
    messages: tuple[str, ...] = ()
    wall_time_s: float = 0.0

    @property
    def ok(self) -> np.ndarray:
        return self.status == SUCCESS


def batch_arrays(cn: CompiledNetwork, parameters: Sequence[Mapping[str, float]] | np.ndarray, protocol: Protocol,
                 t_out: Sequence[float] | np.ndarray, *, y0: np.ndarray | None = None,
                 base_parameters: Mapping[str, float] | None = None) -> BatchArrays:
    """Lower a protocol and parameter rows to the arrays of :func:`il6sim._jitsolve.integrate_batch`.

    Parameters
    ----------
    cn : CompiledNetwork.
    parameters : a list of override dicts (applied on top of ``base_parameters``) or a full
        parameter matrix (n_rows, n_p) in ``cn.parameter_ids`` order.
    protocol : an :class:`il6sim.Protocol`, lowered by :func:`il6sim.lowering.lower_protocol`
        (its module docstring has the rules); events after ``t_out[-1]`` are ignored.
    t_out : non-decreasing output times, h, starting at >= 0; a time given twice reports the
        state before and after the events at that time.
    y0 : (n,) or (n_rows, n) initial states (default: the file's initial values).

    >>> import il6sim
    >>> cn = il6sim.compile_network(il6sim.network._tiny())
    >>> arr = batch_arrays(cn, [{"k": 0.5}], il6sim.Protocol((il6sim.AddConcentration(1.0, "a", 2.0),)), [0, 1, 1, 2])
    >>> arr.seg_t.tolist(), arr.lo.tolist(), arr.hi.tolist(), arr.k_rows.shape
    ([0.0, 1.0, 2.0], [0, 2], [2, 4], (1, 2, 2))
    """
    seg = lower_protocol(protocol, t_out, parameter_index=cn.parameter_index, species_index=cn.species_index,
                         n_species=cn.n_species)
    if isinstance(parameters, np.ndarray) and parameters.ndim == 2:
        p_rows = np.array(parameters, dtype=float)
        if p_rows.shape[1] != len(cn.parameter_ids):
            raise ValueError(f"parameter matrix has {p_rows.shape[1]} columns; the network has "
                             f"{len(cn.parameter_ids)} parameters")
    else:
        base = dict(base_parameters or {})
        p_rows = np.array([cn.parameter_vector({**base, **dict(row)}) for row in parameters], dtype=float)
    n_rows, n = p_rows.shape[0], cn.n_species
    n_seg = seg.n_segments
    p_seg = seg.parameters(p_rows)  # (n_rows, n_seg, n_p)
    k_rows = np.empty((n_rows, n_seg, 2 * cn.n_reactions))
    for r in range(n_rows):
        for g in range(n_seg):
            if g and not seg.parameter_changes[g]:
                k_rows[r, g] = k_rows[r, g - 1]  # same parameters, same rate constants
            else:
                k_rows[r, g] = cn.rate_constants(p_seg[r, g])
    if y0 is None:
        y0_rows = np.tile(cn.x0, (n_rows, 1))
    else:
        y0a = np.asarray(y0, dtype=float)
        y0_rows = np.tile(y0a, (n_rows, 1)) if y0a.ndim == 1 else y0a.copy()
        if y0_rows.shape != (n_rows, n):
            raise ValueError(f"y0 has shape {y0a.shape}; expected ({n},) or ({n_rows}, {n})")
    return BatchArrays(seg.t, k_rows, seg.u, seg.jump, np.ascontiguousarray(y0_rows), seg.t_out, seg.lo, seg.hi)


def run_batch(cn: CompiledNetwork, parameters: Sequence[Mapping[str, float]] | np.ndarray, protocol: Protocol,
              t_out: Sequence[float] | np.ndarray, *, y0: np.ndarray | None = None,
              base_parameters: Mapping[str, float] | None = None, method: str = "Rodas5P", rtol: float = 1e-6,
              atol: float | Sequence[float] = 1e-12, max_steps: int | Sequence[int] = 100_000, h0: float = 0.0,
              hmax: float = math.inf, threads: int | None = None) -> BatchResult:
    """Simulate every parameter row through ``protocol`` in parallel threads.

    A failing row gets a status and message and NaN from its failure on; the other rows are not
    affected. ``max_steps`` is the per-segment step budget, a scalar or one per row. ``threads``
    defaults to numba's thread count (``numba.set_num_threads`` applies); the jitted kernel
    releases the GIL, and each thread's four lanes claim rows one at a time from a shared counter, so
    cheap and costly rows balance (a row's result does not depend on the rows beside it). The
    arguments are those of :func:`batch_arrays`; output times follow the rules of
    :func:`il6sim.simulate`.

    >>> import il6sim, numpy as np
    >>> cn = il6sim.compile_network(il6sim.network._tiny())
    >>> res = run_batch(cn, [{"k": 0.5}, {"k": 1.0}], il6sim.Protocol(), [0.0, 1.0])
    >>> res.status.tolist(), np.round(res.y[:, 1, 0], 6).tolist()
    ([0, 0], [0.606531, 0.367879])
    """
    t_wall = time.perf_counter()
    arr = batch_arrays(cn, parameters, protocol, t_out, y0=y0, base_parameters=base_parameters)
    n_rows, n = arr.y0_rows.shape
    budget = np.broadcast_to(np.asarray(max_steps, dtype=np.int64), (n_rows,)).copy()
    r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef = cn.kernel_args()
    status, y_out, stats = integrate_batch(arr.seg_t, arr.lo, arr.hi, arr.k_rows, arr.u_seg, arr.jump_seg,
                                           arr.y0_rows, arr.t_out, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, rtol,
                                           atol_vector(atol, n), budget, h0, hmax, method_code(method), threads)
    messages = tuple(status_message(int(st), stats[i, 0], int(budget[i])) for i, st in enumerate(status))
    return BatchResult(arr.t_out, status, y_out, stats, messages, time.perf_counter() - t_wall)
