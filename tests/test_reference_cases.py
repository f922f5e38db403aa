"""SPEC section 3 reference cases against seeded finite networks (M = 1000, dual matrix).

At finite width every network has its own order parameters: ``qh_l = |h_l|^2/M`` and the
fraction ``p_l`` of units with ``phi'(u_l) = 1`` fluctuate by O(M^{-1/2}) (for ReLU about 5%
at M = 1000), so a 2-network average differs from the M -> infinity moments by that much.
The free recursion conditioned on the network's own ``qh_l`` and ``p_l`` is the sharp
comparison: its exact moments must match the sampled ``tr H/M`` and ``tr H^2/M`` to 2%.
"""
import numpy as np
import pytest

from freefim import Spectrum
from freefim.montecarlo import sample

WIDTH = 1000


def test_reference_case_monte_carlo_moments_within_two_percent(reference_network):
    net = reference_network
    theory = Spectrum(net).moments
    smp = sample(net, WIDTH, trials=2, seed=20261124, progress=False)
    sampled = []
    for k in range(smp.trials):
        ev, chain = smp.eigenvalues[k], smp.chain(k)
        m1, m2 = ev.mean(), np.mean(ev * ev)
        c1, c2 = chain.moments()
        assert m1 == pytest.approx(c1, rel=0.02)
        assert m2 == pytest.approx(c2, rel=0.02)
        # the network's atoms: exactly M x mass eigenvalues sit at its own locations
        for location, mass in chain.atoms():
            count = np.sum(np.isclose(ev, location, rtol=1e-8))
            assert count == pytest.approx(mass * WIDTH, abs=1.5)
        sampled.append((m1, m2))
    # the M -> infinity law: the trial average is within the O(M^-1/2) order-parameter noise
    m1, m2 = np.mean(sampled, axis=0)
    assert m1 == pytest.approx(theory.m1, rel=0.08)
    assert m2 == pytest.approx(theory.m2, rel=0.15)


def test_reference_case_exact_moments_by_the_layer_sums(reference_network):
    # m1(mu_L) = sum_l qh_l prod_{k>l} r1_k: an independent unrolling of the first moment rule
    spec = Spectrum(reference_network)
    mf = spec.mean_field
    L = reference_network.depth
    m1 = sum(mf.qh[l] * np.prod([mf.rho[k].m1 for k in range(l + 1, L)]) for l in range(L))
    assert spec.moments.m1 == pytest.approx(m1, rel=1e-14)
    assert spec.numeric_moment(1) == pytest.approx(m1, rel=1e-8)
    assert spec.numeric_moment(2) == pytest.approx(spec.moments.m2, rel=1e-8)
    assert spec.continuous_mass + spec.atom_mass == pytest.approx(1.0, abs=1e-9)
