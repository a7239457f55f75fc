"""Simulate a general SBML model: register programs, a Rosenbrock integration, and SBML events.

:func:`simulate_sbml` integrates an :class:`~il6sim.sbml_model.SbmlModel`. Its formulas run as
register programs (:mod:`il6sim.sbml_program`) in one fixed numba kernel (:mod:`il6sim._program`), so
a new model costs a walk over its formulas, never a compile of the integrator; a model simulated
again may have the same programs compiled to machine code (:mod:`il6sim.sbml_native`, ``engine=``).
The integrator (Rodas5P by default, in numba) runs between events; scipy's LSODA stepped from Python
is kept as the reference path (``method="LSODA"``). Events are handled exactly:

* after every step the root functions (each comparison of changing values) and triggers are
  evaluated; where any changed, the first time it changed is found on the step's dense output (to
  ~1e-15 relative), the solution is cut there, and integration restarts after the events;
* an event fires when its trigger goes from false to true. Without a delay it executes at once;
  with one it is scheduled, and integration stops exactly at its time. Events due at one time run
  one at a time, highest priority first (no priority counts as lowest; ties in document order, then
  scheduling order); after each, triggers are evaluated again, so cascades and cancellations
  (``persistent="false"`` events whose trigger went false) follow the SBML Level 3 rules.
  ``useValuesFromTriggerTime`` decides whether assignment values are computed when the event
  triggers or when it executes. All assignments of one event are computed before any is applied;
* outputs at an event time show the state after the events there.

Results: one column per species (its concentration, or its amount where ``hasOnlySubstanceUnits`` is
true or its compartment has 0 dimensions; ``SbmlModel.species_units`` says which), then each
compartment, parameter and species reference whose value changes, by SBML id, in the model's units.

Examples
--------
>>> import pytest; _ = pytest.importorskip("libsbml")  # (this example needs python-libsbml)
>>> from il6sim.sbml_math import read_model_math
>>> from il6sim.sbml_model import build_sbml_model
>>> text = '''<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2"><model>
...  <listOfParameters><parameter id="x" value="1" constant="false"/></listOfParameters>
...  <listOfRules><rateRule variable="x"><math xmlns="http://www.w3.org/1998/Math/MathML">
...    <apply><minus/><ci>x</ci></apply></math></rateRule></listOfRules></model></sbml>'''
>>> res = simulate_sbml(build_sbml_model(read_model_math(text)), [0.0, 1.0])
>>> round(float(res["x"][-1]), 8) == round(float(np.exp(-1.0)), 8)
True
"""

from __future__ import annotations

import dataclasses
import math
import time as _time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._jitsolve import METHODS, TAB_A, TAB_C, TAB_ERR_EXP, TAB_GAMMA, TAB_H, TAB_M, TAB_STAGES
from ._program import SEG_FAILED, SEG_MAX_STEPS, program_rhs, program_values, rodas_segment, run_program
from ._version import __version__
from .errors import ProtocolError, SolverError, suggest
from .expr import Call, Formula, Node, Pow, Prod, Sum
from .protocol import AddConcentration, Infusion, Protocol, SetParameter
from .results import Result
from .sbml_model import SbmlModel, SbmlModelError, amount_name
from .sbml_native import compile_programs, is_cached
from .sbml_program import ProgramBuilder, jacobian_pattern, jacobian_plan

__all__ = ["SbmlCompiled", "simulate_sbml", "steady_state_sbml"]

_MAX_EVENTS_PER_TIME = 100_000


@dataclass(frozen=True)
class _Lowered:
    builder: ProgramBuilder
    main: np.ndarray
    triggers: np.ndarray
    events: np.ndarray
    state_regs: np.ndarray
    deriv_regs: np.ndarray
    trigger_regs: np.ndarray
    out_regs: np.ndarray
    delay_regs: tuple[int | None, ...]
    priority_regs: tuple[int | None, ...]
    assign_regs: tuple[tuple[tuple[str, int], ...], ...]
    roots: np.ndarray
    root_regs: np.ndarray
    zc_pos: np.ndarray  # root j reaching 0 from above changes its relation's truth
    zc_neg: np.ndarray  # ... from below
    init: dict[frozenset[str], np.ndarray]  # initial-value programs by the names whose initial value is given
    native: dict[str, Any]  # "runs": simulations so far; "programs": main, roots, triggers compiled
    plan: tuple[np.ndarray, ...]  # the sparse Jacobian and LU plan (sbml_program.jacobian_plan)


_LOWERED: dict[int, tuple[SbmlModel, _Lowered]] = {}
_RELATIONS = frozenset({"<", "<=", ">", ">=", "==", "!="})


