r"""The depth / learning-rate experiment of Hayase & Karakida (AISTATS 2021, Section 6).

Online SGD (one fresh sample per step) of a student network on a teacher-student
regression task, written in numpy with manual backprop.  A batch of ``K``
students with the same initial weights and the same data stream is trained in
parallel, one per learning rate, so the only difference between them is ``eta``.

Scale of the loss.  Each step uses the per-sample loss

.. math::

    \ell(\theta; x) = \frac{1}{2M}\,|y(x) - f_\theta(x)|^2 ,

whose Hessian at zero residual is :math:`J^T J / M` (``J``: ``M x P`` Jacobian of
the ``M`` outputs).  Its nonzero spectrum is that of the dual matrix
:math:`H_L = J J^T / M` of SPEC section 2, i.e. exactly the law that
:class:`freefim.Spectrum` computes, without any rescaling.  A gradient step
multiplies the residual components along eigenvalue :math:`\lambda` by
:math:`1 - \eta\lambda`, so the linear stability limit is

.. math::

    \eta < \frac{2}{\lambda_{edge}}, \qquad
    \lambda_{edge} = \max(\text{upper edge of } \operatorname{supp}\mu_L,\ \text{largest atom}).

(With the unnormalised loss :math:`|y-f|^2/2` the Hessian is :math:`M H_L` and the
limit becomes :math:`2/(M\lambda_{edge})`.)  Hayase & Karakida show that
:math:`\lambda_{edge}` grows linearly in the depth ``L`` under dynamical isometry,
hence a critical learning rate :math:`\propto 1/L`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .montecarlo import _rng, draw_input, draw_weight
from .numeric import Spectrum
from .progress import Progress

__all__ = ["OnlineRun", "LRSweep", "train_online", "lr_sweep", "spectral_edge", "mean_square_lr", "DEFAULT_NETWORK"]

#: hard-tanh at dynamical isometry: orthogonal weights, sigma_w^2 = 1.01, sigma_b^2 = 1e-3 and inputs at the
#: mean-field fixed point q0 = qh* = 0.1448 (q* = 0.1472), where chi = sigma_w^2 erf(1/sqrt(2 q*)) = 1.0008
DEFAULT_NETWORK = dict(activation="hardtanh", weights="orthogonal", sigma_w2=1.01, sigma_b2=1e-3, q0=0.1448)

#: a student is frozen (blown up) once its loss exceeds this multiple of the initial loss or is not finite
DIVERGENCE_FACTOR = 1e4


def spectral_edge(net):
    r"""Largest point of the limiting law :math:`\mu_L` of :math:`H_L = JJ^T/M`: max of support and atoms."""
    spec = Spectrum(net)
    points = [hi for _, hi in spec.support()] + [a.location for a in spec.atoms if a.mass > 1e-12]
    return float(max(points))


def mean_square_lr(net):
    r"""The mean-square stability limit :math:`2 m_1 / m_2` of online SGD.

    Averaging :math:`|e|^2` over a fresh sample, :math:`e \to (1 - \eta A_x) e` with
    :math:`A_x = J_x^TJ_x/M` grows when :math:`\eta\, E[A_x^2] > 2 E[A_x]` on the error;
    for an error spread evenly over the range of :math:`A_x` this gives
    :math:`\eta_c = 2 m_1/m_2` with :math:`m_k` the moments of :math:`\mu_L`.  It equals
    ``2 / spectral_edge`` when :math:`\mu_L` concentrates at its top (dynamical isometry).
    """
    m = Spectrum(net).moments
    return 2 * float(m.m1) / float(m.m2)


def _draw_params(net, width, rng):
    weights = [draw_weight(net.weights, net.sigma_w2, width, width, rng) for _ in range(net.depth)]
    biases = [rng.standard_normal(width) * math.sqrt(net.sigma_b2) for _ in range(net.depth)]
    return weights, biases


def _forward(act, weights, biases, x):
    """Batched forward pass; ``weights[l]`` is ``(..., M, M)``, ``x`` is ``(..., M)``."""
    h, us = [x], []
    for l, (W, b) in enumerate(zip(weights, biases)):
        u = np.einsum("...ij,...j->...i", W, h[-1]) + b
        us.append(u)
        h.append(act.phi(u) if l < len(weights) - 1 else u)
    return h, us


@dataclass(frozen=True)
class OnlineRun:
    r"""Loss curves of ``K`` students, one per learning rate.

    ``loss[k, t]``: per-sample loss :math:`|y-f|^2/(2M)` on the training sample of step
    ``t`` (``nan`` once the student blew up); ``initial_loss`` and ``final_loss[k]``:
    mean loss on a fixed held-out batch before and after training (``inf`` if
    blown up).  A student *trained* when ``final_loss < initial_loss``.
    """

    lrs: np.ndarray
    loss: np.ndarray
    initial_loss: float
    final_loss: np.ndarray

    @property
    def trained(self):
        return self.final_loss < self.initial_loss


def _test_loss(act, weights, biases, x_test, y_test):
    """Mean of |y - f|^2/(2M) over the held-out batch, per student."""
    out = _forward(act, [w[:, None] for w in weights], [v[:, None] for v in biases], x_test[None])[0][-1]
    return np.mean(np.sum((out - y_test) ** 2, axis=-1), axis=-1) / (2 * x_test.shape[-1])


def _sgd_step(act, W, b, x, y, eta, blown, limit):
    r"""One online step on :math:`|y - f(x)|^2/(2M)` for ``K`` students (in place); returns their losses.

    Manual backprop: :math:`\delta_L = (f - y)/M`, :math:`\nabla_{W_l} = \delta_l h_{l-1}^T`,
    :math:`\nabla_{b_l} = \delta_l`, :math:`\delta_{l-1} = \phi'(u_{l-1}) \odot W_l^T \delta_l`.
    Students whose loss is not finite or exceeds ``limit`` are flagged in ``blown`` and left unchanged.
    """
    K, width = W[0].shape[0], x.shape[-1]
    h, us = _forward(act, W, b, np.broadcast_to(x, (K, width)))
    err = h[-1] - y
    cur = np.einsum("ki,ki->k", err, err) / (2 * width)
    blown |= ~np.isfinite(cur) | (cur > limit)
    eta = np.where(blown, 0.0, eta)
    delta = np.where(blown[:, None], 0.0, err / width)
    for l in range(len(W) - 1, -1, -1):
        grad_w = delta[:, :, None] * h[l][:, None, :]
        if l > 0:
            delta_next = np.einsum("kij,ki->kj", W[l], delta) * act.dphi(us[l - 1])
        W[l] -= eta[:, None, None] * grad_w
        b[l] -= eta[:, None] * delta
        if l > 0:
            delta = delta_next
    return cur


def train_online(net, width, lrs, steps, seed=None, init_noise=0.1, test_samples=64, progress=None):
    r"""Online SGD of students near a teacher of the same architecture, one learning rate each.

    The teacher :math:`\theta^*` is a draw from the ensemble of ``net``; the common
    student start is :math:`\theta^* + \epsilon\,\xi` with :math:`\xi` an independent
    Gaussian draw of the same variances and :math:`\epsilon` = ``init_noise``, so the
    loss Hessian at the minimum is the FIM of :math:`\theta^*` (Karakida et al. 2019,
    eq. 4) whose top eigenvalue the stability limit refers to.  Step ``t`` draws
    :math:`x_t` with :math:`|x_t|^2/M = q_0` and updates, for every student,

    .. math::

        \theta \leftarrow \theta - \eta\, \nabla_\theta \frac{|y(x_t) - f_\theta(x_t)|^2}{2M}

    (weights and biases, manual backprop).  A student whose loss exceeds
    ``DIVERGENCE_FACTOR`` times the initial loss, or is not finite, is frozen.
    """
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"learning rates must be a non-empty list of finite numbers > 0, got {lrs!r}")
    if net.widths is not None:
        raise ValueError(f"the learning-rate experiment trains networks of one width, got widths {net.widths!r}")
    for name, value in (("steps", steps), ("width", width), ("test_samples", test_samples)):
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if not (isinstance(init_noise, (int, float)) and math.isfinite(init_noise) and init_noise > 0):
        raise ValueError(f"init_noise must be a finite number > 0, got {init_noise!r}")
    rng = _rng(seed)
    act, K, L = net.activation, lrs.size, net.depth
    t_weights, t_biases = _draw_params(net, width, rng)
    n_weights, n_biases = _draw_params(net.replace(weights="gaussian"), width, rng)
    W = [np.repeat((w + init_noise * n)[None], K, axis=0) for w, n in zip(t_weights, n_weights)]
    b = [np.repeat((v + init_noise * n)[None], K, axis=0) for v, n in zip(t_biases, n_biases)]
    x_test = np.stack([draw_input(width, net.q0, rng) for _ in range(test_samples)])
    y_test = _forward(act, t_weights, t_biases, x_test)[0][-1]
    initial = float(_test_loss(act, [w[:1] for w in W], [v[:1] for v in b], x_test, y_test)[0])
    eta = lrs.copy()
    loss = np.full((K, steps), np.nan)
    blown = np.zeros(K, dtype=bool)
    with Progress(steps, f"train L={L}", enabled=progress) as bar, np.errstate(over="ignore", invalid="ignore"):
        for t in range(steps):
            x = draw_input(width, net.q0, rng)
            y = _forward(act, t_weights, t_biases, x)[0][-1]
            cur = _sgd_step(act, W, b, x, y, eta, blown, DIVERGENCE_FACTOR * initial)
            eta = np.where(blown, 0.0, eta)
            loss[~blown, t] = cur[~blown]
            bar.update()
        final = _test_loss(act, W, b, x_test, y_test)
    final = np.where(blown | ~np.isfinite(final), np.inf, final)
    return OnlineRun(lrs, loss, initial, final)


def _critical(lrs, trained):
    """Largest learning rate such that it and every smaller one trained (``nan`` if the smallest failed)."""
    order = np.argsort(lrs)
    ok = trained[order]
    n_ok = len(ok) if ok.all() else int(np.argmin(ok))
    return float(lrs[order][n_ok - 1]) if n_ok else float("nan")


@dataclass(frozen=True)
class LRSweep:
    r"""Result of :func:`lr_sweep`.

    ``mean_square_lr[i] = 2 m_1/m_2`` (see :func:`mean_square_lr`).
    ``critical_lr[i]``: largest learning rate of the grid that trained (it and every
    smaller one reduced the held-out loss) at ``depths[i]``; ``failed_lr[i]``: the
    next grid point.  ``lambda_edge[i]``: top of the limiting spectrum of :math:`H_L`
    and ``theory_lr = 2 / lambda_edge`` (same loss scale, see module docstring).
    """

    network: dict
    width: int
    steps: tuple
    seed: int | None
    depths: tuple
    lrs: np.ndarray
    initial_loss: np.ndarray
    final_loss: np.ndarray
    trained: np.ndarray
    critical_lr: np.ndarray
    failed_lr: np.ndarray
    lambda_edge: np.ndarray
    theory_lr: np.ndarray
    mean_square_lr: np.ndarray

    @property
    def ratio(self):
        """Measured critical learning rate over ``2 / lambda_edge``, per depth."""
        return self.critical_lr / self.theory_lr

    @property
    def lr_times_depth(self):
        return self.critical_lr * np.asarray(self.depths)

    @property
    def spread(self):
        """max / min of ``critical_lr * depth`` over the depths (1 = exact 1/L law)."""
        ld = self.lr_times_depth
        return float(np.nanmax(ld) / np.nanmin(ld))

    def as_dict(self):
        return dict(network=self.network, width=self.width, steps=list(self.steps), seed=self.seed,
                    depths=list(self.depths), lrs=self.lrs, initial_loss=self.initial_loss,
                    final_loss=self.final_loss, trained=self.trained, critical_lr=self.critical_lr,
                    failed_lr=self.failed_lr, lambda_edge=self.lambda_edge, theory_lr=self.theory_lr,
                    mean_square_lr=self.mean_square_lr, ratio=self.ratio, lr_times_depth=self.lr_times_depth, lr_times_depth_spread=self.spread)


def lr_sweep(net, depths, width=64, steps_per_layer=100, lrs=None, seed=0, init_noise=0.1, progress=None):
    r"""Critical learning rate of online SGD versus depth, with ``2 / lambda_edge``.

    Parameters
    ----------
    net : Network
        Architecture; its ``depth`` is replaced by each of ``depths``.
    depths : sequence of int
    width : int
        Width ``M`` of every layer (inputs and outputs included).
    steps_per_layer : int
        Online steps (one sample each) per run are ``steps_per_layer * L``: near the
        threshold an unstable mode grows by a factor :math:`\sim 1 + O(1/(LM))` per step,
        so deeper networks need proportionally longer runs to show it.
    lrs : sequence of float, optional
        Learning-rate grid (default 40 points geometric between ``0.25 min(2/lambda)``
        and ``4 max(2/lambda)`` over the depths).
    seed : int
        Depth ``L`` uses the stream ``default_rng([seed, L])``.
    init_noise : float
        Relative size of the student's offset from the teacher (see :func:`train_online`).

    Returns
    -------
    LRSweep
    """
    depths = tuple(int(d) for d in depths)
    if not depths or min(depths) < 1:
        raise ValueError(f"depths must be integers >= 1, got {depths!r}")
    if isinstance(steps_per_layer, bool) or int(steps_per_layer) != steps_per_layer or steps_per_layer < 1:
        raise ValueError(f"steps_per_layer must be an integer >= 1, got {steps_per_layer!r}")
    nets = [net.replace(depth=d) for d in depths]
    edges = np.array([spectral_edge(n) for n in nets])
    theory = 2.0 / edges
    mean_sq = np.array([mean_square_lr(n) for n in nets])
    if lrs is None:
        lrs = np.geomspace(0.25 * theory.min(), 4 * theory.max(), 40)
    lrs = np.sort(np.asarray(lrs, dtype=float))
    n_d = len(depths)
    initial, final, trained = np.empty(n_d), np.empty((n_d, lrs.size)), np.empty((n_d, lrs.size), dtype=bool)
    crit, failed = np.empty(n_d), np.empty(n_d)
    steps = tuple(int(steps_per_layer) * d for d in depths)
    with Progress(sum(steps), "lr-sweep", enabled=progress) as bar:
        for i, n in enumerate(nets):
            run = train_online(n, width, lrs, steps[i], seed=np.random.default_rng([seed, n.depth]),
                               init_noise=init_noise, progress=False)
            initial[i], final[i], trained[i] = run.initial_loss, run.final_loss, run.trained
            crit[i] = _critical(lrs, run.trained)
            above = lrs[lrs > crit[i]] if np.isfinite(crit[i]) else lrs
            failed[i] = above[0] if above.size else float("nan")
            bar.update(steps[i])
    desc = net.as_dict()
    desc.pop("depth")
    return LRSweep(desc, int(width), steps, seed, depths, lrs, initial, final, trained, crit, failed, edges, theory,
                  mean_sq)
