"""SBML round trip: export the IL-6 model with tocilizumab, read it back, and check both simulate alike.

Needs python-libsbml (``pip install 'il6sim[sbml]'``). The exported file runs in any SBML tool
(COPASI, libRoadRunner, ...); dosing is not exported, so here the drug starts at a given
concentration in both runs.

Run:  python examples/sbml_round_trip.py
"""

import tempfile
from pathlib import Path

import numpy as np

import il6sim

model = il6sim.add_drug(il6sim.load_model("il6"), il6sim.load_drug("tocilizumab"))
start = {**il6sim.steady_state(model).as_dict(), "tcz": 1.0}  # 1 nM of free drug in serum at t = 0
t = np.linspace(0, 72, 7)
original = il6sim.simulate(model, t, initial=start)

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "il6_tocilizumab.xml"
    il6sim.to_sbml(model, path)
    size_kb = path.stat().st_size / 1024
    back = il6sim.read_sbml(path)

print(f"exported {len(model.species)} species and {len(model.reactions)} reactions ({size_kb:.0f} kB of SBML); "
      f"read back {len(back.species)} species and {len(back.reactions)} reactions")
again = il6sim.simulate(back, t, initial={k: v for k, v in start.items() if k in back.species_ids})
for sid in ("il6", "tcz", "tcz__sil6r", "crp"):
    rel = np.max(np.abs(again[sid] - original[sid]) / np.maximum(np.abs(original[sid]), 1e-30))
    print(f"{sid:>12}: at 72 h {original[sid][-1]:.4g} nM (il6sim) vs {again[sid][-1]:.4g} nM (via SBML), "
          f"max relative difference {rel:.1e}")
