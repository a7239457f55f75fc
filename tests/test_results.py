"""Result objects: name indexing, units, provenance, save/load without pickle, DataFrame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from il6sim import Il6simError, Result, load_model, simulate
from il6sim.results import csv_column, split_csv_column


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


@pytest.fixture(scope="module")
def il6_result() -> Result:
    """The shipped model over four days (a span over 72 h: plots in days)."""
    return simulate("il6", np.arange(0.0, 97.0, 4.0))


def test_dataframe_and_csv(result: Result, tmp_path: Path) -> None:
    df = result.to_dataframe()
    assert list(df.columns) == ["time_h", "l", "r", "l__r"]
    np.testing.assert_array_equal(df["l__r"].to_numpy(), result["l__r"])
    out = tmp_path / "r.csv"
    result.to_csv(out)
    lines = out.read_text().splitlines()
    assert lines[0] == "time_h,l [nM],r [nM],l__r [nM]" and len(lines) == 7
    assert result.to_csv(units=False).splitlines()[0] == "time_h,l,r,l__r"  # the DataFrame's names
    assert not list(tmp_path.glob(".*.tmp"))
    back = pd.read_csv(out)
    back.columns = [split_csv_column(c)[0] for c in back.columns]
    assert list(back.columns) == list(df.columns)
    np.testing.assert_array_equal(back["l__r"].to_numpy(), result["l__r"])  # repr() floats round-trip exactly


def test_atomic_write_gives_the_mode_of_a_plain_open(tmp_path) -> None:
    import os

    from il6sim.results import atomic_write

    atomic_write(tmp_path / "a.txt", b"x")
    with open(tmp_path / "b.txt", "wb") as fh:
        fh.write(b"x")
    assert os.stat(tmp_path / "a.txt").st_mode == os.stat(tmp_path / "b.txt").st_mode


# ----- display ---------------------------------------------------------------------------------


def test_repr_is_a_short_summary(il6_result: Result, result: Result) -> None:
    text = repr(il6_result)
    assert len(text) < 200 and "\n" not in text, text
    n_sp, n_obs = len(il6_result.species), len(il6_result.observable_ids)
    assert text.startswith(f"Result('il6', success, 25 times 0–96 h, {n_sp} species, {n_obs} observables: ")
    assert "il6_free_pg_ml" in text and text.endswith(", …)")
    assert repr(result) == "Result('binding', success, 6 times 0–5 h, 3 species: l, r, l__r, 0 observables)"


def test_repr_of_a_failed_run_says_why(result: Result) -> None:
    failed = Result(result.time_h, result.species, result.values,
                    provenance={"model": "m", "status": "failed", "message": "step size too small\nat t=3"})
    lines = repr(failed).splitlines()
    assert lines[0].startswith("Result('m', failed, ") and lines[1] == "  message: step size too small at t=3"


def test_repr_html_lists_observables_with_units(il6_result: Result) -> None:
    page = il6_result._repr_html_()
    assert page.startswith("<table>") and page.endswith("</table>") and len(page) < 6000
    assert page.count("<tr>") == 1 + len(il6_result.observable_ids)  # header + one row per observable
    first, last = il6_result["crp_mg_l"][[0, -1]]
    assert f"<code>crp_mg_l</code></td><td>mg/l</td><td>{first:.4g}</td><td>{last:.4g}</td>" in page
    assert "il6</b>, success, 25 times 0–96 h" in page


def test_steady_state_repr_is_short() -> None:
    from il6sim import steady_state

    ss = steady_state(load_model("models/examples/binding.toml"))
    assert len(repr(ss)) < 120 and "converged=True" in repr(ss)


# ----- CSV headers carry units ------------------------------------------------------------------


def test_csv_column_rule() -> None:
    cases = {("time_h", "h"): "time_h", ("il6_free_pg_ml", "pg/ml"): "il6_free_pg_ml",
             ("crp_mg_l", "mg/l"): "crp_mg_l", ("tcz_total_ug_ml", "µg/ml"): "tcz_total_ug_ml",
             ("il6", "nM"): "il6 [nM]", ("classic_signal", "molecule/cell"): "classic_signal [molecule/cell]",
             ("mil6r_occupancy", "1"): "mil6r_occupancy [1]", ("path", "h"): "path [h]",
             ("crp_mg_l", "pg/ml"): "crp_mg_l [pg/ml]"}  # a unit suffix that is not its unit is not enough
    for (name, unit), header in cases.items():
        assert csv_column(name, unit) == header
        assert split_csv_column(header) == (name, None if header == name else unit)


def test_every_csv_column_of_the_shipped_model_says_its_unit(il6_result: Result) -> None:
    header = il6_result.to_csv().splitlines()[0].split(",")
    assert header[:2] == ["time_h", "il6 [nM]"]
    assert {"il6_free_pg_ml", "crp_mg_l", "classic_signal [molecule/cell]"} <= set(header)
    units = il6_result.units
    for column in header:
        name, unit = split_csv_column(column)
        assert unit == units[name] or (unit is None and name.endswith("_" + units[name].replace("/", "_"))), column
    assert [split_csv_column(c)[0] for c in header] == list(il6_result.to_dataframe().columns)


# ----- plot -------------------------------------------------------------------------------------


@pytest.fixture
def plt():
    from il6sim.figures.style import use_agg

    use_agg()
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_draws_the_result_arrays(il6_result: Result, plt) -> None:
    ax = il6_result.plot("il6_free_pg_ml", "il6_total_pg_ml", logy=True)
    assert [line.get_label() for line in ax.get_lines()] == ["il6_free_pg_ml", "il6_total_pg_ml"]
    for line in ax.get_lines():
        np.testing.assert_array_equal(line.get_xdata(), il6_result.time_h / 24.0)  # 96 h > 72 h: days
        np.testing.assert_array_equal(line.get_ydata(), il6_result[line.get_label()])
    assert ax.get_xlabel() == "time (d)" and ax.get_ylabel() == "pg/ml" and ax.get_yscale() == "log"
    assert ax.get_legend() is not None and ax.get_title() == "il6"


def test_plot_hours_and_given_axes(result: Result, plt) -> None:
    fig, given = plt.subplots()
    ax = result.plot("l__r", ax=given)
    assert ax is given and ax.get_xlabel() == "time (h)" and ax.get_ylabel() == "l__r (nM)"
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), result.time_h)
    np.testing.assert_array_equal(line.get_ydata(), result["l__r"])
    default = result.plot()  # no observables: every species, one unit, one Axes
    assert [line.get_label() for line in default.get_lines()] == ["l", "r", "l__r"]
    assert default.get_ylabel() == "concentration (nM)"


def test_plot_one_axes_per_unit(il6_result: Result, plt) -> None:
    from matplotlib.figure import Figure

    fig = il6_result.plot()  # default: every observable, several units
    assert isinstance(fig, Figure)
    units = list(dict.fromkeys(il6_result.observable_units))
    assert len(fig.axes) == len(units)
    for ax, unit in zip(fig.axes, units):
        names = [line.get_label() for line in ax.get_lines()]
        assert names == [o for o, u in zip(il6_result.observable_ids, il6_result.observable_units) if u == unit]
        assert unit in ax.get_ylabel()
        for line in ax.get_lines():
            np.testing.assert_array_equal(line.get_ydata(), il6_result[line.get_label()])
    assert fig.axes[-1].get_xlabel() == "time (d)"


def test_plot_refuses_bad_names(il6_result: Result, plt) -> None:
    with pytest.raises(LookupError, match="did you mean 'il6_free_pg_ml'"):
        il6_result.plot("il6_free_pg_mll")
    with pytest.raises(Il6simError, match="time_h is the x axis"):
        il6_result.plot("time_h")
    _, ax = plt.subplots()
    with pytest.raises(Il6simError, match=r"several units on one Axes \(pg/ml: il6_free_pg_ml; mg/l: crp_mg_l\)"):
        il6_result.plot("il6_free_pg_ml", "crp_mg_l", ax=ax)


def test_results_module_does_not_import_matplotlib_at_top_level() -> None:
    import ast

    tree = ast.parse(Path("il6sim/results.py").read_text())
    top = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
           and n.col_offset == 0]
    assert top and not [t for t in top if "matplotlib" in t], top
