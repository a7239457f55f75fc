"""Lowering a protocol to integration segments: the one place that decides what happens when.

Both :func:`il6sim.simulate` (for every backend) and the batch path (:func:`il6sim.batch.batch_arrays`)
integrate the same piecewise-constant problem: between two consecutive change times the rate
constants and the infusion inputs are constant, and at a change time the state may jump (a
bolus). :func:`lower_protocol` turns a :class:`~il6sim.protocol.Protocol` and an output grid into
that problem as plain arrays, a :class:`Segments`:

* segment ``g`` runs from ``t[g]`` to ``t[g + 1]`` (h);
* on entering it, ``jump[g]`` (nM) is added to the state and the parameter changes
  ``parameter_changes[g]`` are applied in order (so the rate constants of segment ``g`` are those of
  ``parameters(p)[..., g, :]``);
* during it, ``u[g]`` (nM/h) is the zero-order input of the infusions running then;
* it reports the outputs ``t_out[lo[g]:hi[g]]``: those at its start show the state after its
  events, the rest come from the integration, those at its end show the state reached there,
  before the next segment's events (the left limit).

Rules (the same for every backend, pinned by tests/test_lowering.py):

* Segment boundaries are the event times (and infusion stops) in ``[0, t_out[-1]]``, plus 0 and
  ``t_out[-1]``; they never depend on the rest of the output grid, so neither do the results.
* Events after the last output time are ignored (``simulate`` raises on them first unless told
  to ignore them). Events at the last output time are applied, in a zero-length last segment.
* An event at t = 0 is applied once, before the first output.
* At equal times: parameter changes, then doses, then infusions (``Protocol.sorted_events``).
* Output times: a time that appears once shows the state after the events at that time. A time
  that appears more than once (e.g. for trough readouts: ``[..., 24, 24, ...]``) shows, at its
  first occurrence, the state just before the events at that time (the left limit; at t = 0 the
  initial state, before any dose at 0) and at the others the state after them. Where no event
  happens at that time the occurrences are equal.

>>> from il6sim.protocol import AddConcentration, Protocol
>>> seg = lower_protocol(Protocol((AddConcentration(2.0, "a", 1.0),)), [0.0, 1.0, 2.0, 2.0, 3.0],
...                      parameter_index={"k": 0}, species_index={"a": 0})
>>> seg.t.tolist(), seg.jump[:, 0].tolist(), seg.lo.tolist(), seg.hi.tolist()
([0.0, 2.0, 3.0], [0.0, 1.0], [0, 3], [3, 5])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import UnknownNameError, suggest
from .protocol import AddConcentration, Infusion, Protocol, ScaleParameter, SetParameter

__all__ = ["ParameterChange", "Segments", "lower_protocol", "output_segments"]


@dataclass(frozen=True)
class ParameterChange:
    """Set (``scale=False``) or multiply (``scale=True``) parameter ``index`` by ``value``."""

    index: int
    value: float
    scale: bool = False


@dataclass(frozen=True)
class Segments:
    """A protocol over an output grid as piecewise-constant integration segments.

    Attributes
    ----------
    t : (n_seg + 1,) segment boundaries, h, non-decreasing; ``t[0] = 0``, ``t[-1] = t_out[-1]``.
        Zero-length segments occur only at the start (to report the state before the events at
        t = 0, when 0 is a repeated output time) and at the end (events at the last output time).
    jump : (n_seg, n_species) added to the state on entering each segment, nM.
    u : (n_seg, n_species) infusion input during each segment, nM/h.
    parameter_changes : per segment, the parameter changes applied on entering it, in order.
    lo, hi : (n_seg,) int64, the output rows ``t_out[lo[g]:hi[g]]`` each segment reports; the
        ranges are consecutive and cover every output (``lo[0] = 0``, ``hi[-1] = len(t_out)``).
    t_out : (m,) the output times, h.
    """

    t: np.ndarray
    jump: np.ndarray
    u: np.ndarray
    parameter_changes: tuple[tuple[ParameterChange, ...], ...]
    lo: np.ndarray
    hi: np.ndarray
    t_out: np.ndarray

    @property
    def n_segments(self) -> int:
        return len(self.t) - 1

    def parameters(self, p: np.ndarray) -> np.ndarray:
        """The parameter vectors in force in each segment: ``p`` (..., n_p) → (..., n_seg, n_p)."""
        p = np.asarray(p, dtype=float)
        out = np.empty(p.shape[:-1] + (self.n_segments, p.shape[-1]))
        cur = p.copy()
        for g, changes in enumerate(self.parameter_changes):
            for c in changes:
                if c.scale:
                    cur[..., c.index] *= c.value
                else:
                    cur[..., c.index] = c.value
            out[..., g, :] = cur
        return out


def output_segments(t: np.ndarray, t_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Output ranges ``lo, hi`` of the segments with boundaries ``t`` (the repeated-time rule).

    An output that shows the state after the events at its time (a time's only or later
    occurrence) belongs to the last segment starting at or before it; the first occurrence of a
    repeated time shows the left limit and belongs to the first segment ending at or after it.
    """
    t = np.asarray(t, dtype=float)
    t_out = np.asarray(t_out, dtype=float)
    left = np.zeros(t_out.size, dtype=bool)
    if t_out.size > 1:
        dup = t_out[1:] == t_out[:-1]
        left[:-1] = dup
        left[1:] &= ~dup  # only the first of a run of equal times
    after = np.searchsorted(t[:-1], t_out, side="right") - 1
    before = np.searchsorted(t[1:], t_out, side="left")
    seg_of = np.where(left, before, after)
    g = np.arange(len(t) - 1)
    lo = np.searchsorted(seg_of, g, side="left").astype(np.int64)
    hi = np.searchsorted(seg_of, g, side="right").astype(np.int64)
    return lo, hi


