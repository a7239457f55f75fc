"""(b) Compute steady-state signalling against held serum IL-6, with and without sIL-6R and sgp130.

Serum free IL-6 is held at each value of a grid (a boundary species), and the model is solved to
its steady state under three conditions: physiological soluble receptors; sIL-6R without sgp130
(``k_sgp130_syn = 0``); neither (no sIL-6R splicing or shedding, the shedding rate added to
membrane IL-6R degradation so the membrane receptor level is unchanged, and no sgp130).

>>> from il6sim.shipped import load_model
>>> t = compute_modes(load_model("il6"), il6_pg_ml=[100.0])
>>> t = t.set_index("condition")
>>> bool(t.loc["neither", "trans_signal"] < 1e-12 * t.loc["physiological", "trans_signal"])  # zero to roundoff
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..network import Network
from ..solve import steady_state
from .runs import SIGNALS, clamp_species, pg_ml_to_nM

__all__ = ["CONDITIONS", "DEFAULT_IL6", "READOUTS", "compute_modes"]

#: condition -> what it means (also the legend of figure b)
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
