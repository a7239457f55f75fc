"""Drug modules on small networks with closed-form answers: PK, mass balance, dosing, competition."""

from __future__ import annotations

from pathlib import Path

import closed_forms as cf
import numpy as np
import pytest
from conftest import write_model

from il6sim import Protocol, ProtocolError, UnitError, UnknownNameError, load_model, simulate, steady_state
from il6sim.drugs import Dose, add_drug, dose_protocol, load_drug, parse_dose
from il6sim.errors import ModelFileError
from il6sim.regimen import build_run

# A blood compartment holding IL-6 and sIL-6R (kinds as in the shipped model), closed: no
# synthesis, no loss. Drugs bind by kind.
SMALL_MODEL = """\
[model]
name = "small"
[compartments.blood]
volume = "{vb} l"
source = "assumed: test"
[species.il6]
compartment = "blood"
kind = "il6"
initial = "{il6} nM"
[species.sil6r]
compartment = "blood"
kind = "sil6r"
initial = "{sil6r} nM"
[species.il6__sil6r]
compartment = "blood"
kind = "il6__sil6r"
initial = "0 nM"
[parameters.kon]
value = "0.5 1/(nM*h)"
source = "assumed: test"
[parameters.kd]
value = "{kd} nM"
source = "assumed: test"
[[reactions]]
equation = "il6 + sil6r <=> il6__sil6r"
forward = "kon"
kd = "kd"
"""

DRUG = """\
[drug]
id = "ab"
name = "test antibody"
target_class = "{tclass}"
mw = "150 kDa"
blocks = "{blocks}"
[pk]
cl = "{cl} l/h"
v1 = "{v1} l"
q = "{q} l/h"
v2 = "{v2} l"
ka = "0.01 1/h"
f_sc = 0.7
[[targets]]
kind = "{kind}"
kd = "{kd_drug} nM"
kon = "1 1/(nM*h)"
kint = "0.2 1/h"
[dosing]
dose = "100 mg"
route = "iv"
"""


def make(tmp_path: Path, *, vb=3.0, il6=0.0, sil6r=0.0, kd=2.0, tclass="cytokine", blocks="il6r", cl=0.01, v1=3.0,
         q=0.02, v2=4.0, kind="il6", kd_drug=0.05):
    net = load_model(write_model(tmp_path, SMALL_MODEL.format(vb=vb, il6=il6, sil6r=sil6r, kd=kd), "m.toml"))
    drug = load_drug(write_model(tmp_path, DRUG.format(tclass=tclass, blocks=blocks, cl=cl, v1=v1, q=q, v2=v2,
                                                     kind=kind, kd_drug=kd_drug), "d.toml"))
    return net, drug


TIGHT = {"rtol": 1e-11, "atol": 1e-16, "method": "Radau"}


def test_pk_without_target_is_the_analytic_two_compartment_solution(tmp_path: Path) -> None:
    net, drug = make(tmp_path, cl=0.012, v1=3.5, q=0.025, v2=2.9)
    net = add_drug(net, drug)
    t = np.linspace(0.0, 60 * 24.0, 121)
    proto = dose_protocol(net, drug, Dose("ab", "100 mg", "iv"))
    res = simulate(net, t, protocol=proto, **TIGHT)
    nmol = 100e-3 / (150e3 * 1e-9)
    a, _ = cf.two_compartment_linear(t, nmol / 3.5, 0.0, 0.025 / 3.5, 0.025 / 2.9, 0.012 / 3.5, 3.5, 2.9)
    np.testing.assert_allclose(res["ab"], a, rtol=1e-6)


