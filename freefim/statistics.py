r"""Mean-field statistics of the FIM eigenvalues (Karakida, Akaho & Amari, AISTATS 2019).

A network of depth ``L`` with widths :math:`M_l = \alpha_l M` (``l = 0..L-1``),
``C`` linear outputs and ``T`` input samples has the empirical FIM (their eq. 2)

.. math::

    F = \frac1T \sum_{t=1}^T \sum_{k=1}^C \nabla_\theta f_k(t) \nabla_\theta f_k(t)^T
    \qquad (P \times P,\ P \simeq \alpha M^2,\ \alpha = \sum_{l=1}^{L-1} \alpha_l \alpha_{l-1}).

Its eigenvalue statistics follow from the order parameters (eqs. 9-12)

.. math::

    q_l = \sigma_w^2 \hat q_{l-1} + \sigma_b^2,\quad \hat q_l = \int Du\, \phi^2(\sqrt{q_l} u),\quad
    q^{st}_l = \sigma_w^2 \hat q^{st}_{l-1} + \sigma_b^2,\quad \hat q^{st}_l = I_\phi[q_l, q^{st}_l],

    \tilde q_l = \sigma_w^2 \tilde q_{l+1} \int Du\, \phi'^2(\sqrt{q_l} u),\quad
    \tilde q^{st}_l = \sigma_w^2 \tilde q^{st}_{l+1} I_{\phi'}[q_l, q^{st}_l],\quad
    \tilde q_L = \tilde q^{st}_L = 1,

with the two-dimensional Gaussian integral
:math:`I_f[a, b] = \int Dz_1 Dz_2\, f(\sqrt a z_1) f(\sqrt a (c z_1 + \sqrt{1-c^2} z_2))`,
:math:`c = b/a`.  Then (Theorems 1, 3, 4, 5 and 7)

.. math::

    \kappa_1 = \sum_{l=1}^L \frac{\alpha_{l-1}}{\alpha} \tilde q_l \hat q_{l-1},\quad
    \kappa_2 = \sum_{l=1}^L \frac{\alpha_{l-1}}{\alpha} \tilde q^{st}_l \hat q^{st}_{l-1},

    m_\lambda = \frac{C\kappa_1}{M},\quad
    s_\lambda = C\alpha\Big(\frac{T-1}{T}\kappa_2^2 + \frac{\kappa_1^2}{T}\Big),\quad
    \lambda_{max} = \alpha\Big(\frac{T-1}{T}\kappa_2 + \frac{\kappa_1}{T}\Big) M,\quad
    \eta_c = \frac{2(1+\mu)}{\lambda_{max}}.

Softmax outputs (cross-entropy over ``C`` classes) weight each sample's Jacobian by the Fisher information
of the output law, :math:`F = \frac1T\sum_t J_t^T(\mathrm{diag}\,p_t - p_tp_t^T)J_t`; the logits stay
Gaussian and random at infinite width, so its outliers are random and dispersed (Karakida, Akaho & Amari,
*Pathological spectra of the Fisher information metric and its variants*, Neural Computation 2021):
:func:`fim_statistics` with ``loss="softmax"``.  The neural tangent kernel :math:`\Theta = JJ^T/M` of the same
networks shares the regression FIM's outliers (:func:`ntk_statistics`).

The Monte Carlo side never builds the ``P x P`` matrix: the nonzero spectrum of
``F`` is that of the ``CT x CT`` dual matrix :math:`F^* = J J^T / T` (``J``: the
``CT x P`` Jacobian of the weights), assembled layer by layer from backpropagated
signals, :math:`(JJ^T)_{(t,k),(s,k')} = \sum_l (\delta^l_k(t)\cdot\delta^l_{k'}(s))
(h^{l-1}(t)\cdot h^{l-1}(s))`.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
from scipy import integrate, special, stats
from scipy.sparse import linalg as sparse_linalg

from .montecarlo import _rng, blas_threads, draw_input, draw_weight
from .progress import Progress

if TYPE_CHECKING:
    from .activations import Activation
    from .network import Network

__all__ = ["OrderParameters", "FIMStatistics", "MonteCarloStatistics", "NTKStatistics", "MonteCarloNTK", "LOSSES",
           "order_parameters", "fim_statistics", "ntk_statistics", "mean_field_dual", "output_factor",
           "gauss_average", "gauss_cross_average", "cross_moment", "jacobian_gram", "dual_fim",
           "dual_fim_from_weights", "sample_statistics", "sample_ntk"]

#: Gauss-Hermite nodes used for activations without a closed form (smooth ones, e.g. tanh)
QUADRATURE_NODES = 160


# ---------------------------------------------------------------------- Gaussian integrals
def _hermite(n):
    x, w = np.polynomial.hermite_e.hermegauss(n)  # weight exp(-x^2/2)
    return x, w / math.sqrt(2 * math.pi)


def gauss_average(f: Callable, q: float, nodes: int = QUADRATURE_NODES) -> float:
    r""":math:`\int Du\, f(\sqrt q u)` by Gauss-Hermite quadrature (exact for polynomials of degree < 2n)."""
    x, w = _hermite(nodes)
    return float(w @ f(math.sqrt(q) * x))


def gauss_cross_average(f: Callable, a: float, b: float, nodes: int = QUADRATURE_NODES) -> float:
    r"""The two-dimensional integral :math:`I_f[a, b]` of Karakida et al. (2019, below eq. 10).

    .. math::

        I_f[a,b] = \int Dz_1 Dz_2\, f(\sqrt a z_1)\, f\big(\sqrt a (c z_1 + \sqrt{1-c^2} z_2)\big),
        \qquad c = b / a,

    by a tensor Gauss-Hermite rule.  Spectrally accurate for smooth ``f``; for
    kinks and jumps use the closed forms of :func:`cross_moment`.
    """
    x, w = _hermite(nodes)
    c = min(max(b / a, -1.0), 1.0)
    z1, z2 = x[:, None], x[None, :]
    y1 = math.sqrt(a) * z1
    y2 = math.sqrt(a) * (c * z1 + math.sqrt(1 - c * c) * z2)
    return float(w @ (f(y1) * f(y2)) @ w)


def _bivariate_box(t, c):
    """P(|X| < t, |Y| < t) for standard normals with correlation ``c``."""
    if c >= 1 - 1e-12:
        return math.erf(t / math.sqrt(2))
    if c <= -1 + 1e-12:
        return math.erf(t / math.sqrt(2))
    law = stats.multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, c], [c, 1.0]])
    F = lambda x, y: law.cdf([x, y])
    return float(F(t, t) - F(-t, t) - F(t, -t) + F(-t, -t))


def _clipped_mean(m, s):
    """E[clip(m + s Z, -1, 1)] (closed form of the mean of a clipped normal)."""
    if s < 1e-14:
        return np.clip(m, -1.0, 1.0)
    alpha, beta = (-1 - m) / s, (1 - m) / s
    Phi, phi = special.ndtr, lambda v: np.exp(-v * v / 2) / math.sqrt(2 * math.pi)
    return m * (Phi(beta) - Phi(alpha)) + s * (phi(alpha) - phi(beta)) + (1 - Phi(beta)) - Phi(alpha)


def cross_moment(activation: Activation | str, a: float, b: float, derivative: bool = False) -> float:
    r""":math:`I_\phi[a,b]` (or :math:`I_{\phi'}[a,b]` with ``derivative=True``) for ``activation``.

    Closed forms (Karakida et al. 2019, Supplementary B; Cho & Saul's arc-cosine
    kernel for ReLU), with :math:`c = b/a`, :math:`\theta = \arccos c`:

    * linear: :math:`I_\phi = b`, :math:`I_{\phi'} = 1`;
    * ReLU: :math:`I_\phi = \frac{a}{2\pi}(\sqrt{1-c^2} + (\pi-\theta)c)`,
      :math:`I_{\phi'} = \frac{\pi-\theta}{2\pi}`;
    * hard-tanh: :math:`I_{\phi'} = P(|X|<1, |Y|<1)` (bivariate normal box);
      :math:`I_\phi` as a one-dimensional integral of the clipped-normal mean,
      split at the kinks :math:`\pm 1`.

    Any other activation uses :func:`gauss_cross_average` on ``phi``/``dphi``.
    """
    c = min(max(b / a, -1.0), 1.0)
    name = activation.name
    if name == "linear":
        return 1.0 if derivative else float(b)
    if name == "relu":
        theta = math.acos(c)
        if derivative:
            return (math.pi - theta) / (2 * math.pi)
        return a / (2 * math.pi) * (math.sqrt(1 - c * c) + (math.pi - theta) * c)
    if name == "hardtanh":
        t = 1 / math.sqrt(a)
        if derivative:
            return _bivariate_box(t, c)
        s = math.sqrt(a * (1 - c * c))
        inner = lambda x: (math.exp(-x * x / 2) / math.sqrt(2 * math.pi) * float(np.clip(math.sqrt(a) * x, -1, 1))
                           * float(_clipped_mean(math.sqrt(a) * c * x, s)))
        val = sum(integrate.quad(inner, lo, hi, epsabs=1e-13, epsrel=1e-11)[0]
                  for lo, hi in ((-np.inf, -t), (-t, t), (t, np.inf)))
        return val
    return gauss_cross_average(activation.dphi if derivative else activation.phi, a, b)


def _second_moment(activation, q):
    try:
        return float(activation.second_moment(q))
    except NotImplementedError:
        return gauss_average(lambda u: activation.phi(u) ** 2, q)


def _derivative_moment(activation, q):
    p = activation.derivative_law(q)
    if p is not None:
        return float(p)
    return gauss_average(lambda u: activation.dphi(u) ** 2, q)


# ---------------------------------------------------------------------- order parameters
@dataclass(frozen=True)
class OrderParameters:
    r"""Forward and backward order parameters, tuples indexed by layer.

    ``q``, ``q_st`` (``l = 1..L``), ``qh``, ``qh_st`` (``l = 0..L-1``), ``qt``,
    ``qt_st`` (``l = 1..L``; ``qt[L] = qt_st[L] = 1``); missing entries are ``None``.
    ``alphas`` are the width ratios :math:`\alpha_0..\alpha_{L-1}`, ``alpha`` their
    pair sum, ``kappa1``/``kappa2`` the two indicators of eqs. (13) and (15).
    """

    q: tuple
    qh: tuple
    qt: tuple
    q_st: tuple
    qh_st: tuple
    qt_st: tuple
    alphas: tuple
    alpha: float
    kappa1: float
    kappa2: float


def _check_alphas(alphas, depth, net=None):
    """The width ratios: ``alphas``, or from the network's layer widths ``n_0..n_{L-1}`` relative to the
    narrowest (``n_L`` is the output layer, of ``C`` = ``outputs`` units here), or all 1."""
    widths = getattr(net, "widths", None)
    if alphas is None and widths is not None:
        low = min(widths[:depth])
        return tuple(float(w / low) for w in widths[:depth])
    if alphas is not None and widths is not None:
        raise ValueError(f"give the width ratios once: alphas {tuple(alphas)!r} or the network's widths {widths!r}")
    if alphas is None:
        return (1.0,) * depth
    alphas = tuple(alphas)
    if len(alphas) != depth:
        raise ValueError(f"alphas must give the {depth} width ratios alpha_0..alpha_{depth - 1}, got {len(alphas)}")
    for a in alphas:
        if isinstance(a, bool) or not isinstance(a, numbers.Real) or not math.isfinite(a) or a <= 0:
            raise ValueError(f"width ratios alphas must be finite and > 0, got {a!r}")
    return tuple(float(a) for a in alphas)


def order_parameters(net: Network, alphas: Sequence[float] | None = None, qh0_st: float = 0.0) -> OrderParameters:
    r"""Order parameters of ``net`` (Karakida et al. 2019, eqs. 9-12).

    Parameters
    ----------
    net : Network
        ``depth >= 2``; its ``q0`` is :math:`\hat q_0`.
    alphas : sequence of float, optional
        Width ratios :math:`M_l = \alpha_l M`, ``l = 0..L-1`` (default all 1).
    qh0_st : float
        Input overlap :math:`\hat q^{st}_0 = x(s)\cdot x(t)/M_0` (0 for independent inputs).

    Examples
    --------
    >>> from freefim import Network
    >>> op = order_parameters(Network("linear", "gaussian", 1.0, 0.1, depth=3))
    >>> round(op.kappa1, 6), round(op.kappa2, 6)   # (1 + 1.1 + 1.2)/2, (0 + 0.1 + 0.2)/2
    (1.65, 0.15)
    """
    L, act = net.depth, net.activation
    if L < 2:
        raise ValueError(f"the FIM statistics need depth >= 2 (one hidden layer), got depth={L}")
    qh0_st = float(qh0_st)
    if not math.isfinite(qh0_st) or abs(qh0_st) > net.q0:
        raise ValueError(f"qh0_st must satisfy |qh0_st| <= q0 = {net.q0}, got {qh0_st!r}")
    alphas = _check_alphas(alphas, L, net)
    sw2, sb2 = net.sigma_w2, net.sigma_b2
    q, qh, q_st, qh_st = [None] * (L + 1), [None] * (L + 1), [None] * (L + 1), [None] * (L + 1)
    qt, qt_st = [None] * (L + 1), [None] * (L + 1)
    qh[0], qh_st[0] = float(net.q0), qh0_st
    for l in range(1, L + 1):
        q[l] = sw2 * qh[l - 1] + sb2
        q_st[l] = sw2 * qh_st[l - 1] + sb2
        if l < L:
            qh[l] = _second_moment(act, q[l])
            qh_st[l] = cross_moment(act, q[l], q_st[l])
    qt[L] = qt_st[L] = 1.0  # linear outputs
    for l in range(L - 1, 0, -1):
        qt[l] = sw2 * qt[l + 1] * _derivative_moment(act, q[l])
        qt_st[l] = sw2 * qt_st[l + 1] * cross_moment(act, q[l], q_st[l], derivative=True)
    alpha = sum(alphas[l] * alphas[l - 1] for l in range(1, L))
    kappa1 = sum(alphas[l - 1] / alpha * qt[l] * qh[l - 1] for l in range(1, L + 1))
    kappa2 = sum(alphas[l - 1] / alpha * qt_st[l] * qh_st[l - 1] for l in range(1, L + 1))
    return OrderParameters(tuple(q), tuple(qh), tuple(qt), tuple(q_st), tuple(qh_st), tuple(qt_st),
                           alphas, alpha, kappa1, kappa2)


# ---------------------------------------------------------------------- output laws
#: the two output laws: ``regression`` (linear outputs, Gaussian noise of unit variance) and
#: ``softmax`` (cross-entropy over ``C`` classes; ``C = 1`` is the logistic output)
LOSSES = ("regression", "softmax")

#: draws of the Gaussian logits for the softmax expectations of the mean-field theory (see fim_statistics)
SOFTMAX_DRAWS = 1 << 16


def _check_loss(loss):
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    return loss


def output_factor(logits: np.ndarray, loss: str) -> np.ndarray:
    r"""A factor :math:`B` of the Fisher information :math:`Q = BB^T` of the output law in the logits ``u``.

    * regression: :math:`Q = I_C`, :math:`B = I_C`;
    * softmax, ``C >= 2``: :math:`Q = \mathrm{diag}(p) - pp^T`, :math:`p = \mathrm{softmax}(u)`,
      :math:`B = \mathrm{diag}(\sqrt p) - p\sqrt p^T` (so :math:`Q\mathbf 1 = 0`: rank ``C - 1``);
    * softmax, ``C = 1`` (logistic output :math:`\sigma(u)`): :math:`Q = \sigma(u)(1-\sigma(u))`.

    ``logits`` has shape ``(..., C)``; the result ``(..., C, C)``.  The FIM of ``T`` samples is
    :math:`F = \frac1T\sum_t J_t^T Q_t J_t` (Karakida, Akaho & Amari, *Pathological spectra*, 2021, Sec. 2).

    >>> import numpy as np
    >>> B = output_factor(np.array([0.0, 0.0]), "softmax")
    >>> B @ B.T
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    u = np.asarray(logits, dtype=float)
    C = u.shape[-1]
    if _check_loss(loss) == "regression":
        return np.broadcast_to(np.eye(C), u.shape + (C,)).copy()
    if C == 1:
        p = special.expit(u)
        return np.sqrt(p * (1 - p))[..., None]
    p = special.softmax(u, axis=-1)
    r = np.sqrt(p)
    return r[..., :, None] * np.eye(C) - p[..., :, None] * r[..., None, :]


