"""The disease layer of models/il6.toml (version 4): SARS-CoV-2 in the lung, effector T cells, tissue damage.

Numerical evidence: the early growth rate of the virus against the dominant eigenvalue of the
linearised target-cell-limited model (a closed form, independent of the integrator); the tissue
conservation law; non-negativity; the jitted integrator against scipy's BDF at tight tolerance.
Published timing (viral peak at onset, clearance 13-21 d after onset, IL-6 after the virus) with
sources in the scenario file; the host-defence trade-off is reported as the model gives it.
"""

from __future__ import annotations

import numpy as np
import pytest

import il6sim
from il6sim.readouts import Window, auc, last_above, peak
from il6sim.regimen import build_run

NET = il6sim.load_model("il6")
SCENARIO = "covid_severe"
ONSET_H = 8.8 * 24.0  # the viral peak, read as symptom onset (scenario notes)
LAYER = ("target_lung", "eclipse_lung", "infected_lung", "virus_lung", "ifn_lung", "refractory_lung",
         "effector_lung", "tissue_lung", "damage_lung")
T = np.arange(0.0, 45 * 24.0 + 1, 3.0)


def course(drug_groups: list[dict] | None = None, network: il6sim.Network = NET, **options):
    return build_run(network, scenario=SCENARIO, drug_groups=drug_groups or []).simulate(T, **options)


@pytest.fixture(scope="module")
def untreated():
    return course()


def test_the_layer_is_dormant_in_health_and_in_ra() -> None:
    for parameters in (None, dict(build_run(NET, scenario="ra").parameters)):
        ss = il6sim.steady_state(NET, parameters=parameters)
        assert ss.converged
        x = dict(zip(ss.species, ss.values))
        for sid in LAYER:  # every layer species stays at its initial value, so no layer reaction runs
            assert x[sid] == pytest.approx(NET.get_species(sid).initial_nM, abs=1e-15), sid
        assert x["infl"] == 0.0


def test_early_viral_growth_follows_the_linearised_model(untreated) -> None:
    p = {q.id: q.value for q in NET.parameters}
    (infect,) = [r for r in NET.reactions if r.id == "virus_infects"]
    used = dict(infect.reactants)["virus_lung"]  # RNA copies used up per infection (the fit's one virion)
    beta_t0 = p["k_virus_infect"] * NET.get_species("target_lung").initial_nM
    k, delta, prod, c = p["k_eclipse"], p["k_infected_death"], p["k_virus_prod"], p["k_virus_clear"]
    jac = np.array([[-k, 0.0, beta_t0], [k, -delta, 0.0], [0.0, prod, -c - used * beta_t0]])  # eclipse, infected, virus
    r = float(np.max(np.linalg.eigvals(jac).real))
    r0 = beta_t0 * prod / (delta * (c + used * beta_t0))
    assert r0 == pytest.approx(8.6, rel=0.01)  # Goncalves 2020 (via Dodds 2021)
    v = np.asarray(untreated["viral_load_copies_ml"])
    a, b = np.searchsorted(T, 48.0), np.searchsorted(T, 96.0)  # days 2-4: exponential phase
    slope = (np.log(v[b]) - np.log(v[a])) / (T[b] - T[a])
    assert slope == pytest.approx(r, rel=0.02)


def test_untreated_severe_course_has_the_published_timing(untreated) -> None:
    v = np.asarray(untreated["viral_load_copies_ml"])
    il6 = np.asarray(untreated["il6_free_pg_ml"])
    t_vpeak, t_il6peak = T[v.argmax()], T[il6.argmax()]
    assert abs(t_vpeak - ONSET_H) <= 24.0  # peak at symptom onset (He 2020, Neant 2021)
    assert 7.5 < np.log10(v.max()) < 8.5  # log10 8.1 copies/ml at onset (Neant cohort, Agyeman 2022 refit)
    clear_d = float(last_above(T, v, 100.0, Window(ONSET_H, "end"))) / 24.0
    assert 13.0 <= clear_d <= 21.0  # days from onset below 100 copies/ml (Neant 2021, Zheng 2020)
    assert t_il6peak > t_vpeak + 3 * 24.0  # IL-6 peaks after the virus, in the second week of illness
    assert il6.max() == pytest.approx(36.7, rel=0.1)  # Leisman 2020 pooled mean, severe COVID-19
    assert il6[-1] < 0.5 * il6.max()  # resolving by day 45


def test_tissue_is_conserved_bounded_and_non_negative(untreated) -> None:
    tissue, damage = np.asarray(untreated["tissue_lung"]), np.asarray(untreated["damage_lung"])
    assert np.allclose(tissue + damage, 1.0, rtol=0, atol=1e-9)
    d = np.asarray(untreated["tissue_damage"])
    assert d.min() >= 0.0 and 0.1 < d.max() < 1.0
    for sid in LAYER:
        assert np.asarray(untreated[sid]).min() >= -1e-12, sid


