"""Running a sweep's chunks as tasks on a Dask cluster, with a bounded number in flight.

:func:`run_on_dask` submits chunks to a ``dask.distributed.Client`` a few per worker at a time (so
the driver's memory stays flat) and hands each result to the caller's ``store`` callback as it
arrives; the driver alone writes files. Each worker process builds one :class:`SweepEngine` per
spec and keeps it, so settings compile once per worker. Rows are computed exactly as in a local
run, so the numbers are the same whatever the number of workers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import Il6simError
from .engine import SweepEngine
from .spec import SweepSpec

__all__ = ["run_on_dask"]


_WORKER_ENGINES: OrderedDict[str, SweepEngine] = OrderedDict()
_WORKER_LOCK = threading.Lock()


def _remote_chunk(spec: SweepSpec, values: np.ndarray) -> dict[str, np.ndarray]:
    """A chunk on a Dask worker; the engine (compiled settings) is kept per worker process."""
    digest = spec.digest()
    with _WORKER_LOCK:
        engine = _WORKER_ENGINES.get(digest)
        if engine is None:
            engine = _WORKER_ENGINES[digest] = SweepEngine(spec)
            while len(_WORKER_ENGINES) > 2:
                _WORKER_ENGINES.popitem(last=False)
    return engine.chunk(values)


def run_on_dask(client: Any, spec: SweepSpec, values: np.ndarray, chunks: list[dict[str, Any]], todo: list[int],
                store: Callable[[int, Mapping[str, np.ndarray], bool], None]) -> None:
    """Chunks as Dask tasks, a bounded number in flight (memory stays flat); results stored as they come."""
    from dask.distributed import as_completed

    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:  # pragma: no cover - an exotic client: assume one worker
        n_workers = 1
    window = 2 * n_workers + 1
    [spec_future] = client.scatter([spec], broadcast=True)
    pending = list(todo)
    index: dict[Any, int] = {}

    def submit() -> Any:
        i = pending.pop(0)
        ch = chunks[i]
        fut = client.submit(_remote_chunk, spec_future, values[ch["start"]:ch["stop"]], pure=False)
        index[fut] = i
        return fut

    running = as_completed([submit() for _ in range(min(window, len(pending)))])
    for fut in running:
        i = index.pop(fut)
        try:
            data = fut.result()
        except Exception as exc:  # a worker died or could not run the chunk: one line, resumable
            raise Il6simError(f"chunk {i} failed on the Dask cluster ({type(exc).__name__}: {exc}); "
                              "finished chunks are kept, rerun with resume") from None
        fut.release()
        store(i, data, True)
        if pending:
            running.add(submit())
