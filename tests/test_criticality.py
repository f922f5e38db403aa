"""Criticality presets (issue 6 point 3): the order-chaos edge chi = 1 and the moments of phi'^2."""
import json
import math

import numpy as np
import pytest
from scipy import integrate

from freefim import Network
from freefim.activations import Erf
from freefim.cli import build_parser, main, network_from_args
from freefim.criticality import Critical, critical_network, critical_point


def gauss(f, q):
    """E[f(sqrt(q) Z)] by adaptive quadrature, independent of freefim.quadrature (|Z| > 12 weighs < 1e-32)."""
    s = math.sqrt(q)
    return integrate.quad(lambda z: f(s * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                          -12, 12, epsabs=0, epsrel=1e-13, limit=200)[0]


@pytest.mark.parametrize("q_star", [0.01, 0.1, 1.0])
@pytest.mark.parametrize("weights", ["orthogonal", "gaussian"])
def test_tanh_fixed_point_and_unit_gain(q_star, weights):
    c = critical_point("tanh", weights, q_star=q_star)
    assert isinstance(c, Critical) and c.activation == "tanh" and c.weights == weights
    assert abs(c.chi - 1) <= 1e-12
    assert abs(c.sigma_w2 * c.dphi2_mean - 1) <= 1e-12
    assert abs(c.q_star - (c.sigma_w2 * c.qh_star + c.sigma_b2)) <= 1e-12 * q_star
    assert c.sigma_b2 >= 0
    dphi2 = gauss(lambda u: 1 / math.cosh(u) ** 4, q_star)
    assert c.dphi2_mean == pytest.approx(dphi2, rel=1e-12)
    assert c.dphi2_second == pytest.approx(gauss(lambda u: 1 / math.cosh(u) ** 8, q_star), rel=1e-12)
    assert c.qh_star == pytest.approx(gauss(lambda u: math.tanh(u) ** 2, q_star), rel=1e-12)
    assert c.sigma_w2 == pytest.approx(1 / dphi2, rel=1e-12)
    m2 = c.sigma_w2 ** 2 * c.dphi2_second + (1.0 if weights == "gaussian" else 0.0)
    assert c.rho_m1 == pytest.approx(1, abs=1e-12) and c.rho_m2 == pytest.approx(m2, rel=1e-12)
    assert c.isometry_variance == pytest.approx(c.rho_m2 - c.rho_m1 ** 2, rel=1e-12)


@pytest.mark.parametrize("scale", [math.sqrt(math.pi) / 2, 0.7])
@pytest.mark.parametrize("q_star", [0.05, 0.5, 2.0])
def test_erf_against_closed_forms(scale, q_star):
    a2 = scale ** 2
    c = critical_point(Erf(scale), q_star=q_star)
    dphi2 = (4 * a2 / math.pi) / math.sqrt(1 + 4 * a2 * q_star)
    dphi4 = (16 * a2 ** 2 / math.pi ** 2) / math.sqrt(1 + 8 * a2 * q_star)
    qh = (2 / math.pi) * math.asin(2 * a2 * q_star / (1 + 2 * a2 * q_star))
    assert c.dphi2_mean == pytest.approx(dphi2, rel=1e-12)
    assert c.dphi2_second == pytest.approx(dphi4, rel=1e-12)
    assert c.qh_star == pytest.approx(qh, rel=1e-12)
    assert c.sigma_w2 == pytest.approx(1 / dphi2, rel=1e-12)
    assert c.sigma_b2 == pytest.approx(q_star - qh / dphi2, rel=1e-9, abs=1e-15)
    assert abs(c.chi - 1) <= 1e-12
    # the preset network really sits at the fixed point: q_1 = q*
    net = c.network(4)
    assert net.activation is c.activation_object and net.q0 == c.qh_star
    assert net.sigma_w2 * net.q0 + net.sigma_b2 == pytest.approx(q_star, rel=1e-12)


def test_isometry_variance_vanishes_with_q_star():
    qs = [1.0, 0.3, 0.1, 0.03, 0.01, 0.001]
    for name in ("tanh", "erf"):
        var = [critical_point(name, q_star=q).isometry_variance for q in qs]
        assert all(b < a for a, b in zip(var, var[1:]))  # monotone in q*
        assert 0 < var[-1] < 1e-5
    # Gaussian weights: MP(1) keeps the variance near 1
    assert critical_point("tanh", "gaussian", q_star=0.001).isometry_variance == pytest.approx(1, abs=1e-2)


@pytest.mark.parametrize("name", ["tanh", "erf", "hardtanh"])
@pytest.mark.parametrize("q_star", [0.05, 0.3, 2.0])
def test_sigma_b2_route_inverts_q_star_route(name, q_star):
    c = critical_point(name, q_star=q_star)
    back = critical_point(name, sigma_b2=c.sigma_b2)
    assert back.q_star == pytest.approx(q_star, rel=1e-10)
    assert back.sigma_w2 == pytest.approx(c.sigma_w2, rel=1e-10)
    assert back.sigma_b2 == c.sigma_b2 and abs(back.chi - 1) <= 1e-12


def test_piecewise_linear():
    for q in (0.01, 1.0, 30.0):
        c = critical_point("relu", q_star=q)
        assert c.sigma_w2 == 2 and c.sigma_b2 == 0 and c.chi == 1 and c.qh_star == pytest.approx(q / 2)
        assert c.rho_m2 == 2 and c.isometry_variance == 1  # 2 Bernoulli(1/2)
        lin = critical_point("linear", q_star=q)
        assert lin.sigma_w2 == 1 and lin.sigma_b2 == 0 and lin.isometry_variance == 0
    with pytest.raises(ValueError, match="undetermined"):
        critical_point("relu", sigma_b2=0)
    with pytest.raises(ValueError, match="sigma_b2 = 0.1"):
        critical_point("relu", sigma_b2=0.1)
    h = critical_point("hardtanh", q_star=1.0)
    p = math.erf(1 / math.sqrt(2))
    assert h.sigma_w2 == pytest.approx(1 / p, rel=1e-14) and h.sigma_b2 > 0


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(q_star=-1.0), "q_star must be > 0, got -1.0"),
    (dict(q_star=0.0), "q_star must be > 0, got 0.0"),
    (dict(q_star=float("nan")), "q_star must be finite, got nan"),
    (dict(q_star=float("inf")), "q_star must be finite, got inf"),
    (dict(q_star="0.1"), "q_star must be a real number, got '0.1'"),
    (dict(sigma_b2=-0.5), "sigma_b2 must be >= 0, got -0.5"),
    (dict(sigma_b2=float("nan")), "sigma_b2 must be finite, got nan"),
    (dict(), "exactly one of q_star and sigma_b2"),
    (dict(q_star=0.1, sigma_b2=0.1), "exactly one of q_star and sigma_b2"),
    (dict(sigma_b2=0.0), "no critical point of tanh with sigma_b2 = 0.0"),
    (dict(weights="uniform", q_star=0.1), "unknown weights 'uniform'"),
])
def test_bad_input_raises_naming_the_value(kwargs, fragment):
    kwargs.setdefault("weights", "orthogonal")
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace("[", r"\[")):
        critical_point("tanh", **kwargs)


