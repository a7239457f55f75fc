"""The ``il6sim`` command.

User mistakes end with a one-line ``il6sim: error: ...`` on stderr and exit status 2, never a
traceback; output files are written atomically, so a failed run leaves nothing half-written.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import numpy as np

from .errors import Il6simError, SolverError, UnitError, UnknownNameError, suggest
from .fileio import atomic_write, check_writable
from .progress import ProgressBar

EXIT_USAGE = 2
EXIT_INTERNAL = 70  # EX_SOFTWARE: an unexpected exception, i.e. a bug


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
    g.add_argument("--at", action=_DrugAction, metavar="TIME", help="first dose time (default: 0; e.g. 1d, admission, admission+4d)")
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
    p.add_argument("--bands", metavar="FILE", help="also write FILE: observable, time_h, p05, p50, p95 over the "
                   "calibration's parameter sets and unmeasured drug constants (shipped model)")
    p.add_argument("--solver", default=None, help="solver backend: jit (default; Rosenbrock in numba) or scipy (reference)")
    p.add_argument("--method", default=None, help="integration method (scipy: BDF, Radau, LSODA; jit: Rodas5P, Rodas4)")
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=1e-12, help="absolute tolerance in nM")
    p.add_argument("--out", help="CSV file to write (default: stdout)")
    _add_drug_options(p)

    p = sub.add_parser("compare", help="trapping versus blockade: untreated and each drug at its standard dose")
    _add_model_options(p)
    p.add_argument("--scenario", default="covid_severe", help="scenario (default: covid_severe)")
    p.add_argument("--drugs", default="all", help="comma-separated drug names or paths (default: all shipped binders)")
    p.add_argument("--at", default=None, help="dosing time (default: the scenario's admission time; e.g. 7d or admission+4d)")
    p.add_argument("--weight", default="70kg", help="body weight (default 70 kg)")
    p.add_argument("--days", default=None, help="duration (default: the scenario's)")
    p.add_argument("--out", default="compare", help="output prefix: writes PREFIX.csv and PREFIX.png (default: compare)")
    p.add_argument("--no-figure", action="store_true", help="skip the figure")
    p.add_argument("--bands", action="store_true",
                   help="also PREFIX_bands.csv (drug, observable, time_h, p05, p50, p95) over the calibration's "
                        "parameter sets and unmeasured drug constants, drawn as bands in the figure")

    p = sub.add_parser("steady-state", help="print a model's steady state")
    _add_model_options(p)

    p = sub.add_parser("model-card", help="write the model card (diagram, parameter table, assumptions) as Markdown")
    p.add_argument("--model", default="il6")
    p.add_argument("--out", help="Markdown file to write (default: stdout)")

    p = sub.add_parser("export-sbml", help="write a model with its drugs, scenario and regimen as SBML Level 3 Version 2 "
                                           "(doses as events), runnable unchanged in other SBML tools")
    _add_model_options(p)
    p.add_argument("--scenario", help="shipped scenario name or path to a scenario file (its parameters and driver)")
    p.add_argument("--start", choices=("steady", "file"), default="steady",
                   help="initial values: the steady state `simulate` starts from (default) or the model file's")
    p.add_argument("--out", required=True, help="SBML file to write")
    _add_drug_options(p)

    p = sub.add_parser("sweep", help="run a parameter sweep file; write chunk-*.npz and manifest.json to a directory")
    p.add_argument("spec", help="sweep file (TOML)")
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--resume", action="store_true", help="keep finished chunks of the same sweep; recompute the rest")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the chunks on a Dask cluster (e.g. tcp://host:8786; needs il6sim[dist])")
    p.add_argument("--netcdf", action="store_true",
                   help="also write DIR/sweep.nc (metrics, labels, time courses; xarray.open_dataset reads it)")

    from .cli_estimate import add_parsers
    from .cli_target import add_parser as add_target_parser

    add_parsers(sub)
    add_target_parser(sub)

    p = sub.add_parser("sensitivity", help="Sobol' indices (S1, ST, bootstrap CIs) of a sweep metric over its factors")
    p.add_argument("spec", help="sweep file (TOML): its [[factors]] are the input distributions")
    p.add_argument("--metric", required=True, help="metric:observable, e.g. inhibition:trans_signal "
                                                   "(a bare metric if the sweep has one observable)")
    p.add_argument("--n", type=int, default=256, dest="n_base",
                   help="base sample size N, a power of two >= 8 (the model runs N*(factors+2) times; default 256)")
    p.add_argument("--seed", type=int, default=None, help="seed of the design and the bootstrap (default: the spec's)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--confidence", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--drop-failed", action="store_true",
                   help="drop Saltelli blocks with a failed row instead of stopping (biased if failures cluster)")
    p.add_argument("--out", help="CSV file for the indices table (written atomically)")

    p = sub.add_parser("figures", help="regenerate the figure gallery (each figure with its data CSV and metadata)")
    p.add_argument("--out", default="figures", help="output directory (created if missing; default: figures)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="only these figures (names or letters a-p; repeatable or comma-separated)")
    p.add_argument("--format", default="png", dest="formats", help="image formats, comma-separated: png,svg,pdf")
    p.add_argument("--dpi", type=int, default=110, help="raster resolution (default 110)")
    p.add_argument("--force", action="store_true", help="recompute figures even when their inputs did not change")

    p = sub.add_parser("list", help="list models, scenarios, drugs, parameters, species or observables")
    p.add_argument("what", choices=("models", "scenarios", "drugs", "parameters", "species", "observables", "genotypes"))
    p.add_argument("--model", default="il6")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``il6sim`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.command_line = " ".join(["il6sim", *args.argv])  # for provenance
    import warnings

    from .cli_estimate import cmd_calibrate, cmd_export_petab, cmd_fit, cmd_llh, cmd_validate
    from .cli_target import cmd_stratify, cmd_target

    try:
        handler = {"simulate": _cmd_simulate, "steady-state": _cmd_steady, "list": _cmd_list,
                   "model-card": _cmd_model_card, "compare": _cmd_compare,
                   "export-sbml": _cmd_export_sbml, "sweep": _cmd_sweep,
                   "sensitivity": _cmd_sensitivity, "figures": _cmd_figures, "llh": cmd_llh,
                   "fit": cmd_fit, "export-petab": cmd_export_petab, "calibrate": cmd_calibrate,
                   "validate": cmd_validate, "target": cmd_target,
                   "stratify": cmd_stratify}[args.command]
        # numpy/scipy numeric warnings (overflow, invalid value) would print several lines each; hold
        # them, and show them (one line each) only if the command succeeds: a failure is reported by
        # its one-line error alone. Other categories keep the caller's filters.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            status = handler(args)
        for text in dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught):
            print(f"il6sim: warning: {_one_line(text)}", file=sys.stderr)
        return status
    except Il6simError as exc:
        print(f"il6sim: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("il6sim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (RecursionError, MemoryError) as exc:  # pathological input that slipped past the loaders' limits
        print(f"il6sim: error: input too large or too deeply nested ({type(exc).__name__}); "
              "simplify the file or the options", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug in il6sim: one line, not a traceback, unless asked for
        import os

        if os.environ.get("IL6SIM_DEBUG"):
            raise
        print(f"il6sim: internal error: {type(exc).__name__}: {_one_line(str(exc))} (a bug in il6sim; please "
              "report it with the command; IL6SIM_DEBUG=1 shows the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def _one_line(text: str) -> str:
    """Messages quote user text, which may hold newlines or control characters: keep them on one line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


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
    from .shipped import load_network

    network = load_network(args.model)
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
        except UnitError as exc:  # name the option; the parameter too, unless the message starts with it
            raise UnitError(f"--set: {exc}" if str(exc).startswith(f"{name} ") else f"--set {name}: {exc}") from None
    if overrides:
        network = network.with_parameters(overrides)
    return network