_TRUE_AT = {"<": (False, False, True), "<=": (False, True, True), ">": (True, False, False),
            ">=": (True, True, False), "==": (False, True, False), "!=": (True, False, True)}  # g > 0, g = 0, g < 0


def _zero_crossings(rels: Sequence[Call], *, positive: bool) -> np.ndarray:
    """Per relation ``lhs OP rhs`` (root function ``lhs - rhs``): does reaching 0 from above (``positive``) or
    below change its truth?"""
    return np.array([_TRUE_AT[r.name][1] != _TRUE_AT[r.name][0 if positive else 2] for r in rels], dtype=np.bool_)


def _has_logic(node: Node) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Call) and (n.name in _RELATIONS or n.name in ("&&", "||", "!", "piecewise")):
            return True
        stack.extend(_children(n))
    return False


def _relations(formulas: Sequence[Formula], dynamic: set[str]) -> list[Call]:
    """Every comparison in ``formulas`` whose sides can change continuously (they use time or a state)."""
    out: list[Call] = []
    seen: set[Node] = set()
    stack: list[Node] = [f.node for f in formulas]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if isinstance(n, Call) and n.name in _RELATIONS and len(n.args) == 2 and Formula("", n).symbols & dynamic \
                and not any(_has_logic(a) for a in n.args):  # a comparison of truth values jumps: its inner ones are roots
            out.append(n)
        stack.extend(_children(n))
    return out


def _children(n: Node) -> list[Node]:
    """The operands of an expression node (none for a leaf)."""
    if isinstance(n, Call):
        return list(n.args)
    if isinstance(n, Sum | Prod):
        return [t for _, t in n.items]
    if isinstance(n, Pow):
        return [n.base, n.exp]
    return []


def _lower(model: SbmlModel) -> _Lowered:
    hit = _LOWERED.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    ids = {*model.states, *model.constants, *(n for n, _ in model.assignments)}
    b = ProgramBuilder("time" if "time" not in ids else "<clock>")
    for name in (*model.states, *model.constants):
        b.reg(name)
    derivs = [(f"d/dt {s}", f) for s, f in zip(model.states, model.derivatives)]
    main = b.program([*model.assignments, *derivs])
    trig = b.program([(f"trigger #{i}", ev.trigger) for i, ev in enumerate(model.events) if ev.trigger])
    extra: list[tuple[str, Formula]] = []
    delay_regs: list[int | None] = []
    prio_regs: list[int | None] = []
    assign_regs: list[tuple[tuple[str, int], ...]] = []
    for i, ev in enumerate(model.events):
        if ev.delay is not None:
            extra.append((f"delay #{i}", ev.delay))
        if ev.priority is not None:
            extra.append((f"priority #{i}", ev.priority))
        extra.extend((f"event #{i} {var}", f) for var, f in ev.assignments.items())
    events = b.program(extra)
    dynamic = {"time", "<clock>", *model.states, *(n for n, _ in model.assignments)}
    rels = _relations([ev.trigger for ev in model.events if ev.trigger is not None], dynamic)
    rels += [r for r in _relations([f for _, f in model.assignments] + list(model.derivatives), dynamic)
             if r not in rels]
    roots = b.program([(f"root #{j}", Formula("", Sum(((False, r.args[0]), (True, r.args[1])))))
                       for j, r in enumerate(rels)])
    for i, ev in enumerate(model.events):
        delay_regs.append(b.reg(f"delay #{i}") if ev.delay is not None else None)
        prio_regs.append(b.reg(f"priority #{i}") if ev.priority is not None else None)
        assign_regs.append(tuple((var, b.reg(f"event #{i} {var}")) for var in ev.assignments))
    low = _Lowered(
        b, main, trig, events, np.array([b.reg(s) for s in model.states], dtype=np.int64),
        np.array([b.reg(f"d/dt {s}") for s in model.states], dtype=np.int64),
        np.array([b.reg(f"trigger #{i}") for i in range(len(model.events))], dtype=np.int64),
        np.array([b.reg(n) for n in model.outputs], dtype=np.int64), tuple(delay_regs), tuple(prio_regs),
        tuple(assign_regs), roots, np.array([b.reg(f"root #{j}") for j in range(len(rels))], dtype=np.int64),
        _zero_crossings(rels, positive=True),
        _zero_crossings(rels, positive=False), {}, {"runs": 0}, ())
    state_regs, deriv_regs = low.state_regs, low.deriv_regs
    pattern = jacobian_pattern(main, len(b.registers()), state_regs, 0, deriv_regs)
    low = dataclasses.replace(low, plan=jacobian_plan(pattern))
    if len(_LOWERED) > 64:
        _LOWERED.clear()
    _LOWERED[id(model)] = (model, low)
    return low


ENGINES = ("auto", "interpreted", "compiled")
AUTO_COMPILE_MAX = 1500  # "auto" compiles programs up to this many instructions (~3 ms each to compile)


