"""Cytokine trapping (siltuximab) versus receptor blockade (tocilizumab) in severe COVID-19.

The same comparison as ``il6sim compare``, from a script: peak free and total IL-6, total
sIL-6R, CRP and the percent inhibition of each signalling mode after a standard dose at admission.

Run:  python examples/trapping_vs_blockade.py
"""

import il6sim
from il6sim.compare import compare_drugs

table = compare_drugs(il6sim.load_model("il6"), scenario="covid_severe", drugs=["siltuximab", "tocilizumab"])
print(table.format())

rows = {r["drug"]: r for r in table.rows}
for drug in ("siltuximab", "tocilizumab"):
    r = rows[drug]
    print(f"{drug}: total IL-6 x{r['il6_total_pg_ml_peak'] / rows['untreated']['il6_total_pg_ml_peak']:.0f}, "
          f"total sIL-6R x{r['sil6r_total_ng_ml_peak'] / rows['untreated']['sil6r_total_ng_ml_peak']:.1f} "
          "against untreated peaks")
