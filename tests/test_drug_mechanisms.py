"""Trapping versus blockade on the shipped model with the shipped drugs, thresholds stated.

Severe COVID-19 (``covid_severe``), each drug at its standard dose at hospital admission.
"""

from __future__ import annotations

import numpy as np
import pytest

from il6sim import load_model
from il6sim.regimen import build_run

T = np.arange(0.0, 28 * 24.0 + 1, 1.0)


@pytest.fixture(scope="module")
def untreated():
    run = build_run(load_model("il6"), scenario="covid_severe")
    return run, run.simulate(T)


def treated(drug: str, **group):
    run = build_run(load_model("il6"), scenario="covid_severe", drug_groups=[{"drug": drug, **group}])
    at = run.scenario.admission_h if "at" not in group else None
    if at is not None:
        run = build_run(load_model("il6"), scenario="covid_severe", drug_groups=[{"drug": drug, "at": at, **group}])
    return run, run.simulate(T)


def auc_after(res, name: str, t0: float) -> float:
    after = T >= t0
    return float(np.trapezoid(res[name][after], T[after]))


@pytest.mark.parametrize("drug", ["siltuximab", "sirukumab", "clazakizumab"])
def test_cytokine_binder_traps_il6(untreated, drug: str) -> None:
    """Total serum IL-6 rises at least tenfold while free IL-6 falls (Eur J Immunol 1992; siltuximab).

    "Falls": the AUC of free IL-6 from a day after dosing is at most 80 % of the untreated AUC
    (clazakizumab's 25 mg COVID-19 dose is the weakest of the three).
    """
    run0, res0 = untreated
    run, res = treated(drug)
    t0 = run.scenario.admission_h
    late = T >= t0 + 7 * 24
    assert np.max(res["il6_total_pg_ml"][late]) >= 10 * np.max(res0["il6_total_pg_ml"][late])
    assert auc_after(res, "il6_free_pg_ml", t0 + 24) < 0.8 * auc_after(res0, "il6_free_pg_ml", t0 + 24)


@pytest.mark.parametrize("drug", ["tocilizumab", "sarilumab"])
def test_receptor_binder_raises_total_sil6r_and_free_il6(untreated, drug: str) -> None:
    """Total sIL-6R rises several-fold and free IL-6 rises (Nishimoto 2008; Gibiansky & Frey 2012)."""
    run0, res0 = untreated
    run, res = treated(drug)
    t0 = run.scenario.admission_h
    after = T >= t0
    assert np.max(res["sil6r_total_ng_ml"][after]) >= 3 * np.max(res0["sil6r_total_ng_ml"][after])
    assert np.max(res["il6_free_pg_ml"][after]) > 1.5 * np.max(res0["il6_free_pg_ml"][after])
    assert np.max(res["mil6r_occupancy"][after]) > 0.9


def test_olamkicept_spares_classic_signalling(untreated) -> None:
    """At 600 mg IV, classic signalling falls by <= 25 % (Schreiber 2021 dose): selectivity."""
    run0, res0 = untreated
    run, res = treated("olamkicept")
    t0 = run.scenario.admission_h
    classic = 1 - auc_after(res, "classic_signal", t0) / auc_after(res0, "classic_signal", t0)
    trans = 1 - auc_after(res, "trans_signal", t0) / auc_after(res0, "trans_signal", t0)
    assert classic <= 0.25, classic
    assert trans > 2 * classic, (trans, classic)


def test_olamkicept_inhibits_trans_signalling_by_80_percent(untreated) -> None:
    """At 600 mg IV, trans-signalling falls by >= 80 % (issue 4 threshold).

    Model version 2 fell short (77 %: IL-6.sIL-6R held by the drug was re-released as the disease
    waned); version 3's circulating-leukocyte IL-6R, calibrated on tocilizumab data (issue 18), clears
    that IL-6 from blood, and the fall is 83 % (olamkicept's own parameters unchanged, nothing tuned
    to this test). Olamkicept's affinity and PK are still unmeasured (facts file 7b).
    """
    run0, res0 = untreated
    run, res = treated("olamkicept")
    t0 = run.scenario.admission_h
    trans = 1 - auc_after(res, "trans_signal", t0) / auc_after(res0, "trans_signal", t0)
    assert trans >= 0.80, trans


def test_receptor_binder_exposure_is_nonlinear() -> None:
    """Target-mediated clearance: doubling the dose more than doubles the trough (tocilizumab label)."""
    net = load_model("il6")
    troughs = []
    for dose in ("2 mg/kg", "4 mg/kg"):
        run = build_run(net, drug_groups=[{"drug": "tocilizumab", "dose": dose, "every": "28d", "count": 1}],
                        duration_h=28 * 24.0 + 1)
        res = run.simulate(T)
        troughs.append(res["tcz_total_ug_ml"][-1])
    assert troughs[1] > 2.0 * troughs[0], troughs


def test_dexamethasone_lowers_il6_and_crp(untreated) -> None:
    run0, res0 = untreated
    run, res = treated("dexamethasone")
    t0 = run.scenario.admission_h
    assert auc_after(res, "il6_free_pg_ml", t0) < auc_after(res0, "il6_free_pg_ml", t0)
    assert auc_after(res, "crp_mg_l", t0) < auc_after(res0, "crp_mg_l", t0)


def test_two_antibodies_in_one_run_share_the_all_drug_observables() -> None:
    """drug_total_ug_ml sums both drugs by mass; cell-bound drug in blood is not serum drug."""
    net = load_model("il6")
    run = build_run(net, drug_groups=[{"drug": "tocilizumab", "dose": "8 mg/kg"},
                                      {"drug": "sarilumab", "dose": "200 mg", "route": "sc"}], duration_h=200.0)
    obs = {o.id: o for o in run.network.observables}
    total = dict(obs["drug_total_ug_ml"].terms)
    assert {"tcz", "sar", "tcz__sil6r", "sar__sil6r"} <= set(total)
    assert "tcz__mil6r_leu" not in total and "sar__mil6r_leu" not in obs["sar_total_ug_ml"].terms
    res = run.simulate(np.array([0.0, 48.0, 199.0]))
    assert np.allclose(res["drug_total_ug_ml"], res["tcz_total_ug_ml"] + res["sar_total_ug_ml"], rtol=1e-12)
    occupied = dict(obs["mil6r_occupancy"].terms)
    assert "tcz__mil6r_leu" in occupied and "sar__mil6r_leu" in occupied
