"""The data behind each gallery figure against the physics; the gallery's incremental logic; the CLI.

The gallery runs once (module fixture) through the command line; every test reads the CSVs it wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from il6sim.analysis.doseresponse import span_10_90, steepness
from il6sim.cli import main
from il6sim.gallery import REGISTRY, gallery_markdown

ROOT = Path(__file__).resolve().parent.parent
ONLY = "a,b,c,d,e,f,g,h,j,k,l,m,n,o,p,q"


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gallery")
    # every figure but (i), which is tested on a small design below (its full design takes ~20 s)
    assert main(["figures", "--out", str(out), "--dpi", "40", "--only", ONLY]) == 0
    return out


def table(gallery: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(gallery / f"{name}.csv")


def built(gallery: Path) -> list[str]:
    return [n for n in REGISTRY if (gallery / f"{n}.json").is_file()]


# --- files and provenance ---------------------------------------------------------------------
def test_every_available_figure_has_image_data_and_metadata(gallery: Path) -> None:
    names = built(gallery)
    assert set(REGISTRY) - set(names) == {"sensitivity"}
    for name in names:
        meta = json.loads((gallery / f"{name}.json").read_text())
        assert (gallery / f"{name}.png").stat().st_size > 1000
        assert meta["rows"] == len(table(gallery, name)) > 0
        assert meta["network_hash"] and meta["il6sim_version"] and meta["input_key"]
        assert "il6.toml" in meta["inputs"]
        assert meta["command"].startswith("il6sim figures --out")


def test_second_run_recomputes_nothing_and_files_are_identical(gallery: Path, capsys: pytest.CaptureFixture) -> None:
    before = {p.name: p.read_bytes() for p in gallery.iterdir() if p.suffix in (".csv", ".json")}
    capsys.readouterr()
    assert main(["figures", "--out", str(gallery), "--dpi", "40", "--only", ONLY]) == 0
    err = capsys.readouterr().err
    assert f"recomputed: 0, up to date: {len(built(gallery))}" in err
    assert "\r" not in err  # no progress bar when stderr is not a terminal
    after = {p.name: p.read_bytes() for p in gallery.iterdir() if p.suffix in (".csv", ".json")}
    assert after == before


def test_a_gallery_run_leaves_no_figure_open(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Each figure is closed once its images are written (a library user running the gallery from Python
    would otherwise collect open pyplot figures, and matplotlib warns past 20)."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    assert main(["figures", "--out", str(tmp_path), "--dpi", "40", "--only", "a,q"]) == 0
    capsys.readouterr()
    assert set(plt.get_fignums()) == before


def test_force_recomputes_with_identical_data(gallery: Path, capsys: pytest.CaptureFixture) -> None:
    csv = (gallery / "schematic.csv").read_bytes()
    capsys.readouterr()
    assert main(["figures", "--out", str(gallery), "--dpi", "40", "--only", "a", "--force"]) == 0
    assert "recomputed: 1, up to date: 0" in capsys.readouterr().err
    assert (gallery / "schematic.csv").read_bytes() == csv


def test_changed_input_is_recomputed(gallery: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "g"
    out.mkdir()
    for suffix in (".csv", ".json", ".png"):
        (out / f"schematic{suffix}").write_bytes((gallery / f"schematic{suffix}").read_bytes())
    assert main(["figures", "--out", str(out), "--dpi", "40", "--only", "schematic"]) == 0
    assert "up to date: 1" in capsys.readouterr().err
    assert main(["figures", "--out", str(out), "--dpi", "50", "--only", "schematic"]) == 0  # an option changed
    assert "recomputed: 1" in capsys.readouterr().err
    assert main(["figures", "--out", str(out), "--dpi", "50", "--only", "schematic", "--format", "svg"]) == 0
    assert "recomputed: 1" in capsys.readouterr().err  # a format not yet written
    assert (out / "schematic.svg").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--only", "trapping"], "unknown figure 'trapping'; did you mean 'trapping_blockade'?"),
    (["--format", "png,jpg"], "unknown format 'jpg'"),
    (["--dpi", "0"], "--dpi must be between"),
])
def test_bad_options_one_line_error_nothing_written(argv: list[str], message: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "new"
    assert main(["figures", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("il6sim: error:")
    assert not out.exists()


def test_unwritable_out(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["figures", "--out", str(f)]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert main(["figures", "--out", str(f / "sub")]) == 2
    assert "cannot create the directory" in capsys.readouterr().err


def test_gallery_page_lists_every_figure() -> None:
    text = (ROOT / "docs" / "gallery.md").read_text()
    assert text == gallery_markdown("figures") + "\n"
    for name in REGISTRY:
        assert (ROOT / "docs" / "figures" / f"{name}.png").is_file()


# --- layers: figures draw, analysis computes ----------------------------------------------------
def _il6sim_imports(path: Path) -> set[str]:
    """The il6sim modules a file imports (relative imports resolved), and any top-level package imported."""
    import ast

    package = "il6sim." + path.parent.name
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            mod = ".".join(p for p in (base, node.module or "") if p)
            out |= {mod} if node.module else {f"{mod}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return out


def test_figures_import_no_engine_and_analysis_no_matplotlib() -> None:
    allowed = ("il6sim.figures", "il6sim.errors", "il6sim.network", "il6sim.drugs", "il6sim.shipped", "il6sim.units")
    for path in sorted((ROOT / "il6sim" / "figures").glob("*.py")):
        bad = {m for m in _il6sim_imports(path) if m.startswith("il6sim") and not m.startswith(allowed)}
        assert not bad, f"{path.name} imports {sorted(bad)}"
    analysis = sorted((ROOT / "il6sim" / "analysis").glob("*.py"))
    assert {p.stem for p in analysis} >= {"runs", "modes", "transmap", "genotype", "timing", "settings",
                                          "doseresponse", "trapping", "gsa", "schematic"}
    for path in analysis:
        bad = {m for m in _il6sim_imports(path)
               if m.split(".")[0] == "matplotlib" or m.startswith(("il6sim.figures", "il6sim.gallery"))}
        assert not bad, f"{path.name} imports {sorted(bad)}"


# --- (a) schematic ------------------------------------------------------------------------------
def test_schematic_sites_come_from_the_drug_files(gallery: Path) -> None:
    from il6sim.drugs import add_drug, load_drug
    from il6sim.shipped import load_model, shipped_names

    t = table(gallery, "schematic").fillna("")
    drugs = t[t.entity == "drug"].set_index("name")
    assert sorted(drugs.index) == sorted(load_drug(n).name for n in shipped_names("drugs"))
    modes = ["classic", "trans", "trans_presentation"]
    for name, row in drugs.iterrows():
        drug = load_drug(str(name))
        if drug.target_class == "production":
            assert list(row[modes]) == ["indirect"] * 3
            continue
        net = add_drug(load_model("il6"), drug)
        for sid in str(row["species"]).split(";"):  # every listed species has a drug complex in the model
            assert f"{drug.id}__{sid}" in net.species_ids
        expected = {"cytokine": ["blocks"] * 3, "receptor": ["blocks"] * 3, "complex": ["no", "blocks", "no"]}
        assert list(row[modes]) == expected[drug.target_class], name


# --- (b) signalling vs IL-6 -----------------------------------------------------------------------
def test_signals_rise_with_il6_and_trans_needs_sil6r(gallery: Path) -> None:
    t = table(gallery, "signalling_modes")
    assert t.converged.all()
    for cond, d in t.groupby("condition"):
        d = d.sort_values("il6_free_pg_ml")
        rising = d[d.il6_free_pg_ml <= 1e3]
        assert (np.diff(rising["classic_signal"]) > 0).all(), cond
        assert (np.diff(rising["trans_presentation_signal"]) > 0).all(), cond
        # at saturating IL-6, IL-6·sIL-6R competes for hepatocyte gp130: classic signalling plateaus (< 1 % fall)
        assert d["classic_signal"].iloc[-1] > 0.99 * d["classic_signal"].max(), cond
    neither = t[t.condition == "neither"]
    phys = t[t.condition == "physiological"].sort_values("il6_free_pg_ml")
    # without soluble receptors there is no trans-signalling: zero to the steady-state solver's roundoff
    assert (neither.trans_signal < 1e-12 * phys.trans_signal.min()).all()
    assert (neither.sil6r_free_ng_ml < 1e-12 * phys.sil6r_free_ng_ml.min()).all()
    assert (phys.trans_signal > 0).all()
    assert (np.diff(phys[phys.il6_free_pg_ml <= 1e3].trans_signal) > 0).all()
    phys_sgp130 = t[t.condition == "physiological"].sgp130_free_ng_ml.min()
    assert (t[t.condition != "physiological"].sgp130_free_ng_ml < 1e-12 * phys_sgp130).all()  # zero to roundoff
    # classic signalling saturates with the membrane receptor: less than 2x over the top decade
    top = phys[phys.il6_free_pg_ml >= 1e4].classic_signal
    assert top.max() / top.min() < 2.0


# --- (c) trapping versus blockade ------------------------------------------------------------------
def test_trapping_and_blockade(gallery: Path) -> None:
    t = table(gallery, "trapping_blockade")
    dose_day = t.dose_day.iloc[0]
    after = t[t.time_d > dose_day + 0.5]
    ref = after[after.drug == "untreated"].set_index("time_d")
    for drug, d in after.groupby("drug"):
        d = d.set_index("time_d")
        cls = d.target_class.iloc[0]
        if cls == "cytokine":  # trapping: total IL-6 above untreated at every time, free IL-6 below at its peak
            assert (d.il6_total_pg_ml > ref.il6_total_pg_ml).all(), drug
            # binders that keep IL-6 off IL-6R hold it in serum (>= 10x; Eur J Immunol 1992, siltuximab);
            # olokizumab (site III) lets drug.IL-6 dock to IL-6R, so the IL-6R-bearing cells in contact
            # with plasma (circulating leukocytes, model version 3) still clear it: less trapping
            fold = 2 if drug == "olokizumab" else 10
            assert d.il6_total_pg_ml.max() > fold * ref.il6_total_pg_ml.max(), drug
            assert d.il6_free_pg_ml.max() < ref.il6_free_pg_ml.max(), drug
        if cls == "receptor":  # blockade: total sIL-6R and free IL-6 rise, classic signalling collapses
            assert d.sil6r_total_ng_ml.max() > 5 * ref.sil6r_total_ng_ml.max(), drug
            assert d.il6_free_pg_ml.max() > ref.il6_free_pg_ml.max(), drug
            # within two weeks of the one dose (sarilumab's label interval): after that the receptor pool
            # clears the drug (target-mediated disposition) and signalling returns while IL-6 is still up
            two_weeks = d.index <= dose_day + 14
            assert d.classic_signal[two_weeks].max() < 0.1 * ref.classic_signal[two_weeks].max(), drug
        if cls == "complex":  # sgp130Fc: trans-signalling falls far more than classic signalling
            trans = 1 - np.trapezoid(d.trans_signal, d.index) / np.trapezoid(ref.trans_signal, ref.index)
            classic = 1 - np.trapezoid(d.classic_signal, d.index) / np.trapezoid(ref.classic_signal, ref.index)
            assert trans > 0.5 and trans > classic + 0.4, drug
    before = t[t.time_d < dose_day]
    for _, d in before.groupby("time_d"):  # before the dose every run is the same patient
        assert np.allclose(d.crp_mg_l, d.crp_mg_l.iloc[0], rtol=1e-6)


# --- (d) trans-signalling map ---------------------------------------------------------------------
def test_trans_map(gallery: Path) -> None:
    t = table(gallery, "trans_map")
    assert t.converged.all()
    assert np.allclose(t.il6_free_pg_ml, 50.0)  # serum free IL-6 is held
    for _, d in t.groupby("sgp130_factor"):  # trans-signalling rises with sIL-6R at every sgp130 level
        d = d.sort_values("sil6r_factor")
        assert (np.diff(d.sil6r_total_ng_ml) > 0).all() and (np.diff(d.trans_signal) > 0).all()
    for _, d in t.groupby("sil6r_factor"):  # the sgp130 axis spans its grid; classic signalling hardly moves
        d = d.sort_values("sgp130_factor")
        assert (np.diff(d.sgp130_total_ng_ml) > 0).all()
        assert d.sgp130_total_ng_ml.max() / d.sgp130_total_ng_ml.min() > 50
        assert d.classic_signal.max() / d.classic_signal.min() < 1.05
    phys = t[(t.sil6r_factor == 1) & (t.sgp130_factor == 1)]
    assert phys.sil6r_total_ng_ml.item() == pytest.approx(40, rel=0.25)
    assert phys.sgp130_total_ng_ml.item() == pytest.approx(390, rel=0.1)


# --- (e) genotypes ---------------------------------------------------------------------------------
def test_genotypes_baseline_and_infection(gallery: Path) -> None:
    t = table(gallery, "genotype")
    base = t[t.time_d == 0].set_index("genotype").loc[["AA", "AC", "CC"]]
    # C allele: more shedding, so more sIL-6R and IL-6, less membrane IL-6R, classic signalling and CRP
    assert base.sil6r_total_ng_ml.is_monotonic_increasing
    assert base.il6_free_pg_ml.is_monotonic_increasing
    assert base.trans_signal.is_monotonic_increasing
    assert base.classic_signal.is_monotonic_decreasing
    assert base.crp_mg_l.is_monotonic_decreasing
    ratio = base.sil6r_total_ng_ml["AC"] / base.sil6r_total_ng_ml["AA"]
    assert ratio == pytest.approx(1.34, abs=0.1)  # per allele +34 % (IL6R consortium 2012)
    peak = t.groupby("genotype").max()
    assert peak.crp_mg_l["AA"] > peak.crp_mg_l["CC"]
    assert (peak.il6_free_pg_ml > 10 * base.il6_free_pg_ml).all()  # the infection happens in every genotype


# --- (f) timing ------------------------------------------------------------------------------------
def test_timing(gallery: Path) -> None:
    t = table(gallery, "timing")
    inh = t.groupby("run").first()
    w = "[15.8d:end]"  # from admission (day 15.8 of covid_severe) to the end, for every run
    for col in (f"inhibition{w}:classic_signal (%)", f"inhibition{w}:trans_signal (%)", f"inhibition{w}:crp_mg_l (%)"):
        assert inh.loc["early", col] > inh.loc["late", col] > 0, col
        assert inh.loc["late + dexamethasone", col] > inh.loc["late", col], col
        assert inh.loc["dexamethasone alone", col] > 0, col
    # dexamethasone halves IL-6 production: free IL-6 falls; tocilizumab alone raises free IL-6
    assert inh.loc["dexamethasone alone", f"inhibition{w}:il6_free_pg_ml (%)"] > 30
    assert inh.loc["early", f"inhibition{w}:il6_free_pg_ml (%)"] < 0
    assert inh.loc["untreated", f"inhibition{w}:crp_mg_l (%)"] == 0
    # every run is the same patient before admission; dose times appear twice (before and after the dose)
    admit = t.admission_day.iloc[0]
    before = t[t.time_d < admit].groupby("time_d").crp_mg_l
    assert (before.max() - before.min() <= 1e-6 * before.max()).all()
    assert (t[t.run == "early"].time_d == admit).sum() == 2


# --- (o) chronic therapy, then infection ------------------------------------------------------------
def test_chronic_infection(gallery: Path) -> None:
    t = table(gallery, "chronic_infection")
    first = t.groupby("run").first()
    col = "inhibition[infection:end]:{} (%)"
    treated = first[first.phase != "untreated"]
    assert set(treated.drug) == {"tocilizumab", "sarilumab"} and set(treated.phase) == {"after a dose", "at trough"}
    # blockade lowers the infection's CRP against the same patient untreated; sarilumab 200 mg q2w keeps
    # hepatocyte signalling blocked through the interval (trough drug ~20 ug/ml at KD 15 pM)
    assert (treated[col.format("crp_mg_l")] > 50).all()
    assert (treated[treated.drug == "sarilumab"][col.format("classic_signal")] > 95).all()
    # receptor blockade raises free IL-6 (no receptor-mediated clearance): negative inhibition
    assert (treated[col.format("il6_free_pg_ml")] < 0).all()
    # the infection runs the disease layer: chronic blockade slows viral clearance (less IL-6 help to
    # T cells) and spares lung tissue, against the same patient untreated
    assert (treated.clearance_delay_d > 1.0).all() and (treated.damage_avoided_pct > 5.0).all()
    assert (first[first.phase == "untreated"].clearance_delay_d == 0).all()
    # drug at the infection: more two days after a dose than one day before the next
    for drug in ("tocilizumab", "sarilumab"):
        d = treated[treated.drug == drug].set_index("phase")
        assert d.loc["after a dose", "drug_ug_ml"] > d.loc["at trough", "drug_ug_ml"] > 0
        assert d.loc["after a dose", "days_since_dose"] == 2
    # the chronic disease is at steady state: the untreated twins of different infection days are the
    # same course shifted in time (time-translation invariance), and flat before the infection
    un = t[t.phase == "untreated"]
    days = sorted(set(un.infection_day))
    assert len(days) >= 2
    a = un[un.infection_day == days[0]].drop_duplicates("time_d").set_index("time_d")
    b = un[un.infection_day == days[-1]].drop_duplicates("time_d").set_index("time_d")
    common = a.index.intersection(b.index)
    assert len(common) > 50
    for obs in ("crp_mg_l", "il6_free_pg_ml", "trans_signal"):
        assert np.allclose(a.loc[common, obs], b.loc[common, obs], rtol=1e-5), obs
    pre = a[a.index < 0]["crp_mg_l"]
    assert pre.max() - pre.min() <= 1e-6 * pre.max()


# --- (p) benefit against harm (disease layer) --------------------------------------------------------
def test_benefit_harm(gallery: Path) -> None:
    t = table(gallery, "benefit_harm")
    alone = t[(~t.dexamethasone) & (t.drug != "dexamethasone")]
    assert set(alone.drug) == {"siltuximab", "tocilizumab", "olamkicept"}
    for drug, d in alone.groupby("drug"):
        d = d.set_index("day")
        # benefit: every day avoids damage; the earlier, the more (timing-dependent benefit)
        assert (d.damage_avoided_pct > 0).all(), drug
        assert d.loc[0.0, "damage_avoided_pct"] > d.loc[10.0, "damage_avoided_pct"], drug
        # harm: blockade at or before onset delays clearance; from a week after onset it does not
        assert d.loc[0.0, "clearance_delay_d"] > 1.0 and abs(d.loc[7.0, "clearance_delay_d"]) < 0.1, drug
        assert d.loc[0.0, "low_defence_h"] > d.loc[0.0, "low_defence_untreated_h"], drug
    # blocking trans-signalling alone spares more of the IL-6 help than blocking IL-6 or IL-6R
    at0 = alone[alone.day == 0.0].set_index("drug")
    assert at0.loc["olamkicept", "clearance_delay_d"] < at0.loc["tocilizumab", "clearance_delay_d"]
    # dexamethasone adds benefit to every drug on every day
    both = t[t.dexamethasone & (t.drug != "dexamethasone")].set_index(["drug", "day"])["damage_avoided_pct"]
    single = alone.set_index(["drug", "day"])["damage_avoided_pct"]
    assert (both.loc[single.index] > single).all()
    # the harm's range over the unmeasured IL-6 help brackets the point and is a band, not a point
    assert (t.clearance_delay_d_low <= t.clearance_delay_d + 1e-9).all()
    assert (t.clearance_delay_d <= t.clearance_delay_d_high + 1e-9).all()
    early = alone[(alone.drug == "tocilizumab") & (alone.day == 0.0)].iloc[0]
    assert early.clearance_delay_d_high - early.clearance_delay_d_low > 2.0
    assert (t.damage_peak.between(0.0, 1.0)).all()


# --- (g) disease settings ----------------------------------------------------------------------------
def test_disease_settings(gallery: Path) -> None:
    t = table(gallery, "disease_settings")
    untreated = t[t.drug == "untreated"].set_index("scenario")["peak[0:end]:il6_free_pg_ml"]
    targets = {"covid_moderate": 13.6, "covid_severe": 36.7, "ards": 460, "sepsis": 983.6, "crs": 3110.5}
    for sc, target in targets.items():  # the calibration targets in the scenario files
        assert untreated[sc] == pytest.approx(target, rel=0.1), sc
    assert list(untreated.loc[list(targets)]) == sorted(untreated)
    rec = t[t.target_class == "receptor"]
    # receptor binders block classic signalling in every setting. The least: sarilumab in COVID-19
    # (75-79 %), whose window runs 29 days past the one 200 mg SC dose, and the receptor pool clears
    # the drug after ~2.5 weeks while IL-6 is still raised; tocilizumab in CRS (IL-6 ~3 ng/ml;
    # calibrated in-vivo KD 4.57 nM, issue 18): 85 %. In the short settings sarilumab blocks > 99 %.
    classic = "inhibition[dose:end]:classic_signal (%)"
    assert (rec[classic] > 70).all()
    short = rec[rec.scenario.isin(["ards", "sepsis", "crs"])]
    assert (short[short.drug == "sarilumab"][classic] > 95).all() and (short[classic] > 80).all()
    cyt = t[t.target_class == "cytokine"]
    total = "peak[dose:end]:il6_total_pg_ml"
    assert (cyt[total] > t.set_index("scenario").loc[cyt.scenario].query("drug == 'untreated'")[total]
            .to_numpy()).all()
    olam = t[t.target_class == "complex"]
    assert (olam["inhibition[dose:end]:trans_signal (%)"] > 60).all()
    assert (t[t.drug == "untreated"].filter(like="inhibition[dose:end]") == 0).all().all()


# --- (h) dose-response -------------------------------------------------------------------------------
def test_dose_response_receptor_binder_is_steeper(gallery: Path) -> None:
    t = table(gallery, "dose_response")
    classic = "inhibition(value[18.8d]):classic_signal (%)"  # the level 3 days after the dose at admission
    assert np.allclose(t.dose_day, 15.8) and np.allclose(t.readout_day, 18.8)  # covid_severe: admission day 15.8
    span = {d: span_10_90(g.dose_mg_kg, g[classic]) for d, g in t.groupby("drug")}
    steep = steepness(t).set_index(["drug", "column"])
    for d, v in span.items():
        assert steep.loc[(d, classic), "span_10_90_decades"] == v
        assert steep.loc[(d, classic), "hill_n"] == pytest.approx(np.log10(81) / v)
    assert all(np.isfinite(v) for v in span.values()), span
    for cytokine_binder in ("siltuximab", "clazakizumab"):
        assert span["sarilumab"] < 0.7 * span[cytokine_binder]
        assert 1.0 < span[cytokine_binder] < 2.5  # graded: Hill coefficient about 1
    for d, g in t.groupby("drug"):
        g = g.sort_values("dose_mg_kg")
        assert g[classic].iloc[-1] > 95, d
        assert abs(g[classic].iloc[0]) < 5, d
    occ = t[t.drug == "sarilumab"].sort_values("dose_mg_kg").mil6r_occupancy
    assert (np.diff(occ) >= -1e-9).all() and occ.iloc[-1] > 0.95


# --- (i) global sensitivity ------------------------------------------------------------------------
def test_sensitivity_of_benefit() -> None:
    pytest.importorskip("il6sim.sensitivity")
    from il6sim.analysis.gsa import compute_sensitivity
    from il6sim.figures.gsa import plot_sensitivity
    from il6sim.shipped import load_model

    t = compute_sensitivity(load_model("il6"), metrics=["inhibition:trans_signal"], n_base=8, n_bootstrap=50)
    assert (t.n_failed == 0).all() and (t["mean"] > 50).all()
    assert (t.window == "[dose:end]").all()
    st = t.set_index("factor").ST
    assert (st >= -1e-9).all()
    # CRP clearance acts after signalling: it cannot change how much trans-signalling the drug removes
    assert st["k_crp_deg"] < 1e-6
    assert st.idxmax() in ("k_il6_infl", "k_syn_mil6r_hep")  # IL-6 load against receptor load decides
    assert len(plot_sensitivity(t).axes) == 1


# --- (j-n) calibration and validation ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["calibration_charoin2010", "calibration_frey2010", "calibration_xu2019",
                                  "calibration_baselines"])
def test_calibration_figures_hold_data_and_a_band_around_the_fit(gallery: Path, name: str) -> None:
    t = table(gallery, name)
    model, data = t[t.kind == "model"], t[t.kind == "data"]
    assert len(data) > 0 and len(model) > 0
    assert set(data.condition) == set(model.condition)
    assert (model.lower <= model.value * (1 + 1e-9)).all() and (model.value <= model.upper * (1 + 1e-9)).all()


def test_validation_figure_table_matches_the_report(gallery: Path) -> None:
    t = table(gallery, "validation")
    report = (ROOT / "docs" / "validation.md").read_text()
    agree, miss = int((t.agrees == 1).sum()), int((t.agrees == 0).sum())
    assert f"{agree} agree, {miss} miss" in report
