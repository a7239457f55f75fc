"""PEtab v1 files as plain data: the problem YAML and the four TSV tables, with locations for errors.

Each table is read into :class:`Table` (column names, rows as dicts of strings, and the file line of
each row), so every later error can name the file, the row and the column. Nothing here interprets
the contents beyond the format: :mod:`il6sim.estimate.problem` does that.

>>> t = read_table_text("a\\tb\\n1\\t\\n", "x.tsv", required=("a",))
>>> t.rows, t.lines
([{'a': '1', 'b': ''}], [2])
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Il6simError

__all__ = ["PetabError", "ProblemFiles", "Table", "number", "read_problem_yaml", "read_table", "read_table_text"]

_MAX_BYTES = 200 * 1024 * 1024


class PetabError(Il6simError, ValueError):
    """A PEtab problem that cannot be used as written: one line naming the file, row and column."""


@dataclass(frozen=True)
class Table:
    """One TSV table: its path, column names, rows (column → cell text) and each row's file line."""

    path: str
    columns: tuple[str, ...]
    rows: list[dict[str, str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def where(self, i: int, column: str | None = None) -> str:
        """``file:line`` (and ``column``) of row ``i``, for error messages."""
        return f"{self.path}:{self.lines[i]}" + (f" column {column}" if column else "")

    def has(self, column: str) -> bool:
        return column in self.columns


def read_table_text(text: str, path: str, *, required: Sequence[str] = ()) -> Table:
    """Parse TSV text (first line: header) into a :class:`Table`; check required columns."""
    reader = csv.reader(io.StringIO(text), delimiter="\t")
    try:
        header = next(reader)
    except StopIteration:
        raise PetabError(f"{path}: the file is empty; a PEtab table starts with a header line") from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise PetabError(f"{path}:1: column {dup[0]!r} appears twice in the header")
    missing = [c for c in required if c not in header]
    if missing:
        raise PetabError(f"{path}:1: missing column {missing[0]!r} (required: {', '.join(required)}); "
                         f"the header has {', '.join(header) or 'nothing'}")
    rows, lines = [], []
    for line_no, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise PetabError(f"{path}:{line_no}: {len(cells)} cells but {len(header)} columns in the header "
                             "(a stray tab?)")
        cells = cells + [""] * (len(header) - len(cells))
        rows.append({h: c.strip() for h, c in zip(header, cells)})
        lines.append(line_no)
    return Table(path, tuple(header), rows, lines)


def read_table(path: str | Path, *, required: Sequence[str] = ()) -> Table:
    """Read a PEtab TSV table from ``path``."""
    p = Path(path)
    try:
        if p.stat().st_size > _MAX_BYTES:
            raise PetabError(f"{p}: larger than {_MAX_BYTES // 2**20} MiB; not a PEtab table il6sim will read")
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PetabError(f"{p}: no such file (named in the problem YAML)") from None
    except UnicodeDecodeError as exc:
        raise PetabError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise PetabError(f"{p}: cannot read: {exc.strerror}") from None
    return read_table_text(text, str(p), required=required)


def number(text: str, where: str, *, allow_inf: bool = False) -> float:
    """A finite number from a table cell (``inf`` only where allowed), or a one-line error."""
    try:
        x = float(text)
    except ValueError:
        raise PetabError(f"{where}: {text!r} is not a number") from None
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        raise PetabError(f"{where}: {text!r} must be a finite number")
    return x


@dataclass(frozen=True)
class ProblemFiles:
    """The files a PEtab v1 problem YAML names, resolved against the YAML's folder."""

    yaml: str
    parameter_file: str
    model_files: tuple[str, ...]
    condition_files: tuple[str, ...]
    measurement_files: tuple[str, ...]
    observable_files: tuple[str, ...]
    extension: dict[str, Any] = field(default_factory=dict)


def read_problem_yaml(path: str | Path) -> ProblemFiles:
    """Read a PEtab v1 problem YAML (one problem entry) with PyYAML's safe loader."""
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PetabError(f"{p}: no such file; give the path of a PEtab problem YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise PetabError(f"{p}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PetabError(f"{p}: cannot read: {exc}") from None
    if not isinstance(data, dict):
        raise PetabError(f"{p}: a PEtab problem YAML is a mapping with format_version, parameter_file and problems")
    version = str(data.get("format_version", ""))
    if version not in ("1", "1.0", "1.0.0"):
        raise PetabError(f"{p}: format_version {version or '(missing)'}: il6sim reads PEtab version 1 problems")
    problems = data.get("problems")
    if not isinstance(problems, list) or len(problems) != 1 or not isinstance(problems[0], dict):
        raise PetabError(f"{p}: 'problems' must hold exactly one problem (il6sim reads one model per problem)")
    base = p.parent
    entry = problems[0]

    def files(key: str, *, required: bool = True) -> tuple[str, ...]:
        value = entry.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PetabError(f"{p}: problems[0].{key} must be a list of file names")
        if required and not value:
            raise PetabError(f"{p}: problems[0].{key} is missing; a PEtab problem names at least one")
        return tuple(str(base / v) for v in value)

    param = data.get("parameter_file")
    if isinstance(param, list) and len(param) == 1:
        param = param[0]
    if not isinstance(param, str):
        raise PetabError(f"{p}: parameter_file must name one parameter table")
    models = files("sbml_files", required=False) + files("il6sim_models", required=False)
    if len(models) != 1:
        raise PetabError(f"{p}: name exactly one model (sbml_files, or il6sim_models for an il6sim TOML model); "
                         f"found {len(models)}")
    ext = entry.get("il6sim", {}) or {}
    if not isinstance(ext, dict):
        raise PetabError(f"{p}: problems[0].il6sim must be a mapping (the il6sim extension)")
    return ProblemFiles(str(p), str(base / param), models, files("condition_files"), files("measurement_files"),
                        files("observable_files"), dict(ext))
