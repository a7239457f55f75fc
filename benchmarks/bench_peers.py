"""il6sim's jitted integrator against libRoadRunner on the same model, rows and tolerance.

The shipped model with a receptor binder (tocilizumab) and with a cytokine binder (siltuximab),
exported to SBML for libRoadRunner (CVODE). 28 days, a dose (IV bolus, the drug file's standard
amount) at day 1, hourly output, rtol 1e-6 (atol 1e-12 nM); N parameter rows each scaling every
kinetic parameter by a seeded log-uniform factor in [0.5, 2]; every row starts from the base
model's steady state. Runners are interleaved in one script run so machine noise hits all alike:

* il6sim jit batch on 1 and 2 numba threads (``il6sim._jitsolve.run_batch``), per simulation =
  wall time / N;
* libRoadRunner: for each row ``resetAll``, set the state and the parameters, simulate to day 1,
  add the dose, simulate to day 28 (the usual loop a user writes);

and each runner's largest relative error on the species (relative to each species' largest value)
against scipy Radau at rtol 1e-10 on a few rows. Needs the ``bench`` (or ``test``) extra::

    python benchmarks/bench_peers.py --rows 200
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import il6sim  # noqa: E402
from il6sim import _jitsolve as js  # noqa: E402
from il6sim.drugs import add_drug, load_drug, parse_dose  # noqa: E402


def scaled_rows(cn: il6sim.CompiledNetwork, names: list[str], n: int, seed: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    base = dict(zip(cn.parameter_ids, cn.p0))
    return [{p: base[p] * float(f) for p, f in zip(names, np.exp(rng.uniform(np.log(0.5), np.log(2.0), len(names))))}
            for _ in range(n)]


def bench_drug(drug_name: str, args: argparse.Namespace, t_out: np.ndarray, roadrunner) -> tuple:
    """Time and check the runners on the shipped model with one drug."""
    drug = load_drug(drug_name)
    net = add_drug(il6sim.load_model("il6"), drug)
    cn = il6sim.compile_network(net)
    ss = il6sim.steady_state(net)
    v1 = net.get_compartment(f"{drug.id}_central").volume_l
    dose_nM = parse_dose("8 mg/kg" if drug_name == "tocilizumab" else "11 mg/kg", drug.mw_g_per_nmol, 70.0) / v1
    protocol = il6sim.Protocol((il6sim.AddConcentration(24.0, drug.id, dose_nM),))
    kinetic = [p.id for p in net.parameters if not p.id.endswith("_weight_kg")]
    rows = scaled_rows(cn, kinetic, args.rows, seed=1)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.xml"
        il6sim.to_sbml(net, path)
        rr = roadrunner.RoadRunner(str(path))
    rr.integrator.relative_tolerance = 1e-6
    rr.integrator.absolute_tolerance = 1e-12
    rr.integrator.max_num_steps = 100000
    sel = ["time"] + [f"[{s}]" for s in cn.species_ids]
    rr.timeCourseSelections = sel

    def run_rr(row: dict[str, float]) -> np.ndarray:
        rr.resetAll()
        for sid, value in zip(cn.species_ids, ss.values):
            rr.setValue(f"[{sid}]", float(value))
        for pid, value in row.items():
            rr.setValue(pid, value)
        first = np.asarray(rr.simulate(0.0, 24.0, 25))[:, 1:]
        rr.setValue(f"[{drug.id}]", rr.getValue(f"[{drug.id}]") + dose_nM)
        rest = np.asarray(rr.simulate(24.0, t_out[-1], len(t_out) - 24))[:, 1:]
        out = np.vstack([first[:-1], rest])
        out[24] = rest[0]
        return out

    def run_jit(threads: int) -> js.BatchResult:
        numba.set_num_threads(threads)
        return js.run_batch(cn, rows, protocol, t_out, y0=np.array(ss.values), rtol=1e-6, atol=1e-12)

    run_jit(1)  # compile outside the timing
    times: dict[str, list[float]] = {"jit 1 thread": [], "jit 2 threads": [], "libRoadRunner": []}
    for _ in range(args.repeat):
        for threads in (1, 2):
            t0 = time.perf_counter()
            res = run_jit(threads)
            times[f"jit {threads} thread{'s' if threads > 1 else ''}"].append((time.perf_counter() - t0) / args.rows)
        t0 = time.perf_counter()
        for row in rows:
            run_rr(row)
        times["libRoadRunner"].append((time.perf_counter() - t0) / args.rows)

    errors = {"jit": 0.0, "libRoadRunner": 0.0}
    for i in range(args.ref_rows):
        ref = il6sim.simulate(cn, t_out, parameters=rows[i], protocol=protocol, initial=np.array(ss.values),
                              method="Radau", rtol=1e-10, atol=1e-16).values
        scale = np.max(np.abs(ref), axis=0) + 1e-12  # nM: species that stay at zero compare absolutely
        errors["jit"] = max(errors["jit"], float(np.max(np.abs(res.y[i] - ref) / scale)))
        errors["libRoadRunner"] = max(errors["libRoadRunner"], float(np.max(np.abs(run_rr(rows[i]) - ref) / scale)))
    failed = int(np.sum(res.status != 0))
    med = {k: statistics.median(v) for k, v in times.items()}
    return drug_name, med, errors, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--ref-rows", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import roadrunner

    print(f"# il6sim {il6sim.__version__} vs libRoadRunner {roadrunner.__version__}; {platform.machine()}, "
          f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}")
    t_out = np.arange(0.0, 28 * 24.0 + 1)
    rows_out = [bench_drug(name, args, t_out, roadrunner) for name in ("tocilizumab", "siltuximab")]

    print(f"\n| model | runner | per simulation (median of {args.repeat}) | ratio to libRoadRunner | max rel. error |")
    print("|---|---|---|---|---|")
    for drug_name, med, errors, failed in rows_out:
        for runner in ("jit 1 thread", "jit 2 threads", "libRoadRunner"):
            err = errors["jit" if runner.startswith("jit") else "libRoadRunner"]
            print(f"| il6 + {drug_name} | {runner} | {med[runner] * 1e3:.2f} ms | {med[runner] / med['libRoadRunner']:.3f} "
                  f"| {err:.1e} |")
        print(f"| il6 + {drug_name} | jit rows failed | {failed} | | |")


if __name__ == "__main__":
    main()
