"""Activation functions and the Gaussian averages the mean-field layer needs.

An :class:`Activation` knows ``phi`` and ``phi'`` and answers two averages over a
centred Gaussian pre-activation ``u = sqrt(q) Z``:

* ``second_moment(q) = E[phi(u)^2]`` (gives ``qh_l``, Karakida et al. 2019 eq. 9),
* ``derivative_law(q)``: for piecewise-linear ``phi`` whose slope is 0 or 1,
  ``phi'(u)^2`` is Bernoulli and this returns its probability ``p``; smooth
  activations return ``None`` and the law of ``phi'(u)^2`` is continuous.

Every average takes ``fn``, a namespace with ``erf``, ``sqrt``, ``exp`` and
``pi`` (the :mod:`math` module or ``mpmath.mp``), so the same formula serves
the float64 and the arbitrary-precision paths.

Smooth activations (:class:`SmoothActivation`: ``tanh``, ``erf``, ``sigmoid`` and
user callables through :meth:`Activation.from_callable`) have no closed forms:
their Gaussian averages use the trapezoidal rule of :mod:`freefim.quadrature`,
and they give the first three derivatives of ``phi`` at complex points, which the
continuous law :class:`~freefim.laws.SmoothLaw` of ``phi'^2`` needs to evaluate
its transforms next to its support (Pennington, Schoenholz & Ganguli 2017 for
the dynamical-isometry setting).
"""
from __future__ import annotations

import math
from typing import Callable

import mpmath
import numpy as np
from scipy import special

from .quadrature import gaussian_rule

__all__ = ["Activation", "SmoothActivation", "Tanh", "Erf", "Sigmoid", "CallableActivation",
           "ACTIVATIONS", "get_activation"]


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

    def derivative_moments(self, q, fn=math):
        r""":math:`(E[\phi'^2], E[\phi'^4])` at :math:`u = \sqrt q Z` (both ``p`` when :math:`\phi'^2` is Bernoulli)."""
        p = self.derivative_law(q, fn)
        return p, p

    def __repr__(self):
        return f"Activation({self.name!r})"

    @staticmethod
    def from_callable(phi, dphi=None, name="custom", strip=1.0):
        """An activation from a numpy-vectorised ``phi`` (and optionally its derivative).

        See :class:`CallableActivation`.

        >>> act = Activation.from_callable(lambda u: u / (1 + abs(u)), name="softsign")
        >>> round(float(act.dphi(1.0)), 10)
        0.25
        """
        return CallableActivation(phi, dphi, name=name, strip=strip)


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


