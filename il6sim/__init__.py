"""il6sim: a mechanistic simulator of IL-6 classic, trans- and trans-presentation signalling.

The data path is model file → :class:`Network` → :class:`CompiledNetwork` → :func:`simulate` →
:class:`Result` → :mod:`il6sim.readouts` → figures. Everything the ``il6sim`` command does is
reachable from the names in ``__all__``:

>>> import il6sim
>>> model = il6sim.load_model("models/examples/binding.toml")
>>> res = il6sim.simulate(model, t_eval=[0.0, 24.0])
>>> res.status
'success'

A drug at a dose in a scenario, and a readout of it (the trough of the last dosing interval):

>>> run = il6sim.build_run(il6sim.load_model("il6"), drug_groups=[
...     {"drug": "sarilumab", "dose": "200 mg", "route": "sc", "at": "0d", "every": "14d", "count": 3}],
...     duration_h=42 * 24)
>>> schedule = il6sim.DosingSchedule.of_doses(run.doses)
>>> t = il6sim.output_grid(run.duration_h, 24.0, dose_times=schedule.times_h)
>>> res = run.simulate(t)
>>> occ = il6sim.parse_metric("ctrough[last]").evaluate(t, res["sil6r_occupancy"], dose_times=schedule.times_h,
...                                                     tau_h=schedule.tau_h)
>>> 0.0 < float(occ) <= 1.0
True

Names are loaded on first use, so ``import il6sim.network`` (the model layer) does not load numba.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    Il6simError,
    ModelFileError,
    NetworkError,
    ProtocolError,
    SolverError,
    UnitError,
    UnknownNameError,
)

# public name -> module that defines it (imported on first access; see __getattr__)
_LAZY: dict[str, str] = {
    # model layer: networks, model files, drugs, scenarios, dosing
    "Compartment": "network", "Network": "network", "Observable": "network", "Parameter": "network",
    "RateExpr": "network", "Reaction": "network", "Species": "network",
    "load_model": "shipped", "shipped_names": "shipped",
    "Drug": "drugs", "Dose": "drugs", "load_drug": "drugs", "add_drug": "drugs",
    "Scenario": "scenario", "load_scenario": "scenario",
    "AddConcentration": "protocol", "Infusion": "protocol", "Protocol": "protocol",
    "ScaleParameter": "protocol", "SetParameter": "protocol",
    "model_card": "modelcard",
    "read_sbml": "sbml", "to_sbml": "sbml",
    # engine: compile, simulate, steady states, batches
    "CompiledNetwork": "compiled", "compile_network": "compiled",
    "SOLVERS": "solve", "simulate": "solve", "steady_state": "solve",
    "Result": "results", "SteadyState": "results",
    "BatchResult": "batch", "run_batch": "batch",
    # a run: drugs, doses, scenario and weight on a model
    "Run": "regimen", "build_run": "regimen",
    # readouts
    "DosingSchedule": "readouts", "Metric": "readouts", "Window": "readouts", "output_grid": "readouts",
    "parse_metric": "readouts", "parse_window": "readouts",
    # analyses
    "CompareTable": "compare", "compare_drugs": "compare", "write_compare": "compare",
    "SweepResult": "sweeps", "SweepSpec": "sweeps", "load_sweep": "sweeps", "load_sweep_spec": "sweeps",
    "sweep": "sweeps",
    "SobolResult": "sensitivity", "sobol_sensitivity": "sensitivity",
    "Target": "target", "TargetResult": "target", "find_dose": "target", "find_interval": "target",
    "parse_target": "target", "Stratification": "stratify", "stratify": "stratify",
    # estimation (PEtab problems: il6sim.petab.load_problem)
    "FitResult": "estimate", "fit": "estimate",
}
_SUBMODULES = ("readouts", "petab")

__all__ = sorted(
    [*_LAZY, *_SUBMODULES, "__version__", "Il6simError", "ModelFileError", "NetworkError", "ProtocolError",
     "SolverError", "UnitError", "UnknownNameError"],
    key=lambda s: (s.startswith("_"), s),
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'il6sim' has no attribute '{name}'")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ loads these on first use
    from . import petab, readouts
    from .batch import BatchResult, run_batch
    from .compare import CompareTable, compare_drugs, write_compare
    from .compiled import CompiledNetwork, compile_network
    from .drugs import Dose, Drug, add_drug, load_drug
    from .estimate.fit import FitResult, fit
    from .modelcard import model_card
    from .network import Compartment, Network, Observable, Parameter, RateExpr, Reaction, Species
    from .protocol import AddConcentration, Infusion, Protocol, ScaleParameter, SetParameter
    from .readouts import DosingSchedule, Metric, Window, output_grid, parse_metric, parse_window
    from .regimen import Run, build_run
    from .results import Result, SteadyState
    from .sbml import read_sbml
    from .sbml_export import to_sbml
    from .scenario import Scenario, load_scenario
    from .sensitivity import SobolResult, sobol_sensitivity
    from .shipped import load_model, shipped_names
    from .solve import SOLVERS, simulate, steady_state
    from .stratify import Stratification, stratify
    from .sweeps import SweepResult, SweepSpec, load_sweep, load_sweep_spec, sweep
    from .target import Target, TargetResult, find_dose, find_interval, parse_target
