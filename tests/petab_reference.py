"""Independent reference evaluator of PEtab v1 log-likelihoods (a test oracle).

This module deliberately imports nothing from ``il6sim``: it is the independent reading of a PEtab problem
against which il6sim's parameter-estimation layer is checked. It reads the SBML model with python-libsbml,
turns every kinetic law into a sympy expression (``libsbml.formulaToL3String`` -> ``parse_expr``), builds the
right-hand side from the stoichiometry itself, integrates it with ``scipy.integrate.solve_ivp`` at tight
tolerances and evaluates the likelihood with the formulas below.

Sources used
------------
* PEtab v1 data format specification (Schmiester et al. 2021, PLoS Comput Biol 17:e1008646; the document
  ``doc/v1/documentation_data_format.rst`` of github.com/PEtab-dev/PEtab), sections "Condition table",
  "Measurement table", "Observables table", "Noise distributions" and "Parameter table". In particular:
  nominal values are on linear scale whatever ``parameterScale`` says; condition-table columns are parameter
  ids (override the model value) or species ids (initial value; concentration unless
  ``hasOnlySubstanceUnits``; it overrides the SBML value and the preequilibration result, NaN keeps them);
  ``observableParameter{n}_{obsId}`` / ``noiseParameter{n}_{obsId}`` placeholders are replaced per
  measurement row by the ``;``-separated numbers or parameter ids of that row; ``observableTransformation``
  (default ``lin``) applies to measurement and simulation alike; ``noiseDistribution`` (default ``normal``)
  gives sigma as standard deviation (normal) or scale (Laplace) *on the transformed scale*.
* The "Noise distributions" section defines the densities of the measurement m given the simulation y
  (here written as negative log-densities, h = identity / ln / log10):

  ===========  =========  ==========================================================================
  noise        transf.    nllh per data point
  ===========  =========  ==========================================================================
  normal       lin        0.5*ln(2*pi*sigma^2) + 0.5*((y - m)/sigma)^2
  normal       log        0.5*ln(2*pi*sigma^2) + 0.5*((ln y - ln m)/sigma)^2 + ln(m)
  normal       log10      0.5*ln(2*pi*sigma^2) + 0.5*((log10 y - log10 m)/sigma)^2 + ln(m*ln(10))
  laplace      lin        ln(2*sigma) + |y - m|/sigma
  laplace      log        ln(2*sigma) + |ln y - ln m|/sigma + ln(m)
  laplace      log10      ln(2*sigma) + |log10 y - log10 m|/sigma + ln(m*ln(10))
  ===========  =========  ==========================================================================

  The ``+ ln(m)`` / ``+ ln(m ln 10)`` terms are the change of variables from the transformed to the linear
  measurement (the 1/m and 1/(m ln 10) factors of the spec's log-normal / log10-normal / log-Laplace
  densities). The same six expressions are in libpetab-python's ``petab.v1.calculate.calculate_single_llh``
  (written out there in the form 0.5*ln(2*pi*sigma^2*m^2*ln(10)^2) + ...), which was read only to confirm
  the formulas; no code was taken from it. The returned value is llh = -sum(nllh) (PEtab sign: higher is
  better); it is a log-likelihood *without* parameter priors.

What is supported (and everything else is refused with an error rather than silently misread)
------------------------------------------------------------------------------------------------
SBML: constant-size compartments (no initial assignments/conditions on them), species as concentrations
(``hasOnlySubstanceUnits=false``, state = concentration, d[S]/dt = sum(stoich*rate)/V) or amounts,
boundary or constant species held fixed, global parameters, kinetic-law local parameters, constant
stoichiometries, initial assignments (to species or parameters), function definitions (expanded by
libsbml). Not supported: rules, events, delays, fast reactions, variable stoichiometry. Time-dependent
right-hand sides cannot be preequilibrated. PEtab: one problem entry, one SBML model, the tables above,
noise formulas that do not refer to the observable itself.
"""

from __future__ import annotations

import keyword
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import libsbml
import numpy as np
import pandas as pd
import sympy as sp
import yaml
from scipy.integrate import solve_ivp
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

__all__ = ["PetabReferenceError", "nllh_terms", "reference_llh", "reference_simulations"]

_TIME = "time"
_TRANSFORMS = {"lin", "log", "log10"}
_DISTRIBUTIONS = {"normal", "laplace"}


class PetabReferenceError(ValueError):
    """A PEtab problem (or part of one) that this reference evaluator does not support or cannot read."""