class SmoothActivation(Activation):
    r"""A smooth activation: Gaussian averages by quadrature, ``phi'^2`` has a continuous law.

    Subclasses give ``phi``, ``dphi`` (real numpy), :meth:`derivatives` (first, second
    and third derivative of ``phi`` at complex numpy points, needed only when
    ``analytic``), optionally the mpmath scalars :meth:`phi_mp` / :meth:`derivatives_mp`,
    the distance ``singularity`` from the real axis of the nearest singularity of ``phi``
    (in ``u``; ``inf`` for entire functions) and ``sup_dphi2`` = :math:`\sup_u \phi'(u)^2`.
    """

    piecewise_linear = False
    #: derivatives()/derivatives_mp() give phi', phi'', phi''' at complex points (built-ins)
    exact_derivatives = True
    #: phi' extends analytically to a strip (the law of phi'^2 is then evaluated near its support)
    analytic = True
    singularity = math.inf
    sup_dphi2 = 1.0

    def derivatives(self, u):
        """First three derivatives of ``phi`` at complex numpy ``u``."""
        raise NotImplementedError

    def phi_mp(self, u):
        """``phi(u)`` for one ``mpf`` (``None``: only the float ``phi`` exists)."""
        return None

    def derivatives_mp(self, u):
        """First three derivatives at one ``mpc`` (``None``: only float values exist)."""
        return None

    def strip(self, q):
        r"""Distance in ``Z`` from the real axis of the nearest singularity of :math:`\phi(\sqrt q Z)`
        (the panel width of the quadrature, capped at 1 there)."""
        return 0.9 * self.singularity / math.sqrt(float(q))

    def gaussian_mean(self, f, q, fn=math, f_mp=None):
        r""":math:`E[f(\sqrt q Z)]` by the composite Gauss–Legendre rule of :mod:`freefim.quadrature`.

        ``f`` is numpy-vectorised; with ``fn = mpmath.mp`` the rule runs at the working
        precision on ``f_mp`` (one ``mpf`` at a time) if given, else on the float ``f``
        (whose values then limit the accuracy to ~1e-16 relative).
        """
        if hasattr(fn, "mpf"):
            rule = gaussian_rule(self.strip(q), dps=fn.dps)
            s = fn.sqrt(q)
            if f_mp is not None:
                vals = [f_mp(s * x) for x in rule.z]
            else:
                vals = [fn.mpf(float(v)) for v in f(np.array([float(s * x) for x in rule.z]))]
            return fn.fsum(wi * vi for wi, vi in zip(rule.weight, vals))
        rule = gaussian_rule(self.strip(q))
        return float(np.dot(rule.weight, f(math.sqrt(q) * rule.z)))

    def second_moment(self, q, fn=math):
        r""":math:`E[\phi(\sqrt q Z)^2]` by quadrature."""
        def f_mp(u):
            return self.phi_mp(u) ** 2
        exact = self.phi_mp(mpmath.mpf(0)) is not None
        return self.gaussian_mean(lambda u: self.phi(u) ** 2, q, fn, f_mp if exact else None)

    def derivative_moments(self, q, fn=math):
        r""":math:`(E[\phi'^2], E[\phi'^4])` at :math:`u = \sqrt q Z`, by quadrature."""
        if hasattr(fn, "mpf") and self.derivatives_mp(mpmath.mpf(0)) is not None:
            def d2(u):
                return fn.re(self.derivatives_mp(u)[0]) ** 2
            return (self.gaussian_mean(None, q, fn, d2),
                    self.gaussian_mean(None, q, fn, lambda u: d2(u) ** 2))
        return (self.gaussian_mean(lambda u: self.dphi(u) ** 2, q, fn),
                self.gaussian_mean(lambda u: self.dphi(u) ** 4, q, fn))


class Tanh(SmoothActivation):
    r"""``phi(u) = tanh(u)``: :math:`\phi' = 1 - \tanh^2`, poles at :math:`u = \pm i\pi/2`."""

    name = "tanh"
    singularity = math.pi / 2

    def phi(self, u):
        return np.tanh(u)

    def dphi(self, u):
        with np.errstate(over="ignore"):
            return 1 / np.cosh(u) ** 2  # not 1 - tanh^2: no cancellation in the tails

    @staticmethod
    def _derivs(t, d):
        return d, -2 * t * d, d * (4 * t * t - 2 * d)

    def derivatives(self, u):
        with np.errstate(over="ignore"):
            return self._derivs(np.tanh(u), 1 / np.cosh(u) ** 2)

    def phi_mp(self, u):
        return mpmath.tanh(u)

    def derivatives_mp(self, u):
        return self._derivs(mpmath.tanh(u), mpmath.sech(u) ** 2)


