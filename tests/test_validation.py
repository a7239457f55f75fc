"""The validation set: frozen, disjoint from the training data, and the report in docs/ is current.

Reference values here come from the frozen table itself (its recorded checksum) and from the
calibration folders' own source columns; the predictions are recomputed, not stored.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from pathlib import Path

import pytest

from il6sim import validation
from il6sim.calibration import ensemble

ROOT = Path(__file__).resolve().parent.parent
VALIDATION = ROOT / "models" / "validation"
CALIBRATION = ROOT / "models" / "calibration"
REPORT = ROOT / "docs" / "validation.md"

_REF = re.compile(r"(10\.\d{4,9}/[^\s,;)]+|PMID:?\s*\d+|[\w.-]+/[\w.-]+@[0-9a-f]{7,40}:[^\s#]+)", re.I)


def _references(text: str) -> set[str]:
    """DOIs, PMIDs and repository files named in a source string, normalised."""
    out = set()
    for m in _REF.findall(text):
        ref = re.sub(r"\s+", "", m).rstrip(".").lower()
        ref = re.sub(r"@[0-9a-f]+:", ":", ref)   # same repository file at any commit
        out.add(ref.replace("pmid:", "pmid"))
    return out


def _calibration_sources() -> set[str]:
    refs: set[str] = set()
    for f in CALIBRATION.glob("*/measurements.tsv"):
        with open(f, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                refs |= _references(row.get("source", ""))
    return refs


def test_the_frozen_table_is_unchanged_since_the_freeze() -> None:
    recorded = re.search(r"sha256\s+([0-9a-f]{64})\s+observations\.tsv", (VALIDATION / "README.md").read_text())
    assert recorded, "models/validation/README.md lost its recorded sha256"
    assert hashlib.sha256((VALIDATION / "observations.tsv").read_bytes()).hexdigest() == recorded.group(1)


def test_validation_and_calibration_share_no_file() -> None:
    val = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in VALIDATION.rglob("*") if p.is_file()}
    for p in CALIBRATION.rglob("*"):
        if p.is_file() and p.suffix in (".tsv", ".csv"):
            assert hashlib.sha256(p.read_bytes()).hexdigest() not in val, f"{p} is also in models/validation"


def test_validation_and_calibration_share_no_source() -> None:
    train = _calibration_sources()
    assert train, "no references parsed from the calibration sources (the parser would check nothing)"
    assert any(r.startswith("10.") for r in train) and any(":" in r and "/" in r for r in train)
    for o in validation.load_observations():
        shared = _references(o.source) & train
        assert not shared, f"validation row {o.id} cites {sorted(shared)}, which a calibration data set also cites"


def test_reference_parser_finds_the_forms_used() -> None:
    refs = _references("Xu C 2019 (doi:10.1007/s40262-019-00765-1), PMID 29209946; "
                       "iamstein/TMDD_EndogenousLigand@64e5eaab0fef:data/Charoin10_RA_1pt/IL6_pgml.csv#row4")
    assert refs == {"10.1007/s40262-019-00765-1", "pmid29209946",
                    "iamstein/tmdd_endogenousligand:data/charoin10_ra_1pt/il6_pgml.csv"}


def _report_rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in REPORT.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 8 and cells[0] not in ("id", "---"):
            rows[cells[0]] = (cells[4], cells[6])
    return rows


@pytest.fixture(scope="module")
def best_predictions() -> list[validation.Prediction]:
    return validation.predict_all(parameter_sets=ensemble()[:1])


def test_report_is_current(best_predictions: list[validation.Prediction]) -> None:
    """docs/validation.md's predicted column equals a fresh prediction with the shipped calibration."""
    rows = _report_rows()
    assert len(rows) == len(best_predictions)
    for p in best_predictions:
        shown, _ = rows[p.observation.id]
        if p.predicted:
            assert math.isclose(float(shown), p.best, rel_tol=5.1e-3), (p.observation.id, shown, p.best)  # 3 digits
        else:
            assert shown == ""


def test_every_row_is_predicted_or_says_why(best_predictions: list[validation.Prediction]) -> None:
    for p in best_predictions:
        assert p.predicted or p.reason.startswith(("not predicted", "context row")), (p.observation.id, p.reason)


def test_label_exposures_are_predicted_at_the_right_regimens(best_predictions: list[validation.Prediction]) -> None:
    by = {p.observation.id: p for p in best_predictions}
    assert "interval 13 of 13" in by["tcz_iv8_label_ctrough"].reason      # a year of q4w infusions
    assert "interval 6 of 6" in by["sar_sc200_pen_easy_auc_wk10_12"].reason  # weeks 10-12 of q2w
    assert "interval 1 of 1" in by["sar_sc150_pen_easy_cmax_wk0_2"].reason
    # exposure grows with dose at the same regimen
    assert by["tcz_iv8_label_auc"].best > 2 * by["tcz_iv4_label_auc"].best


def test_a_point_value_counts_within_the_tolerance() -> None:
    o = validation.Observation("x", "tocilizumab", "iv", "8 mg/kg", "28 d", "RA", "cmax_ug_ml", "mean", 100.0,
                               "ug/mL", None, "none", "steady state", "", "")
    inside = validation.Prediction(o, best=120.0, low=120.0, high=124.0)
    outside = validation.Prediction(o, best=130.0, low=130.0, high=140.0)
    assert inside.consistent is True and outside.consistent is False
    spread = validation.Observation(*{**o.__dict__, "spread": (50.0, 150.0)}.values())
    assert validation.Prediction(spread, best=140.0, low=140.0, high=149.0).consistent is True


def test_every_miss_in_the_report_is_explained(best_predictions: list[validation.Prediction]) -> None:
    """The report's misses (band over the calibration's sets) each have an explanation, and no stale one."""
    report = REPORT.read_text(encoding="utf-8")
    missed = {i for i, (_, agrees) in _report_rows().items() if agrees == "**no**"}
    why = validation.explained_misses()
    assert missed == set(why), (sorted(missed - set(why)), sorted(set(why) - missed))
    assert "NOT EXPLAINED" not in report
    # the best fit alone misses a subset of the band's misses (the band only widens agreement)
    assert {p.observation.id for p in best_predictions if p.consistent is False} >= missed
