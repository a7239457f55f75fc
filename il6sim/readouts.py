"""Readouts: the numbers people quote from a time course, each defined once.

Every table, sweep, figure and comparison in il6sim reads time courses through this module, so a
number called ``inhibition[7d:28d]`` means the same thing wherever it appears. Functions take an
output grid ``t`` (h, non-decreasing) and values ``y`` whose last axis is time (one time course, or
many rows at once); they return one number per row.

Conventions
-----------
* **Output grids.** :func:`output_grid` gives ``0, step, ..., duration`` (the end always included)
  and puts every dose time in twice. The solvers read a repeated time as a pair: the first shows
  the state just before the events at that time (the left limit), the second the state after them.
  That is how a trough "just before the next dose" is read exactly, and why areas are exact across
  a bolus.
* **Windows** ``[start:end]`` are closed intervals in hours. At ``start`` the state after the
  events there is used, at ``end`` the state before them, so a dosing interval ``[d_i:d_{i+1}]``
  holds neither the dose that ends it nor the pre-dose state at its start. Spelled in metric names
  with units (``[7d:28d]``, ``[12h:]``) or with two symbols: ``dose`` (the first dose of the run, or
  0 h when it has none) and ``end`` (the last output time). Omitted ends mean ``0`` and ``end``.
  Window edges between output times are interpolated linearly.
* **Areas** are trapezoidal, summed in time order; zero-width steps (the pre/post pair of a dose) add nothing, so an
  area is the same whether the grid holds the pair or only the post-dose value when the observable
  does not jump.
* **Dosing intervals** (the NCA convention of pharmacometrics): interval *i* runs from dose *i* to
  dose *i + 1*; the last runs one dosing interval (``tau``) past the last dose, or to the end of
  the run for a single dose. Per interval: ``cmax`` (peak), ``ctrough`` (the value just before the
  next dose, i.e. at the interval's end) and ``auctau`` (area over the interval).
* **Inhibition** (percent) of a treated time course against its untreated twin (same patient,
  scenario and parameters, no drug) over a window: ``100 · (1 − AUC_treated / AUC_untreated)``;
  NaN when the untreated area is 0 or not finite. Default window: ``[dose:end]``.

Metric names
------------
Sweeps, ``compare`` and figures name metrics as ``KIND[WINDOW]`` or ``KIND[INTERVAL]``, optionally
followed by ``:THRESHOLD`` for the time metrics (:func:`parse_metric`):

===========================  ================================================================
``peak[w]``, ``trough[w]``   largest / smallest value in window ``w`` (default ``[0:end]``)
``mean[w]``                  time-averaged value, AUC / window length (default ``[0:end]``)
``auc[w]``                   area, value x h (default ``[0:end]``)
``time_above[w]:X``          hours above X, crossings interpolated (default ``[0:end]``)
``time_below[w]:X``          hours below X (default ``[0:end]``)
``last_above[w]:X``          hours from the window's start to the last time at or above X (time to
                             clearance: ``last_above[8.8d:end]:100`` on ``viral_load_copies_ml``)
``last_above_shift[w]:X``    hours by which that time moves against the untreated twin (a delay
                             of clearance is positive; default ``[dose:end]``)
``value[T]``, ``before[T]``  the value at time T (after the events at T), or just before them
``inhibition[w]``            percent, against the untreated twin (default ``[dose:end]``)
``cmax[n]``                  peak of dosing interval n (1-based) or ``last``
``ctrough[n]``               value just before the dose that ends interval n (or ``last``)
``auctau[n]``                area over dosing interval n (or ``last``)
===========================  ================================================================

The old spellings ``time_above:X`` and ``time_below:X`` (no window) still parse.

>>> import numpy as np
>>> t = output_grid(48.0, 12.0, dose_times=[24.0])
>>> t.tolist()
[0.0, 12.0, 24.0, 24.0, 36.0, 48.0]
>>> y = np.array([0.0, 0.0, 0.0, 10.0, 5.0, 2.5])       # a bolus at 24 h, then decay
>>> m = parse_metric("cmax[1]"), parse_metric("auc[dose:end]")
>>> [float(x.evaluate(t, y, dose_times=[24.0])) for x in m]
[10.0, 135.0]
>>> m[1].name, parse_metric("trough").name
('auc[dose:end]', 'trough[0:end]')
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import Il6simError

__all__ = [
    "DosingSchedule",
    "Metric",
    "Window",
    "add_dose_times",
    "auc",
    "canonical_name",
    "inhibition",
    "interval_table",
    "last_above",
    "mean",
    "output_grid",
    "parse_metric",
    "parse_window",
    "peak",
    "time_above",
    "time_below",
    "trough",
    "value_at",
]

_EPS_T = 1e-9  # h: times closer than this are the same time


class ReadoutError(Il6simError, ValueError):
    """A readout cannot be computed as asked (bad metric spelling, window outside the run, ...)."""


# ---------------------------------------------------------------------------------------------
# grids
def output_grid(duration_h: float, step_h: float, *, dose_times: Sequence[float] = (),
                extra: Sequence[float] = ()) -> np.ndarray:
    """Output times ``0, step, ..., duration`` (h, the end always included) with each dose time twice.

    A dose time inside ``[0, duration]`` appears as a pair (the state just before the dose, then
    after it); ``extra`` times are added once. Times already on the grid are not duplicated.

    >>> output_grid(10.0, 4.0, dose_times=[4.0, 6.0]).tolist()
    [0.0, 4.0, 4.0, 6.0, 6.0, 8.0, 10.0]
    """
    if not (duration_h >= 0 and math.isfinite(duration_h)):
        raise ReadoutError(f"duration must be a finite number of hours >= 0, got {duration_h!r}")
    if not (step_h > 0 and math.isfinite(step_h)):
        raise ReadoutError(f"output step must be a finite number of hours > 0, got {step_h!r}")
    t = np.arange(0.0, duration_h + 1e-9, step_h)
    if t.size == 0 or not np.isclose(t[-1], duration_h):
        t = np.append(t, duration_h)
    t[-1] = duration_h
    singles = [float(x) for x in extra if 0.0 <= float(x) <= duration_h]
    return add_dose_times(np.union1d(t, np.asarray(singles, dtype=float)), dose_times)[0]


def add_dose_times(t: Sequence[float] | np.ndarray, dose_times: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Grid ``t`` with each dose time inside it as a pre/post pair, and where ``t``'s points went.

    Returns ``(t_new, keep)`` with ``t_new[keep] == t``: ``keep`` points at the post-dose copy of a
    pair, so ``y[keep]`` is the time course on the original grid (the state after events).

    >>> t_new, keep = add_dose_times([0.0, 6.0, 12.0], [6.0, 9.0])
    >>> t_new.tolist(), keep.tolist()
    ([0.0, 6.0, 6.0, 9.0, 9.0, 12.0], [0, 2, 5])
    """
    t = np.asarray(t, dtype=float)
    lo, hi = (float(t[0]), float(t[-1])) if t.size else (0.0, -1.0)
    doses = np.array(sorted({float(x) for x in dose_times if lo <= float(x) <= hi}))
    if doses.size == 0:
        return t.copy(), np.arange(t.size)
    on_grid = np.isin(doses, t)
    extra = np.concatenate([doses, doses[~on_grid]])  # a pre copy for each; off-grid ones need a post copy too
    tag = np.concatenate([np.zeros(t.size), -np.ones(extra.size)])  # sort: pre copies before grid points
    order = np.lexsort((tag, np.concatenate([t, extra])))
    t_new = np.concatenate([t, extra])[order]
    where = np.empty(order.size, dtype=np.int64)
    where[order] = np.arange(order.size)
    return t_new, where[:t.size]


