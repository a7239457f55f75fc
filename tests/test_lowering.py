"""The one protocol lowering (``il6sim.lowering``) and the output-time rules it gives every backend.

The segments of a protocol, checked entry by entry; then the rules end to end on a one-compartment
decay (``a' = -k a``, k = 0.5/h, a(0) = 1 nM) with closed forms, on the scipy backend, the jit
backend and ``run_batch``: an output at an event time shows the state after the event, a time given
twice shows the state before and after, and extra output times change nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import il6sim
from il6sim.batch import batch_arrays, run_batch
from il6sim.lowering import ParameterChange, lower_protocol
from il6sim.network import _tiny
from il6sim.protocol import AddConcentration, Infusion, Protocol, ScaleParameter, SetParameter

K, A0 = 0.5, 1.0  # the decay network of il6sim.network._tiny()
IDX = {"parameter_index": {"k": 0}, "species_index": {"a": 0}}


def lower(protocol: Protocol, t_out: list[float]):  # type: ignore[no-untyped-def]
    return lower_protocol(protocol, t_out, **IDX)


# ---------------------------------------------------------------------------------------------
# The segments.
def test_segments_of_a_mixed_protocol() -> None:
    """A bolus at 0, a bolus at an output time, an infusion across outputs, a parameter change
    between outputs and a bolus at the last output time."""
    protocol = Protocol((AddConcentration(0.0, "a", 2.0), AddConcentration(4.0, "a", 1.0),
                         Infusion(1.0, 6.0, "a", 0.5), SetParameter(3.0, "k", 0.2),
                         AddConcentration(8.0, "a", 0.5)))
    seg = lower(protocol, [0.0, 2.0, 4.0, 5.0, 7.0, 8.0])
    assert seg.t.tolist() == [0.0, 1.0, 3.0, 4.0, 6.0, 8.0, 8.0]  # zero-length last segment: the dose at 8
    assert seg.jump[:, 0].tolist() == [2.0, 0.0, 0.0, 1.0, 0.0, 0.5]
    assert seg.u[:, 0].tolist() == [0.0, 0.5, 0.5, 0.5, 0.0, 0.0]
    assert seg.parameter_changes == ((), (), (ParameterChange(0, 0.2),), (), (), ())
    # Outputs: 0 → after the dose at 0 (segment 0); 2 → segment 1; 4 → after the dose at 4
    # (segment 3); 5 → segment 3; 7 → segment 4; 8 → after the dose at 8 (the zero-length segment).
    assert seg.lo.tolist() == [0, 1, 2, 2, 4, 5]
    assert seg.hi.tolist() == [1, 2, 2, 4, 5, 6]
    np.testing.assert_array_equal(seg.parameters(np.array([0.5]))[:, 0], [0.5, 0.5, 0.2, 0.2, 0.2, 0.2])


def test_segments_do_not_depend_on_the_output_grid() -> None:
    protocol = Protocol((AddConcentration(2.5, "a", 1.0), Infusion(1.0, 3.0, "a", 2.0), ScaleParameter(4.0, "k", 2.0)))
    coarse = lower(protocol, [0.0, 10.0])
    fine = lower(protocol, list(np.linspace(0.0, 10.0, 41)) + [10.0])
    for name in ("t", "jump", "u"):
        np.testing.assert_array_equal(getattr(coarse, name), getattr(fine, name))
    assert coarse.parameter_changes == fine.parameter_changes


def test_repeated_output_times_split_between_the_segments_around_them() -> None:
    protocol = Protocol((AddConcentration(0.0, "a", 1.0), AddConcentration(2.0, "a", 1.0)))
    seg = lower(protocol, [0.0, 0.0, 1.0, 2.0, 2.0, 3.0])
    # A zero-length first segment without events carries the state before the dose at 0.
    assert seg.t.tolist() == [0.0, 0.0, 2.0, 3.0]
    assert seg.jump[:, 0].tolist() == [0.0, 1.0, 1.0]
    # first 0 → segment 0 (before the dose); second 0 and 1 → segment 1; first 2 → segment 1 (its
    # end, before the dose at 2); second 2 and 3 → segment 2.
    assert seg.lo.tolist() == [0, 1, 4]
    assert seg.hi.tolist() == [1, 4, 6]


def test_repeated_last_time_with_an_event_there() -> None:
    seg = lower(Protocol((AddConcentration(3.0, "a", 1.0),)), [0.0, 3.0, 3.0])
    assert seg.t.tolist() == [0.0, 3.0, 3.0]
    assert (seg.lo.tolist(), seg.hi.tolist()) == ([0, 2], [2, 3])
    seg = lower(Protocol((AddConcentration(3.0, "a", 1.0),)), [0.0, 3.0, 3.0, 3.0])  # later copies: after
    assert (seg.lo.tolist(), seg.hi.tolist()) == ([0, 2], [2, 4])


def test_a_simulation_that_ends_at_zero() -> None:
    dose = Protocol((AddConcentration(0.0, "a", 1.0),))
    seg = lower(dose, [0.0])
    assert seg.t.tolist() == [0.0, 0.0] and seg.jump[:, 0].tolist() == [1.0]
    assert (seg.lo.tolist(), seg.hi.tolist()) == ([0], [1])
    seg = lower(dose, [0.0, 0.0])
    assert seg.t.tolist() == [0.0, 0.0, 0.0] and seg.jump[:, 0].tolist() == [0.0, 1.0]
    assert (seg.lo.tolist(), seg.hi.tolist()) == ([0, 1], [1, 2])


def test_events_after_the_end_are_ignored_and_infusions_cut_there() -> None:
    protocol = Protocol((Infusion(1.0, 9.0, "a", 2.0), AddConcentration(6.0, "a", 1.0), SetParameter(7.0, "k", 0.0)))
    seg = lower(protocol, [0.0, 5.0])
    assert seg.t.tolist() == [0.0, 1.0, 5.0]
    assert seg.u[:, 0].tolist() == [0.0, 2.0]
    assert not seg.jump.any() and seg.parameter_changes == ((), ())


def test_parameter_changes_at_equal_times_keep_their_order() -> None:
    set_then_scale = Protocol((SetParameter(1.0, "k", 0.3), ScaleParameter(1.0, "k", 2.0)))
    scale_then_set = Protocol((ScaleParameter(1.0, "k", 2.0), SetParameter(1.0, "k", 0.3)))
    p = np.array([[0.5], [0.7]])
    np.testing.assert_allclose(lower(set_then_scale, [0.0, 2.0]).parameters(p)[:, -1, 0], [0.6, 0.6])
    np.testing.assert_allclose(lower(scale_then_set, [0.0, 2.0]).parameters(p)[:, -1, 0], [0.3, 0.3])
    np.testing.assert_array_equal(lower(scale_then_set, [0.0, 2.0]).parameters(p)[:, 0, 0], [0.5, 0.7])


def test_bad_names_and_times() -> None:
    with pytest.raises(LookupError, match="unknown species 'b'"):
        lower(Protocol((AddConcentration(1.0, "b", 1.0),)), [0.0, 2.0])
    with pytest.raises(LookupError, match="unknown parameter 'kk'; did you mean 'k'"):
        lower(Protocol((SetParameter(9.0, "kk", 1.0),)), [0.0, 2.0])  # checked even after the end
    with pytest.raises(ValueError, match="non-decreasing"):
        lower(Protocol(), [0.0, 2.0, 1.0])


def test_simulate_and_batch_use_the_lowering() -> None:
    cn = il6sim.compile_network(_tiny())
    protocol = Protocol((AddConcentration(0.0, "a", 1.0), Infusion(0.5, 1.5, "a", 2.0), SetParameter(1.0, "k", 0.1)))
    t = [0.0, 0.0, 1.0, 1.0, 2.0]
    seg = lower_protocol(protocol, t, parameter_index=cn.parameter_index, species_index=cn.species_index)
    arr = batch_arrays(cn, [{}], protocol, t)
    for a, b in ((arr.seg_t, seg.t), (arr.jump_seg, seg.jump), (arr.u_seg, seg.u), (arr.lo, seg.lo), (arr.hi, seg.hi)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(arr.k_rows[0], [cn.rate_constants(p) for p in seg.parameters(cn.p0)])


# ---------------------------------------------------------------------------------------------
# The rules on every backend, against closed forms.
def decay(t: float, doses: tuple[tuple[float, float], ...] = (), left: bool = False) -> float:
    """a(t) with boluses (time, amount); ``left``: before the doses at ``t`` itself."""
    out = A0 * math.exp(-K * t)
    for td, d in doses:
        if td < t or (td == t and not left):
            out += d * math.exp(-K * (t - td))
    return out


DOSE_AT_2 = Protocol((AddConcentration(2.0, "a", 1.0),))
SCIPY = {"solver": "scipy", "method": "Radau", "rtol": 1e-11, "atol": 1e-14}
JIT = {"solver": "jit", "method": "Rodas5P", "rtol": 1e-10, "atol": 1e-14}


def run(backend: str, t: list[float], protocol: Protocol) -> np.ndarray:
    net = _tiny()
    if backend == "batch":
        res = run_batch(il6sim.compile_network(net), [{}], protocol, t, rtol=1e-10, atol=1e-14)
        assert res.status.tolist() == [0]
        return res.y[0, :, 0]
    return np.asarray(il6sim.simulate(net, t, protocol=protocol, **(SCIPY if backend == "scipy" else JIT))["a"])


BACKENDS = ["scipy", "jit", "batch"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_repeated_time_shows_the_state_before_and_after_a_dose(backend: str) -> None:
    doses = ((2.0, 1.0),)
    got = run(backend, [0.0, 1.0, 2.0, 2.0, 3.0], DOSE_AT_2)
    expected = [decay(0.0), decay(1.0), decay(2.0, doses, left=True), decay(2.0, doses), decay(3.0, doses)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert got[2] == pytest.approx(math.exp(-1.0), rel=1e-6) and got[3] == pytest.approx(math.exp(-1.0) + 1, rel=1e-6)
    once = run(backend, [0.0, 1.0, 2.0, 3.0], DOSE_AT_2)  # a time given once: after the dose, as before
    np.testing.assert_allclose(once, [decay(0.0), decay(1.0), decay(2.0, doses), decay(3.0, doses)], rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_times_at_zero_and_at_the_end(backend: str) -> None:
    doses = ((0.0, 2.0), (3.0, 1.0))
    protocol = Protocol(tuple(AddConcentration(td, "a", d) for td, d in doses))
    got = run(backend, [0.0, 0.0, 1.5, 3.0, 3.0], protocol)
    expected = [A0, decay(0.0, doses), decay(1.5, doses), decay(3.0, doses, left=True), decay(3.0, doses)]
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # Given once, t = 0 counts the dose at 0 once and the last time shows the dose there.
    np.testing.assert_allclose(run(backend, [0.0, 1.5, 3.0], protocol), [expected[i] for i in (1, 2, 4)], rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_repeated_time_without_an_event_repeats_the_state(backend: str) -> None:
    got = run(backend, [0.0, 1.0, 1.0, 2.0, 2.0, 3.0], DOSE_AT_2)
    assert got[1] == got[2]
    np.testing.assert_allclose(got[1], decay(1.0), rtol=1e-6)
    np.testing.assert_allclose(got[[3, 4, 5]], [decay(2.0, left=True), decay(2.0, ((2.0, 1.0),)),
                                                decay(3.0, ((2.0, 1.0),))], rtol=1e-6)


@pytest.mark.parametrize("backend", ["jit", "batch"])
def test_extra_output_times_change_nothing(backend: str) -> None:
    protocol = Protocol((AddConcentration(0.0, "a", 1.0), AddConcentration(2.0, "a", 1.0),
                         Infusion(0.7, 2.6, "a", 0.4), ScaleParameter(1.3, "k", 1.5)))
    coarse = [0.0, 1.0, 2.0, 3.0]
    fine = [0.0, 0.0, 0.25, 0.7, 1.0, 1.0, 1.3, 1.3, 1.9, 2.0, 2.0, 2.0, 2.2, 2.6, 2.9, 3.0, 3.0]
    a = run(backend, coarse, protocol)
    b = run(backend, fine, protocol)
    after = [len(fine) - 1 - fine[::-1].index(x) for x in coarse]  # the last copy: after the events
    np.testing.assert_allclose(b[after], a, rtol=1e-9, atol=0.0)
    np.testing.assert_allclose(b[0], A0, rtol=1e-12)  # the first 0: before the dose at 0
    np.testing.assert_allclose(b[9], b[10] - 1.0, rtol=1e-9)  # before and after the dose at 2


def test_scipy_and_jit_agree_on_repeated_times_of_a_mixed_protocol() -> None:
    protocol = Protocol((AddConcentration(0.0, "a", 1.0), Infusion(0.5, 2.0, "a", 0.8), SetParameter(1.0, "k", 0.2),
                         AddConcentration(2.0, "a", 0.5), AddConcentration(4.0, "a", 0.25)))
    t = [0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.7, 2.0, 2.0, 3.0, 4.0, 4.0]
    ref = run("scipy", t, protocol)
    for backend in ("jit", "batch"):
        np.testing.assert_allclose(run(backend, t, protocol), ref, rtol=1e-7)