def _integrator_programs(low: _Lowered, engine: str) -> tuple[Any, Any, Any]:
    """The main, root and trigger programs as the integrator runs them: instruction arrays for the
    interpreter, or the same compiled to machine code (:mod:`il6sim.sbml_native`). ``"auto"`` compiles
    from a model's second simulation in this process on when its programs have at most
    :data:`AUTO_COMPILE_MAX` instructions, and uses compiled code already cached whatever its size."""
    codes = (low.main, low.roots, low.triggers)
    runs = low.native["runs"]
    low.native["runs"] = runs + 1
    if engine == "interpreted":
        return codes
    hit = low.native.get("programs")
    small = sum(len(c) for c in codes) <= AUTO_COMPILE_MAX
    if hit is None and (engine == "compiled" or (runs >= 1 and small) or is_cached(codes)):
        hit = low.native["programs"] = compile_programs(codes)
    return hit if hit is not None else codes


def _initial_registers(model: SbmlModel, low: _Lowered, parameters: Mapping[str, float],
                       initial: Mapping[str, float] | None = None) -> np.ndarray:
    """The register file at t = 0: constants (with ``parameters``' overrides), then every initial value in
    dependency order (``initial``'s overrides replace a value and its initial assignment), as a register
    program cached per set of overridden names."""
    initial = dict(initial or {})
    settable = {n for n, _ in model.initial} - {n for n, _ in model.assignments if n not in model.sbml.species
                                                 or n in model.sbml.assignment_rules}
    for name in initial:
        if name not in settable and name not in model.constants:
            from .errors import UnknownNameError

            raise UnknownNameError(f"initial value of '{name}': not a species, or a parameter or compartment whose "
                                   f"initial value the model leaves free, in SBML model '{model.name}'"
                                   f"{suggest(name, sorted(settable))}")
    env: dict[str, float] = {"time": 0.0, **model.constants}
    for name, v in parameters.items():
        if name not in model.constants:
            from .errors import UnknownNameError

            raise UnknownNameError(f"parameter '{name}' is not a constant of SBML model '{model.name}'"
                                   f"{suggest(name, model.constants)}")
        env[name] = float(v)
    env.update((name, float(v)) for name, v in initial.items())
    # an override of the initial value (a PEtab condition, a dose at t = 0) replaces its initial assignment,
    # and so does an overridden constant (as PEtab expects)
    given = frozenset(name for name, _ in model.initial if name in initial or name in parameters)
    code = low.init.get(given)
    b = low.builder
    if code is None:
        code = low.init[given] = b.program([(n, f) for n, f in model.initial if n not in given])
    for name in env:
        b.reg(name)
    regs = b.registers(env)
    run_program(code, regs)
    prefix = f"{model.source}: " if model.source != "<string>" else ""
    for name, r in zip(model.states, low.state_regs.tolist()):
        if not math.isfinite(regs[r]):
            what = f"species '{name[7:-1]}'" if name.startswith("amount(") else f"'{name}'"
            raise SbmlModelError(f"{prefix}the initial value of {what} is {regs[r]} (a division by zero or an "
                                 "undefined value at t = 0?); check its initial value and what it depends on",
                                 construct="non-finite initial value")
    return regs


class _Run:
    """Mutable integration state of one simulation."""

    def __init__(self, model: SbmlModel, low: _Lowered, regs: np.ndarray) -> None:
        self.model, self.low = model, low
        self.regs = regs
        self.y = regs[low.state_regs].copy()
        self.state_index = {s: i for i, s in enumerate(model.states)}
        self.conc_states: dict[str, list[str]] = {}  # compartment -> species integrated as concentrations
        for s in model.states:
            if s in model.species_units and model.species_units[s] == "concentration":
                self.conc_states.setdefault(model.compartment_of[s], []).append(s)

    def derive(self, t: float, y: np.ndarray) -> None:
        self.regs[0] = t
        self.regs[self.low.state_regs] = y
        run_program(self.low.main, self.regs)

    def triggers(self, t: float, y: np.ndarray) -> np.ndarray:
        self.derive(t, y)
        run_program(self.low.triggers, self.regs)
        return self.regs[self.low.trigger_regs] != 0.0

    def root_values(self, t: float, y: np.ndarray) -> np.ndarray:
        self.derive(t, y)
        run_program(self.low.roots, self.regs)
        return self.regs[self.low.root_regs].copy()

    def rhs(self, t: float, y: np.ndarray) -> np.ndarray:
        low = self.low
        return program_rhs(t, y, self.regs, low.main, 0, low.state_regs, low.deriv_regs)

    def values(self, t: np.ndarray, y: np.ndarray) -> np.ndarray:
        low = self.low
        return program_values(t, y.reshape(len(t), -1), self.regs, low.main, 0, low.state_regs, low.out_regs)

    def event_math(self, t: float) -> None:
        self.derive(t, self.y)
        run_program(self.low.events, self.regs)

    def assign(self, values: Sequence[tuple[str, float]]) -> None:
        """Apply one event's assignments, compartments last: a species' new concentration is converted to
        an amount at the size its compartment had when the event's values were computed, and a compartment
        that changes size keeps the amounts in it (SBML test cases 01779, 01505)."""
        m = self.model
        comps = m.sbml.compartments
        for var, v in sorted(values, key=lambda kv: kv[0] in comps):
            if var in comps:  # species kept as concentrations keep their amounts: rescale them
                old = self.value_of(var)
                for s in self.conc_states.get(var, ()):
                    self.y[self.state_index[s]] *= old / v
            amount = amount_name(var)
            if amount in self.state_index:  # a species integrated as an amount
                size = 1.0 if m.species_units[var] == "amount" else self.value_of(m.compartment_of[var])
                self.y[self.state_index[amount]] = v * size
            elif var in self.state_index:
                self.y[self.state_index[var]] = v
            else:
                self.regs[self.low.builder.reg(var)] = v

    def value_of(self, name: str) -> float:
        """The current value an id stands for (a species in the unit its column reports)."""
        self.derive(float(self.regs[0]), self.y)
        return float(self.regs[self.low.builder.reg(name)])


