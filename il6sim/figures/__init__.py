"""Figures drawn from results (never by re-solving inside plotting code).

One module per gallery figure; each has ``compute_*(network, ...) -> DataFrame`` (the runs and
steady states, reduced to the table the figure plots), ``plot_*(table) -> Figure`` (drawing from
the table alone) and ``*_figure(network, ...) -> (table, Figure)``. :mod:`il6sim.gallery` holds
the registry and the ``il6sim figures`` driver.

========================  =====================================================
``schematic``             (a) signalling modes and where each drug binds
``modes``                 (b) steady-state signalling vs IL-6, with/without sIL-6R and sgp130
``trapping``              (c) trapping vs blockade time courses (the ``compare`` machinery)
``transmap``              (d) trans-signalling over sIL-6R and sgp130 at a held IL-6
``genotype``              (e) rs2228145 genotypes: baseline and infection
``timing``                (f) early vs late dosing, with and without dexamethasone
``settings``              (g) disease settings: IL-6 levels and inhibition by standard doses
``doseresponse``          (h) dose-response: graded vs switch-like
``gsa``                   (i) Sobol' sensitivity of drug benefit (needs :mod:`il6sim.sensitivity`)
``compare``               the ``il6sim compare`` figure
``style``                 palette (Okabe-Ito) and the one style
========================  =====================================================
"""