def _weighted_dual(gram, factors, samples):
    r""":math:`\frac1T B^T G B` for the ``CT x CT`` Gram matrix ``G`` (rows ``(t, k)``) and ``factors`` ``B_t`` (T, C, C)."""
    T, C = factors.shape[0], factors.shape[1]
    G = gram.reshape(T, C, T, C)
    return np.einsum("tka,tksl,slb->tasb", factors, G, factors, optimize=True).reshape(T * C, T * C) / samples


def _gaussian_logits(op, classes, samples, draws, rng):
    r"""``draws`` sets of the ``T x C`` logits of one network at infinite width: independent over classes,
    :math:`\mathrm{Cov}(u_k(t), u_k(s)) = q_L\delta_{ts} + q^{st}_L(1-\delta_{ts})`."""
    L = len(op.q) - 1
    q, q_st = op.q[L], op.q_st[L]
    z = rng.standard_normal((draws, samples, classes))
    common = rng.standard_normal((draws, 1, classes))
    spread = math.sqrt(max(q - q_st, 0.0))
    mean_var = max(q - q_st + samples * q_st, 0.0)  # variance of the sample mean direction, times T
    return spread * (z - z.mean(axis=1, keepdims=True)) + math.sqrt(mean_var / samples) * common


def _sample_kernel(kappa1, kappa2, samples):
    """The ``T x T`` kernel :math:`K = (\\kappa_1-\\kappa_2)I + \\kappa_2 11^T` of the mean-field Gram matrix."""
    return (kappa1 - kappa2) * np.eye(samples) + kappa2


