"""Mean-field FIM statistics (Karakida, Akaho & Amari 2019) and their CT x CT Monte Carlo."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate

from freefim import Network, get_activation
from freefim.cli import main
from freefim.statistics import (cross_moment, dual_fim, dual_fim_from_weights, fim_statistics,
                                gauss_average, gauss_cross_average, order_parameters, sample_statistics)


# ---------------------------------------------------------------------- closed forms
def test_linear_network_closed_form():
    # linear: qh_l = q_l = 1 + 0.1 l, qh_st_l = 0.1 l, qt = qt_st = 1 (sigma_w2 = 1)
    net = Network("linear", "gaussian", 1.0, 0.1, depth=3)
    op = order_parameters(net)
    assert op.qh[:3] == pytest.approx([1.0, 1.1, 1.2])
    assert op.qh_st[:3] == pytest.approx([0.0, 0.1, 0.2])
    assert op.qt[1:] == pytest.approx([1, 1, 1]) and op.qt_st[1:] == pytest.approx([1, 1, 1])
    st = fim_statistics(net, width=1000, outputs=2, samples=100, mu=0.9)
    k1, k2 = 3.3 / 2, 0.3 / 2
    assert (st.kappa1, st.kappa2) == pytest.approx((k1, k2), rel=1e-14)
    assert st.m == pytest.approx(2 * k1 / 1000, rel=1e-14)
    assert st.s == pytest.approx(2 * 2 * (0.99 * k2 ** 2 + k1 ** 2 / 100), rel=1e-14)
    assert st.lambda_max == pytest.approx(2 * (0.99 * k2 + k1 / 100) * 1000, rel=1e-14)
    assert st.eta_c == pytest.approx(2 * 1.9 / st.lambda_max, rel=1e-14)
    assert st.fisher_rao == pytest.approx(1.0 * (3 - 1) * 2 * k1, rel=1e-14)  # sigma_w^2 (L-1) C kappa_1


def test_relu_depth2_closed_form():
    # L = 2, qh0 = 1, qh0_st = 0: q1 = 2.1, c = 0.1/2.1; kappa = (qt1 qh0 + qt2 qh1)/alpha with alpha = 1
    net = Network("relu", "gaussian", 2.0, 0.1, depth=2)
    op = order_parameters(net)
    c = 0.1 / 2.1
    qh_st1 = 2.1 / (2 * math.pi) * (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c)
    qt_st1 = 2.0 * (math.pi - math.acos(c)) / (2 * math.pi)
    assert op.kappa1 == pytest.approx(2.0 * 0.5 * 1.0 + 1.0 * 1.05, rel=1e-14)
    assert op.kappa2 == pytest.approx(qt_st1 * 0.0 + 1.0 * qh_st1, rel=1e-14)


@pytest.mark.parametrize("name", ["relu", "hardtanh", "linear", "tanh"])
@pytest.mark.parametrize("a", [0.3, 1.7])
def test_cross_moment_limits(name, a):
    """c = 1 gives the one-dimensional moments, c = 0 the squared means."""
    act = get_activation(name)
    e_phi2 = gauss_average(lambda u: act.phi(u) ** 2, a, nodes=180)
    e_dphi2 = gauss_average(lambda u: act.dphi(u) ** 2, a, nodes=180)
    if name != "tanh":
        e_phi2, e_dphi2 = act.second_moment(a), act.derivative_law(a)
    assert cross_moment(act, a, a) == pytest.approx(e_phi2, rel=1e-7)
    assert cross_moment(act, a, a, derivative=True) == pytest.approx(e_dphi2, rel=1e-7)
    # E[phi] and E[phi'] by adaptive quadrature, split at the kinks (+-1, 0)
    pdf = lambda x: math.exp(-x * x / (2 * a)) / math.sqrt(2 * math.pi * a)
    mean = lambda f: sum(integrate.quad(lambda x: float(f(np.array(x))) * pdf(x), lo, hi, epsabs=1e-13)[0]
                         for lo, hi in ((-np.inf, -1), (-1, 0), (0, 1), (1, np.inf)))
    assert cross_moment(act, a, 0.0) == pytest.approx(mean(act.phi) ** 2, abs=1e-9)
    assert cross_moment(act, a, 0.0, derivative=True) == pytest.approx(mean(act.dphi) ** 2, abs=1e-9)


@pytest.mark.parametrize("name", ["relu", "hardtanh"])
@pytest.mark.parametrize("a,b", [(1.3, 0.4), (0.7, -0.3), (2.0, 1.9)])
def test_cross_moment_against_sampling(name, a, b):
    """Closed forms for kinked activations vs 10^6 correlated Gaussian pairs (5 standard errors)."""
    act = get_activation(name)
    rng = np.random.default_rng(7)
    c = b / a
    z = rng.standard_normal((2, 1_000_000))
    x, y = math.sqrt(a) * z[0], math.sqrt(a) * (c * z[0] + math.sqrt(1 - c * c) * z[1])
    for deriv, f in ((False, act.phi), (True, act.dphi)):
        prod = f(x) * f(y)
        se = prod.std() / math.sqrt(prod.size)
        assert abs(cross_moment(act, a, b, derivative=deriv) - prod.mean()) < 5 * se


def test_gauss_hermite_cross_average_smooth():
    act = get_activation("tanh")
    a, b = 2.3, 0.8
    c = b / a
    ref = integrate.dblquad(lambda z2, z1: math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi)
                            * math.tanh(math.sqrt(a) * z1) * math.tanh(math.sqrt(a) * (c * z1 + math.sqrt(1 - c * c) * z2)),
                            -12, 12, -12, 12, epsabs=1e-12)[0]
    assert gauss_cross_average(act.phi, a, b) == pytest.approx(ref, abs=1e-9)


# ---------------------------------------------------------------------- the CT x CT dual matrix
def test_dual_fim_matches_explicit_jacobian():
    """Nonzero spectrum of F = J^T J / T (finite differences, P x P) equals that of F* (CT x CT)."""
    rng = np.random.default_rng(3)
    act = get_activation("tanh")
    widths = [5, 4, 3, 2]  # M0, M1, M2, C
    T = 3
    weights = [rng.standard_normal((widths[l], widths[l - 1])) / math.sqrt(widths[l - 1]) for l in range(1, 4)]
    biases = [0.3 * rng.standard_normal(widths[l]) for l in range(1, 4)]
    x = rng.standard_normal((T, widths[0]))

    def outputs(theta):
        ws, i = [], 0
        for W in weights:
            ws.append(theta[i:i + W.size].reshape(W.shape))
            i += W.size
        h = x
        for l, (W, b) in enumerate(zip(ws, biases)):
            h = h @ W.T + b
            if l < 2:
                h = act.phi(h)
        return h.reshape(-1)  # (t, k) order

    theta = np.concatenate([W.ravel() for W in weights])
    eps = 1e-6
    J = np.stack([(outputs(theta + eps * e) - outputs(theta - eps * e)) / (2 * eps) for e in np.eye(theta.size)],
                 axis=1)
    F_star = dual_fim_from_weights(act, weights, x, biases)
    assert F_star.shape == (T * 2, T * 2)
    np.testing.assert_allclose(F_star, J @ J.T / T, atol=1e-8)
    big = np.sort(np.linalg.eigvalsh(J.T @ J / T))[-T * 2:]
    np.testing.assert_allclose(np.linalg.eigvalsh(F_star), big, atol=1e-8)


def test_dual_fim_seeded_and_counts_parameters():
    net = Network("relu", "gaussian", 2.0, 0.1, depth=3)
    F1, P = dual_fim(net, 20, outputs=2, samples=4, rng=5, alphas=[1.0, 0.5, 1.5])
    F2, _ = dual_fim(net, 20, outputs=2, samples=4, rng=5, alphas=[1.0, 0.5, 1.5])
    assert P == 10 * 20 + 30 * 10 + 2 * 30
    np.testing.assert_array_equal(F1, F2)
    assert F1.shape == (8, 8)


# ---------------------------------------------------------------------- theory vs Monte Carlo
SETTINGS = [("tanh", 3.0, 0.64), ("relu", 2.0, 0.1), ("linear", 1.0, 0.1)]


@pytest.mark.parametrize("name,sw2,sb2", SETTINGS)
def test_monte_carlo_agrees_with_theory(name, sw2, sb2):
    """Karakida et al. Fig. 1 settings at M = 300, T = 30.

    Tolerance: 4 standard errors of the trial mean (the fluctuation of one network
    is O(1/sqrt(M)): e.g. qt_{L-1} is a sum of M terms) plus 15/M for the O(1/M)
    finite-width bias (Assumption 1 and P = alpha M^2 + C M hold only as M -> inf);
    the benchmark benchmarks/statistics_mc.py shows the error shrinking with M.
    """
    act = get_activation("tanh") if name == "tanh" else name
    net = Network(act, "gaussian", sw2, sb2, depth=3)
    M, T = 300, 30
    theory = fim_statistics(net, M, outputs=1, samples=T)
    mc = sample_statistics(net, M, 1, T, trials=16, seed=11)
    for stat, (mean, se) in mc.summary().items():
        th = getattr(theory, stat)
        assert abs(mean - th) < 4 * se + 15 / M * th, (stat, mean, se, th)


def test_monte_carlo_nonuniform_widths_and_outputs():
    """alphas and C enter m = C kappa_1 / M (trace identity, no Assumption 1 needed at the top layers)."""
    net = Network("linear", "gaussian", 1.0, 0.1, depth=3)
    alphas = [1.0, 0.5, 1.5]
    theory = fim_statistics(net, 200, outputs=3, samples=10, alphas=alphas)
    mc = sample_statistics(net, 200, 3, 10, trials=12, seed=2, alphas=alphas)
    mean, se = mc.summary()["m"]
    # P counted exactly (+ C M_{L-1} = 900 on alpha M^2 = 2 10^4 * 1.25): theory m is relative 3.6% higher
    P_ratio = (1.25 * 200 ** 2) / (1.25 * 200 ** 2 + 3 * 300)
    assert abs(mean - theory.m * P_ratio) < 4 * se


# ---------------------------------------------------------------------- validation and CLI
@pytest.mark.parametrize("kwargs,match", [
    (dict(width=0), "width"), (dict(outputs=0), "outputs"), (dict(samples=1.5), "samples"),
    (dict(mu=1.0), "mu"), (dict(alphas=[1, 1]), "alphas"), (dict(alphas=[1, -1, 1]), "alphas"),
    (dict(qh0_st=2.0), "qh0_st")])
def test_bad_input_raises(kwargs, match):
    net = Network("relu", "gaussian", 2.0, 0.1, depth=3)
    args = dict(width=100)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fim_statistics(net, **args)


def test_depth_one_and_orthogonal_widening_raise():
    with pytest.raises(ValueError, match="depth"):
        order_parameters(Network("relu", depth=1))
    with pytest.raises(ValueError, match="orthogonal"):
        dual_fim(Network("relu", "orthogonal", depth=2), 10, samples=2, rng=0, alphas=[1.0, 2.0])


def test_cli_stats_json(capsys):
    assert main(["stats", "--activation", "linear", "--weights", "gaussian", "--sigma-w2", "1", "--sigma-b2",
                 "0.1", "--width", "40", "--samples", "5", "--outputs", "2", "--mc-trials", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kappa1"] == pytest.approx(1.65) and out["kappa2"] == pytest.approx(0.15)
    assert set(out["monte_carlo"]) >= {"m", "s", "lambda_max"}
    assert out["outputs"] == 2 and out["samples"] == 5
    assert len(out["order_parameters"]["qt_st"]) == 4


def test_cli_stats_bad_input_exit_2():
    res = subprocess.run([sys.executable, "-m", "freefim", "stats", "--outputs", "0"], capture_output=True, text=True)
    assert res.returncode == 2
    assert "outputs" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
