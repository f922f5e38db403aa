"""With ``dps`` every quantity of a Spectrum carries the digits: atoms, support edges, peak, cdf.

Oracles: the same law at ``dps = 30`` and ``dps = 40`` (digits that are right agree), the float64
values (agree to their own accuracy), total mass 1 and the exact symmetric arcsine of ReLU at
depth 3.
"""
import warnings

import mpmath
import numpy as np
import pytest

from freefim import AccuracyWarning, Network, Spectrum


def rel(a, b):
    return abs(a - b) / abs(b)


@pytest.fixture(scope="module")
def hardtanh():
    net = Network("hardtanh", "orthogonal", 1.25, 0.0, 5, q0=1.0)  # three atoms, a finite peak
    return Spectrum(net), Spectrum(net, dps=30), Spectrum(net, dps=40)


def test_atoms_carry_the_digits(hardtanh):
    f, s30, s40 = hardtanh
    assert len(s30.atoms) == len(f.atoms) == 3
    for a, b, c in zip(f.atoms, s30.atoms, s40.atoms):
        assert isinstance(b.location, mpmath.mpf) and isinstance(b.mass, mpmath.mpf)
        assert rel(b.location, c.location) < 1e-28 and rel(b.mass, c.mass) < 1e-28
        assert rel(b.location, a.location) < 1e-13 and rel(b.mass, a.mass) < 1e-12


def test_support_edges_carry_the_digits(hardtanh):
    f, s30, s40 = hardtanh
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        e30 = [e for iv in s30.support() for e in iv]
        e40 = [e for iv in s40.support() for e in iv]
    e64 = [e for iv in f.support() for e in iv]
    assert all(isinstance(e, mpmath.mpf) for e in e30)
    assert max(rel(a, b) for a, b in zip(e30, e40)) < 1e-28
    assert max(rel(a, b) for a, b in zip(e30, e64)) < 1e-10
    # an edge is where the dps-digit density starts: zero just outside, positive just inside
    lo, hi = e30[0], e30[1]
    with mpmath.workdps(30):
        assert s30._density_mp(lo + (hi - lo) * mpmath.mpf(10) ** -12) > 0
        assert s30._density_mp(lo - lo * mpmath.mpf(10) ** -12) < 1e-25  # zero to rounding


def test_peak_carries_the_digits(hardtanh):
    f, s30, s40 = hardtanh
    p64, p30, p40 = f.peak(), s30.peak(), s40.peak()
    assert isinstance(p30.height, mpmath.mpf)
    assert rel(p30.height, p40.height) < 1e-27  # the height is quadratic in the location's error
    assert rel(p30.location, p40.location) < 1e-13
    assert rel(p30.height, p64.height) < 1e-9
    # the maximum: the dps-digit density a little to either side is lower
    with mpmath.workdps(30):
        for side in (-1, 1):
            assert s30._density_mp(p30.location * (1 + side * mpmath.mpf(10) ** -8)) < p30.height


def test_cdf_carries_the_digits():
    net = Network("relu", "orthogonal", 2.0, 0.1, depth=3)  # half an atom, a symmetric arcsine law
    f, s30, s40 = Spectrum(net), Spectrum(net, dps=30), Spectrum(net, dps=40)
    (a, b), = s30.support()
    x = np.array([float(a + (b - a) / 4), 100.0])
    c30, c40, c64 = s30.cdf(x), s40.cdf(x), f.cdf(x)
    assert c30.dtype == object and isinstance(c30[0], mpmath.mpf)
    assert rel(c30[0], c40[0]) < 1e-24
    assert abs(c30[1] - 1) < 1e-24  # the whole law (to ~dps - 5 digits: densities next to edges lose some)
    assert abs(float(c30[0]) - c64[0]) < 1e-9
    # the arcsine law: F(a + (b - a) sin^2(theta/2)) = theta / pi for the continuous half
    with mpmath.workdps(30):
        theta = 2 * mpmath.asin(mpmath.sqrt((mpmath.mpf(x[0]) - a) / (b - a)))
        assert abs(c30[0] - (mpmath.mpf(1) / 2 + theta / (2 * mpmath.pi))) < 1e-24


def test_cli_density_dps_json_carries_the_digits(capsys):
    import json

    from freefim.cli import main

    assert main(["density", "--depth", "3", "--dps", "30", "--points", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    lo, hi = out["support"][0]
    assert len(lo.replace(".", "")) >= 28 and mpmath.mpf(hi) > mpmath.mpf(lo)
    assert out["atoms"][0]["mass"] == "0.5" and out["peak"]["diverges"] is True


def test_moments_carry_the_digits(hardtanh):
    f, s30, s40 = hardtanh
    assert isinstance(s30.moment(2), mpmath.mpf) and rel(s30.moment(2), s40.moment(2)) < 1e-28
    m3 = s30.moment(3)
    assert isinstance(m3, mpmath.mpf) and rel(m3, f.moment(3)) < 1e-9
    # the exact m1 again by the dps-digit quadrature of the density (plus the atoms)
    with mpmath.workdps(30):
        parts = [s30._integral_mp(i, hi, power=1)[0] for i, (lo, hi) in enumerate(s30._pieces_mp[0])]
        m1 = sum(parts) + sum(a.mass * a.location for a in s30.atoms)
    assert rel(m1, s30.moment(1)) < 1e-24


@pytest.mark.parametrize("name", ["arctan", "softplus"])
def test_user_activation_with_dps_agrees_with_float(name):
    # the rule at dps reaches farther out in Z than the user activation's interpolants (one per
    # panel of the float rule): was an IndexError (arctan) and, for an activation whose phi'^2 is
    # not even (softplus, rule over all of R), a panel numbering off by the extra panels
    from freefim.activations import Activation

    if name == "arctan":
        act, sw2 = Activation.from_callable(np.arctan, name="arctan"), 1.5
    else:
        act, sw2 = Activation.from_callable(lambda u: np.log1p(np.exp(u)), dphi=lambda u: 1 / (1 + np.exp(-u)),
                                            name="softplus"), 3.0
    net = Network(act, "orthogonal", sw2, 0.05, 2)
    spec = Spectrum(net)
    (lo, hi), = spec.support()
    x = lo + (hi - lo) * np.array([0.05, 0.5, 0.95])
    high = np.array(Spectrum(net, dps=30).density(x), dtype=float)
    # the float density is accurate to ~1e-12 (the user activation's interpolants to ~1e-11)
    np.testing.assert_allclose(spec.density(x), high, rtol=1e-9, atol=0)
