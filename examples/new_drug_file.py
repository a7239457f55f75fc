"""Write a new drug file (a hypothetical high-affinity anti-IL-6 antibody) and simulate it.

A drug is data: a TOML file naming its target class, what it binds (kon, Kd), its PK and its
standard dose (schema: models/drugs/README.md). Here the file goes to a temporary folder and is
used by path, next to the shipped siltuximab, without touching any code.

Run:  python examples/new_drug_file.py
"""

import tempfile
from pathlib import Path

import numpy as np

import il6sim

DRUG = """
[drug]
id = "hypo"
name = "hypothetical anti-IL-6"
target_class = "cytokine"
mw = "150 kDa"
description = "A made-up IgG1 that binds IL-6 10x tighter than siltuximab, with the same PK."
source = "assumed: example for the il6sim documentation"

[pk]
cl = "0.214 l/d"
v1 = "3.66 l"
q = "0.624 l/d"
v2 = "3.13 l"
source = "assumed: siltuximab's linear PK (models/drugs/siltuximab.toml)"

[[targets]]
kind = "il6"
kd = "2 pM"
kon = "1e6 1/(M*s)"
source = "assumed: 10x tighter than siltuximab (20 pM)"

[dosing]
dose = "3 mg/kg"
route = "iv"
infusion = "1 h"
source = "assumed"
"""

model = il6sim.load_model("il6")
t = np.arange(0, 46) * 24.0
admission = il6sim.load_scenario("covid_severe", model).admission_h
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "hypothetical.toml"
    path.write_text(DRUG)
    runs = {"untreated": il6sim.build_run(model, scenario="covid_severe"),
            "siltuximab 3 mg/kg": il6sim.build_run(model, scenario="covid_severe",
                                            drug_groups=[{"drug": "siltuximab", "dose": "3 mg/kg", "at": "admission"}]),
            "hypothetical 3 mg/kg": il6sim.build_run(model, scenario="covid_severe",
                                              drug_groups=[{"drug": str(path), "at": "admission"}])}
    results = {name: run.simulate(t, solver="jit") for name, run in runs.items()}

after = t >= admission
ref = np.trapezoid(results["untreated"]["classic_signal"][after], t[after])
print(f"{'run':>22} {'peak free IL-6 pg/ml':>21} {'peak total IL-6 pg/ml':>22} {'classic inhibition %':>21}")
for name, res in results.items():
    inh = 100 * (1 - np.trapezoid(res["classic_signal"][after], t[after]) / ref)
    print(f"{name:>22} {res['il6_free_pg_ml'][after].max():21.2f} {res['il6_total_pg_ml'].max():22.1f} {inh:21.1f}")