def test_drug_mass_balance_with_binding_and_internalisation(tmp_path: Path) -> None:
    """dosed = free + peripheral + bound + eliminated, to 1e-8 of the dose."""
    net, drug = make(tmp_path, il6=0.5, sil6r=2.0, tclass="receptor", kind="sil6r", kd_drug=2.5)
    net = add_drug(net, drug)
    proto = dose_protocol(net, drug, Dose("ab", "100 mg", "sc", at_h=5.0, every_h=100.0, count=3))
    t = np.linspace(0, 2000.0, 201)
    res = simulate(net, t, protocol=proto, **TIGHT)
    v1, v2, vb = 3.0, 4.0, 3.0
    amount = (res["ab"] + res["ab_cleared"]) * v1 + res["ab_p"] * v2 + res["ab_depot"] * 1.0 + res["ab__sil6r"] * vb
    dosed = np.array([sum(0.7 * 100e-3 / 150e-6 for d in (5.0, 105.0, 205.0) if d <= ti) for ti in t])
    np.testing.assert_allclose(amount, dosed, rtol=1e-8, atol=1e-8 * dosed.max())


def test_mg_per_kg_means_the_same_as_the_total_dose(tmp_path: Path) -> None:
    mw = 150e3 * 1e-9
    assert parse_dose("8 mg/kg", mw, 80.0) == pytest.approx(parse_dose("640 mg", mw, 80.0), rel=1e-15)
    net, drug = make(tmp_path)
    a = build_run(net, drug_groups=[{"drug": drug.path, "dose": "8mg/kg"}], weight="80kg")
    b = build_run(net, drug_groups=[{"drug": drug.path, "dose": "640 mg"}], weight="80 kg")
    t = np.linspace(0, 100, 11)
    np.testing.assert_array_equal(a.simulate(t, start="file")["ab"], b.simulate(t, start="file")["ab"])


def test_repeated_doses_superpose_in_the_linear_case(tmp_path: Path) -> None:
    """Four weekly doses equal the sum of shifted single-dose closed forms (no target: linear)."""
    net, drug = make(tmp_path)
    net = add_drug(net, drug)
    t = np.linspace(0, 1000.0, 201)
    times = [0.0, 168.0, 336.0, 504.0]
    multi = simulate(net, t, protocol=dose_protocol(net, drug, Dose("ab", "10 mg", "iv", every_h=168.0, count=4)),
                     **TIGHT)["ab"]
    c0 = 10e-3 / 150e-6 / 3.0
    expected = np.zeros_like(t)
    for d in times:
        a, _ = cf.two_compartment_linear(np.maximum(t - d, 0.0), c0, 0.0, 0.02 / 3.0, 0.02 / 4.0, 0.01 / 3.0, 3.0, 4.0)
        expected += np.where(t >= d, a, 0.0)
    np.testing.assert_allclose(multi, expected, rtol=1e-6)


@pytest.mark.parametrize(("il6", "sil6r", "drug_nM", "kd", "kd_drug"),
                         [(0.01, 2.0, 5.0, 20.0, 0.02), (1.0, 1.0, 1.0, 1.0, 1.0), (5.0, 0.1, 50.0, 0.5, 10.0)])
def test_competitive_equilibrium_matches_wang(tmp_path: Path, il6, sil6r, drug_nM, kd, kd_drug) -> None:
    """IL-6 shared by sIL-6R and a cytokine binder: the exact cubic (Wang 1995, FEBS Lett 360:111)."""
    net, drug = make(tmp_path, il6=il6, sil6r=sil6r, kd=kd, kd_drug=kd_drug, v1=3.0, vb=3.0, cl=0.0, q=0.0)
    net = add_drug(net, drug).with_initial({"ab": drug_nM})
    ss = steady_state(net)
    ref = cf.ligand_receptor_decoy_equilibrium(il6, sil6r, drug_nM, kd, kd_drug)
    assert ss.converged
    assert ss["il6"] == pytest.approx(ref.ligand, rel=1e-6)
    assert ss["il6__sil6r"] == pytest.approx(ref.ligand_receptor, rel=1e-6)
    assert ss["ab__il6"] == pytest.approx(ref.ligand_decoy, rel=1e-6)


