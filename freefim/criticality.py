r"""Criticality presets: networks on the order–chaos edge.

A layer's mean-field gain is one at the edge of chaos (Poole et al. 2016; Schoenholz et al.
2017), and :math:`q^*` is a fixed point of the length map (Karakida et al. 2019 eq. 9):

.. math::

    \chi = \sigma_w^2\, E[\phi'(\sqrt{q^*} Z)^2] = 1, \qquad
    q^* = \sigma_w^2\, \hat q^* + \sigma_b^2, \quad \hat q^* = E[\phi(\sqrt{q^*} Z)^2].

Given :math:`q^*`: :math:`\sigma_w^2 = 1/E[\phi'^2]` and :math:`\sigma_b^2 = q^* - \sigma_w^2\hat q^*`
(which must be :math:`\ge 0`).  Given :math:`\sigma_b^2`: :math:`q^*` solves
:math:`g(q) = \sigma_b^2` with :math:`g(q) = q - E[\phi^2]/E[\phi'^2]` (one root by ``brentq``).

Dynamical isometry (Pennington, Schoenholz & Ganguli 2017) further needs the law :math:`\rho`
of :math:`\sigma_w^2\phi'^2` (times MP(1) for Gaussian weights) concentrated at 1; its variance
:attr:`Critical.isometry_variance` measures the distance (for orthogonal weights it tends to 0
as :math:`q^* \to 0` for tanh and erf; for Gaussian weights it stays near 1, the MP(1) variance).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from .activations import Activation, get_activation
from .network import WEIGHT_LAWS, Network
from .network import _real as _check_real
from .progress import Progress

__all__ = ["Critical", "critical_point", "critical_network", "DepthStudy", "depth_study", "Q_STAR_RANGE"]

#: the range of q* searched when sigma_b2 is given (and scanned to report the allowed q* range).
#: Below 1e-6 the excess g(q) ~ q^3 (tanh, erf) is lost in rounding of q - E[phi^2]/E[phi'^2];
#: above 1e4 the quadrature of a smooth phi(sqrt(q) Z) needs very many panels.
Q_STAR_RANGE = (1e-6, 1e4)
_GRID = np.geomspace(*Q_STAR_RANGE, 81)  # 8 points per decade


@dataclass(frozen=True)
class Critical:
    r"""A point on the order–chaos edge and the moments of :math:`\phi'^2` there.

    ``qh_star`` :math:`= E[\phi(\sqrt{q^*}Z)^2]`, ``chi`` :math:`= \sigma_w^2 E[\phi'^2]` (1 up to
    rounding), ``dphi2_mean`` :math:`= E[\phi'^2]`, ``dphi2_second`` :math:`= E[\phi'^4]`;
    ``rho_m1``, ``rho_m2``: moments of :math:`\rho = \sigma_w^2\phi'^2` (orthogonal weights) or
    MP(1) :math:`\boxtimes\,\rho` (Gaussian weights: ``m2 -> m2 + m1**2``);
    ``isometry_variance = rho_m2 - rho_m1**2`` (0 for full dynamical isometry).
    """

    activation: str
    weights: str
    q_star: float
    sigma_w2: float
    sigma_b2: float
    qh_star: float
    chi: float
    dphi2_mean: float
    dphi2_second: float
    rho_m1: float
    rho_m2: float
    isometry_variance: float
    #: the Activation object itself (an erf with a scale or a user callable has no registered name)
    activation_object: Activation = field(default=None, repr=False, compare=False)

    def network(self, depth):
        r"""The critical :class:`~freefim.network.Network` of ``depth`` layers, started at the fixed point.

        ``q0 = qh_star``, so :math:`q_1 = \sigma_w^2 \hat q^* + \sigma_b^2 = q^*` and every layer has
        the same :math:`\rho`.
        """
        act = self.activation_object if self.activation_object is not None else self.activation
        return Network(act, self.weights, self.sigma_w2, self.sigma_b2, depth, self.qh_star)

    def as_dict(self):
        """Plain-JSON fields (the activation by name)."""
        return dict(activation=self.activation, weights=self.weights, q_star=self.q_star,
                    sigma_w2=self.sigma_w2, sigma_b2=self.sigma_b2, qh_star=self.qh_star, chi=self.chi,
                    dphi2_mean=self.dphi2_mean, dphi2_second=self.dphi2_second, rho_m1=self.rho_m1,
                    rho_m2=self.rho_m2, isometry_variance=self.isometry_variance)


def _real(name, value, *, positive):
    """A real parameter, > 0 (``positive``) or >= 0; ``ValueError`` naming it otherwise."""
    return _check_real(name, value, positive=positive, nonnegative=not positive)


def _averages(act, q):
    """(E[phi'^2], E[phi'^4], E[phi^2]) at u = sqrt(q) Z."""
    d2, d4 = act.derivative_moments(q)
    return float(d2), float(d4), float(act.second_moment(q))


def _excess(act, q):
    r""":math:`g(q) = q - E[\phi^2]/E[\phi'^2]`: the :math:`\sigma_b^2` that makes ``q`` critical."""
    d2, _, e2 = _averages(act, q)
    return q - e2 / d2


def _scan(act):
    """g on the q* grid, with values within rounding of 0 (|g| <= 1e-12 q) set to exactly 0."""
    g = np.array([_excess(act, q) for q in _GRID])
    g[np.abs(g) <= 1e-12 * _GRID] = 0.0
    return g


def _allowed(act):
    """Text describing where g(q*) >= 0 on the scanned range (the q* that are critical)."""
    lo, hi = Q_STAR_RANGE
    g = _scan(act)
    ok = g >= 0
    if not ok.any():
        return f"no q* in [{lo:g}, {hi:g}] is critical for {act.name}"
    pieces, k = [], 0
    while k < len(ok):
        if ok[k]:
            j = k
            while j + 1 < len(ok) and ok[j + 1]:
                j += 1
            a = lo if k == 0 else optimize.brentq(lambda q: _excess(act, q), _GRID[k - 1], _GRID[k])
            b = hi if j == len(ok) - 1 else optimize.brentq(lambda q: _excess(act, q), _GRID[j], _GRID[j + 1])
            if k == 0 and j == len(ok) - 1:
                pieces.append(f"all of [{lo:g}, {hi:g}]")
            elif j == len(ok) - 1:
                pieces.append(f"q* >= {a:.6g}")
            elif k == 0:
                pieces.append(f"q* <= {b:.6g}")
            else:
                pieces.append(f"{a:.6g} <= q* <= {b:.6g}")
            k = j + 1
        else:
            k += 1
    return f"critical points of {act.name} need {' or '.join(pieces)} (scanned q* in [{lo:g}, {hi:g}])"


def _solve_q_star(act, sigma_b2):
    r"""The smallest :math:`q^*` in :data:`Q_STAR_RANGE` with :math:`g(q^*) = \sigma_b^2`.

    The bracket: :math:`g` is continuous, so an upward sign change of :math:`g - \sigma_b^2`
    between neighbouring points of a geometric grid (8 per decade) over :data:`Q_STAR_RANGE`
    encloses a root; ``brentq`` refines it to full precision.  For tanh and erf :math:`g` rises
    from :math:`g \approx c q^3` at 0 to :math:`g \sim q` at infinity, so the root is unique.
    """
    lo, hi = Q_STAR_RANGE
    g = _scan(act)
    if not g.any():  # relu, linear: q - E[phi^2]/E[phi'^2] == 0 for every q
        if sigma_b2 == 0:
            raise ValueError(f"every q* > 0 is critical for {act.name} with sigma_b2 = 0 (sigma_w2 = "
                             f"{1 / _averages(act, 1.0)[0]:g}): q* is undetermined; give q_star instead")
        raise ValueError(f"no critical point of {act.name} with sigma_b2 = {sigma_b2!r}: "
                         f"{act.name} is critical only with sigma_b2 = 0")
    h = g - sigma_b2
    up = np.nonzero((h[:-1] < 0) & (h[1:] >= 0))[0]
    if up.size == 0:
        extra = ""
        if sigma_b2 == 0:
            extra = " (q* = 0 is the only fixed point; give sigma_b2 > 0 or q_star)"
        elif h[0] > 0:
            extra = f" (q* would lie below {lo:g}: sigma_b2 too small to resolve)"
        raise ValueError(f"no critical point of {act.name} with sigma_b2 = {sigma_b2!r} and q* in "
                         f"[{lo:g}, {hi:g}]{extra}")
    k = up[0]
    if h[k + 1] == 0:
        return float(_GRID[k + 1])
    return optimize.brentq(lambda q: _excess(act, q) - sigma_b2, _GRID[k], _GRID[k + 1],
                           xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=200)


def critical_point(activation, weights="orthogonal", q_star=None, sigma_b2=None):
    r"""The critical :math:`(\sigma_w^2, \sigma_b^2, q^*)` of ``activation`` and the moments of :math:`\phi'^2`.

    Give exactly one of ``q_star`` (> 0) and ``sigma_b2`` (>= 0).  With ``q_star``:
    :math:`\sigma_w^2 = 1/E[\phi'(\sqrt{q^*}Z)^2]`, :math:`\sigma_b^2 = q^* - \sigma_w^2 E[\phi^2]`
    (``ValueError`` if negative, with the allowed range of :math:`q^*`).  With ``sigma_b2``:
    :math:`q^*` solves :math:`q - E[\phi^2]/E[\phi'^2] = \sigma_b^2` (the smallest root in
    :data:`Q_STAR_RANGE`).  ReLU and linear are critical for every :math:`q^*` at
    :math:`\sigma_b^2 = 0` (:math:`\sigma_w^2 = 2`, resp. 1), so ``sigma_b2`` cannot fix their :math:`q^*`.
    Sources: Poole et al. 2016, Schoenholz et al. 2017, Pennington, Schoenholz & Ganguli 2017.

    Examples
    --------
    >>> c = critical_point("tanh", q_star=0.1)
    >>> abs(c.chi - 1) < 1e-12, round(c.sigma_w2, 6)
    (True, 1.177569)
    >>> critical_point("relu", q_star=1.0).sigma_w2
    2.0
    """
    act = get_activation(activation)
    if not isinstance(weights, str) or weights.lower() not in WEIGHT_LAWS:
        raise ValueError(f"unknown weights {weights!r}; expected one of {list(WEIGHT_LAWS)}")
    weights = weights.lower()
    if (q_star is None) == (sigma_b2 is None):
        raise ValueError("give exactly one of q_star and sigma_b2")
    if q_star is None:
        sigma_b2 = _real("sigma_b2", sigma_b2, positive=False)
        q_star = _solve_q_star(act, sigma_b2)
        given_b2 = True
    else:
        q_star = _real("q_star", q_star, positive=True)
        given_b2 = False
    d2, d4, e2 = _averages(act, q_star)
    if not (d2 > 0):
        raise ValueError(f"E[phi'^2] = {d2!r} at q_star = {q_star!r}: no sigma_w2 makes {act.name} critical")
    sigma_w2 = 1 / d2
    b2 = q_star - sigma_w2 * e2
    if not given_b2:
        if b2 < -1e-12 * q_star:
            raise ValueError(f"q_star = {q_star!r} is not critical for {act.name}: it would need sigma_b2 = "
                             f"{b2:.6g} < 0; {_allowed(act)}")
        sigma_b2 = max(b2, 0.0)
    rho_m1, rho_m2 = sigma_w2 * d2, sigma_w2 ** 2 * d4
    if weights == "gaussian":  # MP(1) [x] rho: m1 unchanged, m2 + m1^2
        rho_m2 = rho_m2 + rho_m1 ** 2
    return Critical(act.name, weights, float(q_star), float(sigma_w2), float(sigma_b2), e2, float(sigma_w2 * d2),
                    d2, d4, float(rho_m1), float(rho_m2), float(rho_m2 - rho_m1 ** 2), act)


# ---------------------------------------------------------------------- depth study
@dataclass(frozen=True)
class DepthStudy:
    r"""The conditional FIM spectrum of one critical network family versus depth.

    Per depth (arrays over :attr:`depths`): ``peak`` and ``peak_height`` (the density maximum in the
    bulk, away from a singular left edge), ``left_edge``, ``right_edge`` (the largest eigenvalue of
    the limit law), ``m1`` (exact), ``mass_near_peak`` (mass within ``band * peak`` of the peak, by
    the grid's midpoint rule, divided by the grid's total mass ``grid_mass``, which is
    reported as a check).  ``slope_peak``, ``slope_edge``: least-squares slopes of peak and right
    edge against depth (near dynamical isometry, :math:`\mathrm{Var}\,\rho\; L \ll 1`, both grow
    linearly, about :math:`\hat q^* L`: Hayase & Karakida 2021).  ``grid[k]``, ``density[k]``: the law of depth ``depths[k]`` on its grid;
    :meth:`rescaled` gives the law of ``lambda / L``.
    """

    critical: Critical
    depths: np.ndarray
    peak: np.ndarray
    peak_height: np.ndarray
    left_edge: np.ndarray
    right_edge: np.ndarray
    m1: np.ndarray
    mass_near_peak: np.ndarray
    grid_mass: np.ndarray
    band: float
    slope_peak: float
    slope_edge: float
    grid: tuple
    density: tuple

    def rescaled(self, k):
        r"""Grid and density of :math:`\lambda / L` for ``depths[k]``: ``(x / L, L f(x))``."""
        L = float(self.depths[k])
        return self.grid[k] / L, L * self.density[k]

    def as_dict(self):
        """Plain-JSON summary (no grids)."""
        keys = ("depths", "peak", "peak_height", "left_edge", "right_edge", "m1", "mass_near_peak", "grid_mass")
        out = {k: np.asarray(getattr(self, k)).tolist() for k in keys}
        out.update(self.critical.as_dict(), band=self.band, slope_peak=self.slope_peak, slope_edge=self.slope_edge)
        return out


def depth_study(activation="tanh", weights="orthogonal", q_star=0.1, depths=(2, 5, 10, 20, 50, 100),
                points=200, band=0.1, progress=None):
    r"""Peak, edges and mass near the peak of the critical network's spectrum for each depth.

    The network is :func:`critical_point` ``(activation, weights, q_star).network(L)`` (started at
    the fixed point, so every layer has the same :math:`\rho`).  Per depth: the support, the
    density on ``points`` points per support interval (:meth:`~freefim.numeric.Spectrum.midpoint_grid`:
    cosine-spaced, so both edges are resolved), the bulk peak
    (the grid maximum away from the first 2% of the support, refined on a zoomed grid) and the
    mass within ``band * peak`` of it.  Progress on a terminal (``progress=None``).
    Source: Hayase & Karakida 2021 (the peak grows linearly with depth near isometry).
    """
    from .numeric import Spectrum

    depths = np.asarray(depths)
    if depths.ndim != 1 or depths.size == 0 or not np.issubdtype(depths.dtype, np.integer) or np.any(depths < 2):
        raise ValueError(f"depths must be a non-empty list of integers >= 2, got {depths.tolist()!r}")
    if isinstance(points, bool) or not isinstance(points, numbers.Integral) or points < 16:
        raise ValueError(f"points must be an integer >= 16, got {points!r}")
    band = _real("band", band, positive=True)
    crit = critical_point(activation, weights, q_star=q_star)
    rows, grids, dens = [], [], []
    with Progress(len(depths), f"depth study {crit.activation}/{crit.weights} q*={crit.q_star:g}",
                  enabled=progress) as bar:
        for L in depths:
            spec = Spectrum(crit.network(int(L)))
            support = spec.support()
            lo, hi = support[0][0], support[-1][1]
            x, weight, f = (v.ravel() for v in spec.midpoint_grid(points))
            interior = np.flatnonzero(x > lo + 0.02 * (hi - lo))
            k = interior[int(np.argmax(f[interior]))]
            a, b = x[max(k - 1, 0)], x[min(k + 1, x.size - 1)]
            xz = np.linspace(a, b, 33)
            fz = spec.density(xz)
            j = int(np.argmax(fz))
            peak, height = float(xz[j]), float(fz[j])
            if not np.all(np.isfinite(f)):
                raise ValueError(f"the density of depth {L} is not finite on its grid")
            total = float(np.sum(weight * f))
            mass = float(np.sum((weight * f)[np.abs(x - peak) <= band * peak])) / total
            rows.append((peak, height, lo, hi, float(spec.moments.m1), mass, total))
            grids.append(x)
            dens.append(f)
            bar.update()
    peak, height, left, right, m1, mass, total = (np.array(c) for c in zip(*rows))
    fit = depths.size >= 2
    slope_peak = float(np.polyfit(depths, peak, 1)[0]) if fit else math.nan
    slope_edge = float(np.polyfit(depths, right, 1)[0]) if fit else math.nan
    return DepthStudy(crit, depths, peak, height, left, right, m1, mass, total, band, slope_peak, slope_edge,
                      tuple(grids), tuple(dens))


def critical_network(activation, weights="orthogonal", depth=3, q_star=None, sigma_b2=None, q0=None):
    """The :class:`~freefim.network.Network` of ``depth`` layers on the order–chaos edge.

    Exactly one of ``q_star`` and ``sigma_b2`` fixes the point (see :func:`critical_point`, whose
    ``ValueError`` names a bad value); ``sigma_w2``, ``sigma_b2`` and ``q0`` (the fixed point
    ``qh_star``) are set, and a given ``q0`` replaces ``qh_star``.  ``freefim --critical`` builds
    its network here.

    >>> net = critical_network("tanh", depth=5, q_star=0.1)
    >>> net.depth, round(net.sigma_w2, 6)
    (5, 1.177569)
    """
    net = critical_point(activation, weights, q_star=q_star, sigma_b2=sigma_b2).network(depth)
    return net if q0 is None else net.replace(q0=q0)
