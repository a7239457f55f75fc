"""Every ``il6sim`` command in the README runs as written; its set-up commands are the ones CI runs.

Commands come from the README's fenced ``bash`` blocks and its inline code spans. A command with
placeholders (``[--scenario NAME]``, ``SPEC.toml``, ``a|b``) is a synopsis: each of its options must be
one the parser knows for that subcommand, and ``--help`` must work. Every other command is run
in-process in an empty temporary folder, as written, and must exit 0. (``tests/test_docs.py`` runs
the README's Python blocks.)
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from il6sim.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
PLACEHOLDER = re.compile(r"[\[\]|]|\b(NAME|PATH|FILE|SPEC|PROBLEM|PREFIX|DIR|TIME|PARAM|VALUE|N)\b|\.\.\.")


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, re.S)


def readme_commands() -> list[str]:
    """``il6sim ...`` commands: lines of bash blocks (continuations joined) and inline code spans."""
    found: list[str] = []
    for block in _bash_blocks(README):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith(("il6sim ", ".venv/bin/il6sim ")):
                    found.append(" ".join(part.split()).removeprefix(".venv/bin/"))
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    found += [" ".join(c.split()) for c in re.findall(r"`(il6sim [^`]+)`", prose)]
    return list(dict.fromkeys(found))


COMMANDS = readme_commands()
SYNOPSES = [c for c in COMMANDS if PLACEHOLDER.search(c)]
RUNNABLE = [c for c in COMMANDS if c not in SYNOPSES]


def test_readme_has_commands() -> None:
    assert len(SYNOPSES) >= 7, SYNOPSES  # the command-line section lists every subcommand
    assert any(c.startswith("il6sim compare") for c in RUNNABLE), RUNNABLE
    assert any(c.startswith("il6sim simulate") for c in RUNNABLE), RUNNABLE


def _subparsers() -> dict[str, object]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(action.choices)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", SYNOPSES)
def test_synopsis_options_exist(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    words = command.split()
    sub = _subparsers()
    assert words[1] in sub, f"README names an unknown subcommand: {command}"
    parser = sub[words[1]]
    known = set(parser._option_string_actions)  # type: ignore[attr-defined]
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", command))
    assert options <= known, f"{command}: options the parser does not know: {sorted(options - known)}"
    with pytest.raises(SystemExit) as info:
        main([words[1], "--help"])
    assert info.value.code == 0
    helptext = capsys.readouterr().out
    assert all(o in helptext for o in options)


@pytest.mark.parametrize("command", RUNNABLE)
def test_readme_command_runs(command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split(command)[1:]
    if argv[0] == "export-sbml":
        pytest.importorskip("libsbml", reason="python-libsbml (the 'sbml' or 'test' extra) is not installed")
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 0, capsys.readouterr().err
    written = sorted(p.name for p in tmp_path.iterdir())
    outs = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--out"]
    for out in outs:
        if argv[0] == "compare":
            assert {f"{out}.csv", f"{out}_timecourses.csv", f"{out}.json", f"{out}.png"} <= set(written), written
            assert "tocilizumab" in capsys.readouterr().out
        else:
            assert (tmp_path / out).stat().st_size > 0
    assert not [n for n in written if n.startswith(".")], f"temporary files left: {written}"


def test_setup_commands_are_what_ci_runs() -> None:
    """The README's two set-up lines: venv, install, main job; venv, install with tests, pytest; .ci/run does the second."""
    setup = [ln.strip() for ln in _bash_blocks(README)[0].splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(setup) == 2, setup
    main_job, tests = ([p.strip() for p in line.split("&&")] for line in setup)
    assert main_job[0] == tests[0] == "python3 -m venv .venv"
    assert main_job[1] == ".venv/bin/pip install -e ."
    assert main_job[2].startswith(".venv/bin/il6sim ")
    assert tests[1] == ".venv/bin/pip install -e '.[test]'"
    assert tests[2] == ".venv/bin/python -m pytest"
    ci = [ln.strip() for ln in (ROOT / ".ci/run").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    ci_normalised = [" ".join(w for w in ln.split() if w != "--quiet") for ln in ci]
    for command in tests:
        assert command in ci_normalised, f"{command!r} is not run by .ci/run: {ci}"
    assert ci_normalised[-1] == tests[-1], "the test command must be the last thing .ci/run does"