def _protocol_actions(model: SbmlModel, protocol: Protocol | None) -> list[Any]:
    """An il6sim Protocol's events as timed actions on the model (refusing what SBML cannot take)."""
    if protocol is None:
        return []
    sb = model.sbml
    out = []
    for e in protocol.sorted_events():
        if isinstance(e, Infusion):
            raise ProtocolError(f"infusion of {e.species}: infusions are not supported on a general SBML model yet; "
                                "give doses as boluses or write the input into the model")
        name = e.species if isinstance(e, AddConcentration) else e.name
        kind = "species" if isinstance(e, AddConcentration) else "parameter"
        known = sb.species if kind == "species" else {**sb.parameters, **sb.compartments}
        if name not in known:
            raise ProtocolError(f"{type(e).__name__} at {e.time_h:g}: '{name}' is not a {kind} of SBML model "
                                f"'{model.name}'{suggest(name, known)}")
        if name in sb.assignment_rules:
            raise ProtocolError(f"{type(e).__name__} at {e.time_h:g}: '{name}' is set by an assignment rule")
        out.append(e)
    return out


@dataclass
class _Pending:
    time: float
    order: int
    event: int
    values: tuple[tuple[str, float], ...] | None


def simulate_sbml(model: SbmlModel, t_eval: Sequence[float] | np.ndarray, *,
                  parameters: Mapping[str, float] | None = None, initial: Mapping[str, float] | None = None,
                  protocol: Protocol | None = None, rtol: float = 1e-10, atol: float = 1e-14,
                  max_step: float = math.inf, method: str = "Rodas5P", engine: str = "auto", seed: int = 0,
                  throw: bool = True) -> Result:
    """Integrate a general SBML model from t = 0 and report every output column at ``t_eval``.

    Parameters
    ----------
    model : from :func:`il6sim.sbml_model.build_sbml_model` (or ``il6sim.load_model("file.xml")``).
    t_eval : non-decreasing output times in the model's time unit, all >= 0.
    parameters : overrides of the file's constant values (by id), applied before initial assignments.
    protocol : il6sim doses (``AddConcentration``: added to the species' reported value, in model units) and
        parameter changes (``SetParameter``, ``ScaleParameter``) at fixed times, applied before the model's
        own events at that time; a dose here and the same dose as an SBML event give the same result.
        Infusions are refused.
    initial : overrides of initial values (by id: a species in the unit its column reports, or a parameter,
        compartment or species reference), which replace the file's value and any initial assignment.
    rtol, atol : relative and absolute tolerances (``atol`` in the model's amount and value units).
    max_step : largest step; a trigger that goes true and false again within one step is missed. Default:
        1/100 of the simulated span where the model has comparisons of changing values, else unbounded.
    method : ``"Rodas5P"`` (default) or ``"Rodas4"``, Rosenbrock methods run inside numba between events
        (forward differences for the Jacobian over groups of columns that share no row, sparse LU), or ``"LSODA"`` (scipy, stepped from Python; the reference).
    engine : how the Rosenbrock methods run the model's formulas: ``"interpreted"`` (register programs in
        one fixed kernel: nothing compiles), ``"compiled"`` (the same programs compiled to machine code for
        this model, 1.5-15x faster per simulation, cached on disk; compiling takes ~3 ms per instruction, e.g.
        1.6 s for BIOMD0000000537; see :mod:`il6sim.sbml_native`) or ``"auto"`` (interpreted for a model's
        first simulation in a process unless its compiled code is cached, compiled from the second on for
        programs up to ``AUTO_COMPILE_MAX`` instructions). Results agree bit for bit.
    seed : seeds the random order of events due at one time with equal priority (SBML leaves it random).
    throw : raise :class:`~il6sim.errors.SolverError` on failure; otherwise return a failed Result
        with NaN rows from the failure on.
    """
    from scipy.integrate import LSODA

    if method not in (*METHODS, "LSODA"):
        from .errors import UnknownNameError

        raise UnknownNameError(f"unknown method '{method}' for a general SBML model{suggest(method, [*METHODS, 'LSODA'])}"
                               f" (methods: {', '.join([*METHODS, 'LSODA'])})")
    if engine not in ENGINES:
        from .errors import UnknownNameError

        raise UnknownNameError(f"unknown engine '{engine}'{suggest(engine, ENGINES)} (engines: {', '.join(ENGINES)})")
    t_out = np.asarray(t_eval, dtype=np.float64).ravel()
    if t_out.size and (t_out[0] < 0 or np.any(np.diff(t_out) < 0) or not np.all(np.isfinite(t_out))):
        raise ValueError("t_eval must be finite, non-decreasing and >= 0")
    started = _time.perf_counter()
    low = _lower(model)
    run = _Run(model, low, _initial_registers(model, low, parameters or {}, initial))
    n_out = len(model.outputs)
    out = np.full((t_out.size, n_out), np.nan)
    k = 0  # next output row

    def emit(upto: float, inclusive: bool, sol: Any = None) -> None:
        nonlocal k
        j = k
        while j < t_out.size and (t_out[j] < upto or (inclusive and t_out[j] == upto)):
            j += 1
        if j == k:
            return
        ts = t_out[k:j]
        ys = np.atleast_2d(sol(ts).T) if sol is not None else np.tile(run.y, (j - k, 1))
        out[k:j] = run.values(ts, ys.reshape(j - k, len(model.states)))
        k = j

    events = model.events
    actions = _protocol_actions(model, protocol)
    prev = np.array([ev.initial_value for ev in events], dtype=bool)
    pending: list[_Pending] = []
    counter = 0
    rng = np.random.default_rng(seed)
    stats: dict[str, Any] = {"steps": 0, "rhs": 0, "events": 0}

    def priority(i: int) -> float:
        r = low.priority_regs[i]
        return -math.inf if r is None else float(run.regs[r])

    def current(i: int) -> tuple[tuple[str, float], ...]:  # event i's assignment values now
        return tuple((v, float(run.regs[r])) for v, r in low.assign_regs[i])

    def apply_actions(t: float) -> None:  # the protocol's doses and parameter changes due at t, in order
        while actions and actions[0].time_h <= t:
            a = actions.pop(0)
            if isinstance(a, AddConcentration):
                run.assign([(a.species, run.value_of(a.species) + a.delta_nM)])
            elif isinstance(a, SetParameter):
                run.assign([(a.name, a.value)])
            else:
                run.assign([(a.name, run.value_of(a.name) * a.factor)])

    def process(t: float) -> None:
        nonlocal prev, counter, pending
        apply_actions(t)
        ready: list[_Pending] = []
        for _ in range(_MAX_EVENTS_PER_TIME):
            trig = run.triggers(t, run.y) if events else prev
            run.event_math(t)
            for i in np.flatnonzero(trig & ~prev):
                ev = events[i]
                keep = current(int(i)) if ev.use_values_from_trigger_time else None
                if ev.delay is None:
                    ready.append(_Pending(t, counter, int(i), keep))
                else:
                    d = float(run.regs[low.delay_regs[i]])  # type: ignore[index]
                    if not d >= 0:
                        raise SbmlModelError(f"event #{i + 1}: its delay is {d} at t = {t}; delays must be >= 0",
                                             construct="negative delay")
                    pending.append(_Pending(t + d, counter, int(i), keep))
                counter += 1
            prev = trig
            ready = [p for p in ready if events[p.event].persistent or trig[p.event]]
            pending = [p for p in pending if events[p.event].persistent or trig[p.event]]
            due = ready + [p for p in pending if p.time <= t]
            if not due:
                return
            top = max(priority(p.event) for p in due)
            tied = sorted((p for p in due if priority(p.event) == top), key=lambda p: (p.event, p.order))
            # SBML: events due together with equal priorities execute in random order
            best = tied[int(rng.integers(len(tied)))] if len(tied) > 1 and top > -math.inf else tied[0]
            (ready if best in ready else pending).remove(best)
            run.assign(best.values if best.values is not None else current(best.event))
            stats["events"] += 1
        raise SolverError(f"more than {_MAX_EVENTS_PER_TIME} events at t = {t}: an event loop?")

    def _integrate_jit(t: float, t_end: float, method: str) -> None:
        """The Rosenbrock integrator in numba between events (see _program.rodas_segment)."""
        nonlocal k, prev
        mi = METHODS[method]
        tab = (TAB_A[mi], TAB_C[mi], TAB_M[mi], TAB_H[mi], float(TAB_GAMMA[mi]), int(TAB_STAGES[mi]),
               float(TAB_ERR_EXP[mi]))
        n_state = len(model.states)
        atol_v = np.full(n_state + 1, float(atol))
        y_out = np.full((t_out.size, n_state), np.nan)
        memory = run.root_values(t, run.y)  # side of each root function (its last non-zero value; 0: unknown)
        h = 0.0
        seg = np.zeros(4, dtype=np.int64)
        # a root function that changes sign twice within one step goes unseen: with root functions, steps are
        # at most 1/100 of the simulated span unless max_step says otherwise
        hmax = float(max_step) if math.isfinite(max_step) else (t_end / 100.0 if low.root_regs.size else math.inf)
        main, roots, triggers = _integrator_programs(low, engine)
        stats["engine"] = "interpreted" if main is low.main else "compiled"
        while t < t_end:
            stop = min([t_end, *(p.time for p in pending if p.time > t), *(a.time_h for a in actions if a.time_h > t)])
            at_event = any(p.time == stop for p in pending) or any(a.time_h == stop for a in actions)
            io_hi = int(np.searchsorted(t_out, stop, side="left" if at_event else "right"))
            g0 = run.root_values(t, run.y)
            g0 = np.where(g0 == 0.0, memory, g0)
            y = run.y.copy()
            seen = prev.copy()  # the segment updates it where it adopts a change at the restart
            status, t, io, h = rodas_segment(main, roots, triggers, run.regs, 0, low.state_regs,
                                             low.deriv_regs, low.root_regs, low.zc_pos, low.zc_neg, low.trigger_regs,
                                             seen, g0, y, t, stop, t + 2.2e-14 * max(1.0, abs(t)), t_out, k, io_hi,
                                             y_out, float(rtol), atol_v, h, hmax, 10**6, *tab, seg, low.plan)
            prev = seen
            if io > k:
                out[k:io] = run.values(t_out[k:io], y_out[k:io])
                k = io
            run.y = y
            if status in (SEG_FAILED, SEG_MAX_STEPS):
                raise SolverError(f"{method} {'failed' if status == SEG_FAILED else 'took 1e6 steps'} at t = {t}")
            g = run.root_values(t, run.y)
            # on a root exactly: past it where reaching 0 already changed the relation's truth (x >= a), else
            # still before it (x > a), so the next move away from 0 is, or is not, a crossing
            zc = np.where(g0 > 0, low.zc_pos, low.zc_neg)
            memory = np.where(g != 0.0, g, np.where(zc, -g0, g0))
            process(t)
            emit(t, inclusive=True)
        stats["steps"] += int(seg[0])
        stats["rejected"] = int(seg[1])
        stats["rhs"] += int(seg[2])
        stats["jacobians"] = int(seg[3])

    t = 0.0
    status, message = "success", ""
    t_end = float(t_out[-1]) if t_out.size else 0.0
    n_state = len(model.states)

    def crossing(j: int, t0: float, f0: float, t1: float, f1: float, dense: Any, zero_crosses: bool = True) -> float:
        """Root function j changes sign strictly between f0 at t0 and f1 at t1: the first time it has left f0's
        sign (reached 0, or with ``zero_crosses=False`` f1's sign); Illinois regula falsi, ~1e-15 relative."""
        old = math.copysign(1.0, f0)
        side = 0
        for _ in range(200):
            if t1 - t0 <= 1e-15 * max(1.0, abs(t1)):
                break
            c = (t0 * f1 - t1 * f0) / (f1 - f0)
            if not t0 < c < t1:
                c = 0.5 * (t0 + t1)
            fc = float(run.root_values(c, dense(c))[j])
            if fc * old > 0 or (fc == 0.0 and not zero_crosses):  # not crossed yet
                t0, f0 = c, fc
                if side == -1:
                    f1 *= 0.5
                side = -1
            else:
                t1, f1 = c, fc
                if side == 1:
                    f0 *= 0.5
                side = 1
        return t1

    def first_change(t0: float, t1: float, dense: Any, v0: np.ndarray) -> float | None:
        """The earliest time in (t0, t1] where a root function changes sign or a trigger changes."""
        best: float | None = None
        if v0.size:
            v1 = run.root_values(t1, dense(t1))
            for j in np.flatnonzero(v0 * v1 < 0):
                hi, fh = t1, float(v1[j])
                if best is not None:
                    hi, fh = best, float(run.root_values(best, dense(best))[j])
                    if not fh * v0[j] < 0:
                        continue
                at = crossing(int(j), t0, float(v0[j]), hi, fh, dense)
                if run.root_values(at, dense(at))[j] == 0.0 and not (
                        events and np.any(run.triggers(at, dense(at)) != prev)):
                    # exactly on the root with no trigger changed (a strict relation such as x > a): the event is
                    # where the function is strictly past 0
                    at = crossing(int(j), at, -math.copysign(1e-300, fh), hi, fh, dense, zero_crosses=False)
                best = at
        if best is None and events and np.any(run.triggers(t1, dense(t1)) != prev):
            lo, hi = t0, t1  # a trigger changed without a root function crossing: bisect on the trigger itself
            while hi - lo > 1e-15 * max(1.0, abs(hi)):
                mid = 0.5 * (lo + hi)
                if mid <= lo or mid >= hi:
                    break
                if np.any(run.triggers(mid, dense(mid)) != prev):
                    hi = mid
                else:
                    lo = mid
            best = hi
        return best

    try:
        process(t)
        emit(t, inclusive=True)
        if method != "LSODA":
            _integrate_jit(t, t_end, method)
            t = t_end
        while t < t_end:
            stop = min([t_end, *(p.time for p in pending if p.time > t), *(a.time_h for a in actions if a.time_h > t)])
            at_event = any(p.time == stop for p in pending) or any(a.time_h == stop for a in actions)
            g0 = run.root_values(t, run.y)
            if n_state:
                solver = LSODA(run.rhs, t, run.y, stop, rtol=rtol, atol=atol, max_step=max_step)
            while True:
                t_old = t
                if n_state:
                    msg = solver.step()
                    stats["steps"] += 1
                    if solver.status == "failed":
                        raise SolverError(f"LSODA failed at t = {solver.t}: {msg}")
                    if solver.t <= t_old and solver.status != "finished":  # stuck an ulp short of a switch
                        raise SolverError(f"LSODA stopped making progress at t = {solver.t} (a discontinuity "
                                          "it cannot step over); use method='Rodas5P', which stops at it")
                    t_new, dense = solver.t, solver.dense_output()
                else:  # no ODE: only time passes (assignment rules and triggers may depend on it)
                    y_keep = run.y.copy()
                    t_new = stop

                    def dense(tt: Any, _y: np.ndarray = y_keep) -> np.ndarray:
                        return _y if np.ndim(tt) == 0 else np.tile(_y[:, None], (1, np.size(tt)))
                cut = first_change(t_old, t_new, dense, g0)
                if cut is not None:
                    emit(cut, inclusive=False, sol=dense)
                    t, run.y = cut, np.array(dense(cut), dtype=np.float64)
                    break
                emit(t_new, inclusive=not (t_new == stop and at_event), sol=dense)
                t, run.y = t_new, np.array(solver.y if n_state else dense(t_new), dtype=np.float64)
                g0 = run.root_values(t, run.y)
                if t >= stop:
                    break
            process(t)
            emit(t, inclusive=True)
    except (SolverError, FloatingPointError, ZeroDivisionError) as e:
        if throw:
            raise SolverError(f"SBML model '{model.name}': {e}") from None
        status, message = "failed", str(e)
    n_species = len(model.sbml.species)
    provenance = {"model": model.name, "source": model.source, "status": status, "message": message,
                  "solver": {"name": f"{method}+events", "rtol": rtol, "atol": atol, **stats},
                  "wall_s": _time.perf_counter() - started, "il6sim_version": __version__,
                  "species_unit": "model units", "species_units": dict(model.species_units),
                  "parameters": dict(parameters or {})}
    return Result(time_h=t_out, species=tuple(model.outputs[:n_species]), values=out[:, :n_species],
                  observable_ids=tuple(model.outputs[n_species:]), observable_values=out[:, n_species:],
                  observable_units=tuple("" for _ in model.outputs[n_species:]), provenance=provenance)


