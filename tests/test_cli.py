"""The command line: results on the shipped model, and one-line errors with nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from il6sim.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "il6sim.cli", *args], capture_output=True, text=True, timeout=300)


def test_simulate_writes_csv(tmp_path: Path) -> None:
    out = tmp_path / "healthy.csv"
    assert main(["simulate", "--days", "2", "--step", "12h", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("time_h,il6_free_pg_ml,")
    assert len(lines) == 1 + 5


def test_simulate_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--model", "models/examples/binding.toml", "--days", "1", "--step", "6h",
                 "--start", "file"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "time_h,l,r,l__r" and len(out) == 6


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["simulate", "--model", "il7"], "unknown model 'il7'; did you mean 'il6'"),
        (["simulate", "--model", "nowhere/x.toml"], "file not found"),
        (["simulate", "--set", "kon_il6_il6rr=1"], "unknown parameter 'kon_il6_il6rr'"),
        (["simulate", "--set", "nonsense"], "expected NAME=VALUE"),
        (["simulate", "--days", "-3"], "must not be negative"),
        (["simulate", "--days", "3 nM"], "expected time"),
        (["simulate", "--step", "0"], "--step must be positive"),
        (["simulate", "--scenario", "covid_sever"], "unknown scenario 'covid_sever'; did you mean 'covid_severe'"),
        (["simulate", "--genotype", "rs2228145=AT"], "unknown genotype 'AT'"),
        (["simulate", "--genotype", "rs9999=AA"], "unknown genetic variant 'rs9999'"),
        (["simulate", "--method", "RK45"], "unknown method 'RK45'"),
        (["simulate", "--frobnicate"], "unrecognized arguments"),
    ],
)
def test_bad_input_one_line_error_and_nothing_written(tmp_path: Path, args: list[str], pattern: str) -> None:
    out = tmp_path / "out.csv"
    proc = run(*args, "--out", str(out))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("il6sim: error:"), proc.stderr
    assert pattern in lines[0], lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_unwritable_output_is_reported_before_work(tmp_path: Path) -> None:
    proc = run("simulate", "--out", str(tmp_path / "missing" / "x.csv"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_list_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "models"]) == 0
    assert "il6" in capsys.readouterr().out.split()
    assert main(["list", "observables"]) == 0
    assert "il6_free_pg_ml" in capsys.readouterr().out
