"""Sweeps over drugs, timing, genotypes, weight and scenarios: each row equals an independently built run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import il6sim
import il6sim.sweeps as sw
import il6sim.sweeps.run as sweep_run
from il6sim.errors import ModelFileError
from il6sim.regimen import build_run
from il6sim.shipped import load_model

OBS = ["il6_free_pg_ml", "crp_mg_l"]
DAYS = 10
SILT = {"drug": "siltuximab", "dose": "11 mg/kg", "label": "siltuximab 11"}


def _data(**head: Any) -> dict[str, Any]:
    sweep = {"scenario": "covid_severe", "days": DAYS, "step": "12 h", "seed": 5, "rows": 1, "chunk_size": 5,
             "observables": OBS, "metrics": ["peak", "auc", "inhibition"]}
    sweep.update(head)
    return {"sweep": sweep,
            "factors": [{"drug": ["tocilizumab", SILT, "none"]},
                        {"at": ["2 d", "5 d"]},
                        {"genotype": ["rs2228145=AA", "rs2228145=CC"]},
                        {"weight": ["60 kg", "100 kg"]}]}


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory) -> sw.SweepResult:
    out = tmp_path_factory.mktemp("levels")
    sw.sweep(sw.spec_from_dict(_data()), out)
    return sw.load_sweep(out)


def _reference(drug: str, at: str, genotype: str, weight: str, treated: bool = True) -> il6sim.Result:
    """A single simulate() of the row, built by hand from its labels (not through the sweep code)."""
    net = load_model("il6").with_genotype("rs2228145", genotype)
    groups = []
    if treated and drug == "tocilizumab":
        groups = [{"drug": "tocilizumab", "at": at}]
    elif treated and drug == "siltuximab 11":
        groups = [{"drug": "siltuximab", "dose": "11 mg/kg", "at": at}]
    run = build_run(net, scenario="covid_severe", drug_groups=groups, weight=weight, duration_h=DAYS * 24.0)
    t = np.arange(0, DAYS * 24 + 1, 12.0)
    return il6sim.simulate(run.network, t, parameters=dict(run.parameters), protocol=run.protocol, initial="steady",
                           solver="jit", rtol=1e-6, atol=1e-12, events_beyond_end="ignore")


def test_level_rows_equal_single_runs(res: sw.SweepResult) -> None:
    assert res.status.tolist() == [0] * 24
    assert set(res.labels) == {"drug", "at", "rs2228145"} and res.factor_names[-1] == "weight_kg"
    # crossing order: first factor slowest
    assert res.labels["drug"].tolist() == ["tocilizumab"] * 8 + ["siltuximab 11"] * 8 + ["none"] * 8
    assert res.labels["rs2228145"][:4].tolist() == ["AA", "AA", "CC", "CC"]
    tc = res.timecourses()
    for i in (0, 3, 5, 10, 15, 17, 22):
        lab = {k: str(v[i]) for k, v in res.labels.items()}
        weight = f"{res.parameters[i, -1]:g} kg"
        ref = _reference(lab["drug"], lab["at"], lab["rs2228145"], weight)
        for j, name in enumerate(OBS):
            np.testing.assert_allclose(tc[i, :, j], ref[name], rtol=1e-12, atol=0)


def test_inhibition_is_paired_with_the_same_patient_untreated(res: sw.SweepResult) -> None:
    tc = res.timecourses()
    for i in (1, 6, 12):  # treated rows: reference = same genotype, weight, scenario, no drug in the model at all
        lab = {k: str(v[i]) for k, v in res.labels.items()}
        weight = f"{res.parameters[i, -1]:g} kg"
        untreated = _reference(lab["drug"], lab["at"], lab["rs2228145"], weight, treated=False)
        for j, name in enumerate(OBS):
            after = res.time_h >= float(lab["at"].split()[0]) * 24  # default window: from the dose
            auc = np.trapezoid(tc[i, after, j], res.time_h[after])
            expected = 100 * (1 - auc / np.trapezoid(untreated[name][after], untreated.time_h[after]))
            assert res.metric(f"inhibition:{name}")[i] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    none = res.labels["drug"] == "none"
    assert np.all(res.metric("inhibition:crp_mg_l")[none] == 0)
    assert np.all(res.metric("inhibition:crp_mg_l")[~none] > 10)
    # weight changes nothing untreated, and changes the mg/kg doses of treated rows
    auc = res.metric("auc:il6_free_pg_ml")
    w60 = res.parameters[:, -1] == 60
    assert np.array_equal(auc[none & w60], auc[none & ~w60])
    assert np.all(auc[~none & w60] != auc[~none & ~w60])


def test_tables_and_labelled_arrays(res: sw.SweepResult) -> None:
    wide = res.to_dataframe()
    assert list(wide.columns[:7]) == ["row", "drug", "at", "rs2228145", "weight_kg", "status", "message"]
    assert wide["drug"].iloc[9] == "siltuximab 11" and len(wide) == 24
    long = res.to_dataframe(long=True)
    assert len(long) == 24 * 6 and set(long["metric"]) == {"peak[0:end]", "auc[0:end]", "inhibition[dose:end]"}
    row = long[(long["row"] == 9) & (long["metric"] == "peak[0:end]") & (long["observable"] == "crp_mg_l")]
    assert row["value"].item() == res.metric("peak:crp_mg_l")[9] and row["drug"].item() == "siltuximab 11"
    pytest.importorskip("xarray")
    ds = res.to_xarray(timecourses=True)
    assert ds["drug"].values[9] == "siltuximab 11" and ds.sizes == {"row": 24, "time_h": DAYS * 2 + 1}
    np.testing.assert_array_equal(ds["crp_mg_l"].values, res.timecourses()[:, :, 1])
    np.testing.assert_array_equal(ds["peak[0:end]:crp_mg_l"].values, res.metric("peak:crp_mg_l"))
    assert json.loads(ds.attrs["provenance"])["il6sim_version"] == il6sim.__version__


def test_scenario_factor_and_drug_tables() -> None:
    data = {"sweep": {"days": 12, "step": "1 d", "observables": ["crp_mg_l"], "metrics": ["peak"]},
            "factors": [{"scenario": ["covid_moderate", "none"]},
                        {"drug": [[{"drug": "tocilizumab", "at": "1 d"}, {"drug": "dexamethasone", "at": "1 d"}]]}]}
    r = sw.sweep(sw.spec_from_dict(data))
    assert r.labels["scenario"].tolist() == ["covid_moderate", "none"]
    assert r.labels["drug"].tolist() == ["tocilizumab 1 d + dexamethasone 1 d"] * 2 and r.ok.all()
    for i, sc in enumerate(("covid_moderate", None)):
        run = build_run(load_model("il6"), scenario=sc, duration_h=12 * 24.0,
                        drug_groups=[{"drug": "tocilizumab", "at": "1 d"}, {"drug": "dexamethasone", "at": "1 d"}])
        ref = il6sim.simulate(run.network, r.time_h, parameters=dict(run.parameters), protocol=run.protocol,
                              initial="steady", solver="jit", rtol=1e-6, atol=1e-12, events_beyond_end="ignore")
        assert r.metric("peak:crp_mg_l")[i] == pytest.approx(float(np.max(ref["crp_mg_l"])), rel=1e-12)


def test_dosing_time_factor_relative_to_admission() -> None:
    """``at = ["admission", "admission+1d"]`` doses at the row's scenario admission (covid_severe: 15.8 d)."""
    data = {"sweep": {"scenario": "covid_severe", "days": 20, "step": "6 h", "observables": ["drug_total_ug_ml"],
                      "metrics": ["value[16d]", "peak"]},
            "drugs": [{"drug": "tocilizumab", "dose": "8 mg/kg"}], "factors": [{"at": ["admission", "admission+1d"]}]}
    r = sw.sweep(sw.spec_from_dict(data))
    assert r.ok.all() and r.labels["at"].tolist() == ["admission", "admission+1d"]
    on_time, day_later = r.metric("value[16d]:drug_total_ug_ml")
    assert on_time > 50 and day_later == 0  # 16 d: 0.2 d after admission, 0.8 d before the later dose
    assert r.metric("peak:drug_total_ug_ml")[1] > 50


