"""The input-output Jacobian's J J^T: its law omega [x] rho_1 [x] ... [x] rho_{L-1}, the CLI and Monte Carlo
(issue 17, point 3)."""
import json

import numpy as np
import pytest
from scipy.integrate import quad

import freefim
from freefim.cli import main
from freefim.criticality import critical_point
from freefim.montecarlo import compare, sample

# phi and phi' of each activation, written here independently of freefim.activations
PHI = {"relu": (lambda u: np.maximum(u, 0), lambda u: (u > 0) * 1.0),
       "hardtanh": (lambda u: np.clip(u, -1, 1), lambda u: (np.abs(u) < 1) * 1.0),
       "tanh": (np.tanh, lambda u: 1 / np.cosh(u) ** 2)}


KINKS = {"relu": [0.0], "hardtanh": [-1.0, 1.0], "tanh": []}


def gaussian_mean(f, q, kinks=()):
    """E f(sqrt(q) Z) by scipy's adaptive quadrature between the kinks of f (in u), to ~1e-14."""
    s = np.sqrt(q)
    cuts = [-40.0] + sorted(k / s for k in kinks) + [40.0]
    pdf = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)  # noqa: E731
    return sum(quad(lambda z: f(s * z) * pdf(z), a, b, epsabs=1e-15, epsrel=1e-13, limit=200)[0]
               for a, b in zip(cuts[:-1], cuts[1:]))


def free_moment_rule(act, weights, sw2, sb2, depth, q0):
    """m1, m2 of omega [x] rho_1 [x] ... by m1(mu [x] nu) = m1 m1' and
    m2(mu [x] nu) = m2 m1'^2 + m1^2 m2' - m1^2 m1'^2 (Nica & Speicher, Lecture 14)."""
    phi, dphi = PHI[act]
    m1, m2 = (sw2, 2 * sw2 ** 2) if weights == "gaussian" else (sw2, sw2 ** 2)
    qh = q0
    for _ in range(1, depth):
        q = sw2 * qh + sb2
        kinks = KINKS[act]
        qh = gaussian_mean(lambda u: phi(u) ** 2, q, kinks)
        e2, e4 = gaussian_mean(lambda u: dphi(u) ** 2, q, kinks), gaussian_mean(lambda u: dphi(u) ** 4, q, kinks)
        r1, r2 = sw2 * e2, sw2 ** 2 * e4
        if weights == "gaussian":  # rho [x] MP(1): m2 = r2 + r1^2
            r2 = r2 + r1 * r1
        m1, m2 = m1 * r1, m2 * r1 * r1 + m1 * m1 * r2 - m1 * m1 * r1 * r1
    return m1, m2


@pytest.mark.parametrize("act, weights, sw2, sb2, depth", [
    ("relu", "orthogonal", 2.0, 0.1, 3), ("relu", "gaussian", 2.0, 0.1, 3), ("hardtanh", "orthogonal", 1.1, 0.05, 4),
    ("hardtanh", "gaussian", 1.1, 0.05, 4), ("tanh", "orthogonal", 1.05, 0.02, 3), ("tanh", "gaussian", 1.05, 0.02, 5)])
def test_jacobian_json_moments_follow_the_free_moment_rules(act, weights, sw2, sb2, depth, capsys):
    status = main(["jacobian", "--activation", act, "--weights", weights, "--sigma-w2", str(sw2), "--sigma-b2",
                   str(sb2), "--depth", str(depth), "--x", "0.5", "--json"])
    assert status == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"network", "x", "density", "atoms", "moments", "support"}
    m1, m2 = free_moment_rule(act, weights, sw2, sb2, depth, 1.0)
    assert abs(out["moments"]["m1"] - m1) <= 1e-10 * m1 and abs(out["moments"]["m2"] - m2) <= 1e-10 * m2
    assert out["density"][0] > 0


