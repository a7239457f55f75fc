"""The SBML export round trip with a regimen: observables as assignment rules, doses as events.

External oracle: libRoadRunner (SUNDIALS CVODE, its own SBML interpreter) simulating the exported file
as it stands, against il6sim simulating the network with the same Protocol (its own mass-action path),
both at rtol 1e-10 and atol 1e-16 nM; and il6sim's general SBML reader simulating the exported file. Every species and
observable must agree within 1e-6 relative plus 1e-12 absolute (a species decaying towards 0 is only
resolved to ~atol/value relative by either integrator: 1e-4 at 1e-12 nM).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import il6sim
from il6sim.network import Network
from il6sim.protocol import AddConcentration, Infusion, Protocol, ScaleParameter, SetParameter
from il6sim.regimen import build_run
from il6sim.sbml import read_sbml
from il6sim.sbml_export import to_sbml
from il6sim.shipped import load_network
from il6sim.solve import steady_state

pytest.importorskip("libsbml", reason="python-libsbml is not installed")
roadrunner = pytest.importorskip("roadrunner", reason="libroadrunner is not installed")

T = np.linspace(0.0, 60 * 24.0, 121)  # h
REGIMENS = {
    "tocilizumab 8 mg/kg IV q4w (infusions)": dict(drug_groups=[
        {"drug": "tocilizumab", "dose": "8mg/kg", "every": "28d", "count": "3"}]),
    "sarilumab 200 mg SC q2w (boluses)": dict(drug_groups=[
        {"drug": "sarilumab", "dose": "200mg", "route": "sc", "every": "14d", "count": "5"}]),
    "covid_severe + siltuximab (scenario parameters and driver)": dict(scenario="covid_severe", drug_groups=[
        {"drug": "siltuximab", "dose": "11mg/kg", "at": "2d"}]),
}


def _start(run_network: Network, parameters: dict[str, float]) -> Network:
    """The network with the run's parameters and its drug-free steady state as initial values."""
    net = run_network.with_parameters(parameters)
    return net.with_initial(steady_state(net).as_dict())


def _rr(path: Path, columns: list[str]) -> np.ndarray:
    rr = roadrunner.RoadRunner(str(path))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-16
    rr.integrator.maximum_num_steps = 1_000_000
    rr.timeCourseSelections = ["time", *columns]
    return np.asarray(rr.simulate(times=T))[:, 1:]


def _worst(got: np.ndarray, want: np.ndarray) -> float:
    """The largest |got - want| / (1e-6 |want| + 1e-12): agreement means below 1."""
    return float(np.max(np.abs(got - want) / (1e-6 * np.abs(want) + 1e-12)))


@pytest.mark.parametrize("label", list(REGIMENS))
def test_an_exported_regimen_runs_in_roadrunner_and_back_in_il6sim(label: str, tmp_path: Path) -> None:
    run = build_run(load_network("il6"), duration_h=float(T[-1]), **REGIMENS[label])
    assert run.protocol.events
    if "boluses" in label:
        assert all(isinstance(e, AddConcentration) for e in run.protocol.events)
    net = _start(run.network, dict(run.parameters))
    path = tmp_path / "exported.xml"
    to_sbml(net, path, protocol=run.protocol)
    ours = il6sim.simulate(net, T, protocol=run.protocol, rtol=1e-10, atol=1e-16)
    want = np.hstack([ours.values, ours.observable_values])
    species, observables = list(net.species_ids), list(net.observable_ids)
    theirs = _rr(path, [f"[{s}]" for s in species] + observables)
    assert _worst(theirs, want) < 1.0, label
    back = il6sim.load_model(path)  # doses are events now: the general SBML reader takes it
    res = il6sim.simulate(back, T, rtol=1e-10, atol=1e-16)
    again = np.column_stack([res[c] for c in species + observables])
    assert _worst(again, want) < 1.0, label
    # the drug did something: its observable moved from baseline
    assert np.ptp(ours.observable_values, axis=0).max() > 0


def test_parameter_changes_and_doses_at_zero_export_as_ordered_events(tmp_path: Path) -> None:
    net = load_network("il6")
    p = net.parameters[0].id
    s = net.species[0].id
    protocol = Protocol((AddConcentration(0.0, s, 2.0), SetParameter(100.0, p, net.parameters[0].value * 3.0),
                         ScaleParameter(100.0, p, 0.5), AddConcentration(100.0, s, 1.0),
                         Infusion(200.0, 300.0, s, 0.05)))
    path = tmp_path / "events.xml"
    to_sbml(net, path, protocol=protocol)
    ours = il6sim.simulate(net, T, protocol=protocol, rtol=1e-10, atol=1e-16)
    theirs = _rr(path, [f"[{x}]" for x in net.species_ids])
    assert _worst(theirs, ours.values) < 1.0
    # set then scale at one time (il6sim's order) leaves 1.5x the value: the exported file says the same
    rr = roadrunner.RoadRunner(str(path))
    rr.simulate(0.0, 150.0, 3)
    assert rr[p] == pytest.approx(net.parameters[0].value * 1.5, rel=1e-12)


def test_without_a_protocol_the_export_reads_back_as_the_same_network(tmp_path: Path) -> None:
    net = load_network("il6")
    path = tmp_path / "plain.xml"
    to_sbml(net, path)
    assert "<assignmentRule" in path.read_text()  # observables are rules other tools can plot
    back = read_sbml(path)
    assert back.observables == net.observables
    assert back.parameter_ids == net.parameter_ids