def test_population_draws_are_seeded_and_follow_the_frequencies() -> None:
    data = {"sweep": {"rows": 4000, "seed": 11},
            "factors": [{"genotype": {"variant": "rs2228145", "frequencies": {"AA": 0.4, "AC": 0.45, "CC": 0.15}}},
                        {"weight": {"sampler": "normal", "mean": "80 kg", "sd": "15 kg"}},
                        {"parameter": "k_sgp130_syn", "sampler": "lognormal", "median": "3.9 nM/h", "sigma": 0.2}]}
    spec = sw.spec_from_dict(data)
    a, b = sw.design_matrix(spec), sw.design_matrix(sw.spec_from_dict(data))
    np.testing.assert_array_equal(a, b)
    freq = np.bincount(a[:, 0].astype(int), minlength=3) / len(a)
    np.testing.assert_allclose(freq, [0.4, 0.45, 0.15], atol=0.025)
    assert abs(a[:, 1].mean() - 80) < 1 and abs(a[:, 1].std() - 15) < 1
    assert spec.label_names == ("rs2228145",)
    assert not np.array_equal(a, sw.design_matrix(sw.spec_from_dict({**data, "sweep": {"rows": 4000, "seed": 12}})))


@pytest.mark.parametrize("name", ["population_covid_severe", "population_ra_sarilumab"])
def test_shipped_population_spec_runs(name: str) -> None:
    path = Path(__file__).parent.parent / "models" / "sweeps" / f"{name}.toml"
    spec = sw.load_sweep_spec(path)
    assert spec.n_rows >= 100 and "rs2228145" in spec.label_names
    assert "weight_kg" in spec.factor_names or "sar_k10" in spec.factor_names
    text = path.read_text()
    for f in spec.raw["factors"]:  # every distribution says where it comes from
        assert f.get("source"), f"factor {f} has no source"
    assert "assumed" in text or "doi" in text.lower()