def _cmd_simulate(args: argparse.Namespace) -> int:
    from .regimen import build_run
    from .units import parse_time

    if args.out:
        check_writable(args.out)
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
    if not (np.isfinite(args.rtol) and 0 < args.rtol < 1):
        raise Il6simError(f"--rtol {args.rtol:g}: must be between 0 and 1 (exclusive), e.g. --rtol 1e-8")
    if not (np.isfinite(args.atol) and args.atol > 0):
        raise Il6simError(f"--atol {args.atol:g}: must be a positive number of nM, e.g. --atol 1e-12")
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
    message = str(result.provenance.get("message", ""))
    if "negative" in message:  # the solve succeeded but left tolerance: say so, keep the output
        print(f"il6sim: warning: {message}", file=sys.stderr)
    columns = list(result.observable_ids) or list(result.species)
    if args.species and result.observable_ids:
        columns += list(result.species)
    bands = None
    if args.bands:
        from .bands import run_bands

        check_writable(args.bands)
        bands = run_bands(network, t_eval, scenario=args.scenario, drug_groups=args.drug_groups,
                          regimen=args.regimen, weight=args.weight, duration_h=days,
                          observables=list(result.observable_ids))
    text = result.to_csv(args.out, columns=columns)
    if not args.out:
        sys.stdout.write(text)
    else:
        print(f"wrote {len(t_eval)} rows x {len(columns) + 1} columns to {args.out}", file=sys.stderr)
    if bands is not None:
        atomic_write(args.bands, bands.to_csv(index=False, float_format="%.10g").encode())
        print(f"wrote the bands ({int(bands['n_sets'].iloc[0])} parameter sets) to {args.bands}", file=sys.stderr)
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare_drugs, write_compare

    prefix = args.out
    check_writable(prefix + ".csv")
    network = _network(args)
    table = compare_drugs(network, scenario=args.scenario, drugs=args.drugs, at=args.at, weight=args.weight,
                          days=args.days, command=args.command_line)
    bands = None
    if args.bands:
        from .bands import compare_bands

        bands = compare_bands(network, scenario=args.scenario, drugs=args.drugs, at=args.at, weight=args.weight,
                              days=args.days)
    fig = None
    if not args.no_figure:
        from .compare import timecourse_table
        from .figures.compare import compare_figure

        fig = compare_figure(timecourse_table(table), dosing_h=table.dosing_h, scenario=table.scenario, bands=bands)
    written = write_compare(table, prefix, figure=fig)
    if bands is not None:
        atomic_write(prefix + "_bands.csv", bands.to_csv(index=False, float_format="%.10g").encode())
        written.append(prefix + "_bands.csv")
    print(table.format())
    print("wrote " + ", ".join(written), file=sys.stderr)
    return 0


