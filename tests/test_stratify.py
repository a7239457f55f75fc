"""Who benefits (il6sim.stratify, ``il6sim stratify``).

A planted population (benefit decided by a known rule on two features) checks that the fraction is
counted right and that the tree finds the rule; a small population of the disease layer runs end
to end through the sweep and the command line.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="stratify needs scikit-learn (pip install 'il6sim[stratify]')")

import il6sim
from il6sim.cli import main
from il6sim.errors import Il6simError
from il6sim.stratify import parse_condition, stratify
from il6sim.sweeps import SweepResult, load_sweep_spec

ROOT = Path(__file__).resolve().parents[1]
POPULATION = ROOT / "models" / "sweeps" / "population_covid_viral.toml"


def planted(n: int = 400, seed: int = 7) -> tuple[SweepResult, np.ndarray]:
    rng = np.random.default_rng(seed)
    weight = rng.uniform(50, 120, n)
    noise = rng.lognormal(0.0, 0.3, n)
    day = np.where(rng.random(n) < 0.5, "1 d", "3 d")
    rule = (weight > 80) & (day == "3 d")
    damage = np.where(rule, 30.0, 10.0) + rng.normal(0, 2, n)
    params = np.column_stack([weight, noise, (day == "3 d").astype(float)])
    res = SweepResult(("weight_kg", "k_noise", "at"), params, np.zeros(n, dtype=int), np.array(["ok"] * n),
                      {"inhibition[0:end]:tissue_damage": damage}, np.array([0.0]), ("tissue_damage",),
                      labels={"at": day})
    return res, rule


def test_planted_rule_is_counted_and_found() -> None:
    res, rule = planted()
    s = stratify(res, ["inhibition:tissue_damage>=20"])
    assert s.n == 400 and s.fraction == pytest.approx(rule.mean())
    by = s.by_level.set_index("level")["fraction"]
    assert by["3 d"] == pytest.approx(rule[res.labels["at"] == "3 d"].mean())
    assert by["1 d"] == 0.0
    assert set(s.predictors[:2]) == {"weight_kg", "at_d"} and "k_noise" not in s.predictors
    assert s.cv_accuracy > 0.95 > s.majority_accuracy
    assert "weight_kg <=" in s.rules and "at_d" in s.rules


def test_all_conditions_must_hold_and_failed_rows_are_left_out() -> None:
    res, rule = planted()
    res.metrics["last_above_shift[dose:end]:100:viral_load_copies_ml"] = np.where(res.parameters[:, 0] > 100, 96.0, 0.0)
    res.status[:10] = 1
    s = stratify(res, ["inhibition:tissue_damage>=20", "last_above_shift:viral_load_copies_ml<=48"])
    expected = (rule & (res.parameters[:, 0] <= 100))[10:]
    assert s.n == 390 and s.n_failed == 10 and s.fraction == pytest.approx(expected.mean())


def test_bad_outcomes_say_what_is_wrong() -> None:
    res, _ = planted(50)
    with pytest.raises(Il6simError, match="write METRIC:OBSERVABLE>=X"):
        parse_condition("inhibition:tissue_damage > 20")
    with pytest.raises(Il6simError, match="outcome 'peak:crp_mg_l >= 3': no metric 'peak:crp_mg_l' in this sweep"):
        stratify(res, ["peak:crp_mg_l>=3"])
    with pytest.raises(Il6simError, match="at least one outcome"):
        stratify(res, [])


def test_disease_layer_population_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = dataclasses.replace(load_sweep_spec(POPULATION), rows=20)
    assert load_sweep_spec(POPULATION).rows >= 1000  # the shipped population: at least 1,000 patients
    il6sim.sweep(spec, tmp_path / "sweep")
    out = tmp_path / "strata"
    rc = main(["stratify", str(tmp_path / "sweep"), "--outcome", "inhibition:tissue_damage>=20",
               "--outcome", "last_above_shift[211.2h:end]:100:viral_load_copies_ml<=48", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and "fraction who benefit:" in text and "decision tree" in text and "rows (patient x setting): 120" in text
    for name in ("patients.csv", "by_level.csv", "importance.csv", "summary.txt", "stratify.png"):
        assert (out / name).stat().st_size > 0
    import pandas as pd

    patients = pd.read_csv(out / "patients.csv")
    assert len(patients) == 120  # 20 patients x 3 treatment days x 2 arms
    # baseline features from the value[0] metrics: serum levels and their ratios
    assert {"baseline_il6", "baseline_sil6r", "ratio_il6_sil6r", "rs2228145_alleles", "at_d"} <= set(patients)
    frac = float(text.split("fraction who benefit: ")[1].split("%")[0]) / 100
    assert frac == pytest.approx(patients.benefit.mean(), abs=1e-3)
    assert main(["stratify", str(tmp_path / "nowhere"), "--outcome", "inhibition:tissue_damage>=20",
                 "--out", str(out)]) == 2
    assert "no such sweep folder" in capsys.readouterr().err


def test_one_row_in_a_class_gives_no_cross_validation_and_no_crash() -> None:
    res, _ = planted(40)
    damage = np.full(40, 10.0)
    damage[3] = 30.0
    res.metrics["inhibition[0:end]:tissue_damage"] = damage
    s = stratify(res, ["inhibition:tissue_damage>=20"])
    assert s.fraction == pytest.approx(1 / 40) and np.isnan(s.cv_accuracy)
    assert "n/a (fewer than 2 rows in a class)" in s.format()


def test_genotype_alleles_are_counted_against_the_same_reference_whatever_the_draw() -> None:
    res, _ = planted(30)
    geno = np.array(["CC", "AC", "AA"] * 10)  # the first row happens to be CC
    res = dataclasses.replace(res, factor_names=(*res.factor_names, "rs2228145"),
                              parameters=np.column_stack([res.parameters, np.zeros(30)]),
                              labels={**res.labels, "rs2228145": geno})
    s = stratify(res, ["inhibition:tissue_damage>=20"])
    alleles = dict(zip(s.patients["rs2228145 (level)"], s.patients["rs2228145_alleles"]))
    assert alleles == {"AA": 0.0, "AC": 1.0, "CC": 2.0}
    assert list(s.by_level[s.by_level.factor == "rs2228145"].level) == ["AA", "AC", "CC"]
