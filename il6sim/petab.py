"""PEtab problems for il6sim: the names a user needs, from :mod:`il6sim.estimate`.

>>> import il6sim
>>> problem = il6sim.petab.load_problem("../shared/petab-benchmark/Crauste_CellSystems2017/"
...                                     "Crauste_CellSystems2017.yaml")
>>> round(problem.log_likelihood(), 4), len(problem.simulate())
(-190.964, 21)
"""

from .estimate import PetabError, Problem, load_problem
from .estimate.export import export_petab

__all__ = ["PetabError", "Problem", "export_petab", "load_problem"]
