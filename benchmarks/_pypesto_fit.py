"""pyPESTO + AMICI side of bench_fit.py: build, then fit from given start points; prints one JSON line.

Run by bench_fit.py with the Python that has pypesto, amici and fides (the ``bench`` extra plus
AMICI's system packages: swig, a BLAS, HDF5). Start points come on the parameter scale of the
estimated parameters, in the problem's parameter-table order, so both tools start from the same
points in the same bounds.
"""

import json
import sys
import tempfile
import time

import numpy as np


def main() -> None:
    yaml, starts_file, rtol = sys.argv[1], sys.argv[2], float(sys.argv[3])
    z0 = np.load(starts_file)
    import pypesto
    import pypesto.optimize
    from pypesto.petab import PetabImporter

    t0 = time.perf_counter()
    model_dir = sys.argv[4] if len(sys.argv) > 4 else tempfile.mkdtemp(prefix="amici_")
    importer = PetabImporter.from_yaml(yaml, output_folder=model_dir)
    problem = importer.create_problem()
    t_build = time.perf_counter() - t0
    obj = problem.objective
    obj.amici_solver.set_relative_tolerance(rtol)
    obj.amici_solver.set_absolute_tolerance(1e-12)
    # start points: full scaled vectors (fixed parameters at their nominal values)
    full = np.zeros((len(z0), problem.dim_full))
    full[:, problem.x_fixed_indices] = problem.x_fixed_vals
    full[:, problem.x_free_indices] = z0
    problem.set_x_guesses(full)
    fx_nominal = float(obj(np.asarray(importer.petab_problem.x_nominal_free_scaled, dtype=float)))
    t1 = time.perf_counter()
    result = pypesto.optimize.minimize(problem, pypesto.optimize.FidesOptimizer(), n_starts=len(z0),
                                       progress_bar=False)
    t_fit = time.perf_counter() - t1
    fvals = [float(r["fval"]) for r in result.optimize_result.list]
    n_fval = [int(r["n_fval"]) for r in result.optimize_result.list]
    n_grad = [int(r["n_grad"] or 0) for r in result.optimize_result.list]
    print(json.dumps({"build_s": t_build, "fit_s": t_fit, "llh": [-f for f in fvals], "n_fval": n_fval,
                      "n_grad": n_grad, "llh_nominal": -fx_nominal, "pypesto": pypesto.__version__}))


if __name__ == "__main__":
    main()