BAD = [
    ({"factors": [{"drug": ["tocilizumb"]}]}, r"\[\[factors\]\] #1 drug: with drug = 'tocilizumb': unknown drug"),
    ({"factors": [{"drug": []}]}, r"\[\[factors\]\] #1 drug: must be a non-empty list"),
    ({"factors": [{"dose": ["4 mg/kg"]}]}, r"#1 dose: a 'dose' factor needs a drug"),
    ({"factors": [{"dosage": ["4 mg/kg"]}]}, r"unknown key 'dosage'; did you mean 'dose'"),
    ({"factors": [{"drug": ["tocilizumab"], "dose": ["4 mg/kg"]}]}, r"one factor varies one thing"),
    ({"factors": [{"drug": ["tocilizumab"]}, {"at": ["40 d"]}]}, r"outside the simulated time"),
    ({"factors": [{"genotype": ["rs999=AA"]}]}, r"#1 genotype: unknown genetic variant 'rs999'"),
    ({"factors": [{"genotype": ["rs2228145=AG"]}]}, r"unknown genotype 'AG'"),
    ({"factors": [{"genotype": {"variant": "rs2228145", "frequencies": {"AA": 0.5, "CC": 0.2}}}]},
     r"frequencies: must add up to 1"),
    ({"factors": [{"weight": {"sampler": "normal", "mean": "80 kg", "sd": "0 kg"}}]}, r"#1 weight.sd: must be > 0"),
    ({"factors": [{"weight": {"sampler": "uniform", "low": "90 kg", "high": "50 kg"}}]}, r"weight.high: empty range"),
    ({"factors": [{"weight": ["80 m"]}]}, r"#1 weight: "),
    ({"factors": [{"scenario": ["covid_severe", "healthy"]}]}, r"\[sweep\] days: the scenarios last"),
    ({"sweep": {"scenario": "covid_severe"}, "factors": [{"scenario": ["healthy"]}]}, r"give it in one place"),
    ({"factors": [{"scenario": ["covid_sever"]}]}, r"unknown scenario 'covid_sever'; did you mean 'covid_severe'"),
]


