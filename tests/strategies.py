"""Hypothesis strategies that build random mass-action networks as Network objects."""

from __future__ import annotations

from hypothesis import strategies as st

from il6sim.network import Compartment, Network, Parameter, RateExpr, Reaction, Species

log_uniform = st.floats(min_value=-2.0, max_value=2.0).map(lambda e: 10.0**e)
initial_values = st.one_of(st.just(0.0), st.floats(1e-3, 10.0))


@st.composite
def random_networks(draw, max_species: int = 12, max_reactions: int = 20, open_system: bool = True,
                    catalysis: bool = True) -> Network:
    """Up to ``max_species`` species in one or two compartments and up to ``max_reactions``
    reactions of mixed kind: binding (reversible), isomerisation, transport between compartments,
    catalysed production, dimerisation with an order apart from the stoichiometry and, when
    ``open_system``, zero-order synthesis and first-order loss.

    Without ``catalysis`` every species gets a mass (1, 2 or 3) and a reaction is kept only if it
    conserves mass (bind: m_c = m_a + m_b; dimer: m_b = 2 m_a; iso, transport, order: equal masses),
    so total mass grows at most linearly (synthesis) and no trajectory blows up. With it, any
    combination is allowed (for kernel tests, where nothing is integrated).
    """
    n_comp = draw(st.integers(1, 2))
    comps = tuple(Compartment(f"c{i}", draw(st.sampled_from([0.5, 1.0, 3.0, 20.0]))) for i in range(n_comp))
    n = draw(st.integers(2, max_species))
    species = tuple(
        Species(f"s{i}", comps[draw(st.integers(0, n_comp - 1))].id, draw(initial_values))
        for i in range(n)
    )
    kinds = ["bind", "iso", "transport", "dimer", "order"] + (["catalysis"] if catalysis else [])
    if open_system:
        kinds += ["synth", "loss"]
    n_rx = draw(st.integers(1, max_reactions))
    params: list[Parameter] = []
    reactions: list[Reaction] = []

    def param(unit: str) -> RateExpr:
        pid = f"k{len(params)}"
        params.append(Parameter(pid, draw(log_uniform), unit, "random"))
        return RateExpr.of(pid)

    ids = [s.id for s in species]
    comp_of = {s.id: s.compartment for s in species}
    mass = {sid: draw(st.integers(1, 3)) for sid in ids}

    def conserves(kind: str, a: str, b: str, c: str) -> bool:
        if catalysis:
            return True
        if kind == "bind":
            return mass[c] == mass[a] + mass[b]
        if kind == "dimer":
            return mass[b] == 2 * mass[a]
        if kind in ("iso", "transport", "order"):
            return mass[a] == mass[b]
        return True

    for j in range(4 * n_rx):  # draw candidates until n_rx reactions are kept
        if len(reactions) >= n_rx:
            break
        kind = draw(st.sampled_from(kinds))
        a, b, c = (draw(st.sampled_from(ids)) for _ in range(3))
        rid = f"r{j}"
        if not conserves(kind, a, b, c):
            continue
        if kind == "bind" and len({a, b, c}) == 3:
            reactions.append(Reaction(rid, ((a, 1.0), (b, 1.0)), ((c, 1.0),), param("1/(nM*h)"), param("1/h"),
                                      compartment=comp_of[a]))
        elif kind == "iso" and a != b:
            reactions.append(Reaction(rid, ((a, 1.0),), ((b, 1.0),), param("1/h"), param("1/h"), compartment=comp_of[a]))
        elif kind == "transport" and a != b:
            reactions.append(Reaction(rid, ((a, 1.0),), ((b, 1.0),), param("1/h"), compartment=comp_of[a]))
        elif kind == "catalysis" and a != b:
            reactions.append(Reaction(rid, ((a, 1.0),), ((a, 1.0), (b, 1.0)), param("1/h"), compartment=comp_of[b]))
        elif kind == "dimer" and a != b:
            reactions.append(Reaction(rid, ((a, 2.0),), ((b, 1.0),), param("1/(nM*h)"), param("1/h"), compartment=comp_of[a]))
        elif kind == "order" and a != b:
            # rate = k [a]^2 for a 1:1 conversion: the order differs from the stoichiometry
            reactions.append(Reaction(rid, ((a, 1.0),), ((b, 1.0),), param("1/(nM*h)"), compartment=comp_of[a],
                                      orders=((a, 2.0),)))
        elif kind == "synth":
            reactions.append(Reaction(rid, (), ((a, 1.0),), param("nM/h"), compartment=comp_of[a]))
        elif kind == "loss":
            reactions.append(Reaction(rid, ((a, 1.0),), (), param("1/h"), compartment=comp_of[a]))
    return Network("random", comps, species, tuple(params), tuple(reactions))


@st.composite
def assembly_networks(draw, max_base: int = 5, max_complexes: int = 7) -> Network:
    """Reversible binding only, each complex formed by exactly one reaction from earlier species.

    The stoichiometric matrix then has full column rank, so at a steady state every reaction is at
    equilibrium: kf·[A]·[B] = kr·[C].
    """
    n_base = draw(st.integers(2, max_base))
    n_cx = draw(st.integers(1, max_complexes))
    comp = Compartment("c", 1.0)
    species = [Species(f"b{i}", "c", draw(st.floats(0.1, 10.0))) for i in range(n_base)]
    params: list[Parameter] = []
    reactions: list[Reaction] = []
    for j in range(n_cx):
        ids = [s.id for s in species]
        a = draw(st.sampled_from(ids))
        b = draw(st.sampled_from([i for i in ids if i != a]))
        cx = f"x{j}"
        species.append(Species(cx, "c", 0.0))
        kon = Parameter(f"kon{j}", draw(log_uniform), "1/(nM*h)", "random")
        koff = Parameter(f"koff{j}", draw(log_uniform), "1/h", "random")
        params += [kon, koff]
        reactions.append(Reaction(f"r{j}", ((a, 1.0), (b, 1.0)), ((cx, 1.0),), RateExpr.of(kon.id),
                                  RateExpr.of(koff.id), compartment="c"))
    return Network("assembly", (comp,), tuple(species), tuple(params), tuple(reactions))
