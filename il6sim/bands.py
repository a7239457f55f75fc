"""Uncertainty bands: results over the calibration's parameter sets and the ranges of unmeasured drug constants.

Two sources of parameter sets, both data files:

* the calibration (``models/calibration/joint/ensemble.tsv``, :func:`il6sim.calibration.ensemble`):
  the best fit and the ends of each shipped parameter's 95 % interval;
* ``models/calibration/unmeasured.tsv``: drug constants with no measurement at all (olamkicept's
  affinity and clearance), each with a low and a high plausible value and the reason for them.
  Each end enters one at a time, at the best fit, for runs that contain that drug.

:func:`compare_bands` runs :func:`il6sim.compare.compare_drugs`' runs under every set and reports
``drug, observable, time_h, p05, p50, p95`` (percentiles over the sets); :func:`run_bands` does the
same for one run (``il6sim simulate --bands FILE``).

>>> [r.parameter for r in unmeasured_ranges() if r.drug == "olamkicept"][:1]
['olam_koff_0']
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import Il6simError
from .network import Network
from .shipped import models_dir

__all__ = ["UnmeasuredRange", "band_sets_for", "calibrated_run", "compare_bands", "run_bands", "split_overrides",
           "unmeasured_ranges"]

UNMEASURED = Path("calibration") / "unmeasured.tsv"
OBSERVABLES = ("il6_free_pg_ml", "il6_total_pg_ml", "sil6r_total_ng_ml", "crp_mg_l", "classic_signal",
               "trans_signal", "trans_presentation_signal", "drug_total_ug_ml", "mil6r_occupancy", "sil6r_occupancy")


@dataclass(frozen=True)
class UnmeasuredRange:
    """A constant with no measurement: its run parameter, plausible low and high (core units), why.

    ``drug`` names the drug whose file holds it, or is ``model`` for a model parameter (such as the
    IL-6 help to effector T cells of the disease layer): ``band_sets_for`` uses drug rows only; the
    analyses that depend on a model constant read its row themselves.
    """

    drug: str
    parameter: str
    low: float
    high: float
    source: str


def unmeasured_ranges(path: str | Path | None = None) -> list[UnmeasuredRange]:
    """Read ``unmeasured.tsv``."""
    p = Path(path) if path else models_dir() / UNMEASURED
    with open(p, newline="", encoding="utf-8") as f:
        return [UnmeasuredRange(r["drug"], r["parameter"], float(r["low"]), float(r["high"]), r["source"])
                for r in csv.DictReader(f, delimiter="\t")]


def band_sets_for(drugs: Sequence[str], scenario: str | None = None) -> list[tuple[dict[str, float], str]]:
    """``(run-parameter overrides, parameter it varies or "")``: calibration sets, then unmeasured ends of ``drugs``."""
    from .calibration import ensemble, overrides
    from .validation import band_sets

    calibrated = [overrides(s, scenario) for s in band_sets(ensemble())]
    out = [(c, "") for c in calibrated]
    for r in unmeasured_ranges():
        if r.drug in drugs:
            for value in (r.low, r.high):
                out.append(({**calibrated[0], r.parameter: value}, r.parameter))
    return out


def split_overrides(network: Network, over: Mapping[str, float]) -> tuple[Network, dict[str, float]]:
    """Model parameters of ``over`` go into the network (so a healthy start sees them); return it and the rest.

    >>> from il6sim.shipped import load_network
    >>> net, rest = split_overrides(load_network(), {"k_il6_basal": 0.002, "tcz_koff_0": 9.0})
    >>> net.get_parameter("k_il6_basal").value, rest
    (0.002, {'tcz_koff_0': 9.0})
    """
    names = {p.id for p in network.parameters}
    model = {k: v for k, v in over.items() if k in names}
    return (network.with_parameters(model) if model else network), {k: v for k, v in over.items() if k not in names}


def calibrated_run(network: Network, over: Mapping[str, float], varies: str = "", **build: Any) -> Any:
    """``build_run(network, **build)`` under the overrides ``over`` (model values into the network, the
    rest into the run's parameters); None when the set ``varies`` a constant this run does not have."""
    from .regimen import build_run

    net, rest = split_overrides(network, over)
    run = build_run(net, **build)
    have = {p.id for p in run.network.parameters}
    if varies and varies not in have:  # an unmeasured constant of another drug: not this run's set
        return None
    return replace(run, parameters={**dict(run.parameters), **{k: v for k, v in rest.items() if k in have}})


def compare_bands(network: Network, *, scenario: str = "covid_severe", drugs: str | Sequence[str] = "all",
                  at: str | float | None = None, weight: str | float = "70kg", days: str | float | None = None,
                  step_h: float = 1.0) -> Any:
    """``drug, observable, time_h, p05, p50, p95`` over the parameter sets of :func:`band_sets_for`.

    The runs are those of :func:`il6sim.compare.compare_drugs` (untreated and each drug at its
    standard dose); a set that varies another drug's unmeasured constant is not used for this run.
    """
    import pandas as pd

    from .compare import plan_runs

    names, base, t_dose, t_eval = plan_runs(network, scenario=scenario, drugs=drugs, at=at, weight=weight,
                                            days=days, step_h=step_h)
    curves: dict[tuple[str, str], list[np.ndarray]] = {}
    for over, varies in band_sets_for(names, base.scenario.name if base.scenario else None):
        for label in ["untreated", *names]:
            groups = [] if label == "untreated" else [{"drug": label, "at": t_dose}]
            run = calibrated_run(network, over, varies, scenario=scenario, weight=weight,
                                 duration_h=base.duration_h, drug_groups=groups)
            if run is None:
                continue
            res = run.simulate(t_eval)
            key = run.drugs[0].name if run.drugs else "untreated"
            for o in OBSERVABLES:
                if o in res.observable_ids:
                    curves.setdefault((key, o), []).append(np.asarray(res[o], dtype=float))
    rows = []
    for (label, o), ys in curves.items():
        p05, p50, p95, n = _percentiles(ys)
        rows.append(pd.DataFrame({"drug": label, "observable": o, "time_h": t_eval, "p05": p05, "p50": p50,
                                  "p95": p95, "n_sets": n}))
    if not rows:
        raise Il6simError("no band could be computed (no run produced the reported observables)")
    return pd.concat(rows, ignore_index=True)


def _percentiles(ys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    y = np.vstack(ys)
    p05, p50, p95 = np.percentile(y, [5, 50, 95], axis=0)
    return p05, p50, p95, y.shape[0]


def run_bands(network: Network, t_eval: Sequence[float] | np.ndarray, *, scenario: str | None = None,
              drug_groups: Sequence[Mapping[str, Any]] = (), regimen: str | None = None,
              weight: str | float = "70kg", duration_h: float | None = None,
              observables: Sequence[str] | None = None) -> Any:
    """``observable, time_h, p05, p50, p95, n_sets`` of one run (as ``build_run`` makes it) over the band's sets.

    ``network`` must be the shipped model (or one with its parameter names): the calibration's
    values are set by name.
    """
    import pandas as pd

    from .regimen import build_run

    t = np.asarray(t_eval, dtype=float)
    kw: dict[str, Any] = {"scenario": scenario, "drug_groups": list(drug_groups), "regimen": regimen,
                          "weight": weight, "duration_h": duration_h}
    from .calibration import shipped_parameters

    probe = build_run(network, **kw)
    model_targets = [t for sp in shipped_parameters().values() if sp.file.endswith("il6.toml") for t in sp.targets]
    missing = [t for t in model_targets if t not in {p.id for p in network.parameters}]
    if missing:
        raise Il6simError(f"bands need the shipped model's parameters; this model lacks {', '.join(missing[:3])}")
    names = [d.name for d in probe.drugs]
    curves: dict[str, list[np.ndarray]] = {}
    for over, varies in band_sets_for(names, probe.scenario.name if probe.scenario else None):
        run = calibrated_run(network, over, varies, **kw)
        if run is None:
            continue
        res = run.simulate(t)
        for o in observables or res.observable_ids:
            curves.setdefault(o, []).append(np.asarray(res[o], dtype=float))
    frames = []
    for o, ys in curves.items():
        p05, p50, p95, n = _percentiles(ys)
        frames.append(pd.DataFrame({"observable": o, "time_h": t, "p05": p05, "p50": p50, "p95": p95, "n_sets": n}))
    return pd.concat(frames, ignore_index=True)