def _write_toml(path: Path, data: dict[str, Any]) -> None:
    def val(v: Any) -> str:
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {val(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        return json.dumps(v)

    lines = []
    for key, value in data.items():
        if key == "sweep":
            lines.append("[sweep]")
            lines += [f"{k} = {val(v)}" for k, v in value.items()]
        else:
            for entry in value:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {val(v)}" for k, v in entry.items()]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("data, message", BAD)
def test_bad_level_specs_fail_before_work(data: dict[str, Any], message: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "spec.toml"
    _write_toml(path, data)

    def no_work(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("work started before the spec was validated")

    monkeypatch.setattr(sweep_run, "SweepEngine", no_work)
    monkeypatch.setattr(sweep_run, "design_matrix", no_work)
    with pytest.raises(ModelFileError, match=message) as info:
        sw.sweep(path, tmp_path / "out")
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path) + ":")
    assert not (tmp_path / "out").exists()


def test_too_many_runs_for_the_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import shutil
    from collections import namedtuple

    from il6sim.cli import main

    path = tmp_path / "big.toml"
    _write_toml(path, {"sweep": {"rows": 10_000, "days": 28, "step": "1 h"},
                       "factors": [{"parameter": "k_crp_deg", "sampler": "lhs", "low": 0.01, "high": 0.05}]})
    spec = sw.load_sweep_spec(path)
    assert spec.bytes_per_row() > 8 * 673 * 10  # hourly time courses of every observable
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 10**7, 10**7))  # 10 MB free
    with pytest.raises(ModelFileError, match=r":2: \[sweep\] rows: too many runs for the disk: 10,000 rows need"):
        sw.sweep(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "too many runs for the disk" in err and not (tmp_path / "out").exists()
    # the same sweep without time courses fits
    _write_toml(path, {"sweep": {"rows": 10_000, "days": 28, "step": "1 h", "timecourses": False,
                                 "observables": ["crp_mg_l"]},
                       "factors": [{"parameter": "k_crp_deg", "sampler": "lhs", "low": 0.01, "high": 0.05}]})
    assert sw.check_disk(sw.load_sweep_spec(path), tmp_path / "out") < 10**7


def test_netcdf_round_trip(tmp_path: Path) -> None:
    """to_netcdf writes one file that xarray reads back with the same metrics, labels and time courses."""
    xr = pytest.importorskip("xarray")
    spec = sw.spec_from_dict({"sweep": {"days": 2, "step": "12 h", "metrics": ["peak", "time_below:50"],
                                        "observables": ["il6_free_pg_ml"], "timecourses": True},
                              "factors": [{"parameter": "k_il6_basal", "grid": [0.01, 0.02]},
                                          {"drug": ["tocilizumab", "none"]}]})
    res = sw.sweep(spec)
    path = res.to_netcdf(tmp_path / "sweep.nc", timecourses=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.nc"]  # no temporary file left
    with xr.open_dataset(path, engine="scipy") as ds:
        for name, values in res.metrics.items():
            np.testing.assert_array_equal(ds[name].values, values)
        assert ds["drug"].values.tolist() == res.labels["drug"].tolist()
        np.testing.assert_array_equal(ds["il6_free_pg_ml"].values, res.timecourses()[:, :, 0])
        assert "network_hash" in ds.attrs["provenance"]


def test_cli_netcdf_writes_one_file_beside_the_chunks(tmp_path: Path) -> None:
    xr = pytest.importorskip("xarray")
    from il6sim.cli import main

    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\ndays = 1\nstep = "12 h"\nmetrics = ["peak"]\nobservables = ["crp_mg_l"]\n\n'
                    '[[factors]]\nparameter = "k_il6_basal"\ngrid = [0.01, 0.02]\n')
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--netcdf"]) == 0
    res = sw.load_sweep(tmp_path / "out")
    with xr.open_dataset(tmp_path / "out" / "sweep.nc", engine="scipy") as ds:
        np.testing.assert_array_equal(ds["peak[0:end]:crp_mg_l"].values, res.metric("peak:crp_mg_l"))
