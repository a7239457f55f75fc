"""Cytokine trapping versus receptor blockade: each drug at its standard dose against no drug.

Every number comes from :mod:`il6sim.readouts` over one window, from the dose to the end of the
run, and carries that window in its name: ``peak[15.8d:45d]:il6_total_pg_ml``,
``inhibition[15.8d:45d]:trans_signal``. Inhibition is the readouts' definition against the
untreated run of the same scenario (NaN where the untreated area is 0).

>>> from il6sim.shipped import load_model
>>> table = compare_drugs(load_model("il6"), drugs="siltuximab", days="20d")
>>> [row["drug"] for row in table.rows], table.window
(['untreated', 'siltuximab'], '[15.8d:20d]')
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .drugs import load_drug
from .errors import Il6simError
from .fileio import atomic_write
from .network import Network
from .readouts import DosingSchedule, Metric, Window, inhibition, mean, output_grid, peak
from .regimen import Run, admission_of, build_run, parse_dose_time
from .results import Result
from .shipped import shipped_names
from .units import parse_time

__all__ = ["LEVELS", "OUTCOMES", "SIGNALS", "CompareTable", "compare_drugs", "plan_runs", "timecourse_table", "write_compare"]

#: serum levels reported (unit in the name): value just before the dose, peak and mean over the window
LEVELS = ("il6_free_pg_ml", "il6_total_pg_ml", "sil6r_total_ng_ml", "crp_mg_l")
#: drug readouts (present only in treated runs)
DRUG_LEVELS = ("drug_total_ug_ml", "mil6r_occupancy", "sil6r_occupancy")
#: per-mode signals, reported as percent inhibition against the untreated run
SIGNALS = ("classic_signal", "trans_signal", "trans_presentation_signal")
#: outcomes of the disease layer (scenarios that run it): the shift of viral clearance (h; the last time
#: above CLEARANCE_COPIES_ML) and the inhibition of lung damage, against the untreated run
OUTCOMES = ("viral_load_copies_ml", "tissue_damage")
CLEARANCE_COPIES_ML = 100.0


@dataclass(frozen=True)
class CompareTable:
    """Rows of metrics per run (untreated first), the results behind them and their provenance."""

    rows: tuple[dict[str, Any], ...]
    results: dict[str, Result] = field(default_factory=dict)
    dosing_h: float = 0.0
    scenario: str = ""
    window: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return list(self.rows[0]) if self.rows else []

    def format(self) -> str:
        """A fixed-width text table: the columns a reader compares first, with units and window."""
        w = self.window
        cols = [("drug", "drug", "s"),
                (f"mean{w}:il6_free_pg_ml", "free IL-6 pg/ml", "g"),
                (f"peak{w}:il6_total_pg_ml", "total IL-6 pg/ml", "g"),
                (f"peak{w}:sil6r_total_ng_ml", "sIL-6R tot ng/ml", "g"),
                (f"mean{w}:crp_mg_l", "CRP mg/l", "g"),
                (f"inhibition{w}:classic_signal (%)", "classic inh %", "f"),
                (f"inhibition{w}:trans_signal (%)", "trans inh %", "f"),
                (f"inhibition{w}:trans_presentation_signal (%)", "trans-pres inh %", "f")]
        clearance = f"last_above_shift{w}:{CLEARANCE_COPIES_ML:g}:viral_load_copies_ml"
        if self.rows and clearance in self.rows[0]:
            cols += [(clearance, "clearance +h", "f"), (f"inhibition{w}:tissue_damage (%)", "damage inh %", "f")]
        lines = [f"# {self.scenario}: drug at {self.dosing_h / 24:g} d; window {w} (dose to end): mean free "
                 "IL-6 and CRP, peak total IL-6 and total sIL-6R, inhibition = 100 (1 - AUC/AUC untreated)",
                 "  ".join(f"{h:>16s}" for _, h, _ in cols)]
        for row in self.rows:
            cells = []
            for key, _, kind in cols:
                v = row[key]
                cells.append(f"{v:>16s}" if kind == "s" else (f"{v:16.1f}" if kind == "f" else f"{v:16.4g}"))
            lines.append("  ".join(cells))
        return "\n".join(lines)


def _default_drugs() -> list[str]:
    return [n for n in shipped_names("drugs") if load_drug(n).target_class != "production"]


def _sha256(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _row(label: str, res: Result, ref: Result, window: Window, t_dose: float, regimen: str) -> dict[str, Any]:
    t = res.time_h
    w = window.label
    before = Metric("before", time_h=t_dose)
    row: dict[str, Any] = {"drug": label, "regimen": regimen}
    for obs in LEVELS:
        row[f"{before.name}:{obs}"] = float(before.evaluate(t, res[obs]))
        row[f"peak{w}:{obs}"] = float(peak(t, res[obs], window))
        row[f"mean{w}:{obs}"] = float(mean(t, res[obs], window))
    for obs in DRUG_LEVELS:
        has = obs in res.observable_ids
        row[f"peak{w}:{obs}"] = float(peak(t, res[obs], window)) if has else float("nan")
        row[f"mean{w}:{obs}"] = float(mean(t, res[obs], window)) if has else float("nan")
    for obs in SIGNALS:
        row[f"inhibition{w}:{obs} (%)"] = float(inhibition(t, res[obs], ref[obs], window))
    if all(o in res.observable_ids for o in OUTCOMES) and float(np.max(ref["viral_load_copies_ml"])) >= \
            CLEARANCE_COPIES_ML:  # the disease layer runs (an infection): the course itself changes
        shift = Metric("last_above_shift", window=window, threshold=CLEARANCE_COPIES_ML)
        row[f"{shift.name}:viral_load_copies_ml"] = float(shift.evaluate(t, res["viral_load_copies_ml"],
                                                                         reference=ref["viral_load_copies_ml"]))
        row[f"inhibition{w}:tissue_damage (%)"] = float(inhibition(t, res["tissue_damage"], ref["tissue_damage"], window))
    return row


def _regimen_text(run: Run) -> str:
    d = run.doses[0]
    every = f" every {d.every_h / 24:g} d x {d.count}" if d.every_h and d.count > 1 else ""
    infusion = f" over {d.infusion_h:g} h" if d.infusion_h else ""
    return f"{d.amount} {d.route}{infusion} at {d.at_h / 24:g} d{every}"


def plan_runs(network: Network, *, scenario: str = "covid_severe", drugs: str | Sequence[str] = "all",
              at: str | float | None = None, weight: str | float = "70kg", days: str | float | None = None,
              step_h: float = 1.0) -> tuple[list[str], Run, float, np.ndarray]:
    """The drugs named, the untreated run, the dosing time (h) and the output grid of a comparison."""
    names = _default_drugs() if drugs == "all" else (
        [d.strip() for d in drugs.split(",") if d.strip()] if isinstance(drugs, str) else list(drugs))
    if not names:
        raise Il6simError(f"--drugs {drugs!r}: no drug named; give drug names or paths separated by commas, or 'all'")
    base = build_run(network, scenario=scenario, weight=weight,
                     duration_h=None if days is None else parse_time(days, "d"))
    sc = base.scenario
    t_dose = parse_dose_time(at, admission_of(sc), "d") if at is not None else (sc.admission_h if sc else 0.0)
    if t_dose >= base.duration_h:
        given = f"--at {at}" if at is not None else f"the scenario's admission ({t_dose / 24:g} d, the default --at)"
        raise Il6simError(f"{given}: the drug would be given at {t_dose / 24:g} d, at or after the end of the run "
                          f"({base.duration_h / 24:g} d); dose earlier (--at) or simulate longer (--days)")
    return names, base, t_dose, output_grid(base.duration_h, step_h, dose_times=[t_dose])


def compare_drugs(network: Network, *, scenario: str = "covid_severe", drugs: str | Sequence[str] = "all",
                  at: str | float | None = None, weight: str | float = "70kg", days: str | float | None = None,
                  step_h: float = 1.0, command: str = "") -> CompareTable:
    """Simulate the scenario untreated and with each drug at its standard dose; tabulate readouts.

    Parameters
    ----------
    network : the model (drugs are added to it).
    scenario : scenario name or path.
    drugs : ``"all"`` (every shipped binder), names/paths separated by commas, or a sequence.
    at : dosing time (``"7d"``, ``"admission+4d"``; default: the scenario's admission time, else 0).
    weight : body weight (``"70kg"``); ``days``: simulated time (default: the scenario's).
    step_h : output step, h (dose times are added to the grid as pre/post pairs).
    command : the command line, kept in the provenance.
    """
    names, base, t_dose, t_eval = plan_runs(network, scenario=scenario, drugs=drugs, at=at, weight=weight, days=days,
                                            step_h=step_h)
    sc = base.scenario
    results = {"untreated": base.simulate(t_eval)}
    runs: dict[str, Run] = {}
    for name in names:
        run = build_run(network, scenario=scenario, weight=weight, duration_h=base.duration_h,
                        drug_groups=[{"drug": name, "at": t_dose}])
        label = run.drugs[0].name
        if label in results:
            raise Il6simError(f"--drugs: '{name}' is named twice (or two files share the name '{label}')")
        results[label] = run.simulate(t_eval)
        runs[label] = run
    window = Window(t_dose, base.duration_h)
    ref = results["untreated"]
    rows = [_row(label, res, ref, window, t_dose, _regimen_text(runs[label]) if label in runs else "none")
            for label, res in results.items()]
    provenance = {
        "il6sim_version": __version__,
        "command": command,
        "scenario": sc.name if sc else "",
        "dosing_h": t_dose,
        "window": window.label,
        "window_h": list(window.resolve(base.duration_h)),
        "weight_kg": base.weight_kg,
        "duration_h": base.duration_h,
        "step_h": step_h,
        "drugs": {label: {"file": run.drugs[0].path, "sha256": _sha256(run.drugs[0].path),
                          "target_class": run.drugs[0].target_class,
                          "doses": [{"amount": d.amount, "route": d.route, "at_h": d.at_h, "every_h": d.every_h,
                                     "count": d.count, "infusion_h": d.infusion_h} for d in run.doses],
                          "schedule_h": list(DosingSchedule.of_doses(run.doses).times_h)}
                  for label, run in runs.items()},
        "network_hash": {k: r.provenance.get("network_hash") for k, r in results.items()},
        "solver_options": ref.provenance.get("solver_options"),
        "status": {k: r.provenance.get("status") for k, r in results.items()},
    }
    return CompareTable(tuple(rows), results, t_dose, sc.name if sc else "", window.label, provenance)


def timecourse_table(table: CompareTable) -> Any:
    """The time courses behind the table, long format: ``drug, time_h`` and one column per readout.

    Dose times appear twice (the state just before the dose, then after it). Drug readouts are
    NaN in the untreated run.
    """
    import pandas as pd

    obs = LEVELS + SIGNALS + DRUG_LEVELS
    frames = []
    for label, res in table.results.items():
        cols: dict[str, Any] = {"drug": label, "time_h": res.time_h}
        for o in obs:
            cols[o] = res[o] if o in res.observable_ids else np.full(res.time_h.size, np.nan)
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def write_compare(table: CompareTable, prefix: str, *, figure: Any = None) -> list[str]:
    """Write the table, its time courses, its provenance and (given a figure) a picture, atomically.

    Files: PREFIX.csv (readouts), PREFIX_timecourses.csv, PREFIX.json (provenance) and, given a
    matplotlib ``figure`` (e.g. :func:`il6sim.figures.compare.compare_figure`), PREFIX.png.

    Everything is rendered before anything is written; each file is written atomically.
    """
    cols = table.columns
    lines = [",".join(cols)] + [",".join(str(r[c]) if isinstance(r[c], str) else repr(float(r[c])) for c in cols)
                                for r in table.rows]
    tc = timecourse_table(table)
    files: dict[str, bytes] = {
        prefix + ".csv": ("\n".join(lines) + "\n").encode(),
        prefix + "_timecourses.csv": tc.to_csv(index=False, float_format="%.17g").encode(),
        prefix + ".json": json.dumps(table.provenance, indent=1).encode(),
    }
    if figure is not None:
        buf = io.BytesIO()
        figure.savefig(buf, format="png", dpi=120)
        files[prefix + ".png"] = buf.getvalue()
    for path, data in files.items():
        atomic_write(path, data)
    return list(files)
