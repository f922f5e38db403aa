"""The unit-wise block-diagonal FIM (freefim.natgrad): explicit inverse, projection fit, mean-field
blocks against Monte Carlo, off-diagonal blocks, natural-gradient experiment and its command."""
import json

import numpy as np
import pytest

from freefim import Network
from freefim.cli import main
from freefim.natgrad import (THEORY_SLOPE, UnitBlocks, _draw_inputs, draw_parameters, fit_blocks, forward,
                             offdiagonal_ratio, offdiagonal_scaling, project_blocks, theory_blocks, train_natgrad)

SIGMA_W2 = {"relu": 2.0, "tanh": 1.5, "linear": 1.0, "hardtanh": 1.2}


@pytest.mark.parametrize("weights", ["gaussian", "orthogonal"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "linear", "hardtanh"])
def test_explicit_inverse_times_block_is_identity(activation, weights):
    rng = np.random.default_rng(0)
    for width in (5, 40, 150):
        net = Network(activation, weights, SIGMA_W2[activation], 0.1, 3)
        W, b = draw_parameters(net, width, rng)
        for layer in (1, 2, 3):
            for quenched in (True, False):
                blocks = theory_blocks(net, W, b, layer, quenched=quenched)
                product = blocks.dense_inverse() @ blocks.dense()
                assert np.abs(product - np.eye(width)).max() < 1e-10, (width, layer, quenched)


def _random_blocks(rng, K, n, singular=False, t=None):
    a = rng.uniform(0.5, 2.0, K)
    b, c, d = rng.uniform(0.5, 3.0, K), rng.uniform(0.1, 2.0, K), rng.uniform(-0.3, 0.3, K)
    if singular:  # odd activation without bias: mu = 0, so c = d = 0 (B singular)
        c, d = np.zeros(K), np.zeros(K)
    v = rng.standard_normal((K, n))
    return UnitBlocks.from_scalars(a, b, c, d, v / np.linalg.norm(v, axis=1, keepdims=True), t)


@pytest.mark.parametrize("singular", [False, True])
def test_woodbury_solve_matches_numpy_solve(singular):
    rng = np.random.default_rng(1)
    for n, t in ((3, None), (30, None), (30, rng.standard_normal(30))):
        blocks = _random_blocks(rng, 4, n, singular, t)
        g = rng.standard_normal((4, n))
        for damping in (0.0, 0.3):
            dense = blocks.dense() + damping * np.eye(n)
            expected = np.linalg.solve(dense, g[..., None])[..., 0]
            assert np.allclose(blocks.solve(g, damping), expected, rtol=1e-12, atol=1e-12)
            assert np.allclose(blocks.matvec(blocks.solve(g, damping)) + damping * blocks.solve(g, damping), g)


def test_projection_recovers_structured_scalars_and_is_the_frobenius_projection():
    rng = np.random.default_rng(2)
    K, n = 5, 12
    for t in (None, rng.standard_normal(n)):
        blocks = _random_blocks(rng, K, n, t=t)
        fit = project_blocks(blocks.dense(), blocks.v, t)
        for name in "abcd":
            assert np.allclose(getattr(fit, name), getattr(blocks, name), rtol=1e-12, atol=1e-12)
    # a general symmetric X: least squares over the four basis matrices gives the same coefficients
    X = rng.standard_normal((K, n, n))
    X = X + np.swapaxes(X, 1, 2)
    v = rng.standard_normal((K, n))
    fit = project_blocks(X, v)
    vn, one = v / np.linalg.norm(v, axis=1, keepdims=True), np.ones(n)
    for k in range(K):
        basis = np.stack([np.eye(n).ravel(), np.outer(vn[k], vn[k]).ravel(), np.outer(one, one).ravel(),
                          (np.outer(one, vn[k]) + np.outer(vn[k], one)).ravel()], 1)
        coef = np.linalg.lstsq(basis, X[k].ravel(), rcond=None)[0]
        assert np.allclose(coef, [fit.a[k], fit.b[k] - fit.a[k], fit.c[k], fit.d[k]], atol=1e-12)


def test_sample_fit_is_the_projection_of_the_empirical_block():
    rng = np.random.default_rng(3)
    N, n, K = 50, 9, 4
    h, g2, v, t = rng.standard_normal((N, n)) + 0.5, rng.uniform(0, 2, (N, K)), rng.standard_normal((K, n)), \
        rng.standard_normal(n)
    empirical = np.einsum("ak,ai,aj->kij", g2, h, h) / N
    fit, dense = fit_blocks(h, g2, v, t), project_blocks(empirical, v, t)
    for name in "abcd":
        assert np.allclose(getattr(fit, name), getattr(dense, name), rtol=1e-12, atol=1e-12)


