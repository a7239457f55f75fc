"""Immutable, self-describing simulation results.

A :class:`Result` holds the output times (h), the species trajectories (nM), the observables in
their own units, and provenance (parameters, protocol, solver options and statistics, network
hash, il6sim version, status and message). It saves to ``.npz`` + JSON and loads back without
pickle.

>>> import il6sim
>>> res = il6sim.simulate(il6sim.load_model("models/examples/binding.toml"), t_eval=[0.0, 1.0])
>>> res.time_h.tolist(), res.status
([0.0, 1.0], 'success')
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from .errors import Il6simError, UnknownNameError, suggest

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Result", "SteadyState", "atomic_write"]

FORMAT_VERSION = 1


def _frozen(a: Any) -> np.ndarray:
    arr = np.array(a, dtype=float)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Result:
    """One simulation: times, species, observables, units and provenance.

    Index by name (``res["il6"]``, ``res["il6_free_pg_ml"]``) to get a read-only array over
    ``time_h``.
    """

    time_h: np.ndarray
    species: tuple[str, ...]
    values: np.ndarray
    observable_ids: tuple[str, ...] = ()
    observable_values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    observable_units: tuple[str, ...] = ()
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "time_h", _frozen(self.time_h))
        object.__setattr__(self, "values", _frozen(self.values).reshape(len(self.time_h), len(self.species)))
        obs = _frozen(self.observable_values).reshape(len(self.time_h), len(self.observable_ids))
        object.__setattr__(self, "observable_values", obs)

    # ----- access --------------------------------------------------------------------------
    @property
    def status(self) -> str:
        return str(self.provenance.get("status", "success"))

    @property
    def message(self) -> str:
        return str(self.provenance.get("message", ""))

    @property
    def success(self) -> bool:
        return self.status == "success"

    @property
    def names(self) -> tuple[str, ...]:
        return self.species + self.observable_ids

    @property
    def units(self) -> dict[str, str]:
        """Unit of every name: species in nM, observables in their own unit, time in h."""
        out = {"time_h": "h"}
        out.update({s: "nM" for s in self.species})
        out.update(dict(zip(self.observable_ids, self.observable_units)))
        return out

    def __getitem__(self, name: str) -> np.ndarray:
        if name == "time_h":
            return self.time_h
        if name in self.observable_ids:
            return self.observable_values[:, self.observable_ids.index(name)]
        if name in self.species:
            return self.values[:, self.species.index(name)]
        raise UnknownNameError(f"no species or observable '{name}' in this result{suggest(name, self.names)}")

    def __contains__(self, name: object) -> bool:
        return name == "time_h" or name in self.names

    def final(self) -> dict[str, float]:
        """The last row as a name → value dict."""
        return {n: float(self[n][-1]) for n in self.names}

    # ----- conversion ----------------------------------------------------------------------
    def to_dataframe(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A DataFrame with a ``time_h`` column and one column per species and observable.

        >>> import il6sim
        >>> res = il6sim.simulate(il6sim.load_model("models/examples/binding.toml"), t_eval=[0, 2])
        >>> list(res.to_dataframe().columns)
        ['time_h', 'l', 'r', 'l__r']
        """
        import pandas as pd

        cols = list(self.names) if columns is None else list(columns)
        data = {"time_h": self.time_h}
        data.update({c: self[c] for c in cols if c != "time_h"})
        df = pd.DataFrame(data)
        df.attrs["units"] = {c: self.units[c] for c in df.columns}
        return df

    def to_csv(self, path: str | Path | None = None, columns: Sequence[str] | None = None) -> str:
        """Write (or return, if ``path`` is None) a CSV with ``time_h`` first; written atomically."""
        cols = [c for c in (list(self.names) if columns is None else list(columns)) if c != "time_h"]
        for c in cols:
            self[c]  # raises for unknown names before anything is written
        lines = [",".join(["time_h", *cols])]
        data = np.column_stack([self.time_h] + [self[c] for c in cols]) if cols else self.time_h[:, None]
        for row in data:
            lines.append(",".join(_fmt(x) for x in row))
        text = "\n".join(lines) + "\n"
        if path is not None:
            atomic_write(path, text.encode())
        return text

    # ----- persistence ---------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Save to ``.npz`` (arrays) with JSON metadata; load with :meth:`load`. No pickle."""
        meta = {
            "format": "il6sim.Result",
            "format_version": FORMAT_VERSION,
            "species": list(self.species),
            "observable_ids": list(self.observable_ids),
            "observable_units": list(self.observable_units),
            "provenance": self.provenance,
        }
        import io

        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            time_h=np.asarray(self.time_h),
            values=np.asarray(self.values),
            observable_values=np.asarray(self.observable_values),
            meta=np.array(json.dumps(meta, default=_json_default)),
        )
        atomic_write(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path | BinaryIO) -> Result:
        """Load a result written by :meth:`save` (``allow_pickle=False``).

        Anything else (not a zip, a truncated or corrupt archive, object arrays that would need
        pickle, missing or mistyped metadata, arrays of the wrong shape) is an :class:`Il6simError`
        naming the file.
        """
        import zipfile
        import zlib

        def bad(why: str) -> Il6simError:
            return Il6simError(f"{path}: cannot read result file: {why}; expected a file written by Result.save")

        try:
            # open the file here: np.load leaks its handle when the archive turns out to be corrupt
            with (nullcontext(path) if hasattr(path, "read") else open(path, "rb")) as fh:  # type: ignore[arg-type]
                loaded = np.load(fh, allow_pickle=False)
                if not hasattr(loaded, "files"):  # a bare .npy array
                    raise bad("not an .npz archive")
                with loaded as z:
                    missing = [k for k in ("time_h", "values", "observable_values", "meta") if k not in z.files]
                    if missing:
                        raise bad(f"missing array(s) {', '.join(missing)}")
                    arrays = {k: z[k] for k in ("time_h", "values", "observable_values")}
                    meta_arr = z["meta"]
        except Il6simError:
            raise
        # what a corrupt or foreign archive raises (zipfile raises NotImplementedError for an unsupported
        # compression method): all of it means "not a readable result file"
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
                RuntimeError, UnicodeDecodeError) as exc:
            raise bad(_one_line(f"{type(exc).__name__}: {exc}")) from None
        if meta_arr.shape != () or meta_arr.dtype.kind != "U":
            raise bad("metadata is not a JSON string")
        try:
            meta = json.loads(str(meta_arr))
        except (ValueError, RecursionError) as exc:
            raise bad(f"metadata is not valid JSON ({type(exc).__name__})") from None
        if not isinstance(meta, dict) or meta.get("format") != "il6sim.Result":
            raise Il6simError(f"{path}: not an il6sim result file")
        names = {}
        for key in ("species", "observable_ids", "observable_units"):
            value = meta.get(key)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad(f"metadata '{key}' must be a list of strings")
            names[key] = tuple(value)
        provenance = meta.get("provenance", {})
        if not isinstance(provenance, dict):
            raise bad("metadata 'provenance' must be a table")
        for key, arr in arrays.items():
            if arr.dtype.kind not in "fiu":
                raise bad(f"array '{key}' holds {arr.dtype} values, expected numbers")
        t, values, obs = arrays["time_h"], arrays["values"], arrays["observable_values"]
        n_t = t.shape[0] if t.ndim == 1 else -1
        if (n_t < 0 or values.size != n_t * len(names["species"])
                or obs.size != n_t * len(names["observable_ids"])
                or len(names["observable_units"]) != len(names["observable_ids"])):
            raise bad("array shapes do not match the species and observables named in the metadata")
        return cls(time_h=t, species=names["species"], values=values, observable_ids=names["observable_ids"],
                   observable_values=obs, observable_units=names["observable_units"], provenance=provenance)


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True, eq=False)
class SteadyState:
    """A steady state: concentrations (nM) by species, with the residual and how it was found."""

    species: tuple[str, ...]
    values: np.ndarray
    converged: bool
    residual: float
    method: str
    observable_ids: tuple[str, ...] = ()
    observable_values: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __getitem__(self, name: str) -> float:
        if name in self.species:
            return float(self.values[self.species.index(name)])
        if name in self.observable_ids:
            return float(self.observable_values[self.observable_ids.index(name)])
        raise UnknownNameError(f"no species or observable '{name}'{suggest(name, self.species + self.observable_ids)}")

    def as_dict(self) -> dict[str, float]:
        return {s: float(v) for s, v in zip(self.species, self.values)}

    def __repr__(self) -> str:
        return f"SteadyState(converged={self.converged}, residual={self.residual:.2e}, method={self.method!r}, n={len(self.species)})"


def _fmt(x: float) -> str:
    return repr(float(x)) if np.isfinite(x) else ("nan" if np.isnan(x) else ("inf" if x > 0 else "-inf"))


def _json_default(obj: object) -> object:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    return str(obj)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half-written."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise Il6simError(f"{target}: directory '{directory}' does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise Il6simError(f"{target}: cannot write here: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the mode a plain open() would
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise Il6simError(f"{target}: cannot write: {exc.strerror}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
