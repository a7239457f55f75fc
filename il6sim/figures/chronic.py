"""(o) Draw chronic therapy, then infection: time courses around the infection, one line per run.

Draws the long table of :func:`il6sim.analysis.chronic.compute_chronic_infection`; computes
nothing. Time is in days since the infection; the untreated twins of the different infection days
coincide (the chronic disease is at steady state), so one untreated line is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .labels import LABELS
from .style import OKABE_ITO, drug_colour, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_chronic_infection"]

_LINESTYLE = {"after a dose": "-", "at trough": "--"}


def plot_chronic_infection(table: pd.DataFrame) -> Figure:
    """A grid against days since infection: free IL-6, CRP, classic and trans-signal, and with the
    disease layer the viral load and the lung tissue damage.

    Parameters
    ----------
    table : long table with ``run``, ``drug``, ``phase``, ``infection_day``, ``time_d``,
        ``days_since_dose``, ``drug_ug_ml``, a column per readout and its inhibition column
        ``inhibition[infection:end]:<readout> (%)``.

    Examples
    --------
    >>> from il6sim.analysis.chronic import compute_chronic_infection
    >>> from il6sim.shipped import load_model
    >>> len(plot_chronic_infection(compute_chronic_infection(load_model("il6"), step_h=24.0)).axes)
    6
    """
    prefix = "inhibition[infection:end]:"
    readouts = [c[len(prefix):].removesuffix(" (%)") for c in table.columns if c.startswith(prefix)]
    outcomes = [o for o in ("viral_load_copies_ml", "tissue_damage") if o in table.columns]
    fig, axes = new_figure(3 if outcomes else 2, 2, figsize=(16.0, 14.0 if outcomes else 10.0))
    untreated = table[table["phase"] == "untreated"]
    first = untreated[untreated["infection_day"] == untreated["infection_day"].min()]
    treated = table[table["phase"] != "untreated"]
    notes = []
    for name, d in treated.groupby("run", sort=False):
        notes.append(f"{name}: infected day {float(d['infection_day'].iloc[0]):g}, "
                     f"{float(d['days_since_dose'].iloc[0]):g} d after a dose, drug {float(d['drug_ug_ml'].iloc[0]):.0f} ug/ml")
    for ax, obs in zip(axes, readouts + outcomes):
        ax.plot(first["time_d"], first[obs], color=OKABE_ITO[0], lw=2.6, label="untreated")
        for _, d in treated.groupby("run", sort=False):
            drug, phase = str(d["drug"].iloc[0]), str(d["phase"].iloc[0])
            if obs in readouts:
                what = f"{-float(d[f'{prefix}{obs} (%)'].iloc[0]):+.0f} % AUC"
            elif obs == "viral_load_copies_ml":
                what = f"clearance {float(d['clearance_delay_d'].iloc[0]):+.1f} d"
            else:
                what = f"damage AUC {-float(d['damage_avoided_pct'].iloc[0]):+.0f} %"
            ax.plot(d["time_d"], d[obs], color=drug_colour(drug), ls=_LINESTYLE.get(phase, ":"), lw=2.0,
                    label=f"{drug}, {phase}: {what}")
        ax.axvline(0.0, color="grey", lw=0.8, ls="--")
        if obs != "tissue_damage":
            ax.set_yscale("log")
        if obs == "viral_load_copies_ml":
            ax.set_ylim(bottom=1.0)
        ax.set_xlabel("days since infection (dashed line); therapy before and through it")
        ax.set_ylabel(LABELS.get(obs, obs))
        ax.legend(frameon=False, fontsize=8, loc="best", title="vs the same patient untreated", title_fontsize=8)
    fig.suptitle("Rheumatoid arthritis on chronic IL-6R blockade, then severe COVID-19\n" + "; ".join(notes[:2])
                 + "\n" + "; ".join(notes[2:]), fontsize=10)
    return fig
