"""The FIM of T samples for regression and softmax outputs, and the NTK (issue 19): theory and Monte Carlo."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import special

from freefim import Network, get_activation
from freefim.cli import main
from freefim.statistics import (_top_eigenvalues, fim_statistics, jacobian_gram, mean_field_dual, ntk_statistics,
                                order_parameters, output_factor, sample_ntk, sample_statistics, dual_fim_from_weights)

TANH = Network("tanh", "gaussian", 3.0, 0.64, depth=3)


# ---------------------------------------------------------------------- output laws
@pytest.mark.parametrize("C", [1, 2, 5])
def test_output_factor_is_the_fisher_of_the_output_law(C):
    rng = np.random.default_rng(C)
    u = 2 * rng.standard_normal((4, C))
    B = output_factor(u, "softmax")
    Q = B @ np.swapaxes(B, -1, -2)
    if C == 1:
        p = special.expit(u[:, 0])
        np.testing.assert_allclose(Q[:, 0, 0], p * (1 - p), rtol=1e-14)
    else:
        p = special.softmax(u, axis=-1)
        expect = np.stack([np.diag(pt) - np.outer(pt, pt) for pt in p])
        np.testing.assert_allclose(Q, expect, atol=1e-15)
        np.testing.assert_allclose(Q @ np.ones(C), 0, atol=1e-15)  # rank C - 1
    np.testing.assert_array_equal(output_factor(u, "regression"), np.broadcast_to(np.eye(C), (4, C, C)))
    with pytest.raises(ValueError, match="'hinge'"):
        output_factor(u, "hinge")


def _explicit_jacobians(act, weights, biases, x):
    """The per-sample C x P Jacobians of the logits by central differences, and the logits."""
    def logits(theta):
        h, i = x, 0
        for l, (W, b) in enumerate(zip(weights, biases)):
            h = h @ theta[i:i + W.size].reshape(W.shape).T + b
            i += W.size
            if l < len(weights) - 1:
                h = act.phi(h)
        return h

    theta = np.concatenate([W.ravel() for W in weights])
    eps = 1e-6
    J = np.stack([(logits(theta + eps * e) - logits(theta - eps * e)) / (2 * eps) for e in np.eye(theta.size)],
                 axis=-1)  # (T, C, P)
    return J, logits(theta)


@pytest.mark.parametrize("loss,C", [("softmax", 3), ("softmax", 1), ("regression", 2)])
def test_dual_fim_is_the_fim_of_the_output_law(loss, C):
    """Nonzero spectrum of F = (1/T) sum_t J_t^T Q_t J_t (P x P, by finite differences) equals that of F*."""
    rng = np.random.default_rng(4)
    act = get_activation("tanh")
    widths = [5, 4, 3, C]
    T = 3
    weights = [rng.standard_normal((widths[l], widths[l - 1])) / math.sqrt(widths[l - 1]) for l in range(1, 4)]
    biases = [0.3 * rng.standard_normal(widths[l]) for l in range(1, 4)]
    x = rng.standard_normal((T, widths[0]))
    J, u = _explicit_jacobians(act, weights, biases, x)
    B = output_factor(u, loss)
    F = sum(J[t].T @ B[t] @ B[t].T @ J[t] for t in range(T)) / T
    F_star = dual_fim_from_weights(act, weights, x, biases, loss)
    G, logits = jacobian_gram(act, weights, x, biases)
    np.testing.assert_allclose(logits, u, atol=1e-12)
    np.testing.assert_allclose(G, J.reshape(T * C, -1) @ J.reshape(T * C, -1).T, atol=1e-8)
    big = np.sort(np.linalg.eigvalsh(F))[-T * C:]
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(F_star)), big, atol=1e-8)


# ---------------------------------------------------------------------- mean-field theory
@pytest.mark.parametrize("C,T", [(1, 1), (3, 5), (10, 100)])
def test_regression_outliers_are_the_mean_field_dual_spectrum(C, T):
    st = fim_statistics(TANH, 700, C, T)
    op = st.order
    eig = np.sort(np.linalg.eigvalsh(mean_field_dual(op, 700, np.zeros((T, C)), "regression")))[::-1]
    np.testing.assert_allclose(eig[:C], st.lambda_max, rtol=1e-12)
    np.testing.assert_allclose(st.outliers, st.lambda_max, rtol=0)
    np.testing.assert_allclose(eig[C:], op.alpha * (op.kappa1 - op.kappa2) * 700 / T, rtol=1e-12)
    np.testing.assert_allclose(np.trace(np.diag(eig)) / (op.alpha * 700 ** 2), st.m, rtol=1e-12)
    np.testing.assert_allclose(np.sum(eig ** 2) / (op.alpha * 700 ** 2), st.s, rtol=1e-12)
    assert st.integration_se == {} and st.lambda_max_sd == 0


def test_structured_lanczos_equals_dense_eigenvalues():
    op = order_parameters(TANH)
    rng = np.random.default_rng(0)
    for C, T in [(10, 60), (1, 500), (3, 200)]:
        u = 1.5 * rng.standard_normal((T, C))
        k = max(C - 1, 1)
        dense = np.linalg.eigvalsh(mean_field_dual(op, 300, u, "softmax"))[::-1][:k]
        np.testing.assert_allclose(_top_eigenvalues(op, 300, u, "softmax", k), dense, rtol=1e-10)


def _logistic_traces(q, q_st, nodes=120):
    """E[s(u)(1-s(u))], E[(s(u)(1-s(u)))^2] and E[s(u)(1-s(u)) s(v)(1-s(v))] by Gauss-Hermite (C = 1)."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / math.sqrt(2 * math.pi)
    g = lambda u: special.expit(u) * (1 - special.expit(u))
    c = q_st / q
    u, v = math.sqrt(q) * x[:, None], math.sqrt(q) * (c * x[:, None] + math.sqrt(1 - c * c) * x[None, :])
    return w @ g(math.sqrt(q) * x), w @ g(math.sqrt(q) * x) ** 2, w @ (g(u) * g(v)) @ w


