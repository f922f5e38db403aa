"""Time and accuracy of freefim.spectrum on the test laws of free-probability tools, 1,000 points each.

MP(1) [x] Bernoulli(1/2) (the free Poisson law of rate 1/2: atom 1/2 at 0, density
sqrt((x - a)(b - x)) / (2 pi x)) and MP [x] MP (Fuss-Catalan of order 2, Penson & Zyczkowski 2011) against
their closed forms; MP [x] MP [x] MP against its Fuss-Catalan moments 1, 4, 22, 140 and mass 1.  Times in
seconds and in units of one ``numpy.linalg.eigvalsh`` of a 1,000 x 1,000 symmetric matrix measured in
the same run; the first column includes building the law's support.
Run: ``python benchmarks/bench_laws.py``.
"""
import math
import time

import numpy as np

import freefim
from freefim.laws import Bernoulli, MarchenkoPastur, free_product


def fuss_catalan2(x):
    r = 27 + 3 * np.sqrt(81 - 12 * x)
    return 2 ** (1 / 3) * math.sqrt(3) / (12 * np.pi) * (2 ** (1 / 3) * r ** (2 / 3) - 6 * np.cbrt(x)) / (
        x ** (2 / 3) * r ** (1 / 3))


def main():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 1000))
    sym = a + a.T
    unit = min(_timed(lambda: np.linalg.eigvalsh(sym))[0] for _ in range(5))
    print(f"unit: one eigvalsh(1000 x 1000) = {unit * 1e3:.1f} ms")
    print(f"{'law':<22}{'first [s]':>11}{'density [s]':>13}{'units':>8}  accuracy")
    free_poisson = MarchenkoPastur(ratio=2, scale=0.5).density  # rate 1/2: sqrt((x - a)(b - x)) / (2 pi x)
    cases = [("MP [x] Bernoulli(1/2)", free_product(MarchenkoPastur(), Bernoulli(0.5)), free_poisson),
             ("MP [x] MP", free_product(MarchenkoPastur(), MarchenkoPastur()), fuss_catalan2),
             ("MP [x] MP [x] MP", free_product(MarchenkoPastur(), MarchenkoPastur(), MarchenkoPastur()), None)]
    for name, law, exact in cases:
        first, spec = _timed(lambda: _built(law))
        (lo, hi), = spec.support()
        x = np.linspace(lo, hi, 1002)[1:-1]
        elapsed, dens = min((_timed(lambda: spec.density(x)) for _ in range(3)), key=lambda r: r[0])
        if exact is not None:
            ref = exact(x)
            accuracy = f"max |error| {np.max(np.abs(dens - ref)):.1e}, max relative {np.max(np.abs(dens - ref) / ref):.1e}"
        else:
            moments = [spec.numeric_moment(k) for k in (1, 2, 3, 4)]
            err = max(abs(m - e) / e for m, e in zip(moments, (1, 4, 22, 140)))
            accuracy = f"moments 1-4 relative error {err:.1e}"
        mass = spec.continuous_mass + spec.atom_mass
        print(f"{name:<22}{first:>11.3f}{elapsed:>13.3f}{elapsed / unit:>8.1f}  {accuracy}, |mass - 1| {abs(mass - 1):.1e}",
              flush=True)


def _built(law):
    spec = freefim.spectrum(law)
    spec.support()
    return spec


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


if __name__ == "__main__":
    main()
