"""(d) Map of trans-signalling over sIL-6R and sgp130 levels, serum free IL-6 held fixed.

sIL-6R is varied by scaling its two sources together (splicing ``k_sil6r_splice`` and shedding
``k_shed``; the change in shedding is moved to membrane IL-6R degradation so the membrane receptor
stays as it is), sgp130 by scaling its synthesis ``k_sgp130_syn``. Each grid point is a steady
state with serum free IL-6 held at ``il6_pg_ml``.

What the shipped model says: trans-signalling rises about in proportion to sIL-6R, while natural
sgp130 changes it little over 0.1-10x its physiological level (and slightly raises it at high
sIL-6R): with the model's assumed Kd of 1 nM (``kd_sgp130``, 20x weaker than membrane gp130
docking) the IL-6·sIL-6R·sgp130 complex is mostly a carrier, not a sink. The engineered dimer
olamkicept (Kd 0.05 nM) does block trans-signalling (figure c).

>>> from il6sim.shipped import load_model
>>> t = compute_trans_map(load_model("il6"), factors=[0.5, 2.0])
>>> len(t)
4
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..network import Network
from ..solve import steady_state
from ._common import LABELS, clamp_species, pg_ml_to_nM
from .style import OKABE_ITO, SEQUENTIAL_CMAP, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["compute_trans_map", "plot_trans_map", "trans_map_figure"]

DEFAULT_FACTORS = tuple(float(x) for x in np.logspace(-1, 1, 13))


def compute_trans_map(network: Network, *, il6_pg_ml: float = 50.0,
                      factors: Sequence[float] = DEFAULT_FACTORS) -> pd.DataFrame:
    """Steady-state trans-signal on a grid of sIL-6R and sgp130 production factors (x physiological).

    Parameters
    ----------
    network : the IL-6 model.
    il6_pg_ml : serum free IL-6 held during the map, pg/ml.
    factors : multipliers of the physiological production of sIL-6R and of sgp130 (same list for both).

    Returns
    -------
    DataFrame: ``sil6r_factor``, ``sgp130_factor``, ``il6_free_pg_ml``, ``sil6r_total_ng_ml``,
    ``sgp130_total_ng_ml``, ``trans_signal``, ``classic_signal``, ``converged``.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_trans_map(load_model("il6"), factors=[1.0, 10.0])
    >>> lo, hi = t[t.sgp130_factor == 1.0].sort_values("sil6r_factor")["trans_signal"]
    >>> bool(hi > lo)
    True
    """
    p = {q.id: q.value for q in network.parameters}
    held = clamp_species(network, "il6", pg_ml_to_nM(network, "il6", il6_pg_ml))
    rows = []
    start = steady_state(held)
    for fr in factors:
        row_start = start
        for fg in factors:
            net = held.with_parameters({
                "k_sil6r_splice": p["k_sil6r_splice"] * fr, "k_shed": p["k_shed"] * fr,
                "k_mil6r_deg": p["k_mil6r_deg"] + p["k_shed"] * (1.0 - fr), "k_sgp130_syn": p["k_sgp130_syn"] * fg})
            guess = {s: v for s, v in row_start.as_dict().items() if s != "il6"}
            ss = steady_state(net, initial=guess)
            if fg == factors[0]:
                start = ss
            row_start = ss
            rows.append({"sil6r_factor": float(fr), "sgp130_factor": float(fg), "il6_free_pg_ml": float(ss["il6_free_pg_ml"]),
                         "sil6r_total_ng_ml": float(ss["sil6r_total_ng_ml"]),
                         "sgp130_total_ng_ml": float(ss["sgp130_total_ng_ml"]),
                         "trans_signal": float(ss["trans_signal"]), "classic_signal": float(ss["classic_signal"]),
                         "converged": bool(ss.converged)})
    return pd.DataFrame(rows)


def plot_trans_map(table: pd.DataFrame) -> Figure:
    """Filled contours of trans-signal over total sIL-6R and total sgp130, plus cuts at three sIL-6R levels.

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> fig = plot_trans_map(compute_trans_map(load_model("il6"), factors=[0.5, 1.0, 2.0]))
    >>> len(fig.axes)
    3
    """
    from matplotlib.colors import LogNorm

    fig, (ax, cut) = new_figure(1, 2, figsize=(14.0, 5.8), gridspec_kw={"width_ratios": [1.25, 1.0]})
    fr = np.unique(table["sil6r_factor"])
    fg = np.unique(table["sgp130_factor"])
    piv = {c: table.pivot(index="sgp130_factor", columns="sil6r_factor", values=c).loc[fg, fr].to_numpy()
           for c in ("sil6r_total_ng_ml", "sgp130_total_ng_ml", "trans_signal")}
    z = piv["trans_signal"]
    levels = np.geomspace(max(z.min(), 1e-6), z.max(), 12)
    cs = ax.contourf(piv["sil6r_total_ng_ml"], piv["sgp130_total_ng_ml"], z, levels=levels, norm=LogNorm(),
                     cmap=SEQUENTIAL_CMAP)
    ax.contour(piv["sil6r_total_ng_ml"], piv["sgp130_total_ng_ml"], z, levels=levels[::2], colors="white",
               linewidths=0.6)
    fig.colorbar(cs, ax=ax, label=LABELS["trans_signal"], format="%.2g")
    one = table[(table.sil6r_factor == fr[np.argmin(abs(np.log(fr)))]) & (table.sgp130_factor == fg[np.argmin(abs(np.log(fg)))])]
    ax.plot(one["sil6r_total_ng_ml"], one["sgp130_total_ng_ml"], marker="*", ms=16, color=OKABE_ITO[1],
            mec="black", ls="none", label="physiological")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(LABELS["sil6r_total_ng_ml"])
    ax.set_ylabel(LABELS["sgp130_total_ng_ml"])
    ax.legend(loc="upper left", frameon=True)
    il6 = float(np.median(table["il6_free_pg_ml"]))
    ax.set_title(f"trans-signal at serum free IL-6 held at {il6:.3g} pg/ml")
    picks = [fr[0], fr[np.argmin(abs(np.log(fr)))], fr[-1]]
    for colour, f in zip((OKABE_ITO[5], OKABE_ITO[0], OKABE_ITO[6]), picks):
        d = table[table.sil6r_factor == f].sort_values("sgp130_factor")
        cut.plot(d["sgp130_total_ng_ml"], d["trans_signal"], color=colour, lw=2.2, marker="o", ms=4,
                 label=f"sIL-6R {np.median(d['sil6r_total_ng_ml']):.3g} ng/ml")
    cut.set_xscale("log")
    cut.set_yscale("log")
    cut.set_xlabel(LABELS["sgp130_total_ng_ml"])
    cut.set_ylabel(LABELS["trans_signal"])
    cut.set_title("cuts at three sIL-6R levels")
    cut.legend(frameon=False)
    fig.suptitle("At a given IL-6, trans-signalling follows sIL-6R; natural sgp130 (Kd 1 nM, assumed) buffers it little")
    return fig


def trans_map_figure(network: Network, *, il6_pg_ml: float = 50.0,
                     factors: Sequence[float] = DEFAULT_FACTORS) -> tuple[pd.DataFrame, Figure]:
    """Data table and figure (d).

    >>> from il6sim.shipped import load_model
    >>> table, fig = trans_map_figure(load_model("il6"), factors=[1.0, 2.0])
    >>> bool(table["converged"].all())
    True
    """
    table = compute_trans_map(network, il6_pg_ml=il6_pg_ml, factors=factors)
    return table, plot_trans_map(table)
