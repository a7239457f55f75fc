"""Immutable, self-describing simulation results.

A :class:`Result` holds the output times (h), the species trajectories (nM), the observables in
their own units, and provenance (parameters, protocol, solver options and statistics, network
hash, il6sim version, status and message). It saves to ``.npz`` + JSON and loads back without
pickle, converts to a pandas DataFrame, writes CSV whose header says every column's unit
(:func:`csv_column`), and draws a quick look with :meth:`Result.plot`.

>>> import il6sim
>>> res = il6sim.simulate(il6sim.load_model("models/examples/binding.toml"), t_eval=[0.0, 1.0])
>>> res.time_h.tolist(), res.status
([0.0, 1.0], 'success')
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from .errors import Il6simError, UnknownNameError, suggest
from .fileio import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Result", "SteadyState", "atomic_write", "csv_column", "split_csv_column"]

FORMAT_VERSION = 1


def _unit_slug(unit: str) -> str:
    """The spelling of ``unit`` inside a snake_case name: ``pg/ml`` → ``pg_ml``, ``µg/ml`` → ``ug_ml``."""
    slug = unit.strip().lower().replace("µ", "u").replace("μ", "u")
    for sep in ("/", "*", "·", " ", "(", ")", "^"):
        slug = slug.replace(sep, "_")
    return "_".join(part for part in slug.split("_") if part)


def csv_column(name: str, unit: str) -> str:
    """The CSV header of column ``name`` in ``unit``: the name itself if it already ends with its unit.

    Names that end with their unit spelt snake_case (``time_h`` in h, ``il6_free_pg_ml`` in pg/ml,
    ``crp_mg_l`` in mg/l, ``drug_total_ug_ml`` in ug/ml) are written unchanged, so they read the same in
    the CSV and in :meth:`Result.to_dataframe`. Every other column gets its unit appended after one
    space in square brackets: ``il6 [nM]``, ``classic_signal [molecule/cell]``,
    ``mil6r_occupancy [1]`` (``1`` = dimensionless). :func:`split_csv_column` reverses this.

    Parameters
    ----------
    name : str
        Species or observable id (or ``time_h``).
    unit : str
        Its unit as in :attr:`Result.units`.

    Returns
    -------
    str
        The header text.

    Examples
    --------
    >>> csv_column("il6_free_pg_ml", "pg/ml"), csv_column("il6", "nM"), csv_column("time_h", "h")
    ('il6_free_pg_ml', 'il6 [nM]', 'time_h')
    """
    slug = _unit_slug(unit)
    if slug[:1].isalpha() and (name == slug or name.endswith("_" + slug)):
        return name
    return f"{name} [{unit}]"


def split_csv_column(header: str) -> tuple[str, str | None]:
    """Split a CSV header written by :meth:`Result.to_csv` into (name, unit).

    The unit is ``None`` for a name that carries its unit as a suffix (``il6_free_pg_ml``); the name is
    the column name of :meth:`Result.to_dataframe` and the key for indexing a :class:`Result`.

    Parameters
    ----------
    header : str
        One column header, e.g. ``"il6 [nM]"``.

    Returns
    -------
    tuple of (str, str or None)
        The name and the unit in brackets, if any.

    Examples
    --------
    >>> split_csv_column("classic_signal [molecule/cell]"), split_csv_column("crp_mg_l")
    (('classic_signal', 'molecule/cell'), ('crp_mg_l', None))

    Reading a CSV back into DataFrame columns named as in :meth:`Result.to_dataframe`:

    >>> import io, pandas as pd
    >>> df = pd.read_csv(io.StringIO("time_h,il6 [nM]\\n0.0,1.5\\n"))
    >>> list(df.rename(columns=lambda c: split_csv_column(c)[0]).columns)
    ['time_h', 'il6']
    """
    text = header.strip()
    if text.endswith("]") and " [" in text:
        name, _, unit = text[:-1].rpartition(" [")
        return name, unit
    return text, None


def _span(t: np.ndarray) -> str:
    if len(t) == 0:
        return "0 times"
    if len(t) == 1:
        return f"1 time at {t[0]:g} h"
    return f"{len(t)} times {t[0]:g}–{t[-1]:g} h"


def _listing(names: Sequence[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + (", …" if len(names) > n else "")


def _frozen(a: Any) -> np.ndarray:
    arr = np.array(a, dtype=float)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Result:
    """One simulation: times, species, observables, units and provenance.

    Index by name (``res["il6"]``, ``res["il6_free_pg_ml"]``) to get a read-only array over
    ``time_h``. ``repr()`` is a one-line summary (model, status, times, species and observables);
    in a notebook the result shows as a small table of the observables with their units and first
    and last values. :meth:`plot` draws a quick look; :meth:`to_dataframe`, :meth:`to_csv` and
    :meth:`save` export it.

    Attributes
    ----------
    time_h : numpy.ndarray
        Output times (h), shape ``(n_times,)``.
    species : tuple of str
        Species ids, in column order of ``values``.
    values : numpy.ndarray
        Concentrations (nM), shape ``(n_times, n_species)``.
    observable_ids : tuple of str
        Observable ids, in column order of ``observable_values``.
    observable_values : numpy.ndarray
        Observables in their own units, shape ``(n_times, n_observables)``.
    observable_units : tuple of str
        The unit of each observable.
    provenance : Mapping
        Model, parameters, protocol, solver options and statistics, network hash, il6sim version,
        status and message.

    Examples
    --------
    >>> import il6sim
    >>> res = il6sim.simulate(il6sim.load_model("models/examples/binding.toml"), t_eval=[0.0, 1.0, 2.0])
    >>> res
    Result('binding', success, 3 times 0–2 h, 3 species: l, r, l__r, 0 observables)
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

    # ----- display -------------------------------------------------------------------------
    def __repr__(self) -> str:
        model = self.provenance.get("model")
        head = [repr(str(model))] if model else []
        head.append(self.status)
        head.append(_span(self.time_h))
        if self.observable_ids:
            head.append(f"{len(self.species)} species")
            head.append(f"{len(self.observable_ids)} observables: {_listing(self.observable_ids)}")
        else:
            head.append(f"{len(self.species)} species: {_listing(self.species)}")
            head.append("0 observables")
        text = f"Result({', '.join(head)})"
        if not self.success and self.message:
            message = _one_line(self.message)
            text += "\n  message: " + (message if len(message) <= 100 else message[:99] + "…")
        return text

    def _repr_html_(self) -> str:
        """A small HTML table for notebooks: the summary, then each observable's unit, first and last value."""
        esc = html.escape
        model = self.provenance.get("model")
        summary = ", ".join([*([f"<b>{esc(str(model))}</b>"] if model else []), esc(self.status),
                             esc(_span(self.time_h)), f"{len(self.species)} species",
                             f"{len(self.observable_ids)} observables"])
        names = list(self.observable_ids) or list(self.species)
        shown = names[:40]
        rows = []
        for n in shown:
            first = last = ""
            if len(self.time_h):
                first, last = f"{self[n][0]:.4g}", f"{self[n][-1]:.4g}"
            rows.append(f"<tr><td style='text-align:left'><code>{esc(n)}</code></td><td>{esc(self.units[n])}</td>"
                        f"<td>{first}</td><td>{last}</td></tr>")
        if len(names) > len(shown):
            rows.append(f"<tr><td colspan='4' style='text-align:left'>… {len(names) - len(shown)} more</td></tr>")
        message = "" if self.success else f"<br>{esc(_one_line(self.message))}"
        t0 = f"at {self.time_h[0]:g} h" if len(self.time_h) else "first"
        t1 = f"at {self.time_h[-1]:g} h" if len(self.time_h) else "last"
        kind = "observable" if self.observable_ids else "species"
        return ("<table>"
                f"<caption style='text-align:left'>Result: {summary}{message}</caption>"
                f"<thead><tr><th style='text-align:left'>{kind}</th><th>unit</th><th>{t0}</th>"
                f"<th>{t1}</th></tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")

    # ----- access --------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """``"success"`` or ``"failed"`` (from the provenance)."""
        return str(self.provenance.get("status", "success"))

    @property
    def message(self) -> str:
        """The solver's message (why a run failed, or a warning about a successful one)."""
        return str(self.provenance.get("message", ""))

    @property
    def success(self) -> bool:
        """True when the status is ``"success"``."""
        return self.status == "success"

    @property
    def names(self) -> tuple[str, ...]:
        """Species ids then observable ids, every name this result can be indexed by (besides ``time_h``)."""
        return self.species + self.observable_ids

    @property
    def units(self) -> dict[str, str]:
        """Unit of every name (species in nM, observables in their own unit, time in h)."""
        out = {"time_h": "h"}
        out.update(dict.fromkeys(self.species, str(self.provenance.get("species_unit", "nM"))))
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

        Columns are named by the bare ids (``df["il6"]``, ``df["il6_free_pg_ml"]``), and their units
        are in ``df.attrs["units"]``; only the header :meth:`to_csv` writes carries the units.

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

    def to_csv(self, path: str | Path | None = None, columns: Sequence[str] | None = None, *,
               units: bool = True) -> str:
        """Write (or return, if ``path`` is None) a CSV with ``time_h`` first; written atomically.

        Every header says its unit (:func:`csv_column`): names that end with their unit stay as they
        are (``time_h``, ``il6_free_pg_ml``, ``crp_mg_l``), the others get it in brackets
        (``il6 [nM]``, ``classic_signal [molecule/cell]``). So the header differs from the
        :meth:`to_dataframe` column names only for those; :func:`split_csv_column` maps it back.

        Parameters
        ----------
        path : str or Path, optional
            File to write; ``None`` only returns the text.
        columns : sequence of str, optional
            Species and observables to write, in order (default: all species, then all observables).
        units : bool, default True
            ``False`` writes the bare names, as in :meth:`to_dataframe`.

        Returns
        -------
        str
            The CSV text.

        Examples
        --------
        >>> import il6sim
        >>> res = il6sim.simulate(il6sim.load_model("models/examples/binding.toml"), t_eval=[0, 2])
        >>> res.to_csv().splitlines()[0]
        'time_h,l [nM],r [nM],l__r [nM]'
        """
        cols = [c for c in (list(self.names) if columns is None else list(columns)) if c != "time_h"]
        for c in cols:
            self[c]  # raises for unknown names before anything is written
        all_units = self.units
        header = ["time_h", *cols]
        lines = [",".join(csv_column(c, all_units[c]) if units else c for c in header)]
        data = np.column_stack([self.time_h] + [self[c] for c in cols]) if cols else self.time_h[:, None]
        for row in data:
            lines.append(",".join(_fmt(x) for x in row))
        text = "\n".join(lines) + "\n"
        if path is not None:
            atomic_write(path, text.encode())
        return text

    # ----- quick look ----------------------------------------------------------------------
    def plot(self, *names: str, ax: Any = None, logy: bool = False) -> Any:
        """Draw a quick look at observables or species over time; returns the Axes (or a Figure).

        One line per name, labelled with it in the legend. The x axis is in days when the time span
        is over 72 h, otherwise in hours; each y axis is labelled with its unit. Names of different
        units go on separate axes stacked in one figure (one per unit, in order of first
        appearance), and then the Figure is returned instead of an Axes.

        Parameters
        ----------
        *names : str
            Observables or species to draw (default: every observable; every species if the model
            has none).
        ax : matplotlib.axes.Axes, optional
            Draw into this Axes; every name must then have the same unit. By default a new pyplot
            figure is made (so it shows in notebooks and with ``plt.show()``).
        logy : bool, default False
            Logarithmic y axis (or axes).

        Returns
        -------
        matplotlib.axes.Axes or matplotlib.figure.Figure
            The Axes when all names share a unit, else the Figure holding one Axes per unit.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import il6sim
        >>> res = il6sim.simulate(il6sim.load_model("models/examples/binding.toml"), t_eval=[0, 1, 2])
        >>> ax = res.plot("l", "l__r")
        >>> ax.get_ylabel(), [line.get_label() for line in ax.get_lines()]
        ('concentration (nM)', ['l', 'l__r'])
        >>> import matplotlib.pyplot as plt; plt.close("all")
        """
        chosen = list(names) or list(self.observable_ids) or list(self.species)
        if not chosen:
            raise Il6simError("nothing to plot: this result has no species and no observables")
        for n in chosen:
            if n == "time_h":
                raise Il6simError("time_h is the x axis; name species or observables to plot against it")
            self[n]  # unknown names raise here, with suggestions
        units = self.units
        groups: dict[str, list[str]] = {}
        for n in chosen:
            groups.setdefault(units[n], []).append(n)
        if ax is not None and len(groups) > 1:
            listing = "; ".join(f"{u}: {', '.join(ns)}" for u, ns in groups.items())
            raise Il6simError(f"cannot draw several units on one Axes ({listing}); pass names of one unit, "
                              "or leave ax=None for one Axes per unit")
        in_days = len(self.time_h) > 1 and float(self.time_h[-1] - self.time_h[0]) > 72.0
        x = self.time_h / 24.0 if in_days else self.time_h
        if ax is None:
            import matplotlib.pyplot as plt

            fig, axes_arr = plt.subplots(len(groups), 1, sharex=True, squeeze=False,
                                         figsize=(6.4, 2.2 + 2.6 * len(groups)), layout="constrained")
            axes = list(axes_arr[:, 0])
        else:
            fig, axes = ax.figure, [ax]
        for axis, (unit, members) in zip(axes, groups.items()):
            for n in members:
                axis.plot(x, self[n], label=n)
            kind = members[0] if len(members) == 1 else {"nM": "concentration", "1": "fraction"}.get(unit, "")
            axis.set_ylabel(f"{kind} ({unit})" if kind else unit)
            if logy:
                axis.set_yscale("log")
            axis.legend(loc="best", fontsize="small")
        axes[-1].set_xlabel("time (d)" if in_days else "time (h)")
        model = self.provenance.get("model")
        if model:
            axes[0].set_title(str(model) + ("" if self.success else f" ({self.status})"))
        return axes[0] if len(axes) == 1 else fig

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
        """Concentrations (nM) as a species → value dict."""
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