def test_q_star_needing_negative_bias_reports_the_allowed_range():
    with pytest.raises(ValueError) as err:
        critical_point("sigmoid", q_star=1.0)
    msg = str(err.value)
    assert "q_star = 1.0" in msg and "sigma_b2 = -5.54" in msg and "q* >= 45.6" in msg
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        critical_point("swish", q_star=0.1)


# ---------------------------------------------------------------------- CLI
def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_critical_json(capsys):
    code, out, err = run(capsys, "critical", "--activation", "tanh", "--q-star", "0.1", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    c = critical_point("tanh", q_star=0.1)
    assert set(data) == {"activation", "weights", "q_star", "sigma_w2", "sigma_b2", "qh_star", "chi", "dphi2_mean",
                         "dphi2_second", "rho_m1", "rho_m2", "isometry_variance"}
    assert data == c.as_dict()
    assert data["activation"] == "tanh" and data["weights"] == "orthogonal" and data["q_star"] == 0.1
    assert data["sigma_w2"] == pytest.approx(1.1775690961646, rel=1e-12)
    assert abs(data["chi"] - 1) <= 1e-12
    code, out, _ = run(capsys, "critical", "--activation", "erf", "--weights", "gaussian", "--sigma-b2", "0.001")
    assert code == 0 and "isometry_variance" in out and "sigma_b2           0.001" in out


@pytest.mark.parametrize("argv,fragment", [
    (["critical", "--q-star", "-1"], "q_star must be > 0, got -1.0"),
    (["critical", "--q-star", "nan"], "expected a finite number, got 'nan'"),
    (["critical"], "give exactly one of --q-star and --sigma-b2"),
    (["critical", "--q-star", "0.1", "--sigma-b2", "0.1"], "not allowed with argument"),
    (["critical", "--activation", "relu", "--sigma-b2", "0"], "undetermined"),
    (["density", "--q-star", "0.1"], "--q-star 0.1 needs --critical"),
    (["density", "--activation", "tanh", "--critical"], "--critical needs --q-star"),
    (["density", "--activation", "tanh", "--critical", "--q-star", "-0.5"], "q_star must be > 0, got -0.5"),
    (["density", "--activation", "tanh", "--critical", "--q-star", "0.1", "--sigma-w2", "1"],
     "--sigma-w2 cannot be combined with --critical"),
    (["density", "--activation", "tanh", "--critical", "--q-star", "0.1", "--sigma-b2", "0.1"], "not both"),
    (["density", "--activation", "sigmoid", "--critical", "--q-star", "1"], "sigma_b2 = -5.54335 < 0"),
])
def test_cli_bad_input_exits_2_with_one_line(capsys, argv, fragment):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def parse(*argv):
    return build_parser().parse_args(["density", *argv])


def test_network_from_args_critical():
    net = network_from_args(parse("--activation", "tanh", "--critical", "--q-star", "0.1", "--depth", "5"))
    c = critical_point("tanh", q_star=0.1)
    assert net == Network("tanh", "orthogonal", c.sigma_w2, c.sigma_b2, 5, c.qh_star)
    # an explicit --sigma-b2 with --critical fixes q* instead
    net = network_from_args(parse("--activation", "erf", "--weights", "gaussian", "--critical", "--sigma-b2", "0.001"))
    back = critical_point("erf", "gaussian", sigma_b2=0.001)
    assert net == back.network(3) and net.sigma_b2 == 0.001 and net.weights == "gaussian"
    assert net.sigma_w2 * net.q0 + net.sigma_b2 == pytest.approx(back.q_star, rel=1e-12)
    # an explicit --q0 is kept; without --critical nothing changes
    assert network_from_args(parse("--activation", "tanh", "--critical", "--q-star", "0.1", "--q0", "2")).q0 == 2
    assert network_from_args(parse("--activation", "tanh")) == Network("tanh", "orthogonal", 2.0, 0.1, 3, 1.0)


def test_critical_network_plain_arguments():
    """The library's critical network takes plain arguments (the CLI translates its options to them)."""
    c = critical_point("tanh", q_star=0.1)
    assert critical_network("tanh", "orthogonal", 5, q_star=0.1) == c.network(5)
    assert critical_network("tanh", depth=5, q_star=0.1, q0=2).q0 == 2
    assert critical_network("erf", "gaussian", sigma_b2=0.001) == network_from_args(
        parse("--activation", "erf", "--weights", "gaussian", "--critical", "--sigma-b2", "0.001"))
    for kwargs in (dict(), dict(q_star=0.1, sigma_b2=0.1)):
        with pytest.raises(ValueError, match="exactly one of q_star and sigma_b2"):
            critical_network("tanh", **kwargs)
    with pytest.raises(ValueError, match="q_star must be > 0, got -0.5"):
        critical_network("tanh", q_star=-0.5)


# ---------------------------------------------------------------------- depth study
def test_depth_study_small():
    from freefim import Spectrum
    from freefim.criticality import depth_study

    st = depth_study("tanh", "orthogonal", q_star=0.1, depths=[2, 4], points=64, progress=False)
    crit = critical_point("tanh", "orthogonal", q_star=0.1)
    for k, L in enumerate(st.depths):
        spec = Spectrum(crit.network(int(L)))
        (lo, hi), = spec.support()
        assert (st.left_edge[k], st.right_edge[k]) == pytest.approx((lo, hi), rel=1e-12)
        assert st.m1[k] == pytest.approx(float(spec.moments.m1), rel=1e-12)
        # the grid's midpoint rule in the cosine variable integrates the density to ~1
        assert st.grid_mass[k] == pytest.approx(1, abs=1e-3)
        assert lo < st.peak[k] <= hi and 0 < st.mass_near_peak[k] <= 1
        x, f = st.rescaled(k)
        assert np.allclose(x * L, st.grid[k]) and np.allclose(f, L * st.density[k])
    # depth 2: qh_1 + qh_0 rho, whose top is an inverse-square-root edge: the peak sits there
    assert st.peak[0] == pytest.approx(st.right_edge[0], rel=1e-3)
    assert st.right_edge[1] > st.right_edge[0] and st.slope_edge > 0
    assert set(st.as_dict()) >= {"depths", "peak", "right_edge", "slope_edge", "sigma_w2"}


@pytest.mark.parametrize("kwargs, match", [
    (dict(depths=[1, 2]), "depths"), (dict(depths=[]), "depths"), (dict(depths=[2.5]), "depths"),
    (dict(points=4), "points"), (dict(band=0), "band"), (dict(q_star=-1.0), "q_star"),
])
def test_depth_study_bad_input(kwargs, match):
    from freefim.criticality import depth_study

    args = dict(activation="tanh", weights="orthogonal", q_star=0.1, depths=[2], points=32, progress=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        depth_study(**args)
