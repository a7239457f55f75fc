"""The estimation commands of ``il6sim``: ``llh`` and ``fit`` (PEtab problems).

``il6sim llh PROBLEM.yaml [--parameters FILE.tsv]`` prints the log-likelihood (PEtab's sign:
higher is better); its last line is ``llh = <value>``. ``il6sim fit PROBLEM.yaml --out DIR``
writes ``fit.json``, ``parameters.tsv`` (a PEtab parameter table with the fitted values),
``waterfall.png``, ``fit.png`` and, with ``--profile``, ``profiles.csv`` and ``profiles.png``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

from .errors import Il6simError, suggest
from .fileio import atomic_write
from .progress import ProgressBar

__all__ = ["add_parsers", "cmd_calibrate", "cmd_export_petab", "cmd_fit", "cmd_llh", "cmd_validate"]


def add_parsers(sub: Any) -> None:
    """Add the ``llh`` and ``fit`` sub-commands to an argparse sub-parser set."""
    p = sub.add_parser("llh", help="log-likelihood of a PEtab problem (nominal values or a parameter table)")
    p.add_argument("problem", help="PEtab problem YAML (SBML or il6sim TOML model)")
    p.add_argument("--parameters", help="a PEtab parameter table whose nominalValue column gives the values")
    p.add_argument("--rtol", type=float, default=1e-10, help="integrator relative tolerance (default 1e-10)")

    p = sub.add_parser("fit", help="multistart fit of a PEtab problem; optional profile likelihoods")
    p.add_argument("problem", help="PEtab problem YAML")
    p.add_argument("--out", required=True, help="output directory (created; files written atomically)")
    p.add_argument("--starts", type=int, default=20, help="random starts (default 20)")
    p.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    p.add_argument("--profile", action="store_true", help="also compute profile likelihoods and 95 %% intervals")
    p.add_argument("--threads", type=int, default=None, help="starts in parallel (default: CPU count)")
    p.add_argument("--derivatives", choices=("central", "forward"), default="central",
                   help="batched finite differences (default central)")
    p.add_argument("--optimizer", choices=("scipy", "fides"), default="scipy",
                   help="local optimiser: scipy least_squares (default) or fides (pip install fides)")
    p.add_argument("--scheduler", help="address of a Dask scheduler: starts run as tasks on its workers")

    p = sub.add_parser("calibrate", help="refit the shipped model to models/calibration (joint problem); "
                       "compare with the shipped values")
    p.add_argument("--starts", type=int, default=8, help="random starts (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the starts (default 0)")
    p.add_argument("--uncertainty", choices=("laplace", "profile", "none"), default="laplace",
                   help="intervals and ensemble: linearised at the fit (default, seconds), profile likelihoods "
                        "(about 20 min on 2 cores) or none")
    p.add_argument("--threads", type=int, default=None, help="starts and profiles in parallel (default: CPU count)")
    p.add_argument("--out", help="also write the fit's files here (as `il6sim fit --out` does)")
    p.add_argument("--write", action="store_true",
                   help="write fitted.tsv and ensemble.tsv into models/calibration/joint (for maintainers)")

    p = sub.add_parser("validate", help="predict the frozen validation set (models/validation) with the shipped model")
    p.add_argument("--out", required=True, help="Markdown report to write (e.g. docs/validation.md)")
    p.add_argument("--figure", help="PNG figure to write (e.g. docs/figures/validation.png)")
    p.add_argument("--best-only", action="store_true", help="only the best fit, no band (fast)")

    p = sub.add_parser("export-petab", help="write a PEtab problem with the model as SBML (for pyPESTO, AMICI, ...)")
    p.add_argument("problem", help="PEtab problem YAML (il6sim TOML model or SBML)")
    p.add_argument("--out", required=True, help="output directory")


def _values_from_table(path: str, problem: Any) -> dict[str, float]:
    from .estimate.tables import number, read_table

    t = read_table(path, required=("parameterId", "nominalValue"))
    out = {}
    ids = problem.parameter_ids
    for i, r in enumerate(t.rows):
        pid = r["parameterId"]
        if pid not in ids:
            raise Il6simError(f"{t.where(i, 'parameterId')}: '{pid}' is not in the problem's parameter table"
                              f"{suggest(pid, ids)}")
        out[pid] = number(r["nominalValue"], t.where(i, "nominalValue"))
    return out


def cmd_llh(args: argparse.Namespace) -> int:
    """``il6sim llh``: print the log-likelihood; the last line is ``llh = <value>``."""
    from .estimate import load_problem

    problem = load_problem(args.problem)
    values = _values_from_table(args.parameters, problem) if args.parameters else None
    llh = problem.log_likelihood(values, rtol=args.rtol)
    n = len(problem.measurements.observable)
    print(f"# {problem.path}: {n} measurements, {len(problem.experiments)} experiment(s), "
          f"{len(problem.free_ids)} estimated parameters; {'given' if values else 'nominal'} values")
    print(f"llh = {llh!r}")
    return 0 if math.isfinite(llh) else 1


def _parameter_table(problem: Any, values: dict[str, float]) -> bytes:
    rows = ["\t".join(["parameterId", "parameterScale", "lowerBound", "upperBound", "nominalValue", "estimate"])]
    for p in problem.parameters:
        rows.append("\t".join([p.id, p.scale, repr(p.lower), repr(p.upper), repr(values[p.id]),
                               "1" if p.estimate else "0"]))
    return ("\n".join(rows) + "\n").encode()


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def cmd_fit(args: argparse.Namespace) -> int:
    """``il6sim fit``: multistart fit (and profiles) of a PEtab problem, written to ``--out``."""
    from .estimate import fit, load_problem
    from .figures.fit import data_figure, profiles_figure, waterfall_figure

    if args.starts < 1:
        raise Il6simError(f"--starts {args.starts}: give at least 1")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise Il6simError(f"--out {out}: is a file; give a directory")
    problem = load_problem(args.problem)  # every problem error here, before any work or directory
    client = None
    if args.scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise Il6simError("--scheduler needs dask[distributed]: pip install -e '.[dist]'") from None
        client = Client(args.scheduler)
    bar = ProgressBar("fit")
    if args.optimizer == "fides":
        try:
            import fides  # noqa: F401
        except ImportError:
            raise Il6simError("--optimizer fides needs the fides package: pip install fides") from None
    res = fit(problem, args.starts, args.seed, threads=args.threads, derivatives=args.derivatives,
              optimizer=args.optimizer,
              progress=lambda d, t: bar(d, t, f"{d}/{t} starts,"), client=client)
    bar.close()
    files: dict[str, bytes] = {}
    summary = res.as_dict()
    summary["command"] = " ".join(["il6sim", *getattr(args, "argv", [])]) or "il6sim fit"
    files["parameters.tsv"] = _parameter_table(problem, res.parameters)
    name = Path(problem.path).stem if Path(problem.path).stem != "problem" else Path(problem.path).parent.name
    files["waterfall.png"] = _png(waterfall_figure(res.waterfall(), title=name))
    files["fit.png"] = _png(data_figure(problem.simulate(res.parameters), title=f"{name}: llh {res.best_llh:.4f}"))
    if args.profile:
        pbar = ProgressBar("profiles")
        prof = res.profile(threads=args.threads, progress=lambda d, t: pbar(d, t, f"{d}/{t} sides,"))
        pbar.close()
        files["profiles.csv"] = prof.table().to_csv(index=False).encode()
        files["profile_intervals.csv"] = prof.intervals().to_csv(index=False).encode()
        files["profiles.png"] = _png(profiles_figure(prof.table(), prof.intervals(), threshold=prof.threshold))
        summary["profiles"] = json.loads(prof.intervals().to_json(orient="records"))
    files["fit.json"] = json.dumps(summary, indent=1, default=float).encode()
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        atomic_write(out / name, data)
    ok = sum(1 for s in res.starts if s.status != "failed")
    print(f"best llh = {res.best_llh!r} ({res.n_at_best()} of {len(res.starts)} starts within 0.1; {ok} did not fail; "
          f"{res.wall_time_s:.1f} s)")
    print(f"wrote {', '.join(str(out / n) for n in files)}", file=sys.stderr)
    return 0


def cmd_export_petab(args: argparse.Namespace) -> int:
    """``il6sim export-petab``: the problem with its model as SBML, for other PEtab tools."""
    from .estimate.export import export_petab

    target = export_petab(args.problem, args.out)
    print(f"wrote {target} and its tables and model", file=sys.stderr)
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """``il6sim calibrate``: refit the joint problem; table of fitted, interval and shipped values.

    The last line is ``max shipped/fitted difference = <value>``; the exit status is 1 when a shipped
    value is more than 1 % from the refit.
    """
    from .calibration import DISTINCT, calibrate, joint_problem_path
    from .shipped import models_dir

    if args.starts < 1:
        raise Il6simError(f"--starts {args.starts}: give at least 1")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise Il6simError(f"--out {out}: is a file; give a directory")
    bar = ProgressBar("calibrate")
    cal = calibrate(starts=args.starts, seed=args.seed, uncertainty=args.uncertainty, threads=args.threads,
                    progress=lambda d, t: bar(d, t, f"{d}/{t} starts,"))
    bar.close()
    table = cal.table()
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_colwidth", 40):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"# {joint_problem_path()}: best llh {cal.fit.best_llh!r}, {cal.fit.n_at_best()} of {len(cal.fit.starts)} "
          "starts within 0.1")
    best = cal.fit.parameters
    for o in cal.optima:  # the confidence set has more than one piece: say where the others are
        moved = ", ".join(f"{k} {v:.4g} (best {best[k]:.4g})" for k, v in o.values.items()
                          if k in table["parameter"].values and abs(math.log10(v / best[k])) > DISTINCT)
        print(f"# another optimum inside the 95 % threshold: llh {o.llh:.3f} ({cal.fit.best_llh - o.llh:.2f} below the "
              f"best, {o.n_starts} of {len(cal.fit.starts)} starts): {moved}; it joins the ensemble")
    files: dict[str, bytes] = {}
    if out is not None:
        files["parameters.tsv"] = _parameter_table(cal.fit.problem, cal.fit.parameters)
        files["fit.json"] = json.dumps(cal.fit.as_dict(), indent=1, default=float).encode()
        if cal.profile is not None:
            files["profile_intervals.csv"] = cal.profile.intervals().to_csv(index=False).encode()
        for name, data in files.items():
            out.mkdir(parents=True, exist_ok=True)
            atomic_write(out / name, data)
    if args.write:
        folder = models_dir() / "calibration" / "joint"
        atomic_write(folder / "fitted.tsv", table.to_csv(sep="\t", index=False).encode())
        rows = cal.ensemble_rows()
        keys = list(rows[0])
        text = "\t".join(["set", *keys]) + "\n" + "".join(
            "\t".join([str(i), *(repr(r[k]) for k in keys)]) + "\n" for i, r in enumerate(rows))
        atomic_write(folder / "ensemble.tsv", text.encode())
        print(f"wrote {folder / 'fitted.tsv'} and {folder / 'ensemble.tsv'} ({len(rows)} parameter sets)",
              file=sys.stderr)
    diff = cal.max_shipped_difference()
    print(f"max shipped/fitted difference = {diff:.3g}")
    return 0 if diff <= 0.01 else 1


def cmd_validate(args: argparse.Namespace) -> int:
    """``il6sim validate``: the validation report (and figure); the last line gives the counts."""
    from .calibration import ensemble
    from .validation import band_sets, predict_all, summary, to_markdown

    sets = band_sets(ensemble())
    if args.best_only:
        sets = sets[:1]
    bar = ProgressBar("validate")
    bar(0, 1, "predicting,")
    preds = predict_all(parameter_sets=sets)
    bar(1, 1, "done,")
    bar.close()
    command = " ".join(["il6sim", *getattr(args, "argv", [])]) or "il6sim validate"
    atomic_write(Path(args.out), to_markdown(preds, n_sets=len(sets), command=command).encode())
    if args.figure:
        from .figures.calibration import plot_validation
        from .validation import predictions_table

        atomic_write(Path(args.figure), _png(plot_validation(predictions_table(preds))))
    s = summary(preds)
    print(f"wrote {args.out}" + (f" and {args.figure}" if args.figure else ""), file=sys.stderr)
    print(f"rows = {s['rows']}, predicted = {s['predicted']}, agree = {s['consistent']}, miss = {s['missed']}")
    return 0