# --------------------------------------------------------------------------------------------------------
# likelihood
# --------------------------------------------------------------------------------------------------------


def nllh_terms(measurement, simulation, sigma, transformation="lin", distribution="normal") -> np.ndarray:
    """Negative log-likelihood of each data point (PEtab v1 "Noise distributions", see module docstring).

    ``measurement`` and ``simulation`` are on linear scale; ``sigma`` is on the transformed scale.
    ``transformation`` and ``distribution`` may be scalars or per-point arrays.
    """
    m, y, s = np.broadcast_arrays(
        np.asarray(measurement, dtype=float), np.asarray(simulation, dtype=float), np.asarray(sigma, dtype=float)
    )
    trans = np.broadcast_to(np.asarray(transformation, dtype=object), m.shape)
    dist = np.broadcast_to(np.asarray(distribution, dtype=object), m.shape)
    out = np.empty(m.shape, dtype=float)
    for idx in np.ndindex(m.shape):
        out[idx] = _nllh_one(float(m[idx]), float(y[idx]), float(s[idx]), str(trans[idx]), str(dist[idx]))
    return out


def _nllh_one(m: float, y: float, sigma: float, trans: str, dist: str) -> float:
    if trans not in _TRANSFORMS:
        raise PetabReferenceError(f"unknown observableTransformation {trans!r}")
    if dist not in _DISTRIBUTIONS:
        raise PetabReferenceError(f"unknown noiseDistribution {dist!r}")
    if not sigma > 0:
        raise PetabReferenceError(f"noise parameter must be positive, got {sigma}")
    if trans == "lin":
        r, jac = y - m, 0.0
    else:
        if not (m > 0 and y > 0):
            # a non-positive value has zero density under a log-transformed noise model
            return math.inf
        if trans == "log":
            r, jac = math.log(y) - math.log(m), math.log(m)
        else:
            r, jac = math.log10(y) - math.log10(m), math.log(m * math.log(10.0))
    if dist == "normal":
        return 0.5 * math.log(2.0 * math.pi * sigma**2) + 0.5 * (r / sigma) ** 2 + jac
    return math.log(2.0 * sigma) + abs(r) / sigma + jac


# --------------------------------------------------------------------------------------------------------
# formula parsing (only on SBML / PEtab formula strings from the problem files)
# --------------------------------------------------------------------------------------------------------


def _log_sbml(*args):
    # SBML L3 infix: log(x) is log10(x), log(b, x) is the base-b logarithm
    if len(args) == 1:
        return sp.log(args[0], 10)
    if len(args) == 2:
        return sp.log(args[1], args[0])
    raise PetabReferenceError("log() takes one or two arguments")


def _log_petab(*args):
    # PEtab v1 (sympy convention): log(x) is the natural logarithm, log(x, b) the base-b one
    if len(args) in (1, 2):
        return sp.log(*args)
    raise PetabReferenceError("log() takes one or two arguments")


_COMMON_FUNCS = {
    "exp": sp.exp,
    "ln": sp.log,
    "log10": lambda x: sp.log(x, 10),
    "log2": lambda x: sp.log(x, 2),
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "pow": sp.Pow,
    "power": sp.Pow,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "tanh": sp.tanh,
    "pi": sp.pi,
}


def _parse(text: str, symbols: dict[str, sp.Symbol], *, dialect: str, where: str) -> sp.Expr:
    """Parse a formula string with every id bound to a plain Symbol; refuse names that are not known."""
    text = str(text).strip()
    if not text:
        raise PetabReferenceError(f"{where}: empty formula")
    local = dict(_COMMON_FUNCS)
    if dialect == "sbml":
        local.update({"log": _log_sbml, "exponentiale": sp.E})
    else:
        local.update({"log": _log_petab, "e": sp.E})
    local.update(symbols)  # model ids shadow function names (an id called 'pi' is a symbol, as in SBML)
    global_dict = {
        "__builtins__": {},
        "Integer": sp.Integer,
        "Float": sp.Float,
        "Rational": sp.Rational,
        "Symbol": sp.Symbol,
    }
    try:
        expr = parse_expr(
            text,
            local_dict=local,
            global_dict=global_dict,
            transformations=(*standard_transformations, convert_xor),
            evaluate=True,
        )
    except PetabReferenceError:
        raise
    except Exception as exc:  # any parse failure is a refusal, with the text in the message
        raise PetabReferenceError(f"{where}: cannot parse formula {text!r}: {exc}") from exc
    expr = sp.sympify(expr)
    known = {str(v) for v in symbols.values() if isinstance(v, sp.Symbol)}
    unknown = {str(s) for s in expr.free_symbols} - known
    if unknown:
        raise PetabReferenceError(f"{where}: formula {text!r} uses unknown names {sorted(unknown)}")
    if expr.atoms(sp.core.function.AppliedUndef):
        raise PetabReferenceError(f"{where}: formula {text!r} calls unsupported functions")
    return expr


