"""Target attainment: the smallest sarilumab SC dose every two weeks that keeps the trough occupancy of
serum sIL-6R at or above 90 % at steady state, in rheumatoid arthritis (scenario ``ra``) — for the
typical patient, then for 90 % of a virtual RA population (Xu 2019 between-patient variability).

A question the calibration never saw (issue 18): the doses clinicians use are 150 and 200 mg q2w.
The same search from the command line (its last line is ``dose = <value> mg``)::

    il6sim target --drug sarilumab --route sc --every 14d --metric trough:sil6r_occupancy --at-least 0.9

Run from anywhere.
"""

from __future__ import annotations

import il6sim
from il6sim.shipped import models_dir

target = il6sim.parse_target("trough:sil6r_occupancy", at_least=0.90)
typical = il6sim.find_dose(target, "sarilumab", route="sc", every="14 d", dose_range="25..800", rtol=0.02)
print(typical.format())

population = models_dir() / "sweeps" / "population_ra_sarilumab.toml"
pop = il6sim.find_dose(target, "sarilumab", route="sc", every="14 d", dose_range="25..800", rtol=0.02,
                       population=population, fraction=0.9, patients=60)
print(f"90 % of {pop.patients} virtual RA patients: {pop.value:.0f} mg q2w "
      f"({pop.achieved:.0%} meet the target there)")
print(f"smallest dose for the typical patient: {typical.value:.0f} mg q2w (label: 150 or 200 mg q2w)")