def test_jacobian_atoms_mass_and_the_density_moment():
    # relu/orthogonal depth 2: J J^T = W_2 D_1 W_1 W_1^T D_1 W_2^T = sigma_w2^2 O D_1 O^T: atoms only
    spec = freefim.jacobian_spectrum(freefim.Network("relu", "orthogonal", 2.0, 0.1, depth=2))
    assert [(a.location, a.mass) for a in spec.atoms] == [(0.0, 0.5), (4.0, 0.5)] and spec.support() == []
    # hard-tanh/orthogonal depth 4: an atom at sigma_w2^4 (every unit active along the way) and one at 0
    spec = freefim.jacobian_spectrum(freefim.Network("hardtanh", "orthogonal", 1.1, 0.05, depth=4))
    locations = [a.location for a in spec.atoms]
    assert locations[0] == 0 and abs(locations[1] - 1.1 ** 4) <= 1e-14
    assert abs(spec.continuous_mass + spec.atom_mass - 1) <= 1e-8
    assert abs(spec.numeric_moment(1) - spec.moments.m1) <= 1e-8 * spec.moments.m1
    # the dps path agrees with float64
    deep = freefim.jacobian_spectrum(freefim.Network("hardtanh", "orthogonal", 1.1, 0.05, depth=4), dps=30)
    x = np.array([0.1, 0.7, 1.2])
    assert np.allclose(np.array(deep.density(x), dtype=float), spec.density(x), rtol=1e-10, atol=0)


def test_isometry_keeps_the_jacobian_put_while_the_fim_moves():
    crit = critical_point("tanh", "orthogonal", q_star=0.1)
    for depth in (2, 8, 32):
        net = crit.network(depth)
        jac, fim = freefim.jacobian_spectrum(net), freefim.spectrum(net)
        # m1 = sigma_w2 prod_l sigma_w2 E phi'^2 = sigma_w2 at criticality, at every depth
        assert abs(jac.moments.m1 - crit.sigma_w2) <= 1e-12 * crit.sigma_w2
        # the FIM's m1 = sum_l qh_l (prod of the gains = 1) = depth qh*: linear in depth
        assert abs(fim.moments.m1 - depth * float(net.q0)) <= 1e-12 * depth * float(net.q0)


@pytest.mark.parametrize("act, weights, sw2, sb2, depth", [
    ("relu", "orthogonal", 2.0, 0.1, 3), ("relu", "gaussian", 2.0, 0.1, 3), ("hardtanh", "orthogonal", 1.1, 0.05, 4),
    ("hardtanh", "gaussian", 1.1, 0.05, 4)])
def test_sampled_jacobians_follow_their_own_law(act, weights, sw2, sb2, depth):
    net = freefim.Network(act, weights, sw2, sb2, depth)
    cmp = compare(net, width=1000, trials=2, seed=7, progress=False, jacobian=True)
    assert cmp.ks_per_network <= 0.02
    for atom in cmp.atoms:
        # (each network's own p_l: the limit's masses differ by the O(M^-1/2) spread of p_l, 0.025 measured)
        assert abs(atom["found"] - atom["predicted_per_network"]) <= 0.02


@pytest.mark.parametrize("weights", ["orthogonal", "gaussian"])
def test_sampled_tanh_jacobians_near_isometry(weights):
    net = critical_point("tanh", weights, q_star=0.1).network(3)
    cmp = compare(net, width=1000, trials=2, seed=7, progress=False, jacobian=True, per_network=False)
    assert cmp.ks <= 0.02
    assert abs(cmp.moments["m1"]["sampled"] - cmp.moments["m1"]["exact"]) <= 0.02


def test_jacobian_sample_is_the_explicit_product():
    """J J^T from the recursion equals the product of the explicit Jacobian W_L D_{L-1} ... W_1."""
    from freefim.montecarlo import forward_pass

    net = freefim.Network("tanh", "gaussian", 1.5, 0.1, depth=3)
    smp = sample(net, 40, trials=1, seed=3, jacobian=True, progress=False)
    weights, _, u, _ = forward_pass(net, 40, np.random.default_rng(3))
    J = weights[1]
    for l in range(1, net.depth):
        J = weights[l + 1] @ (PHI["tanh"][1](u[l])[:, None] * J)
    assert np.allclose(np.linalg.eigvalsh(J @ J.T), smp.eigenvalues[0], rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="bias"):
        sample(net, 40, seed=3, jacobian=True, bias=True)


def test_jacobian_density_at_zero_is_the_one_sided_mean():
    """x = 0 is the floor of a law of products alone: no root is solved there (z = 0 is a singular point of
    the chain), the density is the mean of the one-sided values, as on an atom (tanh: a divergence)."""
    net = freefim.Network("tanh", "gaussian", 1.1, 0.05, depth=3, widths=(1, 2, 2, 1))
    spec = freefim.jacobian_spectrum(net)
    at_zero = spec.density(np.array([0.0]))[0]
    right = spec.density(spec._atom_offset(np.array([0.0])))[0]  # 1e-9 of the law's scale to the right
    assert right > 100 * spec.density(np.array([0.1]))[0]  # the divergence at 0
    assert at_zero == right / 2  # and nothing to the left