def mean_field_dual(op: OrderParameters, width: int, logits: np.ndarray, loss: str = "regression") -> np.ndarray:
    r"""The ``CT x CT`` dual FIM of the mean-field limit for given logits ``(T, C)``.

    At large width the Jacobian Gram matrix concentrates, :math:`JJ^T \to M\alpha\,(K\otimes I_C)` with
    :math:`K = (\kappa_1-\kappa_2)I_T + \kappa_2\mathbf 1\mathbf 1^T` (Karakida, Akaho & Amari 2019, eqs. 13, 15),
    so :math:`F^* = \frac{M\alpha}{T} B^T (K\otimes I_C) B` with the factors ``B_t`` of :func:`output_factor`.
    The logits stay random (they are O(1)): for softmax the spectrum is random even at infinite width.
    """
    logits = np.asarray(logits, dtype=float)
    T, C = logits.shape
    G = width * op.alpha * np.kron(_sample_kernel(op.kappa1, op.kappa2, T), np.eye(C))
    return _weighted_dual(G, output_factor(logits, loss), T)


def _top_eigenvalues(op, width, logits, loss, k):
    r"""The ``k`` largest eigenvalues of :func:`mean_field_dual`, by Lanczos on its structure when it is large:
    :math:`F^* = \frac{M\alpha}{T}\big((\kappa_1-\kappa_2)B^TB + \kappa_2 VV^T\big)`, ``B`` block diagonal,
    :math:`V = B^T(\mathbf 1\otimes I_C)`, applied in :math:`O(TC^2)` per product."""
    T, C = logits.shape
    if T * C <= 400 or k >= T * C - 1:
        return np.linalg.eigvalsh(mean_field_dual(op, width, logits, loss))[::-1][:k]
    B = output_factor(logits, loss)
    BtB = np.swapaxes(B, -1, -2) @ B
    scale = width * op.alpha / T
    c_diag, c_low = scale * (op.kappa1 - op.kappa2), scale * op.kappa2

    def matvec(x):
        x = x.reshape(T, C)
        return (c_diag * np.einsum("tab,tb->ta", BtB, x)
                + c_low * np.einsum("tka,k->ta", B, np.einsum("tkb,tb->k", B, x))).ravel()

    op_ = sparse_linalg.LinearOperator((T * C, T * C), matvec=matvec, dtype=float)
    values = sparse_linalg.eigsh(op_, k=k, which="LA", tol=1e-12, return_eigenvectors=False)
    return np.sort(values)[::-1]


