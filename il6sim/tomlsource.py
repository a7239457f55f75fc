"""Reading TOML data files with errors that point at file, line and key.

``tomllib`` reports syntax errors with a line number but forgets where each value came from, so
:class:`TomlSource` keeps the text and finds the line of a table or key when an error is raised.
Files are data: they are parsed, never evaluated.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelFileError, suggest

__all__ = ["TomlSource", "parse_toml_bytes", "read_toml"]

MAX_FILE_BYTES = 5_000_000


@dataclass(frozen=True)
class TomlSource:
    """A parsed TOML file with its text, for locating keys in error messages."""

    path: str
    text: str
    data: dict[str, Any]

    def line_of(self, table: Sequence[str | int], key: str | None = None) -> int | None:
        """Best-effort 1-based line of ``[table]`` (and of ``key`` inside it)."""
        lines = self.text.splitlines()
        names = [t for t in table if isinstance(t, str)]
        index = next((t for t in table if isinstance(t, int)), None)
        header_line: int | None = None
        if names:
            dotted = r"\s*\.\s*".join(_key_pattern(n) for n in names)
            if index is not None:
                pattern = re.compile(r"^\s*\[\[\s*" + dotted + r"\s*\]\]")
                hits = [i for i, ln in enumerate(lines) if pattern.match(ln)]
                if index < len(hits):
                    header_line = hits[index]
            else:
                pattern = re.compile(r"^\s*\[\s*" + dotted + r"\s*\]")
                header_line = next((i for i, ln in enumerate(lines) if pattern.match(ln)), None)
                if header_line is None and len(names) >= 2:
                    # inline form: `il6 = { ... }` inside [species], or dotted `species.il6.x = ...`
                    inline = re.compile(r"^\s*" + _key_pattern(names[-1]) + r"\s*[.=]")
                    header_line = next((i for i, ln in enumerate(lines) if inline.match(ln)), None)
        if key is None:
            return None if header_line is None else header_line + 1
        start = 0 if header_line is None else header_line
        key_re = re.compile(r"^\s*" + _key_pattern(key) + r"\s*=")
        if not names:  # a top-level key may be a table: `[key]`, `[key.sub]`, `[[key]]` or `key.sub = ...`
            key_re = re.compile(r"^\s*(?:\[\[?\s*" + _key_pattern(key) + r"\s*[\].]|" + _key_pattern(key) + r"\s*[=.])")
        for i in range(start, len(lines)):
            if i > start and lines[i].lstrip().startswith("[") and header_line is not None:
                break
            if key_re.match(lines[i]) or (header_line is not None and i == header_line
                                          and re.search(r"\b" + re.escape(key) + r"\s*=", lines[i])):
                return i + 1
        return None if header_line is None else header_line + 1

    def error(self, table: Sequence[str | int], key: str | None, message: str) -> ModelFileError:
        """Build a one-line error ``file:line: [table] key: message``."""
        line = self.line_of(table, key)
        where = self.path + (f":{line}" if line else "")
        label = _table_label(table)
        if key is not None:
            label = f"{label} {key}" if label else key
        return ModelFileError(f"{where}: {label}: {message}" if label else f"{where}: {message}")


def _key_pattern(name: str) -> str:
    esc = re.escape(name)
    return rf"(?:{esc}|\"{esc}\"|'{esc}')"


def _table_label(table: Sequence[str | int]) -> str:
    if not table:
        return ""
    names = [t for t in table if isinstance(t, str)]
    idx = [t for t in table if isinstance(t, int)]
    if idx:
        return f"[[{'.'.join(names)}]] #{idx[0] + 1}"
    return "[" + ".".join(names) + "]"


def read_toml(path: str | Path) -> TomlSource:
    """Read and parse a TOML file; every failure is a :class:`ModelFileError` naming the file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise ModelFileError(f"{p}: is a directory, expected a .toml file") from None
    except OSError as exc:
        raise ModelFileError(f"{p}: cannot read: {exc.strerror}") from None
    return parse_toml_bytes(raw, str(p))


def parse_toml_bytes(raw: bytes, path: str = "<string>") -> TomlSource:
    """Decode and parse the bytes of a TOML file; ``path`` names it in errors (as :func:`read_toml`)."""
    p = path
    if len(raw) > MAX_FILE_BYTES:
        raise ModelFileError(f"{p}: file is {len(raw)} bytes; data files over {MAX_FILE_BYTES} bytes are refused")
    if not raw.strip():
        raise ModelFileError(f"{p}: file is empty")
    if b"\x00" in raw:
        raise ModelFileError(f"{p}: binary file, expected TOML text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{p}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        if m:
            msg = msg[: m.start()].strip()
            raise ModelFileError(f"{p}:{m.group(1)}: TOML syntax error: {msg} (column {m.group(2)})") from None
        raise ModelFileError(f"{p}: TOML syntax error: {msg}") from None
    except RecursionError:  # tomllib recurses per nesting level of arrays and inline tables
        raise ModelFileError(f"{p}: arrays or inline tables nested too deeply; a data file needs a few levels") from None
    src = TomlSource(str(p), text, data)
    _check_integers(src, (), data)
    return src


_INT64 = 2**63


def _check_integers(src: TomlSource, table: tuple[str, ...], value: Any, key: str | None = None) -> None:
    """TOML integers are 64-bit; tomllib accepts any size, which later overflows float conversions."""
    if isinstance(value, dict):
        for k, v in value.items():
            inner = table if key is None else (*table, key)
            _check_integers(src, inner, v, k)
    elif isinstance(value, list):
        for v in value:
            _check_integers(src, table, v, key)
    elif isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        digits = str(value)
        raise src.error(table, key, f"integer {digits[:12]}... ({len(digits)} digits) is outside the 64-bit range "
                                    "of TOML integers; write a float such as 1e30")


def check_keys(src: TomlSource, table: Sequence[str | int], entry: dict[str, Any], allowed: Sequence[str]) -> None:
    """Refuse keys that are not in ``allowed`` (typos get a suggestion)."""
    for key in entry:
        if key not in allowed:
            raise src.error(table, key, f"unknown key '{key}'{suggest(key, allowed)} (allowed: {', '.join(allowed)})")
