"""(a) Draw the three signalling modes and where each drug binds, from the schematic table.

Draws the table of :func:`il6sim.analysis.schematic.compute_schematic`, which derives each drug's
binding site and the modes it blocks from the model and drug files; the cell and receptor
sketches are fixed, the drug placements come from the table alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .style import CLASS_COLOURS, new_figure

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["MODES", "plot_schematic"]

#: the table's mode columns, one panel each
MODES = ("classic", "trans", "trans_presentation")


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
    table : the output of :func:`il6sim.analysis.schematic.compute_schematic` (the only source of
        the drug placements).

    Examples
    --------
    >>> from il6sim.analysis.schematic import compute_schematic
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
    for ax, col in zip(axes, MODES):
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
