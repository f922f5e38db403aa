"""Accuracy of smooth-activation spectra: float64 against ``dps=30``, mass and moments.

For tanh, erf, sigmoid and a user callable (``arctan``, derivative by complex step), both weight
laws, at depths 2, 5, 10, 30, 100: the largest relative difference between the float64 and the
30-digit density at points of the support where the density is above 1e-6 of its maximum there
(15 points, 7 from depth 30 on), with ``kappa * u`` there (the density's condition number in ``x``
times the unit roundoff: what float64 resolves, next to an end of the support) and the largest where
``kappa * u < 1e-12``, the total mass minus one and the relative errors of m1, m2 of
the density against the exact free moment rules; at depth 2 also the explicit law
(``w = psi(qh_0 / (z - qh_1))``) against the general solver (the same law as a free product with
a point mass at 1, which takes the Newton path).  Takes long (an hour on two cores).
Run: ``python benchmarks/accuracy_smooth.py`` (``--depths 2 5 10 30 100 --activations tanh erf sigmoid arctan``).
"""
import argparse
import time
import warnings

import numpy as np

from freefim import Network, Spectrum
from freefim.activations import Activation
from freefim.laws import FreeProduct, PointMass
from freefim.numeric import Chain

ARCTAN = Activation.from_callable(np.arctan, name="arctan")
CASES = [("tanh", 1.3, 0.05), ("erf", 1.3, 0.02), ("sigmoid", 4.0, 0.1), (ARCTAN, 1.5, 0.05)]


EPS = np.finfo(float).eps / 2  # the unit roundoff


def condition(spec, x, lo, hi):
    r"""The condition number :math:`|x \rho'(x) / \rho(x)|` of the density at ``x`` (central differences of the
    float density over 1e-3 of the distance to the nearer end of the support): an error of one unit
    roundoff in ``x`` (or in any quantity computed on its scale) moves the density by ``kappa * EPS``.
    Next to an end that is what a float64 ``x`` resolves: sigmoid/orthogonal (4, 0.1, depth 5) at 1e-6 of its
    width above its floor has kappa = 6.4e6 (kappa * u = 7.4e-10).  Its float64 density was 1.7e-9 off the
    30-digit one there, 1.45e-9 of it from the floor ``qh_{L-1}`` rounded to float64 (1.2 ulp); with the floor
    carried beyond float64 (``freefim.meanfield.floor_correction``), 5.7e-11 (2.4e-10 on one BLAS thread)."""
    h = 1e-3 * np.minimum(x - lo, hi - x)
    up, down, mid = spec.density(x + h), spec.density(x - h), spec.density(x)
    with np.errstate(all="ignore"):
        return np.abs(x * (up - down) / (2 * h * mid))


def general_vs_explicit(spec, x):
    """Largest relative difference, depth 2: the explicit law against the general Newton path."""
    (qh, law), = spec.chain.layers
    general = Spectrum.from_chain(Chain(spec.chain.qh0, [(qh, FreeProduct(law, PointMass(1.0)))]))
    a, b = spec.density(x), general.density(x)
    big = a > 1e-6 * a.max()
    return float(np.max(np.abs(a - b)[big] / a[big]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[2, 5, 10, 30, 100])
    parser.add_argument("--activations", nargs="+", default=["tanh", "erf", "sigmoid", "arctan"],
                        help="a subset of tanh erf sigmoid arctan (the user callable)")
    args = parser.parse_args()
    for act, sw, sb in CASES:
        if getattr(act, "name", act) not in args.activations:
            continue
        for weights in ("orthogonal", "gaussian"):
            for depth in args.depths:
                net = Network(act, weights, sw, sb, depth)
                name = getattr(act, "name", act)
                spec = Spectrum(net)
                start = time.perf_counter()
                lo, hi = spec.support()[0][0], spec.support()[-1][1]
                x = lo + (hi - lo) * np.linspace(0.001, 0.999, 15 if depth < 30 else 7) ** 2
                dens = spec.density(x)
                ref = np.array(Spectrum(net, dps=30).density(x), dtype=float)
                big = ref > 1e-6 * ref.max()
                kappa = condition(spec, x, lo, hi)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    mass = spec.continuous_mass
                    m1 = spec.numeric_moment(1) / float(spec.moments.m1) - 1
                    m2 = spec.numeric_moment(2) / float(spec.moments.m2) - 1
                explicit = depth == 2 and weights == "orthogonal"  # (Gaussian weights: a free product already)
                extra = f"; explicit vs general {general_vs_explicit(spec, x):.1e}" if explicit else ""
                rel = np.abs(dens - ref)[big] / ref[big]
                worst = int(np.argmax(rel))
                sharp = kappa[big] * EPS >= 1e-12  # where float64 resolves the density to 1e-12 or worse
                resolved = f"{np.max(rel[~sharp]):.1e}" if np.any(~sharp) else "-"
                print(f"{name}/{weights} ({sw}, {sb}) depth {depth}: float vs dps30 max rel "
                      f"{rel[worst]:.1e} (there kappa*u {kappa[big][worst] * EPS:.1e}; where kappa*u < 1e-12: "
                      f"{resolved}); mass-1 {mass - 1:.1e} m1 {m1:.1e} "
                      f"m2 {m2:.1e}{extra} [{time.perf_counter() - start:.0f} s, {len(caught)} warnings]",
                      flush=True)


if __name__ == "__main__":
    main()
