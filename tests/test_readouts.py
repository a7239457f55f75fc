"""Readouts against closed forms: grids, windows, areas, intervals, inhibition, metric names.

References are exact for piecewise-linear data (trapezoids integrate them exactly) or closed forms
of one-compartment kinetics (repeated IV boluses: C(t) = D/V · Σ exp(-k (t - t_i))).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import il6sim
from il6sim import readouts as ro
from il6sim.network import _tiny
from il6sim.readouts import DosingSchedule, ReadoutError, Window, output_grid, parse_metric, parse_window

# ---------------------------------------------------------------------------------------------
# grids and windows


def test_output_grid_pairs_dose_times_and_keeps_the_end() -> None:
    t = output_grid(10.0, 3.0, dose_times=[3.0, 4.5, 11.0], extra=[7.0])
    assert t.tolist() == [0.0, 3.0, 3.0, 4.5, 4.5, 6.0, 7.0, 9.0, 10.0]


def test_window_parsing_and_labels() -> None:
    assert parse_window("7d:28d").resolve(1e4) == (168.0, 672.0)
    assert parse_window("[dose:]").resolve(100.0, first_dose=24.0) == (24.0, 100.0)
    assert parse_window(":12h").label == "[0:12h]"
    assert parse_window("dose:end").resolve(50.0) == (0.0, 50.0)  # no dose: 'dose' is 0
    with pytest.raises(ReadoutError, match="ends .* before it starts"):
        parse_window("2d:1d").resolve(100.0)
    with pytest.raises(ReadoutError, match="START:END"):
        parse_window("7d")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.1, 5.0), min_size=3, max_size=12), st.floats(-3, 3), st.floats(-3, 3),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_area_of_a_line_is_exact_on_any_window(steps: list[float], a: float, b: float, u: float, v: float) -> None:
    t = np.concatenate([[0.0], np.cumsum(steps)])
    y = a + b * t
    lo, hi = sorted((u * t[-1], v * t[-1]))
    exact = a * (hi - lo) + 0.5 * b * (hi**2 - lo**2)
    got = float(ro.auc(t, y, Window(lo, hi)))
    assert got == pytest.approx(exact, rel=1e-9, abs=1e-9)
    # additivity over adjacent windows
    mid = 0.5 * (lo + hi)
    parts = float(ro.auc(t, y, Window(lo, mid))) + float(ro.auc(t, y, Window(mid, hi)))
    assert parts == pytest.approx(got, rel=1e-9, abs=1e-9)


def test_time_above_and_below_on_a_ramp() -> None:
    t = np.array([0.0, 10.0])
    y = np.array([0.0, 10.0])  # y = t
    assert float(ro.time_above(t, y, 2.5)) == pytest.approx(7.5)
    assert float(ro.time_below(t, y, 2.5)) == pytest.approx(2.5)
    assert float(ro.time_above(t, y, 2.5, Window(5.0, 10.0))) == pytest.approx(5.0)


def test_window_edges_use_the_state_after_at_start_and_before_at_end() -> None:
    t = np.array([0.0, 1.0, 1.0, 2.0, 2.0, 3.0])
    y = np.array([5.0, 4.0, 9.0, 8.0, 13.0, 12.0])  # a jump of +5 at 1 h and at 2 h
    assert float(ro.peak(t, y, Window(1.0, 2.0))) == 9.0  # neither 13 (after the 2 h dose)...
    assert float(ro.trough(t, y, Window(1.0, 2.0))) == 8.0  # ...nor 4 (before the 1 h dose)
    assert float(ro.auc(t, y, Window(1.0, 2.0))) == pytest.approx(8.5)
    assert float(ro.value_at(t, y, 2.0, before=True)) == 8.0 and float(ro.value_at(t, y, 2.0)) == 13.0


def test_inhibition_definition() -> None:
    t = np.linspace(0.0, 10.0, 11)
    untreated = np.full((2, 11), 4.0)
    treated = untreated * np.array([[0.25], [1.0]])
    assert ro.inhibition(t, treated, untreated).tolist() == [75.0, 0.0]
    assert math.isnan(float(ro.inhibition(t, np.zeros(11), np.zeros(11))))
    # default window: from the first dose
    step = np.where(t >= 5.0, 1.0, 4.0)
    assert float(ro.inhibition(t, step, np.full(11, 4.0), first_dose=5.0)) == pytest.approx(75.0)


def test_rows_are_independent() -> None:
    t = np.linspace(0.0, 4.0, 9)
    y = np.stack([np.sin(t), t**2, np.exp(-t)])
    for fn in (ro.peak, ro.trough, ro.auc, ro.mean):
        batch = fn(t, y)
        assert batch.shape == (3,)
        assert all(float(fn(t, y[i])) == batch[i] for i in range(3))


# ---------------------------------------------------------------------------------------------
# metric names


@pytest.mark.parametrize(("text", "name"), [
    ("peak", "peak[0:end]"), ("trough[7d:]", "trough[7d:end]"), ("auc[12h:36h]", "auc[12h:36h]"),
    ("inhibition", "inhibition[dose:end]"), ("inhibition[7d:28d]", "inhibition[7d:28d]"),
    ("time_above:10", "time_above[0:end]:10"), ("time_below[dose:]:0.5", "time_below[dose:end]:0.5"),
    ("ctrough[last]", "ctrough[last]"), ("cmax[2]", "cmax[2]"), ("auctau[1]", "auctau[1]"),
    ("value[28d]", "value[28d]"), ("before[7d]", "before[7d]"), ("mean", "mean[0:end]"),
])
def test_metric_names_are_canonical(text: str, name: str) -> None:
    assert parse_metric(text).name == name
    assert parse_metric(name).name == name


@pytest.mark.parametrize(("text", "match"), [
    ("peek", r"unknown kind 'peek'.*did you mean 'peak'"),
    ("time_above", "needs a threshold"),
    ("peak:3", "only time_above, time_below, last_above, last_above_shift take"),
    ("ctrough[0]", "1-based or 'last'"),
    ("auc[7d]", "START:END"),
    ("auc[7 parsecs:]", "window"),
    ("value", "takes a time"),
])
def test_bad_metric_names_say_how_to_fix_them(text: str, match: str) -> None:
    with pytest.raises(ReadoutError, match=match):
        parse_metric(text)


def test_interval_metric_errors_name_the_intervals() -> None:
    t = output_grid(48.0, 12.0, dose_times=[0.0, 24.0])
    y = np.ones_like(t)
    with pytest.raises(ReadoutError, match="2 complete dosing interval"):
        parse_metric("ctrough[3]").evaluate(t, y, dose_times=[0.0, 24.0], tau_h=24.0)
    with pytest.raises(ReadoutError, match="no complete dosing interval"):
        parse_metric("ctrough[last]").evaluate(t, y, dose_times=[40.0], tau_h=24.0)


# ---------------------------------------------------------------------------------------------
# dosing intervals against a simulated one-compartment model with repeated IV boluses


def _repeated_bolus(solver: str, n_doses: int = 4, tau: float = 6.0, k: float = 0.5, dose: float = 2.0) -> tuple:
    sched = DosingSchedule.regular(1.0, tau, n_doses)
    protocol = il6sim.Protocol(tuple(il6sim.AddConcentration(t, "a", dose) for t in sched.times_h))
    net = _tiny()  # da/dt = -k a, a(0) = 1 nM, k = 0.5/h
    t = output_grid(1.0 + n_doses * tau, 0.5, dose_times=sched.times_h)
    res = il6sim.simulate(net, t, protocol=protocol, solver=solver, rtol=1e-10, atol=1e-14)
    return t, res["a"], sched, k, dose


def _closed_form(t: float, sched: DosingSchedule, k: float, dose: float, before: bool = False) -> float:
    given = [d for d in sched.times_h if (d < t if before else d <= t)]
    return math.exp(-k * t) + sum(dose * math.exp(-k * (t - d)) for d in given)


@pytest.mark.parametrize("solver", ["jit", "scipy"])
def test_interval_table_matches_the_closed_form(solver: str) -> None:
    t, y, sched, k, dose = _repeated_bolus(solver)
    tab = ro.interval_table(t, y, sched)
    assert tab["end_h"].tolist() == [7.0, 13.0, 19.0, 25.0]
    for i, (a, b) in enumerate(zip(tab["start_h"], tab["end_h"])):
        cmax = _closed_form(a, sched, k, dose)               # right after the dose
        ctrough = _closed_form(b, sched, k, dose, before=True)  # just before the next one
        assert tab["cmax"][i] == pytest.approx(cmax, rel=1e-7)
        assert tab["ctrough"][i] == pytest.approx(ctrough, rel=1e-7)
        # AUC over the interval: exact integral cmax (1 - e^{-k tau}) / k; the trapezoid on a
        # 0.5 h grid overestimates a convex exponential by ~ (k h)^2 / 12 relative
        exact = cmax * (1 - math.exp(-k * (b - a))) / k
        assert tab["auctau"][i] == pytest.approx(exact, rel=(k * 0.5) ** 2 / 12 * 1.2)
    last = parse_metric("ctrough[last]").evaluate(t, y, dose_times=sched.times_h, tau_h=sched.tau_h)
    assert float(last) == tab["ctrough"][-1]
    # accumulation towards the steady-state trough D e^{-k tau} / (1 - e^{-k tau}) (plus the decaying start)
    r = math.exp(-k * 6.0)
    assert tab["ctrough"][-1] == pytest.approx(dose * r * (1 - r**4) / (1 - r) + math.exp(-k * 25.0), rel=1e-7)
