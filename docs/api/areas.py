"""Which page of the API reference shows each public name (no Sphinx needed: the tests import it too).

A name in ``il6sim.__all__`` goes on the page of the module it is defined in (``obj.__module__``;
data such as ``SOLVERS`` are looked up in the modules below). A new public name therefore lands on a
page without editing the pages; a name from a module no page claims makes
``tests/test_docs.py::test_every_public_name_has_a_page`` fail, so add its module here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from typing import Any

#: page → (title, modules whose names in ``il6sim.__all__`` the page shows as ``il6sim.NAME``)
AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "models": ("Models and networks",
               ("il6sim.shipped", "il6sim.modelfile", "il6sim.network", "il6sim.compiled", "il6sim.lowering",
                "il6sim.modelcard", "il6sim.tomlsource")),
    "drugs": ("Drugs, scenarios and dosing",
              ("il6sim.drugs", "il6sim.scenario", "il6sim.regimen", "il6sim.protocol")),
    "simulation": ("Simulation and results",
                   ("il6sim.solve", "il6sim.results", "il6sim._jitsolve", "il6sim.batch", "il6sim.compare")),
    "readouts": ("Readouts", ("il6sim.readouts",)),
    "sweeps": ("Sweeps, sensitivity and target attainment", ("il6sim.sweeps", "il6sim.sensitivity", "il6sim.target",
                                                           "il6sim.stratify")),
    "sbml": ("SBML", ("il6sim.sbml", "il6sim.sbml_export", "il6sim.sbml_model", "il6sim.sbml_simulate", "il6sim.sbml_native")),
    "estimation": ("Estimation (PEtab)", ("il6sim.estimate", "il6sim.petab", "il6sim.calibration",
                                          "il6sim.validation", "il6sim.bands")),
    "figures": ("Figures", ("il6sim.figures", "il6sim.gallery", "il6sim.analysis")),
    "errors": ("Units and errors", ("il6sim.units", "il6sim.errors")),
}

#: page → modules documented in full on it (module docstring and the module's own ``__all__``),
#: less the names already shown as ``il6sim.NAME``
MODULE_SECTIONS: dict[str, tuple[str, ...]] = {
    "drugs": ("il6sim.drugs", "il6sim.scenario", "il6sim.regimen", "il6sim.protocol"),
    "simulation": ("il6sim.results",),
    "readouts": ("il6sim.readouts",),
    "sweeps": ("il6sim.sweeps", "il6sim.sensitivity", "il6sim.target", "il6sim.stratify"),
    "sbml": ("il6sim.sbml", "il6sim.sbml_export", "il6sim.sbml_model", "il6sim.sbml_simulate", "il6sim.sbml_native"),
    "estimation": ("il6sim.estimate.problem", "il6sim.estimate.objective",
                   "il6sim.estimate.fit", "il6sim.estimate.profile", "il6sim.expr",
                   "il6sim.estimate.tables", "il6sim.estimate.export", "il6sim.calibration",
                   "il6sim.validation", "il6sim.bands"),
    "figures": ("il6sim.figures",),
    "errors": ("il6sim.units",),
}

#: names the index page describes in its text rather than as an entry
ON_INDEX = ("__version__",)


def _in(module: str, root: str) -> bool:
    return module == root or module.startswith(root + ".")


def home_module(name: str) -> str | None:
    """The module ``il6sim.NAME`` is defined in (for data: the first area module holding the same object)."""
    import il6sim

    obj = getattr(il6sim, name)
    if inspect.ismodule(obj):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    if isinstance(module, str) and module.startswith("il6sim") and (inspect.isclass(obj) or callable(obj)):
        return module
    for _, modules in AREAS.values():
        for mod_name in modules:
            try:
                mod = importlib.import_module(mod_name)
            except ImportError:
                continue
            if getattr(mod, name, None) is obj:
                return mod_name
    return None


def page_of(name: str) -> str | None:
    """The page that documents ``il6sim.NAME``, or None if no page claims its module."""
    if name in ON_INDEX:
        return "index"
    home = home_module(name)
    if home is None:
        return None
    for page, (_, modules) in AREAS.items():
        if any(_in(home, m) for m in modules):
            return page
    return None


def names_on(page: str) -> list[str]:
    """The names of ``il6sim.__all__`` shown on ``page``, in ``__all__`` order."""
    import il6sim

    return [n for n in il6sim.__all__ if page_of(n) == page]


def unplaced() -> list[str]:
    """Names of ``il6sim.__all__`` that no page shows (should be empty)."""
    import il6sim

    return [n for n in il6sim.__all__ if page_of(n) is None]


def attribute_doc(module: str, name: str) -> str:
    """The documentation of a module-level variable: ``#:`` comments above it or a string right after it."""
    mod = importlib.import_module(module)
    source_file = getattr(mod, "__file__", None)
    if not source_file:
        return ""
    text = Path(source_file).read_text(encoding="utf-8")
    lines = text.splitlines()
    body = ast.parse(text).body
    for i, node in enumerate(body):
        targets: list[Any] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        nxt = body[i + 1] if i + 1 < len(body) else None
        if (isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)):
            return inspect.cleandoc(nxt.value.value)
        comment: list[str] = []
        j = node.lineno - 2
        while j >= 0 and lines[j].lstrip().startswith("#:"):
            comment.insert(0, lines[j].lstrip()[2:].strip())
            j -= 1
        return "\n".join(comment)
    return ""


def docstring(name: str) -> str:
    """What the reference shows for ``il6sim.NAME``: its own docstring, or its attribute documentation.

    Inherited docstrings and the signature a dataclass writes when it has none do not count.
    """
    import il6sim

    obj = getattr(il6sim, name)
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__") or ""
        if doc.startswith(f"{obj.__name__}("):  # dataclass's generated signature, not documentation
            doc = ""
    elif inspect.ismodule(obj) or inspect.isroutine(obj) or (callable(obj) and not isinstance(obj, dict)):
        doc = getattr(obj, "__doc__", None) or ""
        if type(obj).__doc__ == doc and not inspect.isroutine(obj):
            doc = ""  # a callable instance showing its class's docstring
    else:
        home = home_module(name)
        doc = attribute_doc(home, name) if home else ""
    return inspect.cleandoc(doc) if doc else ""
