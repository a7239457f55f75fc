"""(b) Steady-state response of the three signalling modes to IL-6, with and without sIL-6R and sgp130.

Serum free IL-6 is held at each value of a grid (a boundary species), and the model is solved to
its steady state under three conditions: physiological soluble receptors; sIL-6R without sgp130
(``k_sgp130_syn = 0``); neither (no sIL-6R splicing or shedding, the shedding rate added to
membrane IL-6R degradation so the membrane receptor level is unchanged, and no sgp130).

>>> from il6sim.shipped import load_model
>>> t = compute_modes(load_model("il6"), il6_pg_ml=[100.0])
>>> bool(t.set_index("condition").loc["neither", "trans_signal"] == 0.0)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..network import Network
from ..solve import steady_state
from ._common import LABELS, MODE_TITLES, SIGNALS, clamp_species, pg_ml_to_nM, positive
from .style import OKABE_ITO, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["CONDITIONS", "compute_modes", "modes_figure", "plot_modes"]

CONDITIONS = {
    "physiological": "physiological sIL-6R and sgp130",
    "no_sgp130": "sIL-6R, no sgp130",
    "neither": "no sIL-6R, no sgp130",
}
DEFAULT_IL6 = tuple(float(x) for x in np.logspace(-1, 5, 25))
READOUTS = (*SIGNALS, "sil6r_free_ng_ml", "sgp130_free_ng_ml", "crp_mg_l")


def _condition(network: Network, name: str) -> Network:
    p = {q.id: q.value for q in network.parameters}
    if name == "physiological":
        return network
    # species that cannot exist under the condition start at zero (Newton converges at once)
    gone = {"sgp130"} if name == "no_sgp130" else {"sgp130", "sil6r"}
    zero = {s.id: 0.0 for s in network.species if gone & set(s.kind.split("__"))}
    if name == "no_sgp130":
        return network.with_parameters({"k_sgp130_syn": 0.0}).with_initial(zero)
    return network.with_parameters({"k_sgp130_syn": 0.0, "k_sil6r_splice": 0.0, "k_shed": 0.0,
                                    "k_shed_infl": 0.0, "k_mil6r_deg": p["k_mil6r_deg"] + p["k_shed"]}
                                   ).with_initial(zero)


def compute_modes(network: Network, il6_pg_ml: Sequence[float] = DEFAULT_IL6) -> pd.DataFrame:
    """Steady-state signals at serum free IL-6 held at each value, for each condition.

    Parameters
    ----------
    network : the IL-6 model.
    il6_pg_ml : serum free IL-6 values (pg/ml) at which IL-6 is held.

    Returns
    -------
    DataFrame: ``condition``, ``il6_free_pg_ml``, the three signals (complexes per cell),
    ``sil6r_free_ng_ml``, ``sgp130_free_ng_ml``, ``crp_mg_l`` and ``converged``.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_modes(load_model("il6"), il6_pg_ml=[1.0, 1000.0])
    >>> bool((t.groupby("condition")["classic_signal"].diff().dropna() > 0).all())
    True
    """
    rows = []
    for cond in CONDITIONS:
        net = _condition(network, cond)
        start = steady_state(net)  # continuation: each held level starts from the previous state
        for c in il6_pg_ml:
            guess = {s: v for s, v in start.as_dict().items() if s != "il6"}
            ss = steady_state(clamp_species(net, "il6", pg_ml_to_nM(net, "il6", float(c))), initial=guess)
            start = ss
            rows.append({"condition": cond, "il6_free_pg_ml": float(c),
                         **{o: float(ss[o]) for o in READOUTS}, "converged": bool(ss.converged)})
    return pd.DataFrame(rows)


def plot_modes(table: pd.DataFrame) -> Figure:
    """One panel per mode: steady-state signal against serum free IL-6, one line per condition.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> len(plot_modes(compute_modes(load_model("il6"), il6_pg_ml=[1.0, 10.0])).axes)
    3
    """
    fig, axes = new_figure(1, 3, figsize=(16.0, 5.2))
    styles = {"physiological": ("-", OKABE_ITO[0]), "no_sgp130": ("--", OKABE_ITO[6]), "neither": (":", OKABE_ITO[5])}
    marks = {"healthy": 2.0, "severe COVID-19": 37.0, "CRS": 3000.0}
    for ax, sig in zip(axes, SIGNALS):
        for cond, label in CONDITIONS.items():
            d = table[table["condition"] == cond]
            ls, col = styles[cond]
            ax.plot(d["il6_free_pg_ml"], positive(d[sig]), ls=ls, color=col, lw=2.2, label=label)
            if len(d) and not (d[sig] > 0).any():
                ax.text(0.03, 0.97, f"{label}:\nno {MODE_TITLES[sig]} (zero)", transform=ax.transAxes, va="top",
                        fontsize=10, color=col)
        ax.set_xscale("log")
        ax.set_yscale("log")
        for name, x in marks.items():
            ax.axvline(x, color="#999999", lw=0.8, ls="-", zorder=0)
            ax.text(x * 1.1, 0.02, name, transform=ax.get_xaxis_transform(), rotation=90, fontsize=9, color="#555555")
        ax.set_xlabel("serum free IL-6, held (pg/ml)")
        ax.set_ylabel(LABELS[sig])
        ax.set_title(MODE_TITLES[sig])
    axes[0].legend(loc="upper left", frameon=False)
    fig.suptitle("Steady-state signalling vs IL-6: sIL-6R enables trans-signalling, sgp130 buffers it")
    return fig


def modes_figure(network: Network, il6_pg_ml: Sequence[float] = DEFAULT_IL6) -> tuple[pd.DataFrame, Figure]:
    """Data table and figure (b).

    >>> from il6sim.shipped import load_model
    >>> table, fig = modes_figure(load_model("il6"), il6_pg_ml=[10.0])
    >>> len(table)
    3
    """
    table = compute_modes(network, il6_pg_ml)
    return table, plot_modes(table)