SIGNAL_MODEL = """\
[model]
name = "signal"
[compartments.blood]
volume = "1 l"
source = "assumed: test"
[species.il6]
compartment = "blood"
kind = "il6"
initial = "1 nM"
[species.mil6r]
compartment = "blood"
kind = "mil6r"
initial = "1 nM"
[species.gp130]
compartment = "blood"
kind = "gp130"
initial = "1 nM"
[species.il6__mil6r]
compartment = "blood"
kind = "il6__mil6r"
initial = "0 nM"
[species.il6__mil6r__gp130]
compartment = "blood"
kind = "il6__mil6r__gp130"
initial = "0 nM"
[parameters.kon]
value = "1 1/(nM*h)"
source = "assumed: test"
[parameters.kd]
value = "0.5 nM"
source = "assumed: test"
[parameters.kd_gp]
value = "0.05 nM"
source = "assumed: test"
[[reactions]]
equation = "il6 + mil6r <=> il6__mil6r"
forward = "kon"
kd = "kd"
[[reactions]]
equation = "il6__mil6r + gp130 <=> il6__mil6r__gp130"
forward = "kon"
kd = "kd_gp"
"""


def test_site_iii_binder_lets_il6_il6r_form_but_removes_the_signal(tmp_path: Path) -> None:
    net = load_model(write_model(tmp_path, SIGNAL_MODEL, "s.toml"))
    text = DRUG.format(tclass="cytokine", blocks="gp130", cl=0.0, v1=1.0, q=0.0, v2=1.0, kind="il6", kd_drug=0.01)
    text += '\n[[targets]]\nkind = "il6__mil6r"\nkd = "0.01 nM"\nkon = "1 1/(nM*h)"\nkint = "0.2 1/h"\n'
    drug = load_drug(write_model(tmp_path, text.replace("[dosing]", "[dosing]\n"), "olo.toml"))
    untreated = steady_state(net)
    treated = steady_state(add_drug(net, drug).with_initial({"ab": 100.0}).with_parameters({"ab_kint_il6__mil6r": 0.0}))
    assert untreated["il6__mil6r__gp130"] > 0.3
    assert treated["il6__mil6r__gp130"] < 1e-2 * untreated["il6__mil6r__gp130"]
    # IL-6·IL-6R still forms, held by the antibody: the receptor is bound, the signal is not
    assert treated["ab__il6__mil6r"] > 0.3
    # and the site-I binder would not let it form
    site1_text = DRUG.format(tclass="cytokine", blocks="il6r", cl=0.0, v1=1.0, q=0.0, v2=1.0, kind="il6", kd_drug=0.01)
    site1 = load_drug(write_model(tmp_path, site1_text, "sil.toml"))
    blocked = steady_state(add_drug(net, site1).with_initial({"ab": 100.0}))
    assert "ab__il6__mil6r" not in blocked.species
    assert blocked["il6__mil6r"] + blocked["il6__mil6r__gp130"] < 1e-2 * untreated["il6__mil6r__gp130"]


def test_competitive_exclusion_by_construction(tmp_path: Path) -> None:
    net, drug = make(tmp_path, il6=1.0, sil6r=1.0)
    with_drug = add_drug(net, drug)
    for r in with_drug.reactions:
        if r.id.startswith("ab_binds") or r.id.startswith("ab_eliminate"):
            continue
        assert "ab__il6" not in [s for s, _ in r.reactants], r.id


# ---------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(("dose", "pattern"), [("8", "has no unit"), ("8 nM", "must be a mass"), ("-5 mg", "must be a finite"),
                                               ("8 mgg/kg", "unknown unit")])
def test_bad_doses(dose: str, pattern: str) -> None:
    with pytest.raises(UnitError, match=pattern):
        parse_dose(dose, 150e-6, 70.0)


def test_bad_drug_files_and_names(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="unknown drug"):
        load_drug("tocilizumabb")
    text = DRUG.format(tclass="cytokine", blocks="il6r", cl=0.01, v1=3, q=0.02, v2=4, kind="il6", kd_drug=1)
    no_target = text.split("[[targets]]")[0] + "[dosing]\ndose = '1 mg'\n"
    with pytest.raises(ModelFileError, match=r"targets: missing"):
        load_drug(write_model(tmp_path, no_target, "nt.toml"))
    with pytest.raises(ModelFileError, match=r"target_class: must be one of"):
        load_drug(write_model(tmp_path, text.replace('"cytokine"', '"cytokin"'), "tc.toml"))
    net, drug = make(tmp_path, kind="gp131")
    with pytest.raises(UnknownNameError, match="target kind 'gp131' is not in model"):
        add_drug(net, drug)


