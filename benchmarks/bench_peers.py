"""il6sim's jitted integrator against libRoadRunner, numbalsoda and scipy on the same model, rows and tolerance.

The shipped model with a receptor binder (tocilizumab, 8 mg/kg) and with a cytokine binder
(siltuximab, 11 mg/kg), an IV bolus at day 1, 28 days, hourly output, rtol 1e-6, atol 1e-12 nM;
N parameter rows each scaling every kinetic parameter by a seeded log-uniform factor in [0.5, 2];
every row starts from the base model's steady state. Runners, interleaved in one script run so
machine noise hits all alike (per simulation = wall time of the whole sweep / rows):

* il6sim jit: ``il6sim.batch.run_batch`` on 1 and 2 threads;
* libRoadRunner (CVODE) on the exported SBML: for each row ``resetAll``, set state and parameters,
  simulate to day 1, add the dose, simulate to day 28 (the usual loop a user writes);
* numbalsoda's LSODA called from numba (a serial njit loop, and a ``prange`` loop on 2 threads),
  with a numba ``cfunc`` right-hand side over the same compiled arrays (its own finite-difference
  Jacobian, as LSODA does without one);
* scipy ``solve_ivp`` BDF with a plain NumPy right-hand side (finite-difference Jacobian), and the
  il6sim scipy backend (BDF with the numba right-hand side and analytic Jacobian); both only on
  the first ``--slow-rows`` rows, as they are 10-50x slower.

Accuracy: each runner's largest error on the species (relative to each species' largest value,
species that stay near zero compared absolutely at 1e-12 nM) against scipy Radau at rtol 1e-10,
atol 1e-16 on the first ``--ref-rows`` rows. Start-up (``--starts``): new processes that import,
load and return a first result, with an empty numba cache (cold) and with the cache from the cold
run (warm), plus each new process's peak resident memory after a sweep of 200 rows; the same for
numba alone (a trivial cached function: the floor of any numba-cached tool here). The last
line of the speed table is the machine's own ceiling for two threads (a compute-bound numba loop
with no shared data), against which the jit's 2-thread throughput can be read. Every repeat runs
all runners back to back, so besides the ratios of medians the table gives the paired ratios (the
median of each repeat's own ratio), which slow drifts of a shared host's speed do not move.

    python benchmarks/bench_peers.py --rows 1000 --repeat 3 --starts

Needs the ``bench`` extra (libroadrunner, python-libsbml, numbalsoda; numbalsoda builds with
gfortran: ``apt-get install gfortran``).
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

import numba
import numpy as np
import scipy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _machine import cpu_name  # noqa: E402  (benchmarks/ is sys.path[0] when run as a script)

import il6sim  # noqa: E402
from il6sim import _kernels  # noqa: E402
from il6sim import batch as js  # noqa: E402
from il6sim.drugs import add_drug, load_drug, parse_dose  # noqa: E402

RTOL, ATOL = 1e-6, 1e-12




def scaled_rows(cn: il6sim.CompiledNetwork, names: list[str], n: int, seed: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(seed)
    base = dict(zip(cn.parameter_ids, cn.p0))
    return [{p: base[p] * float(f) for p, f in zip(names, np.exp(rng.uniform(np.log(0.5), np.log(2.0), len(names))))}
            for _ in range(n)]


def setup(drug_name: str, n_rows: int) -> dict:
    drug = load_drug(drug_name)
    net = add_drug(il6sim.load_model("il6"), drug)
    cn = il6sim.compile_network(net)
    ss = np.asarray(il6sim.steady_state(net).values)
    v1 = net.get_compartment(f"{drug.id}_central").volume_l
    dose_nM = parse_dose("8 mg/kg" if drug_name == "tocilizumab" else "11 mg/kg", drug.mw_g_per_nmol, 70.0) / v1
    protocol = il6sim.Protocol((il6sim.AddConcentration(24.0, drug.id, dose_nM),))
    kinetic = [p.id for p in net.parameters if not p.id.endswith("_weight_kg")]
    rows = scaled_rows(cn, kinetic, n_rows, seed=1)
    k_rows = np.array([cn.rate_constants(cn.parameter_vector(r)) for r in rows])
    return dict(drug=drug, net=net, cn=cn, ss=ss, dose_nM=dose_nM, dose_idx=cn.index_of_species(drug.id),
                protocol=protocol, rows=rows, k_rows=k_rows)


# ---------------------------------------------------------------------------------------------
# Runners. Each returns the states (rows, 673, n) or None when it does not keep them.
def make_roadrunner(s: dict, t_out: np.ndarray):
    import roadrunner

    cn, net = s["cn"], s["net"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.xml"
        il6sim.to_sbml(net, path)
        rr = roadrunner.RoadRunner(str(path))
    rr.integrator.relative_tolerance = RTOL
    rr.integrator.absolute_tolerance = ATOL
    rr.integrator.max_num_steps = 100000
    rr.timeCourseSelections = ["time"] + [f"[{sid}]" for sid in cn.species_ids]
    drug_id = s["drug"].id

    def run(row: dict[str, float]) -> np.ndarray:
        rr.resetAll()
        for sid, value in zip(cn.species_ids, s["ss"]):
            rr.setValue(f"[{sid}]", float(value))
        for pid, value in row.items():
            rr.setValue(pid, value)
        first = np.asarray(rr.simulate(0.0, 24.0, 25))[:, 1:]
        rr.setValue(f"[{drug_id}]", rr.getValue(f"[{drug_id}]") + s["dose_nM"])
        rest = np.asarray(rr.simulate(24.0, t_out[-1], len(t_out) - 24))[:, 1:]
        out = np.vstack([first[:-1], rest])
        out[24] = rest[0]
        return out

    return run


def make_numbalsoda(s: dict):
    """numbalsoda's LSODA from numba: a cfunc right-hand side over the compiled arrays."""
    from numba import carray, cfunc, njit, prange
    from numbalsoda import lsoda, lsoda_sig

    cn = s["cn"]
    n = cn.n_species
    e_ptr, e_sp, ok = _kernels.expand_orders(cn.r_ptr, cn.r_sp, cn.r_ord)
    assert ok
    s_ptr, s_sp, s_coef = cn.s_ptr, cn.s_sp, cn.s_coef
    zero_u = np.zeros(n)
    n_k = 2 * cn.n_reactions
    rhs_kernel = _kernels.rhs_expanded_into

    @cfunc(lsoda_sig)
    def rhs(t, u, du, p):  # pragma: no cover - runs inside LSODA
        c = carray(u, (n,))
        out = carray(du, (n,))
        k = carray(p, (n_k,))
        rhs_kernel(c, k, zero_u, e_ptr, e_sp, s_ptr, s_sp, s_coef, out)

    address = rhs.address
    t1 = np.arange(0.0, 25.0)
    t2 = np.arange(24.0, 28 * 24.0 + 1)
    dose, dose_idx = s["dose_nM"], s["dose_idx"]

    @njit
    def one(y0, k, out):
        u1, ok1 = lsoda(address, y0, t1, data=k, rtol=RTOL, atol=ATOL, mxstep=100000)
        y = u1[-1].copy()
        y[dose_idx] += dose
        u2, ok2 = lsoda(address, y, t2, data=k, rtol=RTOL, atol=ATOL, mxstep=100000)
        out[:24] = u1[:24]
        out[24:] = u2
        return ok1 and ok2

    @njit
    def serial(y0, k_rows, out, ok):
        for i in range(k_rows.shape[0]):
            ok[i] = one(y0, k_rows[i].copy(), out[i])

    @njit(parallel=True)
    def parallel(y0, k_rows, out, ok):
        for i in prange(k_rows.shape[0]):
            ok[i] = one(y0, k_rows[i].copy(), out[i])

    def run(k_rows: np.ndarray, threads: int) -> tuple[np.ndarray, np.ndarray]:
        out = np.empty((k_rows.shape[0], 673, n))
        okv = np.zeros(k_rows.shape[0], dtype=np.bool_)
        if threads == 1:
            serial(s["ss"], k_rows, out, okv)
        else:
            numba.set_num_threads(threads)
            parallel(s["ss"], k_rows, out, okv)
        return out, okv

    return run


