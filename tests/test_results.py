"""Result objects: name indexing, units, provenance, save/load without pickle, DataFrame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from il6sim import Il6simError, Result, load_model, simulate


@pytest.fixture(scope="module")
def result() -> Result:
    return simulate(load_model("models/examples/binding.toml"), np.linspace(0, 5, 6), parameters={"kon": 2.0})


def test_indexing_units_and_provenance(result: Result) -> None:
    assert result["l__r"].shape == (6,)
    assert result.units["l"] == "nM" and result.units["time_h"] == "h"
    prov = result.provenance
    assert prov["status"] == "success" and prov["parameters"]["kon"] == 2.0
    assert prov["parameter_overrides"] == {"kon": 2.0}
    assert len(prov["network_hash"]) == 16 and prov["il6sim_version"]
    assert prov["solver_options"]["method"] == "Rodas5P" and prov["solver_stats"]["nfev"] > 0
    with pytest.raises(LookupError, match="did you mean 'l__r'"):
        result["l_r"]


def test_result_is_immutable(result: Result) -> None:
    with pytest.raises(ValueError):
        result["l"][0] = 1.0
    with pytest.raises(AttributeError):
        result.time_h = np.zeros(6)  # type: ignore[misc]


def test_save_and_load_round_trip_without_pickle(result: Result, tmp_path: Path) -> None:
    path = tmp_path / "r.npz"
    result.save(path)
    with np.load(path, allow_pickle=False) as z:  # loads with pickle disabled
        assert json.loads(str(z["meta"]))["format"] == "il6sim.Result"
    back = Result.load(path)
    np.testing.assert_array_equal(back.values, result.values)
    assert back.species == result.species and back.provenance == json.loads(json.dumps(result.provenance))


def test_load_refuses_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(Il6simError, match="cannot read result file"):
        Result.load(bad)


def test_dataframe_and_csv(result: Result, tmp_path: Path) -> None:
    df = result.to_dataframe()
    assert list(df.columns) == ["time_h", "l", "r", "l__r"]
    np.testing.assert_array_equal(df["l__r"].to_numpy(), result["l__r"])
    out = tmp_path / "r.csv"
    result.to_csv(out)
    lines = out.read_text().splitlines()
    assert lines[0] == "time_h,l,r,l__r" and len(lines) == 7
    assert not list(tmp_path.glob(".*.tmp"))


def test_atomic_write_gives_the_mode_of_a_plain_open(tmp_path) -> None:
    import os

    from il6sim.results import atomic_write

    atomic_write(tmp_path / "a.txt", b"x")
    with open(tmp_path / "b.txt", "wb") as fh:
        fh.write(b"x")
    assert os.stat(tmp_path / "a.txt").st_mode == os.stat(tmp_path / "b.txt").st_mode