@pytest.mark.parametrize("net", [TANH, Network("relu", "gaussian", 2.0, 0.1, depth=4)], ids=["tanh", "relu"])
def test_logistic_statistics_against_quadrature(net):
    """C = 1 (logistic): m and s are one- and two-dimensional Gaussian integrals; the sampled values agree within
    4 of their reported standard errors (about 1e-3 relative)."""
    M, T = 500, 20
    st = fim_statistics(net, M, 1, T, loss="softmax")
    op = st.order
    L = net.depth
    trQ, trQ2, trQQ = _logistic_traces(op.q[L], op.q_st[L])
    m = op.kappa1 * trQ / M
    s = op.alpha * (op.kappa1 ** 2 * trQ2 / T + (T - 1) / T * op.kappa2 ** 2 * trQQ)
    assert abs(st.m - m) < 4 * st.integration_se["m"] and st.integration_se["m"] < 2e-3 * m
    assert abs(st.s - s) < 4 * st.integration_se["s"] and st.integration_se["s"] < 2e-3 * s
    # T = 1: one outlier M alpha kappa1 p(1-p), mean over the logit
    st1 = fim_statistics(net, M, 1, 1, loss="softmax")
    assert abs(st1.lambda_max - M * op.alpha * op.kappa1 * trQ) < 4 * st1.integration_se["lambda_max"]


