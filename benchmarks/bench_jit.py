"""Per-simulation cost of the jitted Rosenbrock integrator (``il6sim._jitsolve``) against scipy BDF.

The shipped model with one drug (tocilizumab, then siltuximab, dosed on day 7 by the drug file's
standard regimen), 28 days, hourly output, rtol 1e-6, atol 1e-12 nM, each run started from its own
steady state. A sweep of N parameter rows (default 200) scales every parameter by a log-uniform
factor in [0.5, 2] (seeded). Runners, measured in the same script run:

* ``jit batch``: :func:`il6sim.batch.run_batch` over all rows (threads over row blocks; the
  kernel releases the GIL), on 1 and 2 threads; per-simulation time = wall time / N;
* ``jit single``: ``il6sim.simulate(..., solver="jit", method="Rodas5P")`` row by row (the
  ``JitBackend`` behind the ordinary API, Python per segment);
* ``scipy BDF``: ``il6sim.simulate(..., method="BDF")`` row by row (numba RHS and analytic Jacobian).

Each runner's accuracy is its largest relative error over all observables (relative to each
observable's largest magnitude) against scipy Radau at rtol 1e-10, atol 1e-16 on a few rows.

    python benchmarks/bench_jit.py [--rows 200] [--scipy-rows 40] [--ref-rows 3] [--repeat 3] [--cold]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
import scipy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _machine import cpu_name  # noqa: E402  (benchmarks/ is sys.path[0] when run as a script)

import il6sim  # noqa: E402
from il6sim import batch as js  # noqa: E402
from il6sim._jitsolve import JitBackend  # noqa: E402
from il6sim.regimen import build_run  # noqa: E402
from il6sim.solve import SOLVERS  # noqa: E402

RTOL, ATOL = 1e-6, 1e-12




def rel_err(a: np.ndarray, ref: np.ndarray) -> float:
    scale = np.max(np.abs(ref), axis=0)
    scale[scale == 0] = 1.0
    return float(np.max(np.abs(a - ref) / scale))


def parameter_rows(cn: il6sim.CompiledNetwork, n_rows: int, seed: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    factors = np.exp(rng.uniform(np.log(0.5), np.log(2.0), size=(n_rows, len(cn.parameter_ids))))
    return [{name: float(v) for name, v in zip(cn.parameter_ids, cn.p0 * f)} for f in factors]


def steady_states(network: il6sim.Network, rows: list[dict[str, float]]) -> np.ndarray:
    base = np.asarray(il6sim.steady_state(network).values)
    out = np.empty((len(rows), base.size))
    for i, row in enumerate(rows):
        ss = il6sim.steady_state(network, parameters=row)
        out[i] = ss.values if ss.converged else base
    return out


def bench_drug(drug: str, args: argparse.Namespace) -> list[tuple[str, str, float, str]]:
    run = build_run(il6sim.load_model("il6"), drug_groups=[{"drug": drug, "at": "7d"}], duration_h=28 * 24.0)
    net = run.network
    cn = il6sim.compile_network(net)
    t = np.arange(0.0, 28 * 24.0 + 1.0, 1.0)
    rows = parameter_rows(cn, args.rows, args.seed)
    y0 = steady_states(net, rows)
    common = dict(protocol=run.protocol, events_beyond_end="ignore", rtol=RTOL, atol=ATOL)

    # Warm up every runner once (compilation is not part of the per-simulation cost).
    js.run_batch(cn, rows[:2], run.protocol, t, y0=y0[:2], rtol=RTOL, atol=ATOL)
    il6sim.simulate(cn, t, parameters=rows[0], initial=y0[0], solver="jit", method="Rodas5P", **common)
    il6sim.simulate(cn, t, parameters=rows[0], initial=y0[0], method="BDF", **common)

    results: list[tuple[str, str, float, str]] = []
    batch_out = None
    for threads in (1, 2):
        if threads > numba.config.NUMBA_NUM_THREADS:
            continue
        numba.set_num_threads(threads)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            res = js.run_batch(cn, rows, run.protocol, t, y0=y0, rtol=RTOL, atol=ATOL)
            times.append((time.perf_counter() - t0) / len(rows))
        batch_out = res
        ok = int(res.ok.sum())
        steps = float(np.median(res.stats[:, 1]))
        results.append((drug, f"jit batch Rodas5P, {threads} thread(s)", statistics.median(times),
                        f"{ok}/{len(rows)} rows ok; median {steps:.0f} steps"))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)

    n_single = min(args.scipy_rows, len(rows))
    jit_single, bdf = [], []
    for i in range(n_single):  # interleaved so background load hits both alike
        t0 = time.perf_counter()
        il6sim.simulate(cn, t, parameters=rows[i], initial=y0[i], solver="jit", method="Rodas5P", **common)
        jit_single.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        il6sim.simulate(cn, t, parameters=rows[i], initial=y0[i], method="BDF", **common)
        bdf.append(time.perf_counter() - t0)
    results.append((drug, "jit single (simulate, JitBackend)", statistics.median(jit_single), f"{n_single} rows"))
    results.append((drug, "scipy BDF (simulate)", statistics.median(bdf), f"{n_single} rows"))

    # Accuracy against a tight Radau reference on a few rows.
    err_batch, err_bdf = 0.0, 0.0
    for i in range(min(args.ref_rows, len(rows))):
        ref = il6sim.simulate(cn, t, parameters=rows[i], initial=y0[i], protocol=run.protocol, method="Radau",
                              rtol=1e-10, atol=1e-16, events_beyond_end="ignore")
        bdf_res = il6sim.simulate(cn, t, parameters=rows[i], initial=y0[i], method="BDF", **common)
        assert batch_out is not None
        err_batch = max(err_batch, rel_err(cn.observables(batch_out.y[i]), ref.observable_values))
        err_bdf = max(err_bdf, rel_err(bdf_res.observable_values, ref.observable_values))
    results.append((drug, "max rel. error vs Radau 1e-10: jit batch", err_batch, f"{args.ref_rows} rows"))
    results.append((drug, "max rel. error vs Radau 1e-10: scipy BDF", err_bdf, f"{args.ref_rows} rows"))
    return results


def cold_compile() -> float:
    """Wall time of a new process with an empty numba cache: import, first batch of 2 rows."""
    code = ("import numpy as np, il6sim; from il6sim import batch as js; "
            "cn = il6sim.compile_network(il6sim.load_model('il6')); "
            "js.run_batch(cn, [{}, {}], il6sim.Protocol(), [0.0, 24.0])")
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(ROOT))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200, help="parameter rows in the sweep")
    ap.add_argument("--scipy-rows", type=int, default=40, help="rows run one by one through simulate()")
    ap.add_argument("--ref-rows", type=int, default=3, help="rows checked against the Radau reference")
    ap.add_argument("--repeat", type=int, default=3, help="repeats of each batch (median)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cold", action="store_true", help="also time a cold start (empty numba cache)")
    args = ap.parse_args()
    SOLVERS.setdefault("jit", JitBackend())

    rows = []
    for drug in ("tocilizumab", "siltuximab"):
        rows += bench_drug(drug, args)
    print(f"Machine: {cpu_name()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.machine()}; "
          f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"numba {numba.__version__}, il6sim {il6sim.__version__}; numba threads available "
          f"{numba.config.NUMBA_NUM_THREADS}")
    print(f"28 days, hourly output, rtol {RTOL:g}, atol {ATOL:g} nM; {args.rows} parameter rows (log-uniform "
          f"x[0.5, 2] on every parameter, seed {args.seed}); times are medians per simulation\n")
    print("| drug | runner | value | note |")
    print("|---|---|---|---|")
    for drug, name, value, note in rows:
        shown = f"{value * 1e3:.3f} ms" if not name.startswith("max rel") else f"{value:.1e}"
        print(f"| {drug} | {name} | {shown} | {note} |")
    print()
    print("| drug | ratio of medians | value |")
    print("|---|---|---|")
    by = {(d, n): v for d, n, v, _ in rows}
    for drug in ("tocilizumab", "siltuximab"):
        bdf = by[(drug, "scipy BDF (simulate)")]
        for name in ("jit batch Rodas5P, 1 thread(s)", "jit batch Rodas5P, 2 thread(s)",
                     "jit single (simulate, JitBackend)"):
            if (drug, name) in by:
                print(f"| {drug} | scipy BDF / {name} | {bdf / by[(drug, name)]:.1f}x |")
    if args.cold:
        print(f"\ncold start (empty numba cache: import, load, compile, first 2-row batch): {cold_compile():.1f} s")


if __name__ == "__main__":
    main()
