"""Parameter sweeps: agreement with single runs, determinism, resume, failures as data, spec errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import il6sim
import il6sim.sweeps as sw
import il6sim.sweeps.run as sweep_run
from il6sim.errors import Il6simError, ModelFileError
from il6sim.readouts import DosingSchedule, parse_metric
from il6sim.sweeps.metrics import metric_values

OBS = ["il6_free_pg_ml", "crp_mg_l"]


def _spec(**sweep: Any) -> dict[str, Any]:
    head = {"scenario": "covid_severe", "days": 14, "step": "12 h", "seed": 7, "rows": 3, "chunk_size": 2,
            "observables": OBS, "metrics": ["peak", "trough", "auc", "time_above:5", "inhibition"]}
    head.update(sweep)
    return {"sweep": head,
            "factors": [{"parameter": "k_il6_basal", "sampler": "lhs", "low": "0.005 nM/h", "high": "0.05 nM/h",
                         "scale": "log"},
                        {"parameter": "k_crp_deg", "grid": ["0.02 1/h", "0.03 1/h"]}],
            "drugs": [{"drug": "tocilizumab", "dose": "8mg/kg", "at": "7d"}]}


@pytest.fixture(scope="module")
def base() -> sw.SweepResult:
    return sw.sweep(sw.spec_from_dict(_spec()))


def _single(spec: sw.SweepSpec, row: np.ndarray, treated: bool = True, solver: str = "jit") -> il6sim.Result:
    runner = sw.SweepEngine(spec)
    overrides = {**runner.run.parameters, **dict(zip(spec.factor_names, row))}
    protocol = runner.protocol if treated else runner.untreated
    return il6sim.simulate(runner.run.network, runner.t, parameters=overrides, protocol=protocol, initial="steady",
                           solver=solver, rtol=spec.rtol, atol=spec.atol, events_beyond_end="ignore")


def test_sweep_equals_single_runs(base: sw.SweepResult) -> None:
    spec = sw.spec_from_dict(_spec())
    assert base.parameters.shape == (6, 2) and base.status.tolist() == [0] * 6
    # grid slowest, sampled rows fastest; LHS values within the bounds
    assert base.parameters[:, 1].tolist() == [0.02] * 3 + [0.03] * 3
    assert np.all((base.parameters[:, 0] >= 0.005) & (base.parameters[:, 0] <= 0.05))
    tc = base.timecourses()
    for i, row in enumerate(base.parameters):
        res = _single(spec, row)
        for j, name in enumerate(OBS):
            np.testing.assert_allclose(tc[i, :, j], res[name], rtol=1e-12, atol=0)
        assert base.metric("peak:crp_mg_l")[i] == pytest.approx(float(np.max(res["crp_mg_l"])), rel=1e-12)
        assert base.metric("auc:il6_free_pg_ml")[i] == pytest.approx(
            float(np.trapezoid(res["il6_free_pg_ml"], res.time_h)), rel=1e-12)
    # the scipy reference agrees to the tolerance of the jitted integrator
    ref = _single(spec, base.parameters[0], solver="scipy")
    np.testing.assert_allclose(tc[0, :, 0], ref["il6_free_pg_ml"], rtol=2e-4)


def test_inhibition_against_paired_untreated_runs(base: sw.SweepResult) -> None:
    """Inhibition = 1 - AUC/AUC(untreated) from the dose (7 d) to the end, by default."""
    spec = sw.spec_from_dict(_spec())
    for i in (0, 4):
        treated, untreated = _single(spec, base.parameters[i]), _single(spec, base.parameters[i], treated=False)
        after = treated.time_h >= 168.0
        for name in OBS:
            expected = 100 * (1 - np.trapezoid(treated[name][after], treated.time_h[after])
                              / np.trapezoid(untreated[name][after], untreated.time_h[after]))
            assert base.metric(f"inhibition:{name}")[i] == pytest.approx(expected, rel=1e-10)
            assert base.metric(f"inhibition:{name}")[i] == base.metrics[f"inhibition[dose:end]:{name}"][i]
    assert np.all(base.metric("inhibition:crp_mg_l") > 0)  # tocilizumab lowers CRP


def test_time_above_interpolates_crossings() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([0.0, 2.0, 2.0, 0.0])[None, :, None]
    out = metric_values(t, y, [parse_metric(m) for m in ("time_above:1", "peak", "trough", "auc")], DosingSchedule())
    np.testing.assert_allclose(out[0], [2.0, 2.0, 0.0, 4.0])


def test_time_below_interpolates_crossings() -> None:
    """Hand-computed: y = 0, 2, 2, 0 at t = 0..3 is below 1 for 0.5 h at each end and below 3 throughout."""
    t = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([0.0, 2.0, 2.0, 0.0])[None, :, None]
    out = metric_values(t, y, [parse_metric(m) for m in ("time_below:1", "time_below:3", "time_below:-1")],
                        DosingSchedule())
    np.testing.assert_allclose(out[0], [1.0, 3.0, 0.0])


def test_same_seed_same_numbers_whatever_the_chunking(base: sw.SweepResult) -> None:
    other = sw.sweep(sw.spec_from_dict(_spec(chunk_size=5)))
    np.testing.assert_array_equal(other.parameters, base.parameters)
    for name, values in base.metrics.items():
        np.testing.assert_array_equal(other.metrics[name], values)
    changed = sw.design_matrix(sw.spec_from_dict(_spec(seed=8)))
    assert not np.array_equal(changed, base.parameters)


def test_resume_recomputes_only_missing_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              base: sw.SweepResult) -> None:
    spec = sw.spec_from_dict(_spec())
    first = sw.sweep(spec, tmp_path)
    files = sorted(p.name for p in tmp_path.glob("chunk-*.npz"))
    assert files == ["chunk-00000.npz", "chunk-00001.npz", "chunk-00002.npz"]
    before = {f: (tmp_path / f).read_bytes() for f in files}
    (tmp_path / "chunk-00001.npz").unlink()
    calls: list[int] = []
    original = sw.SweepEngine.chunk

    def counting(self: Any, values: np.ndarray) -> dict[str, np.ndarray]:
        calls.append(len(values))
        return original(self, values)

    monkeypatch.setattr(sw.SweepEngine, "chunk", counting)
    seen: list[tuple[int, int]] = []
    again = sw.sweep(spec, tmp_path, resume=True, progress=lambda done, total: seen.append((done, total)))
    assert calls == [2] and seen == [(2, 6), (4, 6), (6, 6)]
    assert {f: (tmp_path / f).read_bytes() for f in files} == before  # bit for bit
    loaded = sw.load_sweep(tmp_path)
    for res in (first, again, loaded):
        np.testing.assert_array_equal(res.parameters, base.parameters)
        np.testing.assert_array_equal(res.status, base.status)
        for name, values in base.metrics.items():
            np.testing.assert_array_equal(res.metrics[name], values)
    np.testing.assert_array_equal(loaded.timecourses(), base.timecourses())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["complete"] and manifest["provenance"]["il6sim_version"] == il6sim.__version__
    assert len(manifest["provenance"]["network_hash"]) > 8
    df = loaded.to_dataframe()
    assert list(df.columns[:5]) == ["row", "k_il6_basal", "k_crp_deg", "status", "message"]
    assert len(df) == 6 and "inhibition[dose:end]:crp_mg_l" in df


def test_resume_refuses_a_different_sweep(tmp_path: Path) -> None:
    sw.sweep(sw.spec_from_dict(_spec(days=8, rows=1, metrics=["peak"])), tmp_path)
    with pytest.raises(Il6simError, match="different sweep"):
        sw.sweep(sw.spec_from_dict(_spec(days=8, rows=1, metrics=["peak"], seed=99)), tmp_path, resume=True)


def test_failed_row_is_data_and_others_match_single_runs(tmp_path: Path) -> None:
    data = {"sweep": {"days": 3, "step": "6 h", "observables": ["crp_mg_l"], "metrics": ["peak", "auc"]},
            "factors": [{"parameter": "k_crp_deg", "grid": [0.02, 0.0, 0.03]}]}  # no CRP clearance: no steady state
    spec = sw.spec_from_dict(data)
    res = sw.sweep(spec, tmp_path)
    assert res.status.tolist() == [0, sw.NO_STEADY_STATE, 0]
    assert "no steady state" in res.messages[1]
    assert np.isnan(res.metric("peak:crp_mg_l")[1]) and np.isnan(res.timecourses()[1]).all()
    for i in (0, 2):
        single = _single(spec, res.parameters[i])
        assert res.metric("peak:crp_mg_l")[i] == pytest.approx(float(np.max(single["crp_mg_l"])), rel=1e-12)
    loaded = sw.load_sweep(tmp_path)
    assert loaded.messages[1] == res.messages[1] and loaded.status.tolist() == res.status.tolist()


def test_solver_failure_is_recorded() -> None:
    spec = sw.spec_from_dict({"sweep": {"scenario": "covid_severe", "days": 14, "max_steps": 3,
                                        "observables": ["crp_mg_l"]}})
    res = sw.sweep(spec)
    assert res.status.tolist() == [1] and "step budget" in res.messages[0]
    assert np.isnan(res.metric("auc:crp_mg_l")[0])


@pytest.mark.parametrize("sampler, extra", [
    ("lhs", {"low": 1.0, "high": 2.0}), ("sobol", {"low": 1.0, "high": 2.0}), ("halton", {"low": 1.0, "high": 2.0}),
    ("uniform", {"low": 1.0, "high": 2.0}), ("loguniform", {"low": 1.0, "high": 2.0}),
    ("normal", {"mean": 1.5, "sd": 0.1}), ("lognormal", {"median": 1.5, "sigma": 0.1}),
])
def test_samplers_are_seeded(sampler: str, extra: dict[str, Any]) -> None:
    data = {"sweep": {"seed": 1, "rows": 16},
            "factors": [{"parameter": "k_crp_deg", "sampler": sampler, **extra},
                        {"parameter": "k_il6_basal", "sampler": "uniform", "low": 0.01, "high": 0.02}]}
    a, b = sw.design_matrix(sw.spec_from_dict(data)), sw.design_matrix(sw.spec_from_dict(data))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (16, 2) and np.all(a > 0) and len(np.unique(a[:, 0])) == 16
    if "low" in extra:
        assert np.all((a[:, 0] >= 1.0) & (a[:, 0] <= 2.0))
    else:
        assert abs(np.median(a[:, 0]) - 1.5) < 0.1


BAD = [
    ({"factors": [{"parameter": "k_il6_basl", "grid": [1.0]}]}, r"\[\[factors\]\] #1 parameter: unknown parameter "
                                                                   r"'k_il6_basl'; did you mean 'k_il6_basal'"),
    ({"factors": [{"parameter": "k_crp_deg", "sampler": "lhs", "low": "2 1/h", "high": "1 1/h"}]}, r"high: empty range"),
    ({"factors": [{"parameter": "k_crp_deg", "sampler": "normal", "mean": 1.0, "sd": -1.0}]}, r"sd: value for k_crp_deg must be finite and >= 0"),
    ({"factors": [{"parameter": "k_crp_deg", "sampler": "normal", "mean": 1.0, "sd": 0.0}]}, r"sd: must be > 0"),
    ({"factors": [{"parameter": "k_crp_deg", "sampler": "lognormal", "median": 1.0, "sigma": -0.5}]},
     r"sigma: must be a positive number"),
    ({"factors": [{"parameter": "k_crp_deg", "sampler": "lhss", "low": 1.0, "high": 2.0}]},
     r"unknown sampler 'lhss'; did you mean 'lhs'"),
    ({"factors": [{"parameter": "k_crp_deg", "grid": []}]}, r"grid: must be a non-empty list"),
    ({"factors": [{"parameter": "k_crp_deg", "grid": ["1 nM"]}]}, r"\[\[factors\]\] #1 grid: "),
    ({"sweep": {"rows": 0}}, r"\[sweep\] rows: must be a whole number >= 1"),
    ({"sweep": {"metrics": ["peek"]}}, r"metric 'peek': unknown kind 'peek'; did you mean 'peak'"),
    ({"sweep": {"metrics": ["inhibition"]}}, r"'inhibition' compares with the untreated run"),
    ({"sweep": {"observables": ["crp"]}}, r"unknown observable 'crp'"),
    ({"sweep": {"chunksize": 3}}, r"unknown key 'chunksize'; did you mean 'chunk_size'"),
]


@pytest.mark.parametrize("data, message", BAD)
def test_bad_specs_fail_before_work(data: dict[str, Any], message: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    lines = []
    for key, value in data.items():
        if key == "sweep":
            lines.append("[sweep]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in value.items()]
        else:
            for entry in value:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    path = tmp_path / "spec.toml"
    path.write_text("\n".join(lines) + "\n")

    def no_work(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("work started before the spec was validated")

    monkeypatch.setattr(sweep_run, "SweepEngine", no_work)
    monkeypatch.setattr(sweep_run, "design_matrix", no_work)
    with pytest.raises(ModelFileError, match=message) as info:
        sw.sweep(path, tmp_path / "out")
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path) + ":")
    assert not (tmp_path / "out").exists()


def test_load_sweep_refuses_unfinished(tmp_path: Path) -> None:
    with pytest.raises(Il6simError, match="no manifest.json"):
        sw.load_sweep(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "il6sim-sweep", "complete": False}))
    with pytest.raises(Il6simError, match="did not finish"):
        sw.load_sweep(tmp_path)


def test_toml_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "dose.toml"
    path.write_text(
        '[sweep]\nscenario = "covid_severe"\ndays = "10 d"\nstep = "1 d"\nseed = 2\nrows = 2\nchunk_size = 1\n'
        'observables = ["crp_mg_l"]\nmetrics = ["peak", "inhibition"]\n'
        '[[factors]]\nparameter = "k_crp_deg"\nsampler = "sobol"\nlow = "0.02 1/h"\nhigh = "0.04 1/h"\n'
        '[[drugs]]\ndrug = "tocilizumab"\ndose = "4 mg/kg"\nat = "7 d"\n'
    )
    spec = sw.load_sweep_spec(path)
    assert spec.duration_h == 240.0 and spec.step_h == 24.0 and spec.metric_names == (
        "peak[0:end]:crp_mg_l", "inhibition[dose:end]:crp_mg_l")
    res = sw.sweep(path, tmp_path / "out")
    assert res.ok.all() and len(list((tmp_path / "out").glob("chunk-*.npz"))) == 2
    assert res.time_h.tolist() == [24.0 * d for d in range(11)]
