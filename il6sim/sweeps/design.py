"""The design matrix of a sweep: one row per run, drawn up front from the spec's seed.

Samplers map unit-interval points to factor values through their inverse CDFs
(:func:`sampled_values`); :func:`design_matrix` draws those points, one seeded draw per sampler family
so that Latin-hypercube and Sobol'/Halton stratification holds jointly, and crosses the samples with
the grid and level factors (file order, first factor slowest, sampled rows fastest). A row's values
therefore never depend on the chunk size or on the number of workers.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from .factors import QMC_SAMPLERS, SAMPLERS, Factor
from .spec import SweepSpec

__all__ = ["design_matrix", "sampled_values"]


def sampled_values(factor: Factor, u: np.ndarray) -> np.ndarray:
    """A sampled factor's values (core units) at unit-interval points ``u``: its inverse CDF.

    ``categorical`` gives level indices; ``normal`` is truncated at 0 (parameters and weights are
    non-negative); ``lognormal`` is ``median·exp(sigma·Φ⁻¹(u))``; the rest are uniform on
    ``[low, high]``, in log space when the scale is ``log``. ``u`` is clipped to [1e-15, 1 − 1e-15].
    """
    from scipy import stats

    f = factor
    q = np.clip(np.asarray(u, dtype=float), 1e-15, 1 - 1e-15)
    if f.sampler == "categorical":  # drawn level: inverse of the cumulative frequencies
        cum = np.cumsum(f.probs) / np.sum(f.probs)
        return np.minimum(np.searchsorted(cum, q, side="right"), len(f.probs) - 1).astype(float)
    if f.sampler == "normal":
        lo = stats.norm.cdf(0.0, f.mean, f.sd)
        return np.asarray(stats.norm.ppf(lo + q * (1 - lo), f.mean, f.sd), dtype=float)
    if f.sampler == "lognormal":
        return np.asarray(f.mean * np.exp(f.sd * stats.norm.ppf(q)), dtype=float)
    if f.log:
        return np.asarray(np.exp(np.log(f.low) + q * (np.log(f.high) - np.log(f.low))), dtype=float)
    return np.asarray(f.low + q * (f.high - f.low), dtype=float)


def design_matrix(spec: SweepSpec) -> np.ndarray:
    """The (n_rows, n_factors) matrix of values in core units (levels: their index), drawn from ``spec.seed``.

    Grid and level factors vary slowest (in file order), the sampled row fastest.
    """
    from scipy.stats import qmc

    sampled = [i for i, f in enumerate(spec.factors) if f.sampler]
    n_s = spec.rows if sampled else 1
    u = np.empty((n_s, len(spec.factors)))
    seeds = np.random.SeedSequence(spec.seed).spawn(len(SAMPLERS))
    for family, ss in zip(SAMPLERS, seeds):
        cols = [i for i in sampled if (spec.factors[i].sampler in QMC_SAMPLERS and spec.factors[i].sampler == family)
                or (spec.factors[i].sampler not in QMC_SAMPLERS and family == "uniform")]
        if not cols:
            continue
        rng = np.random.default_rng(ss)
        if family == "lhs":
            draw = qmc.LatinHypercube(d=len(cols), rng=rng).random(n_s)
        elif family == "sobol":
            with warnings.catch_warnings():  # balance warning for n not a power of 2: documented, fine
                warnings.simplefilter("ignore", UserWarning)
                draw = qmc.Sobol(d=len(cols), rng=rng).random(n_s)
        elif family == "halton":
            draw = qmc.Halton(d=len(cols), rng=rng).random(n_s)
        else:
            draw = rng.random((n_s, len(cols)))
        u[:, cols] = draw
    sample = np.empty_like(u)
    for i, f in enumerate(spec.factors):
        if f.sampler:
            sample[:, i] = sampled_values(f, u[:, i])
    grids = [range(len(f.grid)) if f.grid else range(1) for f in spec.factors]
    out = np.empty((spec.n_rows, len(spec.factors)))
    for r, (combo, s) in enumerate(itertools.product(itertools.product(*grids), range(n_s))):
        for i, f in enumerate(spec.factors):
            out[r, i] = f.grid[combo[i]] if f.grid else sample[s, i]
    return out