def test_jit_agrees_with_scipy_bdf(untreated) -> None:
    ref = course(solver="scipy", method="BDF", rtol=1e-10, atol=1e-16)
    jit = course(rtol=1e-10, atol=1e-16)
    for obs in ("viral_load_copies_ml", "tissue_damage", "il6_free_pg_ml", "crp_mg_l", "effector_t_cells"):
        a, b = np.asarray(jit[obs]), np.asarray(ref[obs])
        big = np.abs(b) > 1e-6 * np.abs(b).max()
        assert np.allclose(a[big], b[big], rtol=1e-5), obs


def _outcomes(res) -> tuple[float, float]:
    clear = float(last_above(T, res["viral_load_copies_ml"], 100.0, Window(ONSET_H, "end"))) / 24.0
    return clear, float(auc(T, res["tissue_damage"])) / 24.0


def test_host_defence_trade_off_early_blockade_delays_clearance_and_spares_tissue(untreated) -> None:
    clear0, dmg0 = _outcomes(untreated)
    early = _outcomes(course([{"drug": "tocilizumab", "dose": "8 mg/kg", "at": "8.8 d"}]))
    late = _outcomes(course([{"drug": "tocilizumab", "dose": "8 mg/kg", "at": "15.8 d"}]))
    delay_early, delay_late = early[0] - clear0, late[0] - clear0
    print(f"tocilizumab at onset: clearance +{delay_early:.1f} d, damage AUC {100 * (early[1] / dmg0 - 1):+.0f} %; "
          f"at admission: +{delay_late:.1f} d, {100 * (late[1] / dmg0 - 1):+.0f} %")
    assert delay_early > 1.0 and early[1] < dmg0  # harm and benefit of early blockade
    assert delay_late < delay_early and late[1] < dmg0  # later: less delay, still some benefit
    assert early[1] < late[1]  # and more benefit early
    # the delay is the host-defence link and nothing else: without IL-6 help there is none
    no_help = NET.with_parameters({"k_eff_il6_help": 0.0})
    base = _outcomes(course(network=no_help))
    treated = _outcomes(course([{"drug": "tocilizumab", "dose": "8 mg/kg", "at": "8.8 d"}], network=no_help))
    assert abs(treated[0] - base[0]) < 0.25


def test_viral_load_observable_is_copies_per_ml(untreated) -> None:
    v = np.asarray(untreated["viral_load_copies_ml"])
    assert v == pytest.approx(np.asarray(untreated["virus_lung"]) * 1e5, rel=1e-4)  # 1 nM-unit = 1e5 copies/ml
    assert float(peak(T, v)) == pytest.approx(v.max())


def test_moderate_course_is_milder_and_clears_sooner(untreated) -> None:
    mod = build_run(NET, scenario="covid_moderate").simulate(T)
    v, il6 = np.asarray(mod["viral_load_copies_ml"]), np.asarray(mod["il6_free_pg_ml"])
    onset = T[v.argmax()]
    assert abs(onset - ONSET_H) <= 24.0
    clear_d = float(last_above(T, v, 100.0, Window(onset, "end"))) / 24.0
    severe_d = float(last_above(T, untreated["viral_load_copies_ml"], 100.0, Window(ONSET_H, "end"))) / 24.0
    assert 12.0 <= clear_d <= 16.0 < severe_d  # mild/moderate median 14 d vs 21 d severe (Zheng 2020)
    assert il6.max() == pytest.approx(13.6, rel=0.1)  # Leisman 2020 minus Mojtabavi 2020
    assert float(np.max(mod["tissue_damage"])) < float(np.max(untreated["tissue_damage"]))


def test_compare_reports_clearance_and_damage_only_where_an_infection_runs() -> None:
    from il6sim.compare import compare_drugs

    viral = compare_drugs(NET, scenario=SCENARIO, drugs="tocilizumab", at="8.8 d")
    w = viral.window
    row = {r["drug"]: r for r in viral.rows}["tocilizumab"]
    shift = row[f"last_above_shift{w}:100:viral_load_copies_ml"]
    assert shift > 24.0 and row[f"inhibition{w}:tissue_damage (%)"] > 5.0
    # the same number as the readout on the runs themselves
    res, ref = viral.results["tocilizumab"], viral.results["untreated"]
    expected = (last_above(res.time_h, res["viral_load_copies_ml"], 100.0, Window(8.8 * 24.0, "end"))
                - last_above(ref.time_h, ref["viral_load_copies_ml"], 100.0, Window(8.8 * 24.0, "end")))
    assert shift == pytest.approx(float(expected), rel=1e-9)
    assert "clearance +h" in viral.format()
    fixed = compare_drugs(NET, scenario="covid_severe_fixed", drugs="tocilizumab", days="10d")
    assert not any(k.startswith("last_above_shift") for k in fixed.rows[0]) and "clearance" not in fixed.format()
