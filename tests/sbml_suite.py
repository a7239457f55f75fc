"""Run one SBML Test Suite semantic case through il6sim and judge it by the suite's own rule.

A case passes when every requested variable at every output time satisfies
``|simulated - expected| <= absolute + relative * |expected|`` with the tolerances from the case's
settings file (NaN matches NaN, an infinity matches the same infinity). Amounts and concentrations
are converted as the settings ask (``amount:``/``concentration:`` lists) with the compartment's size
at that time. The simulation goes through the public path only:
``il6sim.simulate(il6sim.load_model(file), t)``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import il6sim
from il6sim.errors import ModelFileError

LEVELS = ("l3v2", "l3v1", "l2v5", "l2v4", "l2v3", "l2v2", "l2v1", "l1v2")


def description(case: Path) -> str:
    return (case / f"{case.name}-model.m").read_text(errors="replace")


def field(text: str, key: str) -> str:
    m = re.search(rf"^{key}:[ \t]*(.*)$", text, re.MULTILINE)
    return m.group(1).strip() if m else ""


def is_core_timecourse(case: Path) -> bool:
    """A TimeCourse case that uses no SBML Level 3 package."""
    text = description(case)
    return field(text, "testType") == "TimeCourse" and not field(text, "packagesPresent")


def tags(case: Path) -> list[str]:
    text = description(case)
    return [t.strip() for key in ("componentTags", "testTags") for t in field(text, key).split(",") if t.strip()]


def settings(case: Path) -> dict[str, str]:
    out = {}
    for line in (case / f"{case.name}-settings.txt").read_text().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def newest_file(case: Path) -> Path:
    for v in LEVELS:
        path = case / f"{case.name}-sbml-{v}.xml"
        if path.exists():
            return path
    raise FileNotFoundError(f"{case}: no SBML file")


def run_case(case: Path) -> tuple[str, str]:
    """``("pass", "")``, ``("refused", construct: message)`` or ``("failed", what differs)``."""
    s = settings(case)
    try:
        model = il6sim.load_model(newest_file(case))
    except ModelFileError as exc:
        construct = getattr(exc, "construct", "") or "other"
        return "refused", f"{construct}: {exc}"
    start, duration, steps = float(s["start"]), float(s["duration"]), int(s["steps"])
    t = np.linspace(start, start + duration, steps + 1)
    amounts = {x.strip() for x in s.get("amount", "").split(",") if x.strip()}
    concentrations = {x.strip() for x in s.get("concentration", "").split(",") if x.strip()}
    try:
        column = _columns(model, t, amounts, concentrations)
    except Exception as exc:  # any crash is a failure of the case, reported as such
        return "failed", f"{type(exc).__name__}: {exc}"
    with open(case / f"{case.name}-results.csv") as fh:
        rows = [r for r in csv.reader(fh) if r]
    header = [h.strip() for h in rows[0]]
    expected = np.array([[float(x) for x in r] for r in rows[1:]])
    atol, rtol = float(s["absolute"]), float(s["relative"])
    for j, name in enumerate(header[1:], 1):
        got = column(name)
        if got is None:
            return "failed", f"no column '{name}'"
        want = expected[:, j]
        with np.errstate(invalid="ignore"):
            ok = np.abs(got - want) <= atol + rtol * np.abs(want)
        ok |= np.isnan(got) & np.isnan(want)
        ok |= np.isinf(got) & (got == want)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            return "failed", f"'{name}' at t = {expected[i, 0]:g}: {got[i]!r}, expected {want[i]!r}"
    return "pass", ""


def _columns(model: object, t: np.ndarray, amounts: set[str], concentrations: set[str]) -> Callable[[str], Any]:
    """Simulate; return name -> values in the units the settings ask for (None for an unknown name)."""
    if isinstance(model, il6sim.Network):  # a mass-action file: the compiled path (species in concentration)
        volume = {c.id: c.volume_l for c in model.compartments}
        params = {p.id: p.value for p in model.parameters}
        if model.reactions:
            res = il6sim.simulate(model, t, method="Radau", rtol=1e-10, atol=1e-14)
            conc = {sid: np.asarray(res[sid]) for sid in model.species_ids}
        else:  # nothing changes
            conc = {sp.id: np.full(t.shape, sp.initial_nM) for sp in model.species}

        def net_column(name: str) -> Any:
            if name in conc:
                return conc[name] * (volume[model.get_species(name).compartment] if name in amounts else 1.0)
            if name in volume or name in params:
                return np.full(t.shape, volume.get(name, params.get(name)))
            return None
        return net_column
    res = il6sim.simulate(model, t, rtol=1e-10, atol=1e-14)
    units, where = model.species_units, model.compartment_of  # type: ignore[attr-defined]

    def column(name: str) -> Any:
        if name not in res.names:
            return None
        got = np.array(res[name], dtype=float)
        if name in units and name in amounts and units[name] == "concentration":
            got = got * res[where[name]]
        elif name in units and name in concentrations and units[name] == "amount":
            got = got / res[where[name]]
        return got
    return column