def steady_state_sbml(model: SbmlModel, *, parameters: Mapping[str, float] | None = None,
                      initial: Mapping[str, float] | None = None, rtol: float = 1e-10, atol: float = 1e-14,
                      t_max: float = 1e9) -> dict[str, float]:
    """Integrate until every derivative is negligible; return the states as ``initial`` overrides.

    Converged when ``|dy/dt| * t <= atol + rtol * |y|`` for every state (what would still change over the
    time already integrated is below the tolerance), checked after each step; events are not applied
    (a model with events is refused). The values are keyed as :func:`simulate_sbml`'s ``initial`` takes
    them: species in the unit their column reports, other states by id.

    Raises
    ------
    SolverError
        When no steady state is reached by ``t_max``.
    """
    from scipy.integrate import LSODA

    if model.events:
        raise SolverError(f"SBML model '{model.name}' has events; a steady state is not defined here")
    low = _lower(model)
    run = _Run(model, low, _initial_registers(model, low, parameters or {}, initial))
    out: dict[str, float] = {}
    if model.states:
        solver = LSODA(run.rhs, 0.0, run.y, t_max, rtol=rtol, atol=atol)
        t_prev = -math.inf
        while True:
            msg = solver.step()
            if solver.status == "failed" or solver.t <= t_prev:
                raise SolverError(f"SBML model '{model.name}': no steady state (LSODA failed at t = {solver.t}: "
                                  f"{msg or 'no progress'})")
            y, t = solver.y, solver.t
            t_prev = t
            f = run.rhs(t, y)
            if np.all(np.abs(f) * max(t, 1.0) <= atol + rtol * np.abs(y)):
                break
            if solver.status == "finished":
                raise SolverError(f"SBML model '{model.name}': no steady state by t = {t_max:g}")
        run.y = np.array(solver.y)
    values = run.values(np.zeros(1), run.y[None, :])[0]
    column = dict(zip(model.outputs, values.tolist()))
    for name in model.states:
        species = name[7:-1] if name.startswith("amount(") else None
        key = species if species is not None else name
        out[key] = column.get(key, float(run.y[run.state_index[name]]))
    return out


