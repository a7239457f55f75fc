"""Finding shipped models, scenarios and drugs by name, and loading model files.

Shipped files live in the repository's ``models/`` folder (installed into the wheel as
``il6sim/_models``). A name is looked up there; anything containing a path separator or ending in
``.toml`` is taken as a path.

>>> load_model("il6").name
'il6'
"""

from __future__ import annotations

from pathlib import Path

from .errors import UnknownNameError, suggest
from .modelfile import read_model
from .network import Network

__all__ = ["DEFAULT_MODEL", "load_model", "models_dir", "resolve", "shipped_names"]

DEFAULT_MODEL = "il6"


def models_dir() -> Path:
    """The folder holding the shipped model, scenario and drug files."""
    here = Path(__file__).resolve().parent
    installed = here / "_models"
    if installed.is_dir():
        return installed
    return here.parent / "models"


def shipped_names(kind: str = "models") -> list[str]:
    """Names of shipped files: ``kind`` is ``models``, ``scenarios`` or ``drugs``."""
    base = models_dir()
    folder = base if kind == "models" else base / kind
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.toml"))


def resolve(name_or_path: str | Path, kind: str = "models") -> Path:
    """Turn a shipped name or a path into a path; unknown names suggest the nearest."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text or text.endswith(".toml") or text.endswith(".xml"):
        return Path(text)
    base = models_dir()
    folder = base if kind == "models" else base / kind
    candidate = folder / f"{text}.toml"
    if _is_file(candidate):
        return candidate
    if kind == "models" and _is_file(base / "examples" / f"{text}.toml"):
        return base / "examples" / f"{text}.toml"
    names = shipped_names(kind)
    if kind == "models":
        names += sorted(p.stem for p in (base / "examples").glob("*.toml"))
    singular = kind.rstrip("s")
    shown = text if len(text) <= 60 else text[:60] + "..."
    raise UnknownNameError(
        f"unknown {singular} '{shown}'{suggest(text, names)} (shipped: {', '.join(names) or 'none'}; or give a path to a .toml file or an SBML .xml model)"
    )


def _is_file(path: Path) -> bool:
    """``Path.is_file`` that says no (instead of raising) for names the OS refuses, e.g. too long."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def load_model(name_or_path: str | Path = DEFAULT_MODEL) -> Network:
    """Load a shipped model by name (``"il6"``) or a model file by path.

    >>> net = load_model("models/examples/binding.toml")
    >>> net.name, len(net.reactions)
    ('binding', 1)
    """
    path = resolve(name_or_path, "models")
    if path.suffix.lower() == ".xml":
        from .sbml import read_sbml  # optional extra

        return read_sbml(path)
    return read_model(path)
