"""Many parameter rows through one protocol on the jitted integrator (public home of ``run_batch``)."""

from ._jitsolve import BatchArrays, BatchResult, batch_arrays, run_batch

__all__ = ["BatchArrays", "BatchResult", "batch_arrays", "run_batch"]