def make_numpy_rhs(s: dict):
    """A plain NumPy right-hand side (mass action over index arrays) for scipy solve_ivp."""
    cn = s["cn"]
    n = cn.n_species
    width = max(1, int(np.max(np.diff(cn.r_ptr))) if len(cn.r_ptr) > 1 else 1)
    idx = np.full((len(cn.r_ptr) - 1, width), n)  # index n is a constant 1
    for h in range(len(cn.r_ptr) - 1):
        sl = slice(cn.r_ptr[h], cn.r_ptr[h + 1])
        idx[h, : cn.r_ptr[h + 1] - cn.r_ptr[h]] = cn.r_sp[sl]
    assert np.all(cn.r_ord == 1.0)
    stoich = cn.stoichiometry

    def rhs_np(t: float, c: np.ndarray, k: np.ndarray) -> np.ndarray:
        ce = np.append(c, 1.0)
        m = k * np.prod(ce[idx], axis=1)
        return stoich @ (m[0::2] - m[1::2])

    return rhs_np


def run_scipy_numpy(s: dict, rhs_np, k: np.ndarray, t_out: np.ndarray) -> np.ndarray:
    from scipy.integrate import solve_ivp

    a = solve_ivp(rhs_np, (0.0, 24.0), s["ss"], method="BDF", t_eval=t_out[:25], args=(k,), rtol=RTOL, atol=ATOL)
    y = a.y[:, -1].copy()
    y[s["dose_idx"]] += s["dose_nM"]
    b = solve_ivp(rhs_np, (24.0, t_out[-1]), y, method="BDF", t_eval=t_out[24:], args=(k,), rtol=RTOL, atol=ATOL)
    return np.vstack([a.y.T[:24], b.y.T])


