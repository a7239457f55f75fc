"""Derivatives for fits: forward sensitivities in the jitted integrator against batched finite differences.

Issue 16 asks to measure both and keep the faster. Forward sensitivities are built here without
touching the integrator: for a mass-action network the sensitivity equations
``dS_m/dt = J(x) S_m + df/dln p_m`` are themselves sums of monomials in ``(x, S)``, so the
augmented system (``n (1 + P)`` species) is another mass-action network, lowered to the same index
arrays and integrated by the same compiled kernels (one row, rtol applied to x and S). Finite
differences: the 2P (central) perturbed rows of one point as one ``run_batch`` call in the lanes.

For each problem: cost of one Jacobian of the simulated states at the nominal point (median of
repeats, same tolerance), and the agreement of the two against central differences at rtol 1e-12.

    python benchmarks/bench_sensitivities.py [--rtol 1e-8] [--repeat 20]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[2] / "shared" / "petab-benchmark"


def augmented_arrays(cn, p: np.ndarray, params: list[int]) -> tuple[tuple[np.ndarray, ...], np.ndarray, int]:
    """Kernel arrays and rate constants of the forward-sensitivity system wrt ln p[i] for i in ``params``."""
    r_ptr, r_sp, r_ord, s_ptr, s_sp, s_coef = cn.kernel_args()
    n, R = cn.n_species, cn.n_reactions
    k = cn.rate_constants(p)
    # exponents of each parameter in each half-reaction's rate constant (monomials: exact in log space)
    expo = np.zeros((2 * R, len(params)))
    for c, i in enumerate(params):
        q = p.copy()
        q[i] *= np.e
        kq = cn.rate_constants(q)
        with np.errstate(divide="ignore", invalid="ignore"):
            expo[:, c] = np.where(k != 0, np.log(kq / k), 0.0)
    halves: list[tuple[list[tuple[int, float]], float, list[tuple[int, float]]]] = []  # (orders, k, stoich)
    for j in range(R):
        stoich = [(int(s_sp[a]), float(s_coef[a])) for a in range(s_ptr[j], s_ptr[j + 1])]
        for side, sign in ((0, 1.0), (1, -1.0)):
            h = 2 * j + side
            if k[h] == 0:
                continue
            orders = [(int(r_sp[a]), float(r_ord[a])) for a in range(r_ptr[h], r_ptr[h + 1])]
            halves.append((orders, k[h], [(s, sign * c) for s, c in stoich]))
            for m in range(len(params)):
                off = n * (1 + m)
                st = [(off + s, sign * c) for s, c in stoich]
                if expo[h, m] != 0:  # d k / d ln p_m = e k
                    halves.append((orders, expo[h, m] * k[h], st))
                for e, (q, a) in enumerate(orders):  # d (Π x^a) / d x_q · S_mq
                    rest = [(sp, o) for f, (sp, o) in enumerate(orders) if f != e] + ([(q, a - 1)] if a != 1 else [])
                    halves.append(([*rest, (off + q, 1.0)], a * k[h], st))
    m_r = len(halves)
    rp, rs, ro, sp_, ss, sc = [0], [], [], [0], [], []
    kk = np.zeros(2 * m_r)
    for J, (orders, kv, stoich) in enumerate(halves):
        rs += [q for q, _ in orders]
        ro += [o for _, o in orders]
        rp += [len(rs), len(rs)]  # forward half, then an empty reverse half
        ss += [q for q, _ in stoich]
        sc += [c for _, c in stoich]
        sp_.append(len(ss))
        kk[2 * J] = kv
    arrays = (np.array(rp, dtype=np.int64), np.array(rs, dtype=np.int64), np.array(ro, dtype=float),
              np.array(sp_, dtype=np.int64), np.array(ss, dtype=np.int64), np.array(sc, dtype=float))
    return arrays, kk, n * (1 + len(params))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", default="Perelson_Science1996,Crauste_CellSystems2017")
    ap.add_argument("--rtol", type=float, default=1e-8)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    print(f"rtol {args.rtol:g}; medians of {args.repeat} repeats; one Jacobian of the states at the nominal point")
    print(f"{'problem':26s} {'P':>3s} {'n':>3s} {'FD central ms':>14s} {'sens ms':>9s} {'sens/FD':>8s} "
          f"{'FD err':>9s} {'sens err':>9s}")
    for name in args.problems.split(","):
        print(_measure(name, args.rtol, args.repeat))


def _measure(name: str, rtol: float, repeat: int) -> str:
    """One problem's row of the table."""
    import il6sim.estimate as est
    from il6sim._jitsolve import atol_vector, integrate_batch
    from il6sim.batch import run_batch

    problem = est.load_problem(BENCH / name / f"{name}.yaml")
    e = problem.experiments[0]
    cn = e.cn
    x = problem.x_from_values()
    p = e.base_parameters.copy()
    for i, src in e.parameter_sources:
        p[i] = x[int(src[1])] if src[0] == "x" else src[1]
    params = sorted({i for i, src in e.parameter_sources if src[0] == "x"
                     and problem.parameters[int(src[1])].estimate})
    t = e.times
    y0 = cn.x0.copy()

    def fd(p0: np.ndarray, tol: float, h: float = 1e-4) -> tuple[np.ndarray, float]:
        rows = np.tile(p0, (2 * len(params), 1))
        for c, i in enumerate(params):
            rows[c, i] *= np.exp(h)
            rows[len(params) + c, i] *= np.exp(-h)
        t0 = time.perf_counter()
        res = run_batch(cn, rows, e.protocol, t, y0=y0, rtol=tol, atol=1e-12, threads=1, max_steps=1_000_000)
        dt = time.perf_counter() - t0
        d = (res.y[:len(params)] - res.y[len(params):]) / (2 * h)  # (P, n_t, n)
        return d, dt

    arrays, kk, n_aug = augmented_arrays(cn, p, params)
    y0a = np.zeros(n_aug)
    y0a[:cn.n_species] = y0
    seg_t = np.array([0.0, float(t[-1])])
    lo, hi = np.array([0], dtype=np.int64), np.array([t.size], dtype=np.int64)

    def sens(tol: float) -> tuple[np.ndarray, float]:
        t0 = time.perf_counter()
        status, y, _ = integrate_batch(seg_t, lo, hi, kk[None, None, :], np.zeros((1, n_aug)), np.zeros((1, n_aug)),
                                       y0a[None, :], t, *arrays, tol, atol_vector(1e-12, n_aug),
                                       np.array([200_000]), threads=1)
        dt = time.perf_counter() - t0
        if status[0] != 0:
            raise RuntimeError(f"{name}: the sensitivity system failed (status {status[0]})")
        s = y[0][:, cn.n_species:].reshape(t.size, len(params), cn.n_species).transpose(1, 0, 2)
        return s, dt

    # Crauste's optimum sits next to a finite-time blow-up: a perturbed row can cross it (NaN columns
    # are left out of the accuracy figures and counted).
    ref, _ = fd(p, 1e-12, h=1e-4)
    keep = ~np.isnan(ref).any(axis=(1, 2))
    fd(p, rtol)
    sens(rtol)
    t_fd = float(np.median([fd(p, rtol)[1] for _ in range(repeat)]))
    t_s = float(np.median([sens(rtol)[1] for _ in range(repeat)]))
    scale = np.maximum(np.abs(ref), 1e-6 * np.nanmax(np.abs(ref)))
    d_fd = fd(p, rtol)[0]
    keep_fd = keep & ~np.isnan(d_fd).any(axis=(1, 2))
    err_fd = float(np.max((np.abs(d_fd - ref) / scale)[keep_fd])) if keep_fd.any() else float("nan")
    err_s = float(np.max((np.abs(sens(rtol)[0] - ref) / scale)[keep])) if keep.any() else float("nan")
    moved = len(params) - int(keep_fd.sum())
    return (f"{name:26s} {len(params):3d} {cn.n_species:3d} {1e3 * t_fd:14.3f} {1e3 * t_s:9.3f} {t_s / t_fd:8.2f} "
          f"{err_fd:9.1e} {err_s:9.1e}" + (f"  ({moved} of {len(params)} FD columns crossed the blow-up)"
                                            if moved else ""))


if __name__ == "__main__":
    main()
