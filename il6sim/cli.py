"""The ``il6sim`` command.

User mistakes end with a one-line ``il6sim: error: ...`` on stderr and exit status 2, never a
traceback; output files are written atomically, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np

from .errors import Il6simError, UnitError, UnknownNameError, suggest

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2 (argparse would print usage first)
        self.exit(EXIT_USAGE, f"il6sim: error: {message}\n")


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="il6", help="shipped model name or path to a model file (default: il6)")
    p.add_argument("--genotype", action="append", default=[], metavar="VARIANT=GENOTYPE",
                   help="e.g. rs2228145=AC (repeatable)")
    p.add_argument("--set", action="append", default=[], dest="sets", metavar="PARAM=VALUE",
                   help="override a parameter, e.g. --set k_il6_basal='0.1 nM/h' (bare numbers are in core units)")


class _DrugAction(argparse.Action):
    """``--drug NAME`` starts a dosing group; --dose/--route/--at/--every/--count/--infusion fill it."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        groups = getattr(namespace, "drug_groups", None) or []
        if self.dest == "drug":
            groups.append({"drug": values})
        else:
            if not groups:
                parser.error(f"{option_string} must follow a --drug NAME")
            if self.dest in groups[-1]:
                parser.error(f"{option_string} given twice for --drug {groups[-1]['drug']}")
            groups[-1][self.dest] = values
        namespace.drug_groups = groups


