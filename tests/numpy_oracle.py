"""A plain-NumPy twin of the kernels, built from the Network objects (not from compiled arrays).

It recomputes rates and the right-hand side straight from the reactions' definitions, so that the
compiler (index arrays, volume scaling, reversible splitting) and the numba kernels are both checked
against an independent reading of the mass-action convention.
"""

from __future__ import annotations

import numpy as np

from il6sim.network import Network


def rate_constants(net: Network, overrides: dict[str, float] | None = None) -> list[tuple[float, float | None]]:
    values = {p.id: p.value for p in net.parameters}
    values.update(overrides or {})
    out = []
    for r in net.reactions:
        kf = r.forward.evaluate(values)
        kr = None if r.reverse is None else r.reverse.evaluate(values)
        out.append((kf, kr))
    return out


def rhs(net: Network, c: np.ndarray, overrides: dict[str, float] | None = None) -> np.ndarray:
    idx = {s.id: i for i, s in enumerate(net.species)}
    vol = {cp.id: cp.volume_l for cp in net.compartments}
    dc = np.zeros(len(net.species))
    for r, (kf, kr) in zip(net.reactions, rate_constants(net, overrides)):
        v = kf * np.prod([c[idx[s]] ** o for s, o in r.forward_orders().items()])
        if r.reverse is not None:
            v -= kr * np.prod([c[idx[s]] ** o for s, o in r.backward_orders().items()])
        v_rxn = 1.0 if r.compartment is None else vol[r.compartment]
        for s, coef in r.reactants:
            sp = net.get_species(s)
            if not sp.boundary:
                dc[idx[s]] -= coef * v * v_rxn / vol[sp.compartment]
        for s, coef in r.products:
            sp = net.get_species(s)
            if not sp.boundary:
                dc[idx[s]] += coef * v * v_rxn / vol[sp.compartment]
    return dc


def jacobian_fd(net: Network, c: np.ndarray, rel: float = 1e-6) -> np.ndarray:
    n = len(c)
    jac = np.zeros((n, n))
    for m in range(n):
        h = rel * max(abs(c[m]), 1e-3)
        up, down = c.copy(), c.copy()
        up[m] += h
        down[m] -= h
        jac[:, m] = (rhs(net, up) - rhs(net, down)) / (2 * h)
    return jac
