"""(e) Compute time courses per rs2228145 (IL6R Asp358Ala) genotype: baseline and the response to infection.

Each genotype scales the model's parameters as its ``[genotypes.rs2228145]`` table says (the C
allele raises shedding of membrane IL-6R). Every run starts from that genotype's own healthy
steady state, so t = 0 is the genotype's baseline, and then goes through severe COVID-19 untreated.

>>> from il6sim.shipped import load_model
>>> t = compute_genotypes(load_model("il6"), step_h=48.0)
>>> sorted(set(t["genotype"]))
['AA', 'AC', 'CC']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..network import Network
from .runs import scenario_run, simulate_run, time_grid

__all__ = ["READOUTS", "compute_genotypes"]

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
