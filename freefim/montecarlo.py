r"""Monte Carlo layer: finite random networks and the exact spectrum of their dual FIM.

For one input the nonzero spectrum of the conditional FIM :math:`F = J^T J`
(``P x P``) equals that of the ``M x M`` dual matrix :math:`H_L = J J^T / M`,
which obeys the exact finite-width recursion (Hayase & Karakida 2021)

.. math::

    H_1 = \hat q_0 I, \qquad
    H_{l+1} = \hat q_l I + W_{l+1} D_l H_l D_l W_{l+1}^T, \qquad D_l = \operatorname{diag}\phi'(u_l),

with :math:`\hat q_l = |h_l|^2/M` of that network.  Cost :math:`O(L M^3)`; the
``P x P`` matrix is never built.
"""
from __future__ import annotations

import numpy as np

__all__ = ["draw_weight", "draw_input", "forward_pass", "dual_matrix"]


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def draw_weight(weights, sigma_w2, rows, cols, rng):
    r"""One weight matrix: :math:`\sigma_w O` with ``O`` Haar orthogonal, or i.i.d. :math:`N(0, \sigma_w^2/\text{cols})`."""
    if weights == "orthogonal":
        n = max(rows, cols)
        a = rng.standard_normal((n, n))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # Haar measure (Mezzadri 2007)
        return np.sqrt(sigma_w2) * q[:rows, :cols]
    return rng.standard_normal((rows, cols)) * np.sqrt(sigma_w2 / cols)


def draw_input(width, q0, rng):
    """An input with :math:`|x|^2/M = q_0` exactly (uniform direction)."""
    x = rng.standard_normal(width)
    return x * np.sqrt(q0 * width) / np.linalg.norm(x)


def forward_pass(net, width, rng):
    """Draw one network of ``width`` and push one input through it.

    Returns ``(weights, biases, u, h)``: lists indexed by layer ``l = 1..L`` for
    ``weights``/``biases``/``u`` (index 0 unused, ``None``) and ``h[l]`` for ``l = 0..L-1``.
    """
    rng = _rng(rng)
    L, act = net.depth, net.activation
    weights, biases, u, h = [None], [None], [None], [draw_input(width, net.q0, rng)]
    for l in range(1, L + 1):
        weights.append(draw_weight(net.weights, net.sigma_w2, width, width, rng))
        biases.append(rng.standard_normal(width) * np.sqrt(net.sigma_b2))
        u.append(weights[l] @ h[l - 1] + biases[l])
        if l < L:
            h.append(act.phi(u[l]))
    return weights, biases, u, h


def dual_matrix(net, width, rng=None):
    r"""The dual matrix :math:`H_L = JJ^T/M` of one sampled network (weights only) and its ``qh_l``.

    Returns ``(H, qh)`` with ``qh[l] = |h_l|^2/M`` for ``l = 0..L-1``.
    """
    weights, _, u, h = forward_pass(net, width, rng)
    qh = [float(v @ v) / width for v in h]
    H = qh[0] * np.eye(width)
    for l in range(1, net.depth):
        d = net.activation.dphi(u[l])
        B = weights[l + 1] * d  # W_{l+1} D_l
        H = qh[l] * np.eye(width) + B @ H @ B.T
    return H, qh
