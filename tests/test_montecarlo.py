"""Monte Carlo layer: the dual-matrix identity, seeded sampling, and agreement with the theory."""
import itertools
import json

import numpy as np
import pytest

from conftest import REFERENCE_CASES
from freefim import Network
from freefim.cli import main
from freefim.montecarlo import compare, depth_sweep, dual_matrix, forward_pass, sample

PAIRS = list(itertools.product(["relu", "hardtanh", "linear"], ["orthogonal", "gaussian"]))


def network_output(net, weights, biases, x):
    h = x
    for l in range(1, net.depth + 1):
        u = weights[l] @ h + biases[l]
        h = net.activation.phi(u) if l < net.depth else u
    return h


def explicit_jacobian(net, weights, u, h, bias):
    """The M x P Jacobian df/dtheta written out: by the chain rule, df/du_l = G_l with
    G_L = I, G_l = G_{l+1} W_{l+1} D_l, and df/dW_l[i, j] = G_l[:, i] h_{l-1}[j] (a
    Kronecker block), df/db_l = G_l."""
    L = net.depth
    G = [None] * (L + 1)
    G[L] = np.eye(len(h[0]))
    for l in range(L - 1, 0, -1):
        G[l] = G[l + 1] @ weights[l + 1] * net.activation.dphi(u[l])
    blocks = [np.kron(G[l], h[l - 1][None, :]) for l in range(1, L + 1)]
    if bias:
        blocks += [G[l] for l in range(1, L + 1)]
    return np.hstack(blocks)


def finite_difference_jacobian(net, weights, biases, x, eps=1e-6):
    columns = []
    for l in range(1, net.depth + 1):
        for idx in np.ndindex(weights[l].shape):
            old = weights[l][idx]
            weights[l][idx] = old + eps
            plus = network_output(net, weights, biases, x)
            weights[l][idx] = old - eps
            columns.append((plus - network_output(net, weights, biases, x)) / (2 * eps))
            weights[l][idx] = old
    return np.array(columns).T


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("activation,weights", PAIRS)
def test_recursion_equals_explicit_jacobian(activation, weights, depth, bias):
    net = Network(activation, weights, 1.5, 0.2, depth, q0=0.3 if activation == "hardtanh" else 1.0)
    M = 20
    W, b, u, h = forward_pass(net, M, np.random.default_rng(11))
    J = explicit_jacobian(net, W, u, h, bias)
    assert J.shape == (M, depth * M * M + (depth * M if bias else 0))
    # the written-out Jacobian is the network's derivative (finite differences, away from kinks)
    fd = finite_difference_jacobian(net, W, b, h[0])
    np.testing.assert_allclose(J[:, :depth * M * M], fd, rtol=0, atol=1e-6 * np.abs(fd).max())
    H, qh = dual_matrix(net, M, np.random.default_rng(11), bias=bias)
    np.testing.assert_allclose(J @ J.T / M, H, rtol=0, atol=1e-12 * np.abs(H).max())
    assert qh == pytest.approx([float(v @ v) / M for v in h])


def test_sampling_is_seeded_and_reports_each_networks_order_parameters():
    net = Network("hardtanh", "orthogonal", 1.2, 0.05, 4)
    a = sample(net, 200, trials=3, seed=5, progress=False)
    b = sample(net, 200, trials=3, seed=5, progress=False)
    c = sample(net, 200, trials=3, seed=6, progress=False)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    assert not np.allclose(a.eigenvalues, c.eigenvalues)
    assert a.eigenvalues.shape == (3, 200) and a.qh.shape == (3, 4) and a.p.shape == (3, 3)
    for k in range(3):
        # each network's atom: exactly M (1 - p_{L-1}) eigenvalues at its own qh_{L-1}
        assert np.sum(np.isclose(a.eigenvalues[k], a.qh[k, -1], rtol=1e-9)) == round(200 * (1 - a.p[k, -1]))
    assert a.summary()["m1"]["mean"] == pytest.approx(a.eigenvalues.mean())


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=lambda c: f"{c[0]}-{c[1]}-L{c[4]}")
def test_reference_cases_agree_with_theory_at_width_1000(case):
    result = compare(Network(*case), width=1000, trials=2, seed=2024, progress=False)
    assert result.ks_per_network < 0.02  # against each network's own law
    assert result.ks < 0.12  # against the M -> infinity law: O(M^-1/2) order-parameter noise
    for atom in result.atoms:
        assert atom["found"] == pytest.approx(atom["predicted"], abs=0.02)
        assert atom["found"] == pytest.approx(atom["predicted_per_network"], abs=1.5e-3)
    for key in ("m1", "m2"):
        assert result.moments[key]["sampled"] == pytest.approx(result.moments[key]["per_network"], rel=0.02)
    assert 0 <= result.l1 < 0.5


def test_depth_sweep_is_linear_near_isometry():
    net = Network("hardtanh", "orthogonal", 1.01, 0.001, depth=2, q0=0.1448)
    sweep = depth_sweep(net, [2, 4, 8, 16], width=300, trials=2, seed=1, progress=False)
    fits = sweep["fits"]
    assert fits["theory_peak"]["r2"] > 0.99 and fits["theory_edge"]["r2"] > 0.99
    assert fits["sample_peak"]["slope"] == pytest.approx(fits["theory_peak"]["slope"], rel=0.05)
    assert fits["sample_edge"]["slope"] == pytest.approx(fits["theory_edge"]["slope"], rel=0.05)


def test_cli_sample_and_compare_json(capsys, tmp_path):
    assert main(["sample", "--width", "50", "--trials", "2", "--seed", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["eigenvalues"]) == 2 and len(data["eigenvalues"][0]) == 50
    assert {"m1", "m2", "lambda_max"} <= set(data["summary"])
    png = tmp_path / "cmp.png"
    assert main(["compare", "--width", "200", "--trials", "1", "--plot", str(png), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert png.stat().st_size > 10000 and {"ks", "ks_per_network", "l1", "atoms", "moments"} <= set(data)


@pytest.mark.parametrize("argv,fragment", [
    (["sample", "--width", "0"], "--width must be an integer in [1, 10000], got 0"),
    (["sample", "--trials", "-1"], "--trials must be an integer in [0, 100000], got -1"),
    (["compare", "--sigma-w2", "nan"], "expected a finite number, got 'nan'"),
    (["depth-sweep", "--depths", "3"], "depth sweep needs at least two depths >= 2, got [3]"),
])
def test_cli_bad_input(capsys, argv, fragment):
    assert main(argv + ["--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and fragment in err
