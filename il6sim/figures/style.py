"""One consistent style: colour-blind-safe palette (Okabe & Ito 2008), legible at slide size.

Every gallery figure is a bare :class:`matplotlib.figure.Figure` (no pyplot state, so nothing
accumulates across many figures) made by :func:`new_figure`, with colours from this module:
one colour per drug class and per drug, the same in every figure.

>>> fig, axes = new_figure(1, 2)
>>> len(axes)
2
"""

from __future__ import annotations

from typing import Any

import numpy as np

OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")

#: colour per drug target class (cytokine, receptor, IL-6·sIL-6R complex, production)
CLASS_COLOURS = {"cytokine": "#0072B2", "receptor": "#D55E00", "complex": "#009E73", "production": "#CC79A7",
                 "untreated": "#000000"}
#: line style per drug target class
CLASS_LINESTYLES = {"cytokine": "-", "receptor": "--", "complex": "-.", "production": ":", "untreated": "-"}
#: colour per shipped drug; cytokine binders in blues/sky, receptor binders in vermillion/orange
DRUG_COLOURS = {
    "untreated": "#000000", "siltuximab": "#0072B2", "sirukumab": "#56B4E9", "clazakizumab": "#009E73",
    "olokizumab": "#CC79A7", "tocilizumab": "#D55E00", "sarilumab": "#E69F00", "olamkicept": "#7F7F7F",
    "dexamethasone": "#CC79A7",
}
#: colour per signalling mode
MODE_COLOURS = {"classic": "#0072B2", "trans": "#D55E00", "trans_presentation": "#009E73"}
#: sequential colour map readable with colour-vision deficiency
SEQUENTIAL_CMAP = "cividis"


def use_agg() -> None:
    """Render without a screen."""
    import matplotlib

    matplotlib.use("Agg", force=False)


def apply_style() -> None:
    """Set the gallery's rc parameters (font sizes for slides, Okabe-Ito colour cycle)."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update({
        "font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "legend.fontsize": 10,
        "xtick.labelsize": 11, "ytick.labelsize": 11, "figure.titlesize": 15,
        "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100,
        "axes.prop_cycle": cycler(color=OKABE_ITO), "svg.hashsalt": "il6sim",
    })


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None,
               **kwargs: Any) -> tuple[Any, list[Any]]:
    """A styled bare Figure (constrained layout) and its axes as a flat list.

    Parameters
    ----------
    nrows, ncols : grid of axes.
    figsize : inches (default 5 x 4 per panel).
    kwargs : passed to ``Figure.subplots`` (e.g. ``gridspec_kw``).

    Examples
    --------
    >>> fig, (ax,) = new_figure()
    >>> type(fig).__name__
    'Figure'
    """
    apply_style()
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize or (5.0 * ncols, 4.0 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, list(axes.flat)


def positive(y: Any) -> np.ndarray:
    """Values for a log axis: non-positive ones become NaN (not drawn) instead of clipped.

    >>> positive([1.0, 0.0, -2.0]).tolist()
    [1.0, nan, nan]
    """
    a = np.asarray(y, dtype=float)
    return np.where(a > 0, a, np.nan)


def drug_colour(name: str, i: int = 0) -> str:
    """The gallery colour of a drug (shipped drugs have fixed colours; others cycle the palette).

    >>> drug_colour("tocilizumab")
    '#D55E00'
    """
    return DRUG_COLOURS.get(name, OKABE_ITO[(i + 1) % len(OKABE_ITO)])
