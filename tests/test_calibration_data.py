"""Calibration groundwork: the RA scenario and the Charoin/Levi 2010 tocilizumab PEtab problem.

The tests check that the training data load and simulate, that every
point is traceable to its repository file, and that the ``ra`` scenario's steady state is what
``models/scenarios/ra.toml`` says it is. ``pytest -s -k table`` prints data against the
shipped model (closeness is asserted in tests/test_calibration.py).
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import il6sim

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "models" / "calibration" / "charoin2010_tcz_ra"
PROBLEM = FOLDER / "problem.yaml"
RA = ROOT / "models" / "scenarios" / "ra.toml"
COMMIT = "64e5eaab0feffbb1edd09dcd15955adac8c6fe4a"

# observableId -> (il6sim observable, repository file of its digitised points)
OBSERVABLES = {
    "tcz_total": ("drug_total_ug_ml", "data/Charoin10_RA_1pt/toci_ugml.csv"),
    "sil6r_total": ("sil6r_total_ng_ml", "data/Charoin10_RA_1pt/sIL6R_ngml.csv"),
    "il6_total": ("il6_total_pg_ml", "data/Charoin10_RA_1pt/IL6_pgml.csv"),
    "crp_serum": ("crp_mg_l", "data/Charoin10_RA_1pt/CRP_mgL.csv"),
}
# points per observable (tocilizumab: 11 digitised, 2 below quantification dropped; README.md)
N_POINTS = {"tcz_total": 9, "sil6r_total": 13, "il6_total": 13, "crp_serum": 13}


@cache
def problem() -> il6sim.petab.Problem:
    return il6sim.petab.load_problem(PROBLEM)


@cache
def simulation():
    return problem().simulate()


def _measurement_rows() -> list[dict[str, str]]:
    with open(FOLDER / "measurements.tsv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _ra_notes() -> tuple[dict[str, float], float, float]:
    """The scenario file's STEADY STATE line: {observable: value}, its tolerance, and baseline_inflammation."""
    data = tomllib.loads(RA.read_text(encoding="utf-8"))
    notes = data["scenario"]["notes"]
    m = re.search(r"STEADY STATE \([^)]*tolerance (\d+(?:\.\d+)?) %\): ([^\n]*)", notes)
    assert m, "ra.toml notes lost their 'STEADY STATE (..., tolerance N %): name = value, ...' line"
    values = {k: float(v) for k, v in re.findall(r"(\w+) = (\d+(?:\.\d+)?)", m.group(2))}
    return values, float(m.group(1)) / 100.0, float(data["parameters"]["baseline_inflammation"])


# ---------------------------------------------------------------------------------------------
# The PEtab problem
def test_problem_loads_with_one_condition_and_four_observables() -> None:
    p = problem()
    assert set(p.observables) == set(OBSERVABLES)
    assert len(p.experiments) == 1
    assert p.experiments[0].start_steady  # il6sim condition: starts from its drug-free steady state
    assert set(p.free_ids) == {f"sd_{o}" for o in OBSERVABLES}
    for oid, (model_obs, _) in OBSERVABLES.items():
        spec = p.observables[oid]
        assert spec.formula.symbols == {model_obs}
        assert spec.transformation == "log"
    counts = {o: int(np.sum(np.asarray(p.measurements.observable) == o)) for o in OBSERVABLES}
    assert counts == N_POINTS


def test_every_row_simulates_to_a_finite_positive_value() -> None:
    df = simulation()
    assert len(df) == len(_measurement_rows()) == sum(N_POINTS.values())
    sim = df["simulation"].to_numpy(dtype=float)
    assert np.all(np.isfinite(sim)), df[~np.isfinite(sim)]
    assert np.all(sim > 0)
    assert "source" in df.columns  # the extra traceability column survives the loader


def test_log_likelihood_at_nominal_values_is_finite() -> None:
    assert math.isfinite(problem().log_likelihood())


def test_measurements_are_positive_and_times_not_negative() -> None:
    rows = _measurement_rows()
    for r in rows:
        assert float(r["measurement"]) > 0, r
        assert float(r["time"]) >= 0, r
    m = problem().measurements
    assert np.all(m.value > 0) and np.all(m.time >= 0)


def test_every_point_names_its_repository_file_and_the_readme_names_each_file() -> None:
    readme = (FOLDER / "README.md").read_text(encoding="utf-8")
    assert COMMIT in readme
    for oid, (model_obs, path) in OBSERVABLES.items():
        assert path in readme, f"README.md does not name {path}"
        assert oid in readme and model_obs in readme
    for r in _measurement_rows():
        path = OBSERVABLES[r["observableId"]][1]
        assert re.fullmatch(rf"iamstein/TMDD_EndogenousLigand@{COMMIT[:12]}:{re.escape(path)}#row\d+", r["source"]), r
        # a pre-dose point sits at time 0; a later one at (digitised day - 7) x 24 h
        day = float(r["time_digitised_d"])
        assert float(r["time"]) == pytest.approx(max(0.0, (day - 7.0) * 24.0), abs=1e-3)


