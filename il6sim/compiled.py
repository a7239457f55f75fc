"""Lowering a :class:`~il6sim.network.Network` to the index arrays the numba kernels take.

>>> from il6sim.network import _tiny
>>> cn = compile_network(_tiny())
>>> cn.rhs(cn.x0).tolist()
[-0.5]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import _kernels
from .errors import UnknownNameError, suggest
from .network import Network
from .units import convert_parameter

__all__ = ["CompiledNetwork", "compile_network"]


@dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """A network as flat arrays plus names; see :mod:`il6sim._kernels` for the layout.

    Reaction ``j`` has a forward half ``2j`` and a reverse half ``2j + 1``; its net rate is
    formed before it is added to the species.

    Attributes
    ----------
    x0 : (n,) initial concentrations, nM.
    p0 : (n_p,) parameter values in core units.
    conservation_laws : (m, n) rows ``w`` with ``w · dc/dt = 0`` for every state (reduced
        row-echelon form; ``conservation_pivots[i]`` is the species whose coefficient in row ``i`` is 1).
    """

    network: Network
    species_ids: tuple[str, ...]
    parameter_ids: tuple[str, ...]
    reaction_labels: tuple[str, ...]
    x0: np.ndarray
    p0: np.ndarray
    volumes: np.ndarray
    kc_ptr: np.ndarray
    kc_idx: np.ndarray
    kc_exp: np.ndarray
    kc_const: np.ndarray
    r_ptr: np.ndarray
    r_sp: np.ndarray
    r_ord: np.ndarray
    s_ptr: np.ndarray
    s_sp: np.ndarray
    s_coef: np.ndarray
    observable_ids: tuple[str, ...] = ()
    observable_units: tuple[str, ...] = ()
    observable_matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    observable_denominator: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def n_species(self) -> int:
        return len(self.species_ids)

    @property
    def n_reactions(self) -> int:
        """Number of reactions (a reversible reaction counts once; it has two halves)."""
        return len(self.reaction_labels)

    @property
    def content_hash(self) -> str:
        return self.network.content_hash

    @cached_property
    def species_index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.species_ids)}

    @cached_property
    def parameter_index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.parameter_ids)}

    def index_of_species(self, sid: str) -> int:
        try:
            return self.species_index[sid]
        except KeyError:
            raise UnknownNameError(f"unknown species '{sid}'{suggest(sid, self.species_ids)}") from None

    def parameter_vector(self, overrides: Mapping[str, float | str] | None = None) -> np.ndarray:
        """The parameter vector with ``overrides`` applied.

        A number is in the parameter's core unit; a string carries its unit (``"0.05 nM/h"``) and
        must have the parameter's dimension (:func:`il6sim.units.convert_parameter`).
        """
        p = self.p0.copy()
        for name, value in (overrides or {}).items():
            idx = self.parameter_index.get(name)
            if idx is None:
                raise UnknownNameError(f"unknown parameter '{name}'{suggest(name, self.parameter_ids)}")
            if isinstance(value, str):
                value = convert_parameter(name, self.network.get_parameter(name).unit, value)
            p[idx] = float(value)
        return p

    def rate_constants(self, p: np.ndarray | None = None) -> np.ndarray:
        """Rate constants of the 2R half-reactions (forward of reaction j at 2j, reverse at 2j+1)."""
        p = self.p0 if p is None else np.asarray(p, dtype=float)
        return _kernels.rate_constants(p, self.kc_ptr, self.kc_idx, self.kc_exp, self.kc_const,
                                       np.empty(2 * self.n_reactions))

    def half_rates(self, c: np.ndarray, p: np.ndarray | None = None) -> np.ndarray:
        """(R, 2): forward and reverse rates of each reaction at state ``c``."""
        k = self.rate_constants(p)
        m = _kernels.monomials(np.asarray(c, dtype=float), k, self.r_ptr, self.r_sp, self.r_ord, np.empty(k.shape[0]))
        return m.reshape(-1, 2)

    def rates(self, c: np.ndarray, p: np.ndarray | None = None) -> np.ndarray:
        """Net rate of each reaction at state ``c`` (forward minus reverse)."""
        halves = self.half_rates(c, p)
        return halves[:, 0] - halves[:, 1]

    def rhs(self, c: np.ndarray, p: np.ndarray | None = None, u: np.ndarray | None = None) -> np.ndarray:
        """dc/dt (nM/h) at state ``c``; ``u`` is an external input (nM/h per species)."""
        k = self.rate_constants(p)
        u = np.zeros(self.n_species) if u is None else np.asarray(u, dtype=float)
        return _kernels.rhs(np.asarray(c, dtype=float), k, u, self.r_ptr, self.r_sp, self.r_ord, self.s_ptr,
                            self.s_sp, self.s_coef)

    def jacobian(self, c: np.ndarray, p: np.ndarray | None = None) -> np.ndarray:
        """The analytic Jacobian (1/h) at state ``c``."""
        k = self.rate_constants(p)
        return _kernels.jacobian(np.asarray(c, dtype=float), k, self.r_ptr, self.r_sp, self.r_ord, self.s_ptr,
                                 self.s_sp, self.s_coef)

    def kernel_args(self) -> tuple[np.ndarray, ...]:
        """The structural arrays in the order the rhs/jacobian kernels take them after ``(c, k[, u])``."""
        return (self.r_ptr, self.r_sp, self.r_ord, self.s_ptr, self.s_sp, self.s_coef)

    @cached_property
    def stoichiometry(self) -> np.ndarray:
        """Dense (n, R) effective stoichiometry: ``dc/dt = stoichiometry @ v``."""
        n = np.zeros((self.n_species, self.n_reactions))
        for j in range(self.n_reactions):
            for a in range(self.s_ptr[j], self.s_ptr[j + 1]):
                n[self.s_sp[a], j] += self.s_coef[a]
        return n

    @cached_property
    def _conservation(self) -> tuple[np.ndarray, np.ndarray]:
        return _left_null_space_rref(self.stoichiometry)

    @property
    def conservation_laws(self) -> np.ndarray:
        """(m, n): each row ``w`` satisfies ``w @ stoichiometry == 0`` (a conserved moiety)."""
        return self._conservation[0]

    @property
    def conservation_pivots(self) -> np.ndarray:
        return self._conservation[1]

    def observables(self, values: np.ndarray) -> np.ndarray:
        """Observables for states ``values`` of shape (T, n) → (T, n_obs)."""
        if not self.observable_ids:
            return np.zeros((np.shape(values)[0], 0))
        values = np.asarray(values)
        out = values @ self.observable_matrix.T
        ratio = np.any(self.observable_denominator != 0, axis=1)
        if ratio.any():
            den = values @ self.observable_denominator[ratio].T
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, ratio] = np.where(den != 0, out[:, ratio] / np.where(den != 0, den, 1.0), 0.0)
        return out


def _null_space_elimination(m: np.ndarray, tol: float) -> np.ndarray:
    """Basis (n, k) of the null space of ``m`` (r, n) from its row echelon form (partial pivoting)."""
    a = np.array(m, dtype=float)
    r, n = a.shape
    # scale each row to unit max so reaction rows with volume factors weigh alike in the rank decision
    amax = np.max(np.abs(a), axis=1) if n else np.zeros(r)
    a[amax > 0] /= amax[amax > 0, None]
    pivots: list[int] = []
    row = 0
    for col in range(n):
        if row >= r:
            break
        best = row + int(np.argmax(np.abs(a[row:, col])))
        if abs(a[best, col]) <= tol:
            continue
        a[[row, best]] = a[[best, row]]
        a[row] = a[row] / a[row, col]
        for other in range(r):
            if other != row and a[other, col] != 0.0:
                a[other] = a[other] - a[other, col] * a[row]
        pivots.append(col)
        row += 1
    free = [c for c in range(n) if c not in pivots]
    basis = np.zeros((n, len(free)))
    for j, f in enumerate(free):
        basis[f, j] = 1.0
        for i, pc in enumerate(pivots):
            basis[pc, j] = -a[i, f]
    return basis


def _left_null_space_rref(stoich: np.ndarray, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    n = stoich.shape[0]
    if stoich.shape[1] == 0:
        return np.eye(n), np.arange(n)
    # Gaussian elimination with elementwise NumPy only (no BLAS/LAPACK): the bits of the laws, and so
    # of steady states, do not depend on the BLAS thread count (a Dask worker runs BLAS on one thread).
    basis = _null_space_elimination(stoich.T, tol)  # (n, m)
    if basis.shape[1] == 0:
        return np.zeros((0, n)), np.zeros(0, dtype=np.int64)
    a = basis.T.copy()
    m = a.shape[0]
    pivots = []
    row = 0
    for col in range(n):
        if row >= m:
            break
        best = row + int(np.argmax(np.abs(a[row:, col])))
        if abs(a[best, col]) < 1e-9:
            continue
        a[[row, best]] = a[[best, row]]
        a[row] /= a[row, col]
        for other in range(m):
            if other != row:
                a[other] -= a[other, col] * a[row]
        pivots.append(col)
        row += 1
    a[np.abs(a) < 1e-12] = 0.0
    return a[:row], np.array(pivots, dtype=np.int64)


def compile_network(network: Network) -> CompiledNetwork:
    """Lower ``network`` to arrays. Cheap (no numba compilation happens here).

    >>> from il6sim.network import _tiny
    >>> compile_network(_tiny()).n_reactions
    1
    """
    sidx = {s.id: i for i, s in enumerate(network.species)}
    pidx = {p.id: i for i, p in enumerate(network.parameters)}
    volume_of = {c.id: c.volume_l for c in network.compartments}
    volumes = np.array([volume_of[s.compartment] for s in network.species], dtype=float)
    boundary = np.array([s.boundary for s in network.species], dtype=bool)

    kc_ptr, kc_idx, kc_exp, kc_const = [0], [], [], []
    r_ptr, r_sp, r_ord = [0], [], []
    s_ptr, s_sp, s_coef = [0], [], []
    labels = []

    def half(expr, orders: dict[str, float]) -> None:
        kc_const.append(0.0 if expr is None else expr.factor)
        for pid, exponent in (() if expr is None else expr.terms):
            kc_idx.append(pidx[pid])
            kc_exp.append(exponent)
        kc_ptr.append(len(kc_idx))
        for sid, order in orders.items():
            if order != 0.0 and expr is not None:
                r_sp.append(sidx[sid])
                r_ord.append(order)
        r_ptr.append(len(r_sp))

    def add(r, net: dict[str, float], comp: str | None) -> None:
        labels.append(r.id)
        half(r.forward, r.forward_orders())
        half(r.reverse, r.backward_orders())
        v_rxn = 1.0 if comp is None else volume_of[comp]
        for sid, coef in net.items():
            i = sidx[sid]
            if coef != 0.0 and not boundary[i]:
                s_sp.append(i)
                s_coef.append(coef * v_rxn / volumes[i])
        s_ptr.append(len(s_sp))

    for r in network.reactions:
        net: dict[str, float] = {}
        for sid, coef in r.reactants:
            net[sid] = net.get(sid, 0.0) - coef
        for sid, coef in r.products:
            net[sid] = net.get(sid, 0.0) + coef
        add(r, net, r.compartment)

    obs = network.observables
    omat = np.zeros((len(obs), len(network.species)))
    dmat = np.zeros((len(obs), len(network.species)))
    for k, o in enumerate(obs):
        for sid, coef in o.terms:
            omat[k, sidx[sid]] += coef * o.factor
        for sid, coef in o.denominator:
            dmat[k, sidx[sid]] += coef

    def i64(x: list) -> np.ndarray:
        return np.asarray(x, dtype=np.int64)

    def f64(x: list) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    return CompiledNetwork(
        network=network,
        species_ids=network.species_ids,
        parameter_ids=network.parameter_ids,
        reaction_labels=tuple(labels),
        x0=f64([s.initial_nM for s in network.species]),
        p0=f64([p.value for p in network.parameters]),
        volumes=volumes,
        kc_ptr=i64(kc_ptr), kc_idx=i64(kc_idx), kc_exp=f64(kc_exp), kc_const=f64(kc_const),
        r_ptr=i64(r_ptr), r_sp=i64(r_sp), r_ord=f64(r_ord),
        s_ptr=i64(s_ptr), s_sp=i64(s_sp), s_coef=f64(s_coef),
        observable_ids=tuple(o.id for o in obs),
        observable_units=tuple(o.unit for o in obs),
        observable_matrix=omat,
        observable_denominator=dmat,
    )
