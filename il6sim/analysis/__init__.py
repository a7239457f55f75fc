"""Analyses behind the figure gallery: runs and steady states reduced to the tables figures draw.

This layer sits between the engine (:mod:`il6sim.solve`, :mod:`il6sim.compiled`,
:mod:`il6sim.regimen`, :mod:`il6sim.readouts`, :mod:`il6sim.sensitivity`, ...) and the figures
(:mod:`il6sim.figures`): each module computes one figure's table (a pandas DataFrame) and
imports neither matplotlib nor :mod:`il6sim.figures`. Figures draw these tables and compute
nothing; :mod:`il6sim.gallery` calls one, then the other.

Every inhibition in these tables is :func:`il6sim.readouts.inhibition` (NaN where the untreated
area is 0) and carries its window in its column name, e.g. ``inhibition[7d:end]:trans_signal (%)``.

========================  =====================================================
``runs``                  shared helpers: jitted runs from a cached steady state, IL-6 clamps, grids
``schematic``             (a) what each drug binds and which signalling modes it blocks
``modes``                 (b) steady-state signalling vs IL-6, with/without sIL-6R and sgp130
``trapping``              (c) trapping vs blockade time courses (the ``compare`` machinery)
``transmap``              (d) trans-signalling over sIL-6R and sgp130 at a held IL-6
``genotype``              (e) rs2228145 genotypes: baseline and infection
``timing``                (f) early vs late dosing, with and without dexamethasone
``settings``              (g) disease settings: IL-6 levels and inhibition by standard doses
``doseresponse``          (h) dose-response and the steepness of each curve
``gsa``                   (i) Sobol' sensitivity of drug benefit (needs :mod:`il6sim.sensitivity`)
========================  =====================================================
"""
