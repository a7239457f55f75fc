"""(a) Compute what each drug binds and which signalling modes it blocks, from the model and drug files.

Nothing here comes from a hand-written list: the signalling complex of each mode comes from the
model's observables (``classic_signal``, ``trans_signal``, ``trans_presentation_signal``), and
the species each drug binds from the binding reactions :func:`il6sim.drugs.add_drug` creates from
the drug file. A drug blocks a mode when a species it binds is part of that mode's signalling
complex (its components are a subset of the complex's components). So the picture drawn from
this table cannot disagree with the model.

>>> from il6sim.shipped import load_model
>>> table = compute_schematic(load_model("il6"), drugs=["olamkicept"])
>>> table.loc[table["name"] == "olamkicept", ["site", "classic", "trans"]].values.tolist()
[['IL-6·sIL-6R', 'no', 'blocks']]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ..drugs import add_drug, load_drug
from ..network import Network

__all__ = ["MODE_COLUMNS", "SITE", "compute_schematic"]

SITE = {"cytokine": "IL-6", "receptor": "IL-6R", "complex": "IL-6·sIL-6R", "production": "IL-6 production"}
MODE_COLUMNS = {"classic_signal": "classic", "trans_signal": "trans", "trans_presentation_signal": "trans_presentation"}


def _parts(kind: str) -> set[str]:
    return set(kind.split("__")) if kind else set()


def compute_schematic(network: Network, drugs: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per signalling mode and one per drug: what it binds and which modes it blocks.

    Parameters
    ----------
    network : the IL-6 model (with the observables ``classic_signal``, ``trans_signal`` and
        ``trans_presentation_signal``).
    drugs : drug names or paths (default: every shipped drug, dexamethasone included).

    Returns
    -------
    DataFrame with columns ``entity`` (``mode`` or ``drug``), ``name``, ``target_class``,
    ``site``, ``binds`` (species kinds, ``;``-separated), ``species`` (species ids), and one
    column per mode (``classic``, ``trans``, ``trans_presentation``): ``blocks``, ``no`` or
    ``indirect`` (a production drug lowers IL-6 and so every mode).

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> t = compute_schematic(load_model("il6"), drugs=["tocilizumab"])
    >>> t.loc[t["entity"] == "drug", ["classic", "trans", "trans_presentation"]].values.tolist()
    [['blocks', 'blocks', 'blocks']]
    """
    from ..shipped import shipped_names

    names = list(drugs) if drugs is not None else shipped_names("drugs")
    obs = {o.id: o for o in network.observables}
    mode_parts: dict[str, set[str]] = {}
    rows: list[dict[str, Any]] = []
    for oid, col in MODE_COLUMNS.items():
        terms = [s for s, _ in obs[oid].terms]
        kinds = sorted({network.get_species(s).kind for s in terms})
        mode_parts[col] = set().union(*(_parts(k) for k in kinds))
        rows.append({"entity": "mode", "name": col, "target_class": "", "site": "", "binds": ";".join(kinds),
                     "species": ";".join(terms), **{c: ("signals" if c == col else "") for c in MODE_COLUMNS.values()}})
    for name in names:
        drug = load_drug(name)
        if drug.target_class == "production":
            effects = ";".join(f"{p}x{f:g}" for p, f in drug.effects)
            rows.append({"entity": "drug", "name": drug.name, "target_class": drug.target_class,
                         "site": SITE["production"], "binds": "", "species": effects,
                         **{c: "indirect" for c in MODE_COLUMNS.values()}})
            continue
        net = add_drug(network, drug)
        prefix = f"{drug.id}_binds_"
        bound = [next(s for s, _ in r.reactants if s != drug.id) for r in net.reactions if r.id.startswith(prefix)]
        kinds = sorted({net.get_species(s).kind for s in bound})
        blocks = {col: "blocks" if any(_parts(k) <= parts for k in kinds) else "no" for col, parts in mode_parts.items()}
        site = SITE[drug.target_class] + (" (site III)" if drug.target_class == "cytokine" and drug.blocks == "gp130"
                                          else "")
        rows.append({"entity": "drug", "name": drug.name, "target_class": drug.target_class, "site": site,
                     "binds": ";".join(kinds), "species": ";".join(bound), **blocks})
    return pd.DataFrame(rows, columns=["entity", "name", "target_class", "site", "binds", "species",
                                       *MODE_COLUMNS.values()])
