"""Time the tanh / orthogonal density (smooth activation, numerical S-transform) on 1,000 points.

The network sits at the order-chaos edge (``critical_point('tanh', q_star=...)``), the regime of
dynamical isometry.  Times are also given in units of one ``numpy.linalg.eigvalsh`` of a
1,000 x 1,000 symmetric matrix measured in the same run, and next to the ReLU density at the
same depth (closed-form S-transform) for scale.
Run: ``python benchmarks/bench_smooth.py`` (``--depths 10 100 1000 --points 1000``).
"""
import argparse
import time

import numpy as np

from freefim import Network, Spectrum
from freefim.criticality import critical_point


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--q-star", type=float, default=0.1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 1000))
    sym = a + a.T
    unit = min(timed(lambda: np.linalg.eigvalsh(sym))[0] for _ in range(5))
    crit = critical_point("tanh", "orthogonal", q_star=args.q_star)
    print(f"unit: one eigvalsh(1000 x 1000) = {unit * 1e3:.1f} ms")
    print(f"tanh/orthogonal at the critical point q* = {args.q_star:g}: "
          f"sigma_w2 = {crit.sigma_w2:.6f}, sigma_b2 = {crit.sigma_b2:.6f}")
    print(f"{'depth':>6}{'points':>8}{'tanh [s]':>11}{'units':>9}{'relu [s]':>10}{'ratio':>8}"
          f"{'finite':>8}{'mean density*m1':>17}")
    for depth in args.depths:
        spec = Spectrum(crit.network(depth))
        m1 = float(spec.moments.m1)
        x = np.linspace(0, 3 * m1, args.points)
        t_tanh, dens = timed(lambda: spec.density(x))
        relu = Spectrum(Network("relu", "orthogonal", 2.0, 0.1, depth))
        xr = np.linspace(0, 3 * float(relu.moments.m1), args.points)
        t_relu, _ = timed(lambda: relu.density(xr))
        finite = np.isfinite(dens).mean()
        print(f"{depth:>6}{args.points:>8}{t_tanh:>11.2f}{t_tanh / unit:>9.0f}{t_relu:>10.2f}"
              f"{t_tanh / t_relu:>8.1f}{finite:>8.3f}{np.mean(dens) * m1:>17.4f}", flush=True)


if __name__ == "__main__":
    main()
