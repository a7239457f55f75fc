"""General rate laws without per-model recompilation: two candidates measured side by side (a spike).

The model: a 10-species receptor -> three-kinase cascade -> feedback-protein network with 15 rate
laws: 8 Michaelis-Menten, 2 Hill (a non-integer Hill exponent; an inhibition factor), a stimulus
``piecewise(kin * exp(-(t - t_on)/tau), t >= t_on, 0)`` in time, one power with a species exponent,
one ``log`` and 3 mass-action laws (the species exponent and the log are artificial: they are there
so every opcode is exercised). ``--copies 4`` adds a 40-species, 60-law model (4 independent
copies) to see how costs scale. The same problem is evaluated three ways:

(i)   il6sim's mass-action kernels (``rhs_into``/``jacobian_into`` for one row,
      ``rhs_lanes_into``/``jacobian_lanes_into`` for 4 lanes, as the jitted integrator calls them) on
      the *mass-action twin*: the same species, stoichiometry and Jacobian pattern, each law replaced
      by ``k * product of the species it depends on`` (``k`` chosen so the rates agree at a reference
      state);
(a)   "program": every law lowered to a postfix instruction list (op, operand index, second operand,
      derivative slot, partials flags) over one operand table (species, parameters, constants,
      time), run by ONE fixed ``@njit(cache=True)`` interpreter per kernel (rhs, Jacobian; one row
      and 4 lanes). The Jacobian is forward mode: dual numbers on the stack carrying the partials by
      the few species the law depends on. Interpreter techniques used: leaf-fused ops ("MUL vals[3]"),
      the top of the stack cached in four scalars (4-lane rhs), flags so the dual work is skipped
      where partials are zero, and (variant "(a) + MM op") one Michaelis-Menten superinstruction
      ``(P * S) / (K + S)``. Nothing compiles per model;
(b)   "cfunc": Python source generated per model (straight-line rates; forward-mode partials written
      out with zeros dropped; the Jacobian written straight onto the LU pattern), compiled once per
      model as numba ``cfunc`` s with ``cache=True`` in a module file named by the source's hash, and
      called from fixed jitted code through the function pointer: an ``@intrinsic`` that casts an
      int64 address to a C function pointer (one compiled caller serves every model, and it caches);
      numba's first-class ``FunctionType`` (the cfunc object passed as an argument, arrays passed as
      ``CPointer`` by a second intrinsic) also works with ``cache=True`` in numba 0.68 and is timed too.

It prints: (1) the first evaluation of a NEW model: in this process with the fixed kernels warm, and
in new processes (subprocesses: cfunc cache empty, then hit; the interpreter's one-time compile with
an empty numba cache); (2) per-call cost (median, us) of right-hand side and Jacobian, one row and
4 lanes, and the ratio to the mass-action kernel, then a projection of the per-step cost in
il6sim's lane integrator: its measured step on the mass-action twin plus the kernel differences;
(3) correctness: (a) and (b) against a plain NumPy evaluation of the same expressions (1e-12
relative) and their Jacobians against central finite differences (1e-6).

    python benchmarks/bench_general_laws.py [--repeat 15] [--fresh 3] [--copies 4] [--keep]

About 30-45 s on the 2-core development machine, including (the first time) the compile of this
script's own kernels. The prototypes live here, not in the package. Work files (generated modules and their
numba cache) go to a temporary directory, removed at the end unless ``--keep``; the numba cache of
this script's own kernels is ``benchmarks/__pycache__`` (git-ignored).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.util
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_T_START = time.perf_counter()

import numpy as np  # noqa: E402
from llvmlite import ir  # noqa: E402
from numba import njit, types  # noqa: E402
from numba.core.extending import intrinsic  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from il6sim import _jitsolve, _kernels  # noqa: E402

_T_IMPORTED = time.perf_counter()

# The same options as il6sim's kernels.
_jit = njit(cache=True, nogil=True, error_model="numpy")
L4 = _kernels.LANES  # 4

# --------------------------------------------------------------------------------------------
# The test model: (id, reactants, products, rate law). Rate laws are Python syntax with SBML's names
# (``piecewise(value, condition, otherwise)``, ``exp``, ``log``, ``t``); units nM and h.
SPECIES = {"L": 0.0, "R": 10.0, "Ra": 0.0, "A": 100.0, "Ap": 0.0, "B": 100.0, "Bp": 0.0, "C": 100.0, "Cp": 0.0,
           "G": 0.1}
PARAMS = {"kin": 5.0, "t_on": 1.0, "tau": 2.0, "kL": 0.5, "kR": 2.0, "KmR": 20.0, "VR": 5.0, "KdR": 10.0,
          "kA": 10.0, "KmA": 50.0, "Ki": 5.0, "nI": 2.0, "VA": 50.0, "KdA": 30.0, "kB": 10.0, "KmB": 50.0,
          "VB": 40.0, "KdB": 30.0, "kC": 10.0, "KmC": 50.0, "VC": 40.0, "KdC": 30.0, "vG": 2.0, "KG": 30.0,
          "nH": 2.5, "kG": 0.1, "KE": 10.0, "kint": 0.3, "KL": 1.0, "ksyn": 1.0, "kRd": 0.1}
REACTIONS = [
    ("L_in", {}, {"L": 1}, "piecewise(kin * exp(-(t - t_on) / tau), t >= t_on, 0.0)"),
    ("L_deg", {"L": 1}, {}, "kL * L"),
    ("R_act", {"R": 1}, {"Ra": 1}, "kR * L * R / (KmR + R)"),
    ("R_inact", {"Ra": 1}, {"R": 1}, "VR * Ra / (KdR + Ra)"),
    ("A_phos", {"A": 1}, {"Ap": 1}, "kA * Ra * A / (KmA + A) / (1.0 + (G / Ki) ** nI)"),
    ("A_deph", {"Ap": 1}, {"A": 1}, "VA * Ap / (KdA + Ap)"),
    ("B_phos", {"B": 1}, {"Bp": 1}, "kB * Ap * B / (KmB + B)"),
    ("B_deph", {"Bp": 1}, {"B": 1}, "VB * Bp / (KdB + Bp)"),
    ("C_phos", {"C": 1}, {"Cp": 1}, "kC * Bp * C / (KmC + C)"),
    ("C_deph", {"Cp": 1}, {"C": 1}, "VC * Cp / (KdC + Cp)"),
    ("G_syn", {}, {"G": 1}, "vG * Cp ** nH / (KG ** nH + Cp ** nH)"),
    ("G_deg", {"G": 1}, {}, "kG * G ** (1.0 + Ra / (Ra + KE))"),
    ("R_int", {"Ra": 1}, {}, "kint * Ra * log(1.0 + L / KL)"),
    ("R_syn", {}, {"R": 1}, "ksyn"),
    ("R_deg", {"R": 1}, {}, "kRd * R"),
]

# Correctness only: laws that reach the branches of the dual-number code the cascade does not (species
# in both branches of a piecewise and in its condition, logic, a species base and exponent on the
# stack, a constant-only power of a species exponent, repeated species, chained Michaelis-Menten).
EDGE_SPECIES = {"X": 1.0, "Y": 2.0, "Z": 0.5}
EDGE_PARAMS = {"a": 1.5, "b": 0.7, "k": 2.0}
EDGE_REACTIONS = [
    ("e1", {"X": 1}, {"Y": 1}, "piecewise(a * X * Y, X > Y, b * Z ** 2 - Y)"),
    ("e2", {"Y": 1}, {"Z": 1}, "piecewise(k, (X < 2.0) and not (Z > 3.0), X / (b + Y))"),
    ("e3", {"Z": 1}, {"X": 1}, "-(X - Y) * exp(-Z) + (Y / X) ** (Z + 1.0)"),
    ("e4", {"X": 1}, {"Z": 2}, "log(X + Y) - a ** Z * X"),
    ("e5", {"Y": 1}, {"X": 1}, "k * X / (a + X) * Y / (b + Y)"),
    ("e6", {}, {"Y": 1}, "X * X * X - 2.0 * Y"),
    ("e7", {"Z": 1}, {}, "piecewise(X, Z < 1.0, Y) + piecewise(t, t > 2.0, Z)"),
]
# Four states: X > Y in lanes 0 and 2, Z < 1 in lanes 0 and 1, X < 2 in lanes 1 and 3.
EDGE_POINTS = np.array([[2.5, 0.4, 3.1, 1.2], [1.1, 1.7, 0.6, 2.9], [0.5, 0.8, 1.6, 2.2]])


class Model:
    """The test model as parsed expression trees plus net stoichiometry (plain Python)."""

    def __init__(self, species: dict, params: dict, reactions: list) -> None:
        self.species = list(species)
        self.params = list(params)
        self.x0 = np.array(list(species.values()))
        self.p0 = np.array(list(params.values()))
        self.exprs = [r[3] for r in reactions]
        self.names = [r[0] for r in reactions]
        sidx = {s: i for i, s in enumerate(self.species)}
        pidx = {p: i for i, p in enumerate(self.params)}
        self.trees = [parse(e, sidx, pidx) for e in self.exprs]
        self.deps = [sorted(_species_in(tr)) for tr in self.trees]
        # Net stoichiometry, CSR by reaction.
        self.s_ptr, s_sp, s_coef = [0], [], []
        for _, reac, prod, _ in reactions:
            net: dict[int, float] = {}
            for s, v in reac.items():
                net[sidx[s]] = net.get(sidx[s], 0.0) - v
            for s, v in prod.items():
                net[sidx[s]] = net.get(sidx[s], 0.0) + v
            for s, v in net.items():
                if v != 0.0:
                    s_sp.append(s)
                    s_coef.append(v)
            self.s_ptr.append(len(s_sp))
        self.s_ptr = np.array(self.s_ptr, dtype=np.int64)
        self.s_sp = np.array(s_sp, dtype=np.int64)
        self.s_coef = np.array(s_coef, dtype=float)
        self.n = len(self.species)
        self.n_r = len(reactions)
        self.copies = 1
        self.points: np.ndarray | None = None  # (n, 4) states for the checks, when not the cascade's

    @property
    def stoichiometry(self) -> np.ndarray:
        S = np.zeros((self.n, self.n_r))
        for j in range(self.n_r):
            for a in range(self.s_ptr[j], self.s_ptr[j + 1]):
                S[self.s_sp[a], j] += self.s_coef[a]
        return S

    def pattern(self) -> list[tuple[int, int]]:
        """(row, column) of every structurally non-zero Jacobian entry."""
        out = set()
        for j in range(self.n_r):
            for m in self.deps[j]:
                for a in range(self.s_ptr[j], self.s_ptr[j + 1]):
                    out.add((int(self.s_sp[a]), m))
        return sorted(out)


# --------------------------------------------------------------------------------------------
# Front end: infix text (Python syntax, SBML's function names) -> tree of tuples.
_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_FUN1 = {"exp", "log"}


def parse(expr: str, sidx: dict, pidx: dict) -> tuple:
    """Parse a rate law into ``("s", i) | ("p", i) | ("k", x) | ("t",) | (op, *children)``."""

    def conv(nd: ast.AST) -> tuple:
        if isinstance(nd, ast.BinOp) and type(nd.op) in _BIN:
            return (_BIN[type(nd.op)], conv(nd.left), conv(nd.right))
        if isinstance(nd, ast.UnaryOp) and isinstance(nd.op, ast.USub):
            return ("neg", conv(nd.operand))
        if isinstance(nd, ast.UnaryOp) and isinstance(nd.op, ast.Not):
            return ("not", conv(nd.operand))
        if isinstance(nd, ast.Compare) and len(nd.ops) == 1 and type(nd.ops[0]) in _CMP:
            return (_CMP[type(nd.ops[0])], conv(nd.left), conv(nd.comparators[0]))
        if isinstance(nd, ast.BoolOp):
            op = "and" if isinstance(nd.op, ast.And) else "or"
            out = conv(nd.values[0])
            for v in nd.values[1:]:
                out = (op, out, conv(v))
            return out
        if isinstance(nd, ast.Call) and isinstance(nd.func, ast.Name) and not nd.keywords:
            if nd.func.id in _FUN1 and len(nd.args) == 1:
                return (nd.func.id, conv(nd.args[0]))
            if nd.func.id == "piecewise" and len(nd.args) == 3:
                return ("pw", conv(nd.args[0]), conv(nd.args[1]), conv(nd.args[2]))
        if isinstance(nd, ast.Name):
            if nd.id == "t":
                return ("t",)
            if nd.id in sidx:
                return ("s", sidx[nd.id])
            if nd.id in pidx:
                return ("p", pidx[nd.id])
        if isinstance(nd, ast.Constant) and isinstance(nd.value, int | float) and not isinstance(nd.value, bool):
            return ("k", float(nd.value))
        raise ValueError(f"unsupported construct {ast.dump(nd)[:60]} in rate law {expr!r}")

    return conv(ast.parse(expr, mode="eval").body)


def _species_in(tree: tuple) -> set[int]:
    if tree[0] == "s":
        return {tree[1]}
    if tree[0] in ("p", "k", "t"):
        return set()
    out: set[int] = set()
    for ch in tree[1:]:
        out |= _species_in(ch)
    return out


# --------------------------------------------------------------------------------------------
# The oracle: plain NumPy/Python evaluation of the same text.
def oracle_rates(model: Model, c: np.ndarray, p: np.ndarray, t: float) -> np.ndarray:
    """The laws evaluated by il6sim's safe expression module (NumPy; no eval), independent of (a) and (b)."""
    from il6sim.expr import parse_formula

    env: dict[str, float] = {"t": float(t)}
    env.update({s: float(c[i]) for i, s in enumerate(model.species)})
    env.update({q: float(p[i]) for i, q in enumerate(model.params)})
    return np.array([float(parse_formula(e).evaluate(env)) for e in model.exprs])