class SbmlCompiled:
    """An :class:`SbmlModel` seen through the few attributes the estimation engine reads from a
    :class:`~il6sim.compiled.CompiledNetwork`: a parameter vector over the model's constants, "species"
    columns that are the result columns (a value in ``y0`` overrides that column's initial value; NaN
    keeps the file's), and :meth:`simulate_rows`, one :func:`simulate_sbml` per parameter row."""

    observable_ids: tuple[str, ...] = ()

    def __init__(self, model: SbmlModel) -> None:
        self.model = model
        self.parameter_ids = tuple(model.constants)
        self.parameter_index = {p: i for i, p in enumerate(self.parameter_ids)}
        self.species_ids = tuple(model.outputs)
        self.n_species = len(self.species_ids)
        self.x0 = np.full(self.n_species, np.nan)

    def parameter_vector(self, overrides: Mapping[str, float] | None = None) -> np.ndarray:
        p = np.array([self.model.constants[k] for k in self.parameter_ids], dtype=np.float64)
        for k, v in (overrides or {}).items():
            p[self.parameter_index[k]] = v
        return p

    def observables(self, states: np.ndarray) -> np.ndarray:
        return np.zeros((states.shape[0], 0))

    def simulate_rows(self, p: np.ndarray, y0: np.ndarray, times: np.ndarray, *, rtol: float, atol: float,
                      preeq: tuple[np.ndarray, np.ndarray] | None = None, steady_rows: bool = False
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """States ``(n_rows, n_times, n_columns)``, steady states ``(n_rows, n_columns)`` (NaN unless
        ``steady_rows``) and success per row. ``preeq``: (parameters, initial overrides) of a
        preequilibration, whose steady state is the start (``y0``'s values still override it)."""
        n = p.shape[0]
        out = np.full((n, times.size, self.n_species), np.nan)
        steady = np.full((n, self.n_species), np.nan)
        ok = np.zeros(n, dtype=bool)
        for r in range(n):
            params = dict(zip(self.parameter_ids, p[r].tolist()))
            init = {k: float(v) for k, v in zip(self.species_ids, y0[r]) if not math.isnan(v)}
            try:
                if preeq is not None:
                    pre_init = {k: float(v) for k, v in zip(self.species_ids, preeq[1][r]) if not math.isnan(v)}
                    start = steady_state_sbml(self.model, parameters=dict(zip(self.parameter_ids, preeq[0][r].tolist())),
                                              initial=pre_init, rtol=rtol, atol=atol)
                    init = {**start, **init}
                if times.size:
                    res = simulate_sbml(self.model, times, parameters=params, initial=init, rtol=rtol, atol=atol,
                                        throw=False)
                    if not res.success:
                        continue
                    out[r, :, : len(res.species)] = res.values
                    out[r, :, len(res.species):] = res.observable_values
                if steady_rows:
                    ss = steady_state_sbml(self.model, parameters=params, initial=init, rtol=rtol, atol=atol)
                    res = simulate_sbml(self.model, [0.0], parameters=params, initial={**init, **ss}, throw=False)
                    steady[r, : len(res.species)] = res.values[0]
                    steady[r, len(res.species):] = res.observable_values[0]
            except (SbmlModelError, SolverError):
                continue
            ok[r] = True
        return out, steady, ok
