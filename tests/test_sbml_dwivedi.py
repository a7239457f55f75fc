"""The four published Dwivedi 2014 IL-6 models (BioModels 534-537) simulated by il6sim and by libRoadRunner.

External oracle: libRoadRunner (SUNDIALS CVODE, its own SBML interpreter) simulating the same
BioModels files (``/work/shared/biomodels``, see its README) over 0-2000 h with the models' own
dosing events, both integrators at rtol 1e-10 and atol 1e-16 (nM; every compartment has size 1).
Every species column must agree to 1e-6 relative wherever either value is at least 1e-12 in
magnitude, at every hour, at each dose time (both report the state after the dose) and 1e-3 h
before and after it.

Species set by assignment rules are compared relative to ``max(|value|, 1e-6 * peak)``: "CRP
Suppression (%)" is ``(CRP - CRP0) / (-CRP0 / 100)``, a difference of two equal numbers near the
first dose (about 1e-10 % at t = 0.2 h), where 1e-10 relative accuracy in CRP is 1e-3 relative in
the difference for both simulators alike. CRP itself is compared like every other species.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import il6sim
from il6sim.sbml_model import SbmlModel

libsbml = pytest.importorskip("libsbml", reason="python-libsbml is not installed (pip install python-libsbml)")
roadrunner = pytest.importorskip("roadrunner", reason="libroadrunner is not installed (pip install libroadrunner)")

SHARED = Path(__file__).resolve().parents[2] / "shared"
BIOMODELS = SHARED / "biomodels"
MODELS = ["BIOMD0000000534", "BIOMD0000000535", "BIOMD0000000536", "BIOMD0000000537"]

T_END = 2000.0  # h (each file's time unit is 3600 s)
RTOL, ATOL = 1e-10, 1e-16
AGREE = 1e-6  # relative
IGNORE_BELOW = 1e-12  # values smaller than this in both simulators are not compared
RULE_FLOOR = 1e-6  # assignment-rule species: relative to max(|value|, RULE_FLOOR * column peak)
AROUND_DOSE = 1e-3  # h before and after each dose
GUARD_S = 15.0  # il6sim takes about 1 s per model; more means the integrator stopped making progress


class Stalled(Exception):
    """il6sim.simulate ran past ``GUARD_S``."""


@contextmanager
def _guard(seconds: float, what: str) -> Iterator[None]:
    """Raise :class:`Stalled` inside the block after ``seconds`` (where SIGALRM exists, on the main thread)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise Stalled(f"{what} did not finish in {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _need(path: Path) -> None:
    if not path.is_file():
        pytest.skip(f"{path} not found (the BioModels files live next to the repository)")


def _dose_times(model: Any) -> list[float]:  # a libsbml.Model
    """Each event's trigger time: the files trigger every event by ``time >= constant``."""
    out = []
    for ev in model.getListOfEvents():
        m = ev.getTrigger().getMath()
        ok = (m.getType() == libsbml.AST_RELATIONAL_GEQ and m.getNumChildren() == 2
              and m.getChild(0).getType() == libsbml.AST_NAME_TIME and m.getChild(1).isNumber())
        assert ok, f"event {ev.getId()}: trigger {libsbml.formulaToL3String(m)} is not 'time >= constant'"
        out.append(m.getChild(1).getValue())
    return sorted(out)


def _times(doses: list[float]) -> np.ndarray:
    doses = [d for d in doses if d <= T_END]
    extra = [d + s for d in doses for s in (-AROUND_DOSE, 0.0, AROUND_DOSE)]
    return np.unique(np.concatenate([np.arange(0.0, T_END + 1.0), extra]))


@pytest.mark.parametrize("name", MODELS)
def test_agrees_with_roadrunner(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = BIOMODELS / f"{name}.xml"
    _need(path)
    doc = libsbml.readSBMLFromFile(str(path))
    sb = doc.getModel()
    t = _times(_dose_times(sb))
    species = [s.getId() for s in sb.getListOfSpecies()]
    ruled = {r.getVariable() for r in sb.getListOfRules() if r.isAssignment()}
    label = {s.getId(): f"{s.getName()} ({s.getId()}) in {sb.getCompartment(s.getCompartment()).getName()}"
             for s in sb.getListOfSpecies()}

    model = il6sim.load_model(str(path))
    assert isinstance(model, SbmlModel)  # rules, initial assignments and events: the general SBML path
    started = time.perf_counter()
    with _guard(GUARD_S, f"il6sim.simulate({name}, rtol={RTOL:g}, atol={ATOL:g})"):
        res = il6sim.simulate(model, t, rtol=RTOL, atol=ATOL)
    wall = time.perf_counter() - started
    assert res.success
    ours = res.to_dataframe()[species].to_numpy()

    rr = roadrunner.RoadRunner(str(path))
    rr.integrator.relative_tolerance = RTOL
    rr.integrator.absolute_tolerance = ATOL
    rr.integrator.maximum_num_steps = 100_000
    # the same quantity il6sim reports: a concentration, or an amount where species_units says so
    rr.timeCourseSelections = ["time"] + [s if model.species_units[s] == "amount" else f"[{s}]" for s in species]
    ref = np.asarray(rr.simulate(times=t))
    np.testing.assert_allclose(ref[:, 0], t, rtol=0, atol=1e-12)
    ref = ref[:, 1:]

    big = np.maximum(np.abs(ours), np.abs(ref))
    peak = big.max(axis=0)
    floor = np.array([RULE_FLOOR * peak[j] if s in ruled else 0.0 for j, s in enumerate(species)])
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(big >= IGNORE_BELOW, np.abs(ours - ref) / np.maximum(big, floor), 0.0)
    assert not np.isnan(rel).any(), "NaN in a result"
    i, j = np.unravel_index(int(np.argmax(rel)), rel.shape)
    worst = float(rel[i, j])
    line = (f"{name}: worst relative difference {worst:.2e} in {label[species[j]]} at t = {t[i]:g} h "
            f"(il6sim {ours[i, j]:.12g}, roadrunner {ref[i, j]:.12g}); {len(t)} times x {len(species)} species; "
            f"il6sim.simulate {wall:.2f} s")
    with capsys.disabled():
        print("\n" + line)
    bad = np.argwhere(rel > AGREE)
    assert worst <= AGREE and math.isfinite(worst), (
        f"{line}; {len(bad)} entries beyond {AGREE:g}: "
        + "; ".join(f"{label[species[c]]} t={t[r]:g}: {ours[r, c]:.10g} vs {ref[r, c]:.10g}" for r, c in bad[:5]))
