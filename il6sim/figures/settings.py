"""(g) Disease settings: IL-6 levels in each and the inhibition standard doses achieve.

Each scenario (COVID-19 moderate and severe, ARDS, sepsis, CRS) is simulated untreated and with
each shipped binder at its standard dose, given at the scenario's admission time or, when the
scenario has none, when its inflammatory drive starts (the first infusion in the scenario file).
Inhibition of a readout is 1 − AUC/AUC(untreated) from the dose to the end.

>>> from il6sim.shipped import load_model
>>> t = compute_settings(load_model("il6"), scenarios=["sepsis"], drugs=["sarilumab"])
>>> list(t["drug"])
['untreated', 'sarilumab']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..drugs import load_drug
from ..network import Network
from ..protocol import Infusion
from ._common import SIGNALS, binder_names, inhibition_pct, scenario_run, simulate_run, time_grid
from .style import CLASS_COLOURS, SEQUENTIAL_CMAP, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["SCENARIOS", "compute_settings", "plot_settings", "settings_figure"]

SCENARIOS = ("covid_moderate", "covid_severe", "ards", "sepsis", "crs")
TITLES = {"covid_moderate": "COVID-19\nmoderate", "covid_severe": "COVID-19\nsevere", "ards": "ARDS",
          "sepsis": "sepsis", "crs": "CRS"}


def compute_settings(network: Network, *, scenarios: Sequence[str] = SCENARIOS, drugs: Sequence[str] | None = None,
                     step_h: float = 3.0) -> pd.DataFrame:
    """One row per (scenario, run): peak IL-6 and percent inhibition of each mode and of CRP.

    Parameters
    ----------
    network : the IL-6 model.
    scenarios : scenario names or paths.
    drugs : binders at their standard dose (default: every shipped binder).
    step_h : output interval, h (peaks and AUCs use this grid).

    Returns
    -------
    DataFrame: ``scenario``, ``drug``, ``target_class``, ``dose_day``, ``il6_free_peak_pg_ml``,
    ``il6_total_peak_pg_ml``, ``crp_peak_mg_l``, and ``<readout>_inhibition_pct`` for the three
    signals and CRP.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_settings(load_model("il6"), scenarios=["crs"], drugs=["siltuximab"])
    >>> float(t.set_index("drug").loc["untreated", "il6_free_peak_pg_ml"]) > 1000
    True
    """
    names = list(drugs) if drugs is not None else binder_names()
    rows: list[dict[str, Any]] = []
    for sc in scenarios:
        base = scenario_run(network, sc)
        s = base.scenario
        starts = [e.start_h for e in (s.protocol.sorted_events() if s else ()) if isinstance(e, Infusion)]
        at = s.admission_h if s and s.admission_h > 0 else (min(starts) if starts else 0.0)
        t = time_grid(base.duration_h, step_h)
        ref = simulate_run(base, t)
        runs = [("untreated", "untreated", ref)]
        for name in names:
            drug = load_drug(name)
            runs.append((drug.name, drug.target_class, simulate_run(scenario_run(network, sc, [{"drug": name, "at": at}]), t)))
        for label, cls, res in runs:
            after = t >= at
            row: dict[str, Any] = {"scenario": s.name if s else str(sc), "drug": label, "target_class": cls,
                                   "dose_day": at / 24,
                                   "il6_free_peak_pg_ml": float(np.max(res["il6_free_pg_ml"])),
                                   "il6_total_peak_pg_ml": float(np.max(res["il6_total_pg_ml"][after])),
                                   "crp_peak_mg_l": float(np.max(res["crp_mg_l"][after]))}
            for o in (*SIGNALS, "crp_mg_l"):
                row[f"{o}_inhibition_pct"] = inhibition_pct(t, res[o], ref[o], at)
            rows.append(row)
    return pd.DataFrame(rows)


def plot_settings(table: pd.DataFrame) -> Figure:
    """Untreated peak IL-6 per setting (bars) and heat maps of inhibition (drug x setting) per mode.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> len(plot_settings(compute_settings(load_model("il6"), scenarios=["sepsis"], drugs=["olamkicept"])).axes)
    5
    """
    fig, axes = new_figure(1, 4, figsize=(20.0, 6.2), gridspec_kw={"width_ratios": [0.9, 1, 1, 1]})
    scen = list(dict.fromkeys(table["scenario"]))
    untreated = table[table.drug == "untreated"].set_index("scenario").loc[scen]
    x = np.arange(len(scen))
    ax = axes[0]
    ax.bar(x, untreated["il6_free_peak_pg_ml"], color=CLASS_COLOURS["untreated"], width=0.6)
    for xi, v in zip(x, untreated["il6_free_peak_pg_ml"]):
        ax.text(xi, v * 1.15, f"{v:.3g}", ha="center", fontsize=10)
    ax.set_yscale("log")
    ax.set_xticks(x, [TITLES.get(s, s) for s in scen], fontsize=10)
    ax.set_ylabel("untreated peak free serum IL-6 (pg/ml)")
    ax.set_title("IL-6 in each setting")
    treated = table[table.drug != "untreated"]
    drugs = list(dict.fromkeys(treated["drug"]))
    titles = {"classic_signal": "classic signalling", "trans_signal": "trans-signalling",
              "trans_presentation_signal": "trans-presentation"}
    im = None
    for ax, sig in zip(axes[1:], SIGNALS):
        z = treated.pivot(index="drug", columns="scenario", values=f"{sig}_inhibition_pct").loc[drugs, scen].to_numpy()
        im = ax.imshow(z, cmap=SEQUENTIAL_CMAP, vmin=0, vmax=100, aspect="auto")
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                ax.text(j, i, f"{z[i, j]:.0f}", ha="center", va="center", fontsize=10,
                        color="black" if z[i, j] > 55 else "white")
        ax.set_xticks(range(len(scen)), [TITLES.get(s, s) for s in scen], fontsize=10)
        ax.set_yticks(range(len(drugs)), drugs if sig == SIGNALS[0] else [""] * len(drugs))
        ax.set_title(f"{titles[sig]}: % inhibition")
        ax.spines[:].set_visible(False)
    if im is not None:
        fig.colorbar(im, ax=axes[1:], label="inhibition of signal AUC from dosing (%)", shrink=0.8)
    fig.suptitle("Disease settings: untreated peak IL-6, and the inhibition each drug's standard dose achieves "
                 "(negative: more signal than untreated)")
    return fig


def settings_figure(network: Network, *, scenarios: Sequence[str] = SCENARIOS, drugs: Sequence[str] | None = None,
                    step_h: float = 3.0) -> tuple[pd.DataFrame, Figure]:
    """Data table and figure (g).

    >>> from il6sim.shipped import load_model
    >>> table, fig = settings_figure(load_model("il6"), scenarios=["ards"], drugs=["tocilizumab"])
    >>> len(table)
    2
    """
    table = compute_settings(network, scenarios=scenarios, drugs=drugs, step_h=step_h)
    return table, plot_settings(table)
