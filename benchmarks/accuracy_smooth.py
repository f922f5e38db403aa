"""Accuracy of smooth-activation spectra: float64 against ``dps=30``, mass and moments.

For tanh (both weight laws), erf and sigmoid at depths 2, 5, 10: the largest relative difference
between the float64 and the 30-digit density at 15 points of the support (where the density is
above 1e-6 of its maximum there), the total mass minus one and the relative errors of m1, m2
of the density against the exact free moment rules.  Takes a few minutes.
Run: ``python benchmarks/accuracy_smooth.py``.
"""
import time
import warnings

import numpy as np

from freefim import Network, Spectrum

CASES = [("tanh", "orthogonal", 1.3, 0.05), ("tanh", "gaussian", 1.3, 0.05), ("erf", "orthogonal", 1.3, 0.02),
         ("sigmoid", "orthogonal", 4.0, 0.1)]


def main():
    for act, weights, sw, sb in CASES:
        for depth in (2, 5, 10):
            net = Network(act, weights, sw, sb, depth)
            spec = Spectrum(net)
            lo, hi = spec.support()[0][0], spec.support()[-1][1]
            x = lo + (hi - lo) * np.linspace(0.001, 0.999, 15) ** 2
            start = time.perf_counter()
            dens = spec.density(x)
            ref = np.array(Spectrum(net, dps=30).density(x), dtype=float)
            big = ref > 1e-6 * ref.max()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                mass = spec.continuous_mass
                m1 = spec.numeric_moment(1) / float(spec.moments.m1) - 1
                m2 = spec.numeric_moment(2) / float(spec.moments.m2) - 1
            print(f"{act}/{weights} ({sw}, {sb}) depth {depth}: float vs dps30 max rel "
                  f"{np.max(np.abs(dens - ref)[big] / ref[big]):.1e}; mass-1 {mass - 1:.1e} m1 {m1:.1e} m2 {m2:.1e} "
                  f"[{time.perf_counter() - start:.0f} s, {len(caught)} warnings]", flush=True)


if __name__ == "__main__":
    main()
