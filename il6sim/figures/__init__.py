"""Figures drawn from tables (never by re-solving inside plotting code).

One module per gallery figure, each with ``plot_*(table, ...) -> Figure``: it draws the table
that the matching module of :mod:`il6sim.analysis` computed, and computes nothing. Modules here
import matplotlib, pandas and numpy, and from il6sim only this package and model-layer data
(:mod:`il6sim.network`, :mod:`il6sim.drugs`, :mod:`il6sim.shipped`, :mod:`il6sim.units`,
:mod:`il6sim.errors`), never the engine or the analyses. :mod:`il6sim.gallery` calls the
analysis, then the drawing, and writes each figure with its table and provenance.

========================  =====================================================
``schematic``             (a) signalling modes and where each drug binds
``modes``                 (b) steady-state signalling vs IL-6, with/without sIL-6R and sgp130
``trapping``              (c) trapping vs blockade time courses
``transmap``              (d) trans-signalling over sIL-6R and sgp130 at a held IL-6
``genotype``              (e) rs2228145 genotypes: baseline and infection
``timing``                (f) early vs late dosing, with and without dexamethasone
``settings``              (g) disease settings: IL-6 levels and inhibition by standard doses
``doseresponse``          (h) dose-response: graded vs switch-like
``gsa``                   (i) Sobol' sensitivity of drug benefit
``compare``               the ``il6sim compare`` figure
``labels``                axis labels with units; metric column names
``style``                 palette (Okabe-Ito) and the one style
========================  =====================================================
"""