class Erf(SmoothActivation):
    r"""``phi(u) = erf(a u)``; the default :math:`a = \sqrt\pi/2` gives :math:`\phi'(0) = 1`.

    :math:`\phi'(u) = \frac{2a}{\sqrt\pi} e^{-a^2u^2}` is entire, and
    :math:`E[\phi^2] = \frac{2}{\pi}\arcsin\frac{2a^2q}{1 + 2a^2q}` (Williams 1997).
    """

    def __init__(self, scale=math.sqrt(math.pi) / 2):
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) \
                or scale <= 0:
            raise ValueError(f"erf scale must be a finite number > 0, got {scale!r}")
        self.scale = float(scale)
        self.name = "erf" if self.scale == math.sqrt(math.pi) / 2 else f"erf({self.scale:g})"
        self.sup_dphi2 = 4 * self.scale ** 2 / math.pi
        # phi is entire but grows like exp(a^2 Im(u)^2): an effective strip of half-width
        # 0.75 sqrt(pi)/a keeps that growth small in the quadrature error bound
        self.singularity = 0.75 * math.sqrt(math.pi) / self.scale

    def phi(self, u):
        return special.erf(self.scale * np.asarray(u))

    def dphi(self, u):
        a = self.scale
        return 2 * a / math.sqrt(math.pi) * np.exp(-(a * np.asarray(u)) ** 2)

    @staticmethod
    def _derivs(a, u, exp, sqrt_pi):
        d = 2 * a / sqrt_pi * exp(-(a * u) ** 2)
        return d, -2 * a * a * u * d, (4 * a ** 4 * u * u - 2 * a * a) * d

    def derivatives(self, u):
        return self._derivs(self.scale, u, np.exp, math.sqrt(math.pi))

    def phi_mp(self, u):
        return mpmath.erf(mpmath.mpf(self.scale) * u)

    def derivatives_mp(self, u):
        return self._derivs(mpmath.mpf(self.scale), u, mpmath.exp, mpmath.sqrt(mpmath.pi))

    def second_moment(self, q, fn=math):
        """Closed form (Williams 1997): ``(2/pi) asin(2 a^2 q / (1 + 2 a^2 q))``."""
        a = fn.mpf(self.scale) if hasattr(fn, "mpf") else self.scale
        c = 2 * a * a * q
        return 2 / fn.pi * fn.asin(c / (1 + c))


class Sigmoid(SmoothActivation):
    r"""Logistic ``phi(u) = 1/(1 + e^{-u})``: :math:`\phi' = \phi(1-\phi)`, poles at :math:`u = \pm i\pi`."""

    name = "sigmoid"
    singularity = math.pi
    sup_dphi2 = 1 / 16

    def phi(self, u):
        return special.expit(u)

    def dphi(self, u):
        with np.errstate(over="ignore"):
            return 0.25 / np.cosh(np.asarray(u) / 2) ** 2  # = phi (1 - phi), without cancellation

    @staticmethod
    def _derivs(t, d):  # t = tanh(u/2), d = phi' = 1/(4 cosh^2(u/2)); 1 - 2 phi = -t
        return d, -t * d, d * (t * t - 2 * d)

    def derivatives(self, u):
        with np.errstate(over="ignore"):
            return self._derivs(np.tanh(u / 2), 0.25 / np.cosh(u / 2) ** 2)

    def phi_mp(self, u):
        return 1 / (1 + mpmath.exp(-u))

    def derivatives_mp(self, u):
        return self._derivs(mpmath.tanh(u / 2), mpmath.sech(u / 2) ** 2 / 4)


