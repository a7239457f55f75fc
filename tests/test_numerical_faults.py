"""Numerical faults in single runs: a clear error, never silent garbage (issue 9, item 4).

Sweeps record the same faults per row (tests/test_sweep.py, tests/test_jitsolve.py); here the
single-run side: overflowing parameters, a solver that cannot proceed, and concentrations that
leave tolerance below zero.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import il6sim
from il6sim.cli import main
from il6sim.errors import SolverError

BINDING = Path(__file__).resolve().parents[1] / "models" / "examples" / "binding.toml"


@pytest.fixture(scope="module")
def binding() -> il6sim.Network:
    return il6sim.load_model(BINDING)


@pytest.mark.parametrize("solver", ["jit", "scipy"])
@pytest.mark.parametrize("parameters", [{"kon": 1e308}, {"kon": 1e300, "kd": 1e-300}])
def test_overflowing_rates_raise_a_solver_error(binding, solver: str, parameters: dict[str, float]) -> None:
    """Rates that overflow to inf/NaN end in SolverError naming the model and the failure."""
    with pytest.raises(SolverError, match=r"simulation of 'binding' failed: .*(NaN|inf)"):
        il6sim.simulate(binding, np.linspace(0, 5, 6), parameters=parameters, solver=solver)


@pytest.mark.parametrize("solver", ["jit", "scipy"])
def test_failure_is_data_without_throw(binding, solver: str) -> None:
    res = il6sim.simulate(binding, np.linspace(0, 5, 6), parameters={"kon": 1e308}, solver=solver, throw=False)
    assert res.provenance["status"] == "failed" and res.provenance["message"]


def test_step_size_collapse_is_an_error(binding) -> None:
    """Radau at rtol 1 cannot take a step on fast binding: an error, not a truncated result."""
    with pytest.raises(SolverError, match="Radau failed near t = "):
        il6sim.simulate(binding, np.linspace(0, 5, 201), parameters={"kon": 1e4}, method="Radau", rtol=1.0,
                        atol=5.0)


def test_negative_concentrations_beyond_tolerance_are_reported(binding) -> None:
    """At absurd tolerances Radau overshoots below zero; the result says so (and which species)."""
    res = il6sim.simulate(binding, np.linspace(0, 5, 201), parameters={"kon": 1e3}, method="Radau", rtol=0.9,
                          atol=10.0)
    assert float(np.min(res["r"])) < -1e-3  # the premise: the solve really went negative
    assert "went negative beyond tolerance for r" in res.provenance["message"]


def test_cli_reports_overflow_in_one_line(capsys, tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    code = main(["simulate", "--model", str(BINDING), "--set", "kon=1e308", "--start", "file", "--days", "1", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "failed" in err[0] and "Traceback" not in err[0]
    assert not out.exists()


def test_cli_warns_about_negative_concentrations(capsys, tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    code = main(["simulate", "--model", str(BINDING), "--set", "kon=1000", "--start", "file", "--days", "1", "--solver", "scipy",
                 "--method", "Radau", "--rtol", "0.9", "--atol", "10", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0 and out.exists()
    assert "il6sim: warning:" in err and "went negative" in err