def test_problem_starts_from_the_ra_steady_state() -> None:
    """The il6sim PEtab extension equilibrates at the condition's parameters, scenario included."""
    values, _, drive = _ra_notes()
    df = simulation()
    at0 = df[df["time"].astype(float) == 0.0]
    assert len(at0) == 8  # pre-dose points: 3 sIL-6R, 2 IL-6, 3 CRP
    for oid, key in (("il6_total", "il6_total_pg_ml"), ("sil6r_total", "sil6r_total_ng_ml"),
                     ("crp_serum", "crp_mg_l")):
        sim = at0[at0["observableId"] == oid]["simulation"].to_numpy(dtype=float)
        np.testing.assert_allclose(sim, values[key], rtol=2e-3)
    assert drive > 1.0


# ---------------------------------------------------------------------------------------------
# The RA scenario
def test_ra_steady_state_matches_the_numbers_in_the_scenario_file() -> None:
    values, tol, drive = _ra_notes()
    model = il6sim.load_model("il6")
    sc = il6sim.load_scenario("ra", model)
    # a chronic IL-6 drive and chronic CRP co-stimulation, both fitted; nothing else
    assert set(sc.parameters) == {"baseline_inflammation", "k_coact_basal"}
    assert sc.parameters["baseline_inflammation"] == drive
    assert not sc.protocol.events  # no infusion or event: constant parameter settings
    ss = il6sim.steady_state(model, parameters=dict(sc.parameters))
    assert ss.converged
    assert set(values) == {"il6_free_pg_ml", "il6_total_pg_ml", "sil6r_total_ng_ml", "crp_mg_l"}
    for name, documented in values.items():
        assert ss[name] == pytest.approx(documented, rel=tol), name
    # the published medians the notes say are met, within the spread of the two trials' medians (+/- 10 %)
    assert 19.9 * 0.9 <= ss["il6_total_pg_ml"] <= 22.0 * 1.1  # OPTION / TOWARD (Levi 2013 Suppl. Table S1)
    assert 36.0 <= ss["sil6r_total_ng_ml"] <= 43.1  # OPTION / TOWARD sIL-6R medians
    assert ss["crp_mg_l"] == pytest.approx(14.2, rel=0.1)  # RA median (Xu 2019)


def test_ra_scenario_runs_from_its_own_steady_state() -> None:
    """start = "disease": a run of ``ra`` begins at the RA steady state and stays there without a drug."""
    model = il6sim.load_model("il6")
    run = il6sim.build_run(model, scenario="ra", duration_h=6 * 24.0)
    assert run.scenario is not None and run.scenario.start == "disease"
    ss = il6sim.steady_state(model, parameters=dict(run.parameters))
    t = np.arange(0.0, 6 * 24.0 + 0.05, 6.0)
    res = run.simulate(t, method="BDF", rtol=1e-8)
    for name in ("il6_free_pg_ml", "crp_mg_l", "sil6r_total_ng_ml"):
        assert np.allclose(res[name], ss[name], rtol=1e-5), name
    healthy = il6sim.steady_state(model)
    assert res["il6_free_pg_ml"][0] > 5 * healthy["il6_free_pg_ml"]


def test_a_scenario_start_other_than_healthy_or_disease_is_refused(tmp_path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('[scenario]\nname = "s"\nstart = "sick"\n')
    with pytest.raises(il6sim.Il6simError, match=r"s.toml.*start.*\"healthy\".*\"disease\""):
        il6sim.load_scenario(str(f), il6sim.load_model("il6"))


# ---------------------------------------------------------------------------------------------
# Data against the shipped (calibrated) model (printed, not asserted)
def test_table_data_vs_uncalibrated_model() -> None:
    df = simulation()
    lines = ["", "Charoin/Levi 2010, tocilizumab 10 mg/kg IV in RA: digitised data vs shipped il6sim (scenario ra)",
             f"{'observable':<12} {'day':>6} {'time_h':>8} {'data':>9} {'model':>9} {'model/data':>10}"]
    for oid, (model_obs, _) in OBSERVABLES.items():
        sub = df[df["observableId"] == oid]
        times = sub["time"].astype(float).to_numpy()
        # a few times per observable: baseline, ~1, ~3, ~7, ~14, ~28 d after the dose and the last sample
        picks: list[int] = []
        for target in (0.0, 24.0, 72.0, 168.0, 336.0, 672.0, times.max()):
            k = int(np.argmin(np.abs(times - target)))
            if k not in picks:
                picks.append(k)
        for k in picks:
            row = sub.iloc[k]
            data, model = float(row["measurement"]), float(row["simulation"])
            lines.append(f"{oid:<12} {float(row['time']) / 24:6.1f} {float(row['time']):8.1f} {data:9.3g} "
                         f"{model:9.3g} {model / data:10.2f}")
        lines.append(f"{'':<12} ({model_obs}; unit as in the data)")
    print("\n".join(lines))
    assert np.all(np.isfinite(df["simulation"].to_numpy(dtype=float)))
