"""The ``il6sim`` command.

User mistakes end with a one-line ``il6sim: error: ...`` on stderr and exit status 2, never a
traceback; output files are written atomically, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import Il6simError, UnitError, UnknownNameError, suggest

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage first)
        self.exit(EXIT_USAGE, f"il6sim: error: {message}\n")


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="il6", help="shipped model name or path to a model file (default: il6)")
    p.add_argument("--genotype", action="append", default=[], metavar="VARIANT=GENOTYPE",
                   help="e.g. rs2228145=AC (repeatable)")
    p.add_argument("--set", action="append", default=[], dest="sets", metavar="PARAM=VALUE",
                   help="override a parameter, e.g. --set k_il6_basal='0.1 nM/h' (bare numbers are in core units)")


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
    p.add_argument("--method", default="BDF", help="integration method (BDF, Radau, LSODA)")
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=1e-12, help="absolute tolerance in nM")
    p.add_argument("--out", help="CSV file to write (default: stdout)")

    p = sub.add_parser("steady-state", help="print a model's steady state")
    _add_model_options(p)

    p = sub.add_parser("model-card", help="write the model card (diagram, parameter table, assumptions) as Markdown")
    p.add_argument("--model", default="il6")
    p.add_argument("--out", help="Markdown file to write (default: stdout)")

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
                   "model-card": _cmd_model_card}[args.command]
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
    from .protocol import Protocol
    from .scenario import load_scenario
    from .solve import simulate, steady_state
    from .units import parse_time

    if args.out:
        _check_writable(args.out)
    network = _network(args)
    scenario = load_scenario(args.scenario, network) if args.scenario else None
    try:
        duration = parse_time(args.days, "d") if args.days is not None else (
            scenario.duration_h if scenario else 28 * 24.0)
        step = parse_time(args.step, "h")
    except UnitError as exc:
        raise UnitError(f"--days/--step: {exc}") from None
    if duration <= 0:
        raise Il6simError("--days must be positive")
    if step <= 0:
        raise Il6simError("--step must be positive")
    if duration / step > 1_000_000:
        raise Il6simError(f"--step {args.step} over {duration:g} h gives more than 1,000,000 output rows; use a larger step")
    t_eval = np.arange(0.0, duration + step * 1e-9, step)
    if t_eval[-1] < duration - 1e-9:
        t_eval = np.append(t_eval, duration)
    initial = None
    if args.start == "steady":
        ss = steady_state(network)
        if not ss.converged:
            raise Il6simError(f"model '{network.name}' has no steady state to start from (residual {ss.residual:.1e}); use --start file")
        initial = ss
    result = simulate(
        network, t_eval,
        parameters=dict(scenario.parameters) if scenario else None,
        protocol=scenario.protocol if scenario else Protocol(),
        initial=initial, method=args.method, rtol=args.rtol, atol=args.atol,
        events_beyond_end="ignore",
    )
    columns = list(result.observable_ids) or list(result.species)
    if args.species and result.observable_ids:
        columns += list(result.species)
    text = result.to_csv(args.out, columns=columns)
    if not args.out:
        sys.stdout.write(text)
    else:
        print(f"wrote {len(t_eval)} rows x {len(columns) + 1} columns to {args.out}", file=sys.stderr)
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
