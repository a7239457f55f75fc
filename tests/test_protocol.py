"""Events at fixed times: doses, infusions and parameter changes, against closed forms."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import write_model

from il6sim import AddConcentration, Infusion, Protocol, ProtocolError, SetParameter, load_model, simulate

DECAY = """\
[model]
name = "decay"
[compartments.c]
volume = "2 l"
source = "assumed"
[species.a]
compartment = "c"
initial = "0 nM"
[parameters.k]
value = "0.1 1/h"
source = "assumed: test"
[parameters.ksyn]
value = "0 nM/h"
source = "assumed: test"
[[reactions]]
equation = "a ->"
rate = "k"
[[reactions]]
equation = "-> a"
rate = "ksyn"
"""

TIGHT = {"rtol": 1e-11, "atol": 1e-14, "method": "Radau"}


@pytest.fixture
def decay(tmp_path: Path):
    return load_model(write_model(tmp_path, DECAY))


def test_bolus_at_zero_counts_once(decay) -> None:
    t = np.linspace(0, 10, 11)
    res = simulate(decay, t, protocol=Protocol((AddConcentration(0.0, "a", 5.0),)), **TIGHT)
    np.testing.assert_allclose(res["a"], 5.0 * np.exp(-0.1 * t), rtol=1e-8)


def test_repeated_doses_superpose(decay) -> None:
    t = np.linspace(0, 100, 201)
    doses = [0.0, 24.0, 48.0, 72.0]
    res = simulate(decay, t, protocol=Protocol(tuple(AddConcentration(d, "a", 1.0) for d in doses)), **TIGHT)
    expected = sum(np.where(t >= d, np.exp(-0.1 * (t - d)), 0.0) for d in doses)
    np.testing.assert_allclose(res["a"], expected, rtol=1e-8, atol=1e-12)


def test_output_at_an_event_time_shows_the_state_after_it(decay) -> None:
    res = simulate(decay, [0.0, 24.0, 25.0], protocol=Protocol((AddConcentration(24.0, "a", 1.0),)), **TIGHT)
    assert res["a"][1] == pytest.approx(1.0, rel=1e-10)
    assert res["a"][2] == pytest.approx(math.exp(-0.1), rel=1e-8)


def test_results_do_not_depend_on_the_output_grid(decay) -> None:
    proto = Protocol((AddConcentration(3.3, "a", 2.0), Infusion(5.0, 9.0, "a", 0.7), SetParameter(12.0, "k", 0.3)))
    coarse = simulate(decay, [0.0, 10.0, 20.0], protocol=proto, rtol=1e-8)
    fine = simulate(decay, np.linspace(0, 20, 401), protocol=proto, rtol=1e-8)
    np.testing.assert_array_equal(coarse["a"], fine["a"][[0, 200, 400]])


def test_infusion_matches_closed_form(decay) -> None:
    """Zero-order input R for [2, 6) h into first-order loss k: R/k (1 - e^{-k(t-2)}), then decay."""
    t = np.linspace(0, 20, 81)
    res = simulate(decay, t, protocol=Protocol((Infusion(2.0, 6.0, "a", 0.5),)), **TIGHT)
    k, rate = 0.1, 0.5
    during = rate / k * (1 - np.exp(-k * (t - 2.0)))
    at_stop = rate / k * (1 - np.exp(-k * 4.0))
    expected = np.where(t < 2, 0.0, np.where(t < 6, during, at_stop * np.exp(-k * (t - 6.0))))
    np.testing.assert_allclose(res["a"], expected, rtol=1e-8, atol=1e-12)


def test_parameter_change_switches_on_production(decay) -> None:
    t = np.linspace(0, 30, 31)
    res = simulate(decay, t, protocol=Protocol((SetParameter(10.0, "ksyn", 1.0),)), **TIGHT)
    expected = np.where(t < 10, 0.0, 10.0 * (1 - np.exp(-0.1 * (t - 10))))
    np.testing.assert_allclose(res["a"], expected, rtol=1e-8, atol=1e-12)


def test_bad_events(decay) -> None:
    with pytest.raises(ProtocolError, match="must not be negative"):
        AddConcentration(-1.0, "a", 1.0)
    with pytest.raises(ProtocolError, match="stop .* must be after start"):
        Infusion(5.0, 5.0, "a", 1.0)
    with pytest.raises(ProtocolError, match="after the end of the simulation"):
        simulate(decay, [0.0, 10.0], protocol=Protocol((AddConcentration(11.0, "a", 1.0),)))
    with pytest.raises(LookupError, match="unknown species 'b'"):
        simulate(decay, [0.0, 10.0], protocol=Protocol((AddConcentration(1.0, "b", 1.0),)))
    with pytest.raises(LookupError, match="unknown parameter 'kk'; did you mean 'k'"):
        simulate(decay, [0.0, 10.0], protocol=Protocol((SetParameter(1.0, "kk", 1.0),)))
