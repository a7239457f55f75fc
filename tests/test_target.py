"""The regimen finder (il6sim.target, ``il6sim target``).

The searched answer is checked against an independent path: the same regimen run with
``build_run`` + ``Run.simulate`` on a grid that holds the dose times, read with
``readouts.interval_table`` (not the sweep engine the search uses), just above and just below it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import il6sim
from il6sim.cli import main
from il6sim.errors import Il6simError, ModelFileError, UnknownNameError
from il6sim.readouts import DosingSchedule, interval_table, output_grid
from il6sim.regimen import build_run
from il6sim.target import STEADY_RTOL, Target, _unsteady, find_dose, find_interval, parse_target

ROOT = Path(__file__).resolve().parents[1]
POPULATION = ROOT / "models" / "sweeps" / "population_ra_sarilumab.toml"
OCC90 = parse_target("trough:sil6r_occupancy", at_least=0.9)


def steady_readout(kind: str, observable: str, dose: str, every_d: float, *, route: str = "sc",
                   drug: str = "sarilumab", count: int = 26) -> float:
    """The readout of the last of ``count`` dosing intervals, through Run.simulate and interval_table."""
    every_h = every_d * 24.0
    end = count * every_h
    run = build_run(il6sim.load_model("il6"), scenario="ra", duration_h=end, drug_groups=[
        {"drug": drug, "dose": dose, "route": route, "every": f"{every_h} h", "count": count}])
    times = [i * every_h for i in range(count)]
    t = output_grid(end, 2.0, dose_times=times)
    y = np.asarray(run.simulate(t)[observable])
    tab = interval_table(t, y, DosingSchedule.regular(0.0, every_h, count))
    col = {"trough": "ctrough", "peak": "cmax", "auc": "auctau", "mean": "auctau"}[kind]
    value = float(tab[col][-1])
    return value / every_h if kind == "mean" else value


def test_smallest_sarilumab_dose_brackets_the_target_on_an_independent_path() -> None:
    res = find_dose(OCC90, "sarilumab", every="14 d", route="sc", dose_range="50..400", rtol=0.02)
    assert res.search == "dose" and res.unit == "mg" and res.answer.startswith("dose = ")
    assert 100 < res.value <= 200  # label 150-200 mg q2w; this number entered no fit
    above = steady_readout("trough", "sil6r_occupancy", f"{res.value:.10g} mg", 14)
    below = steady_readout("trough", "sil6r_occupancy", f"{res.value / 1.03:.10g} mg", 14)
    assert above >= 0.9 - 2e-3  # the independent grid (2 h) and solver tolerance, not the search, set this margin
    assert below < 0.9
    assert math.isclose(res.achieved, above, rel_tol=5e-3)


def test_longest_interval_meets_the_target_and_one_a_bit_longer_does_not() -> None:
    res = find_interval(OCC90, "sarilumab", dose="200 mg", route="sc", every_range="7..56", rtol=0.02)
    assert res.answer.startswith("every = ") and res.unit == "d"
    assert 14 <= res.value < 56  # the label interval meets it
    assert steady_readout("trough", "sil6r_occupancy", "200 mg", res.value) >= 0.9 - 2e-3
    assert steady_readout("trough", "sil6r_occupancy", "200 mg", res.value * 1.04) < 0.9


def test_at_most_targets_search_downwards_in_a_readout_that_falls_with_dose() -> None:
    crp = parse_target("mean:crp_mg_l", at_most=3.0)
    res = find_dose(crp, "tocilizumab", every="28 d", dose_range="0.5..16", rtol=0.03)
    assert res.unit == "mg/kg"  # the unit of tocilizumab's standard dose (8 mg/kg IV)
    ok = steady_readout("mean", "crp_mg_l", f"{res.value:.10g} mg/kg", 28, route="iv", drug="tocilizumab", count=13)
    low = steady_readout("mean", "crp_mg_l", f"{res.value / 1.06:.10g} mg/kg", 28, route="iv", drug="tocilizumab",
                         count=13)
    assert ok <= 3.0 * 1.005 and low > 3.0


def test_population_fraction_is_the_share_of_patients_meeting_the_target() -> None:
    res = find_dose(OCC90, "sarilumab", every="14 d", route="sc", dose_range="50..800", population=POPULATION,
                    fraction=0.8, patients=20, rtol=0.03)
    assert res.patients == 20 and res.fraction == 0.8
    rows = sorted(res.table, key=lambda r: r["dose"])
    fractions = [r["fraction"] for r in rows]
    assert all(b >= a - 1e-12 for a, b in zip(fractions, fractions[1:]))  # same patients at every dose
    assert all(f * 20 == pytest.approx(round(f * 20)) for f in fractions)  # a share of 20 patients
    at = next(r for r in rows if r["dose"] == res.value)
    assert at["fraction"] >= 0.8 and res.achieved == at["fraction"]
    below = [r for r in rows if r["dose"] < res.value]
    assert below and below[-1]["fraction"] < 0.8
    assert below[-1]["dose"] >= res.value / 1.03 * (1 - 1e-9)  # the final bracket is rtol wide
    # the population needs more than the typical patient (exposure spreads around the typical one)
    typical = find_dose(OCC90, "sarilumab", every="14 d", route="sc", dose_range="50..800", rtol=0.03)
    assert res.value > typical.value


def test_target_parsing_and_met() -> None:
    t = parse_target("peak:drug_total_ug_ml", at_most=100)
    assert t == Target("peak", "drug_total_ug_ml", 100.0, False)
    assert t.met(np.array([50.0, 100.0, 150.0, np.nan])).tolist() == [True, True, False, False]
    assert parse_target("auc:crp_mg_l", at_least=1).metric_name == "auctau[last]"
    with pytest.raises(Il6simError, match="write KIND:OBSERVABLE"):
        parse_target("trough", at_least=1)
    with pytest.raises(Il6simError, match="exactly one of --at-least and --at-most"):
        parse_target("trough:crp_mg_l", at_least=1, at_most=2)
    with pytest.raises(Il6simError, match="unknown kind 'through'; did you mean 'trough'"):
        parse_target("through:crp_mg_l", at_least=1)


def test_steady_state_check() -> None:
    assert not _unsteady(np.array([[0.9, 1.0], [0.9 * (1 + STEADY_RTOL / 2), 1.0]]))
    assert _unsteady(np.array([[0.9], [0.9 * (1 + 3 * STEADY_RTOL)]]))


def test_bad_searches_say_what_is_wrong() -> None:
    with pytest.raises(UnknownNameError, match="unknown observable 'sil6r_occ'; did you mean 'sil6r_occupancy'"):
        find_dose(parse_target("trough:sil6r_occ", at_least=0.9), "sarilumab", route="sc")
    with pytest.raises(Il6simError, match=r"no dose in 1-4 mg meets the target \(trough sil6r_occupancy >= 0.9\)"):
        find_dose(OCC90, "sarilumab", route="sc", dose_range="1..4")
    with pytest.raises(Il6simError, match="--fraction needs --population"):
        find_dose(OCC90, "sarilumab", route="sc", fraction=0.5)
    with pytest.raises(Il6simError, match="--patients needs --population"):
        find_dose(OCC90, "sarilumab", route="sc", patients=5)
    with pytest.raises(Il6simError, match=r"--fraction must be in \(0, 1\]"):
        find_dose(OCC90, "sarilumab", route="sc", population=POPULATION, fraction=1.5)
    with pytest.raises(Il6simError, match="--range '5': write LOW..HIGH"):
        find_dose(OCC90, "sarilumab", route="sc", dose_range="5")
    with pytest.raises(Il6simError, match="need 0 < LOW < HIGH"):
        find_dose(OCC90, "sarilumab", route="sc", dose_range="50..5")


def test_population_file_may_not_vary_the_regimen(tmp_path: Path) -> None:
    bad = tmp_path / "pop.toml"
    bad.write_text('[sweep]\nrows = 4\n\n[[factors]]\nparameter = "k_il6_basal"\nsampler = "lognormal"\n'
                   'median = "5e-4 nM/h"\nsigma = 0.3\n\n[[factors]]\ndose = ["100 mg", "200 mg"]\n')
    with pytest.raises(ModelFileError, match=r"pop.toml:11: \[\[factors\]\] #2 dose: a population for target "
                                             r"attainment varies patients only"):
        find_dose(OCC90, "sarilumab", route="sc", population=bad)


def test_cli_prints_the_answer_last(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "tried.csv"
    rc = main(["target", "--drug", "sarilumab", "--route", "sc", "--every", "14d", "--metric",
               "trough:sil6r_occupancy", "--at-least", "0.9", "--range", "50..400", "--rtol", "0.05",
               "--out", str(out)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert rc == 0
    assert lines[-1].startswith("dose = ") and lines[-1].endswith(" mg")
    assert 100 < float(lines[-1].split()[2]) <= 200
    assert out.read_text().splitlines()[0] == "dose,value,met"


@pytest.mark.parametrize("argv, message", [
    (["--every", "14d", "--dose", "200mg"], "give --every (to find the smallest dose) or --dose"),
    (["--every", "14d", "--fraction", "0.9"], "--fraction needs --population FILE"),
    (["--dose", "200mg", "--unit", "mg"], "--unit applies to a dose search"),
    (["--every", "0d"], "--every must be > 0"),
])
def test_cli_errors_are_one_line_with_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["target", "--drug", "sarilumab", "--route", "sc", "--metric", "trough:sil6r_occupancy",
               "--at-least", "0.9", *argv])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1


def test_sweep_factors_may_vary_a_drug_parameter_when_every_row_doses_it() -> None:
    from il6sim.sweeps import spec_from_dict

    base = {"sweep": {"scenario": "ra", "days": 28, "observables": ["drug_total_ug_ml"], "metrics": ["auc"]},
            "factors": [{"parameter": "sar_k10", "grid": ["0.002 1/h", "0.008 1/h"]}]}
    dose = {"drug": "sarilumab", "dose": "200 mg", "route": "sc"}
    res = il6sim.sweep({**base, "drugs": [dose]})
    auc = res.metric("auc:drug_total_ug_ml")
    # the same rows by hand: the run's parameters with the drug's clearance replaced
    from dataclasses import replace

    from il6sim.readouts import auc as area

    run = build_run(il6sim.load_model("il6"), scenario="ra", drug_groups=[dose], duration_h=28 * 24.0)
    t = output_grid(28 * 24.0, 6.0, dose_times=[0.0])
    for k10, got in zip((0.002, 0.008), auc):
        mine = replace(run, parameters={**run.parameters, "sar_k10": k10}).simulate(t)
        assert got == pytest.approx(float(area(t, np.asarray(mine["drug_total_ug_ml"]))), rel=1e-4)
    assert auc[0] > auc[1]
    with pytest.raises(ModelFileError, match="unknown parameter 'sar_k10'"):
        spec_from_dict(base)  # no sarilumab: no such parameter
    mixed = {**base, "factors": [{"drug": ["sarilumab", "tocilizumab"]}, *base["factors"]]}
    with pytest.raises(ModelFileError, match="unknown parameter 'sar_k10'"):
        spec_from_dict(mixed)


def test_population_with_a_grid_factor_matches_rows_to_doses(tmp_path: Path) -> None:
    pop = tmp_path / "grid.toml"
    pop.write_text('[sweep]\nscenario = "ra"\nrows = 1\n\n[[factors]]\nparameter = "sar_k10"\n'
                   'grid = ["0.002 1/h", "0.02 1/h"]\n')
    res = find_dose(OCC90, "sarilumab", every="14 d", route="sc", dose_range="50..400", population=pop,
                    fraction=0.5, rtol=0.05)
    assert res.patients == 2  # one draw x two grid values, at every dose
    rows = sorted(res.table, key=lambda r: r["dose"])
    fractions = [r["fraction"] for r in rows]
    assert set(fractions) <= {0.0, 0.5, 1.0}
    assert all(b >= a for a, b in zip(fractions, fractions[1:]))  # monotone: rows matched to their doses
    assert not any("monotone" in n for n in res.notes)


def test_the_last_interval_is_read_at_any_interval_length() -> None:
    from il6sim.target import _question

    q = _question(OCC90, "sarilumab", route="sc", infusion=None, scenario=None, model="il6", weight="70 kg",
                  step="6 h", population=None, patients=None, progress=None)
    every = 19.79898987322333 * 24.0  # not a round number of hours: a bisection midpoint
    last, prev = q.readouts([("200 mg", every)], 364.0)[("200 mg", every)]
    assert last[0] != prev[0]  # two different dosing intervals (the last one was dropped before)
