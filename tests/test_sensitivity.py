"""Sobol' sensitivity: estimators against closed forms, the factor transform against the sweep's, the model run.

References for the closed forms: Ishigami & Homma (1990) for the test function; Sobol' (1993) for the
variance decomposition used below to derive its indices.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.stats import qmc

import il6sim
import il6sim.sweeps as sw
from il6sim.cli import main
from il6sim.errors import Il6simError, UnknownNameError
from il6sim.sensitivity import factor_values, saltelli_design, sobol_indices, sobol_sensitivity


# --------------------------------------------------------------------------------------------
# Ishigami: f = sin x1 + a sin² x2 + b x3⁴ sin x1, x_i ~ U(-pi, pi)
def ishigami_exact(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """S1 and ST from the Sobol' (ANOVA) decomposition, derived here from moments of U(-pi, pi).

    With E[sin² x] = 1/2, E[sin⁴ x] = 3/8, E[x⁴] = pi⁴/5, E[x⁸] = pi⁸/9, write
    f = sin x1 (1 + b x3⁴) + a sin² x2. Then
    f1 = E[f | x1] - E f = sin x1 (1 + b pi⁴/5)            -> V1 = (1 + b pi⁴/5)² / 2
    f2 = a (sin² x2 - 1/2)                                  -> V2 = a² (3/8 - 1/4) = a²/8
    f3 = 0 (E sin x1 = 0)                                   -> V3 = 0
    f13 = b sin x1 (x3⁴ - pi⁴/5)                            -> V13 = b² (pi⁸/9 - pi⁸/25) / 2
    and no other term, so V = V1 + V2 + V13.
    """
    p4, p8 = math.pi ** 4, math.pi ** 8
    v1 = 0.5 * (1 + b * p4 / 5) ** 2
    v2 = a ** 2 / 8
    v13 = 0.5 * b ** 2 * (p8 / 9 - p8 / 25)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_ishigami_closed_form_matches_the_literature() -> None:
    s1, st = ishigami_exact(7.0, 0.1)  # the values quoted to 4 digits by Saltelli et al. 2010 and others
    np.testing.assert_allclose(s1, [0.3139, 0.4424, 0.0], atol=5e-5)
    np.testing.assert_allclose(st, [0.5576, 0.4424, 0.2437], atol=5e-5)
    # and a brute-force check of the total variance, independent of the derivation
    x = np.random.default_rng(0).uniform(-np.pi, np.pi, size=(400_000, 3))
    v = 7 ** 2 / 8 + 0.1 * np.pi ** 4 / 5 + 0.1 ** 2 * np.pi ** 8 / 18 + 0.5
    assert np.var(ishigami(x)) == pytest.approx(v, rel=0.01)


@pytest.fixture(scope="module")
def ishigami_result() -> il6sim.SobolResult:
    u = saltelli_design(3, 8192, seed=42)
    return sobol_indices(ishigami(-np.pi + 2 * np.pi * u), ("x1", "x2", "x3"), metric="ishigami",
                         n_bootstrap=1000, seed=42)


def test_ishigami_indices_within_their_confidence_intervals(ishigami_result: il6sim.SobolResult) -> None:
    res = ishigami_result
    s1, st = ishigami_exact(7.0, 0.1)
    assert res.n_evaluations == 8192 * 5 and res.n_failed == 0 and res.confidence == 0.95
    for name, est, conf, exact in (("S1", res.S1, res.S1_conf, s1), ("ST", res.ST, res.ST_conf, st)):
        assert np.all(conf[:, 0] <= exact) and np.all(exact <= conf[:, 1]), (name, conf, exact)
        assert np.all(conf[:, 0] <= est) and np.all(est <= conf[:, 1]), (name, conf, est)
        assert np.all(conf[:, 1] - conf[:, 0] < 0.08), (name, conf)  # narrow: 95 % intervals under +-0.04
        # the quasi-random estimate is closer still (its spread over seeds is ~0.001 at this N)
        np.testing.assert_allclose(est, exact, atol=0.01)


def test_ishigami_intervals_narrow_with_n() -> None:
    widths = []
    for n in (512, 8192):
        u = saltelli_design(3, n, seed=7)
        res = sobol_indices(ishigami(-np.pi + 2 * np.pi * u), 3, n_bootstrap=300, seed=7)
        widths.append(np.r_[np.diff(res.S1_conf).ravel(), np.diff(res.ST_conf).ravel()])
    ratio = widths[0] / widths[1]  # bootstrap error ~ 1/sqrt(N): 4 for a 16-fold N
    assert np.all((ratio > 2.5) & (ratio < 6.5)), ratio


def test_linear_model_exact_indices() -> None:
    # y = sum c_i x_i, x_i ~ U(0, 1): S1_i = ST_i = c_i² / sum c². Additive, so S1 == ST within CI.
    c = np.array([3.0, 2.0, 1.0, 0.0])
    u = saltelli_design(4, 1024, seed=5)
    res = sobol_indices(u @ c, ("a", "b", "c", "d"), n_bootstrap=300, seed=5)
    exact = c ** 2 / np.sum(c ** 2)
    for conf in (res.S1_conf, res.ST_conf):
        assert np.all(conf[:, 0] <= exact) and np.all(exact <= conf[:, 1])
    assert res.ST[3] == 0.0 and res.S1[3] == 0.0  # f(AB_4) == f(A) exactly: no sampling noise at all
    np.testing.assert_allclose(res.S1, exact, atol=0.01)


def test_design_layout_and_determinism() -> None:
    n, d = 16, 3
    u = saltelli_design(d, n, seed=11)
    a, b = u[:n], u[n:2 * n]
    assert u.shape == (n * (d + 2), d) and np.all((u > 0) & (u < 1))
    for i in range(d):
        ab = u[(2 + i) * n:(3 + i) * n]
        assert np.array_equal(ab[:, i], b[:, i])
        assert np.array_equal(np.delete(ab, i, axis=1), np.delete(a, i, axis=1))
    # A and B are the two halves of one scrambled Sobol' set: each column is stratified (one point per 1/n)
    for col in np.hstack([a, b]).T:
        assert sorted(np.floor(col * n).astype(int)) == list(range(n))
    np.testing.assert_array_equal(u, saltelli_design(d, n, seed=11))
    assert not np.array_equal(u, saltelli_design(d, n, seed=12))


def test_bootstrap_is_seeded() -> None:
    u = saltelli_design(2, 64, seed=1)
    y = u[:, 0] * u[:, 1]
    r1, r2 = sobol_indices(y, 2, n_bootstrap=50, seed=3), sobol_indices(y, 2, n_bootstrap=50, seed=3)
    np.testing.assert_array_equal(r1.S1_conf, r2.S1_conf)
    assert not np.array_equal(r1.S1_conf, sobol_indices(y, 2, n_bootstrap=50, seed=4).S1_conf)


def test_dropped_blocks_are_reported() -> None:
    n, d = 64, 2
    u = saltelli_design(d, n, seed=2)
    y = 2 * u[:, 0] + u[:, 1]
    valid = np.ones(len(y), dtype=bool)
    valid[[3, n + 3, 2 * n + 10]] = False  # blocks 3 (twice) and 10
    res = sobol_indices(np.where(valid, y, np.nan), ("a", "b"), valid=valid, n_bootstrap=50, seed=2)
    assert (res.n_failed, res.n_blocks, res.n_dropped_blocks) == (3, 62, 2)
    keep = np.ones(n, dtype=bool)
    keep[[3, 10]] = False
    # identical to estimating by hand on the remaining blocks
    blocks = y.reshape(d + 2, n)[:, keep]
    f = blocks - blocks[:2].mean()
    v = np.var(np.r_[f[0], f[1]], ddof=1)
    np.testing.assert_allclose(res.S1, [np.mean(f[1] * (f[2] - f[0])) / v, np.mean(f[1] * (f[3] - f[0])) / v])
    np.testing.assert_allclose(res.ST, [np.mean((f[0] - f[2]) ** 2) / 2 / v, np.mean((f[0] - f[3]) ** 2) / 2 / v])


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda: saltelli_design(2, 100), r"power of two .* got 100; try 128"),
    (lambda: saltelli_design(2, 4), r"at least 8"),
    (lambda: saltelli_design(0, 8), r"n_factors must be a whole number >= 1"),
    (lambda: sobol_indices(np.ones(33), 2), r"multiple of d \+ 2"),
    (lambda: sobol_indices(np.ones(32), 2), r"constant over the design"),
    (lambda: sobol_indices(np.r_[np.nan, np.arange(31.0)], 2), r"1 of 32 outputs are not finite"),
    (lambda: sobol_indices(np.arange(32.0), 2, confidence=1.5), r"confidence must be in \(0, 1\)"),
    (lambda: sobol_indices(np.arange(32.0), 2, n_bootstrap=3), r"n_bootstrap must be a whole number >= 10"),
])
def test_estimator_errors(call: Any, pattern: str) -> None:
    with pytest.raises(Il6simError, match=pattern):
        call()


# --------------------------------------------------------------------------------------------
# The factor transform mirrors design_matrix: same unit samples in, same values out.
class _FixedQMC:
    """Stands in for a scipy.stats.qmc engine and returns preset unit samples."""

    preset: np.ndarray

    def __init__(self, d: int, **_: Any) -> None:
        assert d == self.preset.shape[1]

    def random(self, n: int) -> np.ndarray:
        assert n == self.preset.shape[0]
        return self.preset.copy()


class _FixedRng:
    def __init__(self, preset: np.ndarray) -> None:
        self.preset = preset

    def random(self, shape: tuple[int, int]) -> np.ndarray:
        assert tuple(shape) == self.preset.shape
        return self.preset.copy()


U = np.array([[0.0, 1.0], [0.5, 0.25], [0.999, 1e-3], [0.123, 0.877], [1.0, 0.0], [0.3, 0.7]])


@pytest.mark.parametrize("family", ["lhs", "sobol", "halton"])
def test_factor_values_match_design_matrix_qmc(family: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = sw.spec_from_dict({"sweep": {"rows": len(U), "days": 1, "step": "12 h"}, "factors": [
        {"parameter": "k_il6_basal", "sampler": family, "low": "1e-4 nM/h", "high": "1e-3 nM/h"},
        {"parameter": "k_sgp130_syn", "sampler": family, "low": 1.0, "high": 8.0, "scale": "log"}]})
    engine = {"lhs": "LatinHypercube", "sobol": "Sobol", "halton": "Halton"}[family]
    monkeypatch.setattr(qmc, engine, type("Fixed", (_FixedQMC,), {"preset": U}))
    expected = sw.design_matrix(spec)
    np.testing.assert_allclose(factor_values(spec, U), expected, rtol=1e-14)
    np.testing.assert_allclose(expected[[0, 4], 0], [1e-4, 1e-3], rtol=1e-9)  # the bounds, as a sanity check


def test_factor_values_match_design_matrix_random(monkeypatch: pytest.MonkeyPatch) -> None:
    u = np.column_stack([U, U[::-1]])
    spec = sw.spec_from_dict({"sweep": {"rows": len(u), "days": 1, "step": "12 h"}, "factors": [
        {"parameter": "k_il6_basal", "sampler": "uniform", "low": 1e-4, "high": 1e-3},
        {"parameter": "k_sgp130_syn", "sampler": "loguniform", "low": 1.0, "high": 8.0},
        {"parameter": "k_sil6r_splice", "sampler": "normal", "mean": 0.0066, "sd": 0.004},
        {"parameter": "k_il6_infl", "sampler": "lognormal", "median": 1.0, "sigma": 0.5}]})
    real = np.random.default_rng
    monkeypatch.setattr(np.random, "default_rng", lambda *a, **k: _FixedRng(u))
    expected = sw.design_matrix(spec)
    monkeypatch.setattr(np.random, "default_rng", real)
    np.testing.assert_allclose(factor_values(spec, u), expected, rtol=1e-12)
    assert np.all(expected[:, 2] > 0)  # the normal is truncated at 0


def test_grid_factor_is_discrete_uniform() -> None:
    spec = sw.spec_from_dict({"factors": [{"parameter": "k_il6_basal", "grid": [1e-4, 2e-4, 4e-4]}]})
    got = factor_values(spec, np.array([[0.0], [0.33], [0.34], [0.67], [0.999], [1.0]]))
    np.testing.assert_array_equal(got[:, 0], [1e-4, 1e-4, 2e-4, 4e-4, 4e-4, 4e-4])


# --------------------------------------------------------------------------------------------
# The model, through the sweep's runner
def _model_spec(**head: Any) -> dict[str, Any]:
    sweep = {"scenario": "covid_severe", "days": 9, "step": "12 h", "observables": ["trans_signal"],
             "metrics": ["inhibition", "peak"], "timecourses": False, "seed": 3}
    sweep.update(head)
    return {"sweep": sweep, "drugs": [{"drug": "tocilizumab", "dose": "8 mg/kg", "at": "7 d"}],
            "factors": [{"parameter": "k_il6_infl", "sampler": "loguniform", "low": "0.5 1/h", "high": "2 1/h"},
                        {"parameter": "k_sgp130_syn", "sampler": "lognormal", "median": "3.9 nM/h", "sigma": 0.3},
                        {"parameter": "k_crp_deg", "sampler": "uniform", "low": "0.02 1/h", "high": "0.05 1/h"}]}


@pytest.fixture(scope="module")
def model_result() -> il6sim.SobolResult:
    return il6sim.sobol_sensitivity(_model_spec(), "inhibition:trans_signal", n_base=16, n_bootstrap=200)


def test_model_indices(model_result: il6sim.SobolResult) -> None:
    res = model_result
    assert res.factor_names == ("k_il6_infl", "k_sgp130_syn", "k_crp_deg")
    assert res.metric == "inhibition[dose:end]:trans_signal" and res.seed == 3  # the spec's seed by default
    assert (res.n_evaluations, res.n_failed, res.n_blocks) == (16 * 5, 0, 16)
    assert 0 < res.mean < 100  # a percent inhibition, centre of the estimators
    # CRP clearance acts downstream of signalling: trans-signalling cannot depend on it
    crp = 2
    for conf in (res.S1_conf[crp], res.ST_conf[crp]):
        assert conf[0] <= 0 <= conf[1] or abs(conf).max() < 1e-6
    assert abs(res.ST[crp]) < 1e-6 and abs(res.S1[crp]) < 1e-6
    # first-order effects cannot explain more than all the variance (within the sampling error)
    assert res.S1.sum() <= 1 + np.sum(res.S1_conf[:, 1] - res.S1)
    assert np.all(res.ST >= res.S1 - (res.ST_conf[:, 1] - res.ST_conf[:, 0]) - (res.S1_conf[:, 1] - res.S1_conf[:, 0]))
    df = res.to_dataframe()
    assert df["factor"].tolist() == list(res.factor_names) and df.attrs["n_evaluations"] == 80


def test_model_is_deterministic_whatever_the_chunking(model_result: il6sim.SobolResult) -> None:
    again = sobol_sensitivity(sw.spec_from_dict(_model_spec()), "inhibition", n_base=16, n_bootstrap=200,
                              chunk_size=7)
    for key in ("S1", "ST", "S1_conf", "ST_conf"):
        np.testing.assert_array_equal(getattr(again, key), getattr(model_result, key))


class _FakeRunner:
    """Stands in for sweeps.SweepEngine: metric = 3 x1 + x2 (uniform factors) with chosen rows failing."""

    fail_above = 2.0

    def __init__(self, spec: sw.SweepSpec) -> None:
        self.spec = spec

    def chunk(self, values: np.ndarray) -> dict[str, np.ndarray]:
        y = 3 * values[:, 0] + values[:, 1]
        status = np.where(values[:, 0] > self.fail_above, 1, 0)
        m = np.column_stack([np.where(status == 0, y, np.nan), np.zeros(len(y))])
        return {"values": values, "status": status, "messages": np.array(["step size too small" if s else ""
                                                                          for s in status]), "metrics": m}


def _linear_spec() -> dict[str, Any]:
    return {"sweep": {"days": 1, "step": "12 h", "observables": ["crp_mg_l"], "metrics": ["peak", "auc"]},
            "factors": [{"parameter": "k_il6_basal", "sampler": "uniform", "low": 0.0, "high": 1.0},
                        {"parameter": "k_crp_deg", "sampler": "lhs", "low": 0.0, "high": 1.0}]}


def test_plumbing_exact_on_a_linear_metric(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sw, "SweepEngine", _FakeRunner)
    res = sobol_sensitivity(_linear_spec(), "peak:crp_mg_l", n_base=512, seed=1, n_bootstrap=200, chunk_size=100)
    exact = np.array([0.9, 0.1])  # 3² / (3² + 1²)
    assert np.all((res.S1_conf[:, 0] <= exact) & (exact <= res.S1_conf[:, 1]))
    assert np.all((res.ST_conf[:, 0] <= exact) & (exact <= res.ST_conf[:, 1]))


def test_failed_rows_raise_or_drop_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sw, "SweepEngine", type("Failing", (_FakeRunner,), {"fail_above": 0.9}))
    with pytest.raises(Il6simError, match=r"rows failed \(first: row \d+, status 1: step size too small\); "
                                          r"no indices computed.*--drop-failed"):
        sobol_sensitivity(_linear_spec(), "peak:crp_mg_l", n_base=64, seed=1)
    res = sobol_sensitivity(_linear_spec(), "peak:crp_mg_l", n_base=64, seed=1, on_failure="drop", n_bootstrap=50)
    x1 = factor_values(sw.spec_from_dict(_linear_spec()), saltelli_design(2, 64, seed=1))[:, 0]
    failed = x1 > 0.9
    assert res.n_failed == int(failed.sum()) > 0
    assert res.n_blocks == int((~failed.reshape(4, 64).any(axis=0)).sum()) < 64


@pytest.mark.parametrize(("kwargs", "error", "pattern"), [
    ({"metric": "inhibiton:trans_signal"}, UnknownNameError, r"did you mean 'inhibition\[dose:end\]:trans_signal'"),
    ({"metric": "auc"}, UnknownNameError, r"unknown metric 'auc'"),
    ({"n_base": 48}, Il6simError, r"power of two"),
    ({"on_failure": "skip"}, Il6simError, r"on_failure must be 'raise' or 'drop'"),
    ({"spec": 3}, Il6simError, r"spec must be a SweepSpec, a path or a dict"),
])
def test_model_errors_before_any_work(kwargs: dict[str, Any], error: type, pattern: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sw, "SweepEngine", None)  # any solving would fail loudly
    args: dict[str, Any] = {"spec": _model_spec(), "metric": "inhibition:trans_signal", "n_base": 16}
    args.update(kwargs)
    with pytest.raises(error, match=pattern):
        sobol_sensitivity(**args)


def test_no_factors_is_an_error() -> None:
    with pytest.raises(Il6simError, match="no \\[\\[factors\\]\\]"):
        sobol_sensitivity({"sweep": {"metrics": ["peak"]}}, "peak:crp_mg_l", n_base=8)


# --------------------------------------------------------------------------------------------
def _write_spec(tmp_path: Path) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text("""
[sweep]
days = 1
step = "12 h"
observables = ["crp_mg_l"]
metrics = ["peak", "auc"]

