"""A run: a model with its drugs, a scenario and dosing, ready to simulate.

``build_run`` gathers what the command line (or a regimen file) asks for: it loads each drug, adds
it to the model, turns doses into protocol events, joins them with the scenario's protocol and
checks that every dose falls inside the simulated time.

Regimen files (TOML) hold anything longer than a few options::

    [regimen]
    weight = "80 kg"
    [[doses]]
    drug = "tocilizumab"
    dose = "8 mg/kg"
    route = "iv"
    infusion = "1 h"
    at = "1 d"
    every = "28 d"
    count = 3

>>> from il6sim.shipped import load_model
>>> run = build_run(load_model("il6"), drug_groups=[{"drug": "tocilizumab", "dose": "8mg/kg", "at": "1d"}])
>>> [type(e).__name__ for e in run.protocol.events]
['Infusion']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .drugs import DEFAULT_WEIGHT_KG, Dose, Drug, add_drug, dose_protocol, load_drug, standard_dose
from .errors import Il6simError, ProtocolError, UnitError
from .network import Network
from .protocol import Protocol
from .results import Result
from .scenario import Scenario, load_scenario
from .tomlsource import check_keys, read_toml
from .units import MASS, convert, parse_quantity, parse_time

__all__ = ["Run", "build_run", "parse_weight"]


@dataclass(frozen=True)
class Run:
    """A network (drugs added), parameter overrides and a protocol over ``duration_h`` hours."""

    network: Network
    parameters: Mapping[str, float] = field(default_factory=dict)
    protocol: Protocol = Protocol()
    duration_h: float = 28 * 24.0
    drugs: tuple[Drug, ...] = ()
    doses: tuple[Dose, ...] = ()
    scenario: Scenario | None = None
    weight_kg: float = DEFAULT_WEIGHT_KG

    def simulate(self, t_eval: Sequence[float] | np.ndarray, *, start: str = "steady", **options: Any) -> Result:
        """Simulate from the drug-free steady state (``start="steady"``) or the file's values."""
        from .solve import simulate, steady_state

        initial = None
        if start == "steady":
            ss = steady_state(self.network)
            if not ss.converged:
                raise Il6simError(f"model '{self.network.name}' has no steady state to start from "
                                  f"(residual {ss.residual:.1e}); use --start file")
            initial = ss
        return simulate(self.network, t_eval, parameters=dict(self.parameters), protocol=self.protocol,
                        initial=initial, events_beyond_end="ignore", **options)


def parse_weight(text: str | float) -> float:
    """Body weight in kg from ``"80kg"``, ``"80 kg"`` or a bare number of kg."""
    try:
        q = parse_quantity(text if not isinstance(text, (int, float)) else float(text), None)
        kg = q.value if q.dims == (0, 0, 0, 0, 0) else convert(q, MASS, what=f"weight '{text}'") / 1e3
    except UnitError as exc:
        raise UnitError(f"--weight: {exc}") from None
    if not (1.0 <= kg <= 500.0):
        raise UnitError(f"--weight {text}: body weight must be between 1 and 500 kg")
    return kg


def _dose_from_group(group: Mapping[str, Any], drug: Drug) -> Dose:
    base = standard_dose(drug) if drug.standard_dose.get("dose") else None
    try:
        at = parse_time(group.get("at", 0.0), "h")
        every = parse_time(group["every"], "d") if "every" in group else (base.every_h if base and "dose" not in group else None)
        infusion = parse_time(group["infusion"], "h") if "infusion" in group else (
            base.infusion_h if base and "route" not in group else None)
    except UnitError as exc:
        raise UnitError(f"--drug {group['drug']}: {exc}") from None
    if every is not None and every <= 0:
        raise ProtocolError(f"--drug {group['drug']}: --every must be positive")
    if infusion is not None and infusion <= 0:
        raise ProtocolError(f"--drug {group['drug']}: --infusion must be positive")
    raw_count = group.get("count", base.count if base and "dose" not in group else 1)
    try:
        count = int(raw_count)
    except (TypeError, ValueError):
        raise ProtocolError(f"--drug {group['drug']}: --count must be a whole number, got {raw_count!r}") from None
    if count < 1:
        raise ProtocolError(f"--drug {group['drug']}: --count must be at least 1, got {count}")
    amount = group.get("dose", base.amount if base else None)
    if amount is None:
        raise ProtocolError(f"--drug {group['drug']}: give --dose (the drug file has no standard dose)")
    route = str(group.get("route", base.route if base else "iv")).lower()
    if route not in ("iv", "sc"):
        raise ProtocolError(f"--drug {group['drug']}: --route must be iv or sc, got '{route}'")
    if route == "sc":
        infusion = None
    return Dose(drug.id, str(amount), route, at, every, count, infusion)


