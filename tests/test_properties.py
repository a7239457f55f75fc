"""Hypothesis properties over random networks (up to 12 species, 20 reactions, mixed orders)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from strategies import assembly_networks, random_networks

from il6sim import compile_network, simulate, steady_state
from il6sim.network import Network

T_EVAL = np.linspace(0.0, 50.0, 26)


@settings(max_examples=60, deadline=None)
@given(net=random_networks(open_system=True, catalysis=False))
def test_conservation_laws_hold_along_the_trajectory(net: Network) -> None:
    cn = compile_network(net)
    laws = cn.conservation_laws
    # every law is orthogonal to every reaction's stoichiometry
    np.testing.assert_allclose(laws @ cn.stoichiometry, 0.0, atol=1e-9)
    res = simulate(cn, T_EVAL, rtol=1e-10, atol=1e-12, method="Radau", throw=False)
    assert res.success, res.message
    totals = res.values @ laws.T  # (T, m)
    scale = np.abs(res.values) @ np.abs(laws.T) + 1e-12
    assert np.all(np.abs(totals - totals[0]) <= 1e-8 * scale)


@settings(max_examples=60, deadline=None)
@given(net=random_networks(open_system=True, catalysis=False))
def test_concentrations_stay_non_negative(net: Network) -> None:
    res = simulate(net, T_EVAL, rtol=1e-8, atol=1e-12, throw=False)
    assert res.success, res.message
    scale = np.max(np.abs(res.values), axis=0) + 1e-12
    assert np.all(res.values >= -1e-7 * scale), res.values.min(axis=0)


@settings(max_examples=80, deadline=None)
@given(net=assembly_networks())
def test_steady_state_satisfies_every_binding_equilibrium(net: Network) -> None:
    ss = steady_state(net)
    assert ss.converged
    values = {p.id: p.value for p in net.parameters}
    for r in net.reactions:
        (a, _), (b, _) = r.reactants
        ((c, _),) = r.products
        forward = r.forward.evaluate(values) * ss[a] * ss[b]
        reverse = r.reverse.evaluate(values) * ss[c]
        assert abs(forward - reverse) <= 1e-8 * max(forward, reverse) + 1e-14
    # and it keeps every conserved total of the start
    cn = compile_network(net)
    np.testing.assert_allclose(cn.conservation_laws @ ss.values, cn.conservation_laws @ cn.x0, rtol=1e-9, atol=1e-12)
    assert np.all(ss.values >= 0)