def _mean_field_moments(op, width, logits, loss):
    r"""``m`` and ``s`` of :func:`mean_field_dual` at given logits, from the blocks :math:`Q_t = B_tB_t^T` without
    forming the ``CT x CT`` matrix: :math:`m = \kappa_1\sum_t\mathrm{tr}\,Q_t/(TM)`,
    :math:`s = \frac{\alpha}{T^2}\big((\kappa_1^2-\kappa_2^2)\sum_t\|Q_t\|_F^2 + \kappa_2^2\|\sum_t Q_t\|_F^2\big)`
    (the sum over sample pairs of :math:`K_{ts}^2\,\mathrm{tr}\,Q_tQ_s`; its mean over the logits is
    the ``s`` of :func:`fim_statistics`)."""
    B = output_factor(logits, loss)
    Q = B @ np.swapaxes(B, -1, -2)
    T, k1, k2 = Q.shape[0], op.kappa1, op.kappa2
    total = Q.sum(axis=0)
    m = k1 * np.trace(Q, axis1=-2, axis2=-1).sum() / (T * width)
    s = op.alpha / T ** 2 * ((k1 ** 2 - k2 ** 2) * np.sum(Q * Q) + k2 ** 2 * np.sum(total * total))
    return float(m), float(s)


def _n_outliers(loss, classes):
    return classes if loss == "regression" else max(classes - 1, 1)


