"""Cytokine trapping (siltuximab) versus receptor blockade (tocilizumab) in severe COVID-19.

The same comparison as ``il6sim compare``, from a script: free and total IL-6, total sIL-6R, CRP
and the percent inhibition of each signalling mode after a standard dose at admission, every
readout over one window (from the dose to the end: ``table.window``).

Run:  python examples/trapping_vs_blockade.py
"""

import il6sim

table = il6sim.compare_drugs(il6sim.load_model("il6"), scenario="covid_severe", drugs=["siltuximab", "tocilizumab"])
print(table.format())

rows, w = {r["drug"]: r for r in table.rows}, table.window
for drug in ("siltuximab", "tocilizumab"):
    r, u = rows[drug], rows["untreated"]
    print(f"{drug}: total IL-6 x{r[f'peak{w}:il6_total_pg_ml'] / u[f'peak{w}:il6_total_pg_ml']:.0f}, "
          f"total sIL-6R x{r[f'peak{w}:sil6r_total_ng_ml'] / u[f'peak{w}:sil6r_total_ng_ml']:.1f} "
          f"against untreated peaks over {w}")
