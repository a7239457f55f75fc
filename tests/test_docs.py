"""The code in the README and the model-file guide runs as written; the API reference has no empty entry."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

import il6sim
from il6sim.cli import main

DOCS = [Path("README.md"), Path("models/README.md")]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


@pytest.mark.parametrize("doc", DOCS, ids=[str(d) for d in DOCS])
def test_python_blocks_run(doc: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks(doc)
    assert blocks, f"{doc} has no python example"
    for block in blocks:
        exec(compile(block, str(doc), "exec"), {"__name__": "__docs__"})  # our own documentation, not user data
    assert capsys.readouterr().out.strip()


def test_readme_example_command_runs(tmp_path: Path) -> None:
    text = Path("README.md").read_text()
    m = re.search(r"\nil6sim simulate --scenario covid_severe --drug tocilizumab.*?--out tcz_dex.csv", text, re.S)
    assert m, "README example command not found"
    argv = shlex.split(m.group(0).replace("\\\n", " "))[1:]
    argv[-1] = str(tmp_path / "tcz_dex.csv")
    assert main(argv) == 0
    assert (tmp_path / "tcz_dex.csv").read_text().startswith("time_h,")


# ----- the API reference (docs/api, built by .ci/run) -------------------------------------------
# These tests guard the generated reference: every public name must show a real docstring there.
# They can fail: a new public class or function without a docstring, or a new public name from a
# module that no page of docs/api/areas.py claims, fails them.

API = Path(__file__).resolve().parent.parent / "docs" / "api"


def _areas():
    spec = importlib.util.spec_from_file_location("il6sim_docs_areas", API / "areas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


AREAS = _areas()

#: public names the reference describes in prose (docs/api/index.rst) instead of from a docstring
DESCRIBED_ON_INDEX = set(AREAS.ON_INDEX)
#: known gaps in files this test's owner may not edit; strict: once fixed, the xfail fails, so delete the entry
KNOWN_GAPS: dict[str, str] = {}  # name -> why its entry is still empty (each one a strict xfail)


def _public(name: str):
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[name])] if name in KNOWN_GAPS else []
    return pytest.param(name, marks=marks, id=name)


def summary_problem(name: str) -> str | None:
    """What is wrong with the docstring of ``il6sim.NAME`` as the reference shows it (None: nothing)."""
    doc = AREAS.docstring(name)
    if not doc:
        return f"il6sim.{name} has no docstring: the API reference would show an empty entry"
    lines = doc.splitlines()
    summary = lines[0].strip()
    if len(summary.split()) < 3:
        return f"il6sim.{name}: first docstring line is not a summary: {summary!r}"
    if len(lines) > 1 and lines[1].strip():
        return f"il6sim.{name}: the summary must be one line followed by a blank line, got {lines[:2]!r}"
    if not summary.endswith((".", ":", ")")):
        return f"il6sim.{name}: the summary line should end a sentence: {summary!r}"
    return None


@pytest.mark.parametrize("name", [_public(n) for n in il6sim.__all__ if n not in DESCRIBED_ON_INDEX])
def test_every_public_name_has_a_docstring_with_a_summary_line(name: str) -> None:
    """THE API-REFERENCE GUARD: ``il6sim.NAME`` has its own docstring whose first line is a one-line summary.

    Classes need their own docstring (an inherited one, or the signature a dataclass writes when it
    has none, does not count); data need a ``#:`` comment above, or a string right after, their
    assignment in the module that defines them.
    """
    problem = summary_problem(name)
    assert problem is None, problem


def test_the_docstring_guard_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard rejects what it should, and accepts a proper docstring."""
    from dataclasses import dataclass

    @dataclass
    class Bare:
        x: int

    class Quiet(ValueError):
        pass

    def two_lines() -> None:
        """Do one thing and
        another."""

    def good() -> None:
        """Do one thing well.

        More text.
        """

    for obj, verdict in ((Bare, "has no docstring"), (Quiet, "has no docstring"),
                         (two_lines, "summary must be one line"), (good, None)):
        monkeypatch.setattr(il6sim, "X", obj, raising=False)
        problem = summary_problem("X")
        assert (problem is None) if verdict is None else (problem is not None and verdict in problem), (obj, problem)


def test_every_public_name_has_a_page() -> None:
    """Each name of ``il6sim.__all__`` lands on a page of the reference (by the module that defines it)."""
    assert AREAS.unplaced() == [], "add the modules of these names to AREAS in docs/api/areas.py"
    pages = {p.stem for p in API.glob("*.rst")}
    for page in AREAS.AREAS:
        assert page in pages and f".. il6sim-public:: {page}" in (API / f"{page}.rst").read_text(), page
    index = (API / "index.rst").read_text()
    assert all(f"\n   {page}\n" in index for page in AREAS.AREAS), "every page is in the index's toctree"


def test_the_reference_documents_the_public_modules() -> None:
    documented = {m for page in AREAS.MODULE_SECTIONS.values() for m in page}
    wanted = {"il6sim.readouts", "il6sim.sweeps", "il6sim.sensitivity", "il6sim.sbml", "il6sim.regimen",
              "il6sim.drugs", "il6sim.scenario", "il6sim.protocol", "il6sim.results", "il6sim.units"}
    assert wanted <= documented, sorted(wanted - documented)
    for page, modules in AREAS.MODULE_SECTIONS.items():
        text = (API / f"{page}.rst").read_text()
        assert all(f".. il6sim-module:: {m}\n" in text for m in modules), page


def test_ci_builds_the_reference_with_warnings_as_errors() -> None:
    ci = (API.parent.parent / ".ci/run").read_text()
    assert "pip install --quiet -e '.[docs]'" in ci
    assert "-m sphinx -E -W --keep-going" in ci and "docs/api docs/api/_build/html" in ci
    assert "/docs/api/_build/" in (API.parent.parent / ".gitignore").read_text()
