"""Time the tanh density (smooth activation, rational S-transform) on 1,000 points.

The network sits at the order-chaos edge (``critical_point('tanh', weights, q_star=...)``), the
regime of dynamical isometry.  Times are in units of one ``numpy.linalg.eigvalsh`` of a
1,000 x 1,000 symmetric matrix measured in the same run, next to the ReLU density at the same
depth (closed-form S-transform), with the ratio tanh/relu (best of three below depth 1,000);
``support()`` is timed on its own (a fresh spectrum, law already built).  The build of the law
(its fits and the exact Newton's start table, once per network at a fixed point) is timed separately.
Run: ``python benchmarks/bench_smooth.py`` (``--depths 10 100 1000 --gaussian-depths 100 --points 1000``).
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
    parser.add_argument("--gaussian-depths", type=int, nargs="*", default=[100])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--q-star", type=float, default=0.1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 1000))
    sym = a + a.T
    unit = min(timed(lambda: np.linalg.eigvalsh(sym))[0] for _ in range(5))
    print(f"unit: one eigvalsh(1000 x 1000) = {unit * 1e3:.1f} ms")
    print(f"{'case':>22}{'depth':>6}{'build [s]':>10}{'tanh [s]':>10}{'units':>8}{'relu [s]':>10}"
          f"{'units':>8}{'ratio':>7}{'support [s]':>12}{'units':>7}{'finite':>7}")
    cases = [("orthogonal", d) for d in args.depths] + [("gaussian", d) for d in args.gaussian_depths]
    for weights, depth in cases:
        crit = critical_point("tanh", weights, q_star=args.q_star)
        net = crit.network(depth)
        t_build, spec = timed(lambda: Spectrum(net))
        law = spec.chain.layers[0][1]
        smooth = getattr(law, "first", law)
        t_build += timed(lambda: (smooth._rational, smooth._near, smooth._table))[0]
        m1 = float(spec.moments.m1)
        x = np.linspace(0, 3 * m1, args.points)
        repeat = 1 if depth >= 1000 else 3  # best of three (the first call also loads the compiled loop)
        t_tanh, dens = min((timed(lambda: spec.density(x)) for _ in range(repeat)), key=lambda r: r[0])
        t_sup, _ = timed(lambda: Spectrum(net).support())
        relu = Spectrum(Network("relu", weights, 2.0, 0.1, depth))
        xr = np.linspace(0, 3 * float(relu.moments.m1), args.points)
        t_relu = min(timed(lambda: relu.density(xr))[0] for _ in range(repeat))
        finite = np.isfinite(dens).mean()
        print(f"{'tanh/' + weights:>22}{depth:>6}{t_build:>10.2f}{t_tanh:>10.2f}{t_tanh / unit:>8.1f}"
              f"{t_relu:>10.2f}{t_relu / unit:>8.1f}{t_tanh / t_relu:>7.1f}{t_sup:>12.2f}{t_sup / unit:>7.1f}"
              f"{finite:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
