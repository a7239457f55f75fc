"""The command line: results on the shipped model, and one-line errors with nothing written."""

from __future__ import annotations

import io
import json
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
    assert out[0] == "time_h,l [nM],r [nM],l__r [nM]" and len(out) == 6


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
        (["simulate", "--drug", "tocilizumabb"], "unknown drug 'tocilizumabb'; did you mean 'tocilizumab'"),
        (["simulate", "--drug", "tocilizumab", "--dose", "8"], "has no unit"),
        (["simulate", "--drug", "tocilizumab", "--dose", "8 nM"], "must be a mass"),
        (["simulate", "--drug", "tocilizumab", "--dose=-8mg/kg"], "must be a finite amount"),
        (["simulate", "--drug", "tocilizumab", "--at", "30d"], "outside the simulated time"),
        (["simulate", "--drug", "tocilizumab", "--route", "im"], "--route must be iv or sc"),
        (["simulate", "--drug", "siltuximab", "--route", "sc"], "has no SC route"),
        (["simulate", "--drug", "tocilizumab", "--weight=-80kg"], "between 1 and 500 kg"),
        (["simulate", "--dose", "8mg/kg"], "must follow a --drug"),
        (["simulate", "--drug", "tocilizumab", "--count", "0"], "at least 1"),
        (["simulate", "--set", "k_il6_basal=2 mg/kg", "--days", "1"],
         "--set: k_il6_basal expects a concentration per time such as 'nM/h'; 'mg/kg' is a dose per body weight"),
        (["simulate", "--drug", "tocilizumab", "--every", "14d", "--days", "30"],
         "--drug tocilizumab: --every 14d without --count gives a single dose; add --count N (doses in all"),
        (["simulate", "--drug", "tocilizumab", "--count", "3", "--days", "30"],
         "--drug tocilizumab: --count 3 without --every; add --every TIME"),
        (["compare", "--drugs", "tocilizumab,siltuximabb"], "unknown drug 'siltuximabb'"),
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


def test_set_with_a_unit_equals_the_bare_number(tmp_path: Path) -> None:
    """``--set k='0.05 nM/h'`` converts; a bare number is already in the core unit (nM/h)."""
    texts = []
    for value in ("0.05 nM/h", "0.05", "1.2 nM/d"):
        out = tmp_path / f"{len(texts)}.csv"
        assert main(["simulate", "--days", "1", "--step", "12h", "--set", f"k_il6_basal={value}", "--out", str(out)]) == 0
        texts.append(out.read_text())
    assert texts[0] == texts[1]
    assert texts[0].splitlines()[0] == texts[2].splitlines()[0]