def _cmd_steady(args: argparse.Namespace) -> int:
    from .solve import steady_state

    network = _network(args)
    try:
        ss = steady_state(network)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        if isinstance(exc, Il6simError):
            raise
        raise SolverError(f"the steady state failed on non-finite numbers ({exc}); check extreme parameter "
                          "values (--set) and the model file") from None
    if not np.isfinite(ss.residual):
        raise SolverError(f"the steady state failed on non-finite numbers (residual {ss.residual}); check extreme "
                          "parameter values (--set) and the model file")
    print(f"# steady state of {network.name}: converged={ss.converged} residual={ss.residual:.2e} ({ss.method})")
    for oid, unit in zip(ss.observable_ids, [o.unit for o in network.observables]):
        print(f"{oid:32s} {ss[oid]:14.6g} {unit}")
    for sid in ss.species:
        print(f"{sid:32s} {ss[sid]:14.6g} nM")
    return 0 if ss.converged else 1


def _cmd_model_card(args: argparse.Namespace) -> int:
    from .modelcard import model_card
    from .shipped import load_network

    if args.out:
        check_writable(args.out)
    command = "il6sim model-card" + (f" --model {args.model}" if args.model != "il6" else "") + (
        f" --out {args.out}" if args.out else "")
    text = model_card(load_network(args.model), command=command)
    if args.out:
        atomic_write(args.out, text.encode())
    else:
        sys.stdout.write(text)
    return 0


def _cmd_export_sbml(args: argparse.Namespace) -> int:
    from .regimen import build_run
    from .sbml_export import to_sbml
    from .solve import steady_state

    check_writable(args.out)
    network = _network(args)
    run = build_run(network, scenario=args.scenario, drug_groups=args.drug_groups, regimen=args.regimen,
                    weight=args.weight, duration_h=math.inf)  # a file has no end: every dose is written
    net = run.network
    if args.start == "steady":  # as `simulate` starts: the steady state before the scenario's parameters
        ss = steady_state(net)
        if not ss.converged:
            raise SolverError(f"model '{net.name}' has no steady state to start from (residual {ss.residual:.1e}); "
                              "use --start file")
        net = net.with_initial(ss.as_dict())
    if run.parameters:
        net = net.with_parameters(dict(run.parameters))
    to_sbml(net, args.out, protocol=run.protocol)
    print(f"wrote {args.out}: {len(net.species)} species, {len(net.reactions)} reactions, "
          f"{len(run.protocol.events)} doses/infusions/parameter changes as events", file=sys.stderr)
    return 0