def rel_err(a: np.ndarray, ref: np.ndarray) -> float:
    scale = np.max(np.abs(ref), axis=0) + 1e-12  # nM: species that stay at zero compare absolutely
    return float(np.max(np.abs(a - ref) / scale))


def bench_drug(drug_name: str, args: argparse.Namespace, t_out: np.ndarray) -> tuple[dict, dict, dict, dict]:
    s = setup(drug_name, args.rows)
    cn, rows, k_rows, protocol = s["cn"], s["rows"], s["k_rows"], s["protocol"]
    rr = make_roadrunner(s, t_out)
    nbl = make_numbalsoda(s)
    rhs_np = make_numpy_rhs(s)
    n_slow = min(args.slow_rows, len(rows))

    def jit(threads: int) -> js.BatchResult:
        return js.run_batch(cn, rows, protocol, t_out, y0=s["ss"], rtol=RTOL, atol=ATOL, threads=threads)

    jit(1)  # compile outside the timing
    nbl(k_rows[:2], 1)
    nbl(k_rows[:2], 2)
    names = ["il6sim jit, 1 thread", "il6sim jit, 2 threads", "libRoadRunner", "numbalsoda LSODA, 1 thread",
             "numbalsoda LSODA, 2 threads", "scipy BDF + NumPy RHS", "il6sim scipy backend (BDF)"]
    times: dict[str, list[float]] = {k: [] for k in names}
    failed: dict[str, int] = {k: 0 for k in names}
    keep: dict[str, np.ndarray] = {}
    for _ in range(args.repeat):
        for threads in (1, 2):
            t0 = time.perf_counter()
            res = jit(threads)
            times[names[threads - 1]].append((time.perf_counter() - t0) / len(rows))
            failed[names[threads - 1]] = int(np.sum(res.status != 0))
            keep["jit"] = res.y
        t0 = time.perf_counter()
        for row in rows:
            rr(row)
        times["libRoadRunner"].append((time.perf_counter() - t0) / len(rows))
        for threads in (1, 2):
            t0 = time.perf_counter()
            out, okv = nbl(k_rows, threads)
            times[names[2 + threads]].append((time.perf_counter() - t0) / len(rows))
            failed[names[2 + threads]] = int(np.sum(~okv))
            keep["numbalsoda"] = out
        t0 = time.perf_counter()
        for i in range(n_slow):
            run_scipy_numpy(s, rhs_np, k_rows[i], t_out)
        times["scipy BDF + NumPy RHS"].append((time.perf_counter() - t0) / n_slow)
        t0 = time.perf_counter()
        for i in range(n_slow):
            il6sim.simulate(cn, t_out, parameters=rows[i], protocol=protocol, initial=s["ss"], solver="scipy",
                            method="BDF", rtol=RTOL, atol=ATOL)
        times["il6sim scipy backend (BDF)"].append((time.perf_counter() - t0) / n_slow)

    errors = {k: 0.0 for k in names}
    for i in range(min(args.ref_rows, len(rows))):
        ref = il6sim.simulate(cn, t_out, parameters=rows[i], protocol=protocol, initial=s["ss"], solver="scipy",
                              method="Radau", rtol=1e-10, atol=1e-16).values
        got = {
            "il6sim jit, 1 thread": keep["jit"][i], "il6sim jit, 2 threads": keep["jit"][i],
            "libRoadRunner": rr(rows[i]),
            "numbalsoda LSODA, 1 thread": keep["numbalsoda"][i], "numbalsoda LSODA, 2 threads": keep["numbalsoda"][i],
            "scipy BDF + NumPy RHS": run_scipy_numpy(s, rhs_np, k_rows[i], t_out),
            "il6sim scipy backend (BDF)": il6sim.simulate(
                cn, t_out, parameters=rows[i], protocol=protocol, initial=s["ss"], solver="scipy", method="BDF",
                rtol=RTOL, atol=ATOL).values,
        }
        for k, v in got.items():
            errors[k] = max(errors[k], rel_err(v, ref))
    med = {k: statistics.median(v) for k, v in times.items()}
    return med, errors, failed, times