def test_softmax_outliers_split_and_scale_with_width():
    a, b = fim_statistics(TANH, 500, 10, 10, loss="softmax"), fim_statistics(TANH, 1000, 10, 10, loss="softmax")
    assert len(a.outliers) == 9 and list(a.outliers) == sorted(a.outliers, reverse=True)
    assert a.outliers[0] > 1.2 * a.outliers[-1]  # dispersed, not C-fold degenerate as for regression
    np.testing.assert_allclose(np.array(b.outliers) / np.array(a.outliers), 2, rtol=1e-12)  # O(M)
    np.testing.assert_allclose(b.m * 1000, a.m * 500, rtol=1e-12)  # O(1/M)
    assert a.lambda_max_sd > 0 and a.fisher_rao is None
    assert fim_statistics(TANH, 500, 10, 10, loss="softmax", seed=0) == a  # seeded


# ---------------------------------------------------------------------- Monte Carlo
@pytest.mark.parametrize("loss,C,T", [("regression", 1, 10), ("regression", 10, 10), ("softmax", 1, 10),
                                      ("softmax", 10, 10), ("softmax", 10, 1)])
def test_monte_carlo_against_theory(loss, C, T):
    """Monte Carlo at M = 400 against the theory: the mean over networks within 4 standard errors plus the
    finite-width error (8% at this width for m and s, measured by benchmarks/fim_family_mc.py; lambda_max
    of C nearly degenerate regression outliers is biased upwards by ~2 sqrt(C/M)); and each network against
    the mean-field value at its own logits within the same finite-width error."""
    M = 400
    theory = fim_statistics(TANH, M, C, T, loss=loss)
    mc = sample_statistics(TANH, M, C, T, trials=12, seed=7, loss=loss)
    for stat, (mean, se) in mc.summary().items():
        th = getattr(theory, stat)
        bias = 2 * math.sqrt(C / M) if (stat == "lambda_max" and loss == "regression") else 0.08
        assert abs(mean - th) < 4 * se + 4 * theory.integration_se.get(stat, 0) + bias * th, (stat, mean, se, th)
        own = mc.given_logits[stat]
        assert np.median(np.abs(getattr(mc, stat) - own) / own) < bias + 0.04, stat


def test_ntk_theory_monte_carlo_and_fim_relation():
    net = Network("relu", "gaussian", 2.0, 0.1, depth=3)
    C, T, M = 3, 8, 400
    theory = ntk_statistics(net, C, T)
    op = theory.order
    assert theory.mean == pytest.approx(op.alpha * op.kappa1, rel=1e-14)
    assert theory.lambda_max == pytest.approx(fim_statistics(net, M, C, T).lambda_max * T / M, rel=1e-12)
    assert theory.lambda_max_samples == pytest.approx(C * theory.lambda_max, rel=1e-14)
    mc = sample_ntk(net, M, C, T, trials=10, seed=3)
    for stat, (mean, se) in mc.summary().items():
        th = getattr(theory, stat)
        bias = 2 * math.sqrt(C / M) if stat == "lambda_max" else 0.05
        assert abs(mean - th) < 4 * se + bias * th, (stat, mean, se, th)


def test_sampled_regression_fim_is_the_ntk_times_width_over_samples():
    rng = np.random.default_rng(2)
    act = get_activation("relu")
    weights = [rng.standard_normal((30, 20)) / math.sqrt(20), rng.standard_normal((4, 30)) / math.sqrt(30)]
    x = rng.standard_normal((6, 20))
    G, _ = jacobian_gram(act, weights, x)
    np.testing.assert_allclose(dual_fim_from_weights(act, weights, x), G / 6, rtol=1e-14)


# ---------------------------------------------------------------------- validation and CLI
@pytest.mark.parametrize("kwargs,match", [(dict(loss="hinge"), "hinge"), (dict(outputs=0), "outputs"),
                                          (dict(samples=0), "samples"), (dict(draws=0), "draws")])
def test_bad_input_raises(kwargs, match):
    args = dict(width=100, loss="softmax")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fim_statistics(TANH, **args)
    if "draws" not in kwargs and "loss" not in kwargs:
        with pytest.raises(ValueError, match=match):
            ntk_statistics(TANH, **{k: v for k, v in kwargs.items()})


