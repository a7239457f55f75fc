"""Recovery: synthetic data from known parameters; the 95 % profile intervals cover them ~95 % of the time.

The model is il6sim's own ``models/examples/binding.toml`` (L + R <=> C, parameters ``kon`` and
``kd``) written as a PEtab problem with the il6sim TOML extension (``il6sim_models``). Data: the
complex ``l__r`` at 8 times with normal noise of known sigma, drawn with seeded generators from
the true parameters; ``kon`` and ``kd`` are estimated on log10 scale. Over many replicates a
correct 95 % interval covers the truth in about 95 % of them; the test asserts a sane range (the
binomial spread of 200 intervals is about ±1.5 %), and prints the fraction.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import il6sim
import il6sim.estimate as est

ROOT = Path(__file__).resolve().parents[1]
TRUE = {"kon": 1.0, "kd": 2.0}
TIMES = [0.05, 0.1, 0.2, 0.4, 0.7, 1.0, 2.0, 4.0]
SIGMA = 0.05


def write_problem(folder: Path, data: np.ndarray) -> Path:
    """A PEtab problem around binding.toml with ``data`` (one value per time in TIMES)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "models" / "examples" / "binding.toml", folder / "binding.toml")
    (folder / "problem.yaml").write_text(
        "format_version: 1\nparameter_file: parameters.tsv\nproblems:\n- il6sim_models: [binding.toml]\n"
        "  condition_files: [conditions.tsv]\n  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n")
    (folder / "parameters.tsv").write_text(
        "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\n"
        f"kon\tlog10\t0.01\t100\t{TRUE['kon']}\t1\nkd\tlog10\t0.01\t100\t{TRUE['kd']}\t1\n")
    (folder / "conditions.tsv").write_text("conditionId\nc1\n")
    (folder / "observables.tsv").write_text(
        "observableId\tobservableFormula\tnoiseFormula\tobservableTransformation\tnoiseDistribution\n"
        f"complex\tl__r\t{SIGMA}\tlin\tnormal\n")
    rows = ["observableId\tsimulationConditionId\tmeasurement\ttime"]
    rows += [f"complex\tc1\t{float(v)!r}\t{float(t)!r}" for t, v in zip(TIMES, data)]
    (folder / "measurements.tsv").write_text("\n".join(rows) + "\n")
    return folder / "problem.yaml"


def test_the_problem_reproduces_a_direct_simulation(tmp_path: Path) -> None:
    truth = il6sim.simulate("models/examples/binding.toml", [0.0, *TIMES], parameters=TRUE, rtol=1e-12, solver="scipy")
    problem = est.load_problem(write_problem(tmp_path, truth["l__r"][1:]))
    sim = problem.simulate()["simulation"].to_numpy()
    np.testing.assert_allclose(sim, truth["l__r"][1:], rtol=1e-8)
    # data = simulation: the llh is the normal normalisation alone, 8 * (-0.5 log(2 pi sigma^2))
    assert problem.log_likelihood() == pytest.approx(-0.5 * len(TIMES) * np.log(2 * np.pi * SIGMA**2), rel=1e-9)


def test_profile_intervals_cover_the_truth_about_95_percent(tmp_path: Path) -> None:
    truth = il6sim.simulate("models/examples/binding.toml", [0.0, *TIMES], parameters=TRUE, rtol=1e-12,
                            solver="scipy")["l__r"][1:]
    covered, total, unidentifiable = 0, 0, 0
    for seed in range(100):
        data = truth + SIGMA * np.random.default_rng(seed).standard_normal(truth.size)
        problem = est.load_problem(write_problem(tmp_path / f"rep{seed}", data))
        res = est.fit(problem, starts=4, seed=seed, threads=2)
        prof = res.profile(threads=2)
        for p in prof.profiles:
            total += 1
            covered += p.lower <= TRUE[p.id] <= p.upper
            unidentifiable += not p.identifiable
    fraction = covered / total
    print(f"coverage of the 95 % profile intervals: {covered}/{total} = {fraction:.3f}; "
          f"{unidentifiable} one-sided intervals")
    assert 0.90 <= fraction <= 0.99
    assert unidentifiable == 0  # 8 points on the binding curve pin both parameters


