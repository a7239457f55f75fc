"""(i) Global sensitivity of drug benefit over patient parameters (Sobol' indices).

Benefit is the percent inhibition (1 − AUC/AUC of the same patient untreated, from t = 0 to the
end) of CRP and of trans-signalling under tocilizumab 8 mg/kg at admission in severe COVID-19.
Patient parameters vary log-normally around the model's values (``sigma`` is the sd of the
log): IL-6 production per unit of inflammation, sIL-6R and sgp130 production, hepatocyte
IL-6R synthesis, and CRP clearance. The indices come from :func:`il6sim.sensitivity.sobol_sensitivity`
(Saltelli design through the sweep machinery, each row from its own steady state), with
bootstrap confidence intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..network import Network
from .style import MODE_COLOURS, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["FACTORS", "compute_sensitivity", "plot_sensitivity", "sensitivity_figure"]

#: parameter, median (model value with unit), sigma of ln, label
FACTORS = (
    ("k_il6_infl", "1 1/h", 0.5, "IL-6 production per unit inflammation"),
    ("k_sil6r_splice", "0.0066 nM/h", 0.4, "sIL-6R production (splicing)"),
    ("k_sgp130_syn", "3.9 nM/h", 0.3, "sgp130 production"),
    ("k_syn_mil6r_hep", "1.036 nM/h", 0.4, "hepatocyte IL-6R synthesis"),
    ("k_crp_deg", "0.0365 1/h", 0.3, "CRP clearance"),
)
METRICS = ("inhibition:crp_mg_l", "inhibition:trans_signal")
TITLES = {"inhibition:crp_mg_l": "benefit = CRP inhibition (%)",
          "inhibition:trans_signal": "benefit = trans-signalling inhibition (%)"}


def _spec(drug: str, dose: str, factors: Sequence[tuple[str, str, float, str]]) -> dict[str, Any]:
    return {"sweep": {"scenario": "covid_severe", "days": 21, "step": "12 h", "seed": 3,
                      "observables": ["crp_mg_l", "trans_signal"], "metrics": ["inhibition"]},
            "drugs": [{"drug": drug, "dose": dose, "at": "7 d"}],
            "factors": [{"parameter": p, "sampler": "lognormal", "median": m, "sigma": s} for p, m, s, _ in factors]}


def compute_sensitivity(network: Network, *, drug: str = "tocilizumab", dose: str = "8 mg/kg",
                        metrics: Sequence[str] = METRICS, n_base: int = 32, n_bootstrap: int = 300,
                        seed: int = 3) -> pd.DataFrame:
    """Sobol' indices (S1, ST with bootstrap intervals) of each benefit metric over the patient factors.

    Parameters
    ----------
    network : the IL-6 model; its content must be the shipped ``il6`` (the sweep loads it by name).
    drug, dose : the treatment, given at admission (day 7).
    metrics : sweep metric names (``inhibition:<observable>``).
    n_base : Saltelli base sample (power of two); the model runs ``n_base · (d + 2)`` times per metric.
    n_bootstrap, seed : bootstrap resamples and the seed of design and bootstrap.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_sensitivity(load_model("il6"), metrics=["inhibition:crp_mg_l"], n_base=8, n_bootstrap=20)
    >>> t["factor"].tolist()[:2]
    ['k_il6_infl', 'k_sil6r_splice']
    """
    from ..sensitivity import sobol_sensitivity
    from ..shipped import load_model

    if network.content_hash != load_model(network.name).content_hash:
        raise ValueError("the sensitivity figure runs the shipped model by name; pass the unmodified model")
    labels = {p: label for p, _, _, label in FACTORS}
    spec = _spec(drug, dose, FACTORS)
    rows = []
    for metric in metrics:
        res = sobol_sensitivity(spec, metric, n_base, seed, n_bootstrap=n_bootstrap)
        for i, f in enumerate(res.factor_names):
            rows.append({"metric": metric, "factor": f, "label": labels.get(f, f),
                         "S1": float(res.S1[i]), "S1_low": float(res.S1_conf[i, 0]), "S1_high": float(res.S1_conf[i, 1]),
                         "ST": float(res.ST[i]), "ST_low": float(res.ST_conf[i, 0]), "ST_high": float(res.ST_conf[i, 1]),
                         "mean": float(res.mean), "sd": float(np.sqrt(res.variance)), "n_base": res.n_base,
                         "n_evaluations": res.n_evaluations, "n_failed": res.n_failed, "drug": drug, "dose": dose})
    return pd.DataFrame(rows)


def plot_sensitivity(table: pd.DataFrame) -> Figure:
    """One panel per metric: total (ST) and first-order (S1) indices per factor with their intervals.

    Examples
    --------
    >>> t = pd.DataFrame({"metric": ["inhibition:crp_mg_l"] * 2, "factor": ["a", "b"], "label": ["a", "b"],
    ...                   "S1": [0.6, 0.1], "S1_low": [0.4, 0.0], "S1_high": [0.8, 0.2], "ST": [0.7, 0.2],
    ...                   "ST_low": [0.5, 0.1], "ST_high": [0.9, 0.3], "mean": [84.0] * 2, "sd": [1.0] * 2,
    ...                   "n_base": [8] * 2, "n_evaluations": [32] * 2, "drug": ["tocilizumab"] * 2,
    ...                   "dose": ["8 mg/kg"] * 2})
    >>> len(plot_sensitivity(t).axes)
    1
    """
    metrics = list(dict.fromkeys(table["metric"]))
    fig, axes = new_figure(1, len(metrics), figsize=(7.0 * len(metrics) + 2.5, 5.8))
    for k, (ax, metric) in enumerate(zip(axes, metrics)):
        d = table[table.metric == metric].iloc[::-1]
        y = np.arange(len(d))
        for off, idx, colour, name in ((0.18, "ST", MODE_COLOURS["trans"], "total effect ST"),
                                       (-0.18, "S1", MODE_COLOURS["classic"], "first order S1")):
            err = np.vstack([d[idx] - d[f"{idx}_low"], d[f"{idx}_high"] - d[idx]]).clip(min=0)
            ax.barh(y + off, d[idx], height=0.34, color=colour, xerr=err, capsize=3, label=name)
        ax.set_yticks(y, d["label"] if k == 0 else [""] * len(d))
        ax.axvline(0, color="#999999", lw=0.8)
        ax.set_xlim(-0.1, 1.1)
        ax.set_xlabel("Sobol' index (share of the variance of benefit)")
        first = d.iloc[0]
        ax.set_title(f"{TITLES.get(metric, metric)}\nover patients: mean {first['mean']:.1f}, sd {first['sd']:.2f}")
        ax.legend(frameon=False, loc="lower right")
    first = table.iloc[0]
    fig.suptitle(f"What decides the benefit of {first['drug']} {first['dose']} in severe COVID-19\n"
                 f"(Sobol' indices, N = {int(first['n_base'])}, 95 % bootstrap intervals)")
    return fig


def sensitivity_figure(network: Network, *, n_base: int = 32, n_bootstrap: int = 300) -> tuple[pd.DataFrame, Figure]:
    """Data table and figure (i).

    >>> from il6sim.shipped import load_model
    >>> table, fig = sensitivity_figure(load_model("il6"), n_base=8, n_bootstrap=20)
    >>> sorted(set(table["metric"]))
    ['inhibition:crp_mg_l', 'inhibition:trans_signal']
    """
    table = compute_sensitivity(network, n_base=n_base, n_bootstrap=n_bootstrap)
    return table, plot_sensitivity(table)
