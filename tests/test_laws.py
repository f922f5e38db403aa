"""The public law algebra of :mod:`freefim.laws` solved by :func:`freefim.spectrum` (issue 17)."""
import math

import mpmath
import numpy as np
import pytest

import freefim
from freefim.laws import Bernoulli, MarchenkoPastur, PointMass, activation_law, free_product, scaled, shift
from freefim.numeric import Spectrum


def free_poisson_density(x, rate):
    """The free Poisson law of rate ``rate``: Marchenko-Pastur of ratio ``1 / rate`` and scale ``rate``."""
    return MarchenkoPastur(ratio=1 / rate, scale=rate).density(x)


def fuss_catalan2_density(x):
    """Density of MP [x] MP on (0, 27/4] (Penson & Zyczkowski 2011, eq. 7 with s = 2)."""
    r = 27 + 3 * np.sqrt(81 - 12 * x)
    return 2 ** (1 / 3) * math.sqrt(3) / (12 * np.pi) * (2 ** (1 / 3) * r ** (2 / 3) - 6 * np.cbrt(x)) / (
        x ** (2 / 3) * r ** (1 / 3))


def test_mp_times_bernoulli_is_the_free_poisson_law():
    spec = freefim.spectrum(free_product(MarchenkoPastur(), Bernoulli(0.5)))
    a, b = (1 - 2 ** -0.5) ** 2, (1 + 2 ** -0.5) ** 2
    assert [(atom.location, atom.mass) for atom in spec.atoms] == [(0.0, 0.5)]
    (lo, hi), = spec.support()
    assert abs(lo - a) <= 1e-12 and abs(hi - b) <= 1e-12
    x = np.linspace(a, b, 1002)[1:-1]
    exact = free_poisson_density(x, 0.5)
    assert np.max(np.abs(spec.density(x) - exact)) <= 1e-12
    assert abs(spec.continuous_mass - 0.5) <= 1e-12
    assert (spec.moments.m1, spec.moments.m2) == (0.5, 0.75)  # rate 1/2: m1 = 1/2, m2 = 1/2 + 1/4
    # MarchenkoPastur.density against the formula sqrt((x - a)(b - x)) / (2 pi x) of the issue
    assert np.allclose(exact, np.sqrt((x - a) * (b - x)) / (2 * np.pi * x), rtol=1e-12, atol=0)
    # the same law written as Marchenko-Pastur of ratio 2 and scale 1/2, and with 30 digits
    other = freefim.spectrum(MarchenkoPastur(ratio=2.0, scale=0.5))
    assert np.max(np.abs(other.density(x) - exact)) <= 1e-12
    with mpmath.workdps(30):
        deep = freefim.spectrum(MarchenkoPastur(ratio=2, scale=0.5), dps=30)
        value = deep.density([1.0])[0]
        exact_mp = mpmath.sqrt((1 - mpmath.mpf(a)) * (mpmath.mpf(b) - 1)) / (2 * mpmath.pi)
        a_mp, b_mp = (1 - 1 / mpmath.sqrt(2)) ** 2, (1 + 1 / mpmath.sqrt(2)) ** 2
        exact_mp = mpmath.sqrt((1 - a_mp) * (b_mp - 1)) / (2 * mpmath.pi)
        assert abs(value - exact_mp) <= mpmath.mpf(10) ** -25


def test_mp_cubed_has_mass_one_and_the_fuss_catalan_moments():
    spec = freefim.spectrum(free_product(MarchenkoPastur(), MarchenkoPastur(), MarchenkoPastur()))
    assert spec.atoms == ()
    (lo, hi), = spec.support()
    assert lo == 0 and abs(hi - 256 / 27) <= 1e-12 * 256 / 27  # (s + 1)^(s + 1) / s^s, s = 3
    assert abs(spec.continuous_mass - 1) <= 1e-8
    assert (spec.moments.m1, spec.moments.m2) == (1, 4)  # exact, by the free moment rules
    # Fuss-Catalan numbers binom(4k, k) / (3k + 1): 1, 4, 22, 140 from the density by quadrature
    for k, exact in [(1, 1), (2, 4), (3, 22), (4, 140)]:
        assert abs(spec.numeric_moment(k) - exact) <= 1e-8 * exact


