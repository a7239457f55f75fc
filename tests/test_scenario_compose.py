"""Scenario composition: a chronic disease, then an infection on top of it (``"ra+covid_severe@100d"``).

The oracle is the same composition written by hand as a scenario file (the first scenario's
parameters, the second's infusion moved later and its parameter set as an event at the start);
both run on the same solver and must agree to round-off.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import il6sim
from il6sim.cli import main
from il6sim.errors import UnitError, UnknownNameError
from il6sim.protocol import Infusion, Protocol, SetParameter
from il6sim.readouts import output_grid
from il6sim.regimen import build_run
from il6sim.scenario import load_scenario, then

NET = il6sim.load_model("il6")


def test_composition_matches_the_same_scenario_written_by_hand(tmp_path: Path) -> None:
    ra = load_scenario("ra", NET)
    # the infusion rate is re-solved whenever the model changes IL-6 disposition: read it, do not copy it
    fixed = (Path(__file__).resolve().parent.parent / "models/scenarios/covid_severe_fixed.toml").read_text()
    (rate,) = re.findall(r'rate = "([0-9.eE+-]+ nM/h)"', fixed)
    hand = tmp_path / "ra_then_covid.toml"
    params = "\n".join(f"{k} = {v!r}" for k, v in ra.parameters.items())  # core units: bare numbers
    hand.write_text(f'''[scenario]
name = "by hand"
days = "128 d"
start = "disease"

[parameters]
{params}

[[events]]
at = "100 d"
set = {{ k_infl_deg = "0.0289 1/h", k_dmg_infl = "0 1/(nM*h)" }}

[[infusions]]
species = "infl"
start = "105 d"
stop = "113 d"
rate = "{rate}"
''')
    t = output_grid(128 * 24.0, 12.0, dose_times=[0.0, 28 * 24.0, 56 * 24.0, 84 * 24.0])
    drug = [{"drug": "tocilizumab", "dose": "8 mg/kg", "every": "28 d", "count": 4}]
    a = build_run(NET, scenario="ra+covid_severe_fixed@100d", drug_groups=drug).simulate(t, rtol=1e-10, atol=1e-14)
    b = build_run(NET, scenario=str(hand), drug_groups=drug).simulate(t, rtol=1e-10, atol=1e-14)
    for obs in ("il6_free_pg_ml", "crp_mg_l", "trans_signal", "drug_total_ug_ml"):
        assert np.allclose(a[obs], b[obs], rtol=1e-9, atol=1e-12), obs
    before = float(a["crp_mg_l"][t <= 100 * 24][-1])   # on tocilizumab, just before the infection
    assert float(np.max(a["crp_mg_l"][t > 105 * 24])) > 5 * before  # the infection happened


def test_healthy_then_an_infection_at_zero_is_the_infection() -> None:
    sc = load_scenario("healthy+covid_severe@0d", NET)
    direct = load_scenario("covid_severe", NET)
    assert sc.duration_h == direct.duration_h and sc.admission_h == direct.admission_h
    t = np.linspace(0.0, direct.duration_h, 57)
    a = build_run(NET, scenario="healthy+covid_severe@0d").simulate(t)
    b = build_run(NET, scenario="covid_severe").simulate(t)
    assert np.allclose(a["il6_free_pg_ml"], b["il6_free_pg_ml"], rtol=1e-9)


def test_then_shifts_events_and_turns_parameters_into_events() -> None:
    ra, covid = load_scenario("ra", NET), load_scenario("covid_severe_fixed", NET)
    sc = then(ra, covid, 2400.0, NET)
    assert sc.parameters == ra.parameters and sc.start == "disease"
    assert sc.duration_h == 2400.0 + covid.duration_h and sc.admission_h == 2400.0 + covid.admission_h
    (inf,) = [e for e in sc.protocol.events if isinstance(e, Infusion)]
    (orig,) = [e for e in covid.protocol.events if isinstance(e, Infusion)]
    assert (inf.start_h, inf.stop_h) == (orig.start_h + 2400.0, orig.stop_h + 2400.0)
    sets = sorted((e.time_h, e.name, e.value) for e in sc.protocol.events if isinstance(e, SetParameter))
    assert sets == sorted((2400.0, k, v) for k, v in covid.parameters.items())  # none of them equals ra's
    # a chain: the composition is itself a first scenario
    chain = load_scenario("ra+covid_moderate@50d+covid_severe@100d", NET)
    assert chain.name == "ra+covid_moderate@50d+covid_severe@100d" and chain.duration_h == 145 * 24.0


def test_protocol_shift_rejects_going_back() -> None:
    with pytest.raises(il6sim.ProtocolError, match="shifted later in time"):
        Protocol((Infusion(0.0, 1.0, "infl", 1.0),)).shifted(-1.0)


def test_bad_compositions_say_what_is_wrong() -> None:
    with pytest.raises(UnknownNameError, match="unknown scenario 'covid'; did you mean"):
        load_scenario("ra+covid@100d", NET)
    with pytest.raises(UnitError, match=r"after '@', must be a time such as 100d, got 'soon'"):
        load_scenario("ra+covid_severe@soon", NET)


def test_cli_runs_chronic_therapy_then_infection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "chronic.csv"
    assert main(["simulate", "--scenario", "ra+covid_severe@100d", "--drug", "sarilumab", "--dose", "200mg",
                 "--route", "sc", "--every", "14d", "--count", "9", "--step", "24h", "--out", str(out)]) == 0
    import pandas as pd

    d = pd.read_csv(out)
    assert d["time_h"].iloc[-1] == 145 * 24.0  # 100 d, then the 45 d of covid_severe
    assert d["drug_total_ug_ml"].iloc[100] > 1.0  # on therapy when infected
    assert main(["simulate", "--scenario", "ra+covid_severe@1d", "--drug", "sarilumab", "--every", "14d",
                 "--count", "9"]) == 2  # doses past the end of the run: one-line error
    assert "outside the simulated time" in capsys.readouterr().err


def test_chronic_analysis_has_no_viral_columns_for_a_fixed_drive() -> None:
    from il6sim.analysis.chronic import compute_chronic_infection

    t = compute_chronic_infection(NET, infection="covid_severe_fixed", step_h=24.0)
    assert "clearance_delay_d" not in t.columns and "viral_load_copies_ml" not in t.columns