# --------------------------------------------------------------------------------------------------------
# SBML model -> ODE
# --------------------------------------------------------------------------------------------------------


@dataclass
class _OdeModel:
    species: list[str]  # state order (all species; boundary/constant ones have zero derivative)
    param_ids: list[str]  # global parameters then compartments, in the order of the parameter vector
    param_values: dict[str, float]  # SBML defaults
    compartments: set[str]
    species_init: dict[str, sp.Expr]  # initial value of each species (state meaning), may depend on params
    param_assignments: dict[str, sp.Expr]  # initial assignments to parameters
    rhs: list[sp.Expr]
    uses_time: bool
    symbols: dict[str, sp.Symbol] = field(repr=False)
    _f: object = field(default=None, repr=False)
    _jac: object = field(default=None, repr=False)

    def compile(self) -> None:
        t = self.symbols[_TIME]
        xs = [self.symbols[s] for s in self.species]
        ps = [self.symbols[p] for p in self.param_ids]
        f = sp.lambdify((t, xs, ps), self.rhs, modules="numpy", cse=True)
        jac_expr = sp.Matrix(self.rhs).jacobian(sp.Matrix(xs))
        j = sp.lambdify((t, xs, ps), jac_expr, modules="numpy", cse=True)
        n = len(xs)
        self._f = lambda tt, x, p: np.asarray(f(tt, x, p), dtype=float).reshape(n)
        self._jac = lambda tt, x, p: np.asarray(j(tt, x, p), dtype=float).reshape(n, n)

    def f(self, t, x, p):
        return self._f(t, x, p)

    def jac(self, t, x, p):
        return self._jac(t, x, p)


def _require(cond: bool, msg: str) -> None:
    if not cond:
        raise PetabReferenceError(msg)


def _ast_to_string(math_ast: libsbml.ASTNode) -> str:
    node = math_ast.deepCopy()

    def visit(n: libsbml.ASTNode) -> None:
        tp = n.getType()
        _require(tp != libsbml.AST_FUNCTION_DELAY, "delay() is not supported")
        _require(tp not in (libsbml.AST_FUNCTION_PIECEWISE,), "piecewise() is not supported")
        if tp == libsbml.AST_NAME_TIME:
            n.setName(_TIME)
        _require(tp != libsbml.AST_NAME_AVOGADRO, "avogadro is not supported")
        for i in range(n.getNumChildren()):
            visit(n.getChild(i))

    visit(node)
    text = libsbml.formulaToL3String(node)
    _require(text is not None, "libsbml could not write a formula")
    return text