[[factors]]
parameter = "k_il6_basal"
sampler = "uniform"
low = 0.0
high = 1.0

[[factors]]
parameter = "k_crp_deg"
sampler = "uniform"
low = 0.0
high = 1.0
""")
    return path


def test_cli_writes_table_and_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    monkeypatch.setattr(sw, "SweepEngine", _FakeRunner)
    out = tmp_path / "s.csv"
    assert main(["sensitivity", str(_write_spec(tmp_path)), "--metric", "peak:crp_mg_l", "--n", "64", "--seed", "1",
                 "--bootstrap", "100", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Sobol' indices of peak[0:end]:crp_mg_l" in printed and "k_crp_deg" in printed
    df = pd.read_csv(out)
    assert df.columns.tolist() == ["factor", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high"]
    np.testing.assert_allclose(df["ST"], [0.9, 0.1], atol=0.05)


@pytest.mark.parametrize(("args", "pattern"), [
    (["--metric", "peek:crp_mg_l"], "unknown metric 'peek:crp_mg_l'; did you mean 'peak\\[0:end\\]:crp_mg_l'"),
    (["--metric", "peak", "--n", "100"], "--n 100: n_base must be a power of two .* try 128"),
    (["--metric", "peak", "--n", "0"], "--n 0: n_base must be at least 8"),
    (["--metric", "peak", "--confidence", "95"], r"confidence must be in \(0, 1\)"),
])
def test_cli_errors_are_one_line(args: list[str], pattern: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s.csv"
    assert main(["sensitivity", str(_write_spec(tmp_path)), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("il6sim: error: ")
    assert __import__("re").search(pattern, err), err
    assert not out.exists()
