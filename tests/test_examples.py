"""Every script in examples/ runs and prints something meaningful."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted(Path(__file__).resolve().parent.parent.joinpath("examples").glob("*.py"))

# a line each example must print (what a scientist would look for in its output)
EXPECT = {
    "simulate_scenario.py": "peak free IL-6",
    "simulate_drug.py": "mIL-6R held by drug",
    "trapping_vs_blockade.py": "siltuximab: total IL-6 x",
    "new_drug_file.py": "hypothetical 3 mg/kg",
    "dose_sweep.py": "CRP inhibition %",
    "virtual_population.py": "48 of 48 patients simulated",
    "sbml_round_trip.py": "max relative difference",
    "target_attainment.py": "smallest dose for the typical patient",
    "host_defence_tradeoff.py": "clearance delay d",
    "chronic_then_infection.py": "infected on day 100",
    "who_benefits.py": "fraction who benefit",
}


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    if script.name == "sbml_round_trip.py":
        pytest.importorskip("libsbml", reason="the SBML example needs python-libsbml (pip install 'il6sim[sbml]')")
    if script.name == "who_benefits.py":
        pytest.importorskip("sklearn", reason="stratify needs scikit-learn (pip install 'il6sim[stratify]')")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(proc.stdout.strip().splitlines()) >= 2, proc.stdout
    assert "Traceback" not in proc.stderr
    assert EXPECT.get(script.name, "") in proc.stdout
    assert not list(tmp_path.iterdir()), "examples write only to temporary folders they clean up"
    if script.name == "sbml_round_trip.py":  # the model read back from SBML simulates like the original
        diffs = [float(line.rsplit(" ", 1)[1]) for line in proc.stdout.splitlines() if "max relative difference" in line]
        assert diffs and max(diffs) < 1e-6
    if script.name == "target_attainment.py":  # issue 18: a question no fit saw, answered in the clinical range
        # doses studied in RA: 100, 150 and 200 mg q2w (MOBILITY part A, Huizinga 2014 Ann Rheum Dis 73:1626);
        # label 200 mg q2w, 150 mg for laboratory abnormalities (Kevzara)
        dose = int(proc.stdout.rsplit(":", 1)[1].split()[0])
        assert 100 < dose <= 200, proc.stdout
        population = int(proc.stdout.split("virtual RA patients: ", 1)[1].split()[0])
        assert dose < population <= 300, proc.stdout  # more for 90 % of patients than for the typical one


def test_there_are_examples() -> None:
    assert {p.name for p in EXAMPLES} >= set(EXPECT)
