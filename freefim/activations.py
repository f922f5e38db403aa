"""Activation functions and the exact Gaussian averages the mean-field layer needs.

An :class:`Activation` knows ``phi`` and ``phi'`` and answers two averages over a
centred Gaussian pre-activation ``u = sqrt(q) Z``:

* ``second_moment(q) = E[phi(u)^2]`` (gives ``qh_l``, Karakida et al. 2019 eq. 9),
* ``derivative_law(q)``: for piecewise-linear ``phi`` whose slope is 0 or 1,
  ``phi'(u)^2`` is Bernoulli and this returns its probability ``p``; smooth
  activations return ``None`` and the law of ``phi'(u)^2`` is continuous.

Every average takes ``fn``, a namespace with ``erf``, ``sqrt``, ``exp`` and
``pi`` (the :mod:`math` module or ``mpmath.mp``), so the same formula serves
the float64 and the arbitrary-precision paths.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["Activation", "ACTIVATIONS", "get_activation"]


class Activation:
    """Base class: a named activation ``phi`` with its derivative.

    Subclasses for piecewise-linear activations override :meth:`second_moment`
    and :meth:`derivative_law` with exact formulas.
    """

    name = "activation"
    #: True when phi'(u)^2 only takes the values 0 and 1 (its law is Bernoulli).
    piecewise_linear = False

    def phi(self, u):
        raise NotImplementedError

    def dphi(self, u):
        raise NotImplementedError

    def second_moment(self, q, fn=math):
        """``E[phi(sqrt(q) Z)^2]`` for ``Z ~ N(0, 1)``."""
        raise NotImplementedError

    def derivative_law(self, q, fn=math):
        """Probability ``p = P(phi'(sqrt(q) Z)^2 = 1)``; ``None`` for smooth activations."""
        return None

    def __repr__(self):
        return f"Activation({self.name!r})"


class ReLU(Activation):
    r"""``phi(u) = max(u, 0)``: :math:`E[\phi^2] = q/2`, :math:`\phi'^2 \sim \mathrm{Bernoulli}(1/2)`."""

    name = "relu"
    piecewise_linear = True

    def phi(self, u):
        return np.maximum(u, 0.0)

    def dphi(self, u):
        return (np.asarray(u) > 0).astype(float)

    def second_moment(self, q, fn=math):
        return q / 2

    def derivative_law(self, q, fn=math):
        return fn.mpf(1) / 2 if hasattr(fn, "mpf") else 0.5


class Linear(Activation):
    r"""``phi(u) = u``: :math:`E[\phi^2] = q`, :math:`\phi'^2 = 1`."""

    name = "linear"
    piecewise_linear = True

    def phi(self, u):
        return np.asarray(u, dtype=float)

    def dphi(self, u):
        return np.ones_like(np.asarray(u, dtype=float))

    def second_moment(self, q, fn=math):
        return q

    def derivative_law(self, q, fn=math):
        return fn.mpf(1) if hasattr(fn, "mpf") else 1.0


class HardTanh(Activation):
    r"""``phi(u) = clip(u, -1, 1)``.

    With :math:`a = 1/\sqrt{q}`:
    :math:`E[\phi^2] = q(\mathrm{erf}(a/\sqrt2) - 2a\,\varphi(a)) + \mathrm{erfc}(a/\sqrt2)`
    and :math:`p = P(|u| < 1) = \mathrm{erf}(1/\sqrt{2q})` (Hayase & Karakida 2021).
    """

    name = "hardtanh"
    piecewise_linear = True

    def phi(self, u):
        return np.clip(u, -1.0, 1.0)

    def dphi(self, u):
        return (np.abs(np.asarray(u)) < 1).astype(float)

    def second_moment(self, q, fn=math):
        a = 1 / fn.sqrt(q)
        inside = fn.erf(a / fn.sqrt(2))
        gauss_pdf = fn.exp(-a * a / 2) / fn.sqrt(2 * fn.pi)
        return q * (inside - 2 * a * gauss_pdf) + (1 - inside)

    def derivative_law(self, q, fn=math):
        return fn.erf(1 / fn.sqrt(2 * q))


class Tanh(Activation):
    r"""``phi(u) = tanh(u)``: smooth, :math:`E[\phi^2]` by Gauss–Hermite quadrature (float64)
    or :func:`mpmath.quad` (mpmath).  Its :math:`\phi'^2` has a continuous law, so the
    free-probability spectrum is not available for it yet; the mean-field statistics are."""

    name = "tanh"

    def phi(self, u):
        return np.tanh(u)

    def dphi(self, u):
        return 1.0 - np.tanh(u) ** 2

    def second_moment(self, q, fn=math):
        if hasattr(fn, "mpf"):
            return fn.quad(lambda z: fn.tanh(fn.sqrt(q) * z) ** 2 * fn.npdf(z), [-fn.inf, 0, fn.inf])
        z, w = np.polynomial.hermite_e.hermegauss(200)
        return float(np.sum(w * np.tanh(math.sqrt(q) * z) ** 2) / math.sqrt(2 * math.pi))


ACTIVATIONS = {cls.name: cls() for cls in (ReLU, HardTanh, Linear, Tanh)}
_ALIASES = {"hard_tanh": "hardtanh", "hard-tanh": "hardtanh", "identity": "linear"}


def get_activation(activation):
    """Return the :class:`Activation` for a name or pass an instance through.

    Raises ``ValueError`` naming the unknown activation and the known ones.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = _ALIASES.get(activation.lower(), activation.lower())
        if key in ACTIVATIONS:
            return ACTIVATIONS[key]
    raise ValueError(
        f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)}"
    )
