"""Sweeps on a Dask cluster: the same numbers as the local run, bit for bit, for 1, 2 and 4 workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import il6sim.sweeps as sw

distributed = pytest.importorskip("dask.distributed")

DATA = {"sweep": {"scenario": "covid_severe", "days": 10, "step": "12 h", "seed": 3, "rows": 6, "chunk_size": 2,
                  "observables": ["il6_free_pg_ml", "crp_mg_l"], "metrics": ["peak", "auc", "inhibition"]},
        "factors": [{"drug": ["tocilizumab", "none"]},
                    {"genotype": {"variant": "rs2228145", "frequencies": {"AA": 0.4, "AC": 0.45, "CC": 0.15}}},
                    {"parameter": "k_il6_basal", "sampler": "lhs", "low": "0.0003 nM/h", "high": "0.003 nM/h"}]}


def _same(a: sw.SweepResult, b: sw.SweepResult) -> None:
    np.testing.assert_array_equal(a.parameters, b.parameters)
    np.testing.assert_array_equal(a.status, b.status)
    assert a.messages.tolist() == b.messages.tolist()
    assert {k: v.tolist() for k, v in a.labels.items()} == {k: v.tolist() for k, v in b.labels.items()}
    for name, values in a.metrics.items():
        np.testing.assert_array_equal(b.metrics[name], values)  # bit for bit (NaN == NaN)
    np.testing.assert_array_equal(a.timecourses(), b.timecourses())


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> sw.SweepResult:
    out = tmp_path_factory.mktemp("local")
    sw.sweep(sw.spec_from_dict(DATA), out)
    return sw.load_sweep(out)


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_threaded_workers_equal_the_local_run(workers: int, tmp_path: Path, local: sw.SweepResult) -> None:
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        seen: list[int] = []
        res = sw.sweep(sw.spec_from_dict(DATA), tmp_path, client=client, progress=lambda d, n: seen.append(d))
    assert res.ok.all() and len(res.status) == 12 and sorted(seen) == seen and seen[-1] == 12
    _same(local, sw.load_sweep(tmp_path))


def test_worker_processes_and_the_command_line(tmp_path: Path, local: sw.SweepResult) -> None:
    from il6sim.cli import main

    spec = tmp_path / "spec.toml"
    spec.write_text(
        '[sweep]\nscenario = "covid_severe"\ndays = 10\nstep = "12 h"\nseed = 3\nrows = 6\nchunk_size = 2\n'
        'observables = ["il6_free_pg_ml", "crp_mg_l"]\nmetrics = ["peak", "auc", "inhibition"]\n'
        '[[factors]]\ndrug = ["tocilizumab", "none"]\n'
        '[[factors]]\ngenotype = { variant = "rs2228145", frequencies = { AA = 0.4, AC = 0.45, CC = 0.15 } }\n'
        '[[factors]]\nparameter = "k_il6_basal"\nsampler = "lhs"\nlow = "0.0003 nM/h"\nhigh = "0.003 nM/h"\n')
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--scheduler", cluster.scheduler_address]) == 0
    _same(local, sw.load_sweep(tmp_path / "out"))
