"""Target attainment: the smallest sarilumab SC dose every two weeks that keeps the trough occupancy of
serum sIL-6R at or above 90 % at steady state, in rheumatoid arthritis (scenario ``ra``).

A question the calibration never saw (issue 18): the doses clinicians use are 150 and 200 mg q2w.
Each dose runs for a year of injections from the RA steady state; the trough is the value just
before the next injection, read at the end of the last interval. Run from anywhere.
"""

from __future__ import annotations

import numpy as np

import il6sim

EVERY_D, DOSES = 14, 26                       # a year of q2w injections: steady state
TARGET = 0.90
model = il6sim.load_model("il6")


def trough_occupancy(dose_mg: float) -> tuple[float, float]:
    """Trough serum sIL-6R occupancy at the end of the last and of the second-last interval."""
    end = EVERY_D * DOSES * 24.0
    run = il6sim.build_run(model, scenario="ra", duration_h=end + 1.0, drug_groups=[
        {"drug": "sarilumab", "dose": f"{dose_mg:g} mg", "route": "sc", "every": f"{EVERY_D} d", "count": DOSES}])
    t = np.array([end - EVERY_D * 24.0 - 0.01, end - 0.01])
    res = run.simulate(np.concatenate([[0.0], t]))
    occ = np.asarray(res["sil6r_occupancy"])
    return float(occ[-1]), float(occ[-2])


print(f"{'dose mg':>8} {'trough sIL-6R occupancy':>24} {'previous trough':>16}")
found = None
for dose in (25, 50, 75, 100, 125, 150, 175, 200, 250, 300, 400):
    last, previous = trough_occupancy(dose)
    print(f"{dose:>8} {last:>24.3f} {previous:>16.3f}")
    if found is None and last >= TARGET:
        found = dose
print(f"smallest dose on the grid with trough occupancy >= {TARGET:.0%}: "
      f"{found if found is not None else 'none up to 400'} mg q2w (label: 150 or 200 mg q2w)")
