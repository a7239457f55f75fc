"""Axis labels and titles: what each readout is called on a figure, with its unit; metric column names.

Tables name a windowed metric of a readout ``KIND[WINDOW]:<readout>``, with ``" (%)"`` after
percentages (``inhibition[7d:end]:trans_signal (%)``); :func:`metric_columns` finds them.

>>> LABELS["crp_mg_l"], MODE_TITLES["trans_signal"]
('CRP (mg/l)', 'trans-signalling')
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["LABELS", "MODE_TITLES", "SIGNALS", "metric_columns"]

#: observable -> axis label with its unit
LABELS = {
    "il6_free_pg_ml": "free serum IL-6 (pg/ml)",
    "il6_total_pg_ml": "total serum IL-6 (pg/ml)",
    "sil6r_total_ng_ml": "total serum sIL-6R (ng/ml)",
    "sil6r_free_ng_ml": "free serum sIL-6R (ng/ml)",
    "sgp130_free_ng_ml": "free serum sgp130 (ng/ml)",
    "sgp130_total_ng_ml": "total serum sgp130 (ng/ml)",
    "crp_mg_l": "CRP (mg/l)",
    "classic_signal": "classic signal (complexes/hepatocyte)",
    "trans_signal": "trans-signal (complexes/endothelial cell)",
    "trans_presentation_signal": "trans-presentation (complexes/T cell)",
    "mil6r_occupancy": "membrane IL-6R held by drug (fraction)",
    "viral_load_copies_ml": "viral load (copies/ml)",
    "tissue_damage": "lung tissue damage (0 = none, 1 = all)",
    "effector_t_cells": "effector T cells (arbitrary units)",
}
#: the three signalling modes' readouts, in panel order
SIGNALS = ("classic_signal", "trans_signal", "trans_presentation_signal")
#: readout -> panel title
MODE_TITLES = {"classic_signal": "classic signalling", "trans_signal": "trans-signalling",
               "trans_presentation_signal": "trans-presentation"}


def metric_columns(columns: Iterable[object], kind: str) -> dict[str, tuple[str, str]]:
    """readout -> (column, window label) for the columns named ``KIND[WINDOW]:<readout>`` (unit suffix optional).

    >>> metric_columns(["drug", "inhibition[7d:end]:crp_mg_l (%)", "peak[0:end]:crp_mg_l"], "inhibition")
    {'crp_mg_l': ('inhibition[7d:end]:crp_mg_l (%)', '[7d:end]')}
    """
    out = {}
    for c in map(str, columns):
        if c.startswith(f"{kind}[") and "]:" in c:
            close = c.index("]:")
            out[c[close + 2:].split(" (")[0]] = (c, c[len(kind):close + 1])
    return out