def test_unwritable_output_is_reported_before_work(tmp_path: Path) -> None:
    proc = run("simulate", "--out", str(tmp_path / "missing" / "x.csv"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_drug_file_without_target(tmp_path: Path) -> None:
    bad = tmp_path / "nodrug.toml"
    bad.write_text('[drug]\nid = "x"\nname = "x"\ntarget_class = "cytokine"\nmw = "150 kDa"\n'
                   '[pk]\ncl = "0.2 l/d"\nv1 = "3 l"\nq = "0.2 l/d"\nv2 = "3 l"\n')
    proc = run("simulate", "--drug", str(bad), "--dose", "100mg", "--out", str(tmp_path / "o.csv"))
    assert proc.returncode == 2 and "targets: missing" in proc.stderr and not (tmp_path / "o.csv").exists()


def test_simulate_with_a_drug_and_several_doses(tmp_path: Path) -> None:
    out = tmp_path / "tcz.csv"
    assert main(["simulate", "--scenario", "covid_severe", "--drug", "tocilizumab", "--dose", "8mg/kg", "--at", "7d",
                 "--drug", "dexamethasone", "--at", "7d", "--every", "1d", "--count", "10",
                 "--step", "1d", "--out", str(out)]) == 0
    header = out.read_text().splitlines()[0].split(",")
    assert {"drug_total_ug_ml", "mil6r_occupancy [1]", "sil6r_occupancy [1]", "tcz_total_ug_ml"} <= set(header)


def test_compare_writes_table_and_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = str(tmp_path / "cmp")
    assert main(["compare", "--drugs", "tocilizumab,siltuximab", "--out", prefix]) == 0
    printed = capsys.readouterr().out
    assert "tocilizumab" in printed and "siltuximab" in printed
    assert "window [15.8d:45d]" in printed  # covid_severe: admission on day 15.8 of 45
    rows = (tmp_path / "cmp.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert header[:3] == ["drug", "regimen", "before[15.8d]:il6_free_pg_ml"] and len(rows) == 4
    assert "inhibition[15.8d:45d]:trans_signal (%)" in header and "mean[15.8d:45d]:mil6r_occupancy" in header
    assert [r.split(",")[0] for r in rows[1:]] == ["untreated", "tocilizumab", "siltuximab"]
    assert (tmp_path / "cmp.png").stat().st_size > 10_000
    meta = json.loads((tmp_path / "cmp.json").read_text())
    assert meta["command"].startswith("il6sim compare") and meta["window"] == "[15.8d:45d]"
    toci = meta["drugs"]["tocilizumab"]
    assert toci["file"].endswith("tocilizumab.toml") and len(toci["sha256"]) == 64
    assert toci["doses"][0]["amount"] == "8 mg/kg" and meta["weight_kg"] == 70.0


def test_list_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "models"]) == 0
    assert "il6" in capsys.readouterr().out.split()
    assert main(["list", "observables"]) == 0
    assert "il6_free_pg_ml" in capsys.readouterr().out


def test_export_sbml_and_use_it_as_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("libsbml", reason="python-libsbml (the 'sbml' or 'test' extra) is not installed")
    out = tmp_path / "il6.xml"
    assert main(["export-sbml", "--out", str(out)]) == 0
    assert main(["steady-state", "--model", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "converged=True" in printed and "il6_free_pg_ml" in printed


def test_export_sbml_writes_the_regimen_as_events(tmp_path: Path) -> None:
    pytest.importorskip("libsbml", reason="python-libsbml (the 'sbml' or 'test' extra) is not installed")
    import il6sim

    out = tmp_path / "sari.xml"
    assert main(["export-sbml", "--drug", "sarilumab", "--dose", "200mg", "--route", "sc", "--every", "14d", "--count", "3",
                 "--out", str(out)]) == 0
    model = il6sim.load_model(out)  # events: the general SBML reader
    doses = [ev for ev in model.events if ev.assignments]
    assert len(doses) == 3
    res = il6sim.simulate(model, [0.0, 24.0, 14 * 24.0 + 24.0])
    assert res["il6_free_pg_ml"][1] > res["il6_free_pg_ml"][0]  # receptor blockade raises free IL-6


def test_sweep_command_and_bad_spec(tmp_path: Path) -> None:
    spec = tmp_path / "sweep.toml"
    spec.write_text('[sweep]\nscenario = "covid_severe"\ndays = 10\nstep = "12 h"\nseed = 1\nrows = 2\n'
                    'observables = ["il6_free_pg_ml"]\nmetrics = ["peak"]\n'
                    '[[factors]]\nparameter = "k_il6_basal"\nsampler = "uniform"\nlow = "0.001 nM/h"\nhigh = "0.01 nM/h"\n')
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out)]) == 0
    assert (out / "manifest.json").is_file()
    bad = tmp_path / "bad.toml"
    bad.write_text(spec.read_text().replace('parameter = "k_il6_basal"', 'parameter = "k_il6_basl"'))
    proc = run("sweep", str(bad), "--out", str(tmp_path / "out2"))
    assert proc.returncode == 2 and "did you mean 'k_il6_basal'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "out2").exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_bar_on_a_terminal_only(monkeypatch, tmp_path, terminal: bool) -> None:
    """A long command shows a bar with an ETA on a terminal and nothing else when stderr is not one."""
    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\ndays = 1\nstep = "12 h"\nmetrics = ["peak"]\nobservables = ["crp_mg_l"]\n'
                    'chunk_size = 1\n\n[[factors]]\nparameter = "k_il6_basal"\ngrid = [0.01, 0.02]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 0
    text = err.getvalue()
    if terminal:
        assert "sweep [" in text and "ETA" in text and "2/2 rows" in text
    else:
        assert "ETA" not in text and "\r" not in text
        assert text.strip().startswith("wrote ")