def paired(times: dict[str, list[float]], a: str, b: str) -> float:
    """Median over repeats of ``a / b`` within each repeat (runners of one repeat run back to back,
    so slow drifts of the host's speed cancel)."""
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


# ---------------------------------------------------------------------------------------------
# What two threads can give on this machine at best: a compute-bound numba loop with no shared data.
def two_thread_ceiling(repeat: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    from numba import njit

    @njit(nogil=True)
    def spin(n: int, x: np.ndarray) -> float:
        acc = 0.0
        for i in range(n):
            acc = acc * 0.999999 + x[i % 64] * 1.000001
            x[(i * 7) % 64] += 1e-12
        return acc

    xs = [np.random.default_rng(i).random(64) for i in range(2)]
    spin(10, xs[0])
    n = 50_000_000
    ratios = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for x in xs:
            spin(n, x)
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda x: spin(n, x), xs))
        ratios.append(serial / (time.perf_counter() - t0))
    return statistics.median(ratios)


# ---------------------------------------------------------------------------------------------
# Start-up and memory, each in a new process.
START_CODE = {
    "il6sim jit": """
import time; t0 = time.perf_counter()
__PEAK__
import sys; sys.path.insert(0, __ROOT__)
import numpy as np, il6sim
from il6sim import batch as js
cn = il6sim.compile_network(il6sim.load_model('il6'))
js.run_batch(cn, [{}], il6sim.Protocol(), np.arange(0.0, 673.0), threads=1)
first = time.perf_counter() - t0
p = np.tile(cn.p0, (200, 1)) * np.linspace(0.8, 1.25, 200)[:, None]
js.run_batch(cn, p, il6sim.Protocol(), np.arange(0.0, 673.0))
print(first, peak_mib())
""",
    # The floor of any numba-cached tool on this machine: import numpy and numba, call one trivial
    # cached function (warm: numba initialises its compiler context to load it from the cache).
    "numba alone (trivial cached @njit)": """
import time; t0 = time.perf_counter()
__PEAK__
import numpy as np
from numba import njit
@njit(cache=True)
def one(x):
    return x + 1.0
one(1.0)
first = time.perf_counter() - t0
print(first, peak_mib())
""",
    "libRoadRunner": """
import time; t0 = time.perf_counter()
__PEAK__
import roadrunner
rr = roadrunner.RoadRunner(__SBML__)
rr.integrator.relative_tolerance = 1e-6; rr.integrator.absolute_tolerance = 1e-12
rr.simulate(0.0, 672.0, 673)
first = time.perf_counter() - t0
for i in range(200):
    rr.resetAll(); rr.simulate(0.0, 672.0, 673)
print(first, peak_mib())
""",
    "numbalsoda": """
import time; t0 = time.perf_counter()
__PEAK__
import sys; sys.path.insert(0, __ROOT__)
import numpy as np
from numba import carray, cfunc, njit
from numbalsoda import lsoda, lsoda_sig
import il6sim
from il6sim import _kernels
cn = il6sim.compile_network(il6sim.load_model('il6'))
n = cn.n_species; n_k = 2 * cn.n_reactions
e_ptr, e_sp, ok = _kernels.expand_orders(cn.r_ptr, cn.r_sp, cn.r_ord)
s_ptr, s_sp, s_coef = cn.s_ptr, cn.s_sp, cn.s_coef
zero_u = np.zeros(n); rk = _kernels.rhs_expanded_into
@cfunc(lsoda_sig)
def rhs(t, u, du, p):
    rk(carray(u, (n,)), carray(p, (n_k,)), zero_u, e_ptr, e_sp, s_ptr, s_sp, s_coef, carray(du, (n,)))
t_eval = np.arange(0.0, 673.0); k = cn.rate_constants()
lsoda(rhs.address, cn.x0, t_eval, data=k, rtol=1e-6, atol=1e-12, mxstep=100000)
first = time.perf_counter() - t0
for i in range(200):
    lsoda(rhs.address, cn.x0, t_eval, data=k * (1.0 + i / 200), rtol=1e-6, atol=1e-12, mxstep=100000)
print(first, peak_mib())
""",
}


