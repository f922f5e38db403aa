"""The online-SGD learning-rate experiment (Hayase & Karakida 2021) in numpy."""
import json
import subprocess
import sys

import numpy as np
import pytest

from freefim import Network
from freefim.cli import main
from freefim.training import (DEFAULT_NETWORK, _sgd_step, lr_sweep, mean_square_lr, spectral_edge,
                              train_online)

NET = Network(**DEFAULT_NETWORK, depth=3)


def test_sgd_step_is_the_gradient_of_the_loss():
    """Manual backprop vs central finite differences of |y - f(x)|^2 / (2M)."""
    rng = np.random.default_rng(0)
    M, L, act = 6, 3, NET.activation
    W0 = [rng.standard_normal((1, M, M)) * 0.5 for _ in range(L)]
    b0 = [rng.standard_normal((1, M)) * 0.1 for _ in range(L)]
    x, y = rng.standard_normal(M), rng.standard_normal(M)

    def loss(W, b):
        h = x
        for l in range(L):
            h = W[l][0] @ h + b[l][0]
            if l < L - 1:
                h = act.phi(h)
        return np.sum((h - y) ** 2) / (2 * M)

    eta = 1e-3
    W, b = [w.copy() for w in W0], [v.copy() for v in b0]
    cur = _sgd_step(act, W, b, x, y, np.array([eta]), np.zeros(1, bool), np.inf)
    assert cur[0] == pytest.approx(loss(W0, b0))
    eps = 1e-6
    for l in range(L):
        for idx in [(0, 1, 2), (0, 4, 0)]:
            Wp, Wm = [w.copy() for w in W0], [w.copy() for w in W0]
            Wp[l][idx] += eps
            Wm[l][idx] -= eps
            numeric = (loss(Wp, b0) - loss(Wm, b0)) / (2 * eps)
            assert (W0[l][idx] - W[l][idx]) / eta == pytest.approx(numeric, rel=1e-5, abs=1e-9)
        bp, bm = [v.copy() for v in b0], [v.copy() for v in b0]
        bp[l][0, 3] += eps
        bm[l][0, 3] -= eps
        numeric = (loss(W0, bp) - loss(W0, bm)) / (2 * eps)
        assert (b0[l][0, 3] - b[l][0, 3]) / eta == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_training_below_and_failure_above_threshold():
    """At half of 2/lambda the held-out loss falls; at three times it, it does not."""
    net = NET.replace(depth=4)
    theory = 2 / spectral_edge(net)
    run = train_online(net, 32, [0.5 * theory, 3 * theory], steps=400, seed=1)
    assert run.trained.tolist() == [True, False]
    assert run.final_loss[0] < 0.5 * run.initial_loss


def test_train_online_is_seeded():
    a = train_online(NET, 16, [0.1, 1.0], steps=20, seed=4)
    b = train_online(NET, 16, [0.1, 1.0], steps=20, seed=4)
    np.testing.assert_array_equal(a.loss, b.loss)


def test_isometric_default_has_concentrated_spectrum():
    """Under dynamical isometry 2/lambda_edge and the mean-square limit 2 m1/m2 nearly coincide, ~ 1/L."""
    for L in (2, 8):
        net = NET.replace(depth=L)
        assert 2 / spectral_edge(net) == pytest.approx(mean_square_lr(net), rel=0.03)
    assert 2 / spectral_edge(NET.replace(depth=8)) * 8 == pytest.approx(2 / spectral_edge(NET.replace(depth=2)) * 2,
                                                                       rel=0.05)


def test_lr_sweep_critical_lr_scales_like_one_over_depth():
    sweep = lr_sweep(NET, [2, 6], width=32, steps_per_layer=60, seed=0,
                     lrs=np.geomspace(0.5, 16, 16))
    assert np.all(np.isfinite(sweep.critical_lr))
    # within one grid step (factor 1.26) the measured limit sits at 0.7 .. 1.3 of 2/lambda
    assert np.all((sweep.ratio > 0.6) & (sweep.ratio < 1.3)), sweep.ratio
    assert sweep.spread < 1.6
    assert sweep.critical_lr[0] > 2 * sweep.critical_lr[1]


@pytest.mark.parametrize("kwargs,match", [(dict(lrs=[0.1, -1.0]), "learning rates"), (dict(steps=0), "steps"),
                                          (dict(width=0), "width"), (dict(init_noise=0.0), "init_noise")])
def test_train_online_bad_input(kwargs, match):
    args = dict(width=8, lrs=[0.1], steps=5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        train_online(NET, **args)


def test_cli_lr_sweep_json_and_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "lr.png"
    assert main(["lr-sweep", "--depths", "2", "3", "--width", "16", "--steps-per-layer", "10", "--lrs", "1", "4",
                 "16", "--json", "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["depths"] == [2, 3] and len(out["critical_lr"]) == 2 and len(out["theory_lr"]) == 2
    assert out["network"]["activation"] == "hardtanh" and out["steps"] == [20, 30]
    assert plot.stat().st_size > 0


def test_cli_lr_sweep_bad_input_exit_2():
    res = subprocess.run([sys.executable, "-m", "freefim", "lr-sweep", "--depths", "1", "--width", "8"],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "depths" in res.stderr and "Traceback" not in res.stderr
