"""The outcome of a sweep: :class:`SweepResult`, and :func:`load_sweep` to read one back from disk.

A :class:`SweepResult` holds per-row factor values and level labels, status codes, messages and
metrics in memory; time courses stay in the chunk files and are read on demand. It converts to a
pandas table (wide or long), a labelled ``xarray.Dataset`` or a netCDF file. :func:`load_sweep`
reads a finished sweep directory back without pickle, refusing damaged or unfinished ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Il6simError
from .store import check_manifest

__all__ = ["SweepResult", "load_sweep"]


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Per-row factor values and labels, status, messages and metrics of a sweep (time courses on demand).

    Attributes
    ----------
    parameters : (n_rows, n_factors) factor values in core units (level factors: the level index);
        columns ``factor_names``.
    status : (n_rows,) int, 0 = success (see :mod:`il6sim.sweeps` for the codes).
    messages : (n_rows,) str.
    metrics : name (``metric:observable``) → (n_rows,) float, NaN for failed rows.
    time_h : (n_t,) output times, h.
    labels : level factor name (``drug``, ``dose``, ``scenario``, a variant id, …) → (n_rows,) str.
    """

    factor_names: tuple[str, ...]
    parameters: np.ndarray
    status: np.ndarray
    messages: np.ndarray
    metrics: dict[str, np.ndarray]
    time_h: np.ndarray
    observables: tuple[str, ...]
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)
    out_dir: Path | None = None
    _timecourses: np.ndarray | None = field(default=None, repr=False)
    labels: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        return self.status == 0

    @property
    def values(self) -> np.ndarray:
        """The design matrix (same as ``parameters``)."""
        return self.parameters

    def metric(self, name: str) -> np.ndarray:
        """One metric column by name; short spellings find their canonical column
        (``"inhibition:trans_signal"`` is ``"inhibition[dose:end]:trans_signal"``)."""
        from ..errors import UnknownNameError, suggest
        from ..readouts import ReadoutError, canonical_name

        if name in self.metrics:
            return self.metrics[name]
        try:
            key = canonical_name(name)
        except ReadoutError:
            key = name
        if key not in self.metrics:
            raise UnknownNameError(f"no metric '{name}' in this sweep{suggest(key, tuple(self.metrics))}; "
                                   f"it has {', '.join(self.metrics)}")
        return self.metrics[key]

    def timecourses(self, rows: slice | Sequence[int] | None = None) -> np.ndarray:
        """Observable time courses (n_rows, n_t, n_observables), read from the chunks if on disk."""
        if self._timecourses is not None:
            tc = self._timecourses
        elif self.out_dir is not None:
            parts = []
            for ch in self.manifest["chunks"]:
                with np.load(self.out_dir / ch["file"], allow_pickle=False) as z:
                    if "timecourses" not in z:
                        raise Il6simError(f"{self.out_dir}: this sweep was run with timecourses = false")
                    parts.append(z["timecourses"])
            tc = np.concatenate(parts)
        else:
            raise Il6simError("this sweep kept no time courses (timecourses = false)")
        return tc if rows is None else tc[rows]

    def _factor_columns(self) -> dict[str, Any]:
        cols: dict[str, Any] = {}
        for j, name in enumerate(self.factor_names):
            cols[name] = self.labels[name] if name in self.labels else self.parameters[:, j]
        return cols

    def to_dataframe(self, long: bool = False) -> Any:
        """A table of the results (pandas).

        ``long=False``: one row per run: ``row``, the factors (level factors as their labels),
        ``status``, ``message``, then one column per metric. ``long=True``: one row per run and
        metric, with columns ``row``, factors, ``status``, ``message``, ``metric``, ``observable``,
        ``value`` (the long/tidy form for grouping and plotting).
        """
        import pandas as pd

        cols: dict[str, Any] = {"row": np.arange(len(self.status)), **self._factor_columns()}
        cols["status"] = self.status
        cols["message"] = self.messages
        if not long:
            cols.update(self.metrics)
            return pd.DataFrame(cols)
        base = pd.DataFrame(cols)
        parts = []
        for name, values in self.metrics.items():
            metric, obs = name.rsplit(":", 1)  # observable ids hold no ':'; metric names may
            part = base.copy()
            part["metric"], part["observable"], part["value"] = metric, obs, values
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def to_xarray(self, timecourses: bool = False) -> Any:
        """A labelled ``xarray.Dataset`` over dimension ``row`` (needs xarray: ``pip install il6sim[dist]``).

        Factor columns (labels for level factors), ``status`` and ``message`` are coordinates; every
        metric is a variable; with ``timecourses=True`` each observable is a (row, time_h) variable.
        """
        try:
            import xarray as xr
        except ImportError:
            raise Il6simError("to_xarray needs xarray: pip install 'il6sim[dist]' (or xarray)") from None
        coords: dict[str, Any] = {"row": np.arange(len(self.status))}
        for name, col in self._factor_columns().items():
            coords[name] = ("row", np.asarray(col))
        coords["status"] = ("row", self.status)
        coords["message"] = ("row", np.asarray(self.messages, dtype=str))
        data: dict[str, Any] = {name: ("row", v) for name, v in self.metrics.items()}
        if timecourses:
            coords["time_h"] = self.time_h
            tc = self.timecourses()
            for j, o in enumerate(self.observables):
                data[o] = (("row", "time_h"), tc[:, :, j])
        prov = {k: json.dumps(v) for k, v in self.manifest.items() if k in ("provenance", "spec", "digest")}
        return xr.Dataset(data, coords=coords, attrs=prov)


    def to_netcdf(self, path: str | Path, timecourses: bool = False) -> Path:
        """Write :meth:`to_xarray` as one netCDF file (netCDF3 through scipy: no extra C library).

        The file is written next to ``path`` and renamed into place, so it is never half-written;
        read it back with ``xarray.open_dataset(path)``. Needs xarray (``pip install il6sim[dist]``).
        """
        import os
        import tempfile

        target = Path(path)
        ds = self.to_xarray(timecourses=timecourses)
        directory = target.parent if str(target.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        except OSError as exc:
            raise Il6simError(f"{target}: cannot write here: {exc.strerror}") from None
        os.close(fd)
        try:
            ds.to_netcdf(tmp, engine="scipy")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target


def load_sweep(out_dir: str | Path) -> SweepResult:
    """Read a finished sweep back from its directory (no pickle; time courses stay on disk).

    >>> load_sweep("no/such/dir")
    Traceback (most recent call last):
    ...
    il6sim.errors.Il6simError: no/such/dir: no manifest.json here; is this a sweep directory?
    """
    out = Path(out_dir)
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except FileNotFoundError:
        raise Il6simError(f"{out}: no manifest.json here; is this a sweep directory?") from None
    except ValueError as exc:
        raise Il6simError(f"{out}/manifest.json: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "il6sim-sweep":
        raise Il6simError(f"{out}/manifest.json: not an il6sim sweep manifest")
    if not manifest.get("complete"):
        raise Il6simError(f"{out}: the sweep did not finish; run it again with resume to complete it")
    check_manifest(out, manifest)
    parts: dict[str, list[np.ndarray]] = {"values": [], "status": [], "messages": [], "metrics": [], "labels": []}
    for ch in manifest["chunks"]:
        try:
            with np.load(out / ch["file"], allow_pickle=False) as z:
                if str(z["digest"]) != manifest["digest"]:
                    raise Il6simError(f"{out / ch['file']}: belongs to another sweep; rerun with resume")
                for k in parts:
                    parts[k].append(z[k] if k in z else np.zeros((len(z["status"]), 0), dtype=str))
        except (OSError, ValueError, KeyError) as exc:
            raise Il6simError(f"{out / ch['file']}: unreadable chunk ({exc}); rerun the sweep with resume") from None
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    names = manifest["metric_names"]
    label_names = manifest.get("label_names", [])
    n = len(cat["status"])
    return SweepResult(tuple(manifest["factor_names"]), cat["values"].reshape(n, -1),
                       cat["status"], cat["messages"], {m: cat["metrics"][:, j] for j, m in enumerate(names)},
                       np.array(manifest["t"]), tuple(manifest["observables"]), manifest, out, None,
                       {m: cat["labels"].reshape(n, -1)[:, j] for j, m in enumerate(label_names)})
