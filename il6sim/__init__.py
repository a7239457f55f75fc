"""il6sim: a mechanistic simulator of IL-6 classic, trans- and trans-presentation signalling.

The data path is model file → :class:`Network` → :class:`CompiledNetwork` → :func:`simulate` →
:class:`Result`.

>>> import il6sim
>>> model = il6sim.load_model("models/examples/binding.toml")
>>> res = il6sim.simulate(model, t_eval=[0.0, 24.0])
>>> res.status
'success'

Global sensitivity: :func:`sobol_sensitivity` gives first-order and total Sobol' indices of a sweep
metric over the sweep file's factors, with bootstrap intervals (see :mod:`il6sim.sensitivity`). The
estimators alone, on ``2 a + b`` with uniform ``a``, ``b`` (exact S1 = ST = 0.8, 0.2):

>>> from il6sim.sensitivity import saltelli_design, sobol_indices
>>> u = saltelli_design(2, 512, seed=0)
>>> [round(float(s), 2) for s in sobol_indices(2 * u[:, 0] + u[:, 1], ("a", "b"), n_bootstrap=100, seed=0).ST]
[0.8, 0.2]
"""

__version__ = "0.1.0"

from ._jitsolve import BatchResult, run_batch
from .compiled import CompiledNetwork, compile_network
from .errors import (
    Il6simError,
    ModelFileError,
    NetworkError,
    ProtocolError,
    SolverError,
    UnitError,
    UnknownNameError,
)
from .network import Compartment, Network, Observable, Parameter, RateExpr, Reaction, Species
from .protocol import AddConcentration, Infusion, Protocol, ScaleParameter, SetParameter
from .results import Result, SteadyState
from .sbml import read_sbml, to_sbml
from .sensitivity import SobolResult, sobol_sensitivity
from .shipped import load_model
from .solve import SOLVERS, simulate, steady_state
from .sweeps import SweepResult, SweepSpec, load_sweep, load_sweep_spec, sweep

__all__ = [
    "AddConcentration",
    "BatchResult",
    "CompiledNetwork",
    "Compartment",
    "Il6simError",
    "Infusion",
    "ModelFileError",
    "Network",
    "NetworkError",
    "Observable",
    "Parameter",
    "Protocol",
    "ProtocolError",
    "RateExpr",
    "Reaction",
    "Result",
    "SOLVERS",
    "ScaleParameter",
    "SetParameter",
    "SobolResult",
    "SolverError",
    "Species",
    "SteadyState",
    "SweepResult",
    "SweepSpec",
    "UnitError",
    "UnknownNameError",
    "__version__",
    "compile_network",
    "load_model",
    "load_sweep",
    "load_sweep_spec",
    "read_sbml",
    "run_batch",
    "simulate",
    "sobol_sensitivity",
    "steady_state",
    "sweep",
    "to_sbml",
]
