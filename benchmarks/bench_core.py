"""Core benchmarks: cold and warm start, and one simulation against scipy with a NumPy right-hand side.

Run from the repository root::

    python benchmarks/bench_core.py            # about a minute on 2 cores
    python benchmarks/bench_core.py --repeat 9

Prints a table with the machine and versions. Every figure is a median over ``--repeat`` runs;
ratios compare runners measured in the same run, interleaved so machine noise hits all alike.

* cold start: a new process with an empty numba cache directory: import, load the shipped model,
  first simulation (compiles the kernels).
* warm start: a new process reusing that cache: import, load, first simulation.
* one simulation: the shipped model from its steady state through ``covid_severe`` (28 days,
  hourly output, BDF, rtol 1e-6, atol 1e-12 nM) with il6sim (numba RHS + analytic Jacobian)
  against ``scipy.integrate.solve_ivp`` (same method and tolerances) fed a plain NumPy
  right-hand side and finite-difference Jacobian, the set-up a user would write by hand; each
  runner's error against a tight reference (Radau, rtol 1e-10) is reported.
* recompilation: kernel signatures after simulating two different networks and parameter sets.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STARTUP = """
import time
t0 = time.perf_counter()
import numpy as np
import il6sim
model = il6sim.load_model("il6")
res = il6sim.simulate(model, np.arange(0.0, 24.0 * 28 + 1), initial="steady", rtol=1e-6)
assert res.success
print(time.perf_counter() - t0)
"""


def startup_seconds(cache_dir: str) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run([sys.executable, "-c", STARTUP], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip().splitlines()[-1])


def numpy_rhs_factory(cn, k, u):
    """A plain-NumPy right-hand side built from the compiled arrays (vectorised, no numba)."""
    counts = np.diff(cn.r_ptr)
    half_of_entry = np.repeat(np.arange(len(counts)), counts)
    stoich = cn.stoichiometry

    def rhs(t, c):
        factors = np.ones(len(counts))
        if len(half_of_entry):
            np.multiply.at(factors, half_of_entry, np.maximum(c[cn.r_sp], 0.0) ** cn.r_ord)
        m = k * factors
        v = m[0::2] - m[1::2]
        return stoich @ v + u

    return rhs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import numba
    import scipy
    from scipy.integrate import solve_ivp

    import il6sim
    from il6sim import _kernels
    from il6sim.scenario import load_scenario

    print(f"# il6sim {il6sim.__version__} core benchmark")
    print(f"# machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores; "
          f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}")

    # --- start-up ------------------------------------------------------------------------------
    cold, warm = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(startup_seconds(cache))
            warm.append(startup_seconds(cache))

    # --- one simulation: il6sim vs scipy + NumPy RHS ------------------------------------------
    net = il6sim.load_model("il6")
    cn = il6sim.compile_network(net)
    ss = il6sim.steady_state(net)
    sc = load_scenario("covid_severe", net)
    t_eval = np.arange(0.0, sc.duration_h + 1)
    opts = {"method": "BDF", "rtol": 1e-6, "atol": 1e-12}
    ref = il6sim.simulate(cn, t_eval, initial=ss, parameters=dict(sc.parameters), protocol=sc.protocol,
                          method="Radau", rtol=1e-10, atol=1e-16)

    def run_il6sim():
        return il6sim.simulate(cn, t_eval, initial=ss, parameters=dict(sc.parameters), protocol=sc.protocol, **opts)

    # The NumPy runner integrates the same protocol (events split the integration the same way).
    def run_numpy():
        p = cn.parameter_vector(dict(sc.parameters))
        y = np.array(ss.values, dtype=float)
        events = sc.protocol.sorted_events()
        stops = sorted({e.time_h for e in events if 0 < e.time_h < t_eval[-1]} |
                       {getattr(e, "stop_h", 0.0) for e in events if 0 < getattr(e, "stop_h", 0.0) < t_eval[-1]} |
                       {float(t_eval[-1])})
        out = np.empty((len(t_eval), cn.n_species))
        t, i = 0.0, 0
        nfev = 0
        for stop in stops:
            u = np.zeros(cn.n_species)
            for e in events:
                if isinstance(e, il6sim.Infusion) and e.start_h <= t < e.stop_h:
                    u[cn.index_of_species(e.species)] += e.rate_nM_per_h
                elif isinstance(e, il6sim.SetParameter) and e.time_h <= t:
                    p[cn.parameter_index[e.name]] = e.value
                elif isinstance(e, il6sim.AddConcentration) and e.time_h == t:
                    y[cn.index_of_species(e.species)] += e.delta_nM
            k = cn.rate_constants(p)
            j = i
            while j < len(t_eval) and (t_eval[j] < stop or stop == t_eval[-1]):
                j += 1
            teval = np.append(t_eval[i:j], stop) if (j == i or t_eval[j - 1] != stop) else t_eval[i:j]
            sol = solve_ivp(numpy_rhs_factory(cn, k, u), (t, stop), y, t_eval=teval, **opts)
            nfev += sol.nfev
            out[i:j] = sol.y.T[: j - i]
            y, t, i = sol.y[:, -1], stop, j
        return out

    def max_rel_err(values: np.ndarray) -> float:
        obs_ref = cn.observables(ref.values)
        obs = cn.observables(values)
        scale = np.max(np.abs(obs_ref), axis=0) + 1e-300
        return float(np.max(np.abs(obs - obs_ref) / scale))

    t_il6, t_np = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = run_il6sim()
        t_il6.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        np_values = run_numpy()
        t_np.append(time.perf_counter() - t0)
    err_il6 = max_rel_err(res.values)
    err_np = max_rel_err(np_values)

    # --- recompilation --------------------------------------------------------------------------
    il6sim.simulate("models/examples/binding.toml", [0.0, 1.0])
    il6sim.simulate(cn, [0.0, 1.0], parameters={"kon_il6r": 1.0})
    signatures = {name: len(getattr(_kernels, name).signatures) for name in ("rhs", "jacobian", "rate_constants")}

    med = statistics.median
    print()
    print(f"| measure (median of {args.repeat}) | seconds | note |")
    print("|---|---|---|")
    print(f"| cold start (empty numba cache): import, load, first 28-day simulation | {med(cold):.2f} | compiles the kernels |")
    print(f"| warm start (new process, cache hit): import, load, first simulation | {med(warm):.2f} | target <= 1.5 s |")
    print(f"| one simulation, il6sim (numba RHS + analytic Jacobian, BDF) | {med(t_il6):.4f} | max rel. error vs Radau 1e-10: {err_il6:.1e} |")
    print(f"| one simulation, scipy solve_ivp BDF + NumPy RHS (FD Jacobian) | {med(t_np):.4f} | max rel. error vs Radau 1e-10: {err_np:.1e} |")
    print(f"| ratio il6sim / scipy+NumPy | {med(t_il6) / med(t_np):.3f} | |")
    print(f"| kernel signatures after 2 networks x 2 parameter sets | {signatures} | 1 each = no recompilation |")
    print(f"\nmodel: {cn.n_species} species, {cn.n_reactions} reactions; "
          f"il6sim stats: {res.provenance['solver_stats']}")


if __name__ == "__main__":
    main()