def _add_drug_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("drugs (repeat --drug for several; options apply to the --drug before them)")
    g.add_argument("--drug", action=_DrugAction, metavar="NAME|PATH", help="a shipped drug or a drug file")
    g.add_argument("--dose", action=_DrugAction, metavar="AMOUNT", help="e.g. 8mg/kg, 400mg (default: the drug's standard dose)")
    g.add_argument("--route", action=_DrugAction, metavar="iv|sc", help="route (default: the drug's standard route)")
    g.add_argument("--at", action=_DrugAction, metavar="TIME", help="first dose time (default: 0; e.g. 1d)")
    g.add_argument("--every", action=_DrugAction, metavar="TIME", help="interval between doses (e.g. 14d)")
    g.add_argument("--count", action=_DrugAction, metavar="N", help="doses in all, the first at --at")
    g.add_argument("--infusion", action=_DrugAction, metavar="TIME", help="IV infusion duration (e.g. 1h)")
    p.add_argument("--regimen", help="a regimen file (TOML, [[doses]] tables) for anything longer")
    p.add_argument("--weight", default="70kg", help="body weight for mg/kg doses and PK scaling (default 70 kg)")
    p.set_defaults(drug_groups=[])


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="il6sim", description="Simulate IL-6 signalling and the drugs that block it.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"il6sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("simulate", help="simulate a model (over its steady state) and write observables as CSV")
    _add_model_options(p)
    p.add_argument("--scenario", help="shipped scenario name or path to a scenario file")
    p.add_argument("--days", default=None, help="duration (default: the scenario's, else 28 d); e.g. 28 or '12h'")
    p.add_argument("--step", default="1h", help="output interval (default 1h); bare numbers are hours")
    p.add_argument("--start", choices=("steady", "file"), default="steady",
                   help="start from the model's steady state (default) or from the file's initial values")
    p.add_argument("--species", action="store_true", help="also write every species (nM)")
    p.add_argument("--solver", default="scipy", help="solver backend: scipy (reference) or jit (Rosenbrock in numba)")
    p.add_argument("--method", default=None, help="integration method (scipy: BDF, Radau, LSODA; jit: Rodas5P, Rodas4)")
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=1e-12, help="absolute tolerance in nM")
    p.add_argument("--out", help="CSV file to write (default: stdout)")
    _add_drug_options(p)

    p = sub.add_parser("compare", help="trapping versus blockade: untreated and each drug at its standard dose")
    _add_model_options(p)
    p.add_argument("--scenario", default="covid_severe", help="scenario (default: covid_severe)")
    p.add_argument("--drugs", default="all", help="comma-separated drug names or paths (default: all shipped binders)")
    p.add_argument("--at", default=None, help="dosing time (default: the scenario's admission time)")
    p.add_argument("--weight", default="70kg", help="body weight (default 70 kg)")
    p.add_argument("--days", default=None, help="duration (default: the scenario's)")
    p.add_argument("--out", default="compare", help="output prefix: writes PREFIX.csv and PREFIX.png (default: compare)")
    p.add_argument("--no-figure", action="store_true", help="skip the figure")

    p = sub.add_parser("steady-state", help="print a model's steady state")
    _add_model_options(p)

    p = sub.add_parser("model-card", help="write the model card (diagram, parameter table, assumptions) as Markdown")
    p.add_argument("--model", default="il6")
    p.add_argument("--out", help="Markdown file to write (default: stdout)")

    p = sub.add_parser("export-sbml", help="write a model (with optional drugs) as SBML Level 3 Version 2")
    p.add_argument("--model", default="il6")
    p.add_argument("--drug", action="append", default=[], help="add a drug by name or path (repeatable)")
    p.add_argument("--weight", default="70kg", help="body weight for the drugs' PK (default 70 kg)")
    p.add_argument("--out", required=True, help="SBML file to write")

    p = sub.add_parser("sweep", help="run a parameter sweep file; write chunk-*.npz and manifest.json to a directory")
    p.add_argument("spec", help="sweep file (TOML)")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--resume", action="store_true", help="keep finished chunks of the same sweep; recompute the rest")

    p = sub.add_parser("list", help="list models, scenarios, drugs, parameters, species or observables")
    p.add_argument("what", choices=("models", "scenarios", "drugs", "parameters", "species", "observables", "genotypes"))
    p.add_argument("--model", default="il6")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``il6sim`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler = {"simulate": _cmd_simulate, "steady-state": _cmd_steady, "list": _cmd_list,
                   "model-card": _cmd_model_card, "compare": _cmd_compare,
                   "export-sbml": _cmd_export_sbml, "sweep": _cmd_sweep}[args.command]
        return handler(args)
    except Il6simError as exc:
        print(f"il6sim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("il6sim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


# ---------------------------------------------------------------------------------------------
def _split_assignment(text: str, option: str) -> tuple[str, str]:
    if "=" not in text:
        raise Il6simError(f"{option} '{text}': expected NAME=VALUE")
    name, value = text.split("=", 1)
    name, value = name.strip(), value.strip()
    if not name or not value:
        raise Il6simError(f"{option} '{text}': expected NAME=VALUE")
    return name, value


def _network(args: argparse.Namespace):
    from .scenario import convert_parameter_value
    from .shipped import load_model

    network = load_model(args.model)
    for item in args.genotype:
        variant, genotype = _split_assignment(item, "--genotype")
        network = network.with_genotype(variant, genotype)
    overrides: dict[str, float] = {}
    for item in args.sets:
        name, value = _split_assignment(item, "--set")
        if name not in network.parameter_ids:
            raise UnknownNameError(f"--set: unknown parameter '{name}'{suggest(name, network.parameter_ids)}")
        try:
            overrides[name] = convert_parameter_value(network, name, value)
        except UnitError as exc:
            raise UnitError(f"--set {name}: {exc}") from None
    if overrides:
        network = network.with_parameters(overrides)
    return network


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .regimen import build_run
    from .units import parse_time

    if args.out:
        _check_writable(args.out)
    network = _network(args)
    try:
        days = parse_time(args.days, "d") if args.days is not None else None
        step = parse_time(args.step, "h")
    except UnitError as exc:
        raise UnitError(f"--days/--step: {exc}") from None
    if days is not None and days <= 0:
        raise Il6simError("--days must be positive")
    if step <= 0:
        raise Il6simError("--step must be positive")
    run = build_run(network, scenario=args.scenario, drug_groups=args.drug_groups, regimen=args.regimen,
                    weight=args.weight, duration_h=days)
    duration = run.duration_h
    if duration / step > 1_000_000:
        raise Il6simError(f"--step {args.step} over {duration:g} h gives more than 1,000,000 output rows; use a larger step")
    t_eval = np.arange(0.0, duration + step * 1e-9, step)
    if t_eval[-1] < duration - 1e-9:
        t_eval = np.append(t_eval, duration)
    result = run.simulate(t_eval, start=args.start, solver=args.solver, method=args.method, rtol=args.rtol,
                          atol=args.atol)
    columns = list(result.observable_ids) or list(result.species)
    if args.species and result.observable_ids:
        columns += list(result.species)
    text = result.to_csv(args.out, columns=columns)
    if not args.out:
        sys.stdout.write(text)
    else:
        print(f"wrote {len(t_eval)} rows x {len(columns) + 1} columns to {args.out}", file=sys.stderr)
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare_drugs, write_compare

    prefix = args.out
    _check_writable(prefix + ".csv")
    network = _network(args)
    table = compare_drugs(network, scenario=args.scenario, drugs=args.drugs, at=args.at, weight=args.weight,
                          days=args.days)
    written = write_compare(table, prefix, figure=not args.no_figure)
    print(table.format())
    print("wrote " + ", ".join(written), file=sys.stderr)
    return 0


def _check_writable(path: str) -> None:
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise Il6simError(f"--out {path}: is a directory; give a file name")
    if not parent.is_dir():
        raise Il6simError(f"--out {path}: directory '{parent}' does not exist")
    import os

    if not os.access(parent, os.W_OK):
        raise Il6simError(f"--out {path}: directory '{parent}' is not writable")


def _cmd_steady(args: argparse.Namespace) -> int:
    from .solve import steady_state

    network = _network(args)
    ss = steady_state(network)
    print(f"# steady state of {network.name}: converged={ss.converged} residual={ss.residual:.2e} ({ss.method})")
    for oid, unit in zip(ss.observable_ids, [o.unit for o in network.observables]):
        print(f"{oid:32s} {ss[oid]:14.6g} {unit}")
    for sid in ss.species:
        print(f"{sid:32s} {ss[sid]:14.6g} nM")
    return 0 if ss.converged else 1


def _cmd_model_card(args: argparse.Namespace) -> int:
    from .modelcard import model_card
    from .results import atomic_write
    from .shipped import load_model

    if args.out:
        _check_writable(args.out)
    command = "il6sim model-card" + (f" --model {args.model}" if args.model != "il6" else "") + (
        f" --out {args.out}" if args.out else "")
    text = model_card(load_model(args.model), command=command)
    if args.out:
        atomic_write(args.out, text.encode())
    else:
        sys.stdout.write(text)
    return 0


def _cmd_export_sbml(args: argparse.Namespace) -> int:
    from .drugs import add_drug, load_drug
    from .regimen import parse_weight
    from .sbml import to_sbml
    from .shipped import load_model

    _check_writable(args.out)
    net = load_model(args.model)
    weight = parse_weight(args.weight)
    for name in args.drug:
        net = add_drug(net, load_drug(name), weight_kg=weight)
    to_sbml(net, args.out)
    print(f"wrote {args.out} (dosing protocols are not exported; drugs start at zero)", file=sys.stderr)
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweeps import load_sweep_spec, sweep

    spec = load_sweep_spec(args.spec)  # every spec error is reported here, before any work
    tty = sys.stderr.isatty()
    import time

    start = time.monotonic()

    def progress(done: int, total: int) -> None:
        if tty:  # a bar with an ETA on a terminal, quiet otherwise
            elapsed = time.monotonic() - start
            eta = elapsed / done * (total - done) if done else float("nan")
            bar = "#" * int(30 * done / max(total, 1))
            print(f"\rsweep [{bar:<30s}] {done}/{total} rows, ETA {eta:5.0f} s", end="", file=sys.stderr, flush=True)

    res = sweep(spec, args.out, resume=args.resume, progress=progress)
    failed = int((~res.ok).sum())
    print(f"{chr(10) if tty else ''}wrote {args.out}/manifest.json and {len(res.manifest['chunks'])} chunk file(s): "
          f"{len(res.status)} rows, {failed} failed (failures are recorded per row)", file=sys.stderr)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .shipped import load_model, shipped_names

    if args.what in ("models", "scenarios", "drugs"):
        for name in shipped_names(args.what):
            print(name)
        return 0
    network = load_model(args.model)
    if args.what == "parameters":
        for p in network.parameters:
            print(f"{p.id:28s} {p.value:12.6g} {p.unit:14s} {p.source}")
    elif args.what == "species":
        for s in network.species:
            print(f"{s.id:28s} {s.compartment:10s} {s.initial_nM:12.6g} nM  {s.name}")
    elif args.what == "observables":
        for o in network.observables:
            print(f"{o.id:28s} {o.unit:14s} {o.description}")
    elif args.what == "genotypes":
        for g in network.genotypes:
            print(f"{g.id:14s} {', '.join(g.genotypes)} (reference {g.reference}) {g.description}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
