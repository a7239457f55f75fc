"""Who benefits: paired outcomes over a virtual population, the fraction who benefit, and what predicts it.

A sweep whose rows are treated patients, each paired by the sweep engine with the same patient
untreated (metrics such as ``inhibition`` and ``last_above_shift`` compare with that twin), gives
one outcome row per patient and setting. A patient *benefits* when every condition holds, e.g.

* ``inhibition[0:end]:tissue_damage >= 20`` (at least a fifth of the lung damage avoided), and
* ``last_above_shift[211.2h:end]:100:viral_load_copies_ml <= 48`` (viral clearance not delayed by
  more than two days).

:func:`stratify` reports the fraction who benefit (overall and per level of each level factor,
such as the treatment day and the dexamethasone arm) and fits a shallow decision tree
(scikit-learn, the ``stratify`` extra) on baseline features: every factor of the sweep (parameters,
body weight, genotype as the number of non-reference alleles, treatment day, arm) and, when the
sweep has them as ``value[0]`` metrics, serum IL-6, sIL-6R and sgp130 at baseline with their ratios.
The tree's rules and its feature importances name what predicts benefit; a 5-fold cross-validated
accuracy against always guessing the majority says whether the tree predicts anything at all.

>>> c = parse_condition("inhibition:tissue_damage>=20")
>>> c.metric, c.at_least, c.bound
('inhibition:tissue_damage', True, 20.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import Il6simError, UnitError
from .units import parse_time

__all__ = ["Condition", "Stratification", "parse_condition", "stratify"]

_CONDITION = re.compile(r"^\s*(?P<metric>[^<>=]+?)\s*(?P<op>>=|<=)\s*(?P<bound>[-+0-9.eE]+)\s*$")
_BASELINE = {"il6": "value[0]:il6_free_pg_ml", "sil6r": "value[0]:sil6r_total_ng_ml",
             "sgp130": "value[0]:sgp130_total_ng_ml"}
_MW_KDA = {"il6": 21.0, "sil6r": 50.0, "sgp130": 100.0}  # models/il6.toml observables


@dataclass(frozen=True)
class Condition:
    """``metric >= bound`` (``at_least``) or ``metric <= bound``, on a sweep's metric column."""

    metric: str
    bound: float
    at_least: bool = True

    @property
    def label(self) -> str:
        return f"{self.metric} {'>=' if self.at_least else '<='} {self.bound:g}"

    def holds(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return (v >= self.bound) if self.at_least else (v <= self.bound)


def parse_condition(text: str) -> Condition:
    """``"METRIC:OBSERVABLE>=X"`` or ``"...<=X"`` as a :class:`Condition`.

    >>> parse_condition("last_above_shift:viral_load_copies_ml<=48").label
    'last_above_shift:viral_load_copies_ml <= 48'
    >>> parse_condition("inhibition:crp_mg_l=3")
    Traceback (most recent call last):
    ...
    il6sim.errors.Il6simError: outcome 'inhibition:crp_mg_l=3': write METRIC:OBSERVABLE>=X or METRIC:OBSERVABLE<=X, e.g. 'inhibition:tissue_damage>=20'
    """
    m = _CONDITION.match(str(text))
    if not m:
        raise Il6simError(f"outcome '{text}': write METRIC:OBSERVABLE>=X or METRIC:OBSERVABLE<=X, "
                          "e.g. 'inhibition:tissue_damage>=20'")
    try:
        bound = float(m.group("bound"))
    except ValueError:
        raise Il6simError(f"outcome '{text}': the bound '{m.group('bound')}' is not a number") from None
    if not math.isfinite(bound):
        raise Il6simError(f"outcome '{text}': the bound must be finite")
    return Condition(m.group("metric").strip(), bound, m.group("op") == ">=")


@dataclass(frozen=True)
class Stratification:
    """The outcome table, the fraction who benefit and what the tree says predicts it.

    ``patients`` (pandas) has one row per successful sweep row: the features, each condition's
    metric, and ``benefit`` (bool). ``by_level`` gives the fraction who benefit per level of each
    level factor; ``importance`` the tree's feature importances (largest first); ``rules`` the
    tree as text; ``cv_accuracy`` and ``majority_accuracy`` its 5-fold cross-validated accuracy
    and the accuracy of always guessing the majority.
    """

    conditions: tuple[Condition, ...]
    patients: Any
    fraction: float
    n: int
    n_failed: int
    by_level: Any
    importance: Any
    rules: str
    cv_accuracy: float
    majority_accuracy: float
    features: tuple[str, ...] = field(default=())

    @property
    def predictors(self) -> list[str]:
        """Features the tree uses, most important first."""
        imp = self.importance
        return [str(f) for f, v in zip(imp["feature"], imp["importance"]) if v >= 0.005]

    def format(self) -> str:
        """A plain-text report."""
        lines = ["benefit = " + " and ".join(c.label for c in self.conditions),
                 f"rows (patient x setting): {self.n} (left out, failed or with an undefined outcome: {self.n_failed})",
                 f"fraction who benefit: {self.fraction:.1%}", ""]
        if len(self.by_level):
            lines.append("by level:")
            for _, r in self.by_level.iterrows():
                lines.append(f"  {r['factor']} = {r['level']}: {r['fraction']:.1%} of {int(r['n'])}")
            lines.append("")
        cv = "n/a (fewer than 2 rows in a class)" if math.isnan(self.cv_accuracy) else f"{self.cv_accuracy:.1%}"
        lines.append(f"decision tree (cross-validated accuracy {cv}; always guessing the majority "
                     f"{self.majority_accuracy:.1%}):")
        lines.append(self.rules.rstrip())
        lines.append("")
        lines.append("features that predict benefit (tree importance): "
                     + (", ".join(f"{f} {v:.2f}" for f, v in zip(self.importance["feature"], self.importance["importance"])
                                  if v >= 0.005) or "none"))
        return "\n".join(lines)


def _level_feature(name: str, labels: np.ndarray, levels: Sequence[str]) -> dict[str, np.ndarray]:
    """Numeric encodings of a level factor: times as days, genotypes as allele counts, else indicators."""
    labels = np.asarray(labels, dtype=str)
    try:
        return {f"{name}_d": np.array([parse_time(x, "d") / 24.0 for x in labels])}
    except (UnitError, Il6simError, ValueError):
        pass
    if name.startswith("rs") and all(len(x) == 2 for x in levels):
        ref = sorted(levels)[0][0]  # alleles counted against the first homozygote in sort order (rs2228145: A)
        return {f"{name}_alleles": np.array([sum(ch != ref for ch in x) for x in labels], dtype=float)}
    if len(levels) == 2:
        return {f"{name}={levels[1]}": (labels == levels[1]).astype(float)}
    return {f"{name}={lv}": (labels == lv).astype(float) for lv in levels}


def stratify(sweep: Any, outcomes: Sequence[str | Condition], *, max_depth: int = 3, min_leaf: float = 0.05,
             seed: int = 0) -> Stratification:
    """Fraction of a virtual population who benefit, and the baseline features that predict it.

    Parameters
    ----------
    sweep : a :class:`~il6sim.sweeps.SweepResult` or the folder of a finished sweep.
    outcomes : conditions that must all hold for benefit (:func:`parse_condition` spellings).
    max_depth : depth of the decision tree (shallow, to stay readable).
    min_leaf : smallest leaf as a fraction of the patients.
    seed : for the tree and the cross-validation folds.

    Examples
    --------
    >>> import il6sim
    >>> res = il6sim.sweep({"sweep": {"scenario": "covid_severe", "rows": 12, "seed": 3,
    ...     "observables": ["tissue_damage"], "metrics": ["inhibition[0h:end]"], "timecourses": False},
    ...     "drugs": [{"drug": "tocilizumab", "at": "8.8 d"}],
    ...     "factors": [{"parameter": "k_infl_infected", "sampler": "lognormal", "median": "0.0035 1/h",
    ...                  "sigma": 0.5}]})
    >>> s = stratify(res, ["inhibition[0:end]:tissue_damage>=20"])
    >>> s.n, 0.0 <= s.fraction <= 1.0
    (12, True)
    """
    import pandas as pd

    try:
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.tree import DecisionTreeClassifier, export_text
    except ImportError:
        raise Il6simError("stratify needs scikit-learn: pip install 'il6sim[stratify]'") from None
    from .sweeps import SweepResult, load_sweep

    res: SweepResult = sweep if isinstance(sweep, SweepResult) else load_sweep(Path(sweep))
    conds = tuple(c if isinstance(c, Condition) else parse_condition(c) for c in outcomes)
    if not conds:
        raise Il6simError("give at least one outcome condition, e.g. 'inhibition:tissue_damage>=20'")
    if not (0 < min_leaf < 0.5):
        raise Il6simError(f"min_leaf must be in (0, 0.5), got {min_leaf}")
    if isinstance(max_depth, bool) or not isinstance(max_depth, int) or max_depth < 1:
        raise Il6simError(f"max_depth must be a whole number >= 1, got {max_depth!r}")
    ok = res.ok
    cols: dict[str, np.ndarray] = {}
    level_cols: dict[str, np.ndarray] = {}
    # level order: grid and level factors vary slowest, so first appearance is their file order; genotypes
    # drawn with frequencies appear in random order, so they are sorted (the reference homozygote first)
    spec_levels = {name: (sorted(set(res.labels[name])) if name.startswith("rs") else
                          list(dict.fromkeys(res.labels[name]))) for name in res.labels}
    for j, name in enumerate(res.factor_names):
        if name in res.labels:
            level_cols[name] = np.asarray(res.labels[name], dtype=str)
            cols.update(_level_feature(name, res.labels[name], spec_levels[name]))
        else:
            cols[name] = np.asarray(res.parameters[:, j], dtype=float)
    base = {k: np.asarray(res.metric(m), dtype=float) for k, m in _BASELINE.items() if _has(res, m)}
    cols.update({f"baseline_{k}": v for k, v in base.items()})
    molar = {k: v / _MW_KDA[k] for k, v in base.items()}  # pg/ml / kDa and ng/ml / kDa: proportional to molar
    for a, b in (("il6", "sil6r"), ("il6", "sgp130"), ("sil6r", "sgp130")):
        if a in molar and b in molar:
            cols[f"ratio_{a}_{b}"] = molar[a] / molar[b] * (1e-3 if a == "il6" else 1.0)  # pg vs ng
    values = {}
    for c in conds:
        try:
            values[c.metric] = np.asarray(_metric(res, c.metric), dtype=float)
        except Il6simError as exc:
            raise Il6simError(f"outcome '{c.label}': {exc}") from None
    keep = ok & np.all([np.isfinite(v) for v in values.values()], axis=0)  # failed rows, undefined outcomes
    benefit = np.all([c.holds(values[c.metric]) for c in conds], axis=0)
    frame = pd.DataFrame({**cols, **{c.metric: values[c.metric] for c in conds}, "benefit": benefit})
    for name, lab in level_cols.items():
        frame[f"{name} (level)"] = lab
    frame = frame[keep].reset_index(drop=True)
    n = len(frame)
    if n < 10:
        raise Il6simError(f"only {n} successful rows with finite outcomes: stratification needs at least 10")
    y = frame["benefit"].to_numpy(dtype=bool)
    features = tuple(cols)
    x = frame[list(features)].to_numpy(dtype=float)
    rows = []
    for name in level_cols:
        for lv in spec_levels[name]:
            sel = frame[f"{name} (level)"] == lv
            if sel.any():
                rows.append({"factor": name, "level": lv, "n": int(sel.sum()), "fraction": float(y[sel].mean())})
    by_level = pd.DataFrame(rows, columns=["factor", "level", "n", "fraction"])
    leaf = max(2, int(math.ceil(min_leaf * n)))
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf, random_state=seed)
    if y.all() or (~y).all():
        rules, importance = "(everyone in the same class: no tree)", np.zeros(len(features))
        cv, majority = 1.0, 1.0
    else:
        tree.fit(x, y)
        rules = export_text(tree, feature_names=list(features), class_names=["no benefit", "benefit"])
        importance = tree.feature_importances_
        majority = float(max(y.mean(), 1 - y.mean()))
        minority = int(min(y.sum(), (~y).sum()))
        cv = float("nan")  # cross-validation needs at least two rows of each class
        if minority >= 2:
            folds = StratifiedKFold(n_splits=min(5, minority), shuffle=True, random_state=seed)
            cv = float(np.mean(cross_val_score(DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf,
                                                                      random_state=seed), x, y, cv=folds)))
    order = np.argsort(-importance, kind="stable")
    imp = pd.DataFrame({"feature": [features[i] for i in order], "importance": importance[order]})
    return Stratification(conds, frame, float(y.mean()), n, int((~keep).sum()), by_level, imp, rules, cv,
                          majority, features)


def _metric(res: Any, name: str) -> np.ndarray:
    """A metric column; a short spelling (``inhibition:tissue_damage``) also finds the one column of
    that kind and observable whatever its window (``inhibition[0:end]:tissue_damage``)."""
    try:
        return np.asarray(res.metric(name))
    except Il6simError:
        kind, obs = name.split("[")[0].split(":")[0], name.rsplit(":", 1)[-1]
        found = [k for k in res.metrics if k.startswith(kind + "[") and k.endswith(":" + obs)]
        if "[" in name or len(found) != 1:
            raise
        return np.asarray(res.metrics[found[0]])


def _has(res: Any, name: str) -> bool:
    try:
        res.metric(name)
    except Il6simError:
        return False
    return True
