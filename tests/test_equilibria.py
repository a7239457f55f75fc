"""Equilibria and steady states against closed forms (``tests/closed_forms.py``).

Covers: ``L + R <=> C`` (quadratic); two ligands competing for one receptor and one ligand
with a receptor and a competing binder (decoy) of the ligand (the exact cubic of Wang 1995,
FEBS Lett. 360:111); receptor with synthesis and turnover, alone and with a ligand held
constant that binds it and is internalised with it.  Rate constants span 8 orders of
magnitude (kon 1e-4..1e4 1/(nM*h)), dissociation constants 6 (1e-3..1e3 nM).

Each case is checked twice: ``il6sim.steady_state`` and a long ``il6sim.simulate``
(BDF, rtol 1e-10, atol 1e-14) run for 60 slowest-relaxation times (the slowest rate of the
linearisation at the closed-form equilibrium, or an analytic lower bound for it).

Comparison rule, for every species ``x`` with reference ``x_ref``::

    |x - x_ref| <= 1e-6 * |x_ref| + 1e-9 * scale

``scale`` is the largest total (conserved) concentration, or for open systems the largest
steady-state concentration, in the model.  The absolute floor only matters for free
species that are a tiny fraction of their total (e.g. free ligand 1e-5 nM out of 1000 nM):
there a solver whose error is relative to the conserved totals cannot be asked for 1e-6
of the species itself, and none of the physics is in those last digits.  Everything else
is compared at 1e-6 relative.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import closed_forms as cf
import numpy as np
import pytest

il6sim = pytest.importorskip("il6sim")

REL = 1e-6
FLOOR = 1e-9
SIM_OPTS = {"rtol": 1e-10, "atol": 1e-14}
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def q(x: float, unit: str) -> str:
    """A TOML quantity string with full float precision, e.g. ``"0.0001 1/(nM*h)"``."""
    return f"{float(x)!r} {unit}"


def species_block(name: str, compartment: str, initial_nm: float, boundary: bool = False) -> str:
    text = (
        f'[species.{name}]\ncompartment = "{compartment}"\ninitial = "{q(initial_nm, "nM")}"\n'
        f'source = "assumed: test"\n'
    )
    if boundary:
        text += "boundary = true\n"
    return text + "\n"


def param_block(name: str, value: float, unit: str) -> str:
    return f'[parameters.{name}]\nvalue = "{q(value, unit)}"\nsource = "assumed: test"\n\n'


def header(name: str, compartments: dict[str, float]) -> str:
    text = f'[model]\nname = "{name}"\n\n'
    for cid, vol in compartments.items():
        text += f'[compartments.{cid}]\nvolume = "{q(vol, "l")}"\nsource = "assumed: test"\n\n'
    return text


def load(tmp_path: Path, text: str):
    path = tmp_path / "model.toml"
    path.write_text(text)
    return il6sim.load_model(path)


def check(name: str, actual: float, expected: float, scale: float, what: str) -> None:
    tol = REL * abs(expected) + FLOOR * scale
    err = abs(actual - expected)
    assert err <= tol, (
        f"{what}: [{name}] = {actual!r} nM, closed form {expected!r} nM "
        f"(|diff| {err:.3g}, rel {err / max(abs(expected), 1e-300):.3g}, allowed {tol:.3g})"
    )


def check_steady_and_simulated(model, expected: dict[str, float], scale: float, t_end: float,
                               parameters=None) -> None:
    ss = il6sim.steady_state(model, parameters=parameters)
    assert ss.converged, "steady_state did not converge"
    for sid, ref in expected.items():
        check(sid, ss[sid], ref, scale, "steady_state")
    res = il6sim.simulate(model, np.array([0.0, 0.5 * t_end, t_end]), parameters=parameters,
                          **SIM_OPTS)
    assert res.status == "success"
    for sid, ref in expected.items():
        check(sid, float(res[sid][-1]), ref, scale, f"simulate to t = {t_end:.3g} h")


# ---------------------------------------------------------------------------------------------
# L + R <=> C
# ---------------------------------------------------------------------------------------------


def binding_model(l0, r0, kon, kd, volume=1.0, use_kd_key=True) -> str:
    text = header("binding", {"plasma": volume})
    text += species_block("l", "plasma", l0) + species_block("r", "plasma", r0)
    text += species_block("l__r", "plasma", 0.0)
    text += param_block("kon", kon, "1/(nM*h)")
    if use_kd_key:
        text += param_block("kd", kd, "nM")
        text += '[[reactions]]\nequation = "l + r <=> l__r"\nforward = "kon"\nkd = "kd"\n'
    else:
        text += param_block("koff", kon * kd, "1/h")
        text += '[[reactions]]\nequation = "l + r <=> l__r"\nforward = "kon"\nreverse = "koff"\n'
    return text


def binding_t_end(eq: cf.BindingEquilibrium, kon: float, kd: float) -> float:
    # Linearised about the equilibrium, C relaxes at kon (L + R) + koff.
    return 60.0 / (kon * (eq.ligand + eq.receptor) + kon * kd)


BINDING_CASES = (
    # kon spans 1e-4..1e4 1/(nM*h) against Kd 1e-3..1e3 nM at L0 = 10, R0 = 5 nM ...
    [(10.0, 5.0, kon, kd) for kon, kd in itertools.product([1e-4, 1e-2, 1.0, 1e2, 1e4], [1e-3, 1.0, 1e3])]
    # ... and ligand excess, receptor excess and equal totals at kon = 1.
    + [(l0, r0, 1.0, kd) for (l0, r0), kd in itertools.product([(1e3, 1.0), (1.0, 1e3), (5.0, 5.0)], [1e-3, 1e3])]
)


@pytest.mark.parametrize("l0,r0,kon,kd", BINDING_CASES)
def test_binding_quadratic(tmp_path, l0, r0, kon, kd):
    eq = cf.binding_equilibrium(l0, r0, kd)
    # alternate between the two ways of writing the reverse rate, and a non-unit volume
    use_kd_key = BINDING_CASES.index((l0, r0, kon, kd)) % 2 == 0
    model = load(tmp_path, binding_model(l0, r0, kon, kd, volume=2.5, use_kd_key=use_kd_key))
    check_steady_and_simulated(
        model, {"l": eq.ligand, "r": eq.receptor, "l__r": eq.complex}, max(l0, r0),
        binding_t_end(eq, kon, kd),
    )


def test_binding_quadratic_parameter_overrides(tmp_path):
    """The same checks through ``parameters=`` overrides of one loaded model (kd key form:
    the reverse rate kon*kd must follow both overrides)."""
    l0, r0 = 10.0, 5.0
    model = load(tmp_path, binding_model(l0, r0, 1.0, 2.0))
    for kon, kd in [(1e-4, 1e3), (1e4, 1e-3), (1e-2, 1e-1), (1e3, 10.0)]:
        eq = cf.binding_equilibrium(l0, r0, kd)
        check_steady_and_simulated(
            model, {"l": eq.ligand, "r": eq.receptor, "l__r": eq.complex}, max(l0, r0),
            binding_t_end(eq, kon, kd), parameters={"kon": kon, "kd": kd},
        )


def test_shipped_binding_example():
    """``models/examples/binding.toml`` (quoted in models/README.md): 3.7830 nM."""
    path = ROOT / "models" / "examples" / "binding.toml"
    if not path.is_file():
        pytest.skip("models/examples/binding.toml not shipped yet")
    model = il6sim.load_model(path)
    eq = cf.binding_equilibrium(10.0, 5.0, 2.0)
    assert round(eq.complex, 4) == 3.7830
    check_steady_and_simulated(
        model, {"l": eq.ligand, "r": eq.receptor, "l__r": eq.complex}, 10.0, binding_t_end(eq, 1.0, 2.0)
    )


# ---------------------------------------------------------------------------------------------
# two ligands competing for one receptor (Wang 1995)
# ---------------------------------------------------------------------------------------------


def competition_t_end(p, x, y, kon_x, kd_x, kon_y, kd_y) -> float:
    """60 slowest-relaxation times (from the analytic lower bound on the slow rate)."""
    return 60.0 / cf.competition_slowest_rate_lower_bound(p, x, y, kon_x, kd_x, kon_y, kd_y)


def competition_model(p0, a0, b0, kon_a, kd_a, kon_b, kd_b) -> str:
    text = header("competition", {"cell": 1.0})
    for sid, x0 in [("p", p0), ("a", a0), ("b", b0), ("a__p", 0.0), ("b__p", 0.0)]:
        text += species_block(sid, "cell", x0)
    text += param_block("kon_a", kon_a, "1/(nM*h)") + param_block("kd_a", kd_a, "nM")
    text += param_block("kon_b", kon_b, "1/(nM*h)") + param_block("koff_b", kon_b * kd_b, "1/h")
    text += '[[reactions]]\nequation = "a + p <=> a__p"\nforward = "kon_a"\nkd = "kd_a"\n\n'
    text += '[[reactions]]\nequation = "p + b <=> b__p"\nforward = "kon_b"\nreverse = "koff_b"\n'
    return text


COMPETITION_CASES = [
    # p0, a0, b0, kon_a, kd_a, kon_b, kd_b
    (5.0, 10.0, 20.0, 1.0, 1.0, 0.1, 3.0),
    (1.0, 1e3, 10.0, 1e-2, 1e-3, 1e2, 1e2),
    (100.0, 1.0, 0.1, 1e4, 10.0, 1e-4, 1e-3),
    (10.0, 10.0, 10.0, 1e-4, 1e-3, 1e4, 1e3),
    (1e3, 1e2, 1e2, 1e2, 1e3, 1e-3, 1e-2),
    (0.1, 5.0, 50.0, 1.0, 1e-1, 1e-1, 1.0),
    (2.0, 3.0, 4.0, 1e4, 1e-3, 1e4, 1e-3),
    (50.0, 0.01, 1e3, 1e-4, 1e3, 1e-2, 1e3),
]


@pytest.mark.parametrize("p0,a0,b0,kon_a,kd_a,kon_b,kd_b", COMPETITION_CASES)
def test_two_ligands_compete_for_one_receptor(tmp_path, p0, a0, b0, kon_a, kd_a, kon_b, kd_b):
    s = cf.wang_competitive_binding(p0, a0, b0, kd_a, kd_b)
    model = load(tmp_path, competition_model(p0, a0, b0, kon_a, kd_a, kon_b, kd_b))
    t_end = competition_t_end(s.p, s.a, s.b, kon_a, kd_a, kon_b, kd_b)
    check_steady_and_simulated(
        model, {"p": s.p, "a": s.a, "b": s.b, "a__p": s.pa, "b__p": s.pb}, max(p0, a0, b0), t_end
    )


# ---------------------------------------------------------------------------------------------
# one ligand, its receptor and a competing binder of the ligand (same cubic, roles swapped)
# ---------------------------------------------------------------------------------------------


def decoy_model(l0, r0, d0, kon_r, kd_r, kon_d, kd_d, volume) -> str:
    text = header("decoy", {"blood": volume})
    for sid, x0 in [("l", l0), ("r", r0), ("d", d0), ("l__r", 0.0), ("l__d", 0.0)]:
        text += species_block(sid, "blood", x0)
    text += param_block("kon_r", kon_r, "1/(nM*h)") + param_block("kd_r", kd_r, "nM")
    text += param_block("kon_d", kon_d, "1/(nM*h)") + param_block("kd_d", kd_d, "nM")
    text += '[[reactions]]\nequation = "l + r <=> l__r"\nforward = "kon_r"\nkd = "kd_r"\n\n'
    text += '[[reactions]]\nequation = "l + d <=> l__d"\nforward = "kon_d"\nkd = "kd_d"\n'
    return text


DECOY_CASES = [
    # l0, r0, d0, kon_r, kd_r, kon_d, kd_d, volume (l)
    (0.1, 1.0, 100.0, 1.0, 1e-2, 1e-2, 1.0, 3.0),      # ligand trace, decoy excess
    (10.0, 1.0, 1e3, 1e4, 1e-3, 1e-4, 1e-1, 1.0),
    (1e3, 5.0, 5.0, 1e-4, 1e3, 1e4, 1e-3, 0.5),        # ligand excess
    (5.0, 50.0, 0.5, 1e2, 1.0, 1e-1, 1e2, 2.88),
    (1.0, 1.0, 1.0, 1e-3, 1e-3, 1e3, 1e3, 1.0),
]


@pytest.mark.parametrize("l0,r0,d0,kon_r,kd_r,kon_d,kd_d,volume", DECOY_CASES)
def test_ligand_receptor_and_competing_binder(tmp_path, l0, r0, d0, kon_r, kd_r, kon_d, kd_d, volume):
    s = cf.ligand_receptor_decoy_equilibrium(l0, r0, d0, kd_r, kd_d)
    model = load(tmp_path, decoy_model(l0, r0, d0, kon_r, kd_r, kon_d, kd_d, volume))
    t_end = competition_t_end(s.ligand, s.receptor, s.decoy, kon_r, kd_r, kon_d, kd_d)
    expected = {"l": s.ligand, "r": s.receptor, "d": s.decoy, "l__r": s.ligand_receptor,
                "l__d": s.ligand_decoy}
    check_steady_and_simulated(model, expected, max(l0, r0, d0), t_end)


# ---------------------------------------------------------------------------------------------
# receptor synthesis and turnover
# ---------------------------------------------------------------------------------------------


def turnover_model(ksyn, kdeg, r0, volume) -> str:
    text = header("turnover", {"cell": volume})
    text += species_block("r", "cell", r0)
    text += param_block("ksyn", ksyn, "nM/h") + param_block("kdeg", kdeg, "1/h")
    text += '[[reactions]]\nequation = "-> r"\nrate = "ksyn"\n\n'
    text += '[[reactions]]\nequation = "r ->"\nrate = "kdeg"\n'
    return text


@pytest.mark.parametrize(
    "ksyn,kdeg,r0",
    [(1.0, 0.1, 0.0), (1e-3, 1e-4, 100.0), (1e3, 1e4, 0.0), (1e4, 1e-2, 1.0), (1e-4, 1e2, 1e3)],
)
def test_receptor_synthesis_and_turnover(tmp_path, ksyn, kdeg, r0):
    r_ss = cf.receptor_turnover_steady_state(ksyn, kdeg)
    model = load(tmp_path, turnover_model(ksyn, kdeg, r0, volume=4.0))
    # the approach is exp(-kdeg t); the floor is relative to the steady state itself
    check_steady_and_simulated(model, {"r": r_ss}, r_ss, 60.0 / kdeg)


def turnover_ligand_model(ksyn, kdeg, kon, koff, kint, lig, volume) -> str:
    text = header("turnover_ligand", {"cell": volume})
    text += species_block("r", "cell", 0.0) + species_block("l", "cell", lig, boundary=True)
    text += species_block("l__r", "cell", 0.0)
    text += param_block("ksyn", ksyn, "nM/h") + param_block("kdeg", kdeg, "1/h")
    text += param_block("kon", kon, "1/(nM*h)") + param_block("koff", koff, "1/h")
    text += param_block("kint", kint, "1/h")
    text += '[[reactions]]\nequation = "-> r"\nrate = "ksyn"\n\n'
    text += '[[reactions]]\nequation = "r ->"\nrate = "kdeg"\n\n'
    text += '[[reactions]]\nequation = "l + r <=> l__r"\nforward = "kon"\nreverse = "koff"\n\n'
    text += '[[reactions]]\nequation = "l__r ->"\nrate = "kint"\n'
    return text


@pytest.mark.parametrize(
    "ksyn,kdeg,kon,kd,kint,lig",
    [
        (1.0, 0.1, 1.0, 1.0, 0.3, 2.0),
        (1e-3, 1e-4, 1e4, 1e-3, 1e2, 1e-2),
        (1e3, 1e2, 1e-4, 1e3, 1e-4, 1e3),
        (10.0, 1.0, 1e-2, 1e2, 1e4, 50.0),
        (0.5, 1e-3, 1e2, 1e-1, 1e-3, 0.01),
    ],
)
def test_receptor_turnover_with_constant_ligand(tmp_path, ksyn, kdeg, kon, kd, kint, lig):
    koff = kon * kd
    s = cf.receptor_turnover_with_ligand_steady_state(ksyn, kdeg, kon, koff, kint, lig)
    model = load(tmp_path, turnover_ligand_model(ksyn, kdeg, kon, koff, kint, lig, volume=0.7))
    slow, _ = cf.turnover_with_ligand_rates(kdeg, kon, koff, kint, lig)
    scale = max(s.receptor, s.complex)
    check_steady_and_simulated(model, {"r": s.receptor, "l__r": s.complex, "l": lig}, scale,
                               60.0 / slow)


def test_species_nothing_depends_on_keeps_its_value_and_newton_converges(tmp_path):
    """A dormant branch (``t + v -> e`` with no ``v``): ``t`` is a zero column of the Jacobian, so
    Newton keeps it where it is instead of failing into the slow integration fallback; the other
    species reach their closed-form steady state (receptor turnover)."""
    text = header("dormant", {"cell": 2.0})
    text += species_block("r", "cell", 0.0) + species_block("t", "cell", 1.33)
    text += species_block("v", "cell", 0.0) + species_block("e", "cell", 0.0)
    text += param_block("ksyn", 2.0, "nM/h") + param_block("kdeg", 0.5, "1/h")
    text += param_block("kinf", 0.1, "1/(nM*h)") + param_block("kecl", 0.2, "1/h")
    text += '[[reactions]]\nequation = "-> r"\nrate = "ksyn"\n\n'
    text += '[[reactions]]\nequation = "r ->"\nrate = "kdeg"\n\n'
    text += '[[reactions]]\nequation = "t + v -> e"\nrate = "kinf"\n\n'
    text += '[[reactions]]\nequation = "e ->"\nrate = "kecl"\n\n'
    text += '[[reactions]]\nequation = "v ->"\nrate = "kecl"\n'  # no conservation law ties t to v
    ss = il6sim.steady_state(load(tmp_path, text))
    assert ss.converged and ss.method == "newton"
    assert ss["t"] == 1.33 and ss["v"] == 0.0 and ss["e"] == 0.0
    assert ss["r"] == pytest.approx(cf.receptor_turnover_steady_state(2.0, 0.5), rel=1e-12)
