"""SBML round trip with a regimen: export the IL-6 model with tocilizumab 8 mg/kg IV every 4 weeks,
run the file in libRoadRunner (if installed) and read it back into il6sim; all three agree.

The export writes observables as assignment rules and the Protocol's doses as SBML events (an IV
infusion is a zero-order input reaction switched on and off by two events), so the file alone
reproduces the il6sim run in any SBML tool. Needs python-libsbml (``pip install 'il6sim[sbml]'``).

Run:  python examples/sbml_round_trip.py
"""

import tempfile
from pathlib import Path

import numpy as np

import il6sim
from il6sim.regimen import build_run

network = il6sim.load_model("il6")
run = build_run(network, drug_groups=[{"drug": "tocilizumab", "dose": "8mg/kg", "every": "28d", "count": "3"}],
                duration_h=12 * 7 * 24.0)
model = run.network.with_initial(il6sim.steady_state(run.network).as_dict())  # start from the disease-free state
t = np.linspace(0, 12 * 7 * 24.0, 85)  # 12 weeks, h
original = il6sim.simulate(model, t, protocol=run.protocol, rtol=1e-10, atol=1e-16)

with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "il6_tocilizumab_q4w.xml"
    il6sim.to_sbml(model, path, protocol=run.protocol)
    size_kb = path.stat().st_size / 1024
    back = il6sim.load_model(path)  # a general SBML model now: the doses are events
    again = il6sim.simulate(back, t, rtol=1e-10, atol=1e-16)
    try:
        import roadrunner

        rr = roadrunner.RoadRunner(str(path))
        rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = 1e-10, 1e-16
        rr.timeCourseSelections = ["time", "[tcz]", "il6_free_pg_ml"]
        theirs = np.asarray(rr.simulate(times=t))
    except ImportError:
        theirs = None

print(f"exported {len(model.species)} species, {len(model.reactions)} reactions, {len(model.observables)} "
      f"observables and {len(run.protocol.events)} infusions ({size_kb:.0f} kB of SBML)")
for name in ("tcz", "il6_free_pg_ml"):
    ours = original[name]
    rel = np.max(np.abs(again[name] - ours) / np.maximum(np.abs(ours), 1e-30))
    line = f"{name:>15}: day 84 {ours[-1]:.4g} (il6sim), read back max relative difference {rel:.1e}"
    if theirs is not None:
        col = theirs[:, 1 if name == "tcz" else 2]
        line += f", libRoadRunner {np.max(np.abs(col - ours) / np.maximum(np.abs(ours), 1e-30)):.1e}"
    print(line)
