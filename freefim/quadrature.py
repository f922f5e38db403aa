r"""Gaussian averages :math:`E[f(Z)]`, :math:`Z \sim N(0, 1)`, at float64 or mpmath precision.

The rule is composite Gauss–Legendre on panels of width ``h`` covering
:math:`[-X, X]` (or :math:`[0, X]` for an even integrand, weights doubled), with
``X`` where the Gaussian tail falls below the target accuracy.  Panel edges sit on
multiples of ``h``, so ``Z = 0`` (the kink of activations such as ``u/(1+|u|)``) is
always an edge.  On a panel of half-width ``h/2`` an ``n``-point rule has error
:math:`O(\rho^{-2n})`, :math:`\rho` the Bernstein ellipse through the nearest
singularity: with ``h`` no larger than the distance of the integrand's nearest
singularity, :math:`\rho \ge 2 + \sqrt5` and ``n = 16`` gives ~1e-20.
:class:`~freefim.laws.SmoothLaw` subtracts the poles that come closer than that.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np

__all__ = ["GaussRule", "gaussian_rule", "long_double_rule", "panel_nodes"]


@dataclass(frozen=True)
class GaussRule:
    """Nodes of the composite rule.

    ``z``: nodes; ``base``: Gauss–Legendre weights (no Gaussian factor); ``weight``:
    ``base`` times the normal density (times 2 if ``half``), so ``E[f] ~ weight @ f(z)``;
    ``edges``: panel edges; ``panel``: the panel of each node; ``npanel``: nodes per panel.
    Arrays are float64, or object arrays of ``mpf`` when built for ``dps``.
    """

    z: np.ndarray
    base: np.ndarray
    weight: np.ndarray
    edges: np.ndarray
    panel: np.ndarray
    npanel: int
    half: bool


def _design(width, digits):
    half_width = math.sqrt(2 * (digits + 1) * math.log(10)) + 0.3
    h = min(1.0, float(width))
    npan = math.ceil(half_width / h)
    n = 16 if digits <= 17 else math.ceil(0.55 * digits) + 6
    return h, npan, n


@lru_cache(maxsize=8)
def _legendre(n):
    return np.polynomial.legendre.leggauss(n)


def panel_nodes(a, b, n, half):
    """Nodes ``(len(a), n)`` and base weights (Gauss–Legendre, times 2 if ``half``) of an
    ``n``-point rule on each panel ``[a_i, b_i]`` (float64 arrays)."""
    u, wu = _legendre(n)
    a, b = np.asarray(a, dtype=float)[:, None], np.asarray(b, dtype=float)[:, None]
    return (a + b) / 2 + (b - a) / 2 * u, (b - a) / 2 * wu * (2 if half else 1)


@lru_cache(maxsize=128)
def _float_rule(width, half):
    h, npan, n = _design(width, 17)
    lo = 0 if half else -npan
    edges = h * np.arange(lo, npan + 1, dtype=float)
    z, base = (v.ravel() for v in panel_nodes(edges[:-1], edges[1:], n, half))
    weight = base * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    panel = np.repeat(np.arange(edges.size - 1), n)
    return GaussRule(z, base, weight, edges, panel, n, half)


@lru_cache(maxsize=32)
def _mp_rule(width, half, dps):
    h, npan, n = _design(width, dps + 3)
    with mpmath.workdps(dps + 10):
        u, wu = mpmath.gauss_quadrature(n, "legendre")
        hm = mpmath.mpf(h)
        lo = 0 if half else -npan
        edges = [hm * k for k in range(lo, npan + 1)]
        z, base = [], []
        for a, b in zip(edges[:-1], edges[1:]):
            for x, w in zip(u, wu):
                z.append((a + b) / 2 + (b - a) / 2 * x)
                base.append((b - a) / 2 * w * (2 if half else 1))
        weight = [w * mpmath.npdf(x) for x, w in zip(z, base)]
    obj = lambda v: np.array([+x for x in v], dtype=object)  # noqa: E731 - round to the working dps
    with mpmath.workdps(dps):
        return GaussRule(obj(z), obj(base), obj(weight), obj(edges),
                         np.repeat(np.arange(len(edges) - 1), n), n, half)


def gaussian_rule(width=1.0, half=False, dps=None):
    """The composite rule with panels of width ``min(1, width)`` (``dps``: mpmath precision)."""
    if dps is None:
        return _float_rule(float(width), bool(half))
    return _mp_rule(float(width), bool(half), int(dps))


@lru_cache(maxsize=8)
def long_double_rule(width=1.0):
    """Nodes and weights ``(z, weight)`` of the rule for ``dps = 22`` as ``numpy.longdouble`` arrays (~1e-19
    relative on x86-64: ``E[f] ~ weight @ f(z)`` to that precision where ``f`` is), or ``None`` where
    ``longdouble`` is no wider than float64."""
    ld = np.longdouble
    if np.finfo(ld).eps > 1e-18:
        return None
    rule = _mp_rule(float(width), False, 22)
    convert = lambda v: np.array([ld(mpmath.nstr(x, 25)) for x in v], dtype=ld)  # noqa: E731 - exact to ~1e-25
    return convert(rule.z), convert(rule.weight)
