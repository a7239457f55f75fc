"""(i) Compute the global sensitivity of drug benefit over patient parameters (Sobol' indices).

Benefit is the percent inhibition (100 · (1 − AUC/AUC of the same patient untreated)) of CRP and
of trans-signalling under tocilizumab 8 mg/kg at admission (day 15.8, 7 days after symptom onset) in severe
COVID-19 (30 days).
The sweep reads its ``inhibition`` metric through :mod:`il6sim.readouts`, over that metric's
default window ``[dose:end]`` (day 15.8 to day 30); the table's ``window`` column says so. Patient
parameters vary log-normally around the model's values
(``sigma`` is the sd of the log): IL-6 production per unit of inflammation, sIL-6R and sgp130
production, hepatocyte IL-6R synthesis, and CRP clearance. The indices come from
:func:`il6sim.sensitivity.sobol_sensitivity` (Saltelli design through the sweep machinery, each
row from its own steady state), with bootstrap confidence intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..network import Network
from ..readouts import parse_metric

__all__ = ["DAYS", "FACTORS", "METRICS", "compute_sensitivity"]

#: parameter, median (model value with unit), sigma of ln, label
FACTORS = (
    ("k_il6_infl", "1 1/h", 0.5, "IL-6 production per unit inflammation"),
    ("k_sil6r_splice", "0.0066 nM/h", 0.4, "sIL-6R production (splicing)"),
    ("k_sgp130_syn", "3.9 nM/h", 0.3, "sgp130 production"),
    ("k_syn_mil6r_hep", "1.036 nM/h", 0.4, "hepatocyte IL-6R synthesis"),
    ("k_crp_deg", "0.0365 1/h", 0.3, "CRP clearance"),
)
METRICS = ("inhibition:crp_mg_l", "inhibition:trans_signal")
DAYS = 30  # simulated days


def _spec(drug: str, dose: str, factors: Sequence[tuple[str, str, float, str]]) -> dict[str, Any]:
    return {"sweep": {"scenario": "covid_severe", "days": DAYS, "step": "12 h", "seed": 3,
                      "observables": ["crp_mg_l", "trans_signal"], "metrics": ["inhibition"]},
            "drugs": [{"drug": drug, "dose": dose, "at": "admission"}],
            "factors": [{"parameter": p, "sampler": "lognormal", "median": m, "sigma": s} for p, m, s, _ in factors]}


def compute_sensitivity(network: Network, *, drug: str = "tocilizumab", dose: str = "8 mg/kg",
                        metrics: Sequence[str] = METRICS, n_base: int = 32, n_bootstrap: int = 300,
                        seed: int = 3) -> pd.DataFrame:
    """Sobol' indices (S1, ST with bootstrap intervals) of each benefit metric over the patient factors.

    Parameters
    ----------
    network : the IL-6 model; its content must be the shipped ``il6`` (the sweep loads it by name).
    drug, dose : the treatment, given at admission (day 15.8).
    metrics : sweep metric names (``inhibition:<observable>``).
    n_base : Saltelli base sample (power of two); the model runs ``n_base · (d + 2)`` times per metric.
    n_bootstrap, seed : bootstrap resamples and the seed of design and bootstrap.

    Returns
    -------
    DataFrame: one row per metric and factor: ``metric``, ``window`` (of the metric's inhibition),
    ``factor``, ``label``, ``S1``, ``S1_low``, ``S1_high``, ``ST``, ``ST_low``, ``ST_high``,
    ``mean`` and ``sd`` of the metric over patients, ``n_base``, ``n_evaluations``, ``n_failed``,
    ``drug``, ``dose``.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_sensitivity(load_model("il6"), metrics=["inhibition:crp_mg_l"], n_base=8, n_bootstrap=20)
    >>> t["factor"].tolist()[:2], t["window"].iloc[0]
    (['k_il6_infl', 'k_sil6r_splice'], '[dose:end]')
    """
    from ..sensitivity import sobol_sensitivity
    from ..shipped import load_network

    if network.content_hash != load_network(network.name).content_hash:
        raise ValueError("the sensitivity figure runs the shipped model by name; pass the unmodified model")
    labels = {p: label for p, _, _, label in FACTORS}
    spec = _spec(drug, dose, FACTORS)
    rows = []
    for metric in metrics:
        res = sobol_sensitivity(spec, metric, n_base, seed, n_bootstrap=n_bootstrap)
        kind = metric.split(":")[0]
        window = parse_metric(kind).name[len(kind):]  # the sweep's window for this metric, e.g. [dose:end]
        for i, f in enumerate(res.factor_names):
            rows.append({"metric": metric, "window": window, "factor": f, "label": labels.get(f, f),
                         "S1": float(res.S1[i]), "S1_low": float(res.S1_conf[i, 0]), "S1_high": float(res.S1_conf[i, 1]),
                         "ST": float(res.ST[i]), "ST_low": float(res.ST_conf[i, 0]), "ST_high": float(res.ST_conf[i, 1]),
                         "mean": float(res.mean), "sd": float(np.sqrt(res.variance)), "n_base": res.n_base,
                         "n_evaluations": res.n_evaluations, "n_failed": res.n_failed, "drug": drug, "dose": dose})
    return pd.DataFrame(rows)