@dataclass(frozen=True)
class FIMStatistics:
    r"""Mean-field FIM statistics for width ``M``, ``C`` outputs (classes) and ``T`` samples.

    ``m`` (mean eigenvalue), ``s`` (second moment), ``lambda_max``, ``eta_c``
    (critical learning rate with momentum ``mu``), ``outliers`` (the largest eigenvalues, as many
    as there are outliers: ``C`` for regression, ``C - 1`` for softmax, 1 for the logistic output;
    for softmax the mean over the random logits, ``lambda_max_sd`` their spread),
    ``fisher_rao`` (regression only, else ``None``:
    :math:`\langle\theta^T F\theta\rangle = \sigma_w^2 C \sum_l \tilde q_l \hat q_{l-1}`, which is
    :math:`\sigma_w^2 (L-1) C \kappa_1` for uniform widths and below the bound
    :math:`\sigma_w^2 (\alpha/\alpha_{min}) C\kappa_1` of Theorem 5 otherwise),
    ``n_params`` :math:`P = \alpha M^2` of the theory and ``integration_se``: the standard errors of the
    sampled Gaussian integrals behind the softmax values (zero for regression, which is exact).
    """

    width: int
    outputs: int
    samples: int
    mu: float
    kappa1: float
    kappa2: float
    m: float
    s: float
    lambda_max: float
    eta_c: float
    fisher_rao: float
    n_params: float
    order: OrderParameters
    loss: str = "regression"
    outliers: tuple = ()
    lambda_max_sd: float = 0.0
    integration_se: dict = None

    def as_dict(self):
        op = self.order
        return dict(loss=self.loss, width=self.width, outputs=self.outputs, samples=self.samples, mu=self.mu,
                    kappa1=self.kappa1, kappa2=self.kappa2, m=self.m, s=self.s, lambda_max=self.lambda_max,
                    lambda_max_sd=self.lambda_max_sd, outliers=list(self.outliers), eta_c=self.eta_c,
                    fisher_rao=self.fisher_rao, n_params=self.n_params, alpha=op.alpha, alphas=op.alphas,
                    integration_se=dict(self.integration_se or {}),
                    order_parameters=dict(q=op.q, qh=op.qh, qt=op.qt, q_st=op.q_st, qh_st=op.qh_st, qt_st=op.qt_st))


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _softmax_traces(op, classes, loss, draws, rng):
    r"""Means and standard errors of :math:`\mathrm{tr}\,Q(u)`, :math:`\mathrm{tr}\,Q(u)^2` and
    :math:`\mathrm{tr}\,Q(u)Q(v)` over the logits of two samples (correlation :math:`q^{st}_L/q_L`), from the
    probabilities alone (``O(C)`` per draw): with :math:`Q = \mathrm{diag}\,p - pp^T`,
    :math:`\mathrm{tr}\,Q = 1 - |p|^2`, :math:`\mathrm{tr}\,Q^2 = |p|^2 - 2\sum p^3 + |p|^4` and
    :math:`\mathrm{tr}\,Q(u)Q(v) = p\cdot q - \sum p q^2 - \sum p^2 q + (p\cdot q)^2`; for ``C = 1``,
    :math:`Q = p(1-p)`."""
    pair = _gaussian_logits(op, classes, 2, draws, rng)
    if classes == 1:
        a, b = (special.expit(pair[:, t, 0]) * (1 - special.expit(pair[:, t, 0])) for t in (0, 1))
        values = {"tr_Q": a, "tr_Q2": a * a, "tr_QQ": a * b}
    else:
        p, q = special.softmax(pair[:, 0], axis=-1), special.softmax(pair[:, 1], axis=-1)
        p2, pq = np.sum(p * p, axis=-1), np.sum(p * q, axis=-1)
        values = {"tr_Q": 1 - p2, "tr_Q2": p2 - 2 * np.sum(p ** 3, axis=-1) + p2 * p2,
                  "tr_QQ": pq - np.sum(p * q * q, axis=-1) - np.sum(p * p * q, axis=-1) + pq * pq}
    return {k: (float(v.mean()), float(v.std(ddof=1) / math.sqrt(draws))) for k, v in values.items()}


#: the largest ``C^2 T`` (entries of the factors ``B_t``) for the softmax outliers, and the largest ``CT`` of a
#: sampled dual matrix (``(CT)^2`` entries): beyond them the arrays would not fit in memory
MAX_FACTOR_ENTRIES = 5 * 10 ** 7
MAX_DUAL_SIZE = 10 ** 4


