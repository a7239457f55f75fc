"""Global sensitivity analysis: first-order and total Sobol' indices with bootstrap confidence intervals.

The design and estimators are written here from the published formulas on top of
:mod:`scipy.stats.qmc`; there is no SALib dependency (it would add a package for about a hundred
lines of arithmetic, and its estimators could not be pinned to the failure handling and seeding
rules of :mod:`il6sim.sweeps`).

Method
------
For ``d`` independent factors, a scrambled Sobol' sequence (Owen scrambling, seeded) gives an
``N × 2d`` base sample in the unit cube; its first ``d`` columns are matrix **A**, the last ``d`` matrix
**B**, and **AB**\\ :sub:`i` is **A** with column ``i`` taken from **B** (Saltelli 2002; Saltelli et al.
2010). The model is evaluated on the ``N (d + 2)`` rows, stored block-wise as
``[A; B; AB_1; …; AB_d]`` (see :func:`saltelli_design`). With ``f`` centred on the mean of
``f(A), f(B)`` (which leaves each estimator's expectation unchanged and shrinks its variance when
the mean is large against the spread, as for a percent inhibition near 80 %) and
``V = Var[f(A) ∪ f(B)]``:

* first order, Saltelli et al. (2010), Table 2 (b)::

      S1_i = mean_j( f(B)_j · (f(AB_i)_j − f(A)_j) ) / V

* total effect, Jansen (1999); Saltelli et al. (2010), Table 2 (f)::

      ST_i = mean_j( (f(A)_j − f(AB_i)_j)² ) / (2 V)

Confidence intervals are percentile bootstrap intervals (Efron & Tibshirani 1993, ch. 13): the
``N`` base rows are resampled with replacement (a row carries its ``A``, ``B`` and every ``AB_i``
value together) and both indices are recomputed on each resample. The bootstrap treats the
scrambled Sobol' rows as independent draws; because quasi-random points are more even than random
ones, the intervals tend to be conservative (wider than the true error), not optimistic. Point
estimates are those of the full sample, not the bootstrap mean. S1 may come out slightly negative
and ST slightly above 1 for unimportant or dominant factors: that is sampling error, reported as is.

Sobol' sequences keep their balance properties only at powers of two, so ``n_base`` must be a power
of two, and at least :data:`MIN_N_BASE`; a few hundred to a few thousand base rows are typical.

On the model (:func:`sobol_sensitivity`) the factors of a sweep file define the input distributions,
mapped from the unit cube exactly as :func:`il6sim.sweeps.design_matrix` maps its samples (see
:func:`factor_values`; grid factors become discrete uniform over their values). Failed rows are
handled honestly: by default any failed row (solver status ≠ 0 or a non-finite metric) stops the
analysis with their count and first message, because dropping them silently would change the input
distribution. With ``on_failure="drop"`` every Saltelli block (base row ``j`` with its ``A``, ``B``
and all ``AB_i`` rows) that holds a failed row is dropped whole, the estimators use the remaining
blocks, and the result reports how many rows failed and how many blocks were dropped. The indices
then describe the input distribution conditioned on the model solving, which is biased if failures
cluster in one corner of the factor space.

From the command line (prints the table, writes it as CSV)::

    il6sim sensitivity SPEC.toml --metric inhibition:trans_signal --n 256 --seed 1 --out indices.csv

How conservative the intervals are, measured on Ishigami over 60 seeds: at N = 1024 and 8192 every
95 % interval of all six indices held the exact value, and the bootstrap standard errors
(0.005-0.044) were 4 to 20 times the spread of the estimates across seeds (0.0003-0.009).

References
----------
Ishigami T, Homma T (1990) An importance quantification technique in uncertainty analysis for computer
models. Proc. ISUMA '90, 398-403. doi:10.1109/ISUMA.1990.151285

Sobol' IM (1993) Sensitivity estimates for nonlinear mathematical models. Math. Model. Comput. Exp.
1:407-414 (Matematicheskoe Modelirovanie 2:112-118, 1990).

Jansen MJW (1999) Analysis of variance designs for model output. Comput. Phys. Commun. 117:35-43.
doi:10.1016/S0010-4655(98)00154-4

Saltelli A (2002) Making best use of model evaluations to compute sensitivity indices. Comput. Phys.
Commun. 145:280-297. doi:10.1016/S0010-4655(02)00280-1

Saltelli A, Annoni P, Azzini I, Campolongo F, Ratto M, Tarantola S (2010) Variance based sensitivity
analysis of model output. Design and estimator for the total sensitivity index. Comput. Phys. Commun.
181:259-270. doi:10.1016/j.cpc.2009.09.018

Efron B, Tibshirani RJ (1993) An Introduction to the Bootstrap. Chapman & Hall.

Examples
--------
The Ishigami function (a = 7, b = 0.1), whose indices are known in closed form (S1 = 0.314, 0.442, 0;
ST = 0.558, 0.442, 0.244):

>>> import numpy as np
>>> from il6sim.sensitivity import saltelli_design, sobol_indices
>>> u = saltelli_design(3, 1024, seed=1)                 # (1024 * 5, 3) points in the unit cube
>>> x = -np.pi + 2 * np.pi * u                           # uniform on (-pi, pi)
>>> y = np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
>>> res = sobol_indices(y, ("x1", "x2", "x3"), n_bootstrap=200, seed=1)
>>> np.round(res.S1, 2).tolist(), np.round(res.ST, 2).tolist()
([0.3, 0.44, -0.01], [0.55, 0.44, 0.24])
>>> np.round(res.S1_conf[0], 2).tolist()                # 95 % interval of S1 of x1 (exact: 0.3139)
[0.24, 0.36]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .errors import Il6simError, UnknownNameError, suggest

__all__ = ["MIN_N_BASE", "SobolResult", "check_n_base", "factor_values", "saltelli_design", "sobol_indices", "sobol_sensitivity"]

MIN_N_BASE = 8
"""Smallest base sample accepted: below it the bootstrap intervals mean little."""

_BOOT_BATCH = 64  # bootstrap resamples per batch (bounds memory at 64 * N counts)


def check_n_base(n_base: int) -> None:
    """Raise a one-line :class:`Il6simError` unless ``n_base`` is a power of two >= :data:`MIN_N_BASE`.

    >>> check_n_base(100)
    Traceback (most recent call last):
    ...
    il6sim.errors.Il6simError: n_base must be a power of two (Sobol' points balance only there), got 100; try 128
    """
    if isinstance(n_base, bool) or not isinstance(n_base, (int, np.integer)):
        raise Il6simError(f"n_base must be a whole number (a power of two >= {MIN_N_BASE}), got {n_base!r}")
    n = int(n_base)
    if n < MIN_N_BASE:
        raise Il6simError(f"n_base must be at least {MIN_N_BASE} (a power of two), got {n}")
    if n & (n - 1):
        nearest = 1 << round(math.log2(n))
        raise Il6simError(f"n_base must be a power of two (Sobol' points balance only there), got {n}; try {nearest}")


def _check_bootstrap(n_bootstrap: int, confidence: float) -> None:
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 10:
        raise Il6simError(f"n_bootstrap must be a whole number >= 10, got {n_bootstrap!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise Il6simError(f"confidence must be in (0, 1), got {confidence!r}")


def _seeds(seed: int | np.random.SeedSequence | None) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """Independent streams for the design and the bootstrap from one seed."""
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    design, boot = ss.spawn(2)
    return design, boot


def saltelli_design(n_factors: int, n_base: int, *, seed: int | np.random.SeedSequence | None = None) -> np.ndarray:
    """Saltelli's sampling scheme on the unit cube: the rows ``[A; B; AB_1; …; AB_d]``.

    Parameters
    ----------
    n_factors : int
        Number of independent factors ``d`` (>= 1).
    n_base : int
        Base sample size ``N``; a power of two >= :data:`MIN_N_BASE`.
    seed : int, SeedSequence or None
        Seeds the Owen scrambling of the Sobol' sequence (``None``: fresh entropy).

    Returns
    -------
    numpy.ndarray
        Shape ``(N * (d + 2), d)``, values in (0, 1). Rows ``0:N`` are **A**, ``N:2N`` are **B**, and
        rows ``(2 + i) N:(3 + i) N`` are **AB**\\ :sub:`i` (A with column ``i`` from B).

    Examples
    --------
    >>> u = saltelli_design(2, 8, seed=0)
    >>> u.shape
    (32, 2)
    >>> bool(np.all(u[16:24, 0] == u[8:16, 0]) and np.all(u[16:24, 1] == u[0:8, 1]))
    True
    """
    from scipy.stats import qmc

    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise Il6simError(f"n_factors must be a whole number >= 1, got {n_factors!r}")
    check_n_base(n_base)
    d, n = int(n_factors), int(n_base)
    design_seed = _seeds(seed)[0]
    base = qmc.Sobol(d=2 * d, scramble=True, rng=np.random.default_rng(design_seed)).random_base2(int(math.log2(n)))
    a, b = base[:, :d], base[:, d:]
    out = np.empty((n * (d + 2), d))
    out[:n], out[n:2 * n] = a, b
    for i in range(d):
        ab = a.copy()
        ab[:, i] = b[:, i]
        out[(2 + i) * n:(3 + i) * n] = ab
    return out


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SobolResult:
    """First-order and total Sobol' indices of one output, with bootstrap confidence intervals.

    Attributes
    ----------
    factor_names : tuple of str
        The ``d`` factors, in column order.
    metric : str
        The output analysed (for the model, ``metric:observable`` as in a sweep).
    S1, ST : numpy.ndarray
        Shape ``(d,)``: first-order and total-effect indices (point estimates on the full sample).
    S1_conf, ST_conf : numpy.ndarray
        Shape ``(d, 2)``: lower and upper bounds of the percentile bootstrap interval.
    confidence : float
        Level of the intervals (e.g. 0.95).
    n_base : int
        Base sample size ``N`` of the design.
    n_blocks : int
        Saltelli blocks used by the estimators (``n_base`` minus dropped blocks).
    n_evaluations : int
        Rows evaluated, ``N (d + 2)``, failed ones included.
    n_failed : int
        Rows that failed (status ≠ 0 or a non-finite output).
    n_bootstrap : int
        Bootstrap resamples.
    mean, variance : float
        Mean and variance of the output over ``f(A) ∪ f(B)`` (the ``V`` of the estimators).
    seed : int or None
        The seed of the design and the bootstrap.
    estimator : str
        Which estimators and intervals were used.
    """

    factor_names: tuple[str, ...]
    metric: str
    S1: np.ndarray
    S1_conf: np.ndarray
    ST: np.ndarray
    ST_conf: np.ndarray
    confidence: float
    n_base: int
    n_blocks: int
    n_evaluations: int
    n_failed: int
    n_bootstrap: int
    mean: float
    variance: float
    seed: int | None = None
    estimator: str = "S1: Saltelli et al. 2010 (b); ST: Jansen 1999; percentile bootstrap over base rows"

    @property
    def n_dropped_blocks(self) -> int:
        """Saltelli blocks left out because one of their rows failed."""
        return self.n_base - self.n_blocks

    def to_dataframe(self) -> Any:
        """One row per factor: ``factor, S1, S1_low, S1_high, ST, ST_low, ST_high``.

        The metric, confidence level and sample sizes are in ``DataFrame.attrs``.

        >>> u = saltelli_design(2, 16, seed=3)
        >>> sobol_indices(u[:, 0] + 0.1 * u[:, 1], ("a", "b"), n_bootstrap=50, seed=3).to_dataframe().columns.tolist()
        ['factor', 'S1', 'S1_low', 'S1_high', 'ST', 'ST_low', 'ST_high']
        """
        import pandas as pd

        df = pd.DataFrame({"factor": list(self.factor_names), "S1": self.S1, "S1_low": self.S1_conf[:, 0],
                           "S1_high": self.S1_conf[:, 1], "ST": self.ST, "ST_low": self.ST_conf[:, 0],
                           "ST_high": self.ST_conf[:, 1]})
        df.attrs.update({"metric": self.metric, "confidence": self.confidence, "n_base": self.n_base,
                         "n_blocks": self.n_blocks, "n_evaluations": self.n_evaluations,
                         "n_failed": self.n_failed, "n_bootstrap": self.n_bootstrap, "seed": self.seed,
                         "estimator": self.estimator})
        return df

    def format(self) -> str:
        """A plain-text table for the terminal."""
        pct = f"{100 * self.confidence:g} %"
        width = max([len("factor"), *(len(f) for f in self.factor_names)])
        lines = [f"# Sobol' indices of {self.metric}: N = {self.n_base} base rows, {self.n_evaluations} evaluations, "
                 f"{self.n_failed} failed, {self.n_dropped_blocks} blocks dropped; mean {self.mean:.6g}, "
                 f"variance {self.variance:.6g}; {pct} bootstrap intervals ({self.n_bootstrap} resamples)",
                 f"{'factor':<{width}s}  {'S1':>8s}  {'[' + pct + ' CI]':>19s}  {'ST':>8s}  {'[' + pct + ' CI]':>19s}"]
        for k, name in enumerate(self.factor_names):
            lo1, hi1 = self.S1_conf[k]
            lot, hit = self.ST_conf[k]
            lines.append(f"{name:<{width}s}  {self.S1[k]:8.4f}  [{lo1:8.4f}, {hi1:8.4f}]  "
                         f"{self.ST[k]:8.4f}  [{lot:8.4f}, {hit:8.4f}]")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _row_terms(fa: np.ndarray, fb: np.ndarray, fab: np.ndarray) -> np.ndarray:
    """Per-base-row summands of every estimator, (N, 4 + 2d); f already centred.

    Columns: f(A), f(B), f(A)², f(B)², then f(B)(f(AB_i) − f(A)) and (f(A) − f(AB_i))² for each i. Every
    estimate is a weighted sum of these over rows, so a bootstrap resample is a matrix product with
    its row counts.
    """
    return np.column_stack([fa, fb, fa ** 2, fb ** 2, *(fb * (fab - fa)), *((fa - fab) ** 2)])


def _estimates(counts: np.ndarray, terms: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S1 (B, d), ST (B, d) and V (B,) for row-count vectors ``counts`` (B, N) summing to N each."""
    n = terms.shape[0]
    sums = counts @ terms
    total, total_sq = sums[:, 0] + sums[:, 1], sums[:, 2] + sums[:, 3]
    v = (total_sq - total ** 2 / (2 * n)) / (2 * n - 1)  # sample variance (ddof 1) of f(A) ∪ f(B)
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = sums[:, 4:4 + d] / n / v[:, None]
        st = 0.5 * sums[:, 4 + d:] / n / v[:, None]
    return s1, st, v


def sobol_indices(y: np.ndarray, factor_names: Sequence[str] | int, *, metric: str = "y",
                  n_bootstrap: int = 1000, confidence: float = 0.95,
                  seed: int | np.random.SeedSequence | None = None,
                  valid: np.ndarray | None = None) -> SobolResult:
    """First-order and total Sobol' indices from outputs on a :func:`saltelli_design`.

    Parameters
    ----------
    y : array_like
        Shape ``(N (d + 2),)``: the output at each design row, in the design's order.
    factor_names : sequence of str, or int
        Names of the ``d`` factors (an int ``d`` names them ``x1 … xd``).
    metric : str
        Label of the output, carried into the result.
    n_bootstrap : int
        Bootstrap resamples for the intervals (>= 10; 1000 is plenty for 95 % intervals).
    confidence : float
        Interval level in (0, 1).
    seed : int, SeedSequence or None
        Seeds the bootstrap (its second spawned stream, so the same seed may serve the design).
    valid : array_like of bool, optional
        Shape ``(N (d + 2),)``; blocks holding a ``False`` row are dropped whole (see the module
        docstring). By default every row must be finite.

    Returns
    -------
    SobolResult

    Examples
    --------
    A linear function ``2 a + b`` of uniform factors has S1 = ST = (0.8, 0.2):

    >>> u = saltelli_design(2, 256, seed=2)
    >>> res = sobol_indices(2 * u[:, 0] + u[:, 1], ("a", "b"), n_bootstrap=100, seed=2)
    >>> np.round(res.S1, 2).tolist(), np.round(res.ST, 2).tolist()
    ([0.8, 0.2], [0.8, 0.2])
    """
    names = tuple(f"x{i + 1}" for i in range(factor_names)) if isinstance(factor_names, int) else tuple(factor_names)
    d = len(names)
    if d < 1:
        raise Il6simError("give at least one factor")
    y = np.asarray(y, dtype=float)
    if y.ndim != 1 or y.size % (d + 2):
        raise Il6simError(f"y must be one value per design row, a multiple of d + 2 = {d + 2} values; got shape {y.shape}")
    n = y.size // (d + 2)
    check_n_base(n)
    _check_bootstrap(n_bootstrap, confidence)
    ok = np.isfinite(y) if valid is None else (np.asarray(valid, dtype=bool) & np.isfinite(y))
    if ok.shape != y.shape:
        raise Il6simError(f"valid must have the shape of y {y.shape}, got {ok.shape}")
    n_failed = int((~ok).sum())
    if valid is None and n_failed:
        raise Il6simError(f"{n_failed} of {y.size} outputs are not finite; pass valid= to drop their blocks")
    blocks = y.reshape(d + 2, n)
    keep = ok.reshape(d + 2, n).all(axis=0)
    n_blocks = int(keep.sum())
    if n_blocks < MIN_N_BASE:
        raise Il6simError(f"only {n_blocks} of {n} Saltelli blocks are complete (at least {MIN_N_BASE} needed)")
    blocks = blocks[:, keep]
    centre = float(np.mean(blocks[:2]))
    f = blocks - centre
    terms = _row_terms(f[0], f[1], f[2:])
    s1_all, st_all, v_all = _estimates(np.ones((1, n_blocks)), terms, d)
    s1, st, v = s1_all[0], st_all[0], float(v_all[0])
    if not v > 0:
        raise Il6simError(f"{metric} is constant over the design (variance 0): Sobol' indices are undefined")

    rng = np.random.default_rng(_seeds(seed)[1])
    boot_s1 = np.empty((int(n_bootstrap), d))
    boot_st = np.empty((int(n_bootstrap), d))
    for start in range(0, int(n_bootstrap), _BOOT_BATCH):
        stop = min(start + _BOOT_BATCH, int(n_bootstrap))
        idx = rng.integers(0, n_blocks, size=(stop - start, n_blocks))  # resampled base rows
        idx += np.arange(stop - start)[:, None] * n_blocks
        counts = np.bincount(idx.ravel(), minlength=idx.size).reshape(idx.shape).astype(float)
        boot_s1[start:stop], boot_st[start:stop], _ = _estimates(counts, terms, d)
    alpha = 100 * (1 - confidence) / 2
    with warnings.catch_warnings():  # a resample with zero variance gives NaN: ignored by nanpercentile
        warnings.simplefilter("ignore", RuntimeWarning)
        s1_conf = np.nanpercentile(boot_s1, [alpha, 100 - alpha], axis=0).T
        st_conf = np.nanpercentile(boot_st, [alpha, 100 - alpha], axis=0).T
    seed_out = int(seed) if isinstance(seed, (int, np.integer)) else None
    return SobolResult(names, metric, s1, s1_conf, st, st_conf, float(confidence), n, n_blocks, int(y.size),
                       n_failed, int(n_bootstrap), centre, v, seed_out)


# --------------------------------------------------------------------------------------------
# The model: factors of a sweep file as input distributions.
def factor_values(spec: Any, u: np.ndarray) -> np.ndarray:
    """Map unit-cube points to factor values in core units, as :func:`il6sim.sweeps.design_matrix` does.

    Per factor, through the sweep's own inverse transform :func:`il6sim.sweeps.sampled_values`:
    ``lhs``/``sobol``/``halton``/``uniform`` → ``low + q (high − low)`` (log-uniform when the scale is
    ``log``); ``loguniform`` → log-uniform; ``normal`` → normal truncated at 0; ``lognormal`` →
    ``median · exp(sigma Φ⁻¹(q))``, with ``q`` clipped to [1e-15, 1 − 1e-15]. A grid factor, which a sweep
    crosses with the samples, becomes discrete uniform over its values here.

    Parameters
    ----------
    spec : il6sim.sweeps.SweepSpec
    u : numpy.ndarray
        Shape ``(n, n_factors)``, values in [0, 1].

    Returns
    -------
    numpy.ndarray
        Shape ``(n, n_factors)``, in core units (nM, h).

    Examples
    --------
    >>> import il6sim.sweeps as sw
    >>> spec = sw.spec_from_dict({"factors": [{"parameter": "k_il6_basal", "sampler": "loguniform",
    ...                                        "low": 1e-4, "high": 1e-2}]})
    >>> factor_values(spec, np.array([[0.5]])).round(6).tolist()
    [[0.001]]
    """
    from .sweeps import sampled_values

    u = np.asarray(u, dtype=float)
    if u.ndim != 2 or u.shape[1] != len(spec.factors):
        raise Il6simError(f"u must have shape (n, {len(spec.factors)}), got {u.shape}")
    out = np.empty_like(u)
    for i, f in enumerate(spec.factors):
        sampler = getattr(f, "sampler", None)
        grid = tuple(getattr(f, "grid", ()) or ())
        if sampler is None:
            if not grid or not all(isinstance(g, (int, float)) and not isinstance(g, bool) for g in grid):
                raise Il6simError(f"factor '{_factor_name(f)}': only parameter factors (a sampler or a numeric grid) "
                                  "can enter a Sobol' analysis")
            k = len(grid)
            out[:, i] = np.asarray(grid, dtype=float)[np.minimum((u[:, i] * k).astype(int), k - 1)]
        elif sampler in ("normal", "lognormal", "lhs", "sobol", "halton", "uniform", "loguniform"):
            out[:, i] = sampled_values(f, u[:, i])
        else:
            raise Il6simError(f"factor '{_factor_name(f)}': sampler '{sampler}' has no inverse transform here")
    return out


def _factor_name(f: Any) -> str:
    return str(getattr(f, "name", None) or getattr(f, "parameter", "?"))


def _resolve_metric(spec: Any, metric: str) -> int:
    from .readouts import ReadoutError, canonical_name

    names = tuple(spec.metric_names)
    if metric in names:
        return names.index(metric)
    try:
        canon = canonical_name(metric)
    except ReadoutError:
        canon = metric
    if canon in names:
        return names.index(canon)
    matches = [j for j, m in enumerate(names) if m.rsplit(":", 1)[0] == canon]  # bare metric, one observable
    if len(matches) == 1:
        return matches[0]
    hint = suggest(metric, names) or f" (valid: {', '.join(names)})"
    if len(matches) > 1:
        hint = f"; name the observable too: {', '.join(names[j] for j in matches)}"
    raise UnknownNameError(f"unknown metric '{metric}'{hint}")


def sobol_sensitivity(spec: Any, metric: str, n_base: int = 256, seed: int | None = None, *,
                      n_bootstrap: int = 1000, confidence: float = 0.95,
                      on_failure: Literal["raise", "drop"] = "raise", chunk_size: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> SobolResult:
    """Sobol' indices of one sweep metric over the sweep file's factors, run through the jitted solver.

    Each factor's sampler (its distribution and bounds) defines that input's distribution; the
    factors are taken as independent. The ``N (d + 2)`` rows of :func:`saltelli_design` are mapped by
    :func:`factor_values` and solved in chunks exactly as :func:`il6sim.sweeps.sweep` solves its rows
    (each from its own steady state, with the spec's scenario and doses; ``inhibition`` against the
    paired untreated run). ``rows`` of the spec is ignored: ``n_base`` sets the size.

    Parameters
    ----------
    spec : SweepSpec, str, Path or dict
        A sweep spec, the path of a sweep file (TOML) or a dict of its tables (:func:`spec_from_dict`).
    metric : str
        A column of ``spec.metric_names`` such as ``"inhibition:trans_signal"``; a bare metric
        (``"inhibition"``) is enough when the spec has one observable.
    n_base : int
        Base sample size ``N``, a power of two >= :data:`MIN_N_BASE`; the model runs ``N (d + 2)`` times.
    seed : int, optional
        Seeds the design and the bootstrap (default: the spec's ``seed``).
    n_bootstrap, confidence
        Bootstrap resamples and interval level (see :func:`sobol_indices`).
    on_failure : {"raise", "drop"}
        ``"raise"`` (default): any failed row stops the analysis with a count and a message.
        ``"drop"``: drop each Saltelli block that holds a failed row (reported in the result).
    chunk_size : int, optional
        Rows per solver batch (default: the spec's ``chunk_size``).
    progress : callable, optional
        Called as ``progress(rows_done, n_rows)`` after each chunk.

    Returns
    -------
    SobolResult

    Examples
    --------
    >>> res = sobol_sensitivity({"sweep": {"scenario": "covid_severe", "days": 9, "step": "12 h",
    ...                                    "observables": ["trans_signal"], "metrics": ["inhibition"]},
    ...                          "drugs": [{"drug": "tocilizumab", "dose": "8 mg/kg", "at": "7 d"}],
    ...                          "factors": [{"parameter": "k_il6_infl", "sampler": "uniform", "low": 0.5, "high": 2},
    ...                                      {"parameter": "k_crp_deg", "sampler": "uniform",
    ...                                       "low": 0.01, "high": 0.1}]},
    ...                         "inhibition", n_base=8, seed=1, n_bootstrap=50)
    >>> res.factor_names, res.n_evaluations
    (('k_il6_infl', 'k_crp_deg'), 32)
    """
    from .sweeps import SweepEngine, SweepSpec, load_sweep_spec, spec_from_dict

    if isinstance(spec, SweepSpec):
        sp = spec
    elif isinstance(spec, Mapping):
        sp = spec_from_dict(spec)
    elif isinstance(spec, (str, Path)):
        sp = load_sweep_spec(spec)
    else:
        raise Il6simError(f"spec must be a SweepSpec, a path or a dict, got {type(spec).__name__}")
    if on_failure not in ("raise", "drop"):
        raise Il6simError(f"on_failure must be 'raise' or 'drop', got {on_failure!r}")
    column = _resolve_metric(sp, metric)
    metric_name = sp.metric_names[column]
    check_n_base(n_base)
    _check_bootstrap(n_bootstrap, confidence)
    if not sp.factors:
        raise Il6simError(f"{sp.source}: the sweep has no [[factors]]: nothing to analyse")
    seed = sp.seed if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise Il6simError(f"seed must be a whole number >= 0, got {seed!r}")
    cs = sp.chunk_size if chunk_size is None else chunk_size
    if isinstance(cs, bool) or not isinstance(cs, (int, np.integer)) or cs < 1:
        raise Il6simError(f"chunk_size must be a whole number >= 1, got {cs!r}")
    names = tuple(_factor_name(f) for f in sp.factors)
    d = len(names)
    values = factor_values(sp, saltelli_design(d, n_base, seed=seed))  # validated before any solving
    runner = SweepEngine(sp)
    n_rows = len(values)
    y = np.full(n_rows, np.nan)
    status = np.zeros(n_rows, dtype=np.int64)
    messages = np.empty(n_rows, dtype=object)
    for a in range(0, n_rows, int(cs)):
        b = min(a + int(cs), n_rows)
        out = runner.chunk(values[a:b])
        y[a:b] = np.asarray(out["metrics"])[:, column]
        status[a:b] = out["status"]
        messages[a:b] = out["messages"]
        if progress is not None:
            progress(b, n_rows)
    ok = (status == 0) & np.isfinite(y)
    n_failed = int((~ok).sum())
    if n_failed and on_failure == "raise":
        first = int(np.flatnonzero(~ok)[0])
        why = messages[first] if status[first] != 0 else f"{metric_name} is not finite"
        raise Il6simError(f"{n_failed} of {n_rows} rows failed (first: row {first}, status {status[first]}: {why}); "
                          "no indices computed. Narrow the factor ranges, or drop the failed Saltelli blocks "
                          "(on_failure='drop', --drop-failed)")
    return sobol_indices(np.where(ok, y, 0.0), names, metric=metric_name, n_bootstrap=n_bootstrap,
                         confidence=confidence, seed=seed, valid=ok)