def _theory_vs_monte_carlo(net, width, layer, samples, seed):
    """max over (a, b, c, d) of mean_i |fit - theory| / mean_i a: exact g_i^2 (layers L-1 and L)."""
    rng = np.random.default_rng(seed)
    W, b = draw_parameters(net, width, rng)
    theory = theory_blocks(net, W, b, layer)
    x = _draw_inputs(samples, width, net.q0, rng)
    hs, us = forward(net.activation, W, b, x)
    if layer == net.depth:
        g2 = np.ones((samples, width))
    else:  # |delta_i|^2 = phi'(u_i)^2 |W_L[:, i]|^2 exactly below the (linear) output layer
        g2 = net.activation.dphi(us[layer - 1]) ** 2 * np.sum(W[layer] ** 2, axis=0)
    fit = fit_blocks(hs[layer - 1], g2, W[layer - 1], theory.t)
    return max(np.mean(np.abs(getattr(fit, k) - getattr(theory, k))) for k in "abcd") / np.mean(theory.a)


@pytest.mark.parametrize("activation,weights,layer", [("relu", "orthogonal", 2), ("relu", "orthogonal", 3),
                                                      ("tanh", "gaussian", 2)])
def test_mean_field_blocks_agree_with_monte_carlo_and_the_error_shrinks(activation, weights, layer):
    # measured (10,000 inputs): relative error 0.05-0.18 at M = 50, 0.02-0.04 at M = 400 (~ M^-1/2)
    net = Network(activation, weights, SIGMA_W2[activation], 0.1, 3)
    small, large = _theory_vs_monte_carlo(net, 50, layer, 10000, 0), _theory_vs_monte_carlo(net, 400, layer, 10000, 0)
    assert large < 0.06, large
    assert large < 0.6 * small, (small, large)


def test_annealed_blocks_are_the_amari_formula():
    net = Network("tanh", "orthogonal", 1.5, 0.0, 3)
    W, b = draw_parameters(net, 20, np.random.default_rng(4))
    blocks = theory_blocks(net, W, b, 1, quenched=False)  # inputs x ~ N(0, q0 I): mu = 0, so c = d = 0
    assert np.all(blocks.c == 0) and np.all(blocks.d == 0) and np.all(blocks.a > 0)


def test_offdiagonal_ratio_falls_with_width():
    net = Network("relu", "orthogonal", 2.0, 0.1, 3)
    small = offdiagonal_ratio(net, 32, units=12, samples=128, trials=2, seed=0)
    large = offdiagonal_ratio(net, 128, units=12, samples=128, trials=2, seed=0)
    # theory: ratio ~ M^(-1/2), a factor 1/2 from M = 32 to 128
    assert 0 < large.ratio < 0.75 * small.ratio, (small, large)
    scaling = offdiagonal_scaling(net, (32, 128), units=12, samples=128, trials=2, seed=0, progress=False)
    assert scaling.theory_slope == THEORY_SLOPE and -1.0 < scaling.slope < -0.2


def test_natural_gradient_beats_sgd_small():
    run = train_natgrad(Network("relu", "orthogonal", 2.0, 0.1, 3), 32, 300, batch=16, seed=0, progress=False)
    assert run.reference_step == 300 and run.ng_loss[0] == run.sgd_loss[0]
    assert run.ng_steps_to_reference is not None and run.ng_steps_to_reference < 200
    assert run.ng_loss[-1] < run.sgd_loss[-1]


@pytest.mark.parametrize("kwargs,match", [(dict(width=1), "width"), (dict(steps=0), "steps"),
                                          (dict(lr_sgd=-1.0), "lr_sgd"), (dict(lr_ng=float("nan")), "lr_ng"),
                                          (dict(damping=-0.1), "damping"), (dict(batch=0), "batch"),
                                          (dict(ema=1.0), "ema")])
def test_train_natgrad_bad_input_names_the_value(kwargs, match):
    args = dict(width=8, steps=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        train_natgrad(Network("relu", "orthogonal", 2.0, 0.1, 3), **args, progress=False)


def test_bad_layer_and_width_raise():
    net = Network("relu", "orthogonal", 2.0, 0.1, 3)
    with pytest.raises(ValueError, match="layer must be an integer in \\[1, 2\\].*got 3"):
        offdiagonal_ratio(net, 16, layer=3)
    with pytest.raises(ValueError, match="width must be an integer >= 2, got 1"):
        offdiagonal_ratio(net, 1)
    W, b = draw_parameters(net, 8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="layer must be an integer in \\[1, 3\\], got 0"):
        theory_blocks(net, W, b, 0)


def test_cli_natgrad_json_and_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "natgrad.png"
    assert main(["natgrad", "--width", "16", "--steps", "40", "--json", "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("checkpoints", "sgd_loss_at", "ng_loss_at", "reference_step", "sgd_reference_loss",
                "ng_steps_to_reference", "lr_sgd", "lr_ng", "damping", "sgd_loss", "ng_loss", "network"):
        assert key in out
    assert out["checkpoints"] == [0, 10, 40] and len(out["sgd_loss"]) == 41 and out["reference_step"] == 40
    assert plot.stat().st_size > 0


# the other bad options of natgrad are in tests/test_cli_errors.py
@pytest.mark.parametrize("args,fragment", [(["--widths", "1", "2", "1", "1"], "--widths")])
def test_cli_natgrad_bad_input_exits_2(capsys, args, fragment):
    assert main(["natgrad", *args, "--json"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 1 and lines[0].startswith("freefim: error: ")
    assert fragment in lines[0] and "Traceback" not in captured.err
