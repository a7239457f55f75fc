"""(e) Draw rs2228145 (IL6R Asp358Ala) genotypes: baseline and the response to infection.

Draws the long table of :func:`il6sim.analysis.genotype.compute_genotypes` (time courses per
genotype), one panel per readout; computes nothing but the legend's baseline change against
the first genotype.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .labels import LABELS
from .style import OKABE_ITO, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_genotypes"]


def plot_genotypes(table: pd.DataFrame) -> Figure:
    """A 2 x 3 grid of time courses, one line per genotype; baseline change vs the reference in the legend.

    Parameters
    ----------
    table : long table with ``genotype``, ``time_d`` and one column per readout; the first
        genotype is the reference of the baseline changes.

    Examples
    --------
    >>> from il6sim.analysis.genotype import compute_genotypes
    >>> from il6sim.shipped import load_model
    >>> len(plot_genotypes(compute_genotypes(load_model("il6"), step_h=96.0)).axes)
    6
    """
    fig, axes = new_figure(2, 3, figsize=(16.0, 8.5))
    genotypes = list(dict.fromkeys(table["genotype"]))
    readouts = [c for c in table.columns if c not in ("genotype", "time_d")]
    ref = table[(table.genotype == genotypes[0]) & (table.time_d == 0)]
    colours = (OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[5])
    for ax, obs in zip(axes, readouts):
        for g, colour in zip(genotypes, colours):
            d = table[table.genotype == g]
            base = float(d[d.time_d == 0][obs].iloc[0])
            change = 100.0 * (base / float(ref[obs].iloc[0]) - 1.0)
            ax.plot(d["time_d"], d[obs], color=colour, lw=2.2,
                    label=f"{g}: baseline {base:.3g} ({change:+.0f} %)" if g != genotypes[0] else f"{g}: baseline {base:.3g}")
        ax.set_yscale("log")
        ax.set_xlabel("time since infection (days)")
        ax.set_ylabel(LABELS[obs])
        ax.legend(frameon=False, fontsize=9, loc="best")
    fig.suptitle("rs2228145 (IL6R Asp358Ala): the C allele raises sIL-6R at baseline and shifts the response "
                 "to severe COVID-19")
    return fig