def _load_sbml(path: Path) -> _OdeModel:
    doc = libsbml.readSBMLFromFile(str(path))
    _require(
        doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) + doc.getNumErrors(libsbml.LIBSBML_SEV_FATAL) == 0,
        f"{path}: SBML read errors: {doc.getErrorLog().toString()}",
    )
    if doc.getModel() is not None and doc.getModel().getNumFunctionDefinitions():
        props = libsbml.ConversionProperties()
        props.addOption("expandFunctionDefinitions", True)
        _require(doc.convert(props) == libsbml.LIBSBML_OPERATION_SUCCESS, "could not expand function definitions")
    model = doc.getModel()
    _require(model is not None, f"{path}: no model")
    _require(model.getNumRules() == 0, "SBML rules (assignment/rate/algebraic) are not supported")
    _require(model.getNumEvents() == 0, "SBML events are not supported")

    ids: list[str] = []
    compartments: dict[str, float] = {}
    for c in model.getListOfCompartments():
        _require(c.isSetSize(), f"compartment {c.getId()} has no size")
        _require(c.getConstant(), f"compartment {c.getId()} is not constant")
        compartments[c.getId()] = float(c.getSize())
        ids.append(c.getId())
    params: dict[str, float] = {}
    for p in model.getListOfParameters():
        _require(p.getConstant(), f"parameter {p.getId()} is not constant (would need a rule)")
        params[p.getId()] = float(p.getValue()) if p.isSetValue() else math.nan
        ids.append(p.getId())
    species = [s.getId() for s in model.getListOfSpecies()]
    ids.extend(species)
    for i in ids + [_TIME]:
        _require(i.isidentifier() and not keyword.iskeyword(i), f"SBML id {i!r} cannot be parsed safely")
    _require(len(set(ids)) == len(ids), "duplicate SBML ids")
    _require(_TIME not in ids, f"an SBML id is called {_TIME!r}")

    symbols = {i: sp.Symbol(i) for i in ids}
    symbols[_TIME] = sp.Symbol(_TIME)

    # initial values of species, in the meaning of the species symbol (concentration unless hOSU)
    species_obj = {s.getId(): s for s in model.getListOfSpecies()}
    species_init: dict[str, sp.Expr] = {}
    for sid, s in species_obj.items():
        vol = compartments[s.getCompartment()]
        amount_state = s.getHasOnlySubstanceUnits()
        if s.isSetInitialConcentration():
            val = s.getInitialConcentration() * (vol if amount_state else 1.0)
        elif s.isSetInitialAmount():
            val = s.getInitialAmount() / (1.0 if amount_state else vol)
        else:
            val = math.nan
        species_init[sid] = sp.Float(val) if not math.isnan(val) else sp.nan

    param_assignments: dict[str, sp.Expr] = {}
    for ia in model.getListOfInitialAssignments():
        target = ia.getSymbol()
        expr = _parse(_ast_to_string(ia.getMath()), symbols, dialect="sbml", where=f"initialAssignment {target}")
        if target in species_obj:
            species_init[target] = expr
        elif target in params:
            param_assignments[target] = expr
        else:
            raise PetabReferenceError(f"initial assignment to {target!r} (compartment?) is not supported")
    for sid, v in species_init.items():
        _require(v is not sp.nan, f"species {sid} has no initial value")

    # reactions -> rhs
    dxdt: dict[str, sp.Expr] = {sid: sp.Integer(0) for sid in species}
    for r in model.getListOfReactions():
        rid = r.getId()
        _require(not (r.isSetFast() and r.getFast()), f"fast reaction {rid} is not supported")
        kl = r.getKineticLaw()
        _require(kl is not None and kl.isSetMath(), f"reaction {rid} has no kinetic law")
        local = dict(symbols)
        local_values: dict[sp.Symbol, float] = {}
        for lp in list(kl.getListOfParameters()) + list(kl.getListOfLocalParameters()):
            sym = sp.Symbol(f"{rid}__local__{lp.getId()}")
            local[lp.getId()] = sym  # a local parameter shadows the global id inside its kinetic law
            local_values[sym] = float(lp.getValue())
        expr = _parse(_ast_to_string(kl.getMath()), local, dialect="sbml", where=f"kinetic law of {rid}")
        rate = expr.subs(local_values)
        for ref, sign in [(x, -1) for x in r.getListOfReactants()] + [(x, +1) for x in r.getListOfProducts()]:
            _require(not ref.isSetStoichiometryMath(), f"{rid}: stoichiometryMath is not supported")
            if r.getLevel() >= 3:
                _require(ref.getConstant(), f"{rid}: variable stoichiometry is not supported")
                _require(ref.isSetStoichiometry(), f"{rid}: stoichiometry of {ref.getSpecies()} not set")
            stoich = float(ref.getStoichiometry())
            dxdt[ref.getSpecies()] += sign * sp.Float(stoich) * rate

    rhs = []
    for sid in species:
        s = species_obj[sid]
        if s.getBoundaryCondition() or s.getConstant():
            rhs.append(sp.Integer(0))
            continue
        if s.getHasOnlySubstanceUnits():
            rhs.append(dxdt[sid])  # amount state: d(amount)/dt = sum(stoich * rate)
        else:
            rhs.append(dxdt[sid] / symbols[s.getCompartment()])  # concentration in a constant compartment
    uses_time = any(symbols[_TIME] in e.free_symbols for e in rhs)
    om = _OdeModel(
        species=species,
        param_ids=list(params) + list(compartments),
        param_values={**params, **compartments},
        compartments=set(compartments),
        species_init=species_init,
        param_assignments=param_assignments,
        rhs=rhs,
        uses_time=uses_time,
        symbols=symbols,
    )
    om.compile()
    return om


# --------------------------------------------------------------------------------------------------------
# PEtab problem
# --------------------------------------------------------------------------------------------------------


def _read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=True)


def _is_empty(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v.strip() == "")


