"""The package's layering, read from the source (an AST walk over every import, lazy ones included).

Layers, lowest first; a module may import its own layer and the ones below it, never above:

0 base       ``_version``, ``errors``, ``fileio``
1 model      ``units``, ``tomlsource``, ``modelfile``, ``network``, ``drugs``, ``scenario``,
             ``protocol``, ``shipped``, ``sbml``, ``sbml_export``, ``sbml_math``, ``modelcard``, ``expr``
2 records    ``results``, ``lowering``, ``readouts``
3 kernels    ``_kernels``, ``_jitsolve`` (these import no other il6sim module but each other)
4 engine     ``compiled``, ``solve``, ``batch``
5 runs       ``regimen``
6 analysis   ``compare``, ``sweeps``, ``sensitivity``, ``analysis``, ``estimate``, ``target``, ``stratify``
7 figures    ``figures`` (drawing only: model and records layers below it, nothing from 3-6)
8 apps       ``gallery``, ``cli``, ``cli_estimate``, ``cli_target``, ``progress``, the package ``__init__``

Further rules: the model layer (and base, readouts, lowering) imports no numba, scipy or
matplotlib; the analysis layer imports no matplotlib; the CLI imports only public names from
public modules; no import cycles among module-level imports. The last tests break each rule in a
copy of the package and check that the checker says so.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "il6sim"

LAYERS: dict[str, int] = {
    "_version": 0, "errors": 0, "fileio": 0,
    "units": 1, "tomlsource": 1, "modelfile": 1, "network": 1, "drugs": 1, "scenario": 1, "protocol": 1,
    "shipped": 1, "sbml": 1, "sbml_export": 1, "sbml_math": 1, "sbml_model": 1, "modelcard": 1, "expr": 1,
    "results": 2, "lowering": 2, "readouts": 2,
    "_kernels": 3, "_jitsolve": 3, "_program": 3,
    "compiled": 4, "solve": 4, "batch": 4, "sbml_program": 4, "sbml_native": 4, "sbml_simulate": 4,
    "regimen": 5,
    "compare": 6, "sweeps": 6, "sensitivity": 6, "analysis": 6, "estimate": 6, "petab": 6, "calibration": 6,
    "bands": 6,
    "validation": 6, "target": 6, "stratify": 6,
    "figures": 7,
    "gallery": 8, "cli": 8, "cli_estimate": 8, "cli_target": 8, "progress": 8, "__init__": 8, "__main__": 8,
}
KERNELS = {"_kernels", "_jitsolve", "_program"}
NO_HEAVY = {"_version", "errors", "fileio", "expr", "sbml_math", "sbml_model", "units", "tomlsource", "modelfile", "network", "drugs", "scenario",
            "protocol", "shipped", "sbml", "sbml_export", "modelcard", "readouts", "lowering"}
HEAVY = ("numba", "scipy", "matplotlib")


@dataclass(frozen=True)
class Import:
    source: str      # dotted module within the package, e.g. "sweeps.engine"
    target: str      # dotted module imported, e.g. "solve" (package-relative) or "numba" (third party)
    names: tuple[str, ...]
    internal: bool
    top_level: bool  # at module level (not inside a function or an ``if TYPE_CHECKING:`` block)
    line: int


def _module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports_of(path: Path, root: Path) -> list[Import]:
    """Every import statement of one file, resolved to package-relative or third-party names."""
    mod = _module_name(path, root)
    is_pkg = path.name == "__init__.py"
    package_parts = mod.split(".") if is_pkg else mod.split(".")[:-1]
    if mod == "__init__":
        package_parts = []
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[Import] = []

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, False)
            elif isinstance(child, ast.If) and _type_checking(child):
                visit(child, False)
            elif isinstance(child, ast.Import):
                for a in child.names:
                    internal = a.name == root.name or a.name.startswith(root.name + ".")
                    target = a.name[len(root.name) + 1:] if internal else a.name
                    out.append(Import(mod, target, (), internal, top, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package_parts[:len(package_parts) - (child.level - 1)] if child.level > 1 else package_parts
                    target = ".".join([*base, *(child.module.split(".") if child.module else [])])
                    internal = True
                else:
                    name = child.module or ""
                    internal = name == root.name or name.startswith(root.name + ".")
                    target = name[len(root.name) + 1:] if internal else name
                out.append(Import(mod, target, tuple(a.name for a in child.names), internal, top, child.lineno))
            else:
                visit(child, top)

    visit(tree, True)
    return out


def _layer_key(module: str) -> str:
    return module.split(".")[0] if module else "__init__"


def check_package(root: Path) -> list[str]:
    """Every violation of the layering rules in package directory ``root``, one line each."""
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    files = sorted(root.rglob("*.py"))
    modules = {_module_name(f, root) for f in files}
    for f in files:
        src = _module_name(f, root)
        key = _layer_key(src)
        if key not in LAYERS:
            problems.append(f"{f.name}: module '{src}' has no layer; add it to LAYERS in tests/test_layering.py")
            continue
        for imp in imports_of(f, root):
            where = f"{f.relative_to(root.parent)}:{imp.line}"
            if not imp.internal:
                top = imp.target.split(".")[0]
                if top in HEAVY and key in NO_HEAVY:
                    problems.append(f"{where}: model-layer module '{src}' imports {top}")
                if top == "matplotlib" and LAYERS[key] == 6:
                    problems.append(f"{where}: analysis module '{src}' imports matplotlib (draw in il6sim/figures)")
                continue
            targets = [imp.target] if imp.target else []
            # ``from . import x`` / ``from .pkg import sub`` may name submodules
            for n in imp.names:
                full = f"{imp.target}.{n}" if imp.target else n
                if full in modules:
                    targets.append(full)
            for target in targets or ["__init__"]:
                tkey = _layer_key(target)
                if tkey not in LAYERS:
                    problems.append(f"{where}: '{src}' imports unknown module '{target}'")
                    continue
                if tkey == key:
                    if imp.top_level and target != src:
                        graph.setdefault(src, set()).add(target)
                    continue
                if key in KERNELS and tkey not in KERNELS:
                    problems.append(f"{where}: kernel module '{src}' imports il6sim module '{target}'")
                elif LAYERS[tkey] > LAYERS[key]:
                    problems.append(f"{where}: '{src}' (layer {LAYERS[key]}) imports '{target}' "
                                    f"(layer {LAYERS[tkey]}, above it)")
                elif key == "figures" and 3 <= LAYERS[tkey] <= 6:
                    problems.append(f"{where}: figure module '{src}' imports '{target}': figures draw tables, "
                                    "they do not compute")
                if imp.top_level:
                    graph.setdefault(src, set()).add(target)
            if key in ("cli", "cli_estimate"):
                bad = [n for n in imp.names if n.startswith("_") and n != "__version__"]
                if any(p.startswith("_") and p not in ("__init__",) for p in imp.target.split(".") if p) or bad:
                    problems.append(f"{where}: the CLI imports a private name ({imp.target} {', '.join(bad)})")
    problems += [f"import cycle: {' -> '.join(c)}" for c in _cycles(graph)]
    return problems


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                found.append([*stack[stack.index(m):], m])
            elif m not in state:
                dfs(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            dfs(n)
    return found


# ---------------------------------------------------------------------------------------------
def test_package_follows_the_layering() -> None:
    assert check_package(PACKAGE) == []


def test_every_module_is_seen() -> None:
    """The walk finds the kernels' numba import and the CLI's imports: it reads what it should."""
    kern = imports_of(PACKAGE / "_kernels.py", PACKAGE)
    assert any(i.target == "numba" for i in kern)
    assert any(i.internal for i in imports_of(PACKAGE / "cli.py", PACKAGE))


def test_model_layer_loads_without_numba() -> None:
    code = ("import il6sim.network, il6sim.drugs, il6sim.scenario, il6sim.protocol, il6sim.units, il6sim.readouts, "
            "sys; bad = [m for m in ('numba', 'scipy', 'matplotlib') if m in sys.modules]; "
            "print(bad); assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture()
def package_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "il6sim"
    shutil.copytree(PACKAGE, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + "\n" + text + "\n")


@pytest.mark.parametrize(("file", "line", "expect"), [
    ("network.py", "import numba", "model-layer module 'network' imports numba"),
    ("units.py", "def f():\n    from .solve import simulate", "'units' (layer 1) imports 'solve'"),
    ("_jitsolve.py", "from .protocol import Protocol", "kernel module '_jitsolve' imports il6sim module 'protocol'"),
    ("figures/modes.py", "from ..solve import simulate", "figures draw tables"),
    ("cli.py", "from .solve import _initial_state", "the CLI imports a private name"),
    ("compare.py", "import matplotlib.pyplot", "analysis module 'compare' imports matplotlib"),
    ("network.py", "from .units import parse_time", None),  # allowed: same layer, no cycle
])
def test_checker_catches_a_violation(package_copy: Path, file: str, line: str, expect: str | None) -> None:
    assert check_package(package_copy) == []
    _append(package_copy / file, line)
    problems = check_package(package_copy)
    if expect is None:
        assert problems == []
    else:
        assert any(expect in p for p in problems), problems


def test_checker_catches_a_cycle(package_copy: Path) -> None:
    (package_copy / "loop_a.py").write_text("from .loop_b import x\ny = 1\n")
    (package_copy / "loop_b.py").write_text("from .loop_a import y\nx = 1\n")
    LAYERS.update({"loop_a": 1, "loop_b": 1})
    try:
        problems = check_package(package_copy)
    finally:
        del LAYERS["loop_a"], LAYERS["loop_b"]
    assert any(p.startswith("import cycle: loop_a -> loop_b -> loop_a") for p in problems), problems


def test_checker_refuses_a_module_without_a_layer(package_copy: Path) -> None:
    (package_copy / "newthing.py").write_text("x = 1\n")
    assert any("module 'newthing' has no layer" in p for p in check_package(package_copy))
