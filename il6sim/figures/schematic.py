"""(a) Schematic of the three signalling modes and where each drug binds, generated from the files.

Nothing here is drawn from a hand-written list: the signalling complex of each mode comes from
the model's observables (``classic_signal``, ``trans_signal``, ``trans_presentation_signal``), and
the species each drug binds from the binding reactions :func:`il6sim.drugs.add_drug` creates from
the drug file. A drug blocks a mode when a species it binds is part of that mode's signalling
complex (its components are a subset of the complex's components). So the picture cannot disagree
with the model.

>>> from il6sim.shipped import load_model
>>> table = compute_schematic(load_model("il6"), drugs=["olamkicept"])
>>> table.loc[table["name"] == "olamkicept", ["site", "classic", "trans"]].values.tolist()
[['IL-6·sIL-6R', 'no', 'blocks']]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..drugs import add_drug, load_drug
from ..network import Network
from .style import CLASS_COLOURS, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["compute_schematic", "plot_schematic", "schematic_figure"]

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


def _box(ax: Any, x: float, y: float, w: float, h: float, colour: str, label: str, **kw: Any) -> None:
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.15",
                                fc=colour, ec="black", lw=1.0, **kw))
    ax.text(x, y + h / 2, label, ha="center", va="center", fontsize=10, rotation=90, color="white", weight="bold")


def _il6(ax: Any, x: float, y: float) -> None:
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), 0.45, fc="#F0E442", ec="black", lw=1.0))
    ax.text(x, y, "IL-6", ha="center", va="center", fontsize=9, weight="bold")


def plot_schematic(table: pd.DataFrame) -> Figure:
    """Three panels (classic, trans, trans-presentation) with each drug listed where it binds.

    Parameters
    ----------
    table : the output of :func:`compute_schematic` (the only source of the drug placements).

    Examples
    --------
    >>> from il6sim.shipped import load_model
    >>> fig = plot_schematic(compute_schematic(load_model("il6"), drugs=["siltuximab"]))
    >>> len(fig.axes)
    3
    """
    fig, axes = new_figure(1, 3, figsize=(17.0, 6.8))
    drugs = table[table["entity"] == "drug"]
    titles = {"classic": "classic signalling\n(membrane IL-6R, e.g. hepatocyte)",
              "trans": "trans-signalling\n(IL-6·sIL-6R on any gp130 cell)",
              "trans_presentation": "trans-presentation\n(dendritic cell IL-6R presents IL-6 to T cell)"}
    for ax, (_, col) in zip(axes, MODE_COLUMNS.items()):
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        ax.axis("off")
        ax.set_title(titles[col])
        grey = "#7F7F7F"
        if col == "trans_presentation":
            ax.plot([0.3, 5.2], [0.8, 0.8], color="black", lw=4)
            ax.text(0.3, 0.25, "T cell", fontsize=10)
            ax.plot([0.3, 5.2], [9.2, 9.2], color="black", lw=4)
            ax.text(0.3, 9.45, "dendritic cell", fontsize=10)
            _box(ax, 2.0, 0.8, 0.8, 4.2, grey, "gp130")
            _box(ax, 3.1, 5.6, 0.8, 3.6, CLASS_COLOURS["receptor"], "IL-6R")
            _il6(ax, 2.8, 5.35)
            anchors = {"IL-6": (2.8, 5.35), "IL-6R": (3.5, 7.6)}
        elif col == "classic":
            ax.plot([0.3, 5.2], [0.8, 0.8], color="black", lw=4)
            ax.text(0.3, 0.25, "cell membrane", fontsize=10)
            _box(ax, 2.0, 0.8, 0.8, 4.6, grey, "gp130")
            _box(ax, 3.1, 0.8, 0.8, 3.4, CLASS_COLOURS["receptor"], "IL-6R")
            _il6(ax, 2.9, 4.75)
            anchors = {"IL-6": (2.9, 4.75), "IL-6R": (3.5, 2.5)}
        else:
            from matplotlib.patches import Ellipse

            ax.plot([0.3, 5.2], [0.8, 0.8], color="black", lw=4)
            ax.text(0.3, 0.25, "cell membrane (no IL-6R needed)", fontsize=10)
            _box(ax, 2.0, 0.8, 0.8, 4.6, grey, "gp130")
            _box(ax, 3.1, 2.2, 0.8, 3.0, CLASS_COLOURS["receptor"], "sIL-6R")
            _il6(ax, 2.9, 5.7)
            ax.add_patch(Ellipse((3.0, 4.2), 2.4, 4.6, fill=False, ls=":", lw=1.5, ec=CLASS_COLOURS["complex"]))
            ax.text(3.0, 6.75, "IL-6·sIL-6R", ha="center", fontsize=9, color=CLASS_COLOURS["complex"])
            anchors = {"IL-6": (2.9, 5.7), "IL-6R": (3.5, 3.5), "IL-6·sIL-6R": (4.2, 4.2)}
        # the drugs that block this mode, grouped by the site they bind (from the table)
        blocking = drugs[drugs[col] == "blocks"]
        groups: dict[str, list[tuple[str, str]]] = {}
        for _, r in blocking.iterrows():
            groups.setdefault(str(r["site"]).split(" (")[0], []).append((str(r["name"]) + (
                " (site III)" if "site III" in str(r["site"]) else ""), str(r["target_class"])))
        y = 9.0
        for site in ("IL-6", "IL-6R", "IL-6·sIL-6R"):
            if site not in groups:
                continue
            entries = groups[site]
            cls = entries[0][1]
            text = f"binds {site}:\n" + "\n".join(n for n, _ in entries)
            ax.annotate(text, xy=anchors[site], xytext=(6.0, y), fontsize=10, va="top", ha="left",
                        color=CLASS_COLOURS[cls],
                        arrowprops={"arrowstyle": "->", "color": CLASS_COLOURS[cls], "lw": 1.3})
            y -= 1.1 + 0.55 * len(entries)
        indirect = drugs[drugs[col] == "indirect"]
        if len(indirect):
            ax.text(6.0, max(y, 0.3), "lowers IL-6 production:\n" + "\n".join(indirect["name"]), fontsize=10,
                    va="top", color=CLASS_COLOURS["production"])
        unaffected = drugs[drugs[col] == "no"]
        if len(unaffected):
            ax.text(0.3, -0.6, "does not block: " + ", ".join(unaffected["name"]), fontsize=9, color="#555555",
                    clip_on=False)
    fig.suptitle("Three IL-6 signalling modes and where each drug binds (derived from the model and drug files)")
    return fig


def schematic_figure(network: Network, drugs: Sequence[str] | None = None) -> tuple[pd.DataFrame, Figure]:
    """Data table and figure (a).

    >>> from il6sim.shipped import load_model
    >>> table, fig = schematic_figure(load_model("il6"), drugs=["sarilumab"])
    >>> list(table["entity"])
    ['mode', 'mode', 'mode', 'drug']
    """
    table = compute_schematic(network, drugs)
    return table, plot_schematic(table)
