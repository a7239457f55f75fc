"""Exception classes.

Every error a user can cause derives from :class:`Il6simError` and from the builtin exception a
caller would naturally catch (``ValueError``, ``LookupError``, ``RuntimeError``). Messages are one
line: what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "Il6simError",
    "ModelFileError",
    "NetworkError",
    "ProtocolError",
    "SolverError",
    "UnitError",
    "UnknownNameError",
    "suggest",
]


class Il6simError(Exception):
    """Base class of every error il6sim raises on purpose."""


class UnitError(Il6simError, ValueError):
    """A unit could not be parsed or does not fit the quantity."""


class NetworkError(Il6simError, ValueError):
    """A network is inconsistent (duplicate ids, unknown references, bad stoichiometry)."""


class ModelFileError(Il6simError, ValueError):
    """A model, drug or scenario file is malformed; the message names file, line and key."""


class UnknownNameError(Il6simError, LookupError):
    """A species, parameter, model, scenario or drug name does not exist."""

    def __str__(self) -> str:  # LookupError would repr() a lone argument; keep the plain message
        return str(self.args[0]) if self.args else ""


class ProtocolError(Il6simError, ValueError):
    """A dosing or stimulus protocol is invalid (negative time, unknown target, ...)."""


class SolverError(Il6simError, RuntimeError):
    """The integrator or the steady-state solver failed."""


def suggest(name: str, valid: Iterable[str], n: int = 3) -> str:
    """Return a ``"; did you mean 'a', 'b'?"`` hint with the closest valid names, or ``""``."""
    valid = list(valid)
    close = difflib.get_close_matches(name, valid, n=n, cutoff=0.6)
    if not close:
        lowered = {v.lower(): v for v in valid}
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), lowered, n=n, cutoff=0.5)]
    if close:
        return "; did you mean " + ", ".join(f"'{c}'" for c in close) + "?"
    return ""
