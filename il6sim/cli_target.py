"""The population commands: ``il6sim target`` (the regimen finder of :mod:`il6sim.target`) and
``il6sim stratify`` (who benefits, :mod:`il6sim.stratify`).

With ``--every`` ``target`` finds the smallest dose, with ``--dose`` the longest interval; the last
line printed is the answer (``dose = <value> <unit>`` or ``every = <value> d``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .errors import Il6simError
from .fileio import atomic_write, check_writable
from .progress import ProgressBar

__all__ = ["add_parser", "cmd_stratify", "cmd_target"]


def add_parser(sub: Any) -> None:
    """Add ``target`` to the subcommands of the ``il6sim`` parser."""
    p = sub.add_parser("target", help="regimen finder: the smallest dose (or longest interval) that meets a "
                                      "target at steady state, for the typical patient or a population fraction")
    p.add_argument("--model", default="il6", help="shipped model name or path to a model file (default: il6)")
    p.add_argument("--drug", required=True, metavar="NAME|PATH", help="a shipped drug or a drug file")
    p.add_argument("--route", choices=("iv", "sc"), default=None, help="route (default: the drug's standard route)")
    p.add_argument("--infusion", default=None, metavar="TIME", help="IV infusion duration (e.g. 1h)")
    p.add_argument("--every", default=None, metavar="TIME",
                   help="dosing interval, e.g. 14d: find the smallest DOSE given this often")
    p.add_argument("--dose", default=None, metavar="AMOUNT",
                   help="dose, e.g. 200mg: find the longest INTERVAL at which it meets the target")
    p.add_argument("--metric", required=True, metavar="KIND:OBSERVABLE",
                   help="steady-state readout over the last dosing interval: trough, peak, mean or auc of an "
                        "observable, e.g. trough:sil6r_occupancy")
    bound = p.add_mutually_exclusive_group(required=True)
    bound.add_argument("--at-least", type=float, default=None, metavar="X", help="the readout must be >= X")
    bound.add_argument("--at-most", type=float, default=None, metavar="X", help="the readout must be <= X")
    p.add_argument("--scenario", default=None,
                   help="disease scenario (default: the population file's, else ra); 'none' for health")
    p.add_argument("--population", default=None, metavar="FILE",
                   help="a virtual population: a sweep file whose [[factors]] draw patients, or a shipped "
                        "one by name (e.g. population_ra_sarilumab)")
    p.add_argument("--fraction", type=float, default=None,
                   help="fraction of the population that must meet the target (default 0.9; needs --population)")
    p.add_argument("--patients", type=int, default=None, help="patients to draw (default: the population file's rows)")
    p.add_argument("--range", default=None, dest="search_range", metavar="LOW..HIGH",
                   help="where to search: doses in --unit (default: the standard dose /30 to x10, else 1..2000 mg) "
                        "or intervals in days (default 1..182)")
    p.add_argument("--unit", default=None, choices=("mg", "mg/kg"),
                   help="dose unit of the search (default: that of the drug's standard dose for the route)")
    p.add_argument("--weight", default="70kg", help="body weight for mg/kg doses and PK scaling (default 70 kg)")
    p.add_argument("--rtol", type=float, default=0.01, help="relative width of the final bracket (default 0.01)")
    p.add_argument("--step", default="6h", help="output interval of the runs (default 6h)")
    p.add_argument("--out", default=None, help="also write the regimens tried as CSV (written atomically)")

    p = sub.add_parser("stratify", help="who benefits in a finished population sweep: the fraction and the baseline "
                                        "features that predict it (decision tree; needs il6sim[stratify])")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", help="folder of a finished sweep (il6sim sweep ... --out DIR)")
    p.add_argument("--outcome", action="append", required=True, metavar="METRIC:OBSERVABLE>=X",
                   help="a condition for benefit, e.g. 'inhibition:tissue_damage>=20' (repeat: all must hold)")
    p.add_argument("--max-depth", type=int, default=3, help="depth of the decision tree (default 3)")
    p.add_argument("--min-leaf", type=float, default=0.05, help="smallest leaf, fraction of patients (default 0.05)")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="writes DIR/patients.csv, by_level.csv, importance.csv, summary.txt and stratify.png")


def cmd_target(args: argparse.Namespace) -> int:
    """Run ``il6sim target``; prints the report, whose last line is the answer."""
    from .target import find_dose, find_interval, parse_target

    if (args.every is None) == (args.dose is None):
        raise Il6simError("give --every (to find the smallest dose) or --dose (to find the longest interval), "
                          "not both and not neither")
    if args.out:
        check_writable(args.out)
    target = parse_target(args.metric, at_least=args.at_least, at_most=args.at_most)
    scenario = None if args.scenario is None else ("" if args.scenario == "none" else args.scenario)
    bar = ProgressBar("target")

    def progress(done: int, total: int) -> None:
        bar(done, total, f"{done}/{total} runs,")

    common: dict[str, Any] = {"route": args.route, "infusion": args.infusion, "scenario": scenario,
                              "model": args.model, "weight": args.weight, "population": args.population,
                              "fraction": args.fraction, "patients": args.patients, "rtol": args.rtol,
                              "step": args.step, "progress": progress if args.population else None}
    if args.every is not None:
        res = find_dose(target, args.drug, every=args.every, unit=args.unit, dose_range=args.search_range, **common)
    else:
        if args.unit is not None:
            raise Il6simError("--unit applies to a dose search (--every); the interval search is in days")
        res = find_interval(target, args.drug, dose=args.dose, every_range=args.search_range, **common)
    bar.close()
    if args.out:
        import pandas as pd

        atomic_write(args.out, pd.DataFrame(list(res.table)).to_csv(index=False, float_format="%.10g").encode())
        print(f"wrote {args.out}", file=sys.stderr)
    print(res.format())
    return 0


def cmd_stratify(args: argparse.Namespace) -> int:
    """Run ``il6sim stratify``; prints the report and writes its tables and figure."""
    from pathlib import Path

    from .figures.stratify import plot_stratification
    from .stratify import stratify

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise Il6simError(f"--out {out}: is not a directory")
    if not Path(args.sweep_dir).is_dir():
        raise Il6simError(f"{args.sweep_dir}: no such sweep folder (run il6sim sweep FILE --out DIR first)")
    res = stratify(args.sweep_dir, args.outcome, max_depth=args.max_depth, min_leaf=args.min_leaf)
    report = res.format()
    title = f"who benefits ({res.fraction:.0%} of {res.n}): " + " and ".join(c.label for c in res.conditions)
    fig = plot_stratification(res.by_level, res.importance, res.rules, title)
    out.mkdir(parents=True, exist_ok=True)
    for name, table in (("patients", res.patients), ("by_level", res.by_level), ("importance", res.importance)):
        atomic_write(str(out / f"{name}.csv"), table.to_csv(index=False, float_format="%.10g").encode())
    atomic_write(str(out / "summary.txt"), (report + "\n").encode())
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write(str(out / "stratify.png"), buf.getvalue())
    print(report)
    print(f"wrote {out}/patients.csv, by_level.csv, importance.csv, summary.txt, stratify.png", file=sys.stderr)
    return 0
