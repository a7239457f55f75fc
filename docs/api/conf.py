"""Sphinx configuration of the il6sim API reference (build command in README.md beside this file)."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # areas.py
sys.path.insert(0, str(HERE.parent.parent))  # the package, when it is not installed
os.environ.setdefault("MPLBACKEND", "Agg")  # importing the figure modules never needs a screen

import areas  # noqa: E402
from docutils import nodes  # noqa: E402
from docutils.statemachine import StringList  # noqa: E402
from sphinx.util.docutils import SphinxDirective  # noqa: E402
from sphinx.util.nodes import nested_parse_with_titles  # noqa: E402

import il6sim  # noqa: E402  (importing il6sim compiles nothing: the numba kernels compile on first call)

project = "il6sim"
author = "il6sim developers"
copyright = "il6sim developers"
release = version = il6sim.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# "Attributes" sections as fields, not attribute entries: autodoc documents the attributes that have
# their own docstring too, and two entries for one name are a duplicate-description warning
napoleon_use_ivar = True
# likewise a numpydoc "Methods" section: shown as written (a definition list), since autodoc
# documents each method from its own docstring
napoleon_custom_sections = ["Methods"]
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
autoclass_content = "class"
autodoc_default_options = {"members": True, "show-inheritance": False}
add_module_names = False
# cross-references that do not resolve stay plain text; -W must fail on real errors only
nitpicky = False
suppress_warnings: list[str] = []

root_doc = "index"
exclude_patterns = ["_build", "README.md"]
templates_path: list[str] = []
html_theme = "alabaster"
html_title = f"il6sim {release} API reference"
html_static_path: list[str] = []
html_theme_options = {"description": "IL-6 signalling and drugs, simulated", "page_width": "1100px"}
html_show_sourcelink = False


def _directives(name: str) -> list[str]:
    obj = getattr(il6sim, name)
    target = f"il6sim.{name}"
    if inspect.isclass(obj):
        return [f".. autoclass:: {target}", ""]
    if inspect.ismodule(obj):
        return [f".. automodule:: {obj.__name__}", ""]
    if callable(obj) and not isinstance(obj, dict):
        return [f".. autofunction:: {target}", ""]
    # data: not autodata, which falls back to the docstring of the value's type (dict's, say)
    home = areas.home_module(name)
    doc = areas.attribute_doc(home, name) if home else ""
    body = [f"   {line}" if line else "" for line in doc.splitlines()]
    return [f".. py:data:: {target}", f"   :type: {type(obj).__name__}", "", *body, ""]


class PublicNames(SphinxDirective):
    """``.. il6sim-public:: PAGE``: autodoc entries for the names of ``il6sim.__all__`` on PAGE."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        page = self.arguments[0]
        documented = set(areas.MODULE_SECTIONS.get(page, ()))
        lines: list[str] = []
        for name in areas.names_on(page):
            obj = getattr(il6sim, name)
            if inspect.ismodule(obj) and obj.__name__ in documented:
                continue  # its own section below
            lines += _directives(name)
        if not lines:
            return []
        holder = nodes.section()
        nested_parse_with_titles(self.state, StringList(lines, source=f"il6sim.__all__ ({page})"), holder)
        return holder.children


class ModuleSection(SphinxDirective):
    """``.. il6sim-module:: MODULE``: the module's docstring and members, less those shown as ``il6sim.NAME``."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module = self.arguments[0]
        mod = importlib.import_module(module)
        shown = [n for n in il6sim.__all__ if not inspect.ismodule(getattr(il6sim, n))
                 and getattr(mod, n, None) is getattr(il6sim, n)]
        lines = [f".. automodule:: {module}", "   :members:"]
        if shown:
            lines.append(f"   :exclude-members: {', '.join(shown)}")
        lines.append("")
        holder = nodes.section()
        nested_parse_with_titles(self.state, StringList(lines, source=module), holder)
        return holder.children


class Submodules(SphinxDirective):
    """``.. il6sim-submodules:: PACKAGE``: every public submodule of PACKAGE, each under a rubric."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        package = importlib.import_module(self.arguments[0])
        lines: list[str] = []
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_"):
                continue
            name = f"{package.__name__}.{info.name}"
            lines += [f".. rubric:: ``{name}``", "", f".. automodule:: {name}", "   :members:", ""]
        holder = nodes.section()
        nested_parse_with_titles(self.state, StringList(lines, source=package.__name__), holder)
        return holder.children


class Unplaced(SphinxDirective):
    """``.. il6sim-unplaced::``: names of ``il6sim.__all__`` that no page claims (tests/test_docs.py fails on them)."""

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        for name in areas.unplaced():
            lines += _directives(name)
        if not lines:
            return []
        holder = nodes.section()
        nested_parse_with_titles(self.state, StringList(lines, source="il6sim.__all__ (unplaced)"), holder)
        return holder.children


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("il6sim-public", PublicNames)
    app.add_directive("il6sim-module", ModuleSection)
    app.add_directive("il6sim-submodules", Submodules)
    app.add_directive("il6sim-unplaced", Unplaced)
    return {"parallel_read_safe": True}
