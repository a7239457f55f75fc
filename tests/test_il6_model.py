"""Scientific checks of the default model ``models/il6.toml`` and its shipped scenarios.

Every threshold below is stated with the source of its reference value. The model is simulated as
the scenario README describes: the healthy steady state (reference genotype AA) is the initial
state, the scenario's parameter overrides and protocol apply from t = 0.
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import il6sim
from il6sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
DAY = 24.0

# Pooled means of serum IL-6 (pg/ml) from Leisman DE et al. 2020 Lancet Respir Med 8:1233
# (doi:10.1016/S2213-2600(20)30404-5), with their 95 % CIs:
#   severe/critical COVID-19 36.7 (21.6-62.3); non-COVID ARDS 460 (299.5-705.8);
#   sepsis 983.6 (550.4-1757.4); CRS 3110.5 (632.3-15,302.9).
# Moderate COVID-19: 36.7 minus the severe vs non-severe mean difference of 23.1 pg/ml
# (95 % CI 12.4-33.8; Mojtabavi H et al. 2020 Eur Cytokine Netw 31:44, doi:10.1684/ecn.2020.0448).
# The tests accept the model's peak within a factor of 2 of these values.
IL6_PEAK_TARGET = {
    "covid_moderate": 13.6,
    "covid_severe": 36.7,
    "ards": 460.0,
    "sepsis": 983.6,
    "crs": 3110.5,
}
INFLAMED = tuple(IL6_PEAK_TARGET)


@cache
def model() -> il6sim.Network:
    return il6sim.load_model("il6")


@cache
def healthy():
    ss = il6sim.steady_state(model())
    assert ss.converged
    return ss


def run_scenario(name: str, extra: dict[str, float] | None = None, network=None, step_h: float = 1.0):
    """Scenario ``name`` over its default duration from the healthy steady state of ``network``."""
    net = network if network is not None else model()
    initial = healthy() if network is None else il6sim.steady_state(net)
    sc = load_scenario(name, net)
    t = np.arange(0.0, sc.duration_h + step_h / 2, step_h)
    params = dict(sc.parameters)
    params.update(extra or {})
    res = il6sim.simulate(net, t_eval=t, initial=initial, parameters=params, protocol=sc.protocol,
                          rtol=1e-8, atol=1e-12)
    assert res.status == "success"
    return t, res


@cache
def scenario(name: str):
    return run_scenario(name)


def auc(t: np.ndarray, y: np.ndarray) -> float:
    return float(np.trapezoid(y, t))


# ---------------------------------------------------------------------------------------------
# Healthy steady state
# ---------------------------------------------------------------------------------------------

def test_healthy_steady_state_matches_reference_ranges():
    ss = healthy()
    # healthy serum IL-6 1-5 pg/ml (facts file, 2021 Nat Rev Immunol comment)
    assert 1.0 <= ss["il6_free_pg_ml"] <= 5.0
    # healthy sIL-6R 25-75 ng/ml (same source; Gibiansky & Frey 2012 baseline 38 ng/ml)
    assert 25.0 <= ss["sil6r_total_ng_ml"] <= 75.0
    # sgp130 390 +/- 72 ng/ml (Narazaki M et al. 1993 Blood 82:1120): mean +/- 2 SD
    assert 390.0 - 2 * 72.0 <= ss["sgp130_total_ng_ml"] <= 390.0 + 2 * 72.0
    # most serum IL-6 is free, not in sIL-6R/sgp130 complexes (Baran P et al. 2018 JBC 293:6762)
    assert ss["il6_free_pg_ml"] / ss["il6_total_pg_ml"] > 0.5
    # healthy CRP ~1 mg/l (Dwivedi 2014 Table 1); blood-donor medians 0.6-0.8 mg/l, 90th centile 3 mg/l
    assert 0.5 <= ss["crp_mg_l"] <= 3.0


def test_healthy_steady_state_stays_flat_for_60_days():
    ss = healthy()
    t = np.linspace(0.0, 60 * DAY, 61)
    res = il6sim.simulate(model(), t_eval=t, initial=ss, rtol=1e-10, atol=1e-14)
    assert res.status == "success"
    worst = 0.0
    for sid in ss.species:
        x0 = ss[sid]
        traj = np.asarray(res[sid])
        if x0 == 0.0:  # the inflammatory drive is exactly zero in health and must stay there
            assert np.all(np.abs(traj) <= 1e-14)
            continue
        worst = max(worst, float(np.max(np.abs(traj - x0)) / abs(x0)))
    assert worst <= 1e-6, f"largest relative drift over 60 days: {worst:.2e}"


# ---------------------------------------------------------------------------------------------
# Each signalling mode depends on the receptor it needs
# ---------------------------------------------------------------------------------------------

def knockout_end_state(params: dict[str, float]):
    """Simulate 60 days from the healthy steady state with receptor synthesis removed.

    (A direct ``steady_state`` of the knockout network does not report convergence when whole
    receptor pools go to zero, so the knockout state is reached by integration; 60 days is > 40
    half-lives of the slowest pool, sIL-6R at 1.26 1/d.)
    """
    t = np.array([0.0, 60 * DAY])
    res = il6sim.simulate(model(), t_eval=t, initial=healthy(), parameters=params, rtol=1e-10, atol=1e-24)
    assert res.status == "success"
    return res


def test_no_sil6r_means_no_trans_signalling():
    # sIL-6R comes from constitutive shedding, inflammation-induced shedding and splicing
    no_sil6r = {"k_shed": 0.0, "k_shed_infl": 0.0, "k_sil6r_splice": 0.0}
    res = knockout_end_state(no_sil6r)
    base = healthy()
    assert abs(res["trans_signal"][-1]) <= 1e-9 * base["trans_signal"]
    assert abs(res["trans_signal_t"][-1]) <= 1e-9 * base["trans_signal_t"]
    # classic signalling survives (hepatocyte IL-6R is still there)
    assert res["classic_signal"][-1] >= 0.5 * base["classic_signal"]
    # and in an inflamed scenario (where infl-driven shedding is active) trans-signalling stays absent
    net = model().with_parameters(no_sil6r)
    t, ko = run_scenario("covid_severe", network=net)
    t, wt = scenario("covid_severe")
    assert auc(t, np.abs(ko["trans_signal"])) <= 1e-9 * auc(t, wt["trans_signal"])


def test_no_hepatocyte_il6r_means_no_hepatocyte_classic_signalling():
    res = knockout_end_state({"k_syn_mil6r_hep": 0.0})
    assert abs(res["classic_signal"][-1]) <= 1e-9 * healthy()["classic_signal"]


def test_no_dc_il6r_means_no_trans_presentation():
    res = knockout_end_state({"k_syn_mil6r_dc": 0.0})
    base = healthy()
    assert abs(res["trans_presentation_signal"][-1]) <= 1e-9 * base["trans_presentation_signal"]
    assert res["classic_signal_t"][-1] >= 0.5 * base["classic_signal_t"]


@pytest.mark.parametrize("name", ["covid_severe", "sepsis"])
def test_excess_sgp130_blocks_trans_far_more_than_classic(name):
    """sgp130 synthesis x100 from t = 0 cuts trans-signalling far more than classic signalling.

    Tested in an inflamed, transient scenario on purpose: at a true steady state a buffer that is
    itself cleared slowly (IL-6.sIL-6R.sgp130 leaves at the sIL-6R rate) equilibrates with free
    IL-6.sIL-6R and cannot lower it, so the selectivity of sgp130 (Garbers 2011; Schreiber 2021,
    facts file section 6) shows while IL-6 rises and falls. Classic signalling is touched only
    indirectly (sgp130 traps IL-6 held by sIL-6R).
    """
    t, base = scenario(name)
    k_syn = model().get_parameter("k_sgp130_syn").value
    t, treated = run_scenario(name, {"k_sgp130_syn": 100 * k_syn})
    trans = auc(t, treated["trans_signal"]) / auc(t, base["trans_signal"])
    classic = auc(t, treated["classic_signal"]) / auc(t, base["classic_signal"])
    # model: trans keeps ~26-28 %, classic ~89-91 % of its AUC
    assert trans <= 0.5
    assert classic >= 0.75
    assert (1.0 - trans) >= 3.0 * (1.0 - classic)


# ---------------------------------------------------------------------------------------------
# Scenarios: serum IL-6 peaks, CRP, sIL-6R
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", INFLAMED)
def test_scenario_il6_peak_within_factor_2_of_pooled_mean(name):
    t, res = scenario(name)
    peak = float(np.max(res["il6_free_pg_ml"]))
    target = IL6_PEAK_TARGET[name]
    assert target / 2 <= peak <= target * 2, f"{name}: peak {peak:.1f} pg/ml, target {target}"


def test_crp_rises_with_scenario_severity():
    crp0 = healthy()["crp_mg_l"]
    peaks = {name: float(np.max(scenario(name)[1]["crp_mg_l"])) for name in INFLAMED}
    # every scenario raises CRP well above health
    assert all(p > 10 * crp0 for p in peaks.values()), peaks
    # CRP peak increases with the IL-6 signal: moderate < severe COVID-19 < sepsis
    assert peaks["covid_moderate"] < peaks["covid_severe"] < peaks["sepsis"]
    # severe COVID-19: RECOVERY enrolled CRP >= 75 mg/l, median 143 (IQR 107-205) mg/l
    # (RECOVERY Collaborative Group 2021 Lancet 397:1637); accept 75-250 mg/l
    assert 75.0 <= peaks["covid_severe"] <= 250.0
    # moderate/non-severe COVID-19: median CRP 33 mg/l (IQR 8-60) vs 58 in severe (Qin C et al. 2020
    # Clin Infect Dis 71:762, doi:10.1093/cid/ciaa248); 83 mg/l in a mild/moderate course (Villard,
    # as tabulated in Ann Lab Med 2021;41:540); accept 20-90 mg/l
    assert 20.0 <= peaks["covid_moderate"] <= 90.0
    # sepsis, ARDS, CRS: typically 100-300 mg/l (sepsis ~160 mg/l at 48-72 h, Weidhase L et al. 2019
    # BMC Infect Dis 19:150)
    for name in ("ards", "sepsis", "crs"):
        assert 100.0 <= peaks[name] <= 300.0, (name, peaks[name])


def test_crp_requires_hepatocyte_il6_signalling():
    """CRP production is gated multiplicatively by hepatocyte gp130 signalling: without hepatocyte
    gp130 the co-stimulation of severe COVID-19 leaves CRP at its IL-6-independent basal level
    (0.1 mg/l, 10 % of healthy CRP), as IL-6 blockade suppresses CRP in the COVID-19 trials."""
    net = model().with_parameters({"k_syn_gp130_hep": 0.0})
    t, res = run_scenario("covid_severe", network=net)
    assert float(np.max(res["crp_mg_l"])) <= 0.15


@pytest.mark.parametrize("scenario_name", ["healthy", "ra"])
def test_coactivator_and_promoter_match_their_closed_form_at_steady_state(scenario_name):
    """Model version 6: pSTAT3 activates the CRP co-activator (coact_stat3) next to the basal route.

    With infl = 0 the co-activator pool C (conserved) is a two-state system, so at steady state
    active / C = (kb + ks*p) / (kb + ks*p + koff) for the solved pSTAT3 level p, and the promoter
    pool G is occupied by the fraction kon*p*a / (kon*p*a + koff_g) with a = the active co-activator.
    Both closed forms are evaluated from the parameters alone and compared with the network's
    steady state (Newton at tol 1e-10)."""
    net = model()
    params = dict(load_scenario(scenario_name, net).parameters)
    ss = il6sim.steady_state(net, parameters=params)
    assert ss.converged
    d = ss.as_dict()
    k = {q.id: q.value for q in net.parameters}
    k.update(params)
    p = d["pstat3_hep"]
    pool = d["coact_hep"] + d["coact_on_hep"]
    on = k["k_coact_basal"] + k["k_coact_stat3"] * p
    assert d["coact_on_hep"] / pool == pytest.approx(on / (on + k["k_coact_off"]), rel=1e-6)
    genes = d["crp_gene_hep"] + d["crp_gene_on_hep"]
    occ = k["k_crp_prom_on"] * p * d["coact_on_hep"]
    assert d["crp_gene_on_hep"] / genes == pytest.approx(occ / (occ + k["k_crp_prom_off"]), rel=1e-6)


def test_crp_rises_faster_than_hepatocyte_signalling():
    """With the pSTAT3 route, CRP transcription is pSTAT3 x active co-activator and the co-activator
    itself rises with pSTAT3. Raising only basal IL-6 release 10-fold (no other parameter moves), the
    occupied CRP promoters must rise by more than pSTAT3 does (exponent > 1; without the route the
    co-activator would not move and the exponent would be <= 1), and by no more than its square
    while the pools are far from saturation (exponent <= 2)."""
    net = model()
    h = il6sim.steady_state(net).as_dict()
    r = il6sim.steady_state(net, parameters={"baseline_inflammation": 10.0}).as_dict()
    fold_p = r["pstat3_hep"] / h["pstat3_hep"]
    fold_tx = r["crp_gene_on_hep"] / h["crp_gene_on_hep"]
    exponent = np.log(fold_tx) / np.log(fold_p)
    assert 1.0 < exponent <= 2.0, (fold_p, fold_tx)


@pytest.mark.parametrize("name", INFLAMED)
def test_sil6r_rises_modestly_and_never_falls(name):
    t, res = scenario(name)
    s0 = healthy()["sil6r_total_ng_ml"]
    s = np.asarray(res["sil6r_total_ng_ml"])
    # inflammation raises sIL-6R (ADAM17 shedding): Teachey 2016 (higher in severe CRS), Ziegler 2022
    # (COVID-19 admission > 4 months later); at most the 1.75-fold of Dwivedi 2014's Crohn's calibration
    assert float(np.max(s)) / s0 > 1.02
    assert float(np.max(s)) / s0 <= 1.75
    # never more than a few % below baseline
    assert float(np.min(s)) / s0 >= 0.97
    assert float(np.min(res["sil6r_free_ng_ml"])) / healthy()["sil6r_free_ng_ml"] >= 0.95


# ---------------------------------------------------------------------------------------------
# rs2228145 (IL6R Asp358Ala)
# ---------------------------------------------------------------------------------------------

@cache
def genotype_ratio(genotype: str, observable: str) -> float:
    ss = il6sim.steady_state(model().with_genotype("rs2228145", genotype))
    assert ss.converged
    return ss[observable] / healthy()[observable]


def test_rs2228145_soluble_and_membrane_il6r():
    # per Ala allele sIL-6R +34 % (IL6R Genetics Consortium ERFC 2012 Lancet 379:1205); the model's
    # shedding factors add the effect per allele: AC 1.34, CC 1.68 (1 + 2 x 0.34); a multiplicative
    # rule would give 1.34^2 = 1.80, so CC is accepted in 1.65-1.82
    assert genotype_ratio("AC", "sil6r_total_ng_ml") == pytest.approx(1.34, abs=0.03)
    assert 1.65 <= genotype_ratio("CC", "sil6r_total_ng_ml") <= 1.82
    # surface IL-6R on CD4+ T cells and monocytes up to -28 % per allele (Ferreira RC et al. 2013
    # PLoS Genet 9:e1003444): AC 0.72; CC between additive (0.44) and multiplicative (0.52)
    assert genotype_ratio("AC", "mil6r_t_per_cell") == pytest.approx(0.72, abs=0.03)
    assert 0.42 <= genotype_ratio("CC", "mil6r_t_per_cell") <= 0.54


@pytest.mark.xfail(strict=True, reason=(
    "model version 3 (issue 18): most IL-6 clearance is now the circulating-leukocyte IL-6R pool, which "
    "the genotype does not touch (the pool does not shed, or serum sIL-6R would be ~10x too high), so "
    "the emergent per-allele effects are IL-6 +3.5 % (published +15 %) and CRP -16 % (published "
    "-7.5 %), outside the factor-2 band; model version 5 (no hepatocyte trans-signalling, which the Ala "
    "allele's extra sIL-6R fed) gives IL-6 +4.0 % and CRP -19.6 %, version 6 (CRP steeper in hepatocyte "
    "signalling) IL-6 +3.9 % and CRP -21.4 %. Tried 2026-12-05: the Ferreira 2013 monocyte IL-6R -28 % per "
    "allele on the leukocyte pool (synthesis x0.72 for AC) gives IL-6 +25 % but CRP -1.1 %: the IL-6 "
    "rise offsets the hepatocyte receptor shed; not adopted"))
def test_rs2228145_emergent_il6_and_crp():
    """Emergent effects (not set by the genotype scaling): per Ala allele IL-6 +15 % and CRP -7.5 %
    (IL6R Genetics Consortium ERFC 2012). Model version 2 gave IL-6 +9.6 % and CRP -11.9 % for AC, so
    only the direction and the size within a factor of 2 of the reported per-allele effect are
    asserted: IL-6 +7.5 to +30 %, CRP -3.75 to -15 %."""
    il6_up = genotype_ratio("AC", "il6_free_pg_ml") - 1.0
    crp_down = 1.0 - genotype_ratio("AC", "crp_mg_l")
    assert 0.075 <= il6_up <= 0.30
    assert 0.0375 <= crp_down <= 0.15


# ---------------------------------------------------------------------------------------------
# Bad input through the command line
# ---------------------------------------------------------------------------------------------

BAD_INPUT = [
    (["--scenario", "covid_sever"], "covid_severe"),
    (["--genotype", "rs2228145=AG"], "AG"),
    (["--set", "k_il6_basl=1"], "k_il6_basal"),
    (["--set", "k_il6_basal=3 h"], "k_il6_basal"),
    (["--days", "-1"], "-1"),
]


@pytest.mark.parametrize(("args", "mentions"), BAD_INPUT, ids=["scenario", "genotype", "parameter", "unit", "days"])
def test_cli_rejects_bad_input_cleanly(tmp_path, args, mentions):
    out = tmp_path / "x.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "il6sim.cli", "simulate", *args, "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("il6sim: error:")
    assert mentions in lines[0]  # the nearest valid name is suggested, or the bad value is named
    assert "Traceback" not in proc.stderr
    assert not out.exists()
