"""SIGKILL a running sweep at random moments, resume it, and get the uninterrupted numbers bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import il6sim.sweeps as sw
from il6sim.errors import Il6simError

SPEC = """[sweep]
scenario = "covid_severe"
days = 7
step = "6 h"
seed = 4
rows = 80
chunk_size = 2
observables = ["il6_free_pg_ml", "crp_mg_l"]
metrics = ["peak", "auc", "inhibition"]

[[drugs]]
drug = "tocilizumab"
at = "3 d"

[[factors]]
parameter = "k_il6_basal"
sampler = "lhs"
low = "0.0003 nM/h"
high = "0.003 nM/h"
"""


def _check_files(out: Path, digest: str) -> int:
    """Every chunk file on disk is whole and belongs to the sweep; returns how many there are."""
    files = sorted(out.glob("chunk-*.npz"))
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            assert str(z["digest"]) == digest
            arrays = {k: z[k] for k in z.files}  # reads (and CRC-checks) every array
        assert arrays["status"].shape == (2,) and arrays["metrics"].shape == (2, 6)
    json.loads((out / "manifest.json").read_text())  # never half-written
    return len(files)


@pytest.mark.slow
def test_kill_and_resume_gives_the_uninterrupted_numbers(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(SPEC)
    spec = sw.load_sweep_spec(path)
    t0 = time.perf_counter()
    reference = sw.sweep(spec)
    per_chunk = (time.perf_counter() - t0) / 40
    assert reference.status.tolist() == [0] * 80
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "il6sim.cli", "sweep", str(path), "--out", str(out), "--resume"]
    rng = np.random.default_rng(2026)
    counts = []
    for k in range(5):
        start = time.time()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # the first kill lands while the run starts up; the others while it writes chunks: after its
        # first new chunk file, at a random moment within ~5 chunks of work (so 5 kills never finish it)
        anchor = [out / "manifest.json"] if k == 0 else None
        while proc.poll() is None:
            files = anchor or [f for f in out.glob("chunk-*.npz") if f.stat().st_mtime >= start]
            if files and files[0].exists() and files[0].stat().st_mtime >= start:
                break
            time.sleep(0.005)
        time.sleep(float(rng.uniform(0.0, 1.0)) * (5 * per_chunk if k else 1.0))
        assert proc.poll() is None, "the sweep finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        counts.append(_check_files(out, spec.digest()))
    assert counts == sorted(counts) and 0 < counts[-1] < 40, counts  # progress kept, never complete
    with pytest.raises(Il6simError, match="did not finish"):
        sw.load_sweep(out)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _check_files(out, spec.digest()) == 40 and not list(out.glob(".*.tmp"))
    res = sw.load_sweep(out)
    np.testing.assert_array_equal(res.parameters, reference.parameters)
    np.testing.assert_array_equal(res.status, reference.status)
    assert res.messages.tolist() == reference.messages.tolist()
    for name, values in reference.metrics.items():
        np.testing.assert_array_equal(res.metrics[name], values)
    np.testing.assert_array_equal(res.timecourses(), reference.timecourses())
    print("chunk files after each kill:", counts)