# ---------------------------------------------------------------------------------------------
# windows
def _parse_time(text: str, what: str) -> float:
    from .units import parse_time  # model layer, no engine

    try:
        return parse_time(text.strip(), "h")
    except Il6simError as exc:
        raise ReadoutError(f"{what}: {exc}") from None


def _fmt_time(h: float) -> str:
    if h == 0:
        return "0"
    if abs(h / 24.0 - round(h / 24.0)) < 1e-12:
        return f"{round(h / 24.0):g}d"
    days = h / 24.0
    if abs(h - round(h)) > 1e-9 and abs(days * 100 - round(days * 100)) < 1e-6:  # 379.2 h: "15.8d", not hours
        return f"{round(days, 2):g}d"
    return f"{h:g}h"


@dataclass(frozen=True)
class Window:
    """A closed time window; each end is hours, ``"dose"`` (first dose) or ``"end"`` (last output)."""

    start: float | str = 0.0
    end: float | str = "end"

    @property
    def label(self) -> str:
        """``[start:end]`` as written in metric names."""
        parts = [s if isinstance(s, str) else _fmt_time(s) for s in (self.start, self.end)]
        return f"[{parts[0]}:{parts[1]}]"

    def resolve(self, t_end: float, first_dose: float | None = None) -> tuple[float, float]:
        """(start, end) in hours for a run ending at ``t_end`` whose first dose is ``first_dose``."""
        def one(x: float | str) -> float:
            if x == "end":
                return float(t_end)
            if x == "dose":
                return float(first_dose) if first_dose is not None else 0.0
            return float(x)

        a, b = one(self.start), one(self.end)
        if b < a:
            raise ReadoutError(f"window {self.label} ends ({b:g} h) before it starts ({a:g} h)")
        return a, b


