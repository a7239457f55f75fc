"""Parameter estimation: PEtab problems, objectives, multistart fits, profiles and prediction bands.

The layout follows pyPESTO's shape (a problem, an objective, an optimiser, a result with every
start) and PEtab's semantics (Schmiester et al. 2021): the objective is the negative
log-likelihood with its normalisation terms, parameter scales live in the problem.

* :mod:`~il6sim.estimate.tables`: the YAML and TSV files as plain data, with file/row locations.
* :mod:`il6sim.expr` (shared with the SBML reader): a safe formula parser (never ``eval``).
* :mod:`~il6sim.estimate.problem`: :func:`load_problem`, every cross-reference checked.
* :mod:`~il6sim.estimate.objective`: many parameter vectors simulated as one batch; nllh, residuals.
* :mod:`~il6sim.estimate.fit`: seeded multistart with batched finite-difference derivatives.
* :mod:`~il6sim.estimate.profile`: profile likelihoods, 95 % intervals, prediction bands.

>>> import il6sim.estimate as est
>>> problem = est.load_problem("../shared/petab-benchmark/Perelson_Science1996/Perelson_Science1996.yaml")
>>> round(problem.log_likelihood(), 4)                     # at the table's nominal values
-432.0385
>>> res = est.fit(problem, starts=4, seed=0)
>>> round(res.best_llh, 2), problem.free_ids                # the published optimum
(-222.28, ('c', 'delta', 'sd_task0_model0_perelson1_V'))
"""

from .fit import FitResult, StartResult, fit
from .objective import Objective
from .problem import Problem, load_problem
from .profile import ParameterProfile, ProfileResult, predict, profile
from .tables import PetabError

__all__ = ["FitResult", "Objective", "ParameterProfile", "PetabError", "Problem", "ProfileResult", "StartResult",
           "fit", "load_problem", "predict", "profile"]