def test_export_petab_writes_an_sbml_problem_with_the_same_llh(tmp_path: Path) -> None:
    pytest.importorskip("libsbml")
    from il6sim.cli import main

    data = np.linspace(0.5, 3.0, len(TIMES))
    yaml = write_problem(tmp_path / "toml", data)
    assert main(["export-petab", str(yaml), "--out", str(tmp_path / "sbml")]) == 0
    exported = tmp_path / "sbml" / "problem.yaml"
    assert "sbml_files: [binding.xml]" in exported.read_text()
    assert est.load_problem(exported).log_likelihood() == pytest.approx(est.load_problem(yaml).log_likelihood(),
                                                                        rel=1e-9)


def test_il6sim_extension_conditions_run_a_regimen(tmp_path: Path) -> None:
    """A condition may name a scenario and doses: a clinical data set is a PEtab problem too."""
    folder = tmp_path / "clin"
    folder.mkdir()
    shutil.copy(ROOT / "models" / "il6.toml", folder / "il6.toml")
    (folder / "problem.yaml").write_text(
        "format_version: 1\nparameter_file: parameters.tsv\nproblems:\n- il6sim_models: [il6.toml]\n"
        "  condition_files: [conditions.tsv]\n  measurement_files: [measurements.tsv]\n"
        "  observable_files: [observables.tsv]\n"
        "  il6sim:\n    conditions:\n      tcz8:\n        drugs: [{drug: tocilizumab, dose: 8 mg/kg, at: 0 h}]\n"
        "        weight: 70 kg\n")
    (folder / "parameters.tsv").write_text(
        "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\n"
        "sd_drug\tlog10\t0.01\t10\t0.2\t1\n")
    (folder / "conditions.tsv").write_text("conditionId\ntcz8\n")
    (folder / "observables.tsv").write_text(
        "observableId\tobservableFormula\tnoiseFormula\tobservableTransformation\tnoiseDistribution\n"
        "drug\tdrug_total_ug_ml\tsd_drug\tlog\tnormal\n")
    times = [24.0, 168.0, 336.0]
    (folder / "measurements.tsv").write_text(
        "observableId\tsimulationConditionId\tmeasurement\ttime\n" + "".join(
            f"drug\ttcz8\t{v}\t{t}\n" for t, v in zip(times, [150.0, 60.0, 20.0])))
    problem = est.load_problem(folder / "problem.yaml")
    sim = problem.simulate()["simulation"].to_numpy()
    run = il6sim.build_run(il6sim.load_model("il6"), drug_groups=[{"drug": "tocilizumab", "dose": "8 mg/kg",
                                                                   "at": "0 h"}])
    direct = run.simulate([0.0, *times], rtol=1e-10)["drug_total_ug_ml"][1:]
    np.testing.assert_allclose(sim, direct, rtol=1e-6)
    assert np.isfinite(problem.log_likelihood())


def test_laplace_and_log_noise_terms_and_a_laplace_fit(tmp_path: Path) -> None:
    """Closed forms: with data = simulation, llh = -sum log(2 sigma) (Laplace, lin) and
    -sum [log(2 sigma) + log(m)] (Laplace on ln); a Laplace problem is fitted by L-BFGS-B."""
    truth = il6sim.simulate("models/examples/binding.toml", [0.0, *TIMES], parameters=TRUE, rtol=1e-12,
                            solver="scipy")["l__r"][1:]
    yaml = write_problem(tmp_path / "lap", truth)
    obs = yaml.parent / "observables.tsv"
    obs.write_text(obs.read_text().replace("\tlin\tnormal", "\tlin\tlaplace"))
    problem = est.load_problem(yaml)
    assert problem.log_likelihood() == pytest.approx(-len(TIMES) * np.log(2 * SIGMA), rel=1e-9)
    obs.write_text(obs.read_text().replace("\tlin\tlaplace", "\tlog\tlaplace"))
    assert est.load_problem(yaml).log_likelihood() == pytest.approx(
        -np.sum(np.log(2 * SIGMA) + np.log(truth)), rel=1e-9)
    obs.write_text(obs.read_text().replace("\tlog\tlaplace", "\tlin\tlaplace"))
    res = est.fit(est.load_problem(yaml), starts=4, seed=1, threads=2)
    assert res.best_llh == pytest.approx(-len(TIMES) * np.log(2 * SIGMA), abs=1e-3)
    assert res.parameters["kon"] == pytest.approx(TRUE["kon"], rel=1e-3)
    assert res.parameters["kd"] == pytest.approx(TRUE["kd"], rel=1e-3)