def fim_statistics(net: Network, width: int, outputs: int = 1, samples: int = 1, mu: float = 0.0,
                   alphas: Sequence[float] | None = None, qh0_st: float = 0.0, loss: str = "regression",
                   seed: int = 0, draws: int | None = None) -> FIMStatistics:
    r"""Mean, second moment and largest eigenvalues of the FIM of ``T`` samples (regression or softmax).

    Regression (Karakida, Akaho & Amari 2019, Theorems 1, 3, 4, 7):

    .. math::

        m = \frac{C\kappa_1}{M},\quad s = C\alpha\Big(\frac{T-1}{T}\kappa_2^2+\frac{\kappa_1^2}{T}\Big),\quad
        \lambda_{max} = \alpha\Big(\frac{T-1}{T}\kappa_2+\frac{\kappa_1}{T}\Big)M,\quad
        \eta_c = \frac{2(1+\mu)}{\lambda_{max}},

    with ``C`` outliers :math:`\lambda_{max}` and :math:`C(T-1)` eigenvalues :math:`\alpha(\kappa_1-\kappa_2)M/T`
    (the eigenvalues of the mean-field dual :func:`mean_field_dual`).  Softmax cross-entropy
    (Karakida, Akaho & Amari, *Pathological spectra of the Fisher information metric and its variants*,
    Neural Computation 2021, Sec. 3.2), with :math:`Q_t = \mathrm{diag}(p_t) - p_tp_t^T` at the logits
    :math:`u(t)`, Gaussian at infinite width (variance :math:`q_L`, covariance :math:`q^{st}_L` between samples):

    .. math::

        m = \frac{\kappa_1}{M} E\,\mathrm{tr}\,Q,\quad
        s = \alpha\Big(\frac{\kappa_1^2}{T} E\,\mathrm{tr}\,Q_t^2 + \frac{T-1}{T}\kappa_2^2\,E\,\mathrm{tr}\,Q_tQ_s\Big),

    and the ``C - 1`` outliers are the largest eigenvalues of
    :math:`\frac{M\alpha}{T}Q^{1/2}(K\otimes I_C)Q^{1/2}`; they are random through the logits (the
    softmax disperses them), and ``lambda_max``/``outliers`` are their means over ``draws`` logit draws
    (``lambda_max_sd`` the spread).  These Gaussian integrals have no closed form: they are sampled
    (``SOFTMAX_DRAWS`` draws, seeded by ``seed``) and their standard errors are ``integration_se``.

    Examples
    --------
    >>> from freefim import Network
    >>> st = fim_statistics(Network("linear", "gaussian", 1.0, 0.1, depth=3), width=1000, samples=100)
    >>> round(st.m * 1000, 6), round(st.lambda_max, 3)
    (1.65, 330.0)
    """
    width = _positive_int("width", width)
    C = _positive_int("outputs", outputs)
    T = _positive_int("samples", samples)
    _check_loss(loss)
    if isinstance(mu, bool) or not isinstance(mu, numbers.Real) or not 0 <= mu < 1:
        raise ValueError(f"momentum mu must be in [0, 1), got {mu!r}")
    if draws is not None:
        draws = _positive_int("draws", draws)
    op = order_parameters(net, alphas, qh0_st)
    k1, k2, a = op.kappa1, op.kappa2, op.alpha
    n_out = _n_outliers(loss, C)
    if loss == "regression":
        top, rest = a * (k1 + (T - 1) * k2) * width / T, a * (k1 - k2) * width / T
        lam = max(top, rest) if T > 1 else top
        m, s = C * k1 / width, C * a * ((T - 1) / T * k2 ** 2 + k1 ** 2 / T)
        outliers, sd, se = (lam,) * C, 0.0, {}
        fr = net.sigma_w2 * C * sum(op.qt[l] * op.qh[l - 1] for l in range(1, net.depth + 1))
    else:
        if C * C * T > MAX_FACTOR_ENTRIES:
            raise ValueError(f"softmax outliers with C = {C} classes and T = {T} samples need C^2 T = {C * C * T} "
                             f"> {MAX_FACTOR_ENTRIES} factor entries; use fewer classes or samples")
        rng = np.random.default_rng(seed)
        tr = _softmax_traces(op, C, loss, SOFTMAX_DRAWS, rng)
        m = k1 * tr["tr_Q"][0] / width
        s = a * (k1 ** 2 * tr["tr_Q2"][0] / T + (T - 1) / T * k2 ** 2 * tr["tr_QQ"][0])
        draws = draws or 400
        logits = _gaussian_logits(op, C, T, draws, rng)
        tops = np.array([_top_eigenvalues(op, width, u, loss, n_out) for u in logits])
        outliers = tuple(float(v) for v in tops.mean(axis=0))
        lam, sd = outliers[0], float(tops[:, 0].std(ddof=1))
        se = {"m": k1 * tr["tr_Q"][1] / width,
              "s": a * math.hypot(k1 ** 2 * tr["tr_Q2"][1] / T, (T - 1) / T * k2 ** 2 * tr["tr_QQ"][1]),
              "lambda_max": sd / math.sqrt(draws)}
        fr = None
    return FIMStatistics(width, C, T, float(mu), k1, k2, m, s, lam, 2 * (1 + mu) / lam, fr, a * width ** 2, op,
                         loss, outliers, sd, se)


@dataclass(frozen=True)
class NTKStatistics:
    r"""Mean-field statistics of the neural tangent kernel :math:`\Theta = JJ^T/M` of ``T`` samples.

    ``mean`` and ``second_moment`` of the ``CT`` eigenvalues of the ``CT x CT`` kernel, ``lambda_max``
    (``C``-fold), ``lambda_rest`` (the other :math:`C(T-1)` eigenvalues), and ``lambda_max_samples``: the
    largest eigenvalue of the ``T x T`` Gram matrix :math:`\sum_k J_k J_k^T / M` of the per-sample Jacobians.
    """

    outputs: int
    samples: int
    kappa1: float
    kappa2: float
    mean: float
    second_moment: float
    lambda_max: float
    lambda_rest: float
    lambda_max_samples: float
    order: OrderParameters

    def as_dict(self):
        op = self.order
        return dict(outputs=self.outputs, samples=self.samples, kappa1=self.kappa1, kappa2=self.kappa2,
                    mean=self.mean, second_moment=self.second_moment, lambda_max=self.lambda_max,
                    lambda_rest=self.lambda_rest, lambda_max_samples=self.lambda_max_samples, alpha=op.alpha,
                    alphas=op.alphas)


def ntk_statistics(net: Network, outputs: int = 1, samples: int = 1, alphas: Sequence[float] | None = None,
                   qh0_st: float = 0.0) -> NTKStatistics:
    r"""The NTK :math:`\Theta = JJ^T/M` (``CT x CT``, weights only) in the mean-field limit.

    :math:`\Theta \to \alpha (K\otimes I_C)`, :math:`K = (\kappa_1-\kappa_2)I_T+\kappa_2\mathbf 1\mathbf 1^T`
    (Karakida, Akaho & Amari, *Pathological spectra*, 2021, Sec. 5; Jacot et al. 2018), so

    .. math::

        \text{mean} = \alpha\kappa_1,\quad \text{second moment} = \alpha^2(\kappa_1^2 + (T-1)\kappa_2^2),\quad
        \lambda_{max} = \alpha(\kappa_1 + (T-1)\kappa_2)\ (C\text{-fold}),\quad
        \lambda_{rest} = \alpha(\kappa_1-\kappa_2).

    The NTK shares the FIM's outliers: the regression dual FIM is :math:`F^* = \frac{M}{T}\Theta`.
    The ``T x T`` Gram matrix summed over outputs is :math:`C\alpha K`.

    >>> from freefim import Network
    >>> nt = ntk_statistics(Network("linear", "gaussian", 1.0, 0.1, depth=3), samples=100)
    >>> round(nt.mean, 6), round(nt.lambda_max, 6)
    (3.3, 33.0)
    """
    C = _positive_int("outputs", outputs)
    T = _positive_int("samples", samples)
    op = order_parameters(net, alphas, qh0_st)
    k1, k2, a = op.kappa1, op.kappa2, op.alpha
    top, rest = a * (k1 + (T - 1) * k2), a * (k1 - k2)
    lam = max(top, rest) if T > 1 else top
    return NTKStatistics(C, T, k1, k2, a * k1, a * a * (k1 ** 2 + (T - 1) * k2 ** 2), lam, rest, C * lam, op)