def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweeps import check_disk, load_sweep_spec, sweep

    spec = load_sweep_spec(args.spec)  # every spec error is reported here, before any work
    check_disk(spec, args.out)  # "too many runs for the disk", before any directory is made
    if args.netcdf:
        try:
            import xarray  # noqa: F401
        except ImportError:
            raise Il6simError("--netcdf needs xarray: pip install 'il6sim[dist]'") from None
    bar = ProgressBar("sweep")

    def progress(done: int, total: int) -> None:
        bar(done, total, f"{done}/{total} rows,")

    client = None
    if args.scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise Il6simError("--scheduler needs dask.distributed: pip install 'il6sim[dist]'") from None
        try:
            client = Client(args.scheduler, timeout=10)
        except (OSError, TimeoutError, ValueError) as exc:
            raise Il6simError(f"--scheduler {args.scheduler}: cannot connect ({exc})") from None
    try:
        res = sweep(spec, args.out, resume=args.resume, progress=progress, client=client)
    finally:
        if client is not None:
            client.close()
    bar.close()
    failed = int((~res.ok).sum())
    if args.netcdf:
        res.to_netcdf(Path(args.out) / "sweep.nc", timecourses=bool(spec.timecourses))
    print(f"wrote {args.out}/manifest.json and {len(res.manifest['chunks'])} chunk file(s): "
          f"{len(res.status)} rows, {failed} failed (failures are recorded per row)", file=sys.stderr)
    return 0


def _cmd_sensitivity(args: argparse.Namespace) -> int:

    from .sensitivity import check_n_base, sobol_sensitivity
    from .sweeps import load_sweep_spec

    if args.out:
        check_writable(args.out)
    try:
        check_n_base(args.n_base)
    except Il6simError as exc:
        raise Il6simError(f"--n {args.n_base}: {exc}") from None
    spec = load_sweep_spec(args.spec)  # spec and metric errors are reported here, before any work
    bar = ProgressBar("sensitivity")

    def progress(done: int, total: int) -> None:
        bar(done, total, f"{done}/{total} runs,")

    res = sobol_sensitivity(spec, args.metric, args.n_base, args.seed, n_bootstrap=args.bootstrap,
                            confidence=args.confidence, on_failure="drop" if args.drop_failed else "raise",
                            progress=progress)
    bar.close()
    print(res.format())
    if args.out:
        atomic_write(args.out, res.to_dataframe().to_csv(index=False).encode())
        print(f"wrote {args.out} ({len(res.factor_names)} factors, {res.n_evaluations} model runs, "
              f"{bar.elapsed():.1f} s)", file=sys.stderr)
    return 0


def _cmd_figures(args: argparse.Namespace) -> int:

    from .gallery import parse_formats, prepare_out_dir, run_gallery, select

    select(args.only)  # option errors first, before any directory is made or work is done
    formats = parse_formats(args.formats)
    if not (10 <= args.dpi <= 1200):
        raise Il6simError(f"--dpi must be between 10 and 1200, got {args.dpi}")
    prepare_out_dir(args.out)
    bar = ProgressBar("figures")

    def progress(done: float, total: float, name: str) -> None:
        bar(done, total, f"{name:<18s}")

    command = " ".join(["il6sim figures --out", args.out, *(f"--only {o}" for o in args.only),
                        f"--format {','.join(formats)}", f"--dpi {args.dpi}", *(["--force"] if args.force else [])])
    report = run_gallery(args.out, only=args.only, formats=formats, force=args.force, dpi=args.dpi,
                         command=command, progress=progress)
    bar.close()
    print(f"figures in {args.out}: {report.summary()} ({bar.elapsed():.1f} s)", file=sys.stderr)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .shipped import load_network, shipped_names

    if args.what in ("models", "scenarios", "drugs"):
        for name in shipped_names(args.what):
            print(name)
        return 0
    network = load_network(args.model)
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