def _regimen_groups(path: str | Path) -> tuple[list[dict[str, Any]], str | None]:
    src = read_toml(path)
    check_keys(src, (), src.data, ("regimen", "doses"))
    head = src.data.get("regimen", {})
    if not isinstance(head, dict):
        raise src.error((), "regimen", "must be a table")
    check_keys(src, ("regimen",), head, ("name", "weight", "description", "source"))
    doses = src.data.get("doses", [])
    if not isinstance(doses, list) or not doses:
        raise src.error((), "doses", "missing: a regimen needs [[doses]] tables")
    groups = []
    for i, d in enumerate(doses):
        if not isinstance(d, dict):
            raise src.error(("doses", i), None, "must be a table")
        check_keys(src, ("doses", i), d, ("drug", "dose", "route", "at", "every", "count", "infusion", "note"))
        if "drug" not in d:
            raise src.error(("doses", i), "drug", "missing")
        groups.append({k: v for k, v in d.items() if k != "note"})
    weight = head.get("weight")
    return groups, None if weight is None else str(weight)


def build_run(
    network: Network,
    *,
    scenario: str | Path | None = None,
    drug_groups: Sequence[Mapping[str, Any]] = (),
    regimen: str | Path | None = None,
    weight: str | float = DEFAULT_WEIGHT_KG,
    duration_h: float | None = None,
) -> Run:
    """Assemble a :class:`Run` from a scenario, ``--drug`` groups and/or a regimen file."""
    groups = [dict(g) for g in drug_groups]
    if regimen is not None:
        extra, regimen_weight = _regimen_groups(regimen)
        groups += extra
        if regimen_weight is not None and weight == DEFAULT_WEIGHT_KG:
            weight = regimen_weight
    weight_kg = parse_weight(weight)
    drugs: dict[str, Drug] = {}
    net = network
    for g in groups:
        name = str(g["drug"])
        if name not in drugs:
            drug = load_drug(name)
            if any(d.id == drug.id for d in drugs.values()):
                raise Il6simError(f"two drug files use the id '{drug.id}'; give each drug its own id")
            drugs[name] = drug
            net = add_drug(net, drug, weight_kg=weight_kg)
    sc = load_scenario(scenario, net) if scenario else None
    duration = duration_h if duration_h is not None else (sc.duration_h if sc else 28 * 24.0)
    protocol = sc.protocol if sc else Protocol()
    doses = []
    for g in groups:
        drug = drugs[str(g["drug"])]
        dose = _dose_from_group(g, drug)
        events = dose_protocol(net, drug, dose, weight_kg=weight_kg)
        last = dose.at_h + (dose.count - 1) * (dose.every_h or 0.0)
        if last >= duration:
            raise ProtocolError(
                f"--drug {g['drug']}: a dose at {last / 24:g} d is outside the simulated time "
                f"(0 to {duration / 24:g} d); use --days or move --at/--every/--count"
            )
        doses.append(dose)
        protocol = protocol + events
    return Run(net, dict(sc.parameters) if sc else {}, protocol, duration, tuple(drugs.values()), tuple(doses), sc,
               weight_kg)
