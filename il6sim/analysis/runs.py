"""Run things for the analyses: jitted simulations from a cached steady state, IL-6 clamps, output grids.

Many gallery runs share one network (a grid of doses, early and late dosing), so the compiled
network and its drug-free steady state are computed once per network content hash and reused.
Inhibitions in the tables are named by :func:`inhibition_column` (metric, window, observable, unit).

>>> from il6sim.shipped import load_model
>>> net = load_model("il6")
>>> held = clamp_species(net, "il6", pg_ml_to_nM(net, "il6", 50.0))
>>> held.get_species("il6").boundary
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..drugs import load_drug
from ..network import Network
from ..readouts import Window, output_grid
from ..regimen import Run, build_run
from ..results import Result
from ..shipped import shipped_names

__all__ = ["RTOL", "SIGNALS", "binder_names", "clamp_species", "dose_times", "inhibition_column", "pg_ml_to_nM",
           "scenario_run", "simulate_run", "time_grid"]

#: the three per-mode signalling readouts (complexes per cell)
SIGNALS = ("classic_signal", "trans_signal", "trans_presentation_signal")
RTOL = 1e-7  # jitted Rosenbrock runs; agrees with the scipy reference to ~1e-6 relative on this model


def binder_names() -> list[str]:
    """Shipped drugs that bind something (every drug but production drugs such as dexamethasone).

    >>> "tocilizumab" in binder_names(), "dexamethasone" in binder_names()
    (True, False)
    """
    return [n for n in shipped_names("drugs") if load_drug(n).target_class != "production"]


_CACHE: dict[str, tuple[Any, Any]] = {}


def _compiled_and_steady(network: Network, parameters: Mapping[str, float] | None = None) -> tuple[Any, Any]:
    """The compiled network and its steady state (at ``parameters``), cached (many runs share a network)."""
    from ..compiled import compile_network
    from ..errors import Il6simError
    from ..solve import steady_state

    key = network.content_hash + repr(sorted((parameters or {}).items()))
    if key not in _CACHE:
        cn = compile_network(network)
        ss = steady_state(cn, parameters=dict(parameters) if parameters else None)
        if not ss.converged:
            raise Il6simError(f"model '{network.name}' has no steady state to start from (residual {ss.residual:.1e})")
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = (cn, ss)
    return _CACHE[key]


def simulate_run(run: Run, t_eval: np.ndarray | Sequence[float]) -> Result:
    """Simulate a :class:`Run` from its drug-free steady state on the jitted solver.

    Same numbers as ``run.simulate(t_eval, solver="jit", rtol=RTOL)``; the compiled network and
    its steady state are reused across runs of the same network (dose grids, drug timing). A time
    given twice in ``t_eval`` reports the state just before the events there, then after them.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> res = simulate_run(scenario_run(load_model("il6"), "covid_severe"), [0.0, 336.0])
    >>> bool(res["il6_free_pg_ml"][1] > 5 * res["il6_free_pg_ml"][0])
    True
    """
    from ..solve import simulate

    disease = run.scenario is not None and run.scenario.start == "disease"
    cn, ss = _compiled_and_steady(run.network, run.parameters if disease else None)
    return simulate(cn, np.asarray(t_eval, dtype=float), parameters=dict(run.parameters), protocol=run.protocol,
                    initial=ss, events_beyond_end="ignore", solver="jit", rtol=RTOL)


def scenario_run(network: Network, scenario: str, drug_groups: Sequence[Mapping[str, Any]] = (),
                 duration_h: float | None = None) -> Run:
    """``build_run`` with the scenario and drug groups (doses default to the drug files' standard ones).

    >>> from il6sim.shipped import load_model
    >>> run = scenario_run(load_model("il6"), "covid_severe", [{"drug": "tocilizumab", "at": "admission"}])
    >>> [d.name for d in run.drugs], round(run.doses[0].at_h / 24, 3)
    (['tocilizumab'], 15.8)
    """
    return build_run(network, scenario=scenario, drug_groups=list(drug_groups), duration_h=duration_h)


def dose_times(run: Run) -> list[float]:
    """Every dose time of a run (h), sorted, for :func:`il6sim.readouts.output_grid`.

    >>> from il6sim.shipped import load_model
    >>> dose_times(scenario_run(load_model("il6"), "ra", [{"drug": "sarilumab", "every": "7 d", "count": 3}]))
    [0.0, 168.0, 336.0]
    """
    return sorted({d.at_h + i * (d.every_h or 0.0) for d in run.doses for i in range(int(d.count))})


def time_grid(duration_h: float, step_h: float) -> np.ndarray:
    """Output times 0, step, ..., duration (h), the end always included (runs without doses).

    For runs with doses use :func:`il6sim.readouts.output_grid` with ``dose_times`` (each dose time
    twice: the state before and after it).

    >>> time_grid(10.0, 4.0).tolist()
    [0.0, 4.0, 8.0, 10.0]
    """
    return output_grid(duration_h, step_h)


def inhibition_column(window: Window | str, observable: str) -> str:
    """The column name of an inhibition (percent) over ``window``, as the tables write it.

    >>> inhibition_column(Window(168.0, "end"), "crp_mg_l")
    'inhibition[7d:end]:crp_mg_l (%)'
    """
    label = window.label if isinstance(window, Window) else window
    return f"inhibition{label}:{observable} (%)"


def pg_ml_to_nM(network: Network, species: str, pg_ml: float) -> float:
    """A mass concentration (pg/ml) of ``species`` in nM, from its molecular weight.

    >>> from il6sim.shipped import load_model
    >>> round(pg_ml_to_nM(load_model("il6"), "il6", 1000.0), 4)  # IL-6: about 21 kDa
    0.0476
    """
    mw = network.get_species(species).mw_g_per_nmol
    if not mw:
        raise ValueError(f"species '{species}' has no molecular weight")
    return pg_ml * 1e-12 / 1e-3 / mw  # g/l / (g/nmol) = nmol/l


def clamp_species(network: Network, species: str, nM: float) -> Network:
    """Return ``network`` with ``species`` held at ``nM`` (a boundary species: reactions do not change it).

    >>> from il6sim.shipped import load_model
    >>> clamp_species(load_model("il6"), "il6", 0.01).get_species("il6").initial_nM
    0.01
    """
    sp = network.get_species(species)
    new = tuple(replace(s, boundary=True, initial_nM=float(nM)) if s.id == sp.id else s for s in network.species)
    return replace(network, species=new)
