"""Cytokine trapping versus receptor blockade: each drug at its standard dose against no drug.

>>> from il6sim.shipped import load_model
>>> table = compare_drugs(load_model("il6"), drugs="siltuximab", days="20d")
>>> [row["drug"] for row in table.rows]
['untreated', 'siltuximab']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .drugs import load_drug
from .errors import Il6simError
from .network import Network
from .regimen import build_run
from .results import Result, atomic_write
from .shipped import shipped_names
from .units import parse_time

__all__ = ["CompareTable", "compare_drugs", "write_compare"]

LEVELS = ("il6_free_pg_ml", "il6_total_pg_ml", "sil6r_total_ng_ml", "crp_mg_l")
SIGNALS = ("classic_signal", "trans_signal", "trans_presentation_signal")


@dataclass(frozen=True)
class CompareTable:
    """Rows of metrics per run (untreated first) plus the results behind them."""

    rows: tuple[dict, ...]
    results: dict[str, Result] = field(default_factory=dict)
    dosing_h: float = 0.0
    scenario: str = ""
    command: str = ""

    @property
    def columns(self) -> list[str]:
        return list(self.rows[0]) if self.rows else []

    def format(self) -> str:
        """A fixed-width text table (peaks and AUCs from dosing to the end)."""
        head = ["drug", "il6_free peak", "il6_total peak", "sil6r_total peak", "crp peak",
                "classic inh %", "trans inh %", "trans-pres inh %"]
        keys = ["drug", "il6_free_pg_ml_peak", "il6_total_pg_ml_peak", "sil6r_total_ng_ml_peak", "crp_mg_l_peak",
                "classic_signal_inhibition_pct", "trans_signal_inhibition_pct",
                "trans_presentation_signal_inhibition_pct"]
        lines = [f"# {self.scenario}: drug at {self.dosing_h / 24:g} d; peaks after dosing (pg/ml, ng/ml, mg/l); "
                 "inhibition = 1 - AUC/AUC(untreated) from dosing to the end",
                 "  ".join(f"{h:>16s}" for h in head)]
        for row in self.rows:
            cells = [f"{row['drug']:>16s}"] + [f"{row[k]:16.4g}" for k in keys[1:]]
            lines.append("  ".join(cells))
        return "\n".join(lines)


def _default_drugs() -> list[str]:
    return [n for n in shipped_names("drugs") if load_drug(n).target_class != "production"]


def compare_drugs(network: Network, *, scenario: str = "covid_severe", drugs: str | Sequence[str] = "all",
                  at: str | float | None = None, weight: str | float = "70kg", days: str | float | None = None,
                  step_h: float = 1.0) -> CompareTable:
    """Simulate the scenario untreated and with each drug at its standard dose; tabulate metrics."""
    names = _default_drugs() if drugs == "all" else (
        [d.strip() for d in drugs.split(",") if d.strip()] if isinstance(drugs, str) else list(drugs))
    if not names:
        raise Il6simError(f"--drugs {drugs!r}: no drug named; give drug names or paths separated by commas, or 'all'")
    base = build_run(network, scenario=scenario, weight=weight,
                     duration_h=None if days is None else parse_time(days, "d"))
    sc = base.scenario
    t_dose = parse_time(at, "d") if at is not None else (sc.admission_h if sc else 0.0)
    t_eval = np.arange(0.0, base.duration_h + 1e-9, step_h)
    results = {"untreated": base.simulate(t_eval)}
    for name in names:
        run = build_run(network, scenario=scenario, weight=weight, duration_h=base.duration_h,
                        drug_groups=[{"drug": name, "at": t_dose}])
        results[name if name.endswith(".toml") else run.drugs[0].name] = run.simulate(t_eval)
    after = t_eval >= t_dose
    ref = results["untreated"]
    rows = []
    for label, res in results.items():
        row: dict = {"drug": label}
        for obs in LEVELS:
            y = res[obs]
            row[f"{obs}_peak"] = float(np.max(y[after]))
            row[f"{obs}_auc_h"] = float(np.trapezoid(y[after], t_eval[after]))
        for obs in SIGNALS:
            auc = np.trapezoid(res[obs][after], t_eval[after])
            auc0 = np.trapezoid(ref[obs][after], t_eval[after])
            row[f"{obs}_inhibition_pct"] = float(100.0 * (1.0 - auc / auc0)) if auc0 > 0 else 0.0
        rows.append(row)
    return CompareTable(tuple(rows), results, t_dose, sc.name if sc else "")


def write_compare(table: CompareTable, prefix: str, *, figure: bool = True) -> list[str]:
    """Write PREFIX.csv (metrics), PREFIX_timecourses.csv and, unless ``figure=False``, PREFIX.png."""
    written = []
    cols = table.columns
    lines = [",".join(cols)] + [",".join(str(r[c]) if c == "drug" else repr(float(r[c])) for c in cols)
                                for r in table.rows]
    atomic_write(prefix + ".csv", ("\n".join(lines) + "\n").encode())
    written.append(prefix + ".csv")
    obs = LEVELS + SIGNALS
    header = ["drug", "time_h", *obs]
    tl = [",".join(header)]
    for label, res in table.results.items():
        for i, t in enumerate(res.time_h):
            tl.append(",".join([label, repr(float(t))] + [repr(float(res[o][i])) for o in obs]))
    atomic_write(prefix + "_timecourses.csv", ("\n".join(tl) + "\n").encode())
    written.append(prefix + "_timecourses.csv")
    meta = {"il6sim_version": __version__, "scenario": table.scenario, "dosing_h": table.dosing_h,
            "network_hash": {k: r.provenance.get("network_hash") for k, r in table.results.items()}}
    atomic_write(prefix + ".json", json.dumps(meta, indent=1).encode())
    written.append(prefix + ".json")
    if figure:
        from .figures.compare import compare_figure

        fig = compare_figure(table)
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120)
        atomic_write(prefix + ".png", buf.getvalue())
        written.append(prefix + ".png")
    return written


