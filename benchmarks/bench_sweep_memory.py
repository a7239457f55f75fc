"""Peak memory of sweeps as the number of runs grows: results stream to disk, memory stays flat.

Each size runs in a fresh process (``--child``) that reports its own peak RSS, so sizes do not
share a high-water mark. The sweep: the severe COVID-19 scenario with tocilizumab at day 3 (or half
way through a shorter run: a dose event inside the run), hourly output of the five main observables (free IL-6, total sIL-6R,
CRP, classic and trans-signalling) kept as time courses in the chunk files, metrics peak/AUC, and
a log-uniform IL-6 production factor. ``--days`` shortens the simulated time (say so when
reporting). Usage::

    python benchmarks/bench_sweep_memory.py --rows 1000 10000 100000 --days 28 --out /tmp/bench_sweeps
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

OBS = ["il6_free_pg_ml", "sil6r_total_ng_ml", "crp_mg_l", "classic_signal", "trans_signal"]


TINY = """[model]
name = "tiny_binding"
[compartments.plasma]
volume = "1 l"
source = "assumed: benchmark model"
[species.l]
compartment = "plasma"
initial = "10 nM"
source = "assumed"
[species.r]
compartment = "plasma"
initial = "5 nM"
source = "assumed"
[species.l__r]
compartment = "plasma"
initial = "0 nM"
source = "assumed"
[parameters.kon]
value = "1 1/(nM*h)"
source = "assumed"
[parameters.kd]
value = "2 nM"
source = "assumed"
[parameters.k_syn]
value = "1 nM/h"
source = "assumed"
[parameters.k_deg]
value = "0.1 1/h"
source = "assumed"
[[reactions]]
equation = "l + r <=> l__r"
forward = "kon"
kd = "kd"
[[reactions]]
equation = "-> l"
rate = "k_syn"
[[reactions]]
equation = "l ->"
rate = "k_deg"
[observables.complex_nM]
terms = { l__r = 1 }
unit = "nM"
"""


def spec(rows: int, days: float, model: str = "il6", root: Path | None = None) -> dict:
    if model == "tiny":  # the sweep machinery at scale on a 3-species model (not the IL-6 model)
        assert root is not None
        path = root / "tiny_binding.toml"
        path.write_text(TINY)
        return {"sweep": {"model": str(path), "days": days, "step": "1 h", "seed": 1, "rows": rows,
                          "chunk_size": 500, "observables": ["complex_nM"], "metrics": ["peak", "auc"]},
                "factors": [{"parameter": "k_syn", "sampler": "loguniform", "low": "0.5 nM/h", "high": "2 nM/h"}]}
    return {"sweep": {"scenario": "covid_severe", "days": days, "step": "1 h", "seed": 1, "rows": rows,
                      "chunk_size": 500, "observables": OBS, "metrics": ["peak", "auc"]},
            "factors": [{"parameter": "k_il6_basal", "sampler": "loguniform", "low": "2.5e-4 nM/h",
                         "high": "1e-3 nM/h"}],
            "drugs": [{"drug": "tocilizumab", "dose": "8 mg/kg", "at": f"{min(3.0, days / 2):g} d"}]}


def child(rows: int, days: float, out: Path, model: str) -> None:
    import numpy as np

    import il6sim.sweeps as sw

    t0 = time.perf_counter()
    res = sw.sweep(sw.spec_from_dict(spec(rows, days, model, out.parent)), out)
    wall = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
    size = sum(f.stat().st_size for f in out.glob("chunk-*.npz"))
    print(json.dumps({"rows": rows, "wall_s": wall, "peak_rss_mb": rss_mb, "disk_mb": size / 1e6,
                      "failed": int((~res.ok).sum()), "n_t": int(res.time_h.size),
                      "metrics_nan": int(np.isnan(res.metrics[res.manifest["metric_names"][0]]).sum())}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--days", type=float, default=28.0)
    ap.add_argument("--out", default="/tmp/il6sim_bench_sweeps")
    ap.add_argument("--keep", action="store_true", help="keep the chunk files")
    ap.add_argument("--model", choices=("il6", "tiny"), default="il6",
                    help="il6 (default) or tiny: a 3-species binding model with one observable, to show the "
                         "sweep machinery at 100,000 rows in minutes")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    root = Path(args.out)
    if args.child:
        root.mkdir(parents=True, exist_ok=True)
        child(args.child, args.days, root / f"rows{args.child}", args.model)
        return
    import numba
    import numpy as np

    import il6sim

    print(f"# il6sim {il6sim.__version__}, numpy {np.__version__}, numba {numba.__version__}, "
          f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    if args.model == "tiny":
        print(f"# tiny 3-species binding model (not IL-6), {args.days:g} days, hourly output of 1 observable "
              "written to disk, chunks of 500 rows")
    else:
        print(f"# severe COVID-19 + tocilizumab 8 mg/kg at day {min(3.0, args.days / 2):g}, {args.days:g} days, hourly output of "
              f"{len(OBS)} observables written to disk, chunks of 500 rows")
    print(f"{'rows':>8} {'wall s':>8} {'ms/row':>7} {'peak RSS MB':>12} {'chunk files MB':>15} {'failed':>6}")
    for rows in args.rows:
        out = root / f"rows{rows}"
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run([sys.executable, __file__, "--child", str(rows), "--days", str(args.days),
                               "--out", str(root), "--model", args.model], capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{rows:>8} {r['wall_s']:>8.1f} {1e3 * r['wall_s'] / rows:>7.2f} {r['peak_rss_mb']:>12.0f} "
              f"{r['disk_mb']:>15.0f} {r['failed']:>6}", flush=True)
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