WHOLE_RUN = Window(0.0, "end")
AFTER_DOSE = Window("dose", "end")


def parse_window(text: str) -> Window:
    """A window from ``"7d:28d"``, ``"dose:end"``, ``":28d"`` or ``"12h:"`` (brackets optional).

    >>> parse_window("[7d:28d]").resolve(t_end=1000.0)
    (168.0, 672.0)
    """
    s = text.strip()
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1]
    if s.count(":") != 1:
        raise ReadoutError(f"window '{text}': write it as START:END, e.g. '7d:28d', 'dose:end' or '12h:'")
    lo, hi = (p.strip() for p in s.split(":"))

    def end(p: str, default: float | str) -> float | str:
        if not p:
            return default
        if p in ("dose", "end"):
            return p
        return _parse_time(p, f"window '{text}'")

    return Window(end(lo, 0.0), end(hi, "end"))


# ---------------------------------------------------------------------------------------------
# core readouts (time on the last axis)
def _as_arrays(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    if t.ndim != 1 or y.shape[-1:] != t.shape:
        raise ReadoutError(f"time has shape {t.shape} but values have shape {y.shape}: time must be the last axis")
    if t.size and np.any(np.diff(t) < 0):
        raise ReadoutError("output times must be non-decreasing")
    return t, y


def _edge(t: np.ndarray, y: np.ndarray, at: float, before: bool) -> tuple[int, np.ndarray | None]:
    """Index of the grid point used for a window edge at ``at``, or the interpolated value there.

    On the grid: the last of a repeated time (after the events) for a start, the first (before
    them) for an end. Between grid points: linear interpolation, returned as the second item.
    """
    i_left = int(np.searchsorted(t, at - _EPS_T, side="left"))
    i_right = int(np.searchsorted(t, at + _EPS_T, side="right")) - 1
    if i_left <= i_right:  # ``at`` is on the grid
        return (i_left if before else i_right), None
    if i_left == 0 or i_left >= t.size:
        raise ReadoutError(f"time {at:g} h is outside the output grid [{t[0]:g}, {t[-1]:g}] h")
    t0, t1 = t[i_left - 1], t[i_left]
    w = (at - t0) / (t1 - t0)
    return -1, (1.0 - w) * y[..., i_left - 1] + w * y[..., i_left]


def window_values(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, start: float,
                  end: float) -> tuple[np.ndarray, np.ndarray]:
    """The grid times and values inside ``[start, end]`` h, with interpolated edges off the grid."""
    t, y = _as_arrays(t, y)
    if t.size == 0:
        raise ReadoutError("no output times")
    if start < t[0] - _EPS_T or end > t[-1] + _EPS_T:
        raise ReadoutError(f"window [{start:g}, {end:g}] h is outside the output grid [{t[0]:g}, {t[-1]:g}] h")
    i0, v0 = _edge(t, y, start, before=False)
    i1, v1 = _edge(t, y, end, before=True)
    lo = i0 if v0 is None else int(np.searchsorted(t, start, side="right"))
    hi = i1 if v1 is None else int(np.searchsorted(t, end, side="left")) - 1
    tw, yw = t[lo:hi + 1], y[..., lo:hi + 1]
    if v0 is None and v1 is None:
        return tw, yw
    ts = ([start] if v0 is not None else []) + tw.tolist() + ([end] if v1 is not None else [])
    parts = ([v0[..., None]] if v0 is not None else []) + [yw] + ([v1[..., None]] if v1 is not None else [])
    return np.asarray(ts), np.concatenate(parts, axis=-1)


def value_at(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, time_h: float, *,
             before: bool = False) -> np.ndarray:
    """The value at ``time_h`` (after the events there; ``before=True``: just before them).

    >>> value_at([0, 1, 1, 2], [0.0, 1.0, 5.0, 4.0], 1.0, before=True), value_at([0, 2], [0.0, 4.0], 0.5)
    (array(1.), array(1.))
    """
    t, y = _as_arrays(t, y)
    i, v = _edge(t, y, float(time_h), before=before)
    return np.asarray(v if v is not None else y[..., i])


def _span(t: np.ndarray, y: np.ndarray, window: Window | None, first_dose: float | None,
          default: Window) -> tuple[np.ndarray, np.ndarray]:
    t, y = _as_arrays(t, y)
    a, b = (window or default).resolve(float(t[-1]), first_dose)
    return window_values(t, y, a, b)


def _area(tw: np.ndarray, yw: np.ndarray) -> np.ndarray:
    if tw.size < 2:
        return np.zeros(yw.shape[:-1])
    dt = np.diff(tw)
    terms = 0.5 * (yw[..., 1:] + yw[..., :-1]) * dt
    keep = dt > 0
    if not keep.all():
        terms = terms[..., keep]
    if terms.shape[-1] == 0:
        return np.zeros(terms.shape[:-1])
    # summed in time order (the last partial sum): the same bits for one row or many, whatever the layout
    return np.asarray(np.cumsum(terms, axis=-1)[..., -1])


def peak(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, window: Window | None = None, *,
         first_dose: float | None = None) -> np.ndarray:
    """Largest value in ``window`` (default: the whole run); NaN if any value in it is NaN."""
    tw, yw = _span(np.asarray(t), np.asarray(y), window, first_dose, WHOLE_RUN)
    return np.asarray(np.max(yw, axis=-1))


def trough(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, window: Window | None = None, *,
           first_dose: float | None = None) -> np.ndarray:
    """Smallest value in ``window`` (default: the whole run). For the trough of a dosing interval
    (the value just before the next dose) use ``ctrough`` (:func:`interval_table`)."""
    tw, yw = _span(np.asarray(t), np.asarray(y), window, first_dose, WHOLE_RUN)
    return np.asarray(np.min(yw, axis=-1))


def auc(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, window: Window | None = None, *,
        first_dose: float | None = None) -> np.ndarray:
    """Trapezoidal area over ``window`` (default: the whole run), units of y times h.

    >>> float(auc([0, 1, 2], [0.0, 2.0, 2.0])), float(auc([0, 1, 2], [0.0, 2.0, 2.0], parse_window("1h:")))
    (3.0, 2.0)
    """
    tw, yw = _span(np.asarray(t), np.asarray(y), window, first_dose, WHOLE_RUN)
    return _area(tw, yw)


def mean(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, window: Window | None = None, *,
         first_dose: float | None = None) -> np.ndarray:
    """Time-averaged value over ``window``: AUC / its length (the value itself for a zero-length window)."""
    tw, yw = _span(np.asarray(t), np.asarray(y), window, first_dose, WHOLE_RUN)
    length = float(tw[-1] - tw[0]) if tw.size else 0.0
    return _area(tw, yw) / length if length > 0 else np.asarray(yw[..., -1])


def _time_beyond(tw: np.ndarray, yw: np.ndarray, threshold: float, above: bool) -> np.ndarray:
    if tw.size < 2:
        return np.zeros(yw.shape[:-1])
    d = yw - threshold
    if not above:  # time below X is the time -y spends above -X
        d = -d
    dt = np.diff(tw)
    a, b = d[..., :-1], d[..., 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where((a > 0) & (b > 0), 1.0,
                        np.where((a > 0) != (b > 0), np.maximum(a, b).clip(0) / (np.abs(a) + np.abs(b)), 0.0))
    terms = frac * dt
    keep = dt > 0
    if not keep.all():
        terms = terms[..., keep]
    val = np.cumsum(terms, axis=-1)[..., -1] if terms.shape[-1] else np.zeros(terms.shape[:-1])
    return np.asarray(np.where(np.isnan(yw).any(axis=-1), np.nan, val))


def time_above(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, threshold: float,
               window: Window | None = None, *, first_dose: float | None = None) -> np.ndarray:
    """Hours spent above ``threshold`` in ``window`` (crossings interpolated linearly); NaN if y has NaN."""
    tw, yw = _span(np.asarray(t), np.asarray(y), window, first_dose, WHOLE_RUN)
    return _time_beyond(tw, yw, float(threshold), above=True)


def time_below(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, threshold: float,
               window: Window | None = None, *, first_dose: float | None = None) -> np.ndarray:
    """Hours spent below ``threshold`` in ``window``; NaN if y has NaN."""
    tw, yw = _span(np.asarray(t), np.asarray(y), window, first_dose, WHOLE_RUN)
    return _time_beyond(tw, yw, float(threshold), above=False)


def last_above(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, threshold: float,
               window: Window | None = None, *, first_dose: float | None = None) -> np.ndarray:
    """Hours from the window's start to the last time ``y`` is at or above ``threshold`` in it.

    The end of the last stretch above the threshold, the downward crossing interpolated linearly:
    the time to clearance of a viral load (``last_above[7.5d:end]:100`` on copies/ml, from symptom
    onset). The window's length if ``y`` is still above at its end; NaN if ``y`` never reaches the
    threshold in the window or has NaN.

    >>> last_above([0.0, 1.0, 2.0, 3.0, 4.0], [0.0, 10.0, 30.0, 10.0, 0.0], 20.0).tolist()
    2.5
    """
    tw, yw = _span(np.asarray(t), np.asarray(y), window, first_dose, WHOLE_RUN)
    thr = float(threshold)
    if tw.size == 0:
        return np.full(yw.shape[:-1], np.nan)
    at = yw >= thr
    out = np.full(yw.shape[:-1], np.nan)
    flat_y = yw.reshape(-1, yw.shape[-1])
    flat_at = at.reshape(-1, at.shape[-1])
    res = out.reshape(-1)
    for r in range(flat_y.shape[0]):
        row, hit = flat_y[r], flat_at[r]
        if np.isnan(row).any() or not hit.any():
            continue
        i = int(np.nonzero(hit)[0][-1])
        if i == row.size - 1:
            res[r] = tw[-1] - tw[0]
            continue
        a, b = row[i] - thr, row[i + 1] - thr  # a >= 0 > b
        res[r] = tw[i] + (tw[i + 1] - tw[i]) * (a / (a - b) if a != b else 0.0) - tw[0]
    return res.reshape(yw.shape[:-1])


def inhibition(t: Sequence[float] | np.ndarray, treated: Sequence[float] | np.ndarray,
               untreated: Sequence[float] | np.ndarray, window: Window | None = None, *,
               first_dose: float | None = None) -> np.ndarray:
    """Percent inhibition ``100 · (1 − AUC_treated / AUC_untreated)`` over ``window`` (default ``[dose:end]``).

    NaN where the untreated area is 0 or not finite (there is nothing to inhibit).

    >>> t = [0.0, 1.0, 2.0]
    >>> float(inhibition(t, [1.0, 0.5, 0.5], [1.0, 1.0, 1.0], first_dose=1.0))
    50.0
    """
    tt, yt = _span(np.asarray(t), np.asarray(treated), window, first_dose, AFTER_DOSE)
    tu, yu = _span(np.asarray(t), np.asarray(untreated), window, first_dose, AFTER_DOSE)
    a_t, a_u = _area(tt, yt), _area(tu, yu)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where((a_u != 0) & np.isfinite(a_u), 100.0 * (1.0 - a_t / a_u), np.nan))


# ---------------------------------------------------------------------------------------------
# dosing intervals
@dataclass(frozen=True)
class DosingSchedule:
    """Dose times (h) and the dosing interval ``tau_h`` (None for a single dose or irregular doses)."""

    times_h: tuple[float, ...] = ()
    tau_h: float | None = None

    @classmethod
    def regular(cls, at_h: float, every_h: float | None = None, count: int = 1) -> DosingSchedule:
        """``count`` doses from ``at_h``, ``every_h`` apart.

        >>> DosingSchedule.regular(24.0, 336.0, 3).intervals(2000.0)
        [(24.0, 360.0), (360.0, 696.0), (696.0, 1032.0)]
        """
        times = tuple(float(at_h) + i * float(every_h or 0.0) for i in range(int(count)))
        return cls(times, float(every_h) if every_h else None)

    @classmethod
    def of_doses(cls, doses: Sequence[object]) -> DosingSchedule:
        """The schedule of the first dose group that has dose times (objects with ``at_h``,
        ``every_h`` and ``count``, such as :class:`il6sim.drugs.Dose`); empty if there is none."""
        for d in doses:
            count = int(getattr(d, "count", 1))
            if count >= 1:
                return cls.regular(float(getattr(d, "at_h", 0.0)), getattr(d, "every_h", None), count)
        return cls()

    @property
    def first(self) -> float | None:
        return self.times_h[0] if self.times_h else None

    def intervals(self, t_end: float) -> list[tuple[float, float]]:
        """(start, end) of each dosing interval that ends by ``t_end``; see the module notes."""
        out = []
        times = list(self.times_h)
        for i, start in enumerate(times):
            if i + 1 < len(times):
                stop = times[i + 1]
            elif self.tau_h:
                stop = start + self.tau_h
            else:
                stop = t_end
            if stop <= t_end + _EPS_T and stop > start:
                out.append((start, min(stop, t_end)))
        return out


def interval_table(t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
                   schedule: DosingSchedule) -> dict[str, np.ndarray]:
    """Per dosing interval: ``start_h``, ``end_h``, ``cmax``, ``ctrough`` and ``auctau``.

    ``ctrough`` is the value just before the dose that ends the interval, which needs the output
    grid to hold that dose time as a pair (:func:`output_grid`). Value arrays have the shape of
    ``y`` without its time axis, plus one trailing axis of intervals.

    >>> t = output_grid(72.0, 12.0, dose_times=[0.0, 24.0, 48.0])
    >>> y = np.ones_like(t); y[0] = 0.0      # 0 just before the first dose, 1 from then on
    >>> tab = interval_table(t, y, DosingSchedule.regular(0.0, 24.0, 3))
    >>> tab["end_h"].tolist(), tab["auctau"].tolist()
    ([24.0, 48.0, 72.0], [24.0, 24.0, 24.0])
    """
    t, y = _as_arrays(t, y)
    spans = schedule.intervals(float(t[-1]))
    cols: dict[str, list[np.ndarray]] = {"cmax": [], "ctrough": [], "auctau": []}
    for a, b in spans:
        tw, yw = window_values(t, y, a, b)
        cols["cmax"].append(np.max(yw, axis=-1))
        cols["ctrough"].append(yw[..., -1])
        cols["auctau"].append(_area(tw, yw))
    shape = y.shape[:-1] + (0,)
    out = {k: (np.stack(v, axis=-1) if v else np.zeros(shape)) for k, v in cols.items()}
    out["start_h"] = np.array([a for a, _ in spans])
    out["end_h"] = np.array([b for _, b in spans])
    return out


# ---------------------------------------------------------------------------------------------
# metric names
_KINDS_WINDOW = ("peak", "trough", "mean", "auc", "time_above", "time_below", "last_above", "last_above_shift",
                 "inhibition")
_KINDS_INTERVAL = ("cmax", "ctrough", "auctau")
_KINDS_TIME = ("value", "before")
KINDS = _KINDS_WINDOW + _KINDS_INTERVAL + _KINDS_TIME
_KINDS_THRESHOLD = ("time_above", "time_below", "last_above", "last_above_shift")
_METRIC = re.compile(r"^(?P<kind>[a-z_]+)(?:\[(?P<arg>[^\]]*)\])?(?::(?P<thr>[^:\[\]]+))?$")


@dataclass(frozen=True)
class Metric:
    """A parsed metric: its kind, window or interval, and threshold (see the module notes)."""

    kind: str
    window: Window | None = None
    interval: int | str | None = None
    threshold: float | None = None
    time_h: float | None = None

    @property
    def name(self) -> str:
        """The canonical spelling, window or interval included (e.g. ``inhibition[dose:end]``)."""
        if self.kind in _KINDS_INTERVAL:
            return f"{self.kind}[{self.interval}]"
        if self.kind in _KINDS_TIME:
            return f"{self.kind}[{_fmt_time(float(self.time_h or 0.0))}]"
        w = self.window or (AFTER_DOSE if self.kind in ("inhibition", "last_above_shift") else WHOLE_RUN)
        thr = f":{self.threshold:g}" if self.threshold is not None else ""
        return f"{self.kind}{w.label}{thr}"

    @property
    def needs_reference(self) -> bool:
        """True for metrics computed against the untreated twin."""
        return self.kind in ("inhibition", "last_above_shift")

    @property
    def needs_pre_dose(self) -> bool:
        """True when the grid must hold dose times as pairs (interval metrics, ``before[T]``)."""
        return self.kind in _KINDS_INTERVAL or self.kind == "before"

    def evaluate(self, t: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *,
                 dose_times: Sequence[float] = (), tau_h: float | None = None,
                 reference: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """The metric of ``y`` (last axis time) for a run dosed at ``dose_times`` (h) every ``tau_h``.

        ``reference`` is the untreated twin's time course (inhibition only).
        """
        times = tuple(float(x) for x in dose_times)
        first = times[0] if times else None
        if self.kind in _KINDS_INTERVAL:
            tab = interval_table(t, y, DosingSchedule(times, tau_h))
            n = tab["end_h"].size
            if n == 0:
                raise ReadoutError(f"{self.name}: the run has no complete dosing interval (doses at "
                                   f"{list(times)} h, run ends at {float(np.asarray(t)[-1]):g} h)")
            i = n - 1 if self.interval == "last" else int(self.interval or 1) - 1
            if i >= n:
                raise ReadoutError(f"{self.name}: the run has {n} complete dosing interval(s); ask for 1..{n} or 'last'")
            return np.asarray(tab[self.kind][..., i])
        if self.kind in _KINDS_TIME:
            return value_at(t, y, float(self.time_h or 0.0), before=self.kind == "before")
        if self.kind == "inhibition":
            if reference is None:
                raise ReadoutError(f"{self.name} needs the untreated twin's time course (reference=)")
            return inhibition(t, y, reference, self.window, first_dose=first)
        if self.kind == "last_above_shift":
            if reference is None:
                raise ReadoutError(f"{self.name} needs the untreated twin's time course (reference=)")
            w = self.window or AFTER_DOSE
            thr = float(self.threshold or 0.0)
            return (last_above(t, y, thr, w, first_dose=first)
                    - last_above(t, reference, thr, w, first_dose=first))
        if self.kind in _KINDS_THRESHOLD:
            fn = {"time_above": time_above, "time_below": time_below, "last_above": last_above}[self.kind]
            return fn(t, y, float(self.threshold or 0.0), self.window, first_dose=first)
        fn2 = {"peak": peak, "trough": trough, "mean": mean, "auc": auc}[self.kind]
        return fn2(t, y, self.window, first_dose=first)


def parse_metric(text: str) -> Metric:
    """A :class:`Metric` from its name (``peak``, ``inhibition[7d:28d]``, ``ctrough[last]``, ...).

    >>> parse_metric("time_above[dose:]:10").name, parse_metric("ctrough[last]").name
    ('time_above[dose:end]:10', 'ctrough[last]')
    """
    from .errors import suggest

    s = str(text).strip()
    m = _METRIC.match(s)
    if not m:
        raise ReadoutError(f"metric '{text}': write KIND, KIND[WINDOW] or KIND[WINDOW]:THRESHOLD, "
                           "e.g. 'peak', 'inhibition[7d:28d]', 'ctrough[last]', 'time_above[dose:]:10'")
    kind, arg, thr = m.group("kind"), m.group("arg"), m.group("thr")
    if kind not in KINDS:
        raise ReadoutError(f"metric '{text}': unknown kind '{kind}'{suggest(kind, KINDS)}; "
                           f"kinds are {', '.join(KINDS)}")
    threshold = None
    if kind in _KINDS_THRESHOLD:
        if thr is None:
            raise ReadoutError(f"metric '{text}': {kind} needs a threshold, e.g. '{kind}:10' or '{kind}[7d:]:10'")
        try:
            threshold = float(thr)
        except ValueError:
            raise ReadoutError(f"metric '{text}': threshold '{thr}' is not a number") from None
        if not math.isfinite(threshold):
            raise ReadoutError(f"metric '{text}': threshold must be finite")
    elif thr is not None:
        raise ReadoutError(f"metric '{text}': only {', '.join(_KINDS_THRESHOLD)} take a ':THRESHOLD'")
    if kind in _KINDS_INTERVAL:
        a = (arg or "").strip().lower()
        if a == "last":
            return Metric(kind, interval="last")
        if not a.isdigit() or int(a) < 1:
            raise ReadoutError(f"metric '{text}': {kind} takes a dosing interval, 1-based or 'last', e.g. '{kind}[last]'")
        return Metric(kind, interval=int(a))
    if kind in _KINDS_TIME:
        if not arg:
            raise ReadoutError(f"metric '{text}': {kind} takes a time, e.g. '{kind}[28d]'")
        return Metric(kind, time_h=_parse_time(arg, f"metric '{text}'"))
    return Metric(kind, window=parse_window(arg) if arg is not None else None, threshold=threshold)


def canonical_name(text: str) -> str:
    """``METRIC:OBSERVABLE`` (or a bare metric) with the metric in its canonical spelling.

    Tables key their columns this way; short spellings find them.

    >>> canonical_name("inhibition:trans_signal"), canonical_name("time_above:10:crp_mg_l")
    ('inhibition[dose:end]:trans_signal', 'time_above[0:end]:10:crp_mg_l')
    """
    s = str(text).strip()
    if ":" in s:
        head, obs = s.rsplit(":", 1)
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", obs):
            try:
                return f"{parse_metric(head).name}:{obs}"
            except ReadoutError:
                pass
    return parse_metric(s).name