def oracle_rhs(model: Model, c: np.ndarray, p: np.ndarray, t: float, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dc/dt, scale): scale = u + |S| |v|, the size of the terms that were summed."""
    v = oracle_rates(model, c, p, t)
    S = model.stoichiometry
    return S @ v + u, np.abs(S) @ np.abs(v) + np.abs(u)


def fd_jacobian(model: Model, c: np.ndarray, p: np.ndarray, t: float) -> np.ndarray:
    """Central finite differences of the oracle right-hand side (relative steps)."""
    n = model.n
    J = np.zeros((n, n))
    u = np.zeros(n)
    for m in range(n):
        h = 1e-5 * max(abs(c[m]), 1e-3)
        cp_, cm_ = c.copy(), c.copy()
        cp_[m] += h
        cm_[m] -= h
        J[:, m] = (oracle_rhs(model, cp_, p, t, u)[0] - oracle_rhs(model, cm_, p, t, u)[0]) / (2 * h)
    return J


# --------------------------------------------------------------------------------------------
# Candidate (a): postfix programs and one fixed interpreter.
# An instruction is (op, arg, arg2, slot, flag). Operands live in one table ``vals`` per lane: species
# [0, n), parameters [n, n + n_p), constants, then time (last). The five arithmetic ops have a
# "leaf" form whose right operand is ``vals[arg]`` ("MUL vals[3]": push-and-apply fused, half the
# stack traffic) and a stack form (S*). ``slot`` >= 0 marks a species operand: its index among
# the law's dependencies, the partial it seeds in the dual numbers of the Jacobian kernels.
PUSH, ADD, SUB, MUL, DIV, POW = range(6)
SADD, SSUB, SMUL, SDIV, SPOW = range(6, 11)
LT, LE, GT, GE, EQ, NE, AND, OR = range(11, 19)
NEG, EXP, LOG, NOT, SELECT = range(19, 24)
MM = 24  # superinstruction: top = top * vals[arg] / (vals[arg2] + vals[arg]) (Michaelis-Menten shape)
_LEAF_OP = {"+": ADD, "-": SUB, "*": MUL, "/": DIV, "**": POW}
_STACK_OP = {"+": SADD, "-": SSUB, "*": SMUL, "/": SDIV, "**": SPOW, "<": LT, "<=": LE, ">": GT, ">=": GE,
             "==": EQ, "!=": NE, "and": AND, "or": OR, "neg": NEG, "exp": EXP, "log": LOG, "not": NOT}
_u = _kernels._u  # unsigned index loads, as in il6sim's kernels (no wrap-around test per access)


class Program:
    """A model lowered to arrays for the interpreter (plain NumPy, ~0.1 ms: what a CompiledNetwork would hold).

    ``pos[row, col]`` is the output position of Jacobian entry (row, col): dense row-major positions
    for an (n, n) matrix, or the positions of the integrator's sparse LU pattern.
    """

    def __init__(self, model: Model, pos: np.ndarray, fuse_mm: bool = False) -> None:
        n, n_p = model.n, len(model.params)
        konst: list[float] = []
        code: list[tuple[int, int, int, int, int]] = []
        prog_ptr, dep_ptr, dep_sp, law_d = [0], [0], [], []
        depth = 0
        for j, tree in enumerate(model.trees):
            slot = {m: d for d, m in enumerate(model.deps[j])}
            start = len(code)
            law_d.append(int(_emit(tree, slot, code, konst, n, n_p, fuse_mm)))
            prog_ptr.append(len(code))
            depth = max(depth, _depth(code[start:]))
            dep_sp.extend(model.deps[j])
            dep_ptr.append(len(dep_sp))
        # Time is the last operand; its index was written as -1 by _emit.
        self.n_vals = n + n_p + len(konst) + 1
        code = [(op, self.n_vals - 1 if arg == -1 else arg, *rest) for op, arg, *rest in code]
        # The partial by dependency d of law j goes, for each stoichiometry entry s of j, to
        # out[jac_pos[jd_ptr[dep_ptr[j] + d] + s - s_ptr[j]]].
        jd_ptr, jac_pos = [0], []
        for j in range(model.n_r):
            for m in model.deps[j]:
                for a in range(model.s_ptr[j], model.s_ptr[j + 1]):
                    jac_pos.append(int(pos[model.s_sp[a], m]))
                jd_ptr.append(len(jac_pos))
        i64 = np.int64
        arr = np.array(code, dtype=i64).reshape(-1, 5)
        self.ops, self.arg, self.arg2, self.slot, self.flag = (np.ascontiguousarray(arr[:, q]) for q in range(5))
        self.law_d = np.array(law_d, dtype=i64)
        self.konst = np.array(konst)
        self.n, self.n_p = n, n_p
        self.prog_ptr = np.array(prog_ptr, dtype=i64)
        self.dep_ptr = np.array(dep_ptr, dtype=i64)
        self.jd_ptr = np.array(jd_ptr, dtype=i64)
        self.jac_pos = np.array(jac_pos, dtype=i64)
        self.depth = depth
        self.max_dep = max(1, max(len(d) for d in model.deps))
        self.n_instr = len(code)
        self.s_ptr, self.s_sp, self.s_coef = model.s_ptr, model.s_sp, model.s_coef

    def work(self, p: np.ndarray) -> tuple[np.ndarray, ...]:
        """(vals, stack, dual stack[, lane scratch]) for parameters ``p`` ((n_p,) one row or (n_p, 4) lanes).
        The parameters and constants are written once (per segment, in an integrator); each call writes
        the species and the time."""
        lanes = p.ndim == 2
        shape = (L4,) if lanes else ()
        vals = np.zeros((self.n_vals, *shape))
        vals[self.n:self.n + self.n_p] = p
        vals[self.n + self.n_p:self.n_vals - 1] = self.konst.reshape(-1, *([1] if lanes else []))
        out = (vals, np.zeros((self.depth, *shape)), np.zeros((self.depth, self.max_dep, *shape)))
        return (*out, np.zeros((2, L4))) if lanes else out

    def rhs_args(self) -> tuple:
        return (self.ops, self.arg, self.arg2, self.prog_ptr, self.s_ptr, self.s_sp, self.s_coef)

    def jac_args(self) -> tuple:
        return (self.ops, self.arg, self.arg2, self.slot, self.flag, self.prog_ptr, self.dep_ptr, self.law_d,
                self.s_ptr, self.s_coef, self.jd_ptr, self.jac_pos)


def _leaf(tree: tuple, slot: dict, konst: list, n: int, n_p: int) -> tuple[int, int] | None:
    """(operand index, slot) of a leaf; None for an inner node. Time is -1 (patched by Program)."""
    tag = tree[0]
    if tag == "s":
        return tree[1], slot[tree[1]]
    if tag == "p":
        return n + tree[1], -1
    if tag == "k":
        konst.append(tree[1])
        return n + n_p + len(konst) - 1, -1
    if tag == "t":
        return -1, -1
    return None


def _emit(tree: tuple, slot: dict, code: list, konst: list, n: int, n_p: int, fuse_mm: bool) -> bool:
    """Append the postfix code of ``tree``; return whether its value depends on a species (has partials).

    The last column of an instruction, ``flag``, tells the Jacobian kernels which operands carry
    partials (bit 0: the left one / the top of the stack; bit 1: the right one; for SELECT: the value
    and the otherwise branch), so the dual-number work is skipped where the partials are zero
    (``KG ** nH``: none at all) and a row of partials is only written where it becomes non-zero."""
    leaf = _leaf(tree, slot, konst, n, n_p)
    if leaf is not None:
        code.append((PUSH, leaf[0], 0, leaf[1], 0))
        return leaf[1] >= 0
    tag = tree[0]
    if fuse_mm and _is_mm(tree):  # (P * S) / (K + S): P, then one MM instruction
        left = _emit(tree[1][1], slot, code, konst, n, n_p, fuse_mm)
        s_idx, s_slot = _leaf(tree[1][2], slot, konst, n, n_p)  # type: ignore[misc]
        k_idx, _ = _leaf(tree[2][1], slot, konst, n, n_p)  # type: ignore[misc]
        code.append((MM, s_idx, k_idx, s_slot, int(left) | 2))
        return True
    if tag == "pw":  # stack: value, otherwise, condition -> SELECT
        dv = _emit(tree[1], slot, code, konst, n, n_p, fuse_mm)
        do = _emit(tree[3], slot, code, konst, n, n_p, fuse_mm)
        _emit(tree[2], slot, code, konst, n, n_p, fuse_mm)
        code.append((SELECT, 0, 0, -1, int(dv) | 2 * int(do)))
        return dv or do
    smooth = tag in _LEAF_OP or tag in ("neg", "exp", "log")  # comparisons and logic have no partials
    if len(tree) == 2:
        left = _emit(tree[1], slot, code, konst, n, n_p, fuse_mm)
        code.append((_STACK_OP[tag], 0, 0, -1, int(left)))
        return left and smooth
    left = _emit(tree[1], slot, code, konst, n, n_p, fuse_mm)
    right_leaf = _leaf(tree[2], slot, konst, n, n_p) if tag in _LEAF_OP else None
    if right_leaf is not None:
        right = right_leaf[1] >= 0
        code.append((_LEAF_OP[tag], right_leaf[0], 0, right_leaf[1], int(left) | 2 * int(right)))
    else:
        right = _emit(tree[2], slot, code, konst, n, n_p, fuse_mm)
        code.append((_STACK_OP[tag], 0, 0, -1, int(left) | 2 * int(right)))
    return (left or right) and smooth


def _is_mm(tree: tuple) -> bool:
    """``(P * S) / (K + S)`` with S a species and K a parameter or constant."""
    return (tree[0] == "/" and tree[1][0] == "*" and tree[1][2][0] == "s" and tree[2][0] == "+"
            and tree[2][1][0] in ("p", "k") and tree[2][2] == tree[1][2])


def _depth(code: list) -> int:
    top = best = 0
    for op, *_ in code:
        if op == PUSH:
            top += 1
        elif op == SELECT:
            top -= 2
        elif SADD <= op <= OR:
            top -= 1
        best = max(best, top)
    return best


@_jit
def _cmp(op, a, b):
    """Comparisons and logic (rare: piecewise conditions) as 1.0 / 0.0."""
    if op == LT:
        r = a < b
    elif op == LE:
        r = a <= b
    elif op == GT:
        r = a > b
    elif op == GE:
        r = a >= b
    elif op == EQ:
        r = a == b
    elif op == NE:
        r = a != b
    elif op == AND:
        r = a != 0.0 and b != 0.0
    else:
        r = a != 0.0 or b != 0.0
    return 1.0 if r else 0.0


@_jit
def prog_rhs_into(c, t, u, ops, arg, arg2, prog_ptr, s_ptr, s_sp, s_coef, vals, st, out):
    """dc/dt of one row by the postfix programs (c (n,), t float, u (n,); ``vals`` from Program.work)."""
    n = c.shape[0]
    for i in range(n):
        vals[i] = c[i]
        out[i] = u[i]
    vals[vals.shape[0] - 1] = t
    for j in range(prog_ptr.shape[0] - 1):
        top = 0  # items on the stack; the top one is st[top - 1]
        for ip in range(_u(prog_ptr[j]), _u(prog_ptr[j + 1])):
            op = ops[ip]
            if op == PUSH:
                st[_u(top)] = vals[_u(arg[ip])]
                top += 1
            elif op == MUL:
                st[_u(top - 1)] *= vals[_u(arg[ip])]
            elif op == DIV:
                st[_u(top - 1)] /= vals[_u(arg[ip])]
            elif op == ADD:
                st[_u(top - 1)] += vals[_u(arg[ip])]
            elif op == SUB:
                st[_u(top - 1)] -= vals[_u(arg[ip])]
            elif op == POW:
                st[_u(top - 1)] = st[_u(top - 1)] ** vals[_u(arg[ip])]
            elif op == MM:
                x = vals[_u(arg[ip])]
                st[_u(top - 1)] = st[_u(top - 1)] * x / (vals[_u(arg2[ip])] + x)
            elif op <= SPOW:
                top -= 1
                a = st[_u(top - 1)]
                b = st[_u(top)]
                if op == SMUL:
                    st[_u(top - 1)] = a * b
                elif op == SDIV:
                    st[_u(top - 1)] = a / b
                elif op == SADD:
                    st[_u(top - 1)] = a + b
                elif op == SSUB:
                    st[_u(top - 1)] = a - b
                else:
                    st[_u(top - 1)] = a**b
            elif op <= OR:
                top -= 1
                st[_u(top - 1)] = _cmp(op, st[_u(top - 1)], st[_u(top)])
            elif op == NEG:
                st[_u(top - 1)] = -st[_u(top - 1)]
            elif op == EXP:
                st[_u(top - 1)] = math.exp(st[_u(top - 1)])
            elif op == LOG:
                st[_u(top - 1)] = math.log(st[_u(top - 1)])
            elif op == NOT:
                st[_u(top - 1)] = 1.0 if st[_u(top - 1)] == 0.0 else 0.0
            else:  # SELECT: value, otherwise, condition
                top -= 2
                if st[_u(top + 1)] == 0.0:
                    st[_u(top - 1)] = st[_u(top)]
        v = st[0]
        for a in range(_u(s_ptr[j]), _u(s_ptr[j + 1])):
            out[_u(s_sp[a])] += s_coef[a] * v
    return out


@_jit
def prog_rhs_lanes_into(c, t, u, ops, arg, arg2, prog_ptr, s_ptr, s_sp, s_coef, vals, st, out):
    """:func:`prog_rhs_into` for 4 lanes: c, u, out (n, 4); t (4,); vals (n_vals, 4); st (depth, 4).

    Each op is dispatched once for the four lanes, and the top of the stack is cached in four scalars
    (``r0..r3``, spelled out as in il6sim's lane kernels): a leaf-fused op touches no stack memory,
    a push spills the old top (the first push of a law spills a dummy into ``st[0]``)."""
    n = c.shape[0]
    for i in range(n):
        for q in range(L4):
            vals[i, q] = c[i, q]
            out[i, q] = u[i, q]
    for q in range(L4):
        vals[vals.shape[0] - 1, q] = t[q]
    for j in range(prog_ptr.shape[0] - 1):
        top = 0  # items spilled to st
        r0 = r1 = r2 = r3 = 0.0
        for ip in range(_u(prog_ptr[j]), _u(prog_ptr[j + 1])):
            op = ops[ip]
            if op <= POW:
                x = _u(arg[ip])
                v0 = vals[x, 0]
                v1 = vals[x, 1]
                v2 = vals[x, 2]
                v3 = vals[x, 3]
                if op == PUSH:
                    i = _u(top)
                    st[i, 0] = r0
                    st[i, 1] = r1
                    st[i, 2] = r2
                    st[i, 3] = r3
                    top += 1
                    r0, r1, r2, r3 = v0, v1, v2, v3
                elif op == MUL:
                    r0 *= v0
                    r1 *= v1
                    r2 *= v2
                    r3 *= v3
                elif op == DIV:
                    r0 /= v0
                    r1 /= v1
                    r2 /= v2
                    r3 /= v3
                elif op == ADD:
                    r0 += v0
                    r1 += v1
                    r2 += v2
                    r3 += v3
                elif op == SUB:
                    r0 -= v0
                    r1 -= v1
                    r2 -= v2
                    r3 -= v3
                else:
                    r0 = r0**v0
                    r1 = r1**v1
                    r2 = r2**v2
                    r3 = r3**v3
            elif op == MM:
                x = _u(arg[ip])
                x2 = _u(arg2[ip])
                v0 = vals[x, 0]
                v1 = vals[x, 1]
                v2 = vals[x, 2]
                v3 = vals[x, 3]
                r0 = r0 * v0 / (vals[x2, 0] + v0)
                r1 = r1 * v1 / (vals[x2, 1] + v1)
                r2 = r2 * v2 / (vals[x2, 2] + v2)
                r3 = r3 * v3 / (vals[x2, 3] + v3)
            elif op <= OR:
                top -= 1
                i = _u(top)
                a0 = st[i, 0]
                a1 = st[i, 1]
                a2 = st[i, 2]
                a3 = st[i, 3]
                if op == SMUL:
                    r0, r1, r2, r3 = a0 * r0, a1 * r1, a2 * r2, a3 * r3
                elif op == SDIV:
                    r0, r1, r2, r3 = a0 / r0, a1 / r1, a2 / r2, a3 / r3
                elif op == SADD:
                    r0, r1, r2, r3 = a0 + r0, a1 + r1, a2 + r2, a3 + r3
                elif op == SSUB:
                    r0, r1, r2, r3 = a0 - r0, a1 - r1, a2 - r2, a3 - r3
                elif op == SPOW:
                    r0, r1, r2, r3 = a0**r0, a1**r1, a2**r2, a3**r3
                else:
                    r0, r1 = _cmp(op, a0, r0), _cmp(op, a1, r1)
                    r2, r3 = _cmp(op, a2, r2), _cmp(op, a3, r3)
            elif op == SELECT:  # spilled: ..., value, otherwise; the top: the condition
                top -= 2
                i = _u(top)
                k = _u(top + 1)
                r0 = st[i, 0] if r0 != 0.0 else st[k, 0]
                r1 = st[i, 1] if r1 != 0.0 else st[k, 1]
                r2 = st[i, 2] if r2 != 0.0 else st[k, 2]
                r3 = st[i, 3] if r3 != 0.0 else st[k, 3]
            elif op == NEG:
                r0, r1, r2, r3 = -r0, -r1, -r2, -r3
            elif op == EXP:
                r0, r1, r2, r3 = math.exp(r0), math.exp(r1), math.exp(r2), math.exp(r3)
            elif op == LOG:
                r0, r1, r2, r3 = math.log(r0), math.log(r1), math.log(r2), math.log(r3)
            else:
                r0 = 1.0 if r0 == 0.0 else 0.0
                r1 = 1.0 if r1 == 0.0 else 0.0
                r2 = 1.0 if r2 == 0.0 else 0.0
                r3 = 1.0 if r3 == 0.0 else 0.0
        for a in range(_u(s_ptr[j]), _u(s_ptr[j + 1])):
            sp = _u(s_sp[a])
            cf = s_coef[a]
            out[sp, 0] += cf * r0
            out[sp, 1] += cf * r1
            out[sp, 2] += cf * r2
            out[sp, 3] += cf * r3
    return out


@_jit
def _ga_pow(a, b, r):
    """d(a ** b)/da given r = a ** b (no second power where a != 0)."""
    if b == 0.0:
        return 0.0
    if a != 0.0:
        return b * r / a
    return b * a ** (b - 1.0)


@_jit
def prog_jac_into(c, t, ops, arg, arg2, slot, flag, prog_ptr, dep_ptr, law_d, s_ptr, s_coef, jd_ptr, jac_pos,
                  vals, st, ds, out):
    """The Jacobian of one row by dual numbers on the stack (``ds[item, k]``: partial by the law's k-th
    dependency; valid only where ``flag`` says the item has partials), scattered to ``out[jac_pos[...]]``
    (flat; dense row-major positions give (n, n))."""
    n = c.shape[0]
    for i in range(n):
        vals[i] = c[i]
    vals[vals.shape[0] - 1] = t
    for q in range(out.shape[0]):
        out[q] = 0.0
    for j in range(prog_ptr.shape[0] - 1):
        d0 = dep_ptr[j]
        nd = dep_ptr[j + 1] - d0
        top = 0
        for ip in range(_u(prog_ptr[j]), _u(prog_ptr[j + 1])):
            op = ops[ip]
            fl = flag[ip]
            dl = (fl & 1) != 0
            dr = (fl & 2) != 0
            if op <= POW:
                x = vals[_u(arg[ip])]
                if op == PUSH:
                    i = _u(top)
                    st[i] = x
                    if slot[ip] >= 0:
                        for k in range(nd):
                            ds[i, k] = 0.0
                        ds[i, slot[ip]] = 1.0
                    top += 1
                    continue
                i = _u(top - 1)
                sl = slot[ip]
                a = st[i]
                if op == MUL:
                    st[i] = a * x
                    ga, gb = x, a
                elif op == DIV:
                    r = a / x
                    st[i] = r
                    ga, gb = 1.0 / x, -r / x
                elif op == ADD:
                    st[i] = a + x
                    ga, gb = 1.0, 1.0
                elif op == SUB:
                    st[i] = a - x
                    ga, gb = 1.0, -1.0
                else:
                    r = a**x
                    st[i] = r
                    ga = _ga_pow(a, x, r) if dl else 0.0
                    gb = (r * math.log(a) if a > 0.0 else 0.0) if dr else 0.0
                if dl:
                    if ga != 1.0:
                        for k in range(nd):
                            ds[i, k] *= ga
                elif dr:
                    for k in range(nd):
                        ds[i, k] = 0.0
                if dr:
                    ds[i, sl] += gb
            elif op == MM:
                i = _u(top - 1)
                a = st[i]
                x = vals[_u(arg[ip])]
                kk = vals[_u(arg2[ip])]
                den = kk + x
                st[i] = a * x / den
                if dl:
                    f = x / den
                    for k in range(nd):
                        ds[i, k] *= f
                else:
                    for k in range(nd):
                        ds[i, k] = 0.0
                ds[i, slot[ip]] += a * kk / (den * den)
            elif op <= OR:
                top -= 1
                i = _u(top - 1)
                b_ = _u(top)
                a = st[i]
                b = st[b_]
                if op == SMUL:
                    st[i] = a * b
                    ga, gb = b, a
                elif op == SDIV:
                    r = a / b
                    st[i] = r
                    ga, gb = 1.0 / b, -r / b
                elif op == SADD:
                    st[i] = a + b
                    ga, gb = 1.0, 1.0
                elif op == SSUB:
                    st[i] = a - b
                    ga, gb = 1.0, -1.0
                elif op == SPOW:
                    r = a**b
                    st[i] = r
                    ga = _ga_pow(a, b, r) if dl else 0.0
                    gb = (r * math.log(a) if a > 0.0 else 0.0) if dr else 0.0
                else:
                    st[i] = _cmp(op, a, b)
                    continue
                if dl and dr:
                    for k in range(nd):
                        ds[i, k] = ga * ds[i, k] + gb * ds[b_, k]
                elif dl:
                    for k in range(nd):
                        ds[i, k] *= ga
                elif dr:
                    for k in range(nd):
                        ds[i, k] = gb * ds[b_, k]
            elif op == SELECT:
                top -= 2
                i = _u(top - 1)
                if st[_u(top + 1)] == 0.0:
                    st[i] = st[_u(top)]
                    if dr:
                        for k in range(nd):
                            ds[i, k] = ds[_u(top), k]
                    elif dl:
                        for k in range(nd):
                            ds[i, k] = 0.0
                elif dr and not dl:
                    for k in range(nd):
                        ds[i, k] = 0.0
            else:
                i = _u(top - 1)
                a = st[i]
                if op == NEG:
                    st[i] = -a
                    g = -1.0
                elif op == EXP:
                    g = math.exp(a)
                    st[i] = g
                elif op == LOG:
                    st[i] = math.log(a)
                    g = 1.0 / a
                else:
                    st[i] = 1.0 if a == 0.0 else 0.0
                    continue
                if dl:
                    for k in range(nd):
                        ds[i, k] *= g
        if law_d[j] == 0:
            continue
        s0 = s_ptr[j]
        ns = s_ptr[j + 1] - s0
        for k in range(nd):
            g = ds[0, k]
            base = jd_ptr[d0 + k]
            for a_ in range(ns):
                out[_u(jac_pos[base + a_])] += s_coef[s0 + a_] * g
    return out


@_jit
def prog_jac_lanes_into(c, t, ops, arg, arg2, slot, flag, prog_ptr, dep_ptr, law_d, s_ptr, s_coef, jd_ptr, jac_pos,
                        vals, st, ds, gw, out):
    """:func:`prog_jac_into` for 4 lanes into sparse values ``out`` (nnz, 4) (the LU pattern's positions);
    ds (depth, max_dep, 4); gw (2, 4) scratch for the per-lane partial factors."""
    n = c.shape[0]
    for i in range(n):
        for q in range(L4):
            vals[i, q] = c[i, q]
    for q in range(L4):
        vals[vals.shape[0] - 1, q] = t[q]
    for p_ in range(out.shape[0]):
        for q in range(L4):
            out[p_, q] = 0.0
    gA = gw[0]
    gB = gw[1]
    for j in range(prog_ptr.shape[0] - 1):
        d0 = dep_ptr[j]
        nd = dep_ptr[j + 1] - d0
        top = 0
        for ip in range(_u(prog_ptr[j]), _u(prog_ptr[j + 1])):
            op = ops[ip]
            fl = flag[ip]
            dl = (fl & 1) != 0
            dr = (fl & 2) != 0
            if op <= POW:
                x = _u(arg[ip])
                if op == PUSH:
                    i = _u(top)
                    for q in range(L4):
                        st[i, q] = vals[x, q]
                    if slot[ip] >= 0:
                        for k in range(nd):
                            for q in range(L4):
                                ds[i, k, q] = 0.0
                        for q in range(L4):
                            ds[i, slot[ip], q] = 1.0
                    top += 1
                    continue
                i = _u(top - 1)
                sl = slot[ip]
                if op == MUL:
                    for q in range(L4):
                        a = st[i, q]
                        xv = vals[x, q]
                        st[i, q] = a * xv
                        gA[q] = xv
                        gB[q] = a
                elif op == DIV:
                    for q in range(L4):
                        xv = vals[x, q]
                        r = st[i, q] / xv
                        st[i, q] = r
                        gA[q] = 1.0 / xv
                        gB[q] = -r / xv
                elif op == ADD:
                    for q in range(L4):
                        st[i, q] += vals[x, q]
                        gA[q] = 1.0
                        gB[q] = 1.0
                elif op == SUB:
                    for q in range(L4):
                        st[i, q] -= vals[x, q]
                        gA[q] = 1.0
                        gB[q] = -1.0
                else:
                    for q in range(L4):
                        a = st[i, q]
                        xv = vals[x, q]
                        r = a**xv
                        st[i, q] = r
                        gA[q] = _ga_pow(a, xv, r) if dl else 0.0
                        gB[q] = (r * math.log(a) if a > 0.0 else 0.0) if dr else 0.0
                if dl:
                    if op == MUL or op == DIV or op == POW:
                        for k in range(nd):
                            for q in range(L4):
                                ds[i, k, q] *= gA[q]
                elif dr:
                    for k in range(nd):
                        for q in range(L4):
                            ds[i, k, q] = 0.0
                if dr:
                    for q in range(L4):
                        ds[i, sl, q] += gB[q]
            elif op == MM:
                i = _u(top - 1)
                x = _u(arg[ip])
                x2 = _u(arg2[ip])
                for q in range(L4):
                    a = st[i, q]
                    xv = vals[x, q]
                    kk = vals[x2, q]
                    den = kk + xv
                    st[i, q] = a * xv / den
                    gA[q] = xv / den
                    gB[q] = a * kk / (den * den)
                if dl:
                    for k in range(nd):
                        for q in range(L4):
                            ds[i, k, q] *= gA[q]
                else:
                    for k in range(nd):
                        for q in range(L4):
                            ds[i, k, q] = 0.0
                sl = slot[ip]
                for q in range(L4):
                    ds[i, sl, q] += gB[q]
            elif op <= OR:
                top -= 1
                i = _u(top - 1)
                b_ = _u(top)
                if op == SMUL:
                    for q in range(L4):
                        a = st[i, q]
                        b = st[b_, q]
                        st[i, q] = a * b
                        gA[q] = b
                        gB[q] = a
                elif op == SDIV:
                    for q in range(L4):
                        b = st[b_, q]
                        r = st[i, q] / b
                        st[i, q] = r
                        gA[q] = 1.0 / b
                        gB[q] = -r / b
                elif op == SADD:
                    for q in range(L4):
                        st[i, q] += st[b_, q]
                        gA[q] = 1.0
                        gB[q] = 1.0
                elif op == SSUB:
                    for q in range(L4):
                        st[i, q] -= st[b_, q]
                        gA[q] = 1.0
                        gB[q] = -1.0
                elif op == SPOW:
                    for q in range(L4):
                        a = st[i, q]
                        b = st[b_, q]
                        r = a**b
                        st[i, q] = r
                        gA[q] = _ga_pow(a, b, r) if dl else 0.0
                        gB[q] = (r * math.log(a) if a > 0.0 else 0.0) if dr else 0.0
                else:
                    for q in range(L4):
                        st[i, q] = _cmp(op, st[i, q], st[b_, q])
                    continue
                if dl and dr:
                    for k in range(nd):
                        for q in range(L4):
                            ds[i, k, q] = gA[q] * ds[i, k, q] + gB[q] * ds[b_, k, q]
                elif dl:
                    for k in range(nd):
                        for q in range(L4):
                            ds[i, k, q] *= gA[q]
                elif dr:
                    for k in range(nd):
                        for q in range(L4):
                            ds[i, k, q] = gB[q] * ds[b_, k, q]
            elif op == SELECT:
                top -= 2
                i = _u(top - 1)
                for q in range(L4):
                    if st[_u(top + 1), q] == 0.0:
                        st[i, q] = st[_u(top), q]
                        if dr:
                            for k in range(nd):
                                ds[i, k, q] = ds[_u(top), k, q]
                        elif dl:
                            for k in range(nd):
                                ds[i, k, q] = 0.0
                    elif dr and not dl:
                        for k in range(nd):
                            ds[i, k, q] = 0.0
            else:
                i = _u(top - 1)
                if op == NEG:
                    for q in range(L4):
                        st[i, q] = -st[i, q]
                        gA[q] = -1.0
                elif op == EXP:
                    for q in range(L4):
                        g = math.exp(st[i, q])
                        st[i, q] = g
                        gA[q] = g
                elif op == LOG:
                    for q in range(L4):
                        a = st[i, q]
                        st[i, q] = math.log(a)
                        gA[q] = 1.0 / a
                else:
                    for q in range(L4):
                        st[i, q] = 1.0 if st[i, q] == 0.0 else 0.0
                    continue
                if dl:
                    for k in range(nd):
                        for q in range(L4):
                            ds[i, k, q] *= gA[q]
        if law_d[j] == 0:
            continue
        s0 = s_ptr[j]
        ns = s_ptr[j + 1] - s0
        for k in range(nd):
            base = jd_ptr[d0 + k]
            for a_ in range(ns):
                pq = _u(jac_pos[base + a_])
                cf = s_coef[s0 + a_]
                for q in range(L4):
                    out[pq, q] += cf * ds[0, k, q]
    return out


# --------------------------------------------------------------------------------------------
# Candidate (b): generated source, compiled per model as cfuncs, called through the pointer.
_PY = {"+": "+", "-": "-", "*": "*", "/": "/", "**": "**"}


class _Emitter:
    """Straight-line code for one law: temporaries for values, forward-mode partials with zeros dropped."""

    def __init__(self, lines: list[str], tag: str, derivs: bool) -> None:
        self.lines, self.tag, self.derivs, self.n = lines, tag, derivs, 0

    def tmp(self, code: str) -> str:
        name = f"{self.tag}{self.n}"
        self.n += 1
        self.lines.append(f"{name} = {code}")
        return name

    def node(self, tr: tuple) -> tuple[str, dict[int, str]]:
        tag = tr[0]
        if tag == "s":
            return f"s{tr[1]}", {tr[1]: "1.0"}
        if tag == "p":
            return f"p{tr[1]}", {}
        if tag == "k":
            return repr(tr[1]), {}
        if tag == "t":
            return "t", {}
        if tag == "pw":
            v, dv = self.node(tr[1])
            cnd, _ = self.node(tr[2])
            o, do = self.node(tr[3])
            r = self.tmp(f"{v} if {cnd} else {o}")
            return r, {m: self.tmp(f"{dv.get(m, '0.0')} if {cnd} else {do.get(m, '0.0')}") for m in
                       (dv.keys() | do.keys()) if self.derivs}
        if len(tr) == 2:
            a, da = self.node(tr[1])
            if tag == "neg":
                return self.tmp(f"-{a}"), {m: self.tmp(f"-{x}") for m, x in da.items() if self.derivs}
            if tag == "not":
                return self.tmp(f"not {a}"), {}
            r = self.tmp(f"math.{tag}({a})")
            g = r if tag == "exp" else f"(1.0 / {a})"
            return r, {m: self.tmp(_mul(g, x)) for m, x in da.items() if self.derivs}
        a, da = self.node(tr[1])
        b, db = self.node(tr[2])
        if tag in _PY:
            r = self.tmp(f"{a} {tag} {b}")
        else:  # comparisons and logic: a boolean, no partials
            return self.tmp(f"({a} {tag} {b})"), {}
        if not self.derivs:
            return r, {}
        d: dict[int, str] = {}
        for m in da.keys() | db.keys():
            x, y = da.get(m), db.get(m)
            if tag == "+":
                e = x if y is None else (y if x is None else f"{x} + {y}")
            elif tag == "-":
                e = x if y is None else (f"-{y}" if x is None else f"{x} - {y}")
            elif tag == "*":
                e = _add(_mul(x, b) if x else None, _mul(a, y) if y else None)
            elif tag == "/":
                e = _add(f"{x} / {b}" if x else None, f"-({_mul(r, y)}) / {b}" if y else None)
            else:  # power
                ga = f"({b} * {r} / {a} if {a} != 0.0 else {b} * {a} ** ({b} - 1.0))"  # as _ga_pow
                e = _add(_mul(ga, x) if x else None,
                         _mul(f"({r} * math.log({a}))", y) if y else None)
            d[m] = self.tmp(e)
        return r, d


def _mul(x: str, y: str) -> str:
    if x == "1.0":
        return y
    if y == "1.0":
        return x
    return f"{x} * {y}"


def _add(x: str | None, y: str | None) -> str:
    if x is None:
        return y or "0.0"
    return x if y is None else f"{x} + {y}"


def _body(model: Model, what: str, lanes: bool, pos: np.ndarray, nnz: int) -> list[str]:
    """Lines of one cfunc's body (indented by the caller)."""
    derivs = what == "jac"
    ix = (lambda i: f"[{i}, lane]") if lanes else (lambda i: f"[{i}]")
    lines: list[str] = []
    used_s = sorted(set().union(*[_species_in(tr) for tr in model.trees]))
    used_p = sorted({x for tr in model.trees for x in _params_in(tr)})
    lines += [f"s{i} = c{ix(i)}" for i in used_s] + [f"p{i} = p{ix(i)}" for i in used_p]
    if lanes:
        lines.append("t = tt[lane]")
    partials: list[dict[int, str]] = []
    for j, tr in enumerate(model.trees):
        em = _Emitter(lines, f"w{j}_", derivs)
        v, d = em.node(tr)
        lines.append(f"v{j} = {v}")
        partials.append(d)
    if what == "rhs":
        acc: dict[int, list[str]] = {i: [f"u{ix(i)}"] for i in range(model.n)}
        for j in range(model.n_r):
            for a in range(model.s_ptr[j], model.s_ptr[j + 1]):
                acc[int(model.s_sp[a])].append(f"{float(model.s_coef[a])!r} * v{j}")
        lines += [f"o{ix(i)} = {' + '.join(terms)}" for i, terms in acc.items()]
    else:
        ent: dict[int, list[str]] = {}
        for j in range(model.n_r):
            for m, x in partials[j].items():
                for a in range(model.s_ptr[j], model.s_ptr[j + 1]):
                    ent.setdefault(int(pos[model.s_sp[a], m]), []).append(f"{float(model.s_coef[a])!r} * {x}")
        for q in range(nnz):
            lines.append(f"o{ix(q)} = {' + '.join(ent[q]) if q in ent else '0.0'}")
    return lines


def _params_in(tree: tuple) -> set[int]:
    if tree[0] == "p":
        return {tree[1]}
    if tree[0] in ("s", "k", "t"):
        return set()
    out: set[int] = set()
    for ch in tree[1:]:
        out |= _params_in(ch)
    return out


def generate_source(model: Model, kinds: tuple[str, ...], pos_dense: np.ndarray, pos_lu: np.ndarray,
                    nnz: int) -> str:
    """A module of cfuncs: ``rhs``/``jac`` (one row; jac dense row-major) and ``rhs4``/``jac4`` (4 lanes;
    jac4 on the LU pattern). All take (c*, p*, t or t*, [u*,] out*)."""
    n, n_p = model.n, len(model.params)
    out = ["import math", "", "from numba import carray, cfunc, types", "",
           "_D = types.CPointer(types.float64)", "_F = types.float64", ""]
    for kind in kinds:
        lanes = kind.endswith("4")
        what = kind.rstrip("4")
        tsig = "_D" if lanes else "_F"
        targ = "t_" if lanes else "t"
        shp = (lambda m: f"({m}, {L4})") if lanes else (lambda m: f"({m},)")
        n_out = n if what == "rhs" else (nnz if lanes else n * n)
        args = ["c_", "p_", targ] + (["u_"] if what == "rhs" else []) + ["o_"]
        sig = ", ".join(["_D", "_D", tsig] + (["_D"] if what == "rhs" else []) + ["_D"])
        out.append(f"@cfunc(types.void({sig}), cache=True, error_model='numpy')")
        out.append(f"def {kind}({', '.join(args)}):")
        out.append(f"    c = carray(c_, {shp(n)})")
        out.append(f"    p = carray(p_, {shp(n_p)})")
        if lanes:
            out.append(f"    tt = carray(t_, ({L4},))")
        if what == "rhs":
            out.append(f"    u = carray(u_, {shp(n)})")
        out.append(f"    o = carray(o_, {shp(n_out)})")
        body = _body(model, what, lanes, pos_lu if lanes else pos_dense, n_out)
        if lanes:
            out.append(f"    for lane in range({L4}):")
            out += [f"        {x}" for x in body]
        else:
            out += [f"    {x}" for x in body]
        out.append("")
    return "\n".join(out) + "\n"


def load_generated(source: str, directory: Path):  # type: ignore[no-untyped-def]
    """Write ``gl_<hash>.py`` (once) and import it: numba compiles the cfuncs or loads them from its cache."""
    key = hashlib.sha256(source.encode()).hexdigest()[:16]
    path = directory / f"gl_{key}.py"
    if not path.exists():  # rewriting it would change its time stamp and invalidate numba's cache
        tmp = path.with_suffix(".tmp")
        tmp.write_text(source)
        os.replace(tmp, path)
    name = f"gl_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = mod
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@intrinsic
def _call_ptr(typingctx, addr, args):  # type: ignore[no-untyped-def]
    """Call the C function at ``addr`` (int64) with ``args`` (a tuple: arrays pass their data pointer)."""
    sig = types.void(addr, args)

    def codegen(context, builder, signature, llargs):  # type: ignore[no-untyped-def]
        fn_addr, tup = llargs
        vals = []
        for i, ty in enumerate(signature.args[1].types):
            v = builder.extract_value(tup, i)
            if isinstance(ty, types.Array):
                v = context.make_array(ty)(context, builder, v).data
            vals.append(v)
        fnty = ir.FunctionType(ir.VoidType(), [v.type for v in vals])
        builder.call(builder.inttoptr(fn_addr, fnty.as_pointer()), vals)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _ptr(typingctx, arr):  # type: ignore[no-untyped-def]
    """An array's data pointer as ``CPointer(dtype)`` (to call a first-class cfunc)."""
    sig = types.CPointer(arr.dtype)(arr)

    def codegen(context, builder, signature, llargs):  # type: ignore[no-untyped-def]
        return context.make_array(signature.args[0])(context, builder, llargs[0]).data

    return sig, codegen


@_jit
def call_ptr(addr, args):
    """The fixed jitted caller of candidate (b): one compiled version serves every model."""
    _call_ptr(addr, args)


# --------------------------------------------------------------------------------------------
# Timing loops. Each call's input depends on the previous call's output (``c[0] = x0 + 0 * out[0]``,
# which IEEE arithmetic cannot fold), so nothing is hoisted out of the loop.
@_jit
def _noop(x):
    return x + 1.0


@_jit
def time_ma_rhs(n_iter, c, k, u, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, out, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        _kernels.rhs_into(c, k, u, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, out)
    cf[0] = x0


@_jit
def time_ma_jac(n_iter, c, k, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, out, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        _kernels.jacobian_into(c, k, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, out)
    cf[0] = x0


@_jit
def time_ma_rhs4(n_iter, c, k, u, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_sp, s_coef, out, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        _kernels.rhs_lanes_into(c, k, u, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_sp, s_coef, out)
    cf[0] = x0


@_jit
def time_ma_jac4(n_iter, c, k, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_coef, jac_pos, jac_ptr, e_jac_pos, e_jac_ptr,
                 out, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        _kernels.jacobian_lanes_into(c, k, r_ptr, r_sp, r_ord, e_ptr, e_sp, s_ptr, s_coef, jac_pos, jac_ptr,
                                     e_jac_pos, e_jac_ptr, out)
    cf[0] = x0


@_jit
def time_prog_rhs(n_iter, c, t, u, ops, arg, arg2, prog_ptr, s_ptr, s_sp, s_coef, vals, st, out, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        prog_rhs_into(c, t, u, ops, arg, arg2, prog_ptr, s_ptr, s_sp, s_coef, vals, st, out)
    cf[0] = x0


@_jit
def time_prog_jac(n_iter, c, t, ops, arg, arg2, slot, flag, prog_ptr, dep_ptr, law_d, s_ptr, s_coef, jd_ptr, jac_pos,
                  vals, st, ds, out, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        prog_jac_into(c, t, ops, arg, arg2, slot, flag, prog_ptr, dep_ptr, law_d, s_ptr, s_coef, jd_ptr, jac_pos,
                      vals, st, ds, out)
    cf[0] = x0


@_jit
def time_prog_rhs4(n_iter, c, t, u, ops, arg, arg2, prog_ptr, s_ptr, s_sp, s_coef, vals, st, out, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        prog_rhs_lanes_into(c, t, u, ops, arg, arg2, prog_ptr, s_ptr, s_sp, s_coef, vals, st, out)
    cf[0] = x0


@_jit
def time_prog_jac4(n_iter, c, t, ops, arg, arg2, slot, flag, prog_ptr, dep_ptr, law_d, s_ptr, s_coef, jd_ptr, jac_pos,
                   vals, st, ds, gw, out, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        prog_jac_lanes_into(c, t, ops, arg, arg2, slot, flag, prog_ptr, dep_ptr, law_d, s_ptr, s_coef, jd_ptr,
                            jac_pos, vals, st, ds, gw, out)
    cf[0] = x0


@_jit
def time_ptr(n_iter, addr, args, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        _call_ptr(addr, args)
    cf[0] = x0


@_jit
def time_fc_rhs(n_iter, f, c, p, t, u, out, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        f(_ptr(c), _ptr(p), t, _ptr(u), _ptr(out))
    cf[0] = x0


@_jit
def time_fc_rhs4(n_iter, f, c, p, t, u, out, cf, of):
    x0 = cf[0]
    for _ in range(n_iter):
        cf[0] = x0 + 0.0 * of[0]
        f(_ptr(c), _ptr(p), _ptr(t), _ptr(u), _ptr(out))
    cf[0] = x0


# --------------------------------------------------------------------------------------------
# The mass-action twin and the shared pieces.
def mass_action_twin(model: Model, c_ref: np.ndarray, p: np.ndarray, t_ref: float) -> dict:
    """CSR arrays of il6sim's kernels: reaction j's forward rate k_j * prod(deps of law j), equal to the
    general law at (c_ref, t_ref); reverse halves empty with k = 0."""
    v = oracle_rates(model, c_ref, p, t_ref)
    r_ptr, r_sp, r_ord, k = [0], [], [], []
    for j in range(model.n_r):
        deps = model.deps[j]
        r_sp += deps
        r_ord += [1.0] * len(deps)
        r_ptr += [len(r_sp), len(r_sp)]
        k += [v[j] / float(np.prod(c_ref[deps])) if deps else v[j], 0.0]
    i64 = np.int64
    arrays = (np.array(r_ptr, i64), np.array(r_sp, i64), np.array(r_ord, float), model.s_ptr, model.s_sp,
              model.s_coef)
    sym = _jitsolve.symbolic(*arrays[:5], model.n)
    perm, row_ptr, col_idx = sym[0], sym[1], sym[2]
    iperm = np.empty(model.n, dtype=i64)
    iperm[perm] = np.arange(model.n)
    pos_perm = np.full((model.n, model.n), -1, dtype=i64)
    for i in range(model.n):
        pos_perm[i, col_idx[row_ptr[i]:row_ptr[i + 1]]] = np.arange(row_ptr[i], row_ptr[i + 1])
    pos_lu = pos_perm[np.ix_(iperm, iperm)]  # pos_lu[row, col] in original species order
    return {"arrays": arrays, "k": np.array(k), "sym": sym, "pos_lu": pos_lu, "nnz": int(col_idx.size)}


def lanes_from_lu(vals: np.ndarray, pos_lu: np.ndarray) -> np.ndarray:
    """(nnz, 4) values on the LU pattern -> (4, n, n) dense Jacobians."""
    n = pos_lu.shape[0]
    out = np.zeros((L4, n, n))
    rr, cc = np.nonzero(pos_lu >= 0)
    for lane in range(L4):
        out[lane, rr, cc] = vals[pos_lu[rr, cc], lane]
    return out


def test_points(model: Model, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """4 lanes of positive states, parameter rows (log-uniform x[0.5, 2]) and times on both sides of t_on."""
    rng = np.random.default_rng(seed)
    if model.points is not None:
        c4 = model.points
    else:
        scale = np.tile([2.0, 10.0, 5.0, 100.0, 30.0, 100.0, 30.0, 100.0, 30.0, 1.0], model.copies)
        c4 = scale[:, None] * rng.uniform(0.2, 1.5, (model.n, L4))
    p4 = model.p0[:, None] * np.exp(rng.uniform(np.log(0.5), np.log(2.0), (len(model.params), L4)))
    for i, q in enumerate(model.params):
        if q.split("_")[0] == "nI":
            p4[i] = 2.0  # an integer Hill exponent in every lane, as models write it
    t4 = np.array([0.5, 1.5, 3.0, 8.0])
    u4 = rng.uniform(0.0, 0.1, (model.n, L4))
    return c4, p4, t4, u4


def replicated(copies: int) -> Model:
    """The test model, or ``copies`` independent copies of it (ids suffixed ``_i``)."""
    if copies == 1:
        return Model(SPECIES, PARAMS, REACTIONS)
    names = set(SPECIES) | set(PARAMS)

    def ren(text: str, i: int) -> str:
        return re.sub(r"[A-Za-z_]\w*", lambda m: f"{m.group(0)}_{i}" if m.group(0) in names else m.group(0), text)

    species = {f"{k}_{i}": v for i in range(copies) for k, v in SPECIES.items()}
    params = {f"{k}_{i}": v for i in range(copies) for k, v in PARAMS.items()}
    reactions = [(f"{r}_{i}", {f"{k}_{i}": v for k, v in re_.items()}, {f"{k}_{i}": v for k, v in pr.items()},
                  ren(e, i)) for i in range(copies) for r, re_, pr, e in REACTIONS]
    out = Model(species, params, reactions)
    out.copies = copies
    return out


# --------------------------------------------------------------------------------------------
VARIANTS = {"(a) program": False, "(a) + MM op": True}  # name -> fuse the Michaelis-Menten superinstruction


def check_correctness(model: Model, gen, pos_dense: np.ndarray, ma: dict) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    """Max relative errors of every candidate against the NumPy oracle and central differences."""
    c4, p4, t4, u4 = test_points(model)
    n = model.n
    rhs4: dict[str, np.ndarray] = {}
    jac4: dict[str, np.ndarray] = {}
    progs1 = {name: Program(model, pos_dense, fuse) for name, fuse in VARIANTS.items()}
    for name, fuse in VARIANTS.items():
        prog = Program(model, ma["pos_lu"], fuse)
        w4 = prog.work(p4)
        rhs4[name], jv = np.zeros((n, L4)), np.zeros((ma["nnz"], L4))
        prog_rhs_lanes_into(c4, t4, u4, *prog.rhs_args(), *w4[:2], rhs4[name])
        prog_jac_lanes_into(c4, t4, *prog.jac_args(), *w4, jv)
        jac4[name] = lanes_from_lu(jv, ma["pos_lu"])
    rhs4["(b) cfunc"], jv = np.zeros((n, L4)), np.zeros((ma["nnz"], L4))
    call_ptr(gen.rhs4.address, (c4, p4, t4, u4, rhs4["(b) cfunc"]))
    call_ptr(gen.jac4.address, (c4, p4, t4, jv))
    jac4["(b) cfunc"] = lanes_from_lu(jv, ma["pos_lu"])
    names = [*VARIANTS, "(b) cfunc"]
    err = dict.fromkeys(names, 0.0)
    jerr = dict.fromkeys(names, 0.0)
    ab = 0.0
    for lane in range(L4):
        c, p, u = (np.ascontiguousarray(x[:, lane]) for x in (c4, p4, u4))
        t = float(t4[lane])
        ref, scl = oracle_rhs(model, c, p, t, u)
        Jfd = fd_jacobian(model, c, p, t)
        floor = 1e-6 * np.max(np.abs(Jfd))
        rhs1: dict[str, np.ndarray] = {}
        jac1: dict[str, np.ndarray] = {}
        for name, prog in progs1.items():
            w1 = prog.work(p)
            rhs1[name], jac1[name] = np.zeros(n), np.zeros(n * n)
            prog_rhs_into(c, t, u, *prog.rhs_args(), *w1[:2], rhs1[name])
            prog_jac_into(c, t, *prog.jac_args(), *w1, jac1[name])
        rhs1["(b) cfunc"], jac1["(b) cfunc"] = np.zeros(n), np.zeros(n * n)
        call_ptr(gen.rhs.address, (c, p, t, u, rhs1["(b) cfunc"]))
        call_ptr(gen.jac.address, (c, p, t, jac1["(b) cfunc"]))
        for name in names:
            for val in (rhs1[name], rhs4[name][:, lane]):
                err[name] = max(err[name], float(np.max(np.abs(val - ref) / scl)))
            for J in (jac1[name].reshape(n, n), jac4[name][lane]):
                jerr[name] = max(jerr[name], float(np.max(np.abs(J - Jfd) / np.maximum(np.abs(Jfd), floor))))
        Jb = jac1["(b) cfunc"]
        for name in VARIANTS:
            ab = max(ab, float(np.max(np.abs(jac1[name] - Jb) / np.maximum(np.abs(Jb), 1e-12 * np.max(np.abs(Jb))))))
    rows = [(f"rhs {name} vs NumPy (1 row and 4 lanes)", err[name]) for name in names]
    rows += [(f"Jacobian {name} vs central differences (1 row and 4 lanes)", jerr[name]) for name in names]
    rows.append(("Jacobian (a) (both variants) vs (b), 1 row", ab))
    return rows


def _time_per_call(fn, args: tuple, n_iter: int) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn(n_iter, *args)
    return (time.perf_counter() - t0) / n_iter * 1e6


def per_call(model: Model, gen, ma: dict, repeat: int, single: bool = True) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Median us per call of each kernel, all timed round-robin in the same repeats (``single``: also the
    one-row kernels)."""
    n = model.n
    c4, p4, t4, u4 = test_points(model, seed=2)
    c1, p1, t1, u1 = (np.ascontiguousarray(c4[:, 0]), np.ascontiguousarray(p4[:, 0]), float(t4[2]),
                      np.ascontiguousarray(u4[:, 0]))
    r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef = ma["arrays"]
    sym = ma["sym"]
    k1 = ma["k"].copy()
    k4 = np.ascontiguousarray(np.repeat(ma["k"][:, None], L4, axis=1) * np.linspace(0.9, 1.1, L4)[None, :])
    pos_dense = (np.arange(n)[:, None] * n + np.arange(n)[None, :]).astype(np.int64)
    o1, j1, o4, j4 = np.zeros(n), np.zeros((n, n)), np.zeros((n, L4)), np.zeros((ma["nnz"], L4))
    jf, c4f, o4f, j4f = j1.reshape(-1), c4.reshape(-1), o4.reshape(-1), j4.reshape(-1)
    cases = {}
    if single:
        cases["rhs 1 row: mass action"] = (time_ma_rhs, (c1, k1, u1, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, o1,
                                                         c1, o1))
        cases["jac 1 row: mass action"] = (time_ma_jac, (c1, k1, r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef, j1, c1,
                                                         jf))
        for name, fuse in VARIANTS.items():
            prog = Program(model, pos_dense, fuse)
            w1 = prog.work(p1)
            cases[f"rhs 1 row: {name}"] = (time_prog_rhs, (c1, t1, u1, *prog.rhs_args(), *w1[:2], o1, c1, o1))
            cases[f"jac 1 row: {name}"] = (time_prog_jac, (c1, t1, *prog.jac_args(), *w1, jf, c1, jf))
        cases["rhs 1 row: (b) cfunc"] = (time_ptr, (gen.rhs.address, (c1, p1, t1, u1, o1), c1, o1))
        cases["rhs 1 row: (b) FunctionType"] = (time_fc_rhs, (gen.rhs, c1, p1, t1, u1, o1, c1, o1))
        cases["jac 1 row: (b) cfunc"] = (time_ptr, (gen.jac.address, (c1, p1, t1, jf), c1, jf))
    cases["rhs 4 lanes: mass action"] = (time_ma_rhs4, (c4, k4, u4, r_ptr, r_sp, r_ord, sym[12], sym[13], s_ptr, s_sp,
                                                        s_coef, o4, c4f, o4f))
    cases["jac 4 lanes: mass action"] = (time_ma_jac4, (c4, k4, r_ptr, r_sp, r_ord, sym[12], sym[13], s_ptr, s_coef,
                                                        sym[11], sym[10], sym[15], sym[14], j4, c4f, j4f))
    for name, fuse in VARIANTS.items():
        prog = Program(model, ma["pos_lu"], fuse)
        w4 = prog.work(p4)
        cases[f"rhs 4 lanes: {name}"] = (time_prog_rhs4, (c4, t4, u4, *prog.rhs_args(), *w4[:2], o4, c4f, o4f))
        cases[f"jac 4 lanes: {name}"] = (time_prog_jac4, (c4, t4, *prog.jac_args(), *w4, j4, c4f, j4f))
    cases["rhs 4 lanes: (b) cfunc"] = (time_ptr, (gen.rhs4.address, (c4, p4, t4, u4, o4), c4f, o4f))
    cases["rhs 4 lanes: (b) FunctionType"] = (time_fc_rhs4, (gen.rhs4, c4, p4, t4, u4, o4, c4f, o4f))
    cases["jac 4 lanes: (b) cfunc"] = (time_ptr, (gen.jac4.address, (c4, p4, t4, j4), c4f, j4f))
    iters = {}
    for name, (fn, args) in cases.items():
        fn(10, *args)  # compile or load
        us = _time_per_call(fn, args, 2000)
        iters[name] = max(200, int(3000.0 / max(us, 1e-3)))  # ~3 ms per timing
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, (fn, args) in cases.items():
            samples[name].append(_time_per_call(fn, args, iters[name]))
    return {name: statistics.median(v) for name, v in samples.items()}


def integrator_step_cost(model: Model, ma: dict, rows: int = 32) -> tuple[float, float, int]:
    """Measured: il6sim's lane integrator (Rodas5P, 1 thread) on the mass-action twin; (us per attempted
    row-step, median steps per row, stages)."""
    rng = np.random.default_rng(3)
    n = model.n
    k_rows = ma["k"][None, None, :] * np.exp(rng.uniform(np.log(0.5), np.log(2.0), (rows, 1, ma["k"].size)))
    y0 = np.tile(model.x0 + 1e-3, (rows, 1))
    t_out = np.linspace(0.0, 24.0, 25)
    args = (np.array([0.0, 24.0]), np.zeros(1, np.int64), np.full(1, t_out.size, np.int64), k_rows, np.zeros((1, n)),
            np.zeros((1, n)), y0, t_out, *ma["arrays"], 1e-6, np.full(n, 1e-9), np.full(rows, 100000, np.int64))
    _jitsolve.integrate_batch(*args, threads=1)  # compile or load
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        status, _, stats = _jitsolve.integrate_batch(*args, threads=1)
        best = min(best, time.perf_counter() - t0)
    assert np.all(status == 0), status
    steps = stats[:, 1]
    return best / steps.sum() * 1e6, float(np.median(steps)), int(_jitsolve.TAB_STAGES[0])


# --------------------------------------------------------------------------------------------
# Fresh processes.
def _child(kind: str, gen_dir: str) -> None:
    """Run in a new process: time the first evaluation of the model's 4-lane rhs and Jacobian."""
    t_imp = _T_IMPORTED - _T_START
    t0 = time.perf_counter()
    _noop(1.0)  # numba's first cache load (its compiler context), the same for both candidates
    t1 = time.perf_counter()
    model = Model(SPECIES, PARAMS, REACTIONS)
    ma = mass_action_twin(model, *_ref_point(model))  # the LU pattern (the integrator needs it either way)
    c4, p4, t4, u4 = test_points(model)
    o4, j4 = np.zeros((model.n, L4)), np.zeros((ma["nnz"], L4))
    t2 = time.perf_counter()
    if kind.startswith("a"):
        prog = Program(model, ma["pos_lu"])
        w4 = prog.work(p4)
        t3 = time.perf_counter()
        prog_rhs_lanes_into(c4, t4, u4, *prog.rhs_args(), *w4[:2], o4)
        prog_jac_lanes_into(c4, t4, *prog.jac_args(), *w4, j4)
    else:
        src = generate_source(model, ("rhs4", "jac4"), np.zeros((1, 1), np.int64), ma["pos_lu"], ma["nnz"])
        gen = load_generated(src, Path(gen_dir))
        t3 = time.perf_counter()
        call_ptr(gen.rhs4.address, (c4, p4, t4, u4, o4))
        call_ptr(gen.jac4.address, (c4, p4, t4, j4))
    t4_ = time.perf_counter()
    print(json.dumps({"import": t_imp, "numba_init": t1 - t0, "model": t2 - t1, "lower_or_compile": t3 - t2,
                      "first_eval": t4_ - t3, "total": t4_ - _T_START, "check": float(o4.sum() + j4.sum())}))


def _ref_point(model: Model) -> tuple[np.ndarray, np.ndarray, float]:
    c4, p4, t4, _ = test_points(model, seed=4)
    return np.ascontiguousarray(c4[:, 0]), model.p0.copy(), 3.0


def run_child(kind: str, gen_dir: str, cache_dir: str | None = None) -> dict:
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, __file__, "--child", kind, "--gen-dir", gen_dir], capture_output=True,
                         text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"child {kind} failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


# --------------------------------------------------------------------------------------------
def first_eval_in_process(model: Model, ma: dict, work: Path, tag: str, n_b: int) -> tuple[float, float, int]:
    """(median s: (a) parse + lower + first 4-lane rhs and Jacobian; median s: (b) generate + compile (empty
    cfunc cache) + the same; generated lines), in this process with the fixed kernels warm."""
    c4, p4, t4, u4 = test_points(model)
    o4, j4 = np.zeros((model.n, L4)), np.zeros((ma["nnz"], L4))
    a_s, b_s, lines = [], [], 0
    for _ in range(5):
        t0 = time.perf_counter()
        fresh = replicated(model.copies)  # parse + lower from text: nothing is memoised
        prog = Program(fresh, ma["pos_lu"])
        w4 = prog.work(p4)
        prog_rhs_lanes_into(c4, t4, u4, *prog.rhs_args(), *w4[:2], o4)
        prog_jac_lanes_into(c4, t4, *prog.jac_args(), *w4, j4)
        a_s.append(time.perf_counter() - t0)
    for i in range(n_b):
        d = work / f"inproc-{tag}-{i}"
        d.mkdir()
        t0 = time.perf_counter()
        fresh = replicated(model.copies)
        src = generate_source(fresh, ("rhs4", "jac4"), np.zeros((1, 1), np.int64), ma["pos_lu"], ma["nnz"])
        gen4 = load_generated(src, d)
        call_ptr(gen4.rhs4.address, (c4, p4, t4, u4, o4))
        call_ptr(gen4.jac4.address, (c4, p4, t4, j4))
        b_s.append(time.perf_counter() - t0)
        lines = src.count("\n")
    return statistics.median(a_s), statistics.median(b_s), lines


def projection(us: dict, step_us: float, stages: int) -> dict[str, tuple[float, float]]:
    """Projected us per row-step of the lane integrator: the measured mass-action step plus, per row, the
    difference in ``stages`` 4-lane rhs calls and one 4-lane Jacobian."""
    out = {}
    for cand in ("mass action", *VARIANTS, "(b) cfunc"):
        extra = (stages * (us[f"rhs 4 lanes: {cand}"] - us["rhs 4 lanes: mass action"])
                 + us[f"jac 4 lanes: {cand}"] - us["jac 4 lanes: mass action"]) / L4
        out[cand] = (step_us + extra, (step_us + extra) / step_us)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=15, help="timing repeats per kernel (medians)")
    ap.add_argument("--fresh", type=int, default=3, help="repeats of each new-process measurement")
    ap.add_argument("--copies", type=int, default=4, help="size of the larger model: copies of the cascade")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--gen-dir", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.gen_dir)
        return

    import numba

    print(f"# bench_general_laws: {_cpu()} ({os.cpu_count()} cpus), python {platform.python_version()}, "
          f"numpy {np.__version__}, numba {numba.__version__}, {time.strftime('%Y-%m-%d')}")
    work = Path(tempfile.mkdtemp(prefix="il6sim-genlaws-"))
    models = {1: replicated(1), a.copies: replicated(a.copies)}
    twins = {c: mass_action_twin(m, *_ref_point(m)) for c, m in models.items()}
    model, ma = models[1], twins[1]
    n = model.n
    for c, m in models.items():
        print(f"model x{c}: {m.n} species, {m.n_r} laws ({8 * c} Michaelis-Menten, {2 * c} Hill, {c} piecewise in "
              f"time with exp, {c} species exponent, {c} log, {3 * c} mass action); Jacobian pattern "
              f"{len(m.pattern())} entries, LU pattern {twins[c]['nnz']}, program "
              f"{Program(m, twins[c]['pos_lu']).n_instr} instructions ({Program(m, twins[c]['pos_lu'], True).n_instr} "
              f"with the MM op)")

    # ---- 1. first evaluation of a new model.
    c4, p4, t4, u4 = test_points(model)
    prog0 = Program(model, ma["pos_lu"])
    w4 = prog0.work(p4)
    t0 = time.perf_counter()
    prog_rhs_lanes_into(c4, t4, u4, *prog0.rhs_args(), *w4[:2], np.zeros((n, L4)))  # compile or cache load
    prog_jac_lanes_into(c4, t4, *prog0.jac_args(), *w4, np.zeros((ma["nnz"], L4)))
    t_a_kernel = time.perf_counter() - t0
    inproc = {c: first_eval_in_process(m, twins[c], work, f"x{c}", 2 if c == 1 else 1) for c, m in models.items()}
    fresh_rows: dict[str, list[dict]] = {"a": [], "b-cold": [], "b-hit": [], "a-cold": []}
    for i in range(a.fresh):
        d = work / f"child{i}"
        d.mkdir()
        fresh_rows["a"].append(run_child("a", str(d)))
        fresh_rows["b-cold"].append(run_child("b", str(d)))
        fresh_rows["b-hit"].append(run_child("b", str(d)))
    for i in range(min(a.fresh, 2)):
        cache = work / f"numba-cache{i}"
        cache.mkdir()
        fresh_rows["a-cold"].append(run_child("a", str(work), cache_dir=str(cache)))

    # ---- 2. per-call cost, 3. correctness.
    per, steps = {}, {}
    checks: dict = {}
    for c, m in models.items():
        nn = m.n
        pos_dense = (np.arange(nn)[:, None] * nn + np.arange(nn)[None, :]).astype(np.int64)
        src = generate_source(m, ("rhs", "jac", "rhs4", "jac4"), pos_dense, twins[c]["pos_lu"], twins[c]["nnz"])
        (work / f"all-x{c}").mkdir()
        gen = load_generated(src, work / f"all-x{c}")
        checks[c] = check_correctness(m, gen, pos_dense, twins[c])
        per[c] = per_call(m, gen, twins[c], a.repeat if c == 1 else max(5, a.repeat // 2), single=(c == 1))
        steps[c] = integrator_step_cost(m, twins[c])
    edge = Model(EDGE_SPECIES, EDGE_PARAMS, EDGE_REACTIONS)
    edge.points = EDGE_POINTS
    ma_e = mass_action_twin(edge, *_ref_point(edge))
    pos_e = (np.arange(edge.n)[:, None] * edge.n + np.arange(edge.n)[None, :]).astype(np.int64)
    (work / "edge").mkdir()
    gen_e = load_generated(generate_source(edge, ("rhs", "jac", "rhs4", "jac4"), pos_e, ma_e["pos_lu"], ma_e["nnz"]),
                           work / "edge")
    checks["edge"] = check_correctness(edge, gen_e, pos_e, ma_e)

    # ---- report.
    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print("\n## 1. First evaluation of a new model (4-lane rhs + Jacobian: what the lane integrator needs)\n")
    print("| case | per-model work | first evaluation | new process, wall | note |")
    print("|---|---|---|---|---|")
    for c in models:
        a_s, b_s, lines = inproc[c]
        print(f"| x{c}: (a) program, this process, kernels warm | {_ms(a_s)} (parse + lower + first call) | (incl.) "
              f"| — | median of 5 |")
        print(f"| x{c}: (b) cfunc, this process, empty cfunc cache | {_ms(b_s)} (generate + compile + first call) | "
              f"(incl.) | — | {lines} generated lines |")
    for key, label in (("a", "(a) program, new process, interpreter from numba's cache"),
                       ("b-cold", "(b) cfunc, new process, empty cfunc cache"),
                       ("b-hit", "(b) cfunc, new process, cfunc cache hit"),
                       ("a-cold", "(a) program, new process, EMPTY numba cache (once per install)")):
        rows = fresh_rows[key]
        print(f"| x1: {label} | {_ms(med(rows, 'lower_or_compile'))} | {_ms(med(rows, 'first_eval'))} | "
              f"{med(rows, 'wall'):.2f} s | imports {med(rows, 'import'):.2f} s, numba init "
              f"{_ms(med(rows, 'numba_init'))}; median of {len(rows)} |")
    print(f"\n(this process: the interpreter's first call, compile or cache load: {_ms(t_a_kernel)})")

    cands = ["mass action", *VARIANTS, "(b) cfunc"]
    print(f"\n## 2. Per-call cost (us, median of {a.repeat} (x1) / {max(5, a.repeat // 2)} (x{a.copies}); "
          f"kernels timed round-robin)\n")
    print("| model | kernel | " + " | ".join(cands) + " | (b) FunctionType | " +
          " | ".join(f"{x} / MA" for x in cands[1:]) + " |")
    print("|---" * (3 + 2 * len(cands)) + "|")
    for c in models:
        us = per[c]
        for what in ("rhs 1 row", "jac 1 row", "rhs 4 lanes", "jac 4 lanes"):
            if f"{what}: mass action" not in us:
                continue
            vals = [us[f"{what}: {x}"] for x in cands]
            fc = us.get(f"{what}: (b) FunctionType")
            print(f"| x{c} | {what} | " + " | ".join(f"{v:.3f}" for v in vals) +
                  f" | {'—' if fc is None else f'{fc:.3f}'} | " + " | ".join(f"{v / vals[0]:.2f}" for v in vals[1:])
                  + " |")
    print("\nPer-step projection for il6sim's lane integrator (Rodas5P: 8 rhs + 1 Jacobian per step, 4 rows a call):"
          " the measured cost of a step on the mass-action twin (32 rows, 24 h, rtol 1e-6, 1 thread) plus the "
          "kernel differences above.\n")
    print("| model | MA step measured (kernels' share) | " + " | ".join(f"{x}: us (/ MA)" for x in cands[1:]) + " |")
    print("|---" * (2 + len(cands) - 1) + "|")
    for c in models:
        step_us, steps_med, stages = steps[c]
        us = per[c]
        share = (stages * us["rhs 4 lanes: mass action"] + us["jac 4 lanes: mass action"]) / L4
        proj = projection(us, step_us, stages)
        print(f"| x{c} | {step_us:.2f} us per row-step ({share:.2f} us); median {steps_med:.0f} steps per row | " +
              " | ".join(f"{proj[x][0]:.2f} ({proj[x][1]:.2f}x)" for x in cands[1:]) + " |")

    print("\n## 3. Correctness (max over 4 states x parameter rows, t = 0.5, 1.5, 3, 8 h: both sides of t_on; "
          "'edge': 7 laws for the branches the cascade does not reach, states on both sides of each condition)\n")
    print("| model | check | max relative error | limit |")
    print("|---|---|---|---|")
    ok = True
    for c, rows in checks.items():
        for name, e in rows:
            lim = 1e-6 if "central" in name else 1e-12
            ok &= e < lim
            print(f"| {c if c == 'edge' else f'x{c}'} | {name} | {e:.1e} | {lim:.0e} |")
    print("\n(rhs: relative to u + |S||v|, the size of the summed terms; Jacobians: to |J_fd| floored at "
          "1e-6 max|J_fd|, central differences with relative step 1e-5.)")
    print(f"\ncorrectness: {'PASS' if ok else 'FAIL'}; total run time {time.perf_counter() - _T_START:.1f} s")
    if a.keep:
        print(f"work files kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    if not ok:
        sys.exit(1)


def _ms(s: float) -> str:
    return f"{s * 1e3:.1f} ms" if s < 10 else f"{s:.1f} s"


def _cpu() -> str:
    try:
        from _machine import cpu_name

        return cpu_name()
    except ImportError:
        return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