# Peak resident memory of this process image. ru_maxrss would be wrong here: Linux carries it over
# from the forking parent across exec, so every child would report the benchmark's own peak.
PEAK = """
def peak_mib():
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return float(line.split()[1]) / 1024
    return float('nan')
"""


def starts(repeat: int) -> list[tuple[str, str, float, float]]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        sbml = str(Path(tmp) / "il6.xml")
        il6sim.to_sbml(il6sim.load_model("il6"), sbml)
        for name, code in START_CODE.items():
            src = code.replace("__ROOT__", repr(str(ROOT))).replace("__SBML__", repr(sbml)).replace("__PEAK__", PEAK)
            kinds = ["cold", "warm"] if name.startswith(("il6sim jit", "numba alone")) else ["new process"]
            # A file, not -c (numba caches only functions defined in files), written once: a newer
            # mtime would invalidate numba's cache of it.
            script = Path(tmp) / f"start_{len(out)}.py"
            script.write_text(src)
            for kind in kinds:
                firsts, mems = [], []
                for _ in range(repeat if kind != "cold" else 1):
                    cache = Path(tmp) / f"cache-{name.replace(' ', '_')}"
                    if kind == "cold":
                        subprocess.run(["rm", "-rf", str(cache)], check=True)
                    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
                    res = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp, check=True,
                                         capture_output=True, text=True)
                    first, mem = map(float, res.stdout.split()[-2:])
                    firsts.append(first)
                    mems.append(mem)
                out.append((name, kind, statistics.median(firsts), max(mems)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--slow-rows", type=int, default=20, help="rows for the two scipy runners")
    parser.add_argument("--ref-rows", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--starts", action="store_true", help="also time cold/warm starts and memory")
    parser.add_argument("--only-starts", action="store_true", help="only the start-up and memory table")
    args = parser.parse_args()
    from importlib.metadata import version

    import numbalsoda  # noqa: F401
    import roadrunner

    print(f"# {time.strftime('%Y-%m-%d')}; {cpu_name()}, {os.cpu_count()} logical CPUs; python "
          f"{platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}, "
          f"il6sim {il6sim.__version__}, libroadrunner {roadrunner.__version__}, numbalsoda {version('numbalsoda')}")
    print(f"# {args.rows} rows (scipy runners: first {args.slow_rows}), median of {args.repeat}; rtol {RTOL:g}, "
          f"atol {ATOL:g} nM; errors vs Radau rtol 1e-10 on {args.ref_rows} rows")
    t_out = np.arange(0.0, 28 * 24.0 + 1)
    drugs = () if args.only_starts else ("tocilizumab", "siltuximab")
    results = [(name, *bench_drug(name, args, t_out)) for name in drugs]

    print("\n| model | runner | per simulation | / libRoadRunner | / numbalsoda (1 thread) | max rel. error | failed |")
    print("|---|---|---|---|---|---|---|")
    for drug_name, med, errors, failed, times in results:
        for runner, value in med.items():
            print(f"| il6 + {drug_name} | {runner} | {value * 1e3:.3f} ms | {value / med['libRoadRunner']:.3f} | "
                  f"{value / med['numbalsoda LSODA, 1 thread']:.3f} | {errors[runner]:.1e} | {failed[runner]} |")
        speed2 = med["il6sim jit, 1 thread"] / med["il6sim jit, 2 threads"]
        print(f"| il6 + {drug_name} | il6sim jit: 2-thread throughput / 1-thread | {speed2:.2f}x | | | | |")
        jit1 = "il6sim jit, 1 thread"
        print(f"| il6 + {drug_name} | paired ratios (median of per-repeat ratios) | 2 threads "
              f"{paired(times, jit1, 'il6sim jit, 2 threads'):.2f}x | "
              f"{paired(times, jit1, 'libRoadRunner'):.3f} | {paired(times, jit1, 'numbalsoda LSODA, 1 thread'):.3f} | | |")
    if results:
        print(f"| (machine) | compute-bound numba loop: 2-thread throughput / 1-thread | "
              f"{two_thread_ceiling(args.repeat):.2f}x | | | | |")
    if args.starts or args.only_starts:
        print("\n| runner | start | new process to first result (median) | peak RSS after 200 rows |")
        print("|---|---|---|---|")
        for name, kind, first, mem in starts(args.repeat):
            print(f"| {name} | {kind} | {first:.2f} s | {mem:.0f} MiB |")


if __name__ == "__main__":
    main()
