"""Double-double arithmetic (freefim.doubledouble) against 50-digit mpmath."""
import mpmath
import numpy as np
import pytest

from freefim import doubledouble as dd


def _random(rng, n, spread=5):
    hi = (rng.normal(size=n) + 1j * rng.normal(size=n)) * 10.0 ** rng.uniform(-spread, spread, n)
    lo = (rng.normal(size=n) + 1j * rng.normal(size=n)) * np.abs(hi) * 1e-17
    s = hi + lo
    return s, (hi - s) + lo


def _mp(a):
    return [mpmath.mpc(h.real, h.imag) + mpmath.mpc(l.real, l.imag) for h, l in zip(*a)]


def test_error_free_transformations_are_exact():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=500) * 1e3, rng.normal(size=500) * 1e-5
    with mpmath.workdps(60):
        s, e = dd.two_sum(a, b)
        assert all(mpmath.mpf(x) + mpmath.mpf(y) == mpmath.mpf(u) + mpmath.mpf(v) for x, y, u, v in zip(a, b, s, e))
        p, e = dd.two_prod(a, b)
        assert all(mpmath.mpf(x) * mpmath.mpf(y) == mpmath.mpf(u) + mpmath.mpf(v) for x, y, u, v in zip(a, b, p, e))


@pytest.mark.parametrize("name", ["add", "mul", "div"])
def test_operations_carry_32_digits(name):
    rng = np.random.default_rng(1)
    a, b = _random(rng, 300), _random(rng, 300)
    exact = {"add": lambda x, y: x + y, "mul": lambda x, y: x * y, "div": lambda x, y: x / y}[name]
    with mpmath.workdps(50):
        got = _mp(getattr(dd, name)(a, b))
        err = max(abs(g - exact(x, y)) / abs(exact(x, y)) for g, x, y in zip(got, _mp(a), _mp(b)))
    assert err < 1e-30, float(err)


def test_a_cancellation_keeps_the_low_part():
    # (1 + 1e-20) - 1 in double-double is 1e-20 (in float64: 0)
    one_plus = dd.add(dd.from_float(np.array([1.0 + 0j])), (np.array([0j]), np.array([1e-20 + 1e-21j])))
    diff = dd.add(one_plus, dd.from_float(np.array([-1.0 + 0j])))
    assert abs(dd.to_complex(diff)[0] - (1e-20 + 1e-21j)) <= 1e-35


@pytest.mark.parametrize("net", [("relu", "orthogonal", 2.0, 0.1, 6), ("tanh", "gaussian", 1.3, 0.05, 4)])
def test_the_double_double_chain_is_the_float_chain_rounded(net):
    # Chain.forward_dd takes the steps of Chain.forward: at the roots of points above the axis (no cancellation) the
    # two agree to the float chain's rounding, Z' and g' too
    from freefim import Network, Spectrum
    from freefim.numeric import solve

    spec = Spectrum(Network(*net))
    chain, m1 = spec.chain, float(spec.moments.m1)
    t, _ = solve(chain, m1 * np.array([0.5, 1.0, 2.0, 4.0]), 0.1 * m1)
    z, dz, g = chain.forward(t)
    assert np.all(np.isfinite(z))
    z_dd, dz_dd, g_dd, _ = chain.forward_dd(t)
    for a, b in ((z, dd.to_complex(z_dd)), (dz, dz_dd), (g, dd.to_complex(g_dd))):
        assert np.all(np.abs(a - b) <= 1e-12 * np.abs(a)), np.abs(a - b) / np.abs(a)
