"""Time Spectrum.density on 1,000 points at depths 10, 100 and 1,000.

Times are also given in units of one ``numpy.linalg.eigvalsh`` of a 1,000 x 1,000
symmetric matrix measured in the same run (issue 15's targets: depth 100 <= 0.5 units,
depth 1,000 <= 5 units; measured 2.3 and 29 for relu/orthogonal with the numpy layer loop, 0.4
and 4.0-5.2 with the numba kernel of ``freefim.kernels`` on one thread, 0.3 and 3.0-3.2 with its
points shared among two cores), and ``support()`` in seconds.  Run: ``python benchmarks/bench_density.py``.
"""
import argparse
import time

import numpy as np

from freefim import Network, Spectrum


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--points", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 1000))
    sym = a + a.T
    unit = best_of(lambda: np.linalg.eigvalsh(sym), 5)
    print(f"unit: one eigvalsh(1000 x 1000) = {unit * 1e3:.1f} ms")
    print(f"{'case':<22}{'depth':>6}{'density [s]':>13}{'units':>9}{'support [s]':>13}")
    for activation, weights, sw2, sb2 in [("relu", "orthogonal", 2.0, 0.1), ("hardtanh", "gaussian", 1.1, 0.05)]:
        for depth in args.depths:
            spec = Spectrum(Network(activation, weights, sw2, sb2, depth))
            m1 = float(spec.moments.m1)
            # points over the bulk of the law: [0, 3 m1]
            x = np.linspace(0, 3 * m1, args.points)
            elapsed = best_of(lambda: spec.density(x), 1 if depth >= 1000 else 3)
            start = time.perf_counter()
            spec.support()
            support_time = time.perf_counter() - start
            print(f"{activation + '/' + weights:<22}{depth:>6}{elapsed:>13.3f}{elapsed / unit:>9.1f}"
                  f"{support_time:>13.2f}", flush=True)


if __name__ == "__main__":
    main()
