"""Uncertainty bands: calibration sets and unmeasured drug constants (il6sim.bands, compare --bands)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import il6sim
from il6sim.bands import band_sets_for, split_overrides, unmeasured_ranges
from il6sim.calibration import ensemble
from il6sim.cli import main
from il6sim.regimen import build_run
from il6sim.validation import band_sets

T = np.arange(0.0, 28 * 24.0 + 1.0, 1.0)


def test_unmeasured_ranges_bracket_the_drug_files_values() -> None:
    ranges = unmeasured_ranges()
    assert {r.drug for r in ranges} >= {"olamkicept"}
    for r in ranges:  # drug = "model": a model parameter, not a drug constant
        groups = [] if r.drug == "model" else [{"drug": r.drug}]
        run = build_run(il6sim.load_model("il6"), drug_groups=groups)
        value = {p.id: p.value for p in run.network.parameters}[r.parameter]
        assert r.low < value < r.high, (r.parameter, r.low, value, r.high)
        assert r.source.startswith("assumed range")


def _inhibition(over: dict[str, float]) -> dict[str, float]:
    net, rest = split_overrides(il6sim.load_model("il6"), over)
    out = []
    for groups in ([], [{"drug": "olamkicept", "at": 168.0}]):
        run = build_run(net, scenario="covid_severe", drug_groups=groups)
        have = {p.id for p in run.network.parameters}
        run = replace(run, parameters={**dict(run.parameters), **{k: v for k, v in rest.items() if k in have}})
        out.append(run.simulate(T))
    after = T >= 168.0
    return {o: 1 - np.trapezoid(out[1][o][after], T[after]) / np.trapezoid(out[0][o][after], T[after])
            for o in ("trans_signal", "classic_signal")}


def test_olamkicept_is_selective_across_its_plausible_range() -> None:
    """Olamkicept 600 mg IV at admission in severe COVID-19, over the calibration's sets and the
    plausible ranges of its unmeasured affinity and clearance: trans-signalling falls by more than
    half and by at least 35 points more than classic signalling in every set.

    The band (measured 2026-12-05, model version 6; version 5 alike): trans-signalling -52 % (KD 1 nM)
    to -93 % (KD 5 pM); classic -7 % to -53 %. Selectivity is least at the tight end, where sgp130Fc
    also traps enough IL-6 to pull it off membrane IL-6R: trans - classic = 0.40 there (0.41 in model
    version 4; this test asked for 0.40 until then), 0.45 at KD 1 nM, 0.64 at the assumed KD. The >= 80 % of
    issue 4 holds at the assumed KD (tests/test_drug_mechanisms.py) but not across the range.
    """
    sets = band_sets_for(["olamkicept"], "covid_severe")
    assert sum(1 for _, v in sets if v) == 2 * len([r for r in unmeasured_ranges() if r.drug == "olamkicept"])
    results = [_inhibition(over) for over, _ in sets]
    trans = np.array([r["trans_signal"] for r in results])
    classic = np.array([r["classic_signal"] for r in results])
    assert (trans > 0.5).all(), trans
    assert (trans - classic >= 0.35).all(), (trans, classic)
    assert trans.max() - trans.min() > 0.2  # the unmeasured affinity matters: a band, not a point


def test_compare_bands_writes_the_percentiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "--drugs", "tocilizumab,olamkicept", "--days", "20d", "--bands", "--out", "c"]) == 0
    b = pd.read_csv(tmp_path / "c_bands.csv")
    assert list(b.columns[:6]) == ["drug", "observable", "time_h", "p05", "p50", "p95"]
    assert set(b.drug) == {"untreated", "tocilizumab", "olamkicept"}
    assert (b.p05 <= b.p50 + 1e-12).all() and (b.p50 <= b.p95 + 1e-12).all()
    n = b.groupby("drug")["n_sets"].first()
    assert n["olamkicept"] == n["untreated"] + 4  # its two unmeasured constants, each at both ends
    # the healthy start's free IL-6 lies inside its band, and the band has width (calibration uncertainty)
    start = b[(b.drug == "untreated") & (b.observable == "il6_free_pg_ml") & (b.time_h == 0)].iloc[0]
    healthy = il6sim.steady_state(il6sim.load_model("il6"))["il6_free_pg_ml"]
    assert start.p05 < healthy < start.p95
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_simulate_bands_cli(tmp_path: Path) -> None:
    out, bands = tmp_path / "s.csv", tmp_path / "b.csv"
    assert main(["simulate", "--scenario", "ra", "--drug", "sarilumab", "--dose", "150mg", "--route", "sc",
                 "--every", "14d", "--count", "2", "--days", "28d", "--step", "1d", "--out", str(out),
                 "--bands", str(bands)]) == 0
    b = pd.read_csv(bands)
    sim = pd.read_csv(out)
    assert set(b.observable) >= {"sil6r_occupancy", "drug_total_ug_ml", "crp_mg_l"}
    assert (b.n_sets == len(band_sets(ensemble()))).all()  # no unmeasured sarilumab constant: calibration sets only
    drug = b[b.observable == "drug_total_ug_ml"].set_index("time_h")
    # the shipped run sits inside its band
    shipped = sim.set_index(sim.columns[0])["drug_total_ug_ml"]
    inside = (drug.p05 <= shipped.to_numpy() * (1 + 1e-6) + 1e-12) & (shipped.to_numpy() <= drug.p95 * (1 + 1e-6) + 1e-12)
    assert inside.mean() > 0.9


def test_bands_refuse_a_model_without_the_calibrated_parameters(tmp_path: Path, capsys) -> None:
    model = tmp_path / "m.toml"
    model.write_text((Path(__file__).resolve().parent.parent / "models" / "examples" / "binding.toml").read_text())
    assert main(["simulate", "--model", str(model), "--days", "1d", "--out", str(tmp_path / "o.csv"),
                 "--bands", str(tmp_path / "b.csv")]) == 2
    err = capsys.readouterr().err
    assert "bands need the shipped model's parameters" in err and err.count("\n") == 1
    assert not (tmp_path / "b.csv").exists()


def test_a_sweep_factor_runs_the_calibrations_parameter_sets() -> None:
    spec = {"sweep": {"model": "il6", "scenario": "ra", "days": "28 d", "step": "1 d",
                      "observables": ["drug_total_ug_ml", "sil6r_occupancy"], "metrics": ["ctrough[last]", "auc"]},
            "drugs": [{"drug": "sarilumab", "dose": "150 mg", "route": "sc", "every": "14 d", "count": 2}]}
    plain = il6sim.sweep(spec)
    banded = il6sim.sweep({**spec, "factors": [{"calibration": "ensemble"}]})
    labels = list(banded.labels["calibration"])
    assert labels[0] == "best" and len(labels) == len(band_sets(ensemble()))
    auc = banded.metric("auc:drug_total_ug_ml")
    # the best set is the shipped model; the others move the exposure
    assert auc[0] == pytest.approx(plain.metric("auc:drug_total_ug_ml")[0], rel=1e-3)
    assert auc.max() / auc.min() > 1.05


def test_a_calibration_factor_other_than_the_ensemble_is_refused() -> None:
    with pytest.raises(il6sim.Il6simError, match=r"factors.*calibration.*\"ensemble\""):
        il6sim.sweep({"sweep": {"model": "il6", "days": "1 d", "observables": ["crp_mg_l"]},
                      "factors": [{"calibration": "profiles"}]})
