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

The Monte Carlo side never builds the ``P x P`` matrix: the nonzero spectrum of
``F`` is that of the ``CT x CT`` dual matrix :math:`F^* = J J^T / T` (``J``: the
``CT x P`` Jacobian of the weights), assembled layer by layer from backpropagated
signals, :math:`(JJ^T)_{(t,k),(s,k')} = \sum_l (\delta^l_k(t)\cdot\delta^l_{k'}(s))
(h^{l-1}(t)\cdot h^{l-1}(s))`.
"""
from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats

from .montecarlo import _rng, blas_threads, draw_input, draw_weight
from .progress import Progress

if TYPE_CHECKING:
    from .activations import Activation
    from .network import Network

__all__ = ["OrderParameters", "FIMStatistics", "MonteCarloStatistics", "order_parameters", "fim_statistics",
           "gauss_average", "gauss_cross_average", "cross_moment", "dual_fim", "dual_fim_from_weights", "sample_statistics"]

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


@dataclass(frozen=True)
class FIMStatistics:
    r"""Mean-field FIM statistics for width ``M``, ``C`` outputs and ``T`` samples.

    ``m`` (mean eigenvalue), ``s`` (second moment), ``lambda_max``, ``eta_c``
    (critical learning rate with momentum ``mu``), ``fisher_rao``
    (:math:`\langle\theta^T F\theta\rangle = \sigma_w^2 C \sum_l \tilde q_l \hat q_{l-1}`, which is
    :math:`\sigma_w^2 (L-1) C \kappa_1` for uniform widths and below the bound
    :math:`\sigma_w^2 (\alpha/\alpha_{min}) C\kappa_1` of Theorem 5 otherwise) and
    ``n_params`` :math:`P = \alpha M^2` of the theory.
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

    def as_dict(self):
        op = self.order
        return dict(width=self.width, outputs=self.outputs, samples=self.samples, mu=self.mu,
                    kappa1=self.kappa1, kappa2=self.kappa2, m=self.m, s=self.s, lambda_max=self.lambda_max,
                    eta_c=self.eta_c, fisher_rao=self.fisher_rao, n_params=self.n_params, alpha=op.alpha,
                    alphas=op.alphas, order_parameters=dict(q=op.q, qh=op.qh, qt=op.qt, q_st=op.q_st,
                                                            qh_st=op.qh_st, qt_st=op.qt_st))


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def fim_statistics(net: Network, width: int, outputs: int = 1, samples: int = 1, mu: float = 0.0,
                   alphas: Sequence[float] | None = None, qh0_st: float = 0.0) -> FIMStatistics:
    r"""Mean, second moment and maximum of the FIM eigenvalues (Theorems 1, 3, 4, 5, 7).

    .. math::

        m = \frac{C\kappa_1}{M},\quad s = C\alpha\Big(\frac{T-1}{T}\kappa_2^2+\frac{\kappa_1^2}{T}\Big),\quad
        \lambda_{max} = \alpha\Big(\frac{T-1}{T}\kappa_2+\frac{\kappa_1}{T}\Big)M,\quad
        \eta_c = \frac{2(1+\mu)}{\lambda_{max}}.

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
    if isinstance(mu, bool) or not isinstance(mu, numbers.Real) or not 0 <= mu < 1:
        raise ValueError(f"momentum mu must be in [0, 1), got {mu!r}")
    op = order_parameters(net, alphas, qh0_st)
    k1, k2, a = op.kappa1, op.kappa2, op.alpha
    lam = a * ((T - 1) / T * k2 + k1 / T) * width
    fr = net.sigma_w2 * C * sum(op.qt[l] * op.qh[l - 1] for l in range(1, net.depth + 1))
    return FIMStatistics(width, C, T, float(mu), k1, k2, C * k1 / width,
                         C * a * ((T - 1) / T * k2 ** 2 + k1 ** 2 / T), lam, 2 * (1 + mu) / lam, fr,
                         a * width ** 2, op)


# ---------------------------------------------------------------------- Monte Carlo
def _widths(net, width, outputs, alphas):
    alphas = _check_alphas(alphas, net.depth, net)
    widths = [max(1, int(round(a * width))) for a in alphas] + [outputs]
    if net.weights == "orthogonal" and any(widths[l] > widths[l - 1] for l in range(1, len(widths))):
        # sigma_w O[:rows, :cols] has variance sigma_w^2/rows, not /cols, when a layer widens
        raise ValueError(f"orthogonal weights need non-increasing widths, got {widths}")
    return widths


def dual_fim_from_weights(activation: Activation, weights: Sequence[np.ndarray], inputs: np.ndarray,
                          biases: Sequence[np.ndarray] | None = None) -> np.ndarray:
    r"""The ``CT x CT`` dual FIM :math:`F^* = J J^T / T` of given weights (no biases in ``J``).

    Parameters
    ----------
    activation : Activation
    weights : list of arrays
        ``weights[l-1]`` is :math:`W_l` (``M_l x M_{l-1}``), ``l = 1..L``; ``C = M_L``.
    inputs : array (T, M_0)
    biases : list of arrays, optional

    Notes
    -----
    Rows/columns are ordered ``(t, k)`` (sample-major).  Backprop
    :math:`\delta^{l}_k = \phi'(u_l)\odot W_{l+1}^T\delta^{l+1}_k`, :math:`\delta^L_k = e_k`, and

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
    delta = np.broadcast_to(np.eye(C), (T, C, C))  # delta[t, k, :] at the output layer
    K = np.zeros((T * C, T * C))
    for l in range(L, 0, -1):
        gram = h[l - 1] @ h[l - 1].T
        d2 = delta.reshape(T * C, -1)
        K += (d2 @ d2.T) * np.kron(gram, np.ones((C, C)))
        if l > 1:
            delta = (delta @ weights[l - 1]) * dphi[l - 2][:, None, :]
    return K / T


