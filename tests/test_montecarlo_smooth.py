"""Monte Carlo layer with smooth activations: each network's own continuous rho_l, and
agreement of sampled spectra with the free-probability limit."""
import json

import numpy as np
import pytest

from freefim import Activation, Network, get_activation
from freefim.cli import main
from freefim.montecarlo import compare, sample

SOFTSIGN = lambda u: u / (1 + abs(u))  # noqa: E731


@pytest.fixture(scope="module", params=["orthogonal", "gaussian"])
def tanh_comparison(request):
    net = Network("tanh", request.param, sigma_w2=1.5, sigma_b2=0.05, depth=3)
    return compare(net, width=1000, trials=1, seed=0, progress=False)


def test_tanh_agrees_with_theory_at_width_1000(tanh_comparison):
    result = tanh_comparison
    weights = result.sample.network.weights
    # against each network's own law (its own qh_l and q_l = |u_l|^2/M in rho_law): measured 0.009 / 0.011
    assert result.ks_per_network < 0.03
    if weights == "orthogonal":
        assert result.ks < 0.05  # measured 0.024
    else:
        # MP(1) gives mu_L an inverse-square-root edge at qh_{L-1}, so the O(M^-1/2) shift of the
        # network's own qh_{L-1} moves O(M^-1/4) of mass: measured 0.158 (0.010 once shifted back)
        assert result.ks < 0.25
    assert result.atoms == []  # rho_l continuous: no atoms
    for key in ("m1", "m2"):
        # gaussian weights: tr H^2/M of one network fluctuates by a few per cent
        assert result.moments[key]["sampled"] == pytest.approx(result.moments[key]["per_network"], rel=0.1)
        assert result.moments[key]["per_network"] == pytest.approx(result.moments[key]["exact"], rel=0.05)
    assert 0 <= result.l1 < 0.2


def test_each_networks_chain_uses_its_own_smooth_law(tanh_comparison):
    smp = tanh_comparison.sample
    net = smp.network
    chain = smp.chain(0)
    assert [qh for qh, _ in chain.layers] == pytest.approx(list(smp.qh[0, 1:]))
    for l, (_, law) in enumerate(chain.layers, start=1):
        smooth = law if net.weights == "orthogonal" else law.first  # FreeProduct(SmoothLaw, MP(1))
        assert smooth.q == pytest.approx(smp.q[0, l - 1])
        # sigma_w2 E[phi'^2] at the network's own q_l vs its sampled mean of phi'(u_l)^2: the latter
        # is an M-sample mean of a variable with std/mean ~ 0.9, i.e. +- 3% at M = 1000 (measured 4.5%)
        assert float(smooth.m1) == pytest.approx(net.sigma_w2 * smp.p[0, l - 1], rel=0.1)


def test_user_activation_samples():
    net = Network(get_activation(SOFTSIGN), "orthogonal", 1.5, 0.05, 3)
    smp = sample(net, 100, trials=2, seed=1, progress=False)
    assert smp.eigenvalues.shape == (2, 100) and smp.q.shape == (2, 2) and smp.p.shape == (2, 2)
    assert np.all(smp.eigenvalues >= smp.qh[:, -1:] * (1 - 1e-9))  # H_L = qh_{L-1} I + PSD
    assert np.all((smp.p > 0) & (smp.p < 1))


@pytest.mark.parametrize("activation", [
    Activation.from_callable(SOFTSIGN, dphi=lambda u: 1 / (1 + abs(u)) ** 2, name="softsign"),
    get_activation(SOFTSIGN),
], ids=["given-dphi", "finite-difference-dphi"])
def test_user_activation_compares(activation):
    # depth 2, orthogonal weights: the spectrum is qh_1 + qh_0 sigma_w2 phi'(u_1)^2 over the M units,
    # an M-sample empirical law, so KS ~ 0.87/sqrt(M) = 0.05 typically and < 1.36/sqrt(M) = 0.079
    # with 95% probability at M = 300 (measured 0.047)
    net = Network(activation, "orthogonal", 1.5, 0.05, 2)
    result = compare(net, width=300, trials=1, seed=0, progress=False, per_network=False)
    assert result.ks < 0.08
    assert np.isnan(result.ks_per_network)
    assert result.moments["m1"]["sampled"] == pytest.approx(result.moments["m1"]["per_network"], rel=0.05)


def test_cli_compare_smooth_without_per_network(capsys):
    argv = ["compare", "--activation", "tanh", "--sigma-w2", "1.5", "--sigma-b2", "0.05", "--depth", "2",
            "--width", "100", "--trials", "1"]
    assert main(argv + ["--no-per-network", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["network"]["activation"] == "tanh" and data["ks_per_network"] is None and data["ks"] < 0.2
    assert main(argv + ["--no-per-network"]) == 0
    out = capsys.readouterr().out
    assert "KS (continuous part) vs limit law" in out and "own law" not in out