def _as_number(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


@dataclass
class _Problem:
    model: _OdeModel
    parameters: pd.DataFrame
    conditions: pd.DataFrame
    measurements: pd.DataFrame
    observables: pd.DataFrame


def _load_problem(problem_yaml: str | Path) -> _Problem:
    problem_yaml = Path(problem_yaml)
    base = problem_yaml.parent
    spec = yaml.safe_load(problem_yaml.read_text())
    _require(str(spec.get("format_version")) == "1", f"{problem_yaml}: only PEtab format_version 1 is supported")
    _require(len(spec["problems"]) == 1, "exactly one problem entry is supported")
    prob = spec["problems"][0]
    _require(len(prob["sbml_files"]) == 1, "exactly one SBML file is supported")

    def cat(files) -> pd.DataFrame:
        return pd.concat([_read_tsv(base / f) for f in files], ignore_index=True)

    pfiles = spec["parameter_file"]
    parameters = cat(pfiles if isinstance(pfiles, list) else [pfiles])
    conditions = cat(prob["condition_files"])
    measurements = cat(prob["measurement_files"])
    observables = cat(prob["observable_files"])
    for name, df, cols in [
        ("parameter", parameters, ["parameterId", "parameterScale", "nominalValue", "estimate"]),
        ("condition", conditions, ["conditionId"]),
        ("measurement", measurements, ["observableId", "simulationConditionId", "measurement", "time"]),
        ("observable", observables, ["observableId", "observableFormula", "noiseFormula"]),
    ]:
        missing = set(cols) - set(df.columns)
        _require(not missing, f"{name} table lacks columns {sorted(missing)}")
    _require(parameters["parameterId"].is_unique, "duplicate parameterId")
    _require(conditions["conditionId"].is_unique, "duplicate conditionId")
    _require(observables["observableId"].is_unique, "duplicate observableId")
    model = _load_sbml(base / prob["sbml_files"][0])
    return _Problem(model, parameters, conditions, measurements, observables)


def _problem_parameter_values(problem: _Problem, overrides: dict | None, scaled: bool) -> dict[str, float]:
    """Linear-scale values of all parameter-table parameters (nominal values, then the caller's overrides)."""
    values: dict[str, float] = {}
    scales: dict[str, str] = {}
    for _, row in problem.parameters.iterrows():
        pid = row["parameterId"]
        scale = str(row["parameterScale"]).strip()
        _require(scale in _TRANSFORMS, f"parameter {pid}: unknown parameterScale {scale!r}")
        scales[pid] = scale
        nominal = _as_number(row["nominalValue"])
        values[pid] = math.nan if nominal is None else nominal
    for pid, v in (overrides or {}).items():
        _require(pid in values, f"parameter {pid!r} is not in the parameter table")
        v = float(v)
        if scaled:
            v = {"lin": v, "log": math.exp(v), "log10": 10.0**v}[scales[pid]]
        values[pid] = v
    for pid, v in values.items():
        _require(not math.isnan(v), f"parameter {pid} has no value")
    return values


def _resolve(token, table_values: dict[str, float], model_values: dict[str, float], where: str) -> float:
    num = _as_number(token)
    if num is not None:
        return num
    tok = str(token).strip()
    if tok in model_values:
        return model_values[tok]
    if tok in table_values:
        return table_values[tok]
    raise PetabReferenceError(f"{where}: {tok!r} is neither a number nor a known parameter")


@dataclass
class _ConditionSetup:
    params: dict[str, float]  # model parameter + compartment values under this condition
    species_overrides: dict[str, float]  # species initial values set by the condition (non-NaN cells)


def _condition(problem: _Problem, cond_id: str, table_values: dict[str, float]) -> _ConditionSetup:
    model = problem.model
    rows = problem.conditions[problem.conditions["conditionId"] == cond_id]
    _require(len(rows) == 1, f"condition {cond_id!r} not found in the condition table")
    row = rows.iloc[0]
    # model defaults <- parameter table (for model parameters) <- condition table
    params = dict(model.param_values)
    for pid, v in table_values.items():
        if pid in params:
            _require(pid not in model.compartments, f"parameter table sets compartment {pid}: not supported")
            params[pid] = v
    species_overrides: dict[str, float] = {}
    cond_params: dict[str, object] = {}
    for col in problem.conditions.columns:
        if col in ("conditionId", "conditionName"):
            continue
        cell = row[col]
        if _is_empty(cell) or str(cell).strip().lower() == "nan":
            continue  # keep the model value / the preequilibration result
        if col in model.species:
            species_overrides[col] = _resolve(cell, table_values, params, f"condition {cond_id}, column {col}")
        elif col in model.compartments:
            raise PetabReferenceError(f"condition {cond_id} sets compartment {col}: not supported")
        elif col in params:
            _require(col not in model.param_assignments, f"condition sets {col}, target of an initial assignment")
            cond_params[col] = cell
        else:
            raise PetabReferenceError(f"condition table column {col!r} is not a model id")
    base = dict(params)
    for col, cell in cond_params.items():
        params[col] = _resolve(cell, table_values, base, f"condition {cond_id}, column {col}")
    # initial assignments to parameters (in dependency order: iterate until all are numbers)
    pending = dict(model.param_assignments)
    for _ in range(len(pending) + 1):
        done = []
        for pid, expr in pending.items():
            val = expr.subs({model.symbols[k]: v for k, v in params.items()})
            if not val.free_symbols:
                params[pid] = float(val)
                done.append(pid)
        for pid in done:
            del pending[pid]
    _require(not pending, f"unresolvable parameter initial assignments {sorted(pending)}")
    return _ConditionSetup(params, species_overrides)


def _initial_state(model: _OdeModel, setup: _ConditionSetup) -> np.ndarray:
    subs = {model.symbols[k]: v for k, v in setup.params.items()}
    values: dict[str, float] = {}
    pending = dict(model.species_init)
    for _ in range(len(pending) + 1):  # species initial assignments may refer to other species
        done = []
        for sid, expr in pending.items():
            val = sp.sympify(expr).subs(subs).subs({model.symbols[k]: v for k, v in values.items()})
            if not val.free_symbols:
                values[sid] = float(val)
                done.append(sid)
        for sid in done:
            del pending[sid]
    _require(not pending, f"unresolvable species initial values {sorted(pending)}")
    values.update(setup.species_overrides)
    return np.array([values[s] for s in model.species], dtype=float)


def _pvec(model: _OdeModel, setup: _ConditionSetup) -> np.ndarray:
    return np.array([setup.params[p] for p in model.param_ids], dtype=float)


def _jac_kw(model: _OdeModel, p: np.ndarray, method: str) -> dict:
    """The analytic Jacobian, for the implicit methods that use one."""
    if method in ("LSODA", "Radau", "BDF"):
        return {"jac": lambda t, x: model.jac(t, x, p)}
    return {}


def _integrate(model, x0, p, times, method, rtol, atol) -> np.ndarray:
    """States at the (finite, non-negative) ``times``, integrating from t = 0; shape (len(times), n)."""
    times = np.asarray(times, dtype=float)
    _require(bool(np.all(times >= 0)), "negative measurement times are not supported")
    out = np.empty((len(times), len(x0)))
    if len(times) == 0:
        return out
    t_end = float(times.max())
    at_zero = times == 0.0
    out[at_zero] = x0
    if t_end == 0.0:
        return out
    t_eval = np.unique(times[~at_zero])
    sol = solve_ivp(
        lambda t, x: model.f(t, x, p),
        (0.0, t_end),
        x0,
        method=method,
        t_eval=t_eval,
        rtol=rtol,
        atol=atol,
        **_jac_kw(model, p, method),
    )
    _require(sol.success and sol.y.shape[1] == len(t_eval), f"integration failed: {sol.message}")
    idx = np.searchsorted(t_eval, times[~at_zero])
    out[~at_zero] = sol.y[:, idx].T
    return out


def _steady_state(model, x0, p, method, rtol, atol, ss_rtol=1e-10, ss_atol=1e-12, max_time=1e12) -> np.ndarray:
    """Integrate until max_i |dx_i/dt| / (ss_atol + ss_rtol*|x_i|) <= 1, over growing horizons."""
    _require(not model.uses_time, "steady state of a time-dependent right-hand side is not supported")
    x = np.array(x0, dtype=float)
    horizon, elapsed = 10.0, 0.0
    while elapsed < max_time:
        dx = model.f(0.0, x, p)
        if np.all(np.abs(dx) <= ss_atol + ss_rtol * np.abs(x)):
            return x
        sol = solve_ivp(
            lambda t, xx: model.f(t, xx, p),
            (0.0, horizon),
            x,
            method=method,
            rtol=rtol,
            atol=atol,
            **_jac_kw(model, p, method),
        )
        _require(sol.success, f"integration to steady state failed: {sol.message}")
        x = sol.y[:, -1]
        elapsed += horizon
        horizon *= 4.0
    raise PetabReferenceError(f"no steady state reached within t = {max_time:g}")


def _split_overrides(cell, n_expected: int, kind: str, obs_id: str) -> list:
    if _is_empty(cell):
        parts: list = []
    else:
        parts = [s.strip() for s in str(cell).split(";")]
    _require(len(parts) == n_expected, f"{obs_id}: {n_expected} {kind} expected per row, got {cell!r}")
    return parts


def _placeholders(expr: sp.Expr, prefix: str, obs_id: str) -> int:
    n = 0
    names = {str(s) for s in expr.free_symbols}
    while f"{prefix}{n + 1}_{obs_id}" in names:
        n += 1
    extra = {nm for nm in names if nm.startswith(prefix) and nm.endswith(f"_{obs_id}")} - {
        f"{prefix}{i}_{obs_id}" for i in range(1, n + 1)
    }
    _require(not extra, f"{obs_id}: placeholder numbering has gaps: {sorted(extra)}")
    return n


def reference_simulations(
    problem_yaml: str | Path,
    parameters: dict | None = None,
    *,
    scaled: bool = False,
    method: str = "LSODA",
    rtol: float = 1e-12,
    atol: float = 1e-14,
) -> pd.DataFrame:
    """The measurement table with columns ``simulation`` (observable, linear scale), ``sigma`` and ``nllh``.

    ``parameters`` maps parameter-table ids to values that replace the nominal values; they are on linear
    scale unless ``scaled=True`` (then on each parameter's ``parameterScale``).
    """
    problem = _load_problem(problem_yaml)
    model = problem.model
    table_values = _problem_parameter_values(problem, parameters, scaled)
    meas = problem.measurements.copy()
    meas["measurement"] = pd.to_numeric(meas["measurement"], errors="raise").astype(float)
    meas["time"] = [math.inf if str(t).strip().lower() in ("inf", "+inf") else float(t) for t in meas["time"]]
    if "preequilibrationConditionId" not in meas.columns:
        meas["preequilibrationConditionId"] = np.nan
    for col in ("observableParameters", "noiseParameters"):
        if col not in meas.columns:
            meas[col] = np.nan

    # observables: symbols for every model id, parameter-table id and this observable's placeholders
    obs_table = problem.observables.set_index("observableId")
    base_symbols = dict(model.symbols)
    for pid in table_values:
        base_symbols.setdefault(pid, sp.Symbol(pid))
    compiled: dict[str, dict] = {}
    for obs_id, orow in obs_table.iterrows():
        _require(obs_id not in base_symbols, f"observable id {obs_id} clashes with a model/parameter id")
        syms = dict(base_symbols)
        own = re.compile(rf"\b(?:observableParameter|noiseParameter)\d+_{re.escape(str(obs_id))}\b")
        for formula_col in ("observableFormula", "noiseFormula"):
            for tok in own.findall(str(orow[formula_col])):  # only this observable's placeholders
                syms.setdefault(tok, sp.Symbol(tok))
        y_expr = _parse(orow["observableFormula"], syms, dialect="petab", where=f"observableFormula of {obs_id}")
        s_expr = _parse(orow["noiseFormula"], syms, dialect="petab", where=f"noiseFormula of {obs_id}")
        trans = orow.get("observableTransformation", np.nan)
        dist = orow.get("noiseDistribution", np.nan)
        trans = "lin" if _is_empty(trans) else str(trans).strip()
        dist = "normal" if _is_empty(dist) else str(dist).strip()
        _require(trans in _TRANSFORMS, f"{obs_id}: unknown observableTransformation {trans!r}")
        _require(dist in _DISTRIBUTIONS, f"{obs_id}: unknown noiseDistribution {dist!r}")
        n_obs = _placeholders(y_expr, "observableParameter", obs_id)
        n_noise = _placeholders(s_expr, "noiseParameter", obs_id)
        _require(_placeholders(y_expr, "noiseParameter", obs_id) == 0, f"{obs_id}: noise placeholder in observable")
        y_syms = sorted(y_expr.free_symbols, key=str)
        s_syms = sorted(s_expr.free_symbols, key=str)
        compiled[obs_id] = {
            "y": (y_syms, sp.lambdify(y_syms, y_expr, modules="math")),
            "s": (s_syms, sp.lambdify(s_syms, s_expr, modules="math")),
            "trans": trans,
            "dist": dist,
            "n_obs": n_obs,
            "n_noise": n_noise,
        }

    sim = np.full(len(meas), np.nan)
    sigma = np.full(len(meas), np.nan)
    trans_col = np.empty(len(meas), dtype=object)
    dist_col = np.empty(len(meas), dtype=object)
    preeq_key = meas["preequilibrationConditionId"].map(lambda v: "" if _is_empty(v) else str(v).strip())
    setups: dict[str, _ConditionSetup] = {}

    def setup_of(cid: str) -> _ConditionSetup:
        if cid not in setups:
            setups[cid] = _condition(problem, cid, table_values)
        return setups[cid]

    for (pre_id, sim_id), group in meas.groupby([preeq_key, meas["simulationConditionId"].str.strip()], sort=False):
        sim_setup = setup_of(sim_id)
        p_sim = _pvec(model, sim_setup)
        if pre_id:
            pre_setup = setup_of(pre_id)
            x_pre = _steady_state(model, _initial_state(model, pre_setup), _pvec(model, pre_setup), method, rtol, atol)
            x0 = x_pre.copy()
            for sid, v in sim_setup.species_overrides.items():
                x0[model.species.index(sid)] = v
        else:
            x0 = _initial_state(model, sim_setup)
        times = group["time"].to_numpy(dtype=float)
        finite = np.isfinite(times)
        states = np.empty((len(times), len(x0)))
        states[finite] = _integrate(model, x0, p_sim, times[finite], method, rtol, atol)
        if (~finite).any():
            _require(bool(np.all(times[~finite] == math.inf)), "time -inf is not allowed")
            states[~finite] = _steady_state(model, x0, p_sim, method, rtol, atol)

        for k, (ridx, row) in enumerate(group.iterrows()):
            obs_id = str(row["observableId"]).strip()
            _require(obs_id in compiled, f"measurement refers to unknown observable {obs_id!r}")
            c = compiled[obs_id]
            where = f"measurement row {ridx}"
            values: dict[str, float] = dict(table_values)
            values.update(sim_setup.params)
            values.update(zip(model.species, states[k]))
            values[_TIME] = float(times[k])
            for i, tok in enumerate(
                _split_overrides(row["observableParameters"], c["n_obs"], "observableParameters", obs_id)
            ):
                values[f"observableParameter{i + 1}_{obs_id}"] = _resolve(tok, table_values, sim_setup.params, where)
            for i, tok in enumerate(_split_overrides(row["noiseParameters"], c["n_noise"], "noiseParameters", obs_id)):
                values[f"noiseParameter{i + 1}_{obs_id}"] = _resolve(tok, table_values, sim_setup.params, where)
            pos = meas.index.get_loc(ridx)
            y_syms, y_fun = c["y"]
            s_syms, s_fun = c["s"]
            sim[pos] = float(y_fun(*[values[str(s)] for s in y_syms]))
            sigma[pos] = float(s_fun(*[values[str(s)] for s in s_syms]))
            trans_col[pos] = c["trans"]
            dist_col[pos] = c["dist"]

    out = meas  # the measurement table, with ``measurement`` and ``time`` as floats
    out["simulation"] = sim
    out["sigma"] = sigma
    out["observableTransformation"] = trans_col
    out["noiseDistribution"] = dist_col
    out["nllh"] = nllh_terms(meas["measurement"].to_numpy(), sim, sigma, trans_col, dist_col)
    return out


def reference_llh(
    problem_yaml: str | Path,
    parameters: dict | None = None,
    *,
    scaled: bool = False,
    method: str = "LSODA",
    rtol: float = 1e-12,
    atol: float = 1e-14,
) -> float:
    """Log-likelihood (PEtab sign, all normalisation terms, no priors) of a PEtab v1 problem.

    At the nominal values of the parameter table unless ``parameters`` overrides some (see
    :func:`reference_simulations`).
    """
    df = reference_simulations(problem_yaml, parameters, scaled=scaled, method=method, rtol=rtol, atol=atol)
    return -float(df["nllh"].sum())


if __name__ == "__main__":  # pragma: no cover - manual use: print the llh of benchmark problems
    import sys
    import time

    root = Path("/work/shared/petab-benchmark")
    for name in sys.argv[1:] or ["Perelson_Science1996", "Crauste_CellSystems2017"]:
        t0 = time.perf_counter()
        llh = reference_llh(root / name / f"{name}.yaml")
        print(f"{name}: llh = {llh:.10f}  ({time.perf_counter() - t0:.2f} s)")