# ---------------------------------------------------------------------- Monte Carlo
def _widths(net, width, outputs, alphas):
    alphas = _check_alphas(alphas, net.depth, net)
    widths = [max(1, int(round(a * width))) for a in alphas] + [outputs]
    if net.weights == "orthogonal" and any(widths[l] > widths[l - 1] for l in range(1, len(widths))):
        # sigma_w O[:rows, :cols] has variance sigma_w^2/rows, not /cols, when a layer widens
        raise ValueError(f"orthogonal weights need non-increasing widths, got {widths}")
    return widths


def jacobian_gram(activation: Activation, weights: Sequence[np.ndarray], inputs: np.ndarray,
                  biases: Sequence[np.ndarray] | None = None) -> tuple:
    r"""The ``CT x CT`` Gram matrix :math:`JJ^T` of the weight Jacobian of the logits, and the logits ``(T, C)``.

    ``weights[l-1]`` is :math:`W_l` (``M_l x M_{l-1}``), ``l = 1..L``; ``C = M_L``; rows and columns are
    ordered ``(t, k)`` (sample-major).  Backprop :math:`\delta^{l}_k = \phi'(u_l)\odot W_{l+1}^T\delta^{l+1}_k`,
    :math:`\delta^L_k = e_k`, and

    .. math::

        (JJ^T)_{(t,k),(s,k')} = \sum_{l=1}^L \big(\delta^l_k(t)\cdot\delta^l_{k'}(s)\big)
        \big(h^{l-1}(t)\cdot h^{l-1}(s)\big),

    cost :math:`O(L\,CT\,M^2)`; the ``P x P`` FIM is never formed.
    """
    L = len(weights)
    biases = biases if biases is not None else [np.zeros(W.shape[0]) for W in weights]
    T, C = inputs.shape[0], weights[-1].shape[0]
    h, dphi = [np.asarray(inputs, dtype=float)], []
    for l in range(L - 1):
        u = h[-1] @ weights[l].T + biases[l]
        dphi.append(activation.dphi(u))
        h.append(activation.phi(u))
    logits = h[-1] @ weights[-1].T + biases[-1]
    delta = np.broadcast_to(np.eye(C), (T, C, C))  # delta[t, k, :] at the output layer
    G = np.zeros((T * C, T * C))
    for l in range(L, 0, -1):
        gram = h[l - 1] @ h[l - 1].T
        d2 = delta.reshape(T * C, -1)
        G += (d2 @ d2.T) * np.kron(gram, np.ones((C, C)))
        if l > 1:
            delta = (delta @ weights[l - 1]) * dphi[l - 2][:, None, :]
    return G, logits


def dual_fim_from_weights(activation: Activation, weights: Sequence[np.ndarray], inputs: np.ndarray,
                          biases: Sequence[np.ndarray] | None = None, loss: str = "regression") -> np.ndarray:
    r"""The ``CT x CT`` dual FIM :math:`F^* = \frac1T B^T JJ^T B` of given weights (no biases in ``J``).

    ``B = diag(B_t)`` with the factors of :func:`output_factor` (``I`` for regression), so that the
    nonzero spectrum of :math:`F^*` is that of :math:`F = \frac1T\sum_t J_t^T Q_t J_t` (``P x P``, never
    formed); :func:`jacobian_gram` gives :math:`JJ^T`.
    """
    G, logits = jacobian_gram(activation, weights, inputs, biases)
    return _weighted_dual(G, output_factor(logits, loss), inputs.shape[0])


def _draw_network(net, width, outputs, samples, rng, alphas):
    """Weights, biases, ``T`` inputs and the weight count ``P`` of one sampled network."""
    widths = _widths(net, width, outputs, alphas)
    inputs = np.stack([draw_input(widths[0], net.q0, rng) for _ in range(samples)])
    weights, biases = [], []
    for l in range(1, net.depth + 1):
        weights.append(draw_weight(net.weights, net.sigma_w2, widths[l], widths[l - 1], rng))
        biases.append(rng.standard_normal(widths[l]) * math.sqrt(net.sigma_b2))
    return weights, biases, inputs, sum(widths[l] * widths[l - 1] for l in range(1, net.depth + 1))


def _sample_fim(net, width, outputs, samples, rng, alphas, loss):
    """One sampled dual FIM, its weight count and its logits ``(T, C)``."""
    weights, biases, inputs, n_params = _draw_network(net, width, outputs, samples, rng, alphas)
    G, logits = jacobian_gram(net.activation, weights, inputs, biases)
    return _weighted_dual(G, output_factor(logits, loss), samples), n_params, logits


def dual_fim(net: Network, width: int, outputs: int = 1, samples: int = 1, rng=None,
             alphas: Sequence[float] | None = None, loss: str = "regression") -> tuple:
    r"""Draw one network and ``T`` inputs; return ``(F_star, n_params)``.

    Widths :math:`M_l = \mathrm{round}(\alpha_l M)`, ``C`` outputs; weights via
    :func:`freefim.montecarlo.draw_weight`, inputs via :func:`draw_input`
    (:math:`|x|^2/M_0 = q_0`, independent directions).  ``n_params`` is the exact
    number of weights :math:`\sum_{l=1}^L M_l M_{l-1}`.
    """
    _check_loss(loss)
    return _sample_fim(net, width, outputs, samples, _rng(rng), alphas, loss)[:2]


