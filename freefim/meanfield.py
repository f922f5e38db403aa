r"""Mean-field order parameters and the per-layer laws ``rho_l``.

Forward recursion (Karakida, Akaho & Amari 2019, eq. 9):

.. math::

    q_l = \sigma_w^2 \hat q_{l-1} + \sigma_b^2, \qquad
    \hat q_l = E[\phi(\sqrt{q_l} Z)^2], \qquad \hat q_0 = q_0,

and the law :math:`\rho_l` of :math:`\sigma_w^2 \phi'(\sqrt{q_l} Z)^2` (orthogonal
weights) or :math:`\mathrm{MP}(1) \boxtimes` that law (Gaussian weights), which
drives the free recursion of the conditional FIM (Hayase & Karakida 2021).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import mpmath
import numpy as np

from .activations import SmoothActivation, get_activation
from .laws import Bernoulli, FreeProduct, MarchenkoPastur, SmoothLaw
from .quadrature import long_double_rule

if TYPE_CHECKING:
    from .network import Network

__all__ = ["MeanField", "mean_field", "rho_law", "bernoulli_rho", "floor_correction"]


@dataclass(frozen=True)
class MeanField:
    """Order parameters of a network, indexed by layer ``l``.

    ``q[l]`` (``l = 1..L``), ``qh[l]`` (``l = 0..L-1``), ``p[l]`` and ``rho[l]``
    (``l = 1..L-1``); entries that do not exist are ``None``.  ``p[l]`` is the
    Bernoulli probability of ``phi'^2`` (``None`` for smooth activations) and
    ``chi[l] = sigma_w2 E[phi'^2]`` the gradient gain of layer ``l``.
    """

    q: tuple
    qh: tuple
    p: tuple
    chi: tuple
    rho: tuple
    #: the weight variance and law the order parameters were computed for
    sigma_w2: object = None
    weights: str = "orthogonal"


def rho_law(activation, q, sigma_w2, weights, fn=math):
    r"""Law :math:`\rho` of :math:`\sigma_w^2 \phi'(\sqrt q Z)^2`, times MP(1) for Gaussian weights:
    Bernoulli for piecewise-linear activations, a continuous :class:`~freefim.laws.SmoothLaw`
    for smooth ones.  ``fn`` is the number context (``math``, ``mpmath.mp``, or
    :data:`freefim.symbolic.SYMPY_FN` for exact sympy laws: piecewise-linear activations only)."""
    activation = get_activation(activation)
    p = activation.derivative_law(q, fn)
    if p is None:
        if getattr(fn, "symbolic", False):
            raise ValueError(f"activation {activation.name!r} has no Bernoulli derivative law: no symbolic form")
        law = _smooth_law(activation, q, sigma_w2, fn, getattr(fn, "dps", None))
        return FreeProduct(law, MarchenkoPastur(scale=1 + 0 * sigma_w2)) if weights == "gaussian" else law
    return bernoulli_rho(p, sigma_w2, weights)


@lru_cache(maxsize=64)
def _smooth_law(activation, q, scale, fn, dps):
    """One :class:`~freefim.laws.SmoothLaw` per (activation, q, scale): its rational S-transform is
    built once, and a network at a fixed point (``q_l = q*``) reuses it at every layer.  ``dps``
    (mpmath's working precision, ``None`` for floats) is part of the key: equal ``mpf`` values at
    two precisions must not share a law whose moments were computed at the lower one."""
    return SmoothLaw(activation, q, scale, fn)


def bernoulli_rho(p, sigma_w2, weights):
    r""":math:`\sigma_w^2\,\mathrm{Bernoulli}(p)`, times MP(1) for Gaussian weights (``p`` may be a
    sampled network's own fraction of active units)."""
    law = Bernoulli(p, sigma_w2)
    if weights == "gaussian":
        law = FreeProduct(law, MarchenkoPastur(scale=1 + 0 * sigma_w2))
    return law


def _check_range(net, name, value):
    """The order parameters must stay normal float64 numbers (a network whose ``q_l`` overflows or
    underflows has a spectrum float64 cannot represent)."""
    if not (math.isfinite(value) and 1e-290 < value < 1e290):
        raise ValueError(f"the mean field of {net.describe()} leaves the float64 range: {name} = {float(value):.3g}")


def mean_field(net: Network, fn=math) -> MeanField:
    """Order parameters of ``net`` computed with the namespace ``fn`` (``math`` or ``mpmath.mp``)."""
    L = net.depth
    convert = fn.mpf if hasattr(fn, "mpf") else float
    sw2, sb2 = convert(net.sigma_w2), convert(net.sigma_b2)
    q, qh, p, chi, rho = [None] * (L + 1), [None] * (L + 1), [None] * (L + 1), [None] * (L + 1), [None] * (L + 1)
    qh[0] = convert(net.q0)
    eps = float(fn.eps) if hasattr(fn, "mpf") else 2.2e-16
    for l in range(1, L + 1):
        q[l] = sw2 * qh[l - 1] + sb2
        _check_range(net, f"q_{l}", q[l])
        if l == L:
            break
        qh[l] = net.activation.second_moment(q[l], fn)
        prev = rho[l - 1]
        if prev is not None and p[l - 1] is None and abs(q[l] - q[l - 1]) <= 5 * eps * abs(q[l - 1]):
            rho[l] = prev  # at a fixed point (q_l = q* to rounding): one law, one rational S
        else:
            rho[l] = rho_law(net.activation, q[l], sw2, net.weights, fn)
        p[l] = net.activation.derivative_law(q[l], fn)
        chi[l] = rho[l].m1
    return MeanField(tuple(q), tuple(qh), tuple(p), tuple(chi), tuple(rho), sw2, net.weights)


def floor_correction(net: Network, mf: MeanField) -> float:
    r""":math:`\hat q_{L-1}` minus its float64 value ``mf.qh[L-1]`` (the floor of the spectrum, ``H = \hat q_{L-1} I +
    PSD``), from the recursion of :func:`mean_field` again in long double (``tanh``, ``sigmoid``: the rule of
    :func:`~freefim.quadrature.long_double_rule`) or in 25-digit mpmath (a closed form: ``erf``).  Next to the floor
    the density depends on :math:`x - \hat q_{L-1}`, and the float64 floor is off by about an ulp (sigmoid/orthogonal
    (4, 0.1, depth 5): 6.5e-17, 1.2 ulp below; at 1e-7 above the floor the density moves by 1.5e-9).  0.0 where this
    is not available: piecewise-linear and user activations, or a ``longdouble`` no wider than float64."""
    act, L = net.activation, net.depth
    floor = mf.qh[L - 1]
    if act.piecewise_linear or not act.exact_derivatives or L < 2:
        return 0.0
    if type(act).second_moment is not SmoothActivation.second_moment:  # a closed form: mpmath
        number, precision = mpmath.mpf, mpmath.workdps(25)

        def second_moment(q):
            return act.second_moment(q, mpmath.mp)
    else:
        width = min([1.0] + [act.strip(mf.q[l]) for l in range(1, L)])
        rule = long_double_rule(2.0 ** math.floor(math.log2(width)))  # one rule for every layer (panels <= 1)
        if rule is None:
            return 0.0
        z, weight = rule
        number, precision = np.longdouble, contextlib.nullcontext()

        def second_moment(q):
            return np.dot(weight, act.phi(np.sqrt(q) * z) ** 2)
    with precision:  # the recursion of mean_field, q_l = sigma_w^2 qh_{l-1} + sigma_b^2, qh_l = E[phi^2]
        qh = number(net.q0)
        for _ in range(1, L):
            qh = second_moment(number(net.sigma_w2) * qh + number(net.sigma_b2))
        return float(qh - number(floor))
