"""One definition of each readout: ``compare``, a sweep and the figure code agree on the same pair.

One treated/untreated pair (severe COVID-19, tocilizumab 8 mg/kg at admission, day 15.8) read three
ways over the same window. Before il6sim.readouts the same run read 84 % inhibition in a sweep
(whole-run AUC) and 98 % in ``compare`` (AUC from the dose); now every caller goes through
:mod:`il6sim.readouts`. The three callers solve on their own grids and tolerances, so they agree to
solver accuracy, not bit for bit; the whole-run number is shown to differ by far more, so the test
tells the two definitions apart.
"""

from __future__ import annotations

import numpy as np
import pytest

import il6sim
from il6sim.analysis.settings import compute_settings

OBS = ("classic_signal", "trans_signal", "trans_presentation_signal", "crp_mg_l")


@pytest.fixture(scope="module")
def three_ways() -> dict[str, dict[str, float]]:
    model = il6sim.load_model("il6")
    table = il6sim.compare_drugs(model, scenario="covid_severe", drugs="tocilizumab", step_h=3.0)
    w = table.window
    assert w == "[15.8d:45d]"
    row = next(r for r in table.rows if r["drug"] == "tocilizumab")
    signals = [o for o in OBS if o != "crp_mg_l"]
    from_compare = {o: row[f"inhibition{w}:{o} (%)"] for o in signals}

    res = il6sim.sweep({"sweep": {"scenario": "covid_severe", "step": "3 h", "rtol": 1e-8, "observables": list(OBS),
                                  "metrics": ["inhibition", "inhibition[15.8d:45d]", "inhibition[0:end]"]},
                        "drugs": [{"drug": "tocilizumab", "dose": "8 mg/kg", "at": "admission"}]})
    assert res.status.tolist() == [0]
    from_sweep = {o: float(res.metric(f"inhibition[15.8d:45d]:{o}")[0]) for o in OBS}
    sweep_default = {o: float(res.metric(f"inhibition:{o}")[0]) for o in OBS}
    whole_run = {o: float(res.metric(f"inhibition[0:end]:{o}")[0]) for o in OBS}

    fig = compute_settings(model, scenarios=["covid_severe"], drugs=["tocilizumab"], step_h=3.0)
    frow = fig.set_index("drug").loc["tocilizumab"]
    assert float(frow["dose_day"]) == pytest.approx(15.8)
    from_figure = {o: float(frow[f"inhibition[dose:end]:{o} (%)"]) for o in OBS}
    return {"compare": from_compare, "sweep": from_sweep, "sweep_default": sweep_default, "figure": from_figure,
            "whole_run": whole_run}


@pytest.mark.parametrize("obs", OBS)
def test_compare_sweep_and_figure_agree(three_ways: dict[str, dict[str, float]], obs: str) -> None:
    sweep = three_ways["sweep"][obs]
    assert three_ways["sweep_default"][obs] == sweep  # the default window is [dose:end] = [15.8d:45d] here
    assert three_ways["figure"][obs] == pytest.approx(sweep, abs=1e-4)  # percentage points: solver accuracy
    if obs in three_ways["compare"]:
        assert three_ways["compare"][obs] == pytest.approx(sweep, abs=1e-4)


def test_the_whole_run_is_a_different_number(three_ways: dict[str, dict[str, float]]) -> None:
    gaps = [abs(three_ways["whole_run"][o] - three_ways["sweep"][o]) for o in OBS]
    assert min(gaps) > 1.0, gaps  # 10^4 times the agreement above: the window matters, and is named
    assert np.all(np.array(list(three_ways["sweep"].values())) > 50)  # tocilizumab inhibits every mode


def test_trough_of_the_last_interval_in_a_sweep_equals_a_single_run() -> None:
    """``ctrough[last]``: the value just before the next dose, not the run's minimum (0 before the first dose)."""
    group = {"drug": "sarilumab", "route": "sc", "at": "0 d", "every": "14 d", "count": 4}
    res = il6sim.sweep({"sweep": {"days": 56, "step": "1 d", "observables": ["sil6r_occupancy"],
                                  "metrics": ["ctrough[last]", "trough"], "rtol": 1e-8},
                        "drugs": [group], "factors": [{"dose": ["50 mg", "200 mg"]}]})
    troughs = res.metric("ctrough[last]:sil6r_occupancy")
    assert res.metric("trough:sil6r_occupancy").tolist() == [0.0, 0.0]  # the minimum over the run: before dosing
    assert 0 < troughs[0] < troughs[1] < 1
    run = il6sim.build_run(il6sim.load_model("il6"), drug_groups=[{**group, "dose": "200 mg"}], duration_h=56 * 24)
    t = np.arange(0.0, 56 * 24 + 1, 24.0)  # the 56 d point is the end of the 4th interval (no dose there)
    single = run.simulate(t, rtol=1e-8)["sil6r_occupancy"][-1]
    assert troughs[1] == pytest.approx(single, rel=1e-5)