def dual_fim(net: Network, width: int, outputs: int = 1, samples: int = 1, rng=None,
             alphas: Sequence[float] | None = None) -> np.ndarray:
    r"""Draw one network and ``T`` inputs; return ``(F_star, n_params)``.

    Widths :math:`M_l = \mathrm{round}(\alpha_l M)`, ``C`` outputs; weights via
    :func:`freefim.montecarlo.draw_weight`, inputs via :func:`draw_input`
    (:math:`|x|^2/M_0 = q_0`, independent directions).  ``n_params`` is the exact
    number of weights :math:`\sum_{l=1}^L M_l M_{l-1}`.
    """
    rng = _rng(rng)
    widths = _widths(net, width, outputs, alphas)
    inputs = np.stack([draw_input(widths[0], net.q0, rng) for _ in range(samples)])
    weights, biases = [], []
    for l in range(1, net.depth + 1):
        weights.append(draw_weight(net.weights, net.sigma_w2, widths[l], widths[l - 1], rng))
        biases.append(rng.standard_normal(widths[l]) * math.sqrt(net.sigma_b2))
    n_params = sum(widths[l] * widths[l - 1] for l in range(1, net.depth + 1))
    return dual_fim_from_weights(net.activation, weights, inputs, biases), n_params


@dataclass(frozen=True)
class MonteCarloStatistics:
    """Per-trial ``m``, ``s``, ``lambda_max`` of sampled networks (arrays of length ``trials``)."""

    width: int
    outputs: int
    samples: int
    m: np.ndarray
    s: np.ndarray
    lambda_max: np.ndarray

    def summary(self):
        """``{name: (mean, standard error)}`` over trials."""
        out = {}
        for name in ("m", "s", "lambda_max"):
            v = getattr(self, name)
            out[name] = (float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan"))
        return out


def sample_statistics(net: Network, width: int, outputs: int = 1, samples: int = 1, trials: int = 10,
                      seed=None, alphas: Sequence[float] | None = None,
                      progress: bool | None = None) -> MonteCarloStatistics:
    r"""Monte Carlo of :math:`m = \mathrm{tr}F/P`, :math:`s = \mathrm{tr}F^2/P`, :math:`\lambda_{max}`.

    Each trial draws a network and ``T`` inputs (:func:`dual_fim`) and uses
    :math:`\mathrm{tr}F = \mathrm{tr}F^*`, :math:`\mathrm{tr}F^2 = \|F^*\|_F^2`,
    :math:`\lambda_{max}(F) = \lambda_{max}(F^*)`, with ``P`` the exact weight count.
    """
    width = _positive_int("width", width)
    trials = _positive_int("trials", trials)
    outputs, samples = _positive_int("outputs", outputs), _positive_int("samples", samples)
    rng = _rng(seed)
    m, s, lam = np.empty(trials), np.empty(trials), np.empty(trials)
    with blas_threads(width), Progress(trials, f"stats M={width}", enabled=progress) as bar:
        for i in range(trials):
            F, P = dual_fim(net, width, outputs, samples, rng, alphas)
            m[i], s[i] = np.trace(F) / P, np.sum(F * F) / P
            lam[i] = np.linalg.eigvalsh(F)[-1]
            bar.update()
    return MonteCarloStatistics(width, outputs, samples, m, s, lam)
