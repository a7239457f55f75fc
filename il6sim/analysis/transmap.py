"""(d) Compute trans-signalling over a grid of sIL-6R and sgp130 levels, serum free IL-6 held fixed.

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

import numpy as np
import pandas as pd

from ..network import Network
from ..solve import steady_state
from .runs import clamp_species, pg_ml_to_nM

__all__ = ["DEFAULT_FACTORS", "compute_trans_map"]

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
