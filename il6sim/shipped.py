"""Finding shipped models, scenarios and drugs by name, and loading model files.

Shipped files live in the repository's ``models/`` folder (installed into the wheel as
``il6sim/_models``). A name is looked up there; anything containing a path separator or ending in
``.toml`` is taken as a path.

>>> load_model("il6").name
'il6'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UnknownNameError, suggest
from .modelfile import read_model
from .network import Network

if TYPE_CHECKING:
    from .sbml_model import SbmlModel

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


def load_model(name_or_path: str | Path = DEFAULT_MODEL) -> Network | SbmlModel:
    """Load a shipped model by name (``"il6"``) or a model file by path.

    A ``.toml`` file or an SBML file whose kinetic laws are mass action gives a
    :class:`~il6sim.network.Network` (drugs, sweeps, the jit solver); any other SBML core model gives
    an :class:`~il6sim.sbml_model.SbmlModel`, which :func:`il6sim.simulate` integrates with its rules
    and events (see :func:`load_network` where a Network is required).

    >>> net = load_model("models/examples/binding.toml")
    >>> net.name, len(net.reactions)
    ('binding', 1)
    """
    path = resolve(name_or_path, "models")
    if path.suffix.lower() == ".xml":
        from .errors import ModelFileError
        from .sbml import SbmlDocumentError, read_sbml  # optional extra
        from .sbml_model import read_sbml_model

        try:
            return read_sbml(path)  # mass action: the compiled index-array path (drugs, sweeps, jit)
        except SbmlDocumentError:
            raise
        except ModelFileError:
            return read_sbml_model(path)  # anything else SBML core can say: the general path
    return read_model(path)


def load_network(name_or_path: str | Path = DEFAULT_MODEL) -> Network:
    """:func:`load_model`, for callers that need a mass-action :class:`~il6sim.network.Network`.

    Raises
    ------
    ModelFileError
        For an SBML model that is not mass action (rules, events, general rate laws): one line naming
        the file and the construct that kept it off the compiled path.

    >>> load_network("models/examples/binding.toml").name
    'binding'
    """
    model = load_model(name_or_path)
    if isinstance(model, Network):
        return model
    from .errors import ModelFileError
    from .sbml import read_sbml

    try:
        read_sbml(resolve(name_or_path, "models"))
    except ModelFileError as e:
        raise ModelFileError(f"{e} (this needs a mass-action model: simulate general SBML with il6sim.simulate)") \
            from None
    raise AssertionError("unreachable")  # pragma: no cover