def test_mp_squared_against_its_closed_form():
    spec = freefim.spectrum(free_product(MarchenkoPastur(), MarchenkoPastur()))
    (lo, hi), = spec.support()
    assert lo == 0 and abs(hi - 27 / 4) <= 1e-12 * 27 / 4
    x = np.linspace(0, 27 / 4, 1002)[1:-1]
    exact = fuss_catalan2_density(x)
    assert np.max(np.abs(spec.density(x) - exact) / exact) <= 1e-11
    assert abs(spec.continuous_mass - 1) <= 1e-8


def test_shift_and_scale_move_the_law():
    base = free_product(MarchenkoPastur(), Bernoulli(0.5))
    moved = freefim.spectrum(shift(scaled(base, 3.0), 2.0))
    assert (moved.moments.m1, moved.moments.m2) == pytest.approx((1.5 + 2, 9 * 0.75 + 4 * 1.5 + 4), rel=1e-15)
    assert [(a.location, a.mass) for a in moved.atoms] == [(2.0, 0.5)]
    x = np.linspace(2.3, 10.6, 50)
    assert np.allclose(moved.density(x), free_poisson_density((x - 2) / 3, 0.5) / 3, rtol=1e-11, atol=1e-14)
    # operators: c * law and law + a are scaled and shift
    same = freefim.spectrum(3.0 * base + 2.0)
    assert np.array_equal(same.density(x), moved.density(x))
    # a product of a shifted law with a plain one is the FIM's layer: (delta_2 [+] FP) [x] MP
    layer = freefim.spectrum(free_product(base + 2.0, MarchenkoPastur()))
    assert (layer.moments.m1, layer.moments.m2) == pytest.approx((2.5, 2.5 ** 2 * 2 + 0.75 + 4 * 0.5 + 4 - 2.5 ** 2), rel=1e-14)
    assert abs(layer.continuous_mass + layer.atom_mass - 1) <= 1e-8


def test_activation_law_is_the_orthogonal_layer_law():
    net = freefim.Network("relu", "orthogonal", 2.0, 0.1, depth=3)
    rho = freefim.mean_field(net).rho[1]
    law = activation_law("relu", 1.0, 2.0)
    assert (law.p, law.scale) == (rho.p, rho.scale)
    smooth = activation_law("tanh", 0.5, 1.5)
    assert smooth.m1 == pytest.approx(1.5 * 0.6, rel=0.5)  # E tanh'(u)^2 < 1
    spec = freefim.spectrum(smooth)
    assert abs(spec.continuous_mass - 1) <= 1e-8 and abs(spec.numeric_moment(1) - smooth.m1) <= 1e-8 * smooth.m1


@pytest.mark.parametrize("law", [free_product(MarchenkoPastur(), MarchenkoPastur()), MarchenkoPastur(ratio=3.0),
                                 free_product(Bernoulli(0.3, 2.0), MarchenkoPastur(ratio=0.5)) + 1.0])
def test_stieltjes_is_herglotz_and_tends_to_minus_one_over_z(law):
    spec = freefim.spectrum(law)
    z = np.array([1e-3 + 1j, 2 + 0.1j, -1 + 3j, 50j, 1e6j, 1e9 + 1e9j])
    g = spec.stieltjes(z)
    assert np.all(g.imag < 0)
    assert abs(g[-1] * z[-1] - 1) <= 1e-6


@pytest.mark.parametrize("make, message", [
    (lambda: PointMass(0.0), "location a"), (lambda: Bernoulli(1.5), "p must be a probability"),
    (lambda: Bernoulli(0.5, -1), "scale"), (lambda: MarchenkoPastur(ratio=-1), "ratio"),
    (lambda: MarchenkoPastur(ratio=float("nan")), "ratio"), (lambda: free_product(), "at least one"),
    (lambda: free_product(MarchenkoPastur(), 2.0), "argument 2"), (lambda: shift(MarchenkoPastur(), -1), "shift"),
    (lambda: freefim.spectrum(free_product(MarchenkoPastur() + 1, MarchenkoPastur() + 1)), "two shifted laws"),
    (lambda: Spectrum("MP"), "Network or a freefim.laws.Law"),
    (lambda: Spectrum(MarchenkoPastur(), jacobian=True), "jacobian=True needs a freefim.Network"), (lambda: activation_law("nope", 1.0), "unknown activation"),
])
def test_bad_laws_are_refused_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()