def test_dose_outside_simulated_time(tmp_path: Path) -> None:
    net, drug = make(tmp_path)
    with pytest.raises(ProtocolError, match="outside the simulated time"):
        build_run(net, drug_groups=[{"drug": drug.path, "at": "30d"}], duration_h=28 * 24.0)
    with pytest.raises(ProtocolError, match="no SC route|--route"):
        build_run(net, drug_groups=[{"drug": drug.path, "route": "im"}])
    assert isinstance(build_run(net, drug_groups=[{"drug": drug.path}]).protocol, Protocol)


def test_regimen_file_equals_command_line_groups(tmp_path: Path) -> None:
    net = load_model("il6")
    regimen = tmp_path / "reg.toml"
    regimen.write_text('[regimen]\nweight = "80 kg"\n[[doses]]\ndrug = "tocilizumab"\ndose = "8 mg/kg"\n'
                       'route = "iv"\ninfusion = "1 h"\nat = "1 d"\nevery = "14 d"\ncount = 2\n')
    a = build_run(net, regimen=regimen, duration_h=28 * 24.0)
    b = build_run(net, drug_groups=[{"drug": "tocilizumab", "dose": "8mg/kg", "route": "iv", "infusion": "1h",
                                     "at": "1d", "every": "14d", "count": "2"}], weight="80kg", duration_h=28 * 24.0)
    assert a.protocol == b.protocol and a.weight_kg == b.weight_kg == 80.0
    assert [e.time_h for e in a.protocol.events] == [24.0, 24.0 + 14 * 24.0]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[doses]]\ndose = "8 mg/kg"\n')
    with pytest.raises(ModelFileError, match=r"\[\[doses\]\] #1 drug: missing"):
        build_run(net, regimen=bad)


def test_dosing_time_relative_to_admission(tmp_path: Path) -> None:
    """``at = "admission+4d"`` is the scenario's admission time plus 4 days, in groups and regimen files."""
    from il6sim import load_scenario
    from il6sim.regimen import parse_dose_time

    net = load_model("il6")
    admit = load_scenario("covid_severe", net).admission_h
    assert admit == pytest.approx(15.8 * 24)  # covid_severe.toml: admission = "15.8 d"
    for text, hours in (("admission", admit), ("admission+4d", admit + 96.0), ("Admission - 12 h", admit - 12.0)):
        named = build_run(net, scenario="covid_severe", drug_groups=[{"drug": "tocilizumab", "at": text}])
        plain = build_run(net, scenario="covid_severe", drug_groups=[{"drug": "tocilizumab", "at": hours}])
        assert named.protocol == plain.protocol and named.doses[0].at_h == pytest.approx(hours), text
    regimen = tmp_path / "reg.toml"
    regimen.write_text('[[doses]]\ndrug = "tocilizumab"\nat = "admission+1d"\n')
    assert build_run(net, scenario="covid_severe", regimen=regimen).doses[0].at_h == pytest.approx(admit + 24.0)
    with pytest.raises(UnitError, match=r"relative to admission, but no scenario gives one; add --scenario"):
        build_run(net, drug_groups=[{"drug": "tocilizumab", "at": "admission"}])
    with pytest.raises(UnitError, match=r"falls before t = 0 \(admission is at 15.8 d\)"):
        parse_dose_time("admission-20d", admit)
    with pytest.raises(UnitError, match=r"write 'admission', 'admission\+4d' or 'admission-12h'"):
        parse_dose_time("admission4d", admit)
    regimen.write_text('[[doses]]\ndrug = "tocilizumab"\nat = "admission*2"\n')
    with pytest.raises(ModelFileError, match=r"reg\.toml:3: \[\[doses\]\] #1 at: .*admission\+4d"):
        build_run(net, scenario="covid_severe", regimen=regimen)
