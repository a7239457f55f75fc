"""Sweeps: seeded designs over parameters, drugs, doses, timing, genotypes, scenarios and body weight,
run chunk by chunk through the jitted batch solver, resumable, locally or on a Dask cluster.

A sweep file (TOML) names a model, an optional scenario and dosing, the readouts and their
metrics, and the factors that vary::

    [sweep]
    model = "il6"              # shipped name or path (default "il6")
    scenario = "covid_severe"  # optional (or make it a factor, below)
    days = 28                  # simulated time (default: the scenario's, else 28 d)
    step = "6 h"               # output interval (metrics are computed on this grid)
    seed = 1                   # samplers are seeded; same seed → same numbers
    rows = 64                  # rows drawn by the samplers (grid and level factors multiply it)
    chunk_size = 32            # rows per chunk file
    weight = "70 kg"           # body weight when it is not a factor
    observables = ["il6_free_pg_ml", "crp_mg_l"]
    metrics = ["peak", "auc", "trough", "time_above:10", "time_below:1", "inhibition"]

    [[factors]]                # a grid: every value crossed with every other factor's
    parameter = "k_il6_basal"
    grid = ["0.5 nM/h", "1 nM/h"]

    [[factors]]                # a sampler: lhs, sobol, halton (low/high, scale = "linear"|"log"),
    parameter = "kd_il6_sil6r" # uniform, loguniform (low/high), normal (mean/sd; truncated at 0),
    sampler = "lhs"            # lognormal (median/sigma, sigma = sd of ln value)
    low = "0.1 nM"
    high = "1 nM"

    [[drugs]]                  # fixed dosing for every row, as ``build_run``'s drug groups
    drug = "tocilizumab"
    dose = "8 mg/kg"
    at = "7 d"

Factors beyond parameters (each a list of levels crossed with everything else; a row carries the
level's label, e.g. ``drug = "siltuximab"``)::

    [[factors]]
    drug = ["tocilizumab", "siltuximab", "none"]   # replaces [[drugs]]; "none" = untreated;
                                                   # a level may be a dosing table or a list of them:
                                                   # {drug = "sarilumab", dose = "200 mg", route = "sc",
                                                   #  every = "14 d", count = 2, label = "SC q2w"}
    [[factors]]
    dose = ["4 mg/kg", "8 mg/kg"]   # set on every dosing group of the row; so are
    [[factors]]                     # route, at, every, count and infusion
    at = ["1 d", "7 d"]                            # or "admission", "admission+4d" (the scenario's admission)
    [[factors]]
    scenario = ["covid_moderate", "covid_severe"]  # replaces [sweep] scenario; "none" = no scenario
    [[factors]]
    genotype = ["rs2228145=AA", "rs2228145=CC"]    # or {variant = "rs2228145", levels = [...]}

Virtual populations draw patient characteristics per row with the seed::

    [[factors]]                                    # drawn per row with these probabilities
    genotype = { variant = "rs2228145", frequencies = { AA = 0.38, AC = 0.47, CC = 0.15 } }
    [[factors]]                                    # body weight (mg/kg doses and drug PK scale with it)
    weight = { sampler = "normal", mean = "80 kg", sd = "15 kg" }   # or a grid: ["60 kg", "90 kg"]

``models/sweeps/population_covid_severe.toml`` is a sourced example population;
``models/sweeps/population_ra_sarilumab.toml`` draws a drug's own parameters (``sar_k10``): a
parameter factor may name a parameter of a drug in ``[[drugs]]`` (the value replaces the
weight-scaled one), but not of a drug that only some rows get.

Design rules
------------
* The whole design matrix is drawn up front from ``seed`` (one draw per sampler family, so
  LHS/Sobol stratification holds jointly), so a row's values never depend on ``chunk_size`` or on
  the number of workers. Grid and level factors are crossed (``itertools.product``, file order,
  first factor slowest) with the sampled rows (fastest). A level factor's column in the design
  matrix holds the level index; :attr:`SweepResult.labels` holds the labels.
* A row's model is ``network.with_genotype(...)`` for its genotypes, with its drugs added at its body
  weight (:func:`il6sim.regimen.build_run`); its parameters are the scenario's overrides, then the
  row's parameter values (a parameter factor replaces a genotype-scaled value). Rows that share
  drugs, doses, scenario, genotype and (when dosed) weight share one compiled network and protocol
  and run through one batch call.
* Every row starts from its own steady state at its parameters (as ``simulate(...,
  initial="steady")``); the scenario and doses then act from t = 0.
* Failures are data: a row whose steady state or integration fails keeps a status code and a
  message, and NaN metrics; the other rows are unaffected. Status codes are those of
  :mod:`il6sim._jitsolve` (0 success, 1-4 solver failures) plus 5 (no steady state) and 6 (the
  row's setting could not be built, e.g. a drawn body weight outside 1-500 kg).
* ``inhibition`` (percent) = 100 · (1 − AUC / AUC of the same row run without drugs): same draw,
  same scenario, genotype and weight. Rows whose level is "none" get 0.
* Each chunk is written atomically to ``chunk-NNNNN.npz`` (``allow_pickle=False``), next to a
  ``manifest.json`` holding the spec, provenance and chunk list. ``resume=True`` keeps chunks whose
  file is complete and belongs to the same spec. Only metrics (n_rows × n_metrics) stay in memory.
  Before anything runs, the output size is estimated and a sweep the disk cannot hold is refused.
* With ``client=`` (a ``dask.distributed.Client``) chunks run as tasks on the cluster and the
  driver writes them; numbers are identical to the local run whatever the number of workers.

Modules
-------
One job each, each importing only those above it:

* :mod:`~il6sim.sweeps.factors`: one ``[[factors]]`` table → a :class:`Factor`.
* :mod:`~il6sim.sweeps.spec`: the whole file → a validated :class:`SweepSpec`.
* :mod:`~il6sim.sweeps.design`: samplers and the design matrix.
* :mod:`~il6sim.sweeps.metrics`: time courses → per-row metrics.
* :mod:`~il6sim.sweeps.engine`: :class:`SweepEngine`, which solves blocks of rows.
* :mod:`~il6sim.sweeps.store`: the output directory: chunk files, manifest, resume, disk check.
* :mod:`~il6sim.sweeps.cluster`: chunks as tasks on a Dask cluster.
* :mod:`~il6sim.sweeps.result`: :class:`SweepResult` and :func:`load_sweep`.
* :mod:`~il6sim.sweeps.run`: :func:`sweep`, which ties them together.

>>> import il6sim.sweeps as sw
>>> spec = sw.spec_from_dict({"sweep": {"days": 2, "step": "12 h", "metrics": ["peak"],
...                                     "observables": ["il6_free_pg_ml"]},
...                           "factors": [{"parameter": "k_il6_basal", "grid": [0.01, 0.02]}]})
>>> res = sw.sweep(spec)
>>> res.status.tolist(), bool(res.metric("peak:il6_free_pg_ml")[1] > res.metric("peak:il6_free_pg_ml")[0])
([0, 0], True)
"""

from __future__ import annotations

from .design import design_matrix, sampled_values
from .engine import BAD_SETTING, NO_STEADY_STATE, SweepEngine
from .factors import SAMPLERS, Factor
from .result import SweepResult, load_sweep
from .run import sweep
from .spec import METRICS, SweepSpec, load_sweep_spec, parse_sweep_spec, spec_from_dict
from .store import check_disk

__all__ = ["BAD_SETTING", "METRICS", "NO_STEADY_STATE", "SAMPLERS", "Factor", "SweepEngine", "SweepResult",
           "SweepSpec", "check_disk", "design_matrix", "load_sweep", "load_sweep_spec", "parse_sweep_spec",
           "sampled_values", "spec_from_dict", "sweep"]
