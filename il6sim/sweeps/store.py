"""A sweep on disk: the output directory, its chunk files and manifest, resume, and the disk check.

A sweep directory holds ``manifest.json`` (the spec, provenance and the chunk list, marked
``complete`` at the end) and one ``chunk-NNNNN.npz`` per chunk (``allow_pickle=False``, stamped
with the spec's digest). Every file is written atomically, so a killed run leaves whole files or
none; :func:`read_complete_chunk` lets a resumed run keep the chunks that are complete and belong to
the same spec. :func:`check_disk` estimates the output size before any work and refuses a sweep the
disk cannot hold.
"""

from __future__ import annotations

import io
import json
import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..errors import Il6simError
from ..fileio import atomic_write
from .spec import FORMAT, SweepSpec, jsonable

if TYPE_CHECKING:
    from .engine import SweepEngine

__all__ = ["check_disk", "check_manifest", "chunk_entries", "new_manifest", "prepare_out_dir",
           "read_complete_chunk", "write_chunk", "write_manifest"]


def chunk_entries(n_rows: int, chunk_size: int) -> list[dict[str, Any]]:
    """The manifest's chunk list: file name and row range (``start``, ``stop``) of each chunk."""
    return [{"file": f"chunk-{i:05d}.npz", "start": s, "stop": min(s + chunk_size, n_rows)}
            for i, s in enumerate(range(0, n_rows, chunk_size))]


def new_manifest(spec: SweepSpec, engine: SweepEngine, chunks: list[dict[str, Any]], n_rows: int) -> dict[str, Any]:
    """The manifest of a sweep not yet complete: spec, names, output grid, provenance and chunk list."""
    return {
        "format": FORMAT, "kind": "il6sim-sweep", "complete": False, "digest": spec.digest(),
        "spec": jsonable(spec.raw), "spec_source": spec.source,
        "factor_names": list(spec.factor_names), "label_names": list(spec.label_names),
        "factors": [{"name": f.parameter, "kind": f.kind, **({"labels": list(f.labels)} if f.labels else {})}
                    for f in spec.factors],
        "observables": list(spec.observables), "metric_names": list(spec.metric_names), "n_rows": n_rows,
        "t": engine.t.tolist(),
        "provenance": {"il6sim_version": __version__, "model": spec.network.name,
                       "network_hash": engine.cn.content_hash, "base_network_hash": spec.network.content_hash,
                       "solver": {"solver": "jit", "method": "Rodas5P", "rtol": spec.rtol, "atol": spec.atol,
                                  "max_steps": spec.max_steps}},
        "chunks": chunks,
    }


def write_manifest(out: Path, manifest: Mapping[str, Any]) -> None:
    """Write ``out/manifest.json`` atomically."""
    atomic_write(out / "manifest.json", json.dumps(manifest, indent=1).encode())


def prepare_out_dir(out: Path, manifest: Mapping[str, Any], resume: bool) -> None:
    """Create ``out``, refuse (with ``resume``) one that holds another sweep, and write the manifest.

    Temporary files left by a killed run are removed; finished chunk files are left for
    :func:`read_complete_chunk` to judge.
    """
    out.mkdir(parents=True, exist_ok=True)
    old = out / "manifest.json"
    if resume and old.is_file():
        try:
            prev = json.loads(old.read_text())
        except (OSError, ValueError):
            prev = {}
        if prev.get("digest") not in (None, manifest["digest"]):
            raise Il6simError(f"{out}: holds a different sweep (spec or model changed); "
                              "use another directory or run without resume")
    for tmp in out.glob(".chunk-*.tmp"):  # left by a killed run
        tmp.unlink(missing_ok=True)
    write_manifest(out, manifest)


def write_chunk(out: Path, entry: Mapping[str, Any], digest: str, data: Mapping[str, np.ndarray]) -> None:
    """Write one chunk's arrays (no pickle) to ``out/entry["file"]`` atomically, stamped with ``digest``."""
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, digest=np.array(digest), start=np.array(entry["start"]), **data)
    atomic_write(out / entry["file"], buf.getvalue())


def _chunk_complete(path: Path, n_rows: int, digest: str) -> bool:
    try:
        with np.load(path, allow_pickle=False) as z:
            ok = str(z["digest"]) == digest and z["status"].shape == (n_rows,)
            for k in z.files:  # read every array: a damaged file fails here, not later
                z[k]
            return bool(ok and "metrics" in z)
    except Exception:  # unreadable or truncated: recompute it
        return False


def read_complete_chunk(path: Path, n_rows: int, digest: str) -> dict[str, np.ndarray] | None:
    """A finished chunk's ``status``, ``messages``, ``metrics`` and ``labels``, or None to recompute it.

    None when the file is missing, damaged, of another spec (``digest``) or not ``n_rows`` long.
    """
    if not _chunk_complete(path, n_rows, digest):
        return None
    with np.load(path, allow_pickle=False) as z:
        return ({k: z[k] for k in ("status", "messages", "metrics", "labels") if k in z}
                | ({} if "labels" in z else {"labels": np.zeros((n_rows, 0), dtype=str)}))


def check_manifest(out: Path, manifest: dict[str, Any]) -> None:
    """Refuse a manifest whose fields are missing or of the wrong type, or whose chunks leave ``out``."""
    expect = {"chunks": list, "metric_names": list, "factor_names": list, "observables": list, "t": list,
              "digest": str}
    for key, kind in expect.items():
        if not isinstance(manifest.get(key), kind):
            raise Il6simError(f"{out}/manifest.json: key {key!r} missing or not a {kind.__name__}; "
                              "the sweep directory is damaged, rerun the sweep")
    for i, ch in enumerate(manifest["chunks"]):
        name = ch.get("file") if isinstance(ch, dict) else None
        if not isinstance(name, str) or Path(name).name != name or not name.startswith("chunk-"):
            raise Il6simError(f"{out}/manifest.json: chunks[{i}] is not a chunk entry of this directory; "
                              "the sweep directory is damaged, rerun the sweep")


def check_disk(spec: SweepSpec, out_dir: str | Path) -> int:
    """Estimated bytes of the sweep's output; raise a one-line error if the disk cannot hold them.

    >>> from il6sim.sweeps import spec_from_dict
    >>> spec = spec_from_dict({"sweep": {"days": 1, "observables": ["crp_mg_l"]}})
    >>> 0 < check_disk(spec, ".") < 100_000
    True
    """
    need = spec.n_rows * spec.bytes_per_row() + 64 * 1024 + 1024 * math.ceil(spec.n_rows / spec.chunk_size)
    where = Path(out_dir).absolute()
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    if need > free:
        key = "rows" if "rows" in spec.raw.get("sweep", {}) else None
        raise spec.error(("sweep",), key, f"too many runs for the disk: {spec.n_rows:,} rows need about "
                                          f"{_size(need)} in {out_dir}, and {_size(free)} are free "
                                          "(fewer rows, timecourses = false, a larger step or another disk)")
    return need


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} TB"  # pragma: no cover