def lower_protocol(protocol: Protocol, t_out: Sequence[float] | np.ndarray, *, parameter_index: Mapping[str, int],
                   species_index: Mapping[str, int], n_species: int | None = None) -> Segments:
    """Lower ``protocol`` over the output times ``t_out`` to integration segments.

    Parameters
    ----------
    protocol : the events; those after ``t_out[-1]`` are ignored (their names are still checked).
    t_out : (m,) non-decreasing output times, h, >= 0; a repeated time reports the state before
        and after the events at that time (module docstring).
    parameter_index, species_index : name → position in the parameter vector and the state.
    n_species : length of the state (default: ``len(species_index)``).

    Returns
    -------
    Segments

    Raises
    ------
    UnknownNameError
        An event names a species or parameter that is not in the indexes.
    ValueError
        ``t_out`` is empty, not finite, negative or decreasing.

    >>> from il6sim.protocol import Infusion, Protocol, SetParameter
    >>> seg = lower_protocol(Protocol((Infusion(1.0, 3.0, "a", 2.0), SetParameter(2.0, "k", 0.0))), [0.0, 4.0],
    ...                      parameter_index={"k": 0}, species_index={"a": 0})
    >>> seg.t.tolist(), seg.u[:, 0].tolist(), [len(c) for c in seg.parameter_changes]
    ([0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 2.0, 2.0, 0.0], [0, 0, 1, 0])
    """
    t_out = np.asarray(t_out, dtype=float).ravel()
    if t_out.size == 0 or not np.all(np.isfinite(t_out)) or t_out[0] < 0 or np.any(np.diff(t_out) < 0):
        raise ValueError("t_out must be a non-empty non-decreasing array of finite times >= 0 h")
    n = len(species_index) if n_species is None else int(n_species)
    sorted_events = protocol.sorted_events()
    for e in sorted_events:
        if isinstance(e, (AddConcentration, Infusion)):
            if e.species not in species_index:
                raise UnknownNameError(f"protocol names unknown species '{e.species}'{suggest(e.species, species_index)}")
        elif e.name not in parameter_index:
            raise UnknownNameError(f"protocol sets unknown parameter '{e.name}'{suggest(e.name, parameter_index)}")
    t_end = float(t_out[-1])
    events = [e for e in sorted_events if e.time_h <= t_end]

    cuts = {0.0, t_end}
    for e in events:
        cuts.add(float(e.time_h))
        if isinstance(e, Infusion) and e.stop_h < t_end:
            cuts.add(float(e.stop_h))
    bounds = sorted(cuts)
    if len(bounds) == 1 or any(e.time_h == t_end for e in events):
        bounds.append(t_end)  # a zero-length last segment applies the events at the end
    if t_out.size > 1 and t_out[1] == 0.0:
        bounds.insert(0, 0.0)  # a zero-length first segment reports the state before the events at 0
    t = np.array(bounds, dtype=float)
    n_seg = len(t) - 1

    jump = np.zeros((n_seg, n))
    u = np.zeros((n_seg, n))
    changes: list[list[ParameterChange]] = [[] for _ in range(n_seg)]
    starts = t[:-1]
    for e in events:
        g = int(np.searchsorted(starts, e.time_h, side="right")) - 1  # the last segment starting then
        if isinstance(e, SetParameter):
            changes[g].append(ParameterChange(parameter_index[e.name], float(e.value)))
        elif isinstance(e, ScaleParameter):
            changes[g].append(ParameterChange(parameter_index[e.name], float(e.factor), scale=True))
        elif isinstance(e, AddConcentration):
            jump[g, species_index[e.species]] += e.delta_nM
    for e in events:
        if isinstance(e, Infusion):
            running = (e.start_h <= starts) & (starts < e.stop_h)
            u[running, species_index[e.species]] += e.rate_nM_per_h
    lo, hi = output_segments(t, t_out)
    return Segments(t, jump, u, tuple(tuple(c) for c in changes), lo, hi, t_out)
