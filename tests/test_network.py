"""Network description and mean field: validation at the boundary, exact order parameters."""
import math
import re

import numpy as np
import pytest

from freefim import Network, mean_field
from freefim.activations import get_activation


@pytest.mark.parametrize("kwargs,match", [
    (dict(activation="swish"), "unknown activation 'swish'"),
    (dict(activation=3), "unknown activation 3"),
    (dict(weights="uniform"), "unknown weights 'uniform'"),
    (dict(sigma_w2=0.0), "sigma_w2 must be > 0, got 0.0"),
    (dict(sigma_w2=-1.0), "sigma_w2 must be > 0, got -1.0"),
    (dict(sigma_w2=float("nan")), "sigma_w2 must be finite, got nan"),
    (dict(sigma_w2="2"), "sigma_w2 must be a real number, got '2'"),
    (dict(sigma_b2=-0.1), "sigma_b2 must be >= 0, got -0.1"),
    (dict(sigma_b2=float("inf")), "sigma_b2 must be finite, got inf"),
    (dict(depth=0), "depth must be an integer in [1, 1000000], got 0"),
    (dict(depth=2.5), "depth must be an integer in [1, 1000000], got 2.5"),
    (dict(depth="3"), "depth must be an integer in [1, 1000000], got '3'"),
    (dict(q0=0.0), "q0 must be > 0, got 0.0"),
    (dict(q0=True), "q0 must be a real number, got True"),
])
def test_bad_input_is_refused_naming_the_value(kwargs, match):
    params = dict(activation="relu", weights="orthogonal", sigma_w2=2.0, sigma_b2=0.1, depth=3)
    params.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(match)):
        Network(**params)


def test_network_is_frozen_and_replace_validates():
    net = Network("ReLU", "Gaussian", 2, 0, 4.0)
    assert (net.activation.name, net.weights, net.depth) == ("relu", "gaussian", 4)
    with pytest.raises(AttributeError):
        net.depth = 5
    assert net.replace(depth=7).depth == 7
    with pytest.raises(ValueError, match="depth"):
        net.replace(depth=-1)
    assert net.as_dict() == dict(activation="relu", weights="gaussian", sigma_w2=2.0, sigma_b2=0.0, depth=4, q0=1.0)


def gaussian_average(f, q, n=200):
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return float(np.sum(w * f(np.sqrt(q) * z)) / np.sqrt(2 * np.pi))


@pytest.mark.parametrize("name", ["relu", "hardtanh", "linear"])
@pytest.mark.parametrize("q", [0.05, 0.7, 1.0, 3.3])
def test_exact_gaussian_averages_match_quadrature(name, q):
    from scipy.integrate import quad

    act = get_activation(name)
    dens = lambda u: math.exp(-u * u / (2 * q)) / math.sqrt(2 * math.pi * q)  # noqa: E731
    lim = 40 * math.sqrt(q)
    kinks = [-lim, -1.0, 0.0, 1.0, lim]  # where phi is not smooth (relu: 0; hardtanh: +-1)

    def average(f):
        return sum(quad(lambda u: f(u) * dens(u), a, b, epsabs=0, epsrel=1e-13)[0] for a, b in zip(kinks, kinks[1:]))

    assert act.second_moment(q) == pytest.approx(average(lambda u: float(act.phi(u)) ** 2), rel=1e-10)
    assert act.derivative_law(q) == pytest.approx(average(lambda u: float(act.dphi(u)) ** 2), rel=1e-10)


def test_mean_field_recursion_relu():
    mf = mean_field(Network("relu", "orthogonal", 2.0, 0.1, depth=4, q0=1.5))
    qh = [1.5]
    for l in range(1, 4):
        q = 2.0 * qh[-1] + 0.1
        assert mf.q[l] == pytest.approx(q)
        qh.append(q / 2)
    assert mf.q[4] == pytest.approx(2.0 * qh[3] + 0.1)
    assert list(mf.qh[:4]) == pytest.approx(qh)
    assert mf.p[1:4] == (0.5, 0.5, 0.5) and mf.chi[1:4] == (1.0, 1.0, 1.0)
    assert mf.qh[4] is None and mf.rho[0] is None


def test_gaussian_weights_rho_is_bernoulli_times_marchenko_pastur():
    mf = mean_field(Network("hardtanh", "gaussian", 1.1, 0.05, depth=3))
    p = mf.p[1]
    assert p == pytest.approx(math.erf(1 / math.sqrt(2 * mf.q[1])))
    # moments of MP(1) [x] Bern(p)*sigma_w2: r1 = p s, r2 = (p + p^2) s^2 (free product with mean-1 MP)
    assert mf.rho[1].m1 == pytest.approx(1.1 * p)
    assert mf.rho[1].m2 == pytest.approx(1.1 ** 2 * (p + p * p))
