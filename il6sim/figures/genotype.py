"""(e) rs2228145 (IL6R Asp358Ala) genotypes: baseline and the response to infection.

Each genotype scales the model's parameters as its ``[genotypes.rs2228145]`` table says (the C
allele raises shedding of membrane IL-6R). Every run starts from that genotype's own healthy
steady state, so t = 0 is the genotype's baseline, and then goes through severe COVID-19 untreated.

>>> from il6sim.shipped import load_model
>>> t = compute_genotypes(load_model("il6"), step_h=48.0)
>>> sorted(set(t["genotype"]))
['AA', 'AC', 'CC']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..network import Network
from ._common import LABELS, scenario_run, simulate_run, time_grid
from .style import OKABE_ITO, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["compute_genotypes", "genotype_figure", "plot_genotypes"]

READOUTS = ("il6_free_pg_ml", "sil6r_total_ng_ml", "crp_mg_l", "classic_signal", "trans_signal",
            "trans_presentation_signal")


def compute_genotypes(network: Network, *, variant: str = "rs2228145", scenario: str = "covid_severe",
                      step_h: float = 6.0) -> pd.DataFrame:
    """Time courses per genotype (long table: ``genotype``, ``time_d`` and the readouts).

    Parameters
    ----------
    network : the IL-6 model (with the genotype table ``variant``).
    variant : genotype table name.
    scenario : the infection, simulated untreated from each genotype's steady state.
    step_h : output interval, h.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_genotypes(load_model("il6"), step_h=96.0)
    >>> base = t[t.time_d == 0].set_index("genotype")["sil6r_total_ng_ml"]
    >>> bool(base["AA"] < base["AC"] < base["CC"])
    True
    """
    frames = []
    for g in network.get_genotype(variant).genotypes:
        run = scenario_run(network.with_genotype(variant, g), scenario)
        res = simulate_run(run, time_grid(run.duration_h, step_h))
        cols: dict[str, object] = {"genotype": g, "time_d": res.time_h / 24}
        cols.update({o: np.asarray(res[o]) for o in READOUTS})
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def plot_genotypes(table: pd.DataFrame) -> Figure:
    """A 2 x 3 grid of time courses, one line per genotype; baseline change vs the reference in the legend.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> len(plot_genotypes(compute_genotypes(load_model("il6"), step_h=96.0)).axes)
    6
    """
    fig, axes = new_figure(2, 3, figsize=(16.0, 8.5))
    genotypes = list(dict.fromkeys(table["genotype"]))
    ref = table[(table.genotype == genotypes[0]) & (table.time_d == 0)]
    colours = (OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[5])
    for ax, obs in zip(axes, READOUTS):
        for g, colour in zip(genotypes, colours):
            d = table[table.genotype == g]
            base = float(d[d.time_d == 0][obs].iloc[0])
            change = 100.0 * (base / float(ref[obs].iloc[0]) - 1.0)
            ax.plot(d["time_d"], d[obs], color=colour, lw=2.2,
                    label=f"{g}: baseline {base:.3g} ({change:+.0f} %)" if g != genotypes[0] else f"{g}: baseline {base:.3g}")
        ax.set_yscale("log")
        ax.set_xlabel("time since symptom onset (days)")
        ax.set_ylabel(LABELS[obs])
        ax.legend(frameon=False, fontsize=9, loc="best")
    fig.suptitle("rs2228145 (IL6R Asp358Ala): the C allele raises sIL-6R at baseline and shifts the response "
                 "to severe COVID-19")
    return fig


def genotype_figure(network: Network, *, variant: str = "rs2228145", scenario: str = "covid_severe",
                    step_h: float = 6.0) -> tuple[pd.DataFrame, Figure]:
    """Data table and figure (e).

    >>> from il6sim.shipped import load_model
    >>> table, fig = genotype_figure(load_model("il6"), step_h=96.0)
    >>> len(table)
    24
    """
    table = compute_genotypes(network, variant=variant, scenario=scenario, step_h=step_h)
    return table, plot_genotypes(table)
