"""The code in the README and the model-file guide runs as written."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

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