class CallableActivation(SmoothActivation):
    r"""A user activation ``phi`` (numpy-vectorised), with ``dphi`` given or computed.

    * If ``phi`` (or the given ``dphi``) accepts complex arrays and is analytic (its
      complex-step derivative matches central differences), ``dphi`` is the complex step
      and derivatives at complex points come from Cauchy's integral on a circle of radius
      0.25 (32 points); the law of ``phi'^2`` is then evaluated like the built-ins'.
    * Otherwise (e.g. ``u/(1+|u|)``: numpy's ``abs`` is not analytic) ``dphi`` is a
      fourth-order central difference and the law of ``phi'^2`` is replaced by its
      quadrature discretisation (see :class:`~freefim.laws.SmoothLaw`).

    Only float values of ``phi`` exist, so the mpmath path of such a network is
    accurate to ~1e-13, not to ``dps`` digits.  ``strip`` is the assumed distance of
    the nearest complex singularity of ``phi`` (it sets the quadrature step).
    """

    exact_derivatives = False

    def __init__(self, phi, dphi=None, name="custom", strip=1.0):
        if not callable(phi):
            raise ValueError(f"phi must be callable, got {phi!r}")
        if dphi is not None and not callable(dphi):
            raise ValueError(f"dphi must be callable or None, got {dphi!r}")
        strip = float(strip)
        if not strip > 0 or not math.isfinite(strip):
            raise ValueError(f"strip must be a finite number > 0, got {strip!r}")
        self._phi, self._dphi, self.name, self.singularity = phi, dphi, str(name), strip
        test = np.array([-1.7, -0.6, 0.0, 0.35, 1.1, 2.3])
        with np.errstate(all="ignore"):
            values = np.asarray(phi(test), dtype=float)
        if values.shape != test.shape or not np.all(np.isfinite(values)):
            raise ValueError(f"activation {name!r}: phi must map a numpy array to finite values of the same shape")
        self.analytic = self._is_analytic(phi if dphi is None else dphi, test)
        grid = np.linspace(-40, 40, 80001)
        self.sup_dphi2 = float(np.max(self.dphi(grid) ** 2)) * (1 + 1e-9)

    @staticmethod
    def _is_analytic(f, test):
        h = 1e-30
        try:
            with np.errstate(all="ignore"):
                cs = np.asarray(f(test + 1j * h))
        except Exception:  # noqa: BLE001 - any failure on complex input means "not analytic"
            return False
        if not np.iscomplexobj(cs) or not np.all(np.isfinite(cs)):
            return False
        step = 1e-4 * np.maximum(1, np.abs(test))
        fd = (np.asarray(f(test + step), dtype=float) - np.asarray(f(test - step), dtype=float)) / (2 * step)
        return bool(np.allclose(cs.imag / h, fd, rtol=1e-5, atol=1e-6))

    def phi(self, u):
        return self._phi(u)

    def dphi(self, u):
        u = np.asarray(u, dtype=float)
        if self._dphi is not None:
            return np.asarray(self._dphi(u), dtype=float)
        if self.analytic:
            return np.asarray(self._phi(u + 1e-30j)).imag / 1e-30
        h = 1e-3 * np.maximum(1.0, np.abs(u))
        f = self._phi
        central = (8 * (f(u + h) - f(u - h)) - (f(u + 2 * h) - f(u - 2 * h))) / (12 * h)
        # a kink at u = 0 (|u|, max(u, 0), ...): within 2h of it, a fourth-order one-sided
        # stencil pointing away from 0, so that phi' is the one-sided derivative there
        s = np.where(u < 0, -h, h)
        one_sided = (-25 * f(u) + 48 * f(u + s) - 36 * f(u + 2 * s) + 16 * f(u + 3 * s)
                     - 3 * f(u + 4 * s)) / (12 * s)
        return np.where(np.abs(u) < 2 * h, one_sided, central)

    def derivatives(self, u):
        """Cauchy's integral on a circle of radius 0.25 (32 trapezoidal points) around each ``u``."""
        if not self.analytic:
            raise ValueError(f"activation {self.name!r} is not analytic: no derivatives at complex points")
        m, rad = 32, 0.25
        u = np.asarray(u, dtype=complex)
        e = np.exp(2j * np.pi * np.arange(m) / m)
        f, first = (self._dphi, 0) if self._dphi is not None else (self._phi, 1)
        vals = np.asarray(f(u[..., None] + rad * e), dtype=complex)
        return tuple(math.factorial(k) * np.mean(vals * e ** (-k), axis=-1) / rad ** k
                     for k in range(first, first + 3))


#: the activations known by name (``get_activation(name)``, the ``--activation`` option)
ACTIVATIONS = {act.name: act for act in (ReLU(), HardTanh(), Linear(), Tanh(), Erf(), Sigmoid())}
_ALIASES = {"hard_tanh": "hardtanh", "hard-tanh": "hardtanh", "identity": "linear", "logistic": "sigmoid"}


def get_activation(activation: Activation | str | Callable) -> Activation:
    """Return the :class:`Activation` for a name, an instance or a callable.

    A callable ``phi`` becomes ``Activation.from_callable(phi)``.
    Raises ``ValueError`` naming the unknown activation and the known ones.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        key = _ALIASES.get(activation.lower(), activation.lower())
        if key in ACTIVATIONS:
            return ACTIVATIONS[key]
    elif callable(activation):
        return CallableActivation(activation, name=getattr(activation, "__name__", "custom"))
    raise ValueError(
        f"unknown activation {activation!r}; expected one of {sorted(ACTIVATIONS)} or a callable"
    )