def _summary(obj, names):
    out = {}
    for name in names:
        v = getattr(obj, name)
        out[name] = (float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan"))
    return out


@dataclass(frozen=True)
class MonteCarloStatistics:
    """Per-trial ``m``, ``s``, ``lambda_max`` of sampled networks (arrays of length ``trials``), ``top``:
    the largest eigenvalues of each trial (``trials x n``, ``n`` the number of outliers plus one), and
    ``given_logits``: the mean-field ``m``, ``s``, ``lambda_max`` at each trial's own logits."""

    width: int
    outputs: int
    samples: int
    m: np.ndarray
    s: np.ndarray
    lambda_max: np.ndarray
    loss: str = "regression"
    top: np.ndarray = None
    given_logits: dict = None

    def summary(self):
        """``{name: (mean, standard error)}`` over trials."""
        return _summary(self, ("m", "s", "lambda_max"))


def _sampling_args(width, trials, outputs, samples):
    out = (_positive_int("width", width), _positive_int("trials", trials), _positive_int("outputs", outputs),
           _positive_int("samples", samples))
    if outputs * samples > MAX_DUAL_SIZE:
        raise ValueError(f"the sampled dual matrix is CT x CT with C = {outputs}, T = {samples}: CT = "
                         f"{outputs * samples} > {MAX_DUAL_SIZE} would not fit in memory")
    return out


def sample_statistics(net: Network, width: int, outputs: int = 1, samples: int = 1, trials: int = 10,
                      seed=None, alphas: Sequence[float] | None = None, progress: bool | None = None,
                      loss: str = "regression") -> MonteCarloStatistics:
    r"""Monte Carlo of :math:`m = \mathrm{tr}F/P`, :math:`s = \mathrm{tr}F^2/P`, :math:`\lambda_{max}`.

    Each trial draws a network and ``T`` inputs (:func:`dual_fim`) and uses
    :math:`\mathrm{tr}F = \mathrm{tr}F^*`, :math:`\mathrm{tr}F^2 = \|F^*\|_F^2`,
    :math:`\lambda_{max}(F) = \lambda_{max}(F^*)`, with ``P`` the exact weight count.
    ``given_logits`` holds, per trial, the mean-field values of ``m``, ``s`` and ``lambda_max`` at that
    network's own logits (:func:`mean_field_dual`): for softmax the logits are random even at infinite width,
    so the difference to these isolates the finite-width error.
    """
    width, trials, outputs, samples = _sampling_args(width, trials, outputs, samples)
    _check_loss(loss)
    rng = _rng(seed)
    n_top = min(_n_outliers(loss, outputs) + 1, outputs * samples)
    op = order_parameters(net, alphas)
    m, s, lam, top = np.empty(trials), np.empty(trials), np.empty(trials), np.empty((trials, n_top))
    given = np.empty((3, trials))
    with blas_threads(width), Progress(trials, f"stats M={width}", enabled=progress) as bar:
        for i in range(trials):
            F, P, logits = _sample_fim(net, width, outputs, samples, rng, alphas, loss)
            m[i], s[i] = np.trace(F) / P, np.sum(F * F) / P
            top[i] = np.linalg.eigvalsh(F)[::-1][:n_top]
            lam[i] = top[i, 0]
            given[:, i] = (*_mean_field_moments(op, width, logits, loss),
                           _top_eigenvalues(op, width, logits, loss, 1)[0])
            bar.update()
    return MonteCarloStatistics(width, outputs, samples, m, s, lam, loss, top,
                                dict(zip(("m", "s", "lambda_max"), given)))


@dataclass(frozen=True)
class MonteCarloNTK:
    """Per-trial NTK statistics of sampled networks (arrays of length ``trials``), as in :class:`NTKStatistics`."""

    width: int
    outputs: int
    samples: int
    mean: np.ndarray
    second_moment: np.ndarray
    lambda_max: np.ndarray
    lambda_max_samples: np.ndarray

    def summary(self):
        """``{name: (mean, standard error)}`` over trials."""
        return _summary(self, ("mean", "second_moment", "lambda_max", "lambda_max_samples"))


def sample_ntk(net: Network, width: int, outputs: int = 1, samples: int = 1, trials: int = 10, seed=None,
               alphas: Sequence[float] | None = None, progress: bool | None = None) -> MonteCarloNTK:
    r"""Monte Carlo of the NTK :math:`\Theta = JJ^T/M` (:func:`jacobian_gram`) of sampled networks: the mean and
    second moment of its ``CT`` eigenvalues (:math:`\mathrm{tr}\,\Theta/CT`, :math:`\|\Theta\|_F^2/CT`), its
    largest eigenvalue and that of the ``T x T`` Gram matrix :math:`\sum_k J_kJ_k^T/M`."""
    width, trials, outputs, samples = _sampling_args(width, trials, outputs, samples)
    rng = _rng(seed)
    out = np.empty((4, trials))
    with blas_threads(width), Progress(trials, f"ntk M={width}", enabled=progress) as bar:
        for i in range(trials):
            weights, biases, inputs, _ = _draw_network(net, width, outputs, samples, rng, alphas)
            theta = jacobian_gram(net.activation, weights, inputs, biases)[0] / width
            per_sample = np.einsum("tksk->ts", theta.reshape(samples, outputs, samples, outputs))
            n = outputs * samples
            out[:, i] = (np.trace(theta) / n, np.sum(theta * theta) / n, np.linalg.eigvalsh(theta)[-1],
                         np.linalg.eigvalsh(per_sample)[-1])
            bar.update()
    return MonteCarloNTK(width, outputs, samples, *out)
