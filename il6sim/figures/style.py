"""One consistent style: colour-blind-safe palette (Okabe & Ito 2008), legible at slide size."""

from __future__ import annotations

OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")


def use_agg() -> None:
    """Render without a screen."""
    import matplotlib

    matplotlib.use("Agg", force=False)


def apply_style() -> None:
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update({
        "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "legend.fontsize": 9,
        "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100,
        "axes.prop_cycle": cycler(color=OKABE_ITO),
    })
