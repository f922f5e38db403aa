"""Time one Monte Carlo sample vs the free-probability answer.

Prints the time of one sampled network's exact dual-FIM spectrum at (M, L) = (1000, 10)
and (2000, 10), in units of one ``numpy.linalg.eigvalsh`` of a 1,000 x 1,000 matrix
measured in the same run, and the theory's time for the same case (density on 1,000
points + support + atoms).  Run: ``python benchmarks/bench_montecarlo.py``.
"""
import time

import numpy as np

from freefim import Network, Spectrum
from freefim.montecarlo import sample


def timed(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 1000))
    sym = a + a.T
    unit = timed(lambda: np.linalg.eigvalsh(sym), 5)
    print(f"unit: one eigvalsh(1000 x 1000) = {unit * 1e3:.1f} ms")
    net = Network("hardtanh", "orthogonal", 1.2, 0.05, depth=10)

    def theory():
        spec = Spectrum(net)
        x = np.linspace(0, 3 * spec.moments.m1, 1000)
        spec.density(x), spec.support(), spec.atoms

    t_theory = timed(theory)
    print(f"{'case':<28}{'time [s]':>10}{'units':>9}")
    print(f"{'theory (density+support)':<28}{t_theory:>10.3f}{t_theory / unit:>9.1f}")
    for width in (1000, 2000):
        t = timed(lambda: sample(net, width, 1, seed=1, progress=False), 2)
        print(f"{f'sample M={width}, L=10':<28}{t:>10.3f}{t / unit:>9.1f}   sample/theory = {t / t_theory:.1f}x")


if __name__ == "__main__":
    main()