def test_cli_stats_softmax_and_ntk_json(capsys):
    common = ["--activation", "tanh", "--weights", "gaussian", "--sigma-w2", "3", "--sigma-b2", "0.64",
              "--width", "60", "--samples", "4", "--classes", "3", "--mc-trials", "2", "--json"]
    assert main(["stats", "--loss", "softmax"] + common) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["loss"] == "softmax" and out["outputs"] == 3 and len(out["outliers"]) == 2
    assert set(out["monte_carlo"]) >= {"m", "s", "lambda_max", "top_eigenvalues"}
    assert out["fisher_rao"] is None and out["lambda_max_sd"] > 0
    assert main(["ntk"] + common) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lambda_max_samples"] == pytest.approx(3 * out["lambda_max"])
    assert set(out["monte_carlo"]) >= {"mean", "second_moment", "lambda_max", "lambda_max_samples"}


@pytest.mark.parametrize("argv,needle", [(["stats", "--classes", "0"], "--classes"),
                                         (["stats", "--loss", "hinge"], "hinge"),
                                         (["ntk", "--samples", "0"], "--samples"),
                                         (["ntk", "--classes", "-1"], "-1")])
def test_cli_bad_input_exit_2(argv, needle):
    res = subprocess.run([sys.executable, "-m", "freefim"] + argv, capture_output=True, text=True)
    assert res.returncode == 2 and needle in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_outlier_plot(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from freefim.plotting import plot_fim_outliers

    fig = plot_fim_outliers(TANH, 60, classes=3, samples=4, trials=2, seed=0)
    assert len(fig.axes) == 2
    fig.savefig(tmp_path / "out.png")


@pytest.mark.parametrize("C", [1, 4])
def test_softmax_traces_equal_the_explicit_matrices(C):
    """The O(C) trace formulas of the softmax integrals equal tr Q, tr Q^2, tr Q(u)Q(v) of the matrices."""
    from freefim.statistics import _gaussian_logits, _softmax_traces

    op = order_parameters(TANH)
    got = _softmax_traces(op, C, "softmax", 500, np.random.default_rng(1))
    pair = _gaussian_logits(op, C, 2, 500, np.random.default_rng(1))
    Bu, Bv = output_factor(pair[:, 0], "softmax"), output_factor(pair[:, 1], "softmax")
    Qu, Qv = Bu @ np.swapaxes(Bu, -1, -2), Bv @ np.swapaxes(Bv, -1, -2)
    expect = {"tr_Q": np.trace(Qu, axis1=-2, axis2=-1), "tr_Q2": np.sum(Qu * Qu, axis=(-2, -1)),
              "tr_QQ": np.sum(Qu * Qv, axis=(-2, -1))}
    for key, values in expect.items():
        assert got[key][0] == pytest.approx(values.mean(), rel=1e-12), key


def test_sizes_beyond_memory_are_refused():
    with pytest.raises(ValueError, match="C = 10000 classes and T = 10000"):
        fim_statistics(TANH, 100, 10 ** 4, 10 ** 4, loss="softmax")
    with pytest.raises(ValueError, match="CT = 20000"):
        sample_ntk(TANH, 50, 200, 100, trials=1)


@pytest.mark.parametrize("loss,C,T", [("softmax", 3, 7), ("softmax", 1, 5), ("regression", 2, 4)])
def test_mean_field_moments_equal_the_dense_dual(loss, C, T):
    """m and s at given logits from the Q_t blocks equal trace and Frobenius norm of the dense mean-field dual."""
    from freefim.statistics import _mean_field_moments

    op = order_parameters(TANH)
    u = 1.5 * np.random.default_rng(C).standard_normal((T, C))
    R = mean_field_dual(op, 300, u, loss)
    m, s = _mean_field_moments(op, 300, u, loss)
    assert m == pytest.approx(np.trace(R) / (op.alpha * 300 ** 2), rel=1e-12)
    assert s == pytest.approx(np.sum(R * R) / (op.alpha * 300 ** 2), rel=1e-12)
