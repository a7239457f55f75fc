"""Helpers shared by the gallery figures: runs on the jitted solver, IL-6 clamps, labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..drugs import load_drug
from ..network import Network
from ..regimen import Run, build_run
from ..results import Result
from ..shipped import shipped_names

#: observable -> axis label with its unit
LABELS = {
    "il6_free_pg_ml": "free serum IL-6 (pg/ml)",
    "il6_total_pg_ml": "total serum IL-6 (pg/ml)",
    "sil6r_total_ng_ml": "total serum sIL-6R (ng/ml)",
    "sil6r_free_ng_ml": "free serum sIL-6R (ng/ml)",
    "sgp130_free_ng_ml": "free serum sgp130 (ng/ml)",
    "sgp130_total_ng_ml": "total serum sgp130 (ng/ml)",
    "crp_mg_l": "CRP (mg/l)",
    "classic_signal": "classic signal (complexes/hepatocyte)",
    "trans_signal": "trans-signal (complexes/endothelial cell)",
    "trans_presentation_signal": "trans-presentation (complexes/T cell)",
    "mil6r_occupancy": "membrane IL-6R held by drug (fraction)",
}
SIGNALS = ("classic_signal", "trans_signal", "trans_presentation_signal")
MODE_NAMES = {"classic_signal": "classic", "trans_signal": "trans", "trans_presentation_signal": "trans_presentation"}
MODE_TITLES = {"classic_signal": "classic signalling", "trans_signal": "trans-signalling",
               "trans_presentation_signal": "trans-presentation"}
RTOL = 1e-7  # jitted Rosenbrock runs; agrees with the scipy reference to ~1e-6 relative on this model


def binder_names() -> list[str]:
    """Shipped drugs that bind something (every drug but production drugs such as dexamethasone)."""
    return [n for n in shipped_names("drugs") if load_drug(n).target_class != "production"]


_CACHE: dict[str, tuple[Any, Any]] = {}


def _compiled_and_steady(network: Network) -> tuple[Any, Any]:
    """The compiled network and its steady state, cached by content hash (many runs share a network)."""
    from ..compiled import compile_network
    from ..errors import Il6simError
    from ..solve import steady_state

    key = network.content_hash
    if key not in _CACHE:
        cn = compile_network(network)
        ss = steady_state(cn)
        if not ss.converged:
            raise Il6simError(f"model '{network.name}' has no steady state to start from (residual {ss.residual:.1e})")
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = (cn, ss)
    return _CACHE[key]


def simulate_run(run: Run, t_eval: np.ndarray | Sequence[float]) -> Result:
    """Simulate a :class:`Run` from its drug-free steady state on the jitted solver.

    Same numbers as ``run.simulate(t_eval, solver="jit", rtol=RTOL)``; the compiled network and
    its steady state are reused across runs of the same network (dose grids, drug timing).
    """
    from ..solve import simulate

    cn, ss = _compiled_and_steady(run.network)
    return simulate(cn, np.asarray(t_eval, dtype=float), parameters=dict(run.parameters), protocol=run.protocol,
                    initial=ss, events_beyond_end="ignore", solver="jit", rtol=RTOL)


def scenario_run(network: Network, scenario: str, drug_groups: Sequence[Mapping[str, Any]] = (),
                 duration_h: float | None = None) -> Run:
    """``build_run`` with the scenario and drug groups (doses default to the drug files' standard ones)."""
    return build_run(network, scenario=scenario, drug_groups=list(drug_groups), duration_h=duration_h)


def time_grid(duration_h: float, step_h: float) -> np.ndarray:
    """Output times 0, step, ..., duration (h), the end always included."""
    t = np.arange(0.0, duration_h + 1e-9, step_h)
    return t if np.isclose(t[-1], duration_h) else np.append(t, duration_h)


def pg_ml_to_nM(network: Network, species: str, pg_ml: float) -> float:
    """A mass concentration (pg/ml) of ``species`` in nM, from its molecular weight."""
    mw = network.get_species(species).mw_g_per_nmol
    if not mw:
        raise ValueError(f"species '{species}' has no molecular weight")
    return pg_ml * 1e-12 / 1e-3 / mw  # g/l / (g/nmol) = nmol/l


def clamp_species(network: Network, species: str, nM: float) -> Network:
    """Return ``network`` with ``species`` held at ``nM`` (a boundary species: reactions do not change it)."""
    sp = network.get_species(species)
    new = tuple(replace(s, boundary=True, initial_nM=float(nM)) if s.id == sp.id else s for s in network.species)
    return replace(network, species=new)


def auc_after(t: np.ndarray, y: np.ndarray, t0: float) -> float:
    """Trapezoidal area under ``y`` from ``t0`` to the end (units of y times h)."""
    m = t >= t0
    return float(np.trapezoid(y[m], t[m]))


def inhibition_pct(t: np.ndarray, treated: np.ndarray, untreated: np.ndarray, t0: float) -> float:
    """100 · (1 − AUC(treated) / AUC(untreated)) from ``t0`` to the end (0 when untreated AUC is 0)."""
    a0 = auc_after(t, untreated, t0)
    return 100.0 * (1.0 - auc_after(t, treated, t0) / a0) if a0 > 0 else 0.0


def positive(y: Any) -> np.ndarray:
    """Values for a log axis: non-positive ones become NaN (not drawn) instead of clipped."""
    a = np.asarray(y, dtype=float)
    return np.where(a > 0, a, np.nan)
