"""(f) Timing: the same drug early or late after admission, with and without dexamethasone.

Severe COVID-19: the drug (tocilizumab by default, at its standard dose) at admission ("early")
or ``delay_d`` days later ("late"), each with or without dexamethasone 6 mg daily for 10 days
from admission (``models/drugs/dexamethasone.toml``), plus the untreated run and dexamethasone
alone. Inhibition is 1 − AUC/AUC(untreated) from admission to the end.

>>> from il6sim.shipped import load_model
>>> t = compute_timing(load_model("il6"), step_h=24.0)
>>> sorted(set(t["run"]))[:3]
['dexamethasone alone', 'early', 'early + dexamethasone']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..network import Network
from ._common import LABELS, inhibition_pct, scenario_run, simulate_run, time_grid
from .style import OKABE_ITO, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["compute_timing", "plot_timing", "timing_figure"]

READOUTS = ("il6_free_pg_ml", "crp_mg_l", "classic_signal", "trans_signal")
STYLE = {"untreated": (OKABE_ITO[0], "-"), "dexamethasone alone": (OKABE_ITO[7], ":"),
         "early": (OKABE_ITO[5], "-"), "early + dexamethasone": (OKABE_ITO[5], "--"),
         "late": (OKABE_ITO[6], "-"), "late + dexamethasone": (OKABE_ITO[6], "--")}


def compute_timing(network: Network, *, drug: str = "tocilizumab", scenario: str = "covid_severe",
                   delay_d: float = 4.0, step_h: float = 6.0) -> pd.DataFrame:
    """Long table: ``run``, ``drug``, ``drug_day``, ``dex``, ``time_d``, readouts and ``*_inhibition_pct``.

    Parameters
    ----------
    network : the IL-6 model.
    drug : the drug given early or late (standard dose).
    scenario : a scenario with an admission time.
    delay_d : days after admission for the late dose.
    step_h : output interval, h.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_timing(load_model("il6"), step_h=24.0)
    >>> inh = t.groupby("run")["classic_signal_inhibition_pct"].first()
    >>> bool(inh["early"] > inh["late"])
    True
    """
    base = scenario_run(network, scenario)
    admit = base.scenario.admission_h if base.scenario else 0.0
    t = time_grid(base.duration_h, step_h)
    dex = {"drug": "dexamethasone", "at": admit}
    runs: dict[str, tuple[list[dict[str, Any]], float, bool]] = {
        "untreated": ([], np.nan, False),
        "dexamethasone alone": ([dex], np.nan, True),
        "early": ([{"drug": drug, "at": admit}], admit, False),
        "early + dexamethasone": ([{"drug": drug, "at": admit}, dex], admit, True),
        "late": ([{"drug": drug, "at": admit + 24 * delay_d}], admit + 24 * delay_d, False),
        "late + dexamethasone": ([{"drug": drug, "at": admit + 24 * delay_d}, dex], admit + 24 * delay_d, True),
    }
    results = {name: simulate_run(scenario_run(network, scenario, groups), t) for name, (groups, _, _) in runs.items()}
    frames = []
    for name, (_, at, with_dex) in runs.items():
        res = results[name]
        cols: dict[str, Any] = {"run": name, "drug": "" if np.isnan(at) else drug, "drug_day": at / 24,
                                "dex": with_dex, "admission_day": admit / 24, "time_d": t / 24}
        for o in READOUTS:
            cols[o] = np.asarray(res[o])
            cols[f"{o}_inhibition_pct"] = inhibition_pct(t, res[o], results["untreated"][o], admit)
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def plot_timing(table: pd.DataFrame) -> Figure:
    """A 2 x 2 grid of time courses (free IL-6, CRP, classic and trans-signal), one line per run.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> len(plot_timing(compute_timing(load_model("il6"), step_h=24.0)).axes)
    4
    """
    fig, axes = new_figure(2, 2, figsize=(19.0, 9.0))
    admit = float(table["admission_day"].iloc[0])
    drug = next(d for d in table["drug"] if d)
    for ax, obs in zip(axes, READOUTS):
        for name, d in table.groupby("run", sort=False):
            colour, ls = STYLE.get(str(name), (OKABE_ITO[3], "-"))
            inh = float(d[f"{obs}_inhibition_pct"].iloc[0])
            day = float(d["drug_day"].iloc[0])
            label = str(name) if np.isnan(day) else f"{drug} day {day:g}{' + dexamethasone' if d['dex'].iloc[0] else ''}"
            ax.plot(d["time_d"], d[obs], color=colour, ls=ls, lw=2.6 if name == "untreated" else 2.0,
                    label=label if name == "untreated" else f"{label}: {-inh:+.0f} %")
        ax.axvline(admit, color="grey", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_xlabel("time since symptom onset (days); admission dashed")
        ax.set_ylabel(LABELS[obs])
        ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                  title="AUC from admission\nvs untreated", title_fontsize=9)
    fig.suptitle(f"Timing in severe COVID-19: {drug} at admission or later, with or without dexamethasone")
    return fig


def timing_figure(network: Network, *, drug: str = "tocilizumab", scenario: str = "covid_severe",
                  delay_d: float = 4.0, step_h: float = 6.0) -> tuple[pd.DataFrame, Figure]:
    """Data table and figure (f).

    >>> from il6sim.shipped import load_model
    >>> table, fig = timing_figure(load_model("il6"), step_h=48.0)
    >>> table["run"].nunique()
    6
    """
    table = compute_timing(network, drug=drug, scenario=scenario, delay_d=delay_d, step_h=step_h)
    return table, plot_timing(table)
