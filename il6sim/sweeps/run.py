"""The :func:`sweep` entry point: spec → design matrix → engine, chunk by chunk → store (or Dask).

:func:`sweep` validates the spec, checks the disk, draws the whole design matrix, then runs its
chunks through one :class:`~il6sim.sweeps.engine.SweepEngine` locally or on a Dask cluster, writing
each chunk and the manifest as it goes and keeping only metrics (and, without an output directory,
time courses) in memory. With ``resume`` it keeps the finished chunks of the same spec.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .cluster import run_on_dask
from .design import design_matrix
from .engine import SweepEngine
from .result import SweepResult
from .spec import SweepSpec, load_sweep_spec, spec_from_dict
from .store import (
    check_disk,
    chunk_entries,
    new_manifest,
    prepare_out_dir,
    read_complete_chunk,
    write_chunk,
    write_manifest,
)

__all__ = ["sweep"]


def sweep(spec_or_path: SweepSpec | Mapping[str, Any] | str | Path, out_dir: str | Path | None = None, *, resume: bool = False,
          progress: Callable[[int, int], None] | None = None, client: Any = None) -> SweepResult:
    """Run a sweep, chunk by chunk; with ``out_dir``, write each chunk and a manifest there.

    Parameters
    ----------
    spec_or_path : a :class:`SweepSpec`, the path of a sweep file, or the same tables as a dict
        (validated before any work).
    out_dir : directory for ``manifest.json`` and ``chunk-NNNNN.npz`` (created if missing);
        ``None`` keeps everything in memory.
    resume : keep chunk files that are complete and belong to this spec; recompute the others.
    progress : called as ``progress(rows_done, n_rows)`` after each chunk.
    client : a ``dask.distributed.Client``: chunks run as tasks on its workers (a few in flight
        per worker) and this process writes them as they arrive. Same numbers as a local run.

    >>> res = sweep({"sweep": {"days": 1, "step": "12 h", "metrics": ["auc"], "observables": ["crp_mg_l"]}})
    >>> res.metric("auc:crp_mg_l").shape
    (1,)
    """
    if isinstance(spec_or_path, SweepSpec):
        spec = spec_or_path
    elif isinstance(spec_or_path, Mapping):
        spec = spec_from_dict(spec_or_path)
    else:
        spec = load_sweep_spec(spec_or_path)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        check_disk(spec, out)  # before any work or directory
    values = design_matrix(spec)
    engine = SweepEngine(spec)
    n_rows = len(values)
    chunks = chunk_entries(n_rows, spec.chunk_size)
    manifest = new_manifest(spec, engine, chunks, n_rows)
    digest = manifest["digest"]
    if out is not None:
        prepare_out_dir(out, manifest, resume)
    metrics = np.full((n_rows, len(spec.metric_names)), np.nan)
    status = np.zeros(n_rows, dtype=np.int64)
    messages = np.empty(n_rows, dtype=object)
    labels = np.empty((n_rows, len(spec.label_names)), dtype=object)
    keep_tc = out is None and spec.timecourses
    tcs: dict[int, np.ndarray] = {}
    done_rows = 0

    def store(i: int, data: Mapping[str, np.ndarray], fresh: bool) -> None:
        nonlocal done_rows
        ch = chunks[i]
        a, b = ch["start"], ch["stop"]
        if fresh and out is not None:
            write_chunk(out, ch, digest, data)
        metrics[a:b], status[a:b], messages[a:b] = data["metrics"], data["status"], data["messages"]
        labels[a:b] = data["labels"].reshape(b - a, -1)
        if keep_tc:
            tcs[i] = data["timecourses"]
        done_rows += b - a
        if progress is not None:
            progress(done_rows, n_rows)

    todo = []
    for i, ch in enumerate(chunks):
        kept = (read_complete_chunk(out / ch["file"], ch["stop"] - ch["start"], digest)
                if out is not None and resume else None)
        if kept is not None:
            store(i, kept, False)
        else:
            todo.append(i)
    if client is None:
        for i in todo:
            store(i, engine.chunk(values[chunks[i]["start"]:chunks[i]["stop"]]), True)
    else:
        run_on_dask(client, spec, values, chunks, todo, store)
    if out is not None:
        manifest["complete"] = True
        write_manifest(out, manifest)
    return SweepResult(spec.factor_names, values, status, messages.astype(str),
                       {name: metrics[:, j] for j, name in enumerate(spec.metric_names)}, engine.t,
                       spec.observables, manifest, out,
                       np.concatenate([tcs[i] for i in sorted(tcs)]) if keep_tc else None,
                       {name: labels[:, j].astype(str) for j, name in enumerate(spec.label_names)})
