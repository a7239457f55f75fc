"""General SBML models: il6sim against libRoadRunner, per simulation, at the same tolerances, in one run.

Models: the Dwivedi 2014 anti-IL-6R Crohn's model (BIOMD0000000537, 0-2000 h with its own dosing
events) and five PEtab benchmark models simulated as their SBML files stand (no PEtab conditions)
over their measurement time span. For each: median wall time per simulation of ``simulate_sbml``
(Rodas5P in numba with the model's programs compiled, ``engine="compiled"``, and interpreted,
``engine="interpreted"``; scipy LSODA as il6sim's reference path) and of ``RoadRunner.simulate``
(CVODE) with the same rtol/atol and output grid, after one warm-up each; the ratios il6sim /
roadrunner; each one's accuracy against a tight reference (roadrunner at rtol 1e-12, atol 1e-20):
the largest relative error over all species and times where the reference is above 1e-9 of its
column's peak; and, since the two methods reach different accuracies at one tolerance, the compiled
il6sim time at the loosest rtol (1e-8 ... 1e-5, atol unchanged) whose error is no larger than
roadrunner's at the given rtol ("matched accuracy"). The time to compile each model's programs is
measured against an empty cache. Then the first simulation of a new model in a fresh process
(``import il6sim`` excluded, numba's on-disk cache warm; interpreted, as ``engine="auto"`` does).

    python benchmarks/bench_sbml.py [--repeat 7] [--rtol 1e-8] [--atol 1e-12]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared"
MODELS = {
    "BIOMD0000000537 (Dwivedi 2014)": (SHARED / "biomodels" / "BIOMD0000000537.xml", 2000.0),
    "Boehm_JProteomeRes2014": (SHARED / "petab-benchmark/Boehm_JProteomeRes2014/model_Boehm_JProteomeRes2014.xml", 240.0),
    "Fujita_SciSignal2010": (SHARED / "petab-benchmark/Fujita_SciSignal2010/model_Fujita_SciSignal2010.xml", 3600.0),
    "Fiedler_BMCSystBiol2016": (SHARED / "petab-benchmark/Fiedler_BMCSystBiol2016/model_Fiedler_BMCSystBiol2016.xml", 60.0),
    "Bruno_JExpBot2016": (SHARED / "petab-benchmark/Bruno_JExpBot2016/model_Bruno_JExpBot2016.xml", 300.0),
    "Lucarelli_CellSystems2018": (SHARED / "petab-benchmark/Lucarelli_CellSystems2018/model_Lucarelli_CellSystems2018.xml", 100.0),
}


def _median_time(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _rr(path: Path, rtol: float, atol: float, columns: list[str]):
    import roadrunner

    rr = roadrunner.RoadRunner(str(path))
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = atol
    rr.integrator.maximum_num_steps = 1_000_000
    rr.timeCourseSelections = ["time", *columns]
    return rr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--rtol", type=float, default=1e-8)
    ap.add_argument("--atol", type=float, default=1e-12)
    args = ap.parse_args()
    import il6sim
    from il6sim.sbml_simulate import simulate_sbml

    os.environ["IL6SIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="il6sim-bench-")  # compile from cold
    print(f"rtol {args.rtol:g}, atol {args.atol:g}, median of {args.repeat} after a warm-up; times in ms")
    print(f"{'model':30s} {'states':>6s} {'compile':>8s} {'compiled':>9s} {'interp':>8s} {'LSODA':>8s} "
          f"{'rr':>7s} {'ratio':>6s} {'ratio_i':>7s} {'err il6sim':>10s} {'err rr':>8s} {'matched':>17s}")
    ratios, ratios_i, ratios_m = [], [], []
    for name, (path, t_end) in MODELS.items():
        if not path.is_file():
            print(f"{name:30s} (not found: {path})")
            continue
        model = il6sim.load_model(path)
        t = np.linspace(0.0, t_end, 201)
        species = list(model.sbml.species)
        cols = [s if model.species_units[s] == "amount" else f"[{s}]" for s in species]

        def ours(method: str = "Rodas5P", engine: str = "compiled", rtol: float = args.rtol, model=model,
                 t=t) -> np.ndarray:
            res = simulate_sbml(model, t, rtol=rtol, atol=args.atol, method=method, engine=engine)
            return res.values

        t0 = time.perf_counter()
        ours()
        t_compile = time.perf_counter() - t0
        rr = _rr(path, args.rtol, args.atol, cols)

        def theirs(rr=rr, t=t) -> np.ndarray:
            rr.resetAll()
            return np.asarray(rr.simulate(times=t))[:, 1:]

        ref_rr = _rr(path, 1e-12, 1e-20, cols)
        ref = np.asarray(ref_rr.simulate(times=t))[:, 1:]
        peak = np.abs(ref).max(axis=0)
        mask = np.abs(ref) > 1e-9 * np.maximum(peak, 1e-300)

        def err(y: np.ndarray, ref=ref, mask=mask) -> float:
            with np.errstate(divide="ignore", invalid="ignore"):
                return float(np.max(np.where(mask, np.abs(y - ref) / np.abs(ref), 0.0)))

        t_ours = _median_time(ours, args.repeat)
        t_interp = _median_time(lambda: ours(engine="interpreted"), args.repeat)
        t_lsoda = _median_time(lambda: ours("LSODA"), max(3, args.repeat // 2))
        t_rr = _median_time(theirs, args.repeat)
        e_rr = err(theirs())
        matched_rtol = args.rtol
        for r in (1e-5, 1e-6, 1e-7):
            if r > args.rtol and err(ours(rtol=r)) <= e_rr:
                matched_rtol = r
                break
        t_matched = _median_time(lambda r=matched_rtol: ours(rtol=r), args.repeat)
        ratios.append(t_ours / t_rr)
        ratios_i.append(t_interp / t_rr)
        ratios_m.append(t_matched / t_rr)
        print(f"{name[:30]:30s} {len(model.states):6d} {1e3 * t_compile:8.0f} {1e3 * t_ours:9.2f} "
              f"{1e3 * t_interp:8.2f} {1e3 * t_lsoda:8.2f} {1e3 * t_rr:7.2f} {t_ours / t_rr:6.2f} "
              f"{t_interp / t_rr:7.2f} {err(ours()):10.1e} {e_rr:8.1e} "
              f"{t_matched / t_rr:5.2f} (rtol {matched_rtol:.0e})")
    print(f"median ratio il6sim compiled / roadrunner: {statistics.median(ratios):.2f}; interpreted: "
          f"{statistics.median(ratios_i):.2f}; compiled at matched accuracy: {statistics.median(ratios_m):.2f}")
    _mass_action_vs_general(args)
    code = ("import time, numpy as np, il6sim; t0 = time.perf_counter(); "
            f"m = il6sim.load_model({str(MODELS['BIOMD0000000537 (Dwivedi 2014)'][0])!r}); "
            "r = il6sim.simulate(m, np.linspace(0, 2000, 201)); print(time.perf_counter() - t0)")
    firsts = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
              for _ in range(3)]
    print(f"first simulation of BIOMD0000000537 in a fresh process (load + simulate, after import): "
          f"{', '.join(f'{x:.2f}' for x in firsts)} s")


def _mass_action_vs_general(args: argparse.Namespace) -> None:
    """The same model both ways: il6sim's IL-6 model with tocilizumab 8 mg/kg IV q4w x 3 over 12 weeks, on
    the mass-action path (Network, jit Rodas5P with its analytic Jacobian) and exported to SBML (19
    observables as assignment rules, the infusions as events) on the general path (compiled programs)."""
    import il6sim
    from il6sim.regimen import build_run
    from il6sim.sbml_export import to_sbml
    from il6sim.sbml_model import read_sbml_model
    from il6sim.sbml_simulate import simulate_sbml
    from il6sim.shipped import load_network

    days = 84
    run = build_run(load_network("il6"), drug_groups=[{"drug": "tocilizumab", "dose": "8mg/kg", "every": "28d",
                                                       "count": "3"}], duration_h=days * 24.0)
    net = run.network.with_initial(il6sim.steady_state(run.network).as_dict())
    t = np.linspace(0.0, days * 24.0, 201)
    path = Path(tempfile.mkdtemp()) / "il6_tcz.xml"
    to_sbml(net, path, protocol=run.protocol)
    model = read_sbml_model(path)
    ma = il6sim.simulate(net, t, protocol=run.protocol, rtol=args.rtol, atol=args.atol)
    ge = simulate_sbml(model, t, rtol=args.rtol, atol=args.atol, engine="compiled")
    t_ma = _median_time(lambda: il6sim.simulate(net, t, protocol=run.protocol, rtol=args.rtol, atol=args.atol),
                        args.repeat)
    t_ge = _median_time(lambda: simulate_sbml(model, t, rtol=args.rtol, atol=args.atol, engine="compiled"),
                        args.repeat)
    n_ma, n_ge = ma.provenance["solver_stats"]["nsteps"], ge.provenance["solver"]["steps"]
    print(f"same model, mass action vs general SBML (il6 + tocilizumab q4w x 3, {len(net.species)} species, "
          f"{days} d): mass action {1e3 * t_ma:.2f} ms / {n_ma} steps = {1e6 * t_ma / n_ma:.1f} us per step; "
          f"general (compiled) {1e3 * t_ge:.2f} ms / {n_ge} steps = {1e6 * t_ge / n_ge:.1f} us per step; "
          f"per-step ratio {(t_ge / n_ge) / (t_ma / n_ma):.2f}")


if __name__ == "__main__":
    main()
