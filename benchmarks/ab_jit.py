"""A/B timing of the jitted integrator: the working tree against a git revision, in one process.

Machine speed on shared hosts drifts by 30 % or more between runs, so two separate benchmark runs
cannot tell a 10 % change from noise. This script copies ``il6sim/_jitsolve.py``,
``il6sim/_kernels.py`` and ``il6sim/batch.py`` (where a revision has it: ``run_batch`` lives there
since the protocol lowering moved out of ``_jitsolve``) of the working tree and of ``REV`` into two
temporary packages (other il6sim modules, such as the lowering, come from the working tree), compiles
both, and times them alternately on the same rows in the same process (the workload of
``bench_peers.py``: the shipped model with tocilizumab and with siltuximab, 28 days, hourly
output, rtol 1e-6, atol 1e-12 nM, N rows of log-uniform parameter factors in [0.5, 2], one
thread unless ``--threads``). It prints each variant's median time per simulation, the median of the per-repeat
ratios (working tree / REV), and whether the outputs and step counts are identical bit for bit.

    python benchmarks/ab_jit.py [REV] [--rows 200] [--repeat 7] [--threads 1]

Use it for every change to the kernels: a refactor that looked neutral once made a row 3x slower
(``rhs_lanes_into`` with a tuple-returning helper), and only a side-by-side run showed it.
"""

from __future__ import annotations

import argparse
import importlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_peers  # noqa: E402

FILES = ("_jitsolve.py", "_kernels.py", "batch.py")  # batch.py where the revision has it


def _materialise(tmp: Path, name: str, sources: dict[str, str]) -> str:
    """Write the modules as package ``name`` under ``tmp``; other il6sim imports become absolute."""
    pkg = tmp / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for file, text in sources.items():
        text = re.sub(r"from \.(?!_kernels\b|_jitsolve\b)(\w+) import", r"from il6sim.\1 import", text)
        (pkg / file).write_text(text)
    return name


def _sources_at(rev: str) -> dict[str, str]:
    out = {}
    for f in FILES:
        got = subprocess.run(["git", "show", f"{rev}:il6sim/{f}"], cwd=ROOT, capture_output=True, text=True)
        if got.returncode == 0:
            out[f] = got.stdout
        elif f != "batch.py":
            raise SystemExit(f"git show {rev}:il6sim/{f} failed: {got.stderr.strip()}")
    return out


def _run_batch_module(pkg: str):  # type: ignore[no-untyped-def]
    """The module holding ``run_batch``: ``batch`` where the variant has it, else ``_jitsolve``."""
    try:
        return importlib.import_module(f"{pkg}.batch")
    except ModuleNotFoundError:
        return importlib.import_module(f"{pkg}._jitsolve")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("rev", nargs="?", default="HEAD", help="git revision to compare against (default HEAD)")
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    t_out = np.arange(0.0, 28 * 24.0 + 1)
    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, tmp)
        work = {f: (ROOT / "il6sim" / f).read_text() for f in FILES if (ROOT / "il6sim" / f).exists()}
        variants = {"working tree": _materialise(Path(tmp), "ab_work", work),
                    args.rev: _materialise(Path(tmp), "ab_rev", _sources_at(args.rev))}
        mods = {label: _run_batch_module(pkg) for label, pkg in variants.items()}
        print(f"# A/B in one process: working tree vs {args.rev}; {args.rows} rows, median of {args.repeat}, "
              f"{args.threads} thread(s)")
        print("| model | working tree | " + args.rev + " | ratio (median of per-repeat ratios) | same bits |")
        print("|---|---|---|---|---|")
        for drug in ("tocilizumab", "siltuximab"):
            s = bench_peers.setup(drug, args.rows)

            def run(mod, s=s):  # type: ignore[no-untyped-def]
                return mod.run_batch(s["cn"], s["rows"], s["protocol"], t_out, y0=s["ss"], rtol=bench_peers.RTOL,
                                     atol=bench_peers.ATOL, threads=args.threads)

            first = {label: run(mod) for label, mod in mods.items()}  # compiles
            a, b = first.values()
            same = bool(np.array_equal(a.y, b.y, equal_nan=True) and np.array_equal(a.stats[:, 1:], b.stats[:, 1:]))
            times: dict[str, list[float]] = {label: [] for label in mods}
            for _ in range(args.repeat):
                for label, mod in mods.items():
                    t0 = time.perf_counter()
                    run(mod)
                    times[label].append((time.perf_counter() - t0) / args.rows)
            work_t, rev_t = times["working tree"], times[args.rev]
            ratio = statistics.median(w / r for w, r in zip(work_t, rev_t))
            print(f"| il6 + {drug} | {statistics.median(work_t) * 1e3:.3f} ms | {statistics.median(rev_t) * 1e3:.3f} ms "
                  f"| {ratio:.3f} | {'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
