r"""The unit-wise block-diagonal FIM and natural gradient (Amari, Karakida & Oizumi, AISTATS 2019).

Network (SPEC section 1, weights only as parameters): :math:`u^l = W_l h^{l-1} + b_l`,
:math:`h^l = \phi(u^l)`, :math:`f = u^L` (``C = M`` linear outputs), biases fixed random, inputs
:math:`x \sim N(0, q_0 I)`.  Regression Fisher :math:`F = E_x[J^T J]`.  Unit ``i`` of layer ``l`` has
the incoming weights :math:`w_i` (``n = M_{l-1}`` entries) and, with
:math:`\delta_i = \partial f / \partial u^l_i \in R^C`, the Fisher blocks

.. math::

    F_{ij} = E_x\big[(\delta_i\cdot\delta_j)\, h^{l-1} h^{k-1\,T}\big], \qquad
    F_{ii} = E_x\big[g_i^2\, h h^T\big],\quad g_i^2 = |\delta_i|^2 = \phi'(u_i)^2 |e_i|^2,

:math:`e_i = \partial f/\partial h^l_i`.

**Diagonal block (mean field).**  To leading order in ``1/M`` (Amari et al. 2019, Sec. 4) the
components of :math:`h = h^{l-1}` are i.i.d.: :math:`h = \mu 1 + \sigma z`, with
:math:`\mu = E\phi(\sqrt{q_{l-1}}Z)`, :math:`\sigma^2 = \hat q_{l-1} - \mu^2` (``l = 1``: :math:`\mu = 0`,
:math:`\sigma^2 = q_0`) and ``z`` standard normal; the backpropagated :math:`e_i` is independent of
``h`` (gradient independence), :math:`E|e_i|^2 = \epsilon_i = |W_{l+1}[:, i]|^2\,\tilde q_{l+1}`
(:math:`\tilde q` of Karakida, Akaho & Amari 2019 with ``C = M`` outputs; exact for ``l = L - 1``,
where :math:`|e_i|^2 = |W_L[:, i]|^2`; :math:`\epsilon = 1`, :math:`\phi' = 1` for ``l = L``).
Write :math:`v = w_i/|w_i|`, :math:`\zeta = v\cdot z`, :math:`z = \zeta v + z_\perp`; then
:math:`u_i = m_i + s_i\zeta` with :math:`m_i = b_i + \mu\, 1\cdot w_i`, :math:`s_i = \sigma |w_i|`, and
:math:`z_\perp` (covariance :math:`I - vv^T`) is independent of :math:`\zeta`.  Expanding
:math:`hh^T` and averaging,

.. math::

    F_{ii} = a (I - vv^T) + b\, vv^T + c\, 11^T + d\,(1v^T + v1^T), \qquad
    \begin{aligned} a &= \epsilon\sigma^2 A_0, & b &= \epsilon\sigma^2 A_2,\\
                    c &= \epsilon\mu^2 A_0,    & d &= \epsilon\mu\sigma A_1, \end{aligned}
    \qquad A_k = E_\zeta\big[\phi'(m_i + s_i\zeta)^2 \zeta^k\big].

So :math:`F_{ii} = a I + U B U^T` with :math:`U = [v, t]` (``t = 1``) and
:math:`B = \begin{pmatrix} b - a & d \\ d & c\end{pmatrix}`, whose explicit inverse (Woodbury; valid for
singular ``B``, e.g. odd activations where :math:`\mu = 0`) is

.. math::

    F_{ii}^{-1} = \frac1a\Big[I - U B\,(a I_2 + U^T U B)^{-1} U^T\Big],

applied in :math:`O(n)` per unit (a 2 x 2 system), never forming an ``n x n`` matrix.

*Quenched version* (default of :func:`theory_blocks`).  In one sampled network the means of the
components of :math:`h^{l-1}` differ from unit to unit by O(1) (through :math:`b_k` and
:math:`1\cdot w_k`), so the annealed :math:`\mu 1` misses O(1) parts of ``b`` and ``d``
(measured: 10-40 % at every width).  The same expansion around the network's own unit means
(:func:`network_mean_field`: :math:`t = \mu^{l-1}`, a vector) matches the Monte Carlo blocks with an
error that falls like :math:`M^{-1/2}` (measured 5-18 % at M = 50, 2-4 % at M = 400).

**Off-diagonal blocks.**  For :math:`i \ne j`, :math:`\delta_i\cdot\delta_j = \phi'_i\phi'_j\, e_i\cdot e_j`
and :math:`e_i\cdot e_j = O(M^{-1/2})` (random, zero-mean overlaps of backpropagated signals), so
:math:`\|F_{ij}\|_F / \|F_{ii}\|_F = O(M^{-1/2})`: the FIM is unit-wise block diagonal to that order
(Amari, Karakida & Oizumi 2019, Theorem 1 and Sec. 5).  :func:`offdiagonal_ratio` measures it.

**Natural gradient.**  :func:`train_natgrad` preconditions each unit's gradient by its structured
block fitted to the mini-batch (:func:`fit_blocks`, a Frobenius projection), damped by
:math:`\lambda`: :math:`\Delta w_i = -\eta\,(\hat F_{ii} + \lambda \bar a I)^{-1} \nabla_{w_i}`.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
from scipy import special

from .montecarlo import _rng, blas_threads, draw_weight
from .progress import Progress

__all__ = ["UnitBlocks", "theory_blocks", "project_blocks", "fit_blocks", "layer_mean_field", "draw_parameters",
           "forward", "backward", "network_mean_field", "offdiagonal_ratio", "OffDiagonal", "offdiagonal_scaling",
           "OffDiagonalScaling",
           "NatGradRun", "train_natgrad", "THEORY_SLOPE"]

#: log-log slope of ||F_ij||_F / ||F_ii||_F in M predicted by Amari, Karakida & Oizumi (2019): M^{-1/2}
THEORY_SLOPE = -0.5

_QUAD = np.polynomial.hermite_e.hermegauss(160)


# ---------------------------------------------------------------------- the structured block
@dataclass(frozen=True)
class UnitBlocks:
    r"""Structured Fisher blocks :math:`F_i = a_i I + U_i B_i U_i^T`, :math:`U_i = [v_i, t]`, of ``K`` units.

    ``a``: ``(K,)``; ``B``: ``(K, 2, 2)`` symmetric; ``v``: ``(K, n)`` unit vectors; ``t``: ``(n,)`` or
    ``(K, n)`` (default direction ``1``).  In the basis of the module docstring
    :math:`F_i = a(I - vv^T) + b\,vv^T + c\,tt^T + d(tv^T + vt^T)` with ``b = a + B[0, 0]``,
    ``c = B[1, 1]``, ``d = B[0, 1]``.
    """

    a: np.ndarray
    B: np.ndarray
    v: np.ndarray
    t: np.ndarray

    @classmethod
    def from_scalars(cls, a, b, c, d, v, t=None):
        """From :math:`a(I - vv^T) + b\\,vv^T + c\\,tt^T + d(tv^T + vt^T)` (``t`` default ones)."""
        a, b, c, d = (np.asarray(s, dtype=float) for s in (a, b, c, d))
        v = np.atleast_2d(np.asarray(v, dtype=float))
        t = np.ones(v.shape[-1]) if t is None else np.asarray(t, dtype=float)
        B = np.stack([np.stack([b - a, d], -1), np.stack([d, c], -1)], -2)
        return cls(np.broadcast_to(a, v.shape[:1]).copy(), np.broadcast_to(B, v.shape[:1] + (2, 2)).copy(), v, t)

    @property
    def b(self):
        return self.a + self.B[:, 0, 0]

    @property
    def c(self):
        return self.B[:, 1, 1]

    @property
    def d(self):
        return self.B[:, 0, 1]

    def _U(self):
        return np.broadcast_to(self.t, self.v.shape)

    def matvec(self, x):
        r""":math:`F_i x_i` for ``x`` of shape ``(K, n)``, in :math:`O(n)` per unit."""
        t = self._U()
        proj = np.stack([np.einsum("kn,kn->k", self.v, x), np.einsum("kn,kn->k", t, x)], -1)
        y = np.einsum("kab,kb->ka", self.B, proj)
        return self.a[:, None] * x + y[:, :1] * self.v + y[:, 1:] * t

    def _woodbury(self, damping):
        r"""``(a + damping, t, C)`` with :math:`C = B\,(aI_2 + U^TUB)^{-1}` (``(K, 2, 2)``, explicit 2 x 2
        inverse), so that :math:`(aI + UBU^T)^{-1} = \frac1a\,[I - U C U^T]`."""
        a = self.a + damping
        t = self._U()
        vt = np.einsum("kn,kn->k", self.v, t)
        G = np.stack([np.stack([np.ones_like(vt), vt], -1),
                      np.stack([vt, np.einsum("kn,kn->k", t, t)], -1)], -2)  # U^T U (|v| = 1)
        Mx = a[:, None, None] * np.eye(2) + G @ self.B
        det = Mx[:, 0, 0] * Mx[:, 1, 1] - Mx[:, 0, 1] * Mx[:, 1, 0]
        adj = np.stack([np.stack([Mx[:, 1, 1], -Mx[:, 0, 1]], -1), np.stack([-Mx[:, 1, 0], Mx[:, 0, 0]], -1)], -2)
        return a, t, self.B @ adj / det[:, None, None]

    def solve(self, g, damping=0.0):
        r""":math:`(F_i + \lambda I)^{-1} g_i` by the explicit (Woodbury) inverse, ``g``: ``(K, n)``.

        .. math::

            (aI + UBU^T)^{-1} g = \frac1a\big[g - U B\,(a I_2 + U^TU B)^{-1} U^T g\big]

        with ``a -> a + damping``; a 2 x 2 system per unit, solved in closed form: :math:`O(n)` per unit.
        """
        a, t, C = self._woodbury(damping)
        Ug = np.stack([np.einsum("kn,kn->k", self.v, g), np.einsum("kn,kn->k", t, g)], -1)
        y = np.einsum("kab,kb->ka", C, Ug)
        return (g - y[:, :1] * self.v - y[:, 1:] * t) / a[:, None]

    def dense(self):
        """The blocks as ``(K, n, n)`` matrices (for tests and small ``n``)."""
        t = self._U()
        U = np.stack([self.v, t], -1)
        return self.a[:, None, None] * np.eye(self.v.shape[1]) + U @ self.B @ np.swapaxes(U, -1, -2)

    def dense_inverse(self, damping=0.0):
        """The explicit inverses :math:`\frac1a[I - U C U^T]` as ``(K, n, n)`` matrices (no matrix inverse)."""
        a, t, C = self._woodbury(damping)
        U = np.stack([self.v, t], -1)
        return (np.eye(self.v.shape[1]) - U @ C @ np.swapaxes(U, -1, -2)) / a[:, None, None]


def _project(n, tr, vXv, tXt, vXt, vt, tt, v, t):
    r"""Frobenius projection onto :math:`\{\alpha I + U C U^T\}` from :math:`\operatorname{tr}X`,
    :math:`v^TXv`, :math:`t^TXt`, :math:`v^TXt`.  With :math:`E = [v, t_\perp/|t_\perp|] = U R^{-1}` the
    space splits orthogonally into :math:`\alpha(I - EE^T)` and :math:`ESE^T`, so
    :math:`\alpha = (\operatorname{tr}X - \operatorname{tr}S)/(n-2)`, :math:`S = E^TXE` (PSD when ``X``
    is: the fit of a Fisher block is a Fisher block), and :math:`B = R^{-1}(S - \alpha I)R^{-T}`."""
    r = np.sqrt(np.maximum(tt - vt * vt, 1e-300))
    S11 = vXv
    S12 = (vXt - vt * vXv) / r
    S22 = (tXt - 2 * vt * vXt + vt * vt * vXv) / r ** 2
    alpha = (tr - S11 - S22) / (n - 2)
    Rinv = np.zeros(np.shape(alpha) + (2, 2))
    Rinv[..., 0, 0], Rinv[..., 0, 1], Rinv[..., 1, 1] = 1.0, -vt / r, 1.0 / r
    S = np.stack([np.stack([S11 - alpha, S12], -1), np.stack([S12, S22 - alpha], -1)], -2)
    B = Rinv @ S @ np.swapaxes(Rinv, -1, -2)
    return UnitBlocks(alpha, B, v, t)


def _check_vt(v, t):
    v = np.atleast_2d(np.asarray(v, dtype=float))
    if v.shape[1] < 3:
        raise ValueError(f"a structured block needs n >= 3 incoming weights, got n = {v.shape[1]}")
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    t = np.ones(v.shape[1]) if t is None else np.asarray(t, dtype=float)
    return v, t


def project_blocks(X, v, t=None):
    r"""Frobenius projection of dense blocks ``X`` (``(K, n, n)``) onto
    :math:`\operatorname{span}\{I, vv^T, tt^T, tv^T + vt^T\}` (``t`` default ones)."""
    v, t = _check_vt(v, t)
    X = np.asarray(X, dtype=float)
    tb = np.broadcast_to(t, v.shape)
    Xv, Xt = np.einsum("kij,kj->ki", X, v), np.einsum("kij,kj->ki", X, tb)
    return _project(v.shape[1], np.trace(X, axis1=1, axis2=2), np.einsum("ki,ki->k", v, Xv),
                    np.einsum("ki,ki->k", tb, Xt), np.einsum("ki,ki->k", v, Xt),
                    np.einsum("ki,ki->k", v, tb), np.einsum("ki,ki->k", tb, tb), v, t)


def fit_blocks(h, g2, v, t=None):
    r"""Structured fit of the empirical blocks :math:`\hat F_i = \frac1N\sum_a g_i^2(a)\, h_a h_a^T`.

    The Frobenius projection of :func:`project_blocks`, computed from :math:`|h_a|^2`, :math:`v_i\cdot h_a`
    and :math:`t\cdot h_a` only: :math:`O(N n)` per unit, vectorised over the ``K`` units.

    Parameters
    ----------
    h : (N, n) inputs of the layer, :math:`h^{l-1}` for ``N`` samples.
    g2 : (N, K) :math:`g_i^2 = |\partial f/\partial u_i|^2` per sample and unit (or any unbiased estimate).
    v : (K, n) incoming weight vectors (normalised here).
    t : (n,) second direction (default ones).
    """
    v, t = _check_vt(v, t)
    h, g2 = np.asarray(h, dtype=float), np.asarray(g2, dtype=float)
    N = h.shape[0]
    hh = np.einsum("ai,ai->a", h, h)
    vh = h @ v.T  # (N, K)
    th = h @ t.T if t.ndim == 2 else (h @ t)[:, None]
    return _project(v.shape[1], hh @ g2 / N, np.einsum("ak,ak->k", g2, vh * vh) / N,
                    np.einsum("ak,ak->k", g2, th * th) / N, np.einsum("ak,ak->k", g2, vh * th) / N,
                    v @ t if t.ndim == 1 else np.einsum("kn,kn->k", v, t),
                    np.broadcast_to(np.einsum("...n,...n->...", t, t), v.shape[:1]), v, t)


# ---------------------------------------------------------------------- mean-field theory
def layer_mean_field(net, layer):
    r"""``(mu, sigma2, eps_scale)`` for the inputs of layer ``layer`` (``1..L``).

    :math:`\mu = E\phi(\sqrt{q_{l-1}}Z)`, :math:`\sigma^2 = \hat q_{l-1} - \mu^2` (``l = 1``: ``0, q0``),
    ``eps_scale`` :math:`= \tilde q_{l+1}` (``1`` for ``l = L``, where no :math:`\phi'` applies)."""
    from .statistics import gauss_average, order_parameters

    L = net.depth
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or not 1 <= layer <= L:
        raise ValueError(f"layer must be an integer in [1, {L}], got {layer!r}")
    if L < 2:
        return 0.0, float(net.q0), 1.0
    op = order_parameters(net)
    if layer == 1:
        mu, sigma2 = 0.0, float(net.q0)
    else:
        mu = gauss_average(net.activation.phi, op.q[layer - 1])
        sigma2 = op.qh[layer - 1] - mu * mu
    return float(mu), float(sigma2), float(op.qt[layer + 1]) if layer < L else 1.0


def _dphi2_moments(act, m, s):
    r""":math:`A_k = E[\phi'(m + s\zeta)^2\zeta^k]`, ``k = 0, 1, 2`` (closed forms for the kinks)."""
    m, s = np.asarray(m, dtype=float), np.asarray(s, dtype=float)
    Phi, pdf = special.ndtr, lambda x: np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    if act.name == "linear":
        return np.ones_like(m), np.zeros_like(m), np.ones_like(m)
    if act.name == "relu":  # phi'^2 = 1{zeta > -m/s}
        k = m / s
        return Phi(k), pdf(k), Phi(k) - k * pdf(k)
    if act.name == "hardtanh":  # phi'^2 = 1{lo < zeta < hi}
        lo, hi = (-1 - m) / s, (1 - m) / s
        A0 = Phi(hi) - Phi(lo)
        return A0, pdf(lo) - pdf(hi), A0 + lo * pdf(lo) - hi * pdf(hi)
    x, w = _QUAD
    w = w / math.sqrt(2 * math.pi)
    d2 = act.dphi(m[..., None] + s[..., None] * x) ** 2
    return d2 @ w, d2 @ (w * x), d2 @ (w * x * x)


def _phi_moments(act, m, s):
    r""":math:`E\phi(m + s\zeta)` and :math:`E\phi(m + s\zeta)^2` (closed forms for linear and ReLU)."""
    m, s = np.asarray(m, dtype=float), np.asarray(s, dtype=float)
    if act.name == "linear":
        return m, m * m + s * s
    if act.name == "relu":
        k = m / s
        Phi, pdf = special.ndtr(k), np.exp(-k * k / 2) / math.sqrt(2 * math.pi)
        return m * Phi + s * pdf, (m * m + s * s) * Phi + m * s * pdf
    x, w = _QUAD
    w = w / math.sqrt(2 * math.pi)
    f = act.phi(m[..., None] + s[..., None] * x)
    return f @ w, (f * f) @ w


def network_mean_field(net, weights, biases):
    r"""Mean field of one sampled network, unit by unit (quenched): for ``l = 1..L``

    .. math:: m^l = b_l + W_l\mu^{l-1},\quad (s^l)^2 = (W_l\circ W_l)(\sigma^{l-1})^2,\quad
              \mu^l_i = E\phi(m^l_i + s^l_i\zeta),\quad (\sigma^l_i)^2 = E\phi(m^l_i + s^l_i\zeta)^2 - (\mu^l_i)^2,

    (:math:`\mu^0 = 0`, :math:`(\sigma^0)^2 = q_0`), and backwards :math:`\epsilon^L = 1`,
    :math:`\epsilon^l_i = \sum_j W_{l+1,ji}^2\,\epsilon^{l+1}_j A_0(m^{l+1}_j, s^{l+1}_j)` (``A_0 = 1`` at the
    linear output).  Returns lists ``mu, sigma2`` (``l = 0..L-1``), ``m, s, eps`` (``l = 1..L``).  Each
    unit sees the annealed Gaussian of Amari et al. with the means it really gets: the means
    :math:`\mu^l_i` differ from unit to unit by O(1) (through :math:`b_i` and :math:`1\cdot w_i`), which the
    annealed ``mu 1`` misses at O(1) in ``b`` and ``d``."""
    act, L = net.activation, net.depth
    M = weights[0].shape[1]
    mu, sigma2, ms, ss = [np.zeros(M)], [np.full(M, float(net.q0))], [], []
    for l in range(L):
        W = weights[l]
        ms.append(biases[l] + W @ mu[-1])
        ss.append(np.sqrt((W * W) @ sigma2[-1]))
        if l < L - 1:
            e1, e2 = _phi_moments(act, ms[-1], ss[-1])
            mu.append(e1)
            sigma2.append(np.maximum(e2 - e1 * e1, 0.0))
    eps = [np.ones(weights[-1].shape[0])]
    g2 = eps[0]
    for l in range(L - 1, 0, -1):
        eps.insert(0, (weights[l] ** 2).T @ g2)
        g2 = eps[0] * _dphi2_moments(act, ms[l - 1], ss[l - 1])[0]
    return mu, sigma2, ms, ss, eps


def theory_blocks(net, weights, biases, layer, quenched=True):
    r"""The mean-field structured blocks (module docstring) of every unit of ``layer`` of a sampled network.

    ``weights[l-1]`` is :math:`W_l` (``M x M``), ``biases[l-1]`` is :math:`b_l` (as :func:`draw_parameters`
    returns them).  Annealed (``quenched=False``, Amari et al.): :math:`t = 1`, :math:`\mu, \sigma^2` of the
    ensemble (:func:`layer_mean_field`), :math:`m_i = b_i + \mu\,1\cdot w_i`, :math:`s_i = \sigma|w_i|`,
    :math:`\epsilon_i = |W_{l+1}[:, i]|^2\tilde q_{l+1}`, and

    .. math:: a = \epsilon\sigma^2A_0,\quad b = \epsilon\sigma^2A_2,\quad c = \epsilon\mu^2A_0,\quad
              d = \epsilon\mu\sigma A_1,\qquad A_k = E[\phi'(m_i + s_i\zeta)^2\zeta^k].

    Quenched (default): the same expansion around the network's own unit means
    (:func:`network_mean_field`): :math:`h = \mu^{l-1} + \bar\sigma z` with :math:`t = \mu^{l-1}` (a vector),
    :math:`\bar\sigma^2 = \operatorname{mean}_k(\sigma^{l-1}_k)^2`, :math:`m_i = m^l_i`,
    :math:`s_i = \bar\sigma|w_i|`, :math:`\epsilon_i = \epsilon^l_i`, so ``c = eps A_0``,
    ``d = eps sigma A_1`` (``mu`` is absorbed in ``t``).  This one matches Monte Carlo blocks of a given
    network with an error that falls with ``M`` (tests).
    """
    L = net.depth
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or not 1 <= layer <= L:
        raise ValueError(f"layer must be an integer in [1, {L}], got {layer!r}")
    W = np.asarray(weights[layer - 1], dtype=float)
    norm = np.linalg.norm(W, axis=1)
    K = W.shape[0]
    if quenched:
        mu_all, s2_all, ms, _, eps_all = network_mean_field(net, weights, biases)
        t, sigma2, eps, m = mu_all[layer - 1], float(np.mean(s2_all[layer - 1])), eps_all[layer - 1], ms[layer - 1]
        scale = 1.0
    else:
        mu, sigma2, qt_next = layer_mean_field(net, layer)
        m = np.asarray(biases[layer - 1], dtype=float) + mu * W.sum(axis=1)
        eps = np.sum(np.asarray(weights[layer]) ** 2, axis=0) * qt_next if layer < L else np.ones(K)
        t, scale = np.ones(W.shape[1]), mu
    sigma = math.sqrt(sigma2)
    if layer == L:
        A0, A1, A2 = np.ones(K), np.zeros(K), np.ones(K)
    else:
        A0, A1, A2 = _dphi2_moments(net.activation, m, sigma * norm)
    if np.linalg.norm(t) == 0:  # no mean at all (first layer, or odd activation without biases)
        t = np.ones(W.shape[1])
        scale = 0.0
    return UnitBlocks.from_scalars(eps * sigma2 * A0, eps * sigma2 * A2, eps * scale ** 2 * A0,
                                   eps * scale * sigma * A1, W / norm[:, None], t)


# ---------------------------------------------------------------------- networks (batched, numpy)
def _check_width(width, name="width", low=2):
    if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {width!r}")
    return int(width)


def draw_parameters(net, width, rng):
    """Weights :math:`W_1..W_L` (``M x M``, the law of ``net``) and fixed biases :math:`b_1..b_L`."""
    if net.widths is not None:
        raise ValueError(f"the unit-wise FIM uses one width M, got widths {net.widths!r}")
    rng = _rng(rng)
    weights = [draw_weight(net.weights, net.sigma_w2, width, width, rng) for _ in range(net.depth)]
    biases = [rng.standard_normal(width) * math.sqrt(net.sigma_b2) for _ in range(net.depth)]
    return weights, biases


def forward(act, weights, biases, x):
    """Batched forward pass, ``x``: ``(N, M)``.  Returns ``(hs, us)``: :math:`h^0..h^{L-1}` and
    :math:`u^1..u^L` (``us[-1]`` is the output ``f``)."""
    hs, us = [x], []
    for l, (W, b) in enumerate(zip(weights, biases)):
        us.append(hs[-1] @ W.T + b)
        if l < len(weights) - 1:
            hs.append(act.phi(us[-1]))
    return hs, us


def backward(act, weights, us, e):
    r""":math:`\partial (e\cdot f)/\partial u^l` for ``l = 1..L`` (list of ``(N, M)``), ``e``: ``(N, M)``."""
    deltas = [e]
    for l in range(len(weights) - 1, 0, -1):
        deltas.append((deltas[-1] @ weights[l]) * act.dphi(us[l - 1]))
    return deltas[::-1]


def _draw_inputs(n, width, q0, rng):
    return rng.standard_normal((n, width)) * math.sqrt(q0)


# ---------------------------------------------------------------------- off-diagonal blocks
def _unit_gram(act, weights, us, layer, units):
    r"""Per sample the Gram matrix :math:`G_{ij}(a) = \delta_i(a)\cdot\delta_j(a)` of the chosen units of
    ``layer`` (``< L``): forward-mode :math:`T = \partial u^{k}/\partial u^l_S` up to the output."""
    T = act.dphi(us[layer - 1][:, units])[:, None, :] * weights[layer][:, units][None]
    for k in range(layer + 1, len(weights)):
        T = weights[k] @ (act.dphi(us[k - 1])[:, :, None] * T)
    return np.einsum("nis,nit->nst", T, T)


def _ustat_sq_norms(gamma, Q):
    r"""Unbiased :math:`\|E X\|_F^2` per column of ``gamma`` ``(N, P)``, :math:`X_a = \gamma_a h_ah_a^T`:
    :math:`\frac{1}{N(N-1)}\sum_{a\ne b}\gamma_a\gamma_b (h_a\cdot h_b)^2`, ``Q`` :math:`=(h_a\cdot h_b)^2`."""
    N = gamma.shape[0]
    total = np.einsum("ap,ap->p", gamma, Q @ gamma)
    diag = np.einsum("ap,a->p", gamma * gamma, np.diag(Q))
    return (total - diag) / (N * (N - 1))


@dataclass(frozen=True)
class OffDiagonal:
    r"""``ratio`` :math:`= \operatorname{mean}_{i\ne j}\|F_{ij}\|_F / \operatorname{mean}_i\|F_{ii}\|_F` of one
    width (pooled over ``trials`` networks), with the two means."""

    width: int
    ratio: float
    offdiag_norm: float
    diag_norm: float


def offdiagonal_ratio(net, width, layer=1, units=16, samples=256, trials=2, seed=None):
    r"""Monte Carlo size of the off-diagonal Fisher blocks of ``layer`` (``1..L-1``) relative to the diagonal.

    For ``units`` random units :math:`S` of the layer and all pairs :math:`i \ne j` in :math:`S`,
    :math:`\|F_{ij}\|_F^2` is estimated without bias from ``samples`` inputs by the U-statistic

    .. math:: \widehat{\|F_{ij}\|_F^2} = \frac{1}{N(N-1)}\sum_{a\ne b}
              (\delta_i\cdot\delta_j)(a)\,(\delta_i\cdot\delta_j)(b)\,(h_a\cdot h_b)^2

    (so the sampling noise of a mean over ``N`` inputs does not fake a floor), and the same for
    :math:`F_{ii}`; negative estimates count as 0.  Theory: the ratio falls like :math:`M^{-1/2}`
    (Amari, Karakida & Oizumi 2019; module docstring).
    """
    width = _check_width(width)
    units = _check_width(units, "units")
    samples = _check_width(samples, "samples")
    trials = _check_width(trials, "trials", 1)
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or not 1 <= layer < net.depth:
        raise ValueError(f"layer must be an integer in [1, {net.depth - 1}] (the output layer's off-diagonal "
                         f"blocks vanish exactly), got {layer!r}")
    rng = _rng(seed)
    S = min(units, width)
    iu = np.triu_indices(S, 1)
    off, diag = [], []
    with blas_threads(width):
        for _ in range(trials):
            weights, biases = draw_parameters(net, width, rng)
            x = _draw_inputs(samples, width, net.q0, rng)
            hs, us = forward(net.activation, weights, biases, x)
            chosen = rng.choice(width, S, replace=False)
            G = _unit_gram(net.activation, weights, us, layer, chosen)
            h = hs[layer - 1]
            Q = (h @ h.T) ** 2
            off.append(np.sqrt(np.maximum(_ustat_sq_norms(G[:, iu[0], iu[1]], Q), 0)))
            diag.append(np.sqrt(np.maximum(_ustat_sq_norms(np.einsum("nss->ns", G), Q), 0)))
    off, diag = float(np.mean(np.concatenate(off))), float(np.mean(np.concatenate(diag)))
    return OffDiagonal(width, off / diag, off, diag)


@dataclass(frozen=True)
class OffDiagonalScaling:
    """:func:`offdiagonal_ratio` over widths with the fitted log-log ``slope`` (theory: ``THEORY_SLOPE``)."""

    widths: tuple
    ratio: np.ndarray
    slope: float
    theory_slope: float = THEORY_SLOPE

    def as_dict(self):
        return dict(widths=list(self.widths), ratio=self.ratio, slope=self.slope, theory_slope=self.theory_slope)


def offdiagonal_scaling(net, widths=(100, 200, 400, 800), layer=1, units=16, samples=256, trials=2, seed=0,
                        progress=None):
    """The ratio of :func:`offdiagonal_ratio` at each width (stream ``default_rng([seed, M])``) and the
    least-squares slope of ``log ratio`` against ``log M``."""
    widths = tuple(_check_width(w) for w in widths)
    if len(widths) < 2:
        raise ValueError(f"a slope needs at least two widths, got {widths!r}")
    ratios = []
    with Progress(len(widths), "off-diagonal blocks", enabled=progress) as bar:
        for M in widths:
            rng = np.random.default_rng([seed, M])
            ratios.append(offdiagonal_ratio(net, M, layer, units, samples, trials, rng).ratio)
            bar.update()
    ratios = np.array(ratios)
    slope = float(np.polyfit(np.log(widths), np.log(ratios), 1)[0])
    return OffDiagonalScaling(widths, ratios, slope)


# ---------------------------------------------------------------------- natural-gradient experiment
@dataclass(frozen=True)
class NatGradRun:
    r"""Loss curves of SGD and of the unit-wise natural gradient from the same start and data.

    ``sgd_loss[t]``, ``ng_loss[t]``: held-out loss :math:`E|y - f|^2/(2M)` after ``t`` steps
    (``t = 0..steps``).  ``reference_step`` = min(1000, steps); ``sgd_reference_loss`` = SGD loss there;
    ``ng_steps_to_reference``: first step at which the natural gradient is at or below it (``None``
    if never).
    """

    network: dict
    width: int
    steps: int
    batch: int
    lr_sgd: float
    lr_ng: float
    damping: float
    seed: object
    sgd_loss: np.ndarray
    ng_loss: np.ndarray
    reference_step: int
    sgd_reference_loss: float
    ng_steps_to_reference: int | None

    def checkpoints(self):
        """Steps 0, 10, 100, 1000, ... up to ``steps`` (and ``steps``)."""
        pts = [0] + [10 ** k for k in range(1, 12) if 10 ** k < self.steps] + [self.steps]
        return sorted(set(pts))

    def as_dict(self):
        cps = self.checkpoints()
        return dict(network=self.network, width=self.width, steps=self.steps, batch=self.batch,
                    lr_sgd=self.lr_sgd, lr_ng=self.lr_ng, damping=self.damping, seed=self.seed,
                    checkpoints=cps, sgd_loss_at=self.sgd_loss[cps], ng_loss_at=self.ng_loss[cps],
                    reference_step=self.reference_step, sgd_reference_loss=self.sgd_reference_loss,
                    ng_steps_to_reference=self.ng_steps_to_reference,
                    speedup=(self.reference_step / self.ng_steps_to_reference if self.ng_steps_to_reference
                             else None),
                    sgd_loss=self.sgd_loss, ng_loss=self.ng_loss)


def _loss(act, weights, biases, x, y):
    f = forward(act, weights, biases, x)[1][-1]
    return float(np.mean(np.sum((f - y) ** 2, axis=1)) / (2 * x.shape[1]))


def _gradients(act, weights, biases, x, y):
    """Batch-mean gradients of :math:`|y - f|^2/2` per layer (row ``i``: unit ``i``), and the forward pass."""
    hs, us = forward(act, weights, biases, x)
    deltas = backward(act, weights, us, us[-1] - y)
    return [d.T @ h / x.shape[0] for d, h in zip(deltas, hs)], hs, us


def _check_positive(name, value, zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name} must be a finite number {'>= 0' if zero else '> 0'}, got {value!r}")
    return float(value)


def train_natgrad(net, width=100, steps=1000, batch=32, lr_sgd=2.5, lr_ng=0.03, damping=0.1, ema=0.95,
                  test_samples=256, seed=0, progress=None):
    r"""Teacher-student regression with SGD and with the unit-wise natural gradient.

    A teacher and a student are independent draws from ``net`` (weights; the student shares the
    teacher's fixed biases, so the task is realizable).  Each step draws a fresh mini-batch
    :math:`x \sim N(0, q_0 I)` of ``batch`` inputs, :math:`y` = teacher output; the loss is
    :math:`\ell = |y - f|^2/(2M)`.  SGD: :math:`W \leftarrow W - \eta_{sgd}\nabla\ell`.  Natural
    gradient, per unit (:math:`r = f - y`, :math:`\nabla_{w_i} = E_{batch}[(\delta_i\cdot r) h]`):

    .. math:: w_i \leftarrow w_i - \eta_{ng}\,(\hat F_{ii} + \lambda\bar a_l I)^{-1}\nabla_{w_i},

    :math:`\hat F_{ii}` the structured fit (:func:`fit_blocks`, with :math:`t` the running mean of
    :math:`h^{l-1}`) of :math:`E[g_i^2 hh^T]`, :math:`g_i = \delta_i\cdot\xi` with a fresh
    :math:`\xi \sim N(0, I_C)` per sample (:math:`E_\xi g_i^2 = |\delta_i|^2`: unbiased, one extra
    backward pass), its scalars averaged over steps with weight ``ema``; :math:`\bar a_l` is the mean
    of :math:`a` over the layer (relative damping).  Since :math:`\ell` carries ``1/M`` and
    :math:`F = E J^TJ` does not, :math:`\eta_{ng} = 1` is a full Gauss-Newton step per block.
    A full step per block overshoots (the ``L`` layers and the ``M`` units of a layer each correct the
    same residual, from a batch smaller than ``n``): the defaults ``lr_sgd = 2.5``, ``lr_ng = 0.03`` are
    the best of the grids {0.5, 1, 2, 2.5, 3, 3.5, 4} (SGD loss at step 1,000) and {0.01, ..., 0.07}
    (steps to reach it) for ReLU/orthogonal,
    :math:`\sigma_w^2 = 2`, :math:`\sigma_b^2 = 0.1`, ``L = 3``, ``M = 100``, ``batch = 32``
    (``benchmarks/bench_natgrad.py``).  Held-out loss on ``test_samples`` fixed inputs after every step.
    """
    width = _check_width(width)
    steps = _check_width(steps, "steps", 1)
    batch = _check_width(batch, "batch", 1)
    test_samples = _check_width(test_samples, "test_samples", 1)
    lr_sgd = _check_positive("lr_sgd", lr_sgd)
    lr_ng = _check_positive("lr_ng", lr_ng)
    damping = _check_positive("damping", damping, zero=True)
    ema = _check_positive("ema", ema, zero=True)
    if ema >= 1:
        raise ValueError(f"ema must be in [0, 1), got {ema!r}")
    if width < 3:
        raise ValueError(f"width must be an integer >= 3 (a structured block needs n >= 3), got {width!r}")
    rng = _rng(seed)
    act, L = net.activation, net.depth
    teacher, biases = draw_parameters(net, width, rng)
    student = draw_parameters(net, width, rng)[0]
    x_test = _draw_inputs(test_samples, width, net.q0, rng)
    y_test = forward(act, teacher, biases, x_test)[1][-1]
    data_seed = rng.integers(2 ** 63)
    sgd, ng = [w.copy() for w in student], [w.copy() for w in student]
    sgd_loss, ng_loss = np.empty(steps + 1), np.empty(steps + 1)
    sgd_loss[0] = ng_loss[0] = _loss(act, student, biases, x_test, y_test)
    stats = [None] * L  # running (a, B) per layer and running mean of h^{l-1}
    means = [None] * L
    data = np.random.default_rng(data_seed)
    with Progress(steps, f"natgrad M={width}, L={L}", enabled=progress) as bar, blas_threads(width), \
            np.errstate(over="ignore", invalid="ignore"):
        for step in range(1, steps + 1):
            x = _draw_inputs(batch, width, net.q0, data)
            xi = data.standard_normal((batch, width))
            y = forward(act, teacher, biases, x)[1][-1]
            grads, _, _ = _gradients(act, sgd, biases, x, y)
            for W, g in zip(sgd, grads):
                W -= lr_sgd / width * g
            grads, hs, us = _gradients(act, ng, biases, x, y)
            probes = backward(act, ng, us, xi)
            for l in range(L):
                h = hs[l]
                mean = h.mean(axis=0)
                means[l] = mean if means[l] is None else ema * means[l] + (1 - ema) * mean
                t = means[l] if np.linalg.norm(means[l]) > 1e-8 * math.sqrt(width) else np.ones(width)
                fit = fit_blocks(h, probes[l] ** 2, ng[l], t)
                if stats[l] is None:
                    stats[l] = (fit.a, fit.B)
                else:
                    stats[l] = (ema * stats[l][0] + (1 - ema) * fit.a, ema * stats[l][1] + (1 - ema) * fit.B)
                block = UnitBlocks(stats[l][0], stats[l][1], fit.v, t)
                ng[l] -= lr_ng * block.solve(grads[l], damping * float(np.mean(block.a)))
            sgd_loss[step] = _loss(act, sgd, biases, x_test, y_test)
            ng_loss[step] = _loss(act, ng, biases, x_test, y_test)
            bar.update()
    ref = min(1000, steps)
    reached = np.nonzero(ng_loss <= sgd_loss[ref])[0]
    return NatGradRun(net.as_dict(), width, steps, batch, lr_sgd, lr_ng, damping,
                      seed if not isinstance(seed, np.random.Generator) else None, sgd_loss, ng_loss, ref,
                      float(sgd_loss[ref]), int(reached[0]) if reached.size else None)
