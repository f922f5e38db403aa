r"""Numeric layer: the limiting spectral law of the conditional FIM.

The law :math:`\mu_L` of the dual matrix :math:`H_L = JJ^T/M` obeys
(Hayase & Karakida 2021)

.. math::

    \mu_1 = \delta_{\hat q_0}, \qquad
    \mu_{l+1} = \delta_{\hat q_l} \boxplus (\mu_l \boxtimes \rho_l).

Writing :math:`z_l` for the subordination points and :math:`g_l = G_{\mu_l}(z_l)`,
one layer of the recursion reads, from the bottom up,

.. math::

    w_l = z_l g_l - 1, \quad z_{l+1} = \frac{z_l}{S_{\rho_l}(w_l)} + \hat q_l, \quad
    g_{l+1} = g_l\, S_{\rho_l}(w_l), \qquad g_1 = \frac{1}{z_1 - \hat q_0}.

So :math:`z_L = Z(t)` and :math:`G_{\mu_L}(z_L) = g_L(t)` are explicit functions of
the single unknown :math:`t = z_1`.  :func:`solve` inverts :math:`Z` by Newton's
method (derivatives carried forward through the chain), continued in
:math:`\operatorname{Im} z` from far above the real axis down to it for every
32nd point, which keeps the physical (Herglotz) branch, and along ``x`` between
those anchors (Hermite predictors, checked on the branch).  Support edges are the
real critical points of :math:`Z`.  The same chain runs on complex float64 arrays
or on object arrays of ``mpmath.mpc`` (``dps`` digits): one algorithm, two
precisions; with ``dps`` the float roots are polished, edges are the zeros of
:math:`Z'` found again in ``dps`` digits, atoms come from the ``dps``-digit chain.
"""
from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import mpmath
import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from .laws import (Bernoulli, FreeProduct, Law, MarchenkoPastur, PointMass, Shifted, SmoothLaw, _positive_mass, _symbolic,
                   free_product_atoms)
from . import doubledouble as dd
from .meanfield import floor_correction, mean_field
from .quadrature import panel_nodes

if TYPE_CHECKING:  # annotations only (the network module imports no solver)
    from .network import Network

__all__ = ["Chain", "Spectrum", "Atom", "Moments", "Peak", "AccuracyWarning"]

_ULP = 2.0 ** -52
#: ``w = z g - 1`` of a layer is carried (``w <- c w + qh g``) where forming it would cancel more than
#: three digits, ``|z g - 1| < CARRY_W |z g|`` (see :meth:`Chain._step`)
CARRY_W = 1e-3

#: absolute accuracy promised for the mass (and relative for m1) of every integral of the density
MASS_GOAL = 1e-8
#: above this certified error a quantity is refused (ValueError); between the two it comes with an
#: :class:`AccuracyWarning` stating the error (float64 resolution next to interior atoms)
MASS_REFUSE = 1e-6


#: seconds of numpy layer loops of piecewise-linear chains after which the compiled loop
#: (:mod:`freefim.kernels`) takes over; importing numba and loading its cached kernel costs ~0.6 s,
#: ten to a hundred times a whole solve at small depth (``freefim density --x 4``: 0.02 s), so a
#: process pays it only once it is worth it (the two loops agree bit for bit, so the switch does
#: not change a number)
COMPILED_AFTER = 0.3
#: chains of at least this many layers run the compiled loop at once (a numpy solve of ~300 chain
#: evaluations costs about as much as loading numba from 32 layers on)
COMPILED_DEPTH = 32
_numpy_loop_seconds = 0.0


class AccuracyWarning(UserWarning):
    """An integral of the density is accurate to less than :data:`MASS_GOAL` (the message says how much)."""


@dataclass(frozen=True)
class Atom:
    """A point mass of the limiting law."""

    location: float
    mass: float


@dataclass(frozen=True)
class Moments:
    """Exact first and second moments of the whole law (continuous part + atoms)."""

    m1: float
    m2: float

    @property
    def variance(self):
        return self.m2 - self.m1 ** 2


@dataclass(frozen=True)
class Peak:
    """Location and height of the maximum of the continuous density (height may be ``inf``)."""

    location: float
    height: float


class Chain:
    r"""The layer chain :math:`(\hat q_0; (\hat q_l, \rho_l)_{l=1}^{L-1})` of one network.

    Built from a :class:`~freefim.meanfield.MeanField`; its numbers are Python
    floats or ``mpmath.mpf`` depending on the namespace the mean field used.
    """

    def __init__(self, qh0, layers, ratios=None):
        self.qh0 = qh0
        self.layers = tuple(layers)  # (qh_l, rho_l) for l = 1 .. L-1
        #: per layer the width ratio ``c_l = n_l / n_{l+1}`` (layer-wise widths), ``None`` when all are 1:
        #: after the product the law changes dimension, :math:`c\,(\mu \boxtimes \rho) + (1 - c)\,\delta_0`
        #: (``G -> c G + (1 - c)/z``), then the shift
        self.ratios = None if ratios is None or all(c == 1 for c in ratios) else tuple(ratios)
        if self.ratios is not None and len(self.ratios) != len(self.layers):
            raise ValueError(f"{len(self.ratios)} width ratios for {len(self.layers)} layers")

    def _ratio(self, l):
        return 1 if self.ratios is None else self.ratios[l]

    @classmethod
    def from_mean_field(cls, mf, jacobian=False, widths=None):
        r"""The FIM's chain of the mean field ``mf``, or with ``jacobian`` that of the input-output
        Jacobian's :math:`JJ^T` (Pennington, Schoenholz & Ganguli 2017), the law
        :math:`\omega \boxtimes \rho_1 \boxtimes \cdots \boxtimes \rho_{L-1}` with :math:`\omega =
        \delta_{\sigma_w^2}` (orthogonal) or :math:`\sigma_w^2\,\mathrm{MP}(1)` (Gaussian weights):
        the chain :math:`(\sigma_w^2; (0, \mathrm{MP}(1)), (0, \rho_1), \ldots)` (no shifts).  ``widths``:
        see :meth:`from_layers`."""
        return cls.from_layers(mf.qh[:len(mf.q) - 1], mf.rho, mf.sigma_w2, mf.weights, widths, jacobian)

    @classmethod
    def from_layers(cls, qh, rho, sigma_w2, weights, widths=None, jacobian=False):
        r"""The chain of a network with order parameters ``qh[l]`` (``l = 0..L-1``) and layer laws ``rho[l]``
        (``l = 1..L-1``, ``rho[0]`` unused) for equal widths, or for the widths ``n_0..n_L`` (relative).

        With widths (``W_l`` is ``n_l x n_{l-1}``, see :class:`~freefim.network.Network`), the dual matrix
        :math:`H = A_L / n_L` obeys :math:`A_1 = |h_0|^2 I`, :math:`A_{l+1} = |h_l|^2 I + W_{l+1} D_l A_l D_l
        W_{l+1}^T`.  The nonzero spectrum of :math:`W D A D W^T` is that of :math:`A^{1/2} D W^T W D A^{1/2}`
        (``n_l x n_l``), whose law is :math:`\mu_l \boxtimes \rho_l'` with :math:`\rho_l'` the law of
        :math:`\sigma_w^2 \phi'^2` times that of :math:`W^T W / \sigma_w^2`: :math:`\frac{n_{l+1}}{n_l}
        \mathrm{MP}(\frac{n_l}{n_{l+1}})` (Gaussian), :math:`\delta_{n_{l+1}/n_l}` or Bernoulli(:math:`n_{l+1}/n_l`)
        (orthogonal, expanding or narrowing); then the law moves to ``n_{l+1}`` dimensions with the ratio
        :math:`c_l = n_l / n_{l+1}` and the shift is :math:`(n_l / n_L) \hat q_l`.  The Jacobian's chain starts
        at :math:`\delta_{\sigma_w^2}` in ``n_0`` dimensions with the layer of :math:`W_1` alone.
        """
        L = len(qh)
        if widths is None:
            if not jacobian:
                return cls(qh[0], [(qh[l], rho[l]) for l in range(1, L)])
            zero = 0 * qh[0]
            first = [(zero, MarchenkoPastur(scale=1 + zero))] if weights == "gaussian" else []
            return cls(sigma_w2, first + [(zero, rho[l]) for l in range(1, L)])
        n = [w / widths[-1] for w in widths]  # relative to the output width: the shifts are (n_l / n_L) qh_l
        zero = 0 * qh[0]

        def weight_law(n_in, n_out):
            if weights == "gaussian":
                return MarchenkoPastur(ratio=n_in / n_out, scale=n_out / n_in)
            if n_out == n_in:
                return None
            return PointMass(n_out / n_in) if n_out > n_in else Bernoulli(n_out / n_in)

        def layer_law(l):
            act = rho[l].first if weights == "gaussian" else rho[l]
            factor = weight_law(n[l], n[l + 1])
            return act if factor is None else FreeProduct(act, factor)

        if jacobian:
            first = weight_law(n[0], n[1])
            layers = [(zero, first if first is not None else PointMass(1 + zero))]
            layers += [(zero, layer_law(l)) for l in range(1, L)]
            return cls(sigma_w2, layers, [n[l] / n[l + 1] for l in range(L)])
        return cls(n[0] * qh[0], [(n[l] * qh[l], layer_law(l)) for l in range(1, L)],
                   [n[l] / n[l + 1] for l in range(1, L)])

    @classmethod
    def from_law(cls, law):
        r"""The chain of a law built by :mod:`freefim.laws`: a point mass :math:`\delta_c` is the chain
        ``(c; )``, a law :math:`\nu` with an S-transform is ``(1; (0, nu))``, :math:`\mu \boxplus \delta_a`
        adds ``a`` to the last shift and :math:`\mu \boxtimes \nu` (``mu`` with shifts, ``nu`` without)
        appends the layer ``(0, nu)``.  ``ValueError`` for a product of two factors with shifts."""
        if isinstance(law, PointMass):
            return cls(law.a, [])
        if isinstance(law, Shifted):
            inner = cls.from_law(law.law)
            if not inner.layers:
                return cls(inner.qh0 + law.a, [])
            qh, last = inner.layers[-1]
            return cls(inner.qh0, inner.layers[:-1] + ((qh + law.a, last),))
        if isinstance(law, FreeProduct) and (_has_shift(law.first) or _has_shift(law.second)):
            first, second = (law.first, law.second) if _has_shift(law.first) else (law.second, law.first)
            if _has_shift(second):
                raise ValueError(f"{law!r}: a free product of two shifted laws is not a chain; "
                                 "freefim solves products where at most one factor has a shift")
            inner = cls.from_law(first)
            return cls(inner.qh0, inner.layers + ((0 * inner.qh0, second),))
        if not isinstance(law, Law):
            raise ValueError(f"expected a freefim.laws.Law, got {law!r}")
        return cls(1 + 0 * law.m1, [(0 * law.m1, law)])

    @property
    def depth(self):
        return len(self.layers) + 1

    @cached_property
    def residual(self):
        """Residual ``|Z(t) - z|``, relative to the point's scale, at which a root is accepted: 1e-14
        for exact laws (at 1e-11 the density within 1e-11 of an inverse-square-root edge, where Newton
        converges linearly, was 25% off: relu/orthogonal (0.2414, 1, depth 4) lost 8e-7 of its mass);
        1e-11 with a smooth activation's law, whose transform is accurate to ~1e-12 only (1e-14 made
        tanh 10-20% slower for nothing)."""
        return 1e-11 if self._numerical else 1e-14

    @cached_property
    def _numerical(self):
        """Whether a layer's law is numerical (a smooth activation's): only then can the chain have
        :attr:`_smooth_fits` (checked first: that property imports numba)."""
        return any(law.numerical for _, law in self.layers)

    def _kernel_layers(self, name):
        """``(kernel, [(qh, law, mp), ...])``: the compiled kernel ``name`` of :mod:`freefim.kernels` and
        the layers with their Marchenko–Pastur factor split off (``law [x] MP(mp)``; ``mp = 0``: none),
        for a float64 chain when numba is installed, else ``None``.  The kernel module (and numba with
        it) is imported here, on the first such chain, not with freefim (numba doubles the import time:
        0.15 -> 0.31 s)."""
        if not self.layers or not isinstance(self.qh0, (float, int)) or self.ratios is not None:
            return None
        from . import kernels

        kernel = getattr(kernels, name)
        if kernel is None:
            return None
        rows = []
        for qh, law in self.layers:
            mp = 0.0
            if isinstance(law, FreeProduct) and isinstance(law.second, MarchenkoPastur) and law.second.ratio == 1:
                law, mp = law.first, law.second.scale
            if not all(isinstance(v, (float, int)) for v in (qh, mp)):
                return None
            rows.append((qh, law, mp))
        return kernel, rows

    @cached_property
    def _piecewise(self):
        """``(kernel, qh, p, c, mp)``: :func:`freefim.kernels.forward_piecewise` and the layers as float
        arrays, when every layer is ``c Bernoulli(p)`` or ``c Bernoulli(p) [x] MP(mp)`` in float64 and
        numba is installed, else ``None``."""
        found = self._kernel_layers("forward_piecewise")
        if found is None:
            return None
        kernel, rows = found
        if any(type(law) is not Bernoulli or not all(isinstance(v, (float, int)) for v in (law.p, law.scale))
               for _, law, _ in rows):
            return None
        cols = zip(*[(qh, law.p, law.scale, mp) for qh, law, mp in rows])
        return (kernel,) + tuple(np.ascontiguousarray(col, dtype=float) for col in cols)

    @cached_property
    def _smooth_fits(self):
        """``(kernel, qh, mp, law, inv_sup, start, zj, cn, cd, box, near_start, nzj, ncn, ncd, radius,
        ring_start, rings, angles)``: :func:`freefim.kernels.forward_rational` and the layers' rational
        S-transforms packed as arrays (``law[l]`` indexes the distinct laws, whose main fits lie end to end in
        ``zj``, ``cn``, ``cd`` and near fits in ``nzj``, ``ncn``, ``ncd``; a law without a near fit has
        ``radius`` inf), when every layer is a smooth law with a certified fit (times ``MP(mp)`` for
        Gaussian weights) in float64 and numba is installed, else ``None``.  At depth 1,000 it computes the
        tanh density 9x faster than the numpy loop."""
        found = self._kernel_layers("forward_rational")
        if found is None:
            return None
        kernel, rows = found
        laws = {}  # id -> (index, law)
        for _, law, _ in rows:
            if type(law) is not SmoothLaw or law._rational is None:
                return None
            laws.setdefault(id(law), (len(laws), law))
        distinct = [law for _, law in laws.values()]
        fits = [law._rational for law in distinct]  # (zj, fj, wj, box, certificate)
        coef = np.concatenate([law._rational_coef for law in distinct])
        no_near = (np.zeros(0, dtype=complex),) * 3 + (np.zeros(0), np.zeros(0), np.inf)
        nears = [law._near or no_near for law in distinct]  # (zj, fj, wj, rings, angles, radius, certificate)

        def packed(parts, dtype):
            return np.ascontiguousarray(np.concatenate(parts), dtype=dtype)

        def starts(parts):
            return np.cumsum([0] + [part.size for part in parts]).astype(np.int64)

        near_zj, rings = [fit[0] for fit in nears], [fit[3] for fit in nears]
        return (kernel, np.array([qh for qh, _, _ in rows], dtype=float), np.array([mp for _, _, mp in rows], dtype=float),
                np.array([laws[id(law)][0] for _, law, _ in rows], dtype=np.int64),
                np.array([1 / law._sup for law in distinct]), starts([fit[0] for fit in fits]),
                packed([fit[0] for fit in fits], complex), np.ascontiguousarray(coef[:, 0]),
                np.ascontiguousarray(coef[:, 1]), np.array([fit[3] for fit in fits], dtype=float),
                starts(near_zj), packed(near_zj, complex), packed([fit[2] * fit[1] for fit in nears], complex),
                packed([fit[2] for fit in nears], complex), np.array([fit[5] for fit in nears], dtype=float),
                starts(rings), packed(rings, float), packed([fit[4] for fit in nears], float))

    @np.errstate(all="ignore")  # poles and overflow are masked by the callers (finite checks)
    def forward(self, t, herglotz=False):
        """``Z(t)``, ``Z'(t)``, ``g_L(t)`` (and the Herglotz flag along the chain if asked)."""
        global _numpy_loop_seconds
        compiled = isinstance(t, np.ndarray) and t.dtype == complex
        if compiled and self._compiled_worth() and self._piecewise is not None:
            kernel, *layers = self._piecewise
            z, dz, g, ok = kernel(t.ravel(), float(self.qh0), *layers, herglotz)
            z, dz, g, ok = (a.reshape(t.shape) for a in (z, dz, g, ok))
            return (z, dz, g, ok) if herglotz else (z, dz, g)
        if compiled and t.size and self._numerical and self._smooth_fits is not None:
            return self._forward_compiled(t, herglotz)
        start = time.perf_counter()
        out = self._forward_loop(t, herglotz)
        if compiled:
            _numpy_loop_seconds += time.perf_counter() - start
        return out

    def _compiled_worth(self):
        """Whether a piecewise-linear chain runs its compiled loop: once :mod:`freefim.kernels` is loaded
        (by this process, for any chain), from :data:`COMPILED_DEPTH` layers on, or once the numpy loops
        have run :data:`COMPILED_AFTER` seconds.  Smooth chains always do (their laws' fits cost more
        than loading numba)."""
        return ("freefim.kernels" in sys.modules or len(self.layers) >= COMPILED_DEPTH
                or _numpy_loop_seconds >= COMPILED_AFTER)

    def _forward_compiled(self, t, herglotz):
        """:meth:`forward` by :func:`freefim.kernels.forward_rational`; a layer where a point leaves
        its fit's certified region is one :meth:`_step` by numpy (near fit, exact Newton), then the
        kernel resumes there."""
        kernel, qh, *layers = self._smooth_fits
        z = t.ravel().copy()
        g = 1 / (z - self.qh0)
        dz, dg, ok = np.ones_like(z), -g * g, np.ones(z.shape, dtype=bool)
        w, dw = self._w(z, dz, g, dg, self.qh0 * g, self.qh0 * dg)
        first = np.zeros(z.shape, dtype=np.int64)
        idx = np.arange(z.size)
        while idx.size:
            state = [a[idx] for a in (z, dz, g, dg, w, dw, ok)]
            stop = kernel(*state, first[idx], qh, *layers, herglotz)
            for a, b in zip((z, dz, g, dg, w, dw, ok), state):
                a[idx] = b
            more = stop < qh.size
            idx, stop = idx[more], stop[more]
            if idx.size:  # one layer by numpy for the points that stopped, each at its own layer
                # (one call per distinct law, the layers' laws are indexed by law[l] and mp[l]: the
                # exact Newton's cost is mostly per call)
                key = layers[1][stop] + 1j * layers[0][stop]
                for k in np.unique(key):
                    sel = key == k
                    at, l = idx[sel], stop[sel][0]
                    z[at], dz[at], g[at], dg[at], w[at], dw[at], good = self._step(
                        z[at], dz[at], g[at], dg[at], w[at], dw[at], qh[stop[sel]], self.layers[l][1])
                    ok[at] &= good
                first[idx] = stop + 1
                idx = idx[first[idx] < qh.size]
        z, dz, g, ok = (a.reshape(t.shape) for a in (z, dz, g, ok))
        return (z, dz, g, ok) if herglotz else (z, dz, g)

    @staticmethod
    def _step(z, dz, g, dg, w, dw, qh, law, c=1):
        """One layer: ``S = S_rho(w)``, ``z <- z / S + qh``, ``g <- g S``, ``w <- c w + qh g`` with the
        derivatives in ``t``; and the Herglotz flag of the state it started from.  A width ratio
        ``c != 1`` mixes in an atom at 0 before the shift: ``g <- c g + (1 - c) / (z / S)``.

        ``w`` is formed as ``z g - 1``, or carried where that cancels more than three digits
        (:data:`CARRY_W`): ``w_1 = qh_0 g_1`` and ``w_{l+1} = z_{l+1} g_{l+1} - 1 = c (z_l g_l - 1) + qh_l g_{l+1}``
        (``(z / S) (g S) = z g``), a sum of terms of one sign for ``z`` far from the law, where ``z g - 1 ~ m1 / z``
        keeps ``m1 / |z|`` of one: at depth 10,000 ``|t| ~ 4e9 qh_0``, so ``w_1 = 3e-10`` kept 6 digits and
        the density 4e-8 (relu/orthogonal (2, 0.1)); carried, ~1e-9 (carried at every layer 1e-12).  Elsewhere the formed ``w`` stays
        consistent with ``z`` and ``g`` (carried everywhere, the density 1e-15 from an atom of hard-tanh/
        orthogonal (1.01, 0.001, depth 5, q0 0.1448) was noise of 1e-3 of ``G`` instead of 0)."""
        good = (_imag(z) > 0) & (_imag(g) < 0)
        s, ds = law.s_transform(w)
        ds = ds * dw
        inv_s = 1 / s
        z_s = z * inv_s
        dz_s = (dz - z_s * ds) * inv_s
        g_s, dg_s = g * s, dg * s + g * ds
        if c != 1:
            inv_z = 1 / z_s
            g_s, dg_s = c * g_s + (1 - c) * inv_z, c * dg_s - (1 - c) * dz_s * inv_z * inv_z
            w, dw = c * w, c * dw
        z_n = z_s + qh
        w, dw = Chain._w(z_n, dz_s, g_s, dg_s, w + qh * g_s, dw + qh * dg_s)
        return z_n, dz_s, g_s, dg_s, w, dw, good

    @staticmethod
    def _w(z, dz, g, dg, w_carried, dw_carried):
        """``w = z g - 1`` and its derivative: formed, or carried where forming cancels (:data:`CARRY_W`)."""
        zg = z * g
        w = zg - 1
        if isinstance(w, np.ndarray) and w.dtype == complex:  # squares, as the compiled kernels (no hypot)
            carry = w.real * w.real + w.imag * w.imag < CARRY_W * CARRY_W * (zg.real * zg.real + zg.imag * zg.imag)
        else:
            carry = np.abs(w) < CARRY_W * np.abs(zg)
        if np.ndim(carry) == 0:  # one point (a scalar of mpmath)
            return (w_carried, dw_carried) if carry else (w, dz * g + z * dg)
        if not np.any(carry):
            return w, dz * g + z * dg
        return np.where(carry, w_carried, w), np.where(carry, dw_carried, dz * g + z * dg)

    @np.errstate(all="ignore")
    def _forward_loop(self, t, herglotz=False):
        """:meth:`forward` by numpy (or mpmath) operations on whole arrays, layer by layer."""
        z, dz = t, 0 * t + 1
        g = 1 / (t - self.qh0)
        dg = -g * g
        w, dw = self._w(t, dz, g, dg, self.qh0 * g, self.qh0 * dg)  # z_1 g_1 - 1 = qh_0 g_1
        ok = np.ones(np.shape(t), dtype=bool)
        for l, (qh, law) in enumerate(self.layers):
            z, dz, g, dg, w, dw, good = self._step(z, dz, g, dg, w, dw, qh, law, self._ratio(l))
            ok = ok & good
        return (z, dz, g, ok) if herglotz else (z, dz, g)

    @np.errstate(all="ignore")
    def forward_dd(self, t):
        """``Z(t)`` and ``g_L(t)`` as double-doubles (:mod:`freefim.doubledouble`), ``Z'(t)`` and ``g_L'(t)`` in
        float64, for complex float ``t``: the steps of :meth:`_step` (equal widths) with ``w = z g - 1`` formed
        (``w_1 = qh_0 g_1``) and the layer's ``S`` taken at the float ``w_hi`` plus ``S'(w_hi) w_lo``.  The shifts
        ``qh_l`` are taken as the float numbers they are: carried beyond float64 as well (the mean-field recursion in
        long double) they changed none of the densities next to the floor of tanh and sigmoid laws (depths 5-100)
        that :meth:`Spectrum._polish_near_floor` was measured on."""
        if self.ratios is not None:
            raise ValueError("the double-double chain takes equal widths only")
        t = np.asarray(t, dtype=complex)
        z, dz = dd.from_float(t), np.ones_like(t)
        g = dd.div(dd.from_float(np.ones_like(t)), dd.add(z, dd.from_float(-self.qh0 + 0 * t)))
        gf = dd.to_complex(g)
        dg = -gf * gf
        w = dd.mul(dd.from_float(self.qh0 + 0 * t), g)
        dw = self.qh0 * dg
        for qh, law in self.layers:
            s, s_w = law.s_transform(w[0])
            s_dd, ds = (s, s_w * w[1]), s_w * dw
            z = dd.div(z, s_dd)
            dz = (dz - dd.to_complex(z) * ds) / s
            g = dd.mul(g, s_dd)
            dg = dg * s + gf * ds
            gf = dd.to_complex(g)
            z = dd.add(z, dd.from_float(qh + 0 * t))
            w = dd.add(dd.mul(z, g), dd.from_float(-1 + 0 * t))
            dw = dz * gf + dd.to_complex(z) * dg
        return z, dz, g, dg

    def top_down(self, z, g):
        """Map a guess ``g ~ G_L(z)`` down the chain to the matching ``t = z_1``."""
        for l in reversed(range(len(self.layers))):
            qh, law = self.layers[l]
            zeta, c = z - qh, self._ratio(l)
            if c != 1:
                g = (g - (1 - c) / zeta) / c
            s, _ = law.s_transform(zeta * g - 1)
            z, g = zeta * s, g / s
        return z

    def moments(self):
        """Exact ``m1``, ``m2`` of ``mu_L`` by the free moment rules."""
        m1, m2 = self.qh0, self.qh0 * self.qh0
        for l, (qh, law) in enumerate(self.layers):
            m1, m2 = layer_moments(m1, m2, law.m1, law.m2, qh, self._ratio(l))
        return m1, m2

    def atoms(self):
        """Atoms of ``mu_L``: Belinschi's rule for ``[x]``, a shift for ``[+] delta``."""
        atoms = PointMass(self.qh0).atoms
        for l, (qh, law) in enumerate(self.layers):
            atoms = layer_atoms(atoms, law.atoms, qh, self._ratio(l))
        return atoms

    def repeats_from(self):
        """First layer index ``k`` such that ``layers[k:]`` all equal the last layer to rounding
        (``qh`` and the law's ``m1``, ``m2`` within 8 ulps): the mean field's fixed point."""
        qh, law = self.layers[-1]
        key = (float(qh), float(law.m1), float(law.m2))

        def same(layer):
            q, other = layer
            return type(other) is type(law) and all(
                abs(a - b) <= 8 * _ULP * abs(b) for a, b in zip((float(q), float(other.m1), float(other.m2)), key))

        k = len(self.layers)
        while k > 0 and same(self.layers[k - 1]):
            k -= 1
        return k

    def shortened(self, k, n):
        """The chain with ``layers[:k]`` and the last ``n`` layers (the repeated fixed-point layer)."""
        cut = lambda seq: None if seq is None else seq[:k] + seq[len(seq) - n:]  # noqa: E731
        return Chain(self.qh0, cut(self.layers), cut(self.ratios))

    def upper_bound(self):
        """A crude bound of the support: ``b_{l+1} = qh_l + b_l sup(rho_l)``."""
        b = self.qh0
        for qh, law in self.layers:
            b = qh + b * law.upper
        return b


def layer_moments(m1, m2, r1, r2, qh, c=1):
    r"""``(m1, m2)`` of :math:`\delta_{qh} \boxplus (c\,(\mu \boxtimes \rho) + (1 - c)\,\delta_0)` from those of
    :math:`\mu` and :math:`\rho` (free moment rules; any number type)."""
    n1 = m1 * r1
    n2 = m2 * r1 ** 2 + m1 * m1 * r2 - n1 * n1
    if c != 1:
        n1, n2 = c * n1, c * n2
    return qh + n1, n2 + 2 * qh * n1 + qh * qh


def layer_atoms(atoms, law_atoms, qh, c=1, values=None):
    """Atoms of the same law: Belinschi's rule for the product, then the width ratio ``c`` (an atom at 0
    of mass ``c mu{0} + 1 - c``: the rank of a rectangular product), then the shift ``qh``."""
    atoms = free_product_atoms(atoms, law_atoms, values)
    if c != 1:
        zero = c * sum(m for a, m in atoms if a == 0) + (1 - c)
        atoms = tuple((a, c * m) for a, m in atoms if a != 0)
        if _positive_mass(zero, values) if _symbolic(zero) else zero > 1e-14:  # (rounding: no atom below 1e-14)
            atoms = ((0 * qh, zero),) + atoms
    return tuple((qh + a, m) for a, m in atoms)


def _has_shift(law):
    if isinstance(law, Shifted):
        return True
    return isinstance(law, FreeProduct) and (_has_shift(law.first) or _has_shift(law.second))


def fixed_point_length(chain, digits=16, tol=1e-9, first=2):
    r"""``(k, n)`` such that the law of ``chain.shortened(k, n)`` equals that of ``chain`` to
    ``digits`` digits, or ``None`` when the chain cannot be shortened.

    In the ordered phase (:math:`\chi = \sigma_w^2 E\phi'^2 < 1`) the mean field reaches its fixed
    point at some layer ``k`` and every later layer applies the same map
    :math:`T(\mu) = \delta_{\hat q^*} \boxplus (\mu \boxtimes \rho^*)`, which converges
    geometrically to its fixed law (the moments at rate :math:`\chi`).  Deep chains are then
    numerically useless as well as slow: ``t = z_1`` grows like :math:`\chi^{-L}` and overflows
    float64 near depth 500 for ReLU at :math:`\sigma_w^2 = 1/2`.  The rate is measured, not
    assumed: ``n*`` is the first power of two (from ``first``) such that ``n*/2`` and ``n*`` more
    layers give the same ``G`` to ``tol`` at 64 points of the spectrum's range at heights
    1e-2 and 1e-3 of its scale (``tol`` above the solver's own noise there, ~2e-11); then
    ``n = n* max(4, digits / 11)`` more layers leave a difference of about
    ``tol^(2 max(4, digits / 11))`` (geometric convergence: the difference at ``n*`` bounds
    :math:`r^{n^*/2}`), and the atoms and exact moments must agree too (else ``n*`` doubles on).  ``n*``
    starts at 2: a fast rate needs few layers, and more overflow (relu/orthogonal (0.003285, 0.003285,
    depth 170, q0 0.003285), chi = 0.0016: ``t`` reaches 1e192 with the 64 layers that ``n* = 16`` gave, and no
    point could be solved; 8 layers now).
    """
    if not chain.layers or float(chain.layers[-1][1].m1) >= 1 or chain.ratios is not None:
        return None
    k = chain.repeats_from()
    factor = max(4, math.ceil(digits / 11))
    repeated = len(chain.layers) - k
    if repeated < 2 * first * factor:
        return None
    lo = float(chain.layers[-1][0])
    exact, atoms = np.array(chain.moments(), dtype=float), sorted(chain.atoms())
    n = first
    while n * factor <= repeated // 2:
        short, longer = chain.shortened(k, n // 2), chain.shortened(k, n)
        hi = float(longer.upper_bound())
        x = np.linspace(lo, lo + 1.05 * (hi - lo), 64)
        _, scale, _ = _scales(longer, x)
        same = True
        for eta in (1e-2 * scale, 1e-3 * scale):
            roots = [solve(c, x, eta) for c in (short, longer)]
            if any(np.any(z != x + 1j * eta) for _, z in roots):
                return None  # not resolved: no shortening certified
            g = [c.forward(t)[2] for c, (t, _) in zip((short, longer), roots)]
            same &= bool(np.all(np.abs(g[0] - g[1]) <= tol * np.abs(g[1])))
        if same:
            # the atoms and exact moments must agree too, else n* doubles on (hard-tanh/Gaussian (0.5, 0.1, depth
            # 1,000): G agrees at n* = 2, the moments of those 8 layers are 3e-14 off; 16 layers are exact)
            result = chain.shortened(k, n * factor)
            cut, atoms_cut = np.array(result.moments(), dtype=float), sorted(result.atoms())
            if np.allclose(exact, cut, rtol=1e-14, atol=0) and len(atoms) == len(atoms_cut) and \
                    all(abs(a - b) <= 1e-14 * abs(a) and abs(m - w) <= 1e-14
                        for (a, m), (b, w) in zip(atoms, atoms_cut)):
                return k, n * factor
        n *= 2
    return None


def _as_points(values, name, complex_ok=False, finite=True):
    """The evaluation points as a float (or complex) array, validated at the boundary: numbers only
    (no strings, no bools), all finite.  ``name`` is the method, for the message."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):  # ragged sequences
        raise ValueError(f"{name} needs an array of numbers, got {values!r}") from None
    kinds = "iufc" if complex_ok else "iuf"
    if arr.dtype.kind not in kinds:
        what = "real or complex numbers" if complex_ok else "real numbers"
        raise ValueError(f"{name} needs {what}, got {values!r} (dtype {arr.dtype})")
    arr = arr.astype(complex if complex_ok else float)
    if np.any(np.isnan(arr)) or (finite and not np.all(np.isfinite(arr))):
        raise ValueError(f"{name} needs finite {'z' if complex_ok else 'x'}, got {arr[~np.isfinite(arr)].ravel()[0]!r}")
    return arr


def _continuous_density(g, atom_part=0.0):
    r"""The continuous density :math:`-\operatorname{Im}(g - a)/\pi` from ``g = G(x + i0)`` and the
    atoms' part ``a`` of it, 0 where ``-Im g`` is below the rounding of the chain, ``1e-12 |g|``.
    In a gap the root ``t`` is real up to rounding and ``Im g`` is noise (1e-30 to 1e-22 next to
    ``|g| ~ 1`` for hard-tanh/orthogonal (1, 0, depth 7)); a true density is below that floor only
    within ``1e-24`` of the width from a square-root edge, where float64 does not resolve it."""
    dens = -np.imag(g - atom_part) / np.pi
    return np.where(dens > 1e-12 / np.pi * np.abs(g), dens, 0.0)


def _known_edges(edges):
    """``(x_edge, t_edge)`` arrays of the edges ``(x, t)`` whose root ``t`` is known (not ``nan``)."""
    x = np.array([e for e, t in edges if math.isfinite(t)], dtype=float)
    return x, np.array([t for e, t in edges if math.isfinite(t)], dtype=complex)


def _atom_list(pairs, number):
    """:class:`Atom` tuple from ``(location, mass)`` pairs converted by ``number``, sorted, those at one location
    (distinct in exact arithmetic, equal at this precision: hard-tanh/orthogonal (0.01, 0.0154, depth 154) had two
    at one float, of masses 3.5e-10 and 1 - 3.5e-10) as one, and none lighter than 1e-14."""
    merged = {}
    for a, m in pairs:
        a, m = number(a), number(m)
        merged[a] = merged.get(a, 0) + m
    return tuple(Atom(a, m) for a, m in sorted(merged.items()) if m > 1e-14)


def _split_at_atoms(support, atoms):
    """The support intervals cut at the atoms inside them (an atom is an edge of the density too:
    inverse-square-root spikes on either side), as ``(lo, hi)`` pieces in order."""
    pieces = []
    for a, b in support:
        cuts = [a] + sorted(t.location for t in atoms if a < t.location < b) + [b]
        pieces += [(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:]) if hi > lo]
    return pieces


def _geometric_cuts(a, b, ratio):
    """``[a, b]`` cut at ``a ratio^k`` into pieces each spanning at most ``ratio`` (``a > 0``), as ``(lo, hi)``."""
    if not (a > 0 and b > ratio * a):
        return [(a, b)]
    cuts = a * ratio ** np.arange(1, math.ceil(math.log(b / a, ratio)))
    cuts = np.r_[a, cuts[cuts < b], b]
    return list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))


def _cosine_points(lo, hi, n):
    """``n`` Chebyshev points of ``[lo, hi]`` (denser towards both ends), ascending."""
    return lo + (hi - lo) * (1 - np.cos(np.pi * (np.arange(n) + 0.5) / n)) / 2


def _merged(grid, t, dens, x, tx, dx):
    """The grid with its roots and density joined by the points ``x`` and theirs, sorted by position."""
    order = np.argsort(np.concatenate([grid, x]), kind="stable")
    return (np.concatenate([grid, x])[order], np.concatenate([t, tx])[order],
            np.concatenate([dens, dx])[order])


def _like_input(result, points):
    """numpy's convention: a scalar in, a scalar out."""
    return result[()] if np.ndim(points) == 0 else result


def _imag(a):
    if isinstance(a, np.ndarray) and a.dtype == object:
        return np.array([mpmath.im(v) for v in a.ravel()], dtype=float).reshape(a.shape)
    return np.imag(a)


def _newton(chain, t, z, tol, maxiter, res_tol=0.0, info=False, res_max=np.inf):
    """Newton for ``Z(t) = z`` (vectorised); returns ``t`` and a converged mask.

    Converged: the step is below ``tol`` relative, or stalls below ``sqrt(tol)``, or the
    residual ``|Z(t) - z|`` is at most ``res_tol`` (rounding level near removable
    singularities of the chain, where steps stay noisy).  A small step with a residual above
    ``res_max`` is not convergence: the chain cannot resolve ``t`` (``|Z'| |t|`` beyond
    ``|z| / eps``, e.g. a deep ordered chain that was not shortened).  With ``info=True`` (float64
    only) also returns ``Z'`` and the Herglotz flag of the chain at the last evaluation,
    which the continuation reuses instead of evaluating the chain again.
    """
    if info:
        dz_last = np.zeros(t.shape, dtype=complex)
        physical = np.ones(t.shape, dtype=bool)
    done = np.zeros(t.shape, dtype=bool)
    active = np.arange(t.size)
    previous = np.full(t.shape, np.inf)
    # a step that no longer halves once below sqrt(tol) is rounding noise: the root is found
    stall = math.sqrt(float(tol))
    best_t, best_res = t.copy(), np.full(t.shape, np.inf)
    res_tol = np.broadcast_to(res_tol, t.shape)
    res_max = np.broadcast_to(res_max, t.shape)
    for _ in range(maxiter):
        if info:
            zt, dz, _, ok = chain.forward(t[active], herglotz=True)
            dz_last[active] = dz
            if ok is not None:
                physical[active] = ok
        else:
            zt, dz, _ = chain.forward(t[active])
        res = np.abs(zt - z[active]).astype(float)
        better = res < best_res[active]
        best_t[active[better]], best_res[active[better]] = t[active[better]], res[better]
        with np.errstate(all="ignore"):  # a pole (dz 0 or nan) is a step that is not finite: ``bad`` below
            step = (zt - z[active]) / dz
            t[active] = t[active] - step
            size, scale = np.abs(step), np.abs(t[active])
        small = (size <= tol * scale) | ((size <= stall * scale) & (size >= 0.5 * previous[active]))
        small &= res <= res_max[active]
        small |= res <= res_tol[active]
        previous[active] = size
        bad = ~np.isfinite(step.astype(complex)) if step.dtype == object else ~np.isfinite(step)
        done[active[small]] = True
        active = active[~small & ~bad]
        if active.size == 0:
            break
    # an unconverged point returns its best iterate (rounding noise can make Newton wander)
    t[~done] = best_t[~done]
    if info:
        return t, done, dz_last, physical
    return t, done


def _scales(chain, x, scale=None, local_scale=None):
    """The spectrum's scale ``|m1| + sd`` and each point's resolution scale ``loc <= scale``
    (``local_scale``, by default ``max(min(|x|, 1e3 (|x - qh_{L-1}| + sd)), min(1e-3 qh_{L-1}, sd))``): a law
    spanning decades has ``|x| << scale`` at its left end; the spectrum lies above ``qh_{L-1} > 0``; a law narrow
    next to its floor (``sd < 1e-3 |x|``) is resolved on its own spread (relu/Gaussian (1, 1, depth 2, q0 1e-6):
    2.9e-6 wide at 0.5; on the scale ``|x|`` the solver stopped 5e-11 above the axis, 2e-5 of the width, and the
    left edge came out 8% of its distance to the floor low).  Elsewhere ``|x|`` as before (the benchmarks' laws:
    no point changes)."""
    m1, m2 = chain.moments()
    sd = math.sqrt(max(m2 - m1 * m1, 0.0))
    if scale is None:
        scale = abs(m1) + sd
    if local_scale is None and chain.layers:
        # a law narrow next to its floor (sd << qh_{L-1}) is resolved on the scale of its spread above the floor
        floor = float(chain.layers[-1][0])
        local_scale = np.maximum(np.minimum(np.abs(x), 1e3 * (np.abs(x - floor) + sd)), min(1e-3 * floor, sd))
    loc = np.full(x.shape, float(scale)) if local_scale is None else \
        np.minimum(float(scale), np.maximum(np.broadcast_to(local_scale, x.shape), 1e-300))
    return m1, scale, loc


@np.errstate(all="ignore")
def solve(chain, x, eta_final=0.0, scale=None, herglotz=True, local_scale=None, stride=32, known=None,
          edges=None):
    r"""Physical solution ``t = z_1`` of :math:`Z(t) = x + i\eta_{final}` for real ``x`` (float64).

    Every ``stride``-th point in the order of ``x`` (an anchor) is solved first, by this function again (fewer
    than ``4 stride`` points by continuation in :math:`\eta`, :func:`_solve_path`); ``known = (xk, tk)``, roots
    already solved at real points (``eta_final = 0``), are the anchors instead, and no point is continued unless it
    fails below.
    A point between two anchors inside the support
    (``Im t > 0`` at both) starts Newton from the cubic Hermite interpolant of ``t(x)``
    (slopes ``dt/dx = 1/Z'(t)``) and is kept only if it converges to a root with
    ``Im t > 0``, Herglotz signs along the whole chain and within a quarter of the anchors'
    spread of the interpolant.  Between two anchors on one gap (``t`` real at both, ``Z``
    finite and increasing at 12 points of the real segment between them) the root is real and
    must fall in that segment.  ``edges = (xe, te)``: edges of the support and their real roots
    (``Z'(t_e) = 0``), anchors too (with ``known``): between an edge and an anchor inside the support
    Newton starts from :math:`t_e + c_1 s + c_2 s^2`, :math:`s = \sqrt{|x - x_e|}` (a square-root
    edge), matched to the anchor's root and slope.  Every other point takes the continuation in :math:`\eta`
    itself.  This is continuation along ``x``, vectorised: 4-6 chain evaluations per point
    instead of ~20 (the calls, one per Newton step, stay about as many).

    Returns ``(t, z)`` with ``z = x + i*eta`` the points actually solved.
    """
    x = np.asarray(x, dtype=float).ravel()
    if (known is None and x.size < 4 * stride) or not chain.layers or \
            len(chain.layers) == 1 and isinstance(chain.layers[0][1], SmoothLaw):
        return _solve_path(chain, x, eta_final, scale, herglotz, local_scale)
    _, scale, loc = _scales(chain, x, scale, local_scale)
    order = np.argsort(x, kind="stable")
    xs, loc = x[order], loc[order]
    n = x.size
    t = np.empty(n, dtype=complex)
    z = xs + 1j * eta_final
    if known is None:
        anchors = np.unique(np.r_[np.arange(0, n, stride), n - 1])
        xa, loc_a = xs[anchors], loc[anchors]
        # the anchors themselves by continuation along x from every stride-th of them, recursively (a continuation in
        # eta from 100 times the scale cost ~1,100 chain evaluations a point on hard-tanh/orthogonal (9.998, 0.2616,
        # depth 197, q0 71.85), a law from 9 to 2e88: its mass 14.7 s -> 6.6 s)
        ta, za = solve(chain, xa, eta_final, scale, herglotz, loc_a, stride)
        t[anchors], z[anchors] = ta, za
        is_edge = np.zeros(xa.size, dtype=bool)
        rest = np.setdiff1d(np.arange(n), anchors)
    else:
        xk, tk = (np.asarray(v).ravel() for v in known)
        xe, te = (np.empty(0), np.empty(0)) if edges is None or eta_final != 0 else \
            (np.asarray(v).ravel() for v in edges)
        xk, tk = np.concatenate([xk, xe]), np.concatenate([tk.astype(complex), te.astype(complex)])
        is_edge = np.r_[np.zeros(xk.size - xe.size, dtype=bool), np.ones(xe.size, dtype=bool)]
        by_x = np.argsort(xk, kind="stable")
        xa, ta, is_edge = xk[by_x], tk[by_x], is_edge[by_x]
        za = xa + 0j
        rest = np.arange(n)
    # segment k: anchors k, k + 1 (a point outside the anchors' range takes the continuation)
    right = np.clip(np.searchsorted(xa, xs[rest]), 1, xa.size - 1)
    left = right - 1
    # only the anchors that bound a point are looked at (the known roots may be many more)
    needed = np.zeros(xa.size, dtype=bool)
    needed[left] = needed[right] = True
    slope = np.full(xa.size, np.nan + 0j)
    slope[needed] = 1 / chain.forward(ta[needed])[1]  # dt/dx along the line Im z = eta_final
    landed = (za == xa + 1j * eta_final) & np.isfinite(slope) & ~is_edge
    inside = landed & (ta.imag > 0)
    real = landed & (ta.imag == 0)
    x0, x1 = xa[left], xa[right]
    t0, t1 = ta[left], ta[right]
    # a gap between two anchors: t real at both, Z finite and increasing on the segment of real t
    # between them (Z is the inverse of a Pick function there), checked at 12 points
    gap = np.zeros(xa.size - 1, dtype=bool)
    seg = np.unique(left)
    seg = seg[real[seg] & real[seg + 1] & (ta[seg + 1].real > ta[seg].real)]
    if seg.size:
        ts = ta[seg].real[:, None] + (ta[seg + 1].real - ta[seg].real)[:, None] * np.linspace(0, 1, 14)[1:-1]
        zs, dzs, _ = chain.forward(ts.ravel() + 0j)
        gap[seg] = ((np.isfinite(zs) & (dzs.real > 0)).reshape(ts.shape)).all(axis=1)
    edge_seg = is_edge[left] & inside[right] | inside[left] & is_edge[right]
    use = ((inside[left] & inside[right]) | gap[left] | edge_seg) & (x1 > x0) & (xs[rest] >= x0) & (xs[rest] <= x1)
    pts, left, right, t0, t1 = rest[use], left[use], right[use], t0[use], t1[use]
    if pts.size:
        h = x1[use] - x0[use]
        u = (xs[pts] - x0[use]) / h
        pred = ((2 * u - 3) * u * u + 1) * t0 + (3 - 2 * u) * u * u * t1 + \
            h * u * (1 - u) * ((1 - u) * slope[left] - u * slope[right])
        in_gap = gap[left]
        pred[in_gap] = pred[in_gap].real  # on a gap the root is real
        # next to an edge: t_e + c1 s + c2 s^2 through the inside anchor's root and slope
        at_edge = edge_seg[use]
        if at_edge.any():
            e = np.where(is_edge[left], left, right)[at_edge]
            o = np.where(is_edge[left], right, left)[at_edge]
            so = np.sqrt(np.abs(xa[o] - xa[e]))
            s = np.sqrt(np.abs(xs[pts[at_edge]] - xa[e]))
            sign = np.sign(xa[o] - xa[e])
            c2 = 2 * sign * slope[o] - (ta[o] - ta[e]) / so ** 2
            c1 = (ta[o] - ta[e]) / so - c2 * so
            pred[at_edge] = ta[e] + c1 * s + c2 * s * s
        tn, conv, _, physical = _newton(chain, pred.copy(), z[pts], 1e-15, 8, res_tol=chain.residual * loc[pts], info=True,
                                        res_max=1e-6 * (scale + np.abs(z[pts])))
        near = np.abs(tn - pred) <= 0.25 * np.abs(t1 - t0)
        # inside: Herglotz along the chain; on a gap: the root in the monotone segment (unique there)
        ok = conv & near & np.where(in_gap, (tn.imag == 0) & (tn.real >= t0.real) & (tn.real <= t1.real),
                                    physical & (tn.imag > 0))
        t[pts[ok]] = tn[ok]
        rest = np.setdiff1d(rest, pts[ok])
    if rest.size:
        t[rest], z[rest] = _solve_path(chain, xs[rest], eta_final, scale, herglotz, loc[rest])
    out_t, out_z = np.empty(n, dtype=complex), np.empty(n, dtype=complex)
    out_t[order], out_z[order] = t, z
    return out_t, out_z


@np.errstate(all="ignore")
def _solve_path(chain, x, eta_final=0.0, scale=None, herglotz=True, local_scale=None):
    r"""Physical solution ``t = z_1`` of :math:`Z(t) = x + i\eta_{final}` for real ``x`` (float64).

    Continuation in :math:`\eta = \operatorname{Im} z` from :math:`100\times` the spectrum's
    scale down geometrically, with a per-point adaptive ratio; a step is kept only if
    Newton converges, the corrector stays small next to the predictor step and
    :math:`\operatorname{Im} t > 0` (Herglotz).  A last Newton solve lands on
    :math:`\eta_{final}` itself (the real axis by default).

    ``local_scale`` (per point) lowers the floor of the continuation and the residual
    tolerance below ``scale`` where the law must be resolved on a finer scale (next to an edge,
    in coordinates relative to it).

    Returns ``(t, z)`` with ``z = x + i*eta`` the points actually solved.
    """
    x = np.asarray(x, dtype=float).ravel()
    if len(chain.layers) == 1 and isinstance(chain.layers[0][1], SmoothLaw) and chain.ratios is None:
        # mu_2 = qh_1 + qh_0 rho_1 is explicit: w = psi(qh_0/(z - qh_1)), t = qh_0 (1 + w)/w, with no
        # inversion of psi (whose top is an inverse square root)
        qh, law = chain.layers[0]
        z = x + 1j * eta_final
        y = chain.qh0 / (z - qh)
        w, dpsi = law._psi(y, -np.ones(x.shape))  # z in the upper half-plane: y in the lower
        # on the cut a density below the float range leaves w real: keep it in the lower half-plane
        w = np.where((w.imag == 0) & (y.real * float(law.upper) > 1), w.real - 1e-300j, w)
        return chain.qh0 * (1 + w) / w, z
    m1, scale, loc = _scales(chain, x, scale, local_scale)
    # never start below eta_final itself (far above the axis the start point is the answer)
    eta = np.maximum(100.0 * (np.abs(x) + scale), eta_final)
    t = np.empty(x.shape, dtype=complex)
    # start far enough above the axis that Newton from the top-down guess lands on the
    # physical root (Im t > 0); heavy-tailed laws at large depth need a higher start
    todo = np.arange(x.size)
    for _ in range(12):
        z = x[todo] + 1j * eta[todo]
        guess = chain.top_down(z, 1 / (z - m1))
        t[todo], conv = _newton(chain, guess, z, 1e-14, 60)
        good = conv & (t[todo].imag > 0)
        if herglotz and chain.layers:
            good &= chain.forward(t[todo], herglotz=True)[3]
        todo = todo[~good]
        if todo.size == 0:
            break
        eta[todo] *= 10.0
    eta_min = np.maximum(1e-10 * loc, eta_final)
    ratio = np.full(x.shape, 0.01)
    active = np.flatnonzero(eta > eta_min)
    dz_all = chain.forward(t)[1]
    # the previous accepted root and its Z / Z' along the path (the power-law predictor's centre)
    t_prev, q_prev = np.full(x.shape, np.nan + 0j), np.full(x.shape, np.nan + 0j)
    # where the power-law predictor is tried too: always for a smooth law's chain, from a first refused step on for
    # an exact one (see _predict)
    power = np.full(x.shape, chain._numerical)
    for _ in range(2000):
        if active.size == 0:
            break
        ta, ea = t[active], eta[active]
        new_eta = np.maximum(ea * ratio[active], eta_min[active])
        znew = x[active] + 1j * new_eta
        z_old = x[active] + 1j * ea
        pred = _predict(chain, ta, z_old, znew, dz_all[active], t_prev[active], q_prev[active], power[active])
        tn, conv, dz, physical = _newton(chain, pred.copy(), znew, 1e-13, 8, res_tol=1e-11 * loc[active], info=True,
                                         res_max=1e-6 * (scale + np.abs(znew)))
        ok = conv & (tn.imag > 0) & (np.abs(tn - pred) <= 1.0 * np.abs(pred - ta) + 1e-12 * (np.abs(ta) + scale))
        if herglotz:
            # the physical branch: Im z_l > 0 and Im g_l < 0 at every layer of the chain
            ok &= physical
        power[active[~ok]] = True
        t_prev[active[ok]], q_prev[active[ok]] = ta[ok], z_old[ok] / dz_all[active[ok]]
        dz_all[active[ok]] = dz[ok]
        t[active[ok]] = tn[ok]
        eta[active[ok]] = new_eta[ok]
        r = ratio[active]
        ratio[active] = np.where(ok, np.maximum(r * r, 1e-4), np.sqrt(r))
        # no progress: the ratio has grown back to 1, or to 0.3 with t real to rounding (outside the
        # support, where lower steps only chase the noise of Im t)
        stuck = (ratio[active] > 0.9999) | ((ratio[active] > 0.3) & (np.abs(t[active].imag) <= 1e-12 * np.abs(t[active])))
        # deep inside the support the root is far from the real t-axis compared with the
        # distance left to travel (eta / |Z'|): Newton lands from here on the same branch
        ready = eta[active] < 0.01 * t[active].imag * np.abs(dz_all[active])
        active = active[(eta[active] > eta_min[active]) & ~stuck & ~ready]
    # final landing on eta_final (real axis by default): accept only a converged root on the
    # same (Herglotz-consistent) branch, i.e. close to where the continuation ended
    zf = x + 1j * eta_final
    # accepted at the chain's residual of the point's scale, or at its rounding (one ulp of |z| per layer:
    # relu/orthogonal (2, 0.1) at depth 10,000 lands at 4.5e-13 of z = 1.8e10, far above its scale 1.1e8)
    res_tol = np.maximum(chain.residual * loc, 1e-16 * chain.depth * np.abs(zf))
    tf, conv, dzf, _ = _newton(chain, t.copy(), zf, 1e-15, 30, res_tol=res_tol, res_max=1e-6 * (scale + np.abs(zf)),
                               info=True)
    # what float64 resolves of t: 1e-13 of |t|, or the rounding of Z (an ulp of |z| a layer) over Z', far larger next to
    # an edge (Z' -> 0): tanh/Gaussian (2.641, 0.01, depth 5), 1e-8 (relative) beyond its right edge 39.66, landed on
    # t = 11.2035 - 8.9e-12i (Z' = 4.4e-4: 5e-11 is rounding there); refused as below the axis, it kept the root 9.3e-10
    # above x, whose density 2.9e-10 was reported where the law has none
    rounding = 1e-13 * np.abs(tf)
    resolution = rounding
    if eta_final == 0:
        with np.errstate(all="ignore"):
            below = np.maximum(rounding, chain.depth * _ULP * np.abs(zf) / np.abs(dzf))
        resolution = np.where(np.isfinite(below), below, rounding)
    ok = conv & (tf.imag >= -resolution) & (np.abs(tf - t) <= 1e-3 * np.abs(t) + 0.05 * t.imag)
    if eta_final == 0:
        # outside the support the physical root is real: snap away the rounding-level imaginary part (above the axis
        # 1e-13 of |t|; below it, where no physical root lies, all that was accepted)
        snap = np.flatnonzero(ok & (tf.imag != 0) & ((np.abs(tf.imag) <= rounding) | (tf.imag < 0)))
        if snap.size:
            # ... unless a real t falls on a cut of the chain (inside a support where the density is
            # below rounding level next to an edge): there the complex root is the answer
            real = tf[snap].real + 0j
            fine = np.isfinite(chain.forward(real)[2])
            tf[snap[fine]] = real[fine]
    t = np.where(ok, tf, t)
    z = np.where(ok, zf, x + 1j * eta)
    return t, z


def _predict(chain, t, z, znew, dz, t_prev, q_prev, power):
    r"""Start of Newton for ``Z(t) = znew`` from the root ``t`` of ``Z(t) = z`` (``Z' = dz``).  The tangent
    :math:`t + (z_{new} - z)/Z'`; where ``power`` (always for a chain with a smooth activation's law) also the local
    power law :math:`Z = c\,(t - t_*)^p`, :math:`t_* + (t - t_*)(z_{new}/z)^{1/p}`, whichever start has the smallest
    residual.  The centre is 0 with :math:`p = tZ'/Z`, or, from the previous root ``t_prev`` and its
    ``q_prev = Z/Z'`` there, :math:`p = (t - t_{prev})/(Z/Z' - q_{prev})`, :math:`t_* = t - pZ/Z'`.
    Next to such a law's floor ``Z ~ t^2`` (tanh/Gaussian (0.982, 0.333, depth 2)) or ``Z ~ (t - t_*)^4``
    roughly (erf/orthogonal (2.017, 0.33, depth 3), ``t_* = -1.638``): a step of 100 in ``eta`` is 10 or 3 in
    ``t - t_*``, where the tangent starts Newton 6-8 steps away, or too far to keep the step.  An exact chain takes the
    tangent until a step is refused at the point (:func:`_solve_path` sets ``power`` there): its Newton steps cost as
    little as the extra evaluation (relu/orthogonal (2, 0.1, depth 1,000): 104 -> 170 chain calls with the power law
    everywhere, no fewer steps), but a law over many decades is a power law far above its left end, where a tangent
    step is refused at every other try (hard-tanh/orthogonal (9.998, 0.2616, depth 197, q0 71.85), from 9 to 2e88:
    165 steps a point from 100 times its scale down, 45 with the power law; its mass 43 s -> 15 s)."""
    out = t + (znew - z) / dz
    if not power.any():
        return out
    t, z, znew, dz, t_prev, q_prev, tangent = (v[power] for v in (t, z, znew, dz, t_prev, q_prev, out))
    q = z / dz
    p_prev = (t - t_prev) / (q - q_prev)
    centres = [np.zeros(t.shape), t - p_prev * q]
    powers = [t / q, p_prev]
    cands = np.array([tangent] + [c + (t - c) * np.exp(np.log(znew / z) / p) for c, p in zip(centres, powers)])
    res = np.full(cands.shape, np.inf)
    # only finite starts in the upper half-plane are evaluated (no previous root yet: nan; the root has Im t > 0;
    # such a start costs a smooth law's inner Newton seconds: 3.8 s for one point at t = 0.015 - 0.013i)
    fin = np.isfinite(cands) & (cands.imag > 0)
    res[fin] = np.abs(chain.forward(cands[fin])[0] - np.broadcast_to(znew, cands.shape)[fin])
    res[~np.isfinite(res)] = np.inf
    out[power] = np.choose(np.argmin(res, axis=0), cands)
    return out


def _land_from_neighbours(chain, x, t, z, steps=8):
    r"""Roots ``t`` at the points ``x > 0`` (relative to a floor) where the continuation in :math:`\eta` did not land
    (``z`` still above the axis: its ``t`` is that of ``x + i eta``, and so would be its density) taken again by
    continuation along ``x``: from the landed point nearest in :math:`\log x`, Newton on the real axis in ``steps``
    geometric steps; each step kept only if it converges, with ``Im t > 0`` and Herglotz signs along the chain.
    Next to a smooth law's floor the chain is flat (``|Z'| ~ 1e-10``) and the landing's Newton may fail: erf/orthogonal
    (1.785, 0.013, depth 3) left ``Z`` 30% off ``x`` at 1e-15.8 of the width, its density 23% high, in blocks of
    each decade from 1e-15.7 down (7e-8 of the mass).  Points with no landed neighbour, or whose walk fails, keep
    the continuation's ``t``."""
    miss = np.flatnonzero(z != x)
    landed = np.flatnonzero(z == x)
    if miss.size == 0 or landed.size == 0:
        return t
    lx = np.log(x)
    near = landed[np.argmin(np.abs(lx[miss][:, None] - lx[landed][None, :]), axis=1)]
    tw, ok = t[near].copy(), np.ones(miss.size, dtype=bool)
    for k in range(1, steps + 1):
        # a walk that failed a step is dropped (erf/Gaussian (1.0, 0.01, depth 2): 48 points just above its floor
        # law, none of which lands, took 39 of the battery's 78 s walking on)
        on = np.flatnonzero(ok)
        if on.size == 0:
            break
        xk = np.exp(lx[near[on]] + (lx[miss[on]] - lx[near[on]]) * k / steps)
        tn, conv, _, physical = _newton(chain, tw[on].copy(), xk + 0j, 1e-15, 30, res_tol=chain.residual * xk,
                                        info=True, res_max=1e-6 * xk)
        ok[on] = conv & physical & (tn.imag > 0)
        tw[on[ok[on]]] = tn[ok[on]]
    out = t.copy()
    out[miss[ok]] = tw[ok]
    return out


def polish(chain_mp, t, z, dps, maxiter=60):
    """Refine float roots ``t`` of ``Z(t) = z`` with Newton in ``dps``-digit arithmetic."""
    with mpmath.workdps(dps):
        tm = np.array([mpmath.mpc(v) for v in np.ravel(t)], dtype=object)
        zm = np.array([mpmath.mpc(v.real, v.imag) for v in np.ravel(z)], dtype=object)
        tol = mpmath.mpf(10) ** (-(dps - 3))
        tm, done = _newton(chain_mp, tm, zm, tol, maxiter)
        _, _, g = chain_mp.forward(tm)
    return tm, g, done


class Spectrum:
    r"""The limiting spectral law :math:`\mu_L` of the conditional FIM's dual matrix, of the
    input-output Jacobian's :math:`JJ^T`, or of a law built by :mod:`freefim.laws`.

    Parameters
    ----------
    network : Network or freefim.laws.Law
        A network (its conditional FIM, or with ``jacobian`` its :math:`JJ^T`), or a law built
        from point masses, Bernoulli, Marchenko–Pastur and activation laws by free products,
        scalings and shifts (at most one factor of each product shifted).
    dps : int, optional
        If given, every evaluation is refined in ``dps``-digit mpmath arithmetic
        (branch tracking is done in float64, then Newton runs at full precision
        on the same chain).  Results are then ``mpmath.mpf``/``mpc`` object arrays.
    jacobian : bool
        The law of :math:`JJ^T`, :math:`J = \partial f / \partial x` (see :meth:`Chain.from_mean_field`).

    Examples
    --------
    >>> from freefim import Network, Spectrum
    >>> spec = Spectrum(Network("relu", "orthogonal", 2.0, 0.1, depth=3))
    >>> [round(a.mass, 6) for a in spec.atoms]
    [0.5]
    >>> round(spec.moments.m1, 6)
    3.15
    """

    def __init__(self, network: Network | Law, dps: int | None = None, jacobian: bool = False):
        from .network import Network

        if not isinstance(network, (Network, Law)):
            raise ValueError(f"Spectrum needs a freefim.Network or a freefim.laws.Law, got {network!r}")
        if dps is not None and (isinstance(dps, bool) or not isinstance(dps, int) or dps < 16):
            raise ValueError(f"dps must be an integer >= 16, got {dps!r}")
        if jacobian and isinstance(network, Law):
            raise ValueError(f"jacobian=True needs a freefim.Network (the input-output Jacobian of a network), got {network!r}")
        self.dps = dps
        if isinstance(network, Law):
            self.network, self.law, self.mean_field = None, network, None
            self._full_chain = Chain.from_law(network)
        else:
            self.network, self.law = network, None
            self.mean_field = mean_field(network)
            self._full_chain = Chain.from_mean_field(self.mean_field, jacobian, network.widths)
        self.jacobian = bool(jacobian)
        m1, m2 = (float(v) for v in self._full_chain.moments())
        # (m2 >= m1^2 underflows first: hard-tanh/Gaussian (0.1413, 0, depth 321, q0 0.4642) has m1 = 1.7e-270 and
        # m2 = 0, and G far away was 1e-6 off the moments')
        if not (math.isfinite(m2) and 1e-290 < m1 and 1e-300 < m2 < 1e300):
            raise ValueError(f"the spectrum of {self._name()} leaves the float64 range "
                             f"(m1 = {m1:.3g}, m2 = {m2:.3g})")
        #: ``(k, n)`` when the chain was shortened at the ordered phase's fixed point
        #: (:func:`fixed_point_length`), else ``None``
        self.shortened = fixed_point_length(self._full_chain, dps or 16)
        self.chain = self._cut(self._full_chain)

    @classmethod
    def from_chain(cls, chain: Chain, network: Network | None = None) -> Spectrum:
        """The law of a given :class:`Chain` (e.g. a sampled network's own order parameters);
        float64 only."""
        spec = cls.__new__(cls)
        spec.network, spec.law, spec.dps, spec.mean_field, spec._full_chain = network, None, None, None, chain
        spec.jacobian = False
        spec.shortened = fixed_point_length(chain)
        spec.chain = spec._cut(chain)
        return spec

    def _cut(self, chain):
        """``chain`` (float or ``dps``-digit) shortened as :attr:`shortened` says."""
        return chain.shortened(*self.shortened) if self.shortened else chain

    @cached_property
    def _full_chain_mp(self):
        with mpmath.workdps(self.dps):
            if self.law is not None:
                return Chain.from_law(self.law.with_numbers(mpmath.mpf))
            widths = None if self.network.widths is None else [mpmath.mpf(w) for w in self.network.widths]
            return Chain.from_mean_field(mean_field(self.network, mpmath.mp), self.jacobian, widths)

    @cached_property
    def _chain_mp(self):
        return self._cut(self._full_chain_mp)

    # ------------------------------------------------------------------ exact parts
    @cached_property
    def moments(self) -> Moments:
        """Exact ``Moments(m1, m2)`` of the whole law by the free moment rules."""
        if self.dps:
            with mpmath.workdps(self.dps):
                return Moments(*self._full_chain_mp.moments())
        return Moments(*self._full_chain.moments())

    @cached_property
    def _atoms(self):
        """The atoms in float64 (what every float computation uses)."""
        return _atom_list(self.chain.atoms(), float)

    @cached_property
    def atoms(self) -> tuple[Atom, ...]:
        """Every atom of :math:`\\mu_L` as a tuple of :class:`Atom`, sorted by location (with ``dps``:
        ``mpmath.mpf`` locations and masses from the ``dps``-digit chain)."""
        if not self.dps:
            return self._atoms
        with mpmath.workdps(self.dps):
            return _atom_list(self._chain_mp.atoms(), lambda v: v)

    @property
    def atom_mass(self) -> float:
        """Total mass of the atoms (``mpf`` with ``dps``)."""
        return sum(a.mass for a in self.atoms) if self.atoms else 0.0

    @property
    def _atom_mass(self):
        return sum(a.mass for a in self._atoms)

    @cached_property
    def _atoms_only(self):
        """The atoms hold all the mass but 1e-12: no continuous part is solved for (its support is empty, its
        density 0, ``G`` the atoms' own).  An ordered chain at depth may be such a law, with ``t = z_1`` beyond
        float64 (hard-tanh/orthogonal (0.01, 0.0154, depth 154): the atoms leave 1.4e-16; ``G`` at 1e4 times its
        scale was refused as "could not reach")."""
        return self._atom_mass > 1 - 1e-12

    # ------------------------------------------------------------------ transforms
    def _landed(self, x, z, eta=0.0):
        """Refuse (ValueError) points where the continuation stopped farther above ``x + i eta``
        than its last height ``1e-10`` of the point's scale (:func:`_scales`): the value there
        would be that of a point well above the axis, a silent wrong number."""
        missed = np.flatnonzero(self._missed(x, z, eta))
        if missed.size:
            i = missed[0]
            point = f"{float(x[i])!r}" + (f" + {eta!r}i" if eta else "")
            raise ValueError(f"the solver could not reach z = {point} for {self._name()}: it stopped at "
                             f"Im z = {z[i].imag:.3g} ({missed.size} of {x.size} points); the value there cannot be "
                             "certified in float64")

    def _missed(self, x, z, eta=0.0):
        """Mask of the points where the continuation stopped farther above ``x + i eta`` than its last height
        (see :meth:`_landed`)."""
        return np.abs(z - (x + 1j * eta)) > 2e-10 * _scales(self.chain, x)[2]

    def _solve(self, x, eta_final=0.0):
        x = np.asarray(x, dtype=float)
        t, z = solve(self.chain, x.ravel(), eta_final)
        self._landed(x.ravel(), z, eta_final)
        if self.dps:
            t, g, _ = polish(self._chain_mp, t, z, self.dps)
            return t, z, g
        _, _, g = self.chain.forward(t)
        return t, z, g

    def stieltjes(self, z: ArrayLike) -> np.ndarray | complex:
        r"""Stieltjes transform :math:`G(z) = \int d\mu_L(t)/(z - t)` (vectorised, complex).

        Real ``z`` gives the boundary value :math:`G(x + i0)`; the lower half-plane uses
        :math:`G(\bar z) = \overline{G(z)}`.
        """
        points = z = _as_points(z, "stieltjes", complex_ok=True)
        shape = z.shape
        z = z.ravel()
        lower = z.imag < 0
        zu = np.where(lower, np.conj(z), z)
        out = np.empty(z.shape, dtype=object if self.dps else complex)
        if self._atoms_only:
            with mpmath.workdps(self.dps or 15):
                conv = mpmath.mpc if self.dps else complex
                out[:] = [sum(a.mass / (conv(zi) - a.location) for a in self._atoms) for zi in zu]
        else:
            # group the points by their imaginary part so each group is one continuation
            for eta in np.unique(zu.imag):
                idx = np.flatnonzero(zu.imag == eta)
                out[idx] = self._solve(zu.real[idx], float(eta))[2]
        # on the real axis exactly at an atom G(x + i0) has an infinite imaginary part;
        # its real part is the principal value (mean of the two one-sided values)
        for atom in self._atoms:
            hit = np.flatnonzero((zu.imag == 0) & (zu.real == atom.location))
            if hit.size:
                delta = 1e-5 * max(abs(atom.location), 1e-300)  # symmetric mean: O(delta^2) error
                near = atom.location + np.array([delta, -delta])
                pv = np.mean(self.stieltjes(near) - atom.mass / (near - atom.location))
                for i in hit:
                    out[i] = complex(pv.real, -math.inf)
        out = np.where(lower, np.conj(out), out)
        return _like_input(out.reshape(shape), points)

    def density(self, x: ArrayLike) -> np.ndarray | float:
        r"""Density of the continuous part, :math:`-\operatorname{Im} G(x + i0)/\pi`, atoms removed.

        It integrates to ``1 - sum(atom masses)`` (see :meth:`conditional_density` for the
        normalised one).

        Vectorised over ``x``; 0 outside the support.  At an atom's exact
        location the continuous density is the mean of its two one-sided values.
        """
        points = x = _as_points(x, "density")
        shape = x.shape
        if not self.dps:
            return _like_input(self._density_float(x).reshape(shape), points)
        xs = x.ravel()
        on_atom, at = self._solved_points(xs)
        dens = np.array([mpmath.mpf(0)] * xs.size, dtype=object)
        if at.any():
            _, z, g = self._solve(xs[at])
            with mpmath.workdps(self.dps):
                dens[at] = [self._continuous_mp(gi, zi) for gi, zi in zip(g, z)]
        if on_atom.any():
            delta = self._atom_offset(xs[on_atom])
            dens[on_atom] = (self.density(xs[on_atom] - delta) + self.density(xs[on_atom] + delta)) / 2
        return _like_input(dens.reshape(shape), points)

    def conditional_density(self, x: ArrayLike) -> np.ndarray | float:
        r"""Density of the law conditioned on its continuous part: :meth:`density` divided by
        :attr:`continuous_mass` (integrates to 1; what a histogram with the atoms split off shows)."""
        mass = self.continuous_mass
        if not mass > 0:
            raise ValueError("the law has no continuous part (only atoms)")
        return self.density(x) / mass

    # ------------------------------------------------------------------ support and integrals
    def _physical(self, t, values=False):
        """Mask of real ``t`` where ``Z`` is finite and increasing: a gap of the support is the
        image of such a run, since subordination functions are Pick functions (``Z' > 0``).
        With ``values=True`` also ``Re Z`` and ``Re Z'`` at ``t``."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        with np.errstate(all="ignore"):
            z, dz, _ = self.chain.forward(t.astype(complex))
        phys = np.isfinite(z.real) & np.isfinite(dz.real) & (dz.real > 0)
        return (phys, z.real, dz.real) if values else phys

    def _edge_from(self, t_good, t_far, points=64):
        """Edge = ``Z`` at the end of the physical run that starts at ``t_good`` and heads to ``t_far``,
        and the root ``t`` there, as ``(edge, t_edge)``; ``None`` if the run does not end on the way.

        A grid finds the first non-physical point, multisection (32 points a round, one
        vectorised chain evaluation: 11 rounds to float resolution instead of ~50 bisections)
        then closes on the boundary (a zero of ``Z'`` or a removable singularity of the chain,
        where ``Z' -> 0`` too), whose error enters ``Z`` only quadratically: ``t`` to 1e-9 relative, and
        on until ``Z(t_edge) - Z(good) <= Z'(good) |bad - good|`` is below 1e-15 of ``Z`` (a deep chain
        bends ``Z`` over decades of ``x`` within ~1e-3 of ``t``: relu/orthogonal (2, 0.1) at depth 10,000
        had its left edge 1.2e-8 (8e-12 relative) inside the support at 1e-9 of ``t``, and the adaptive
        quadrature bisected down to that kink of its integrand).
        """
        ts = t_good + (t_far - t_good) * np.linspace(0, 1, points + 1)[1:]
        phys, z, dz = self._physical(ts, values=True)
        if phys.all():
            return None
        k = int(np.argmin(phys))
        if k == 0:
            _, z, dz = self._physical(np.array([t_good]), values=True)
        good, bad = (t_good if k == 0 else ts[k - 1]), ts[k]
        # Z and Z' at the good end from the start: a run that spans 1e-9 of t only (hard-tanh/orthogonal (48.79, 0,
        # depth 87, q0 48.79): 2e-6 of t = -2961.6 from 39.9 to the edge 45.8475) is refined until Z is known to
        # 1e-15 as well (the first scan alone met the t half: that edge came out 3e-5 low)
        edge, slope = float(z[max(k - 1, 0)]), float(dz[max(k - 1, 0)])
        for _ in range(60):
            # Z - edge ~ (t - t_edge)^2: the edge is off by at most ~Z'(good) |bad - good|
            if abs(bad - good) <= 1e-9 * (abs(good) + abs(bad)) and slope * abs(bad - good) <= 1e-15 * abs(edge):
                break
            ts = good + (bad - good) * np.linspace(0, 1, 33)[1:-1]
            ts = ts[(ts != good) & (ts != bad)]
            if ts.size == 0:
                break
            phys, z, dz = self._physical(ts, values=True)
            k = int(np.argmin(phys)) if not phys.all() else ts.size
            if k > 0:  # Z at the new good end, from the evaluation that found it physical
                good, edge, slope = ts[k - 1], float(z[k - 1]), float(dz[k - 1])
            bad = ts[k] if k < ts.size else bad
        return edge, float(good)

    def _right_edge(self):
        """Largest edge: where the physical run of real ``t`` coming down from ``+inf`` ends, and the
        root ``t`` there (``nan`` where the run ends on an atom), as ``(edge, t_edge)``."""
        m1, m2 = (float(v) for v in self.chain.moments())
        sd = math.sqrt(max(m2 - m1 * m1, 0.0))
        # relative to the law's own scale only (a law at 1e-148, the ordered phase at depth, has its edge there)
        x_far = m1 + 1e4 * (sd + abs(m1))
        # far above the support (100 sd above m1: G = 1/(x - m1) to 1e-4) the top-down map of that G
        # lands next to the root; it must be physical and hit x (else the continuation in eta at x_hi)
        # (any point of the physical run above the edge will do: within 1e-6 of x is enough); x_hi, the
        # crude bound if below x_far, is tried first: its run down to the edge is shorter
        x_hi = min(self.chain.upper_bound(), x_far) * (1 + 1e-6)
        for x in dict.fromkeys([x_hi, x_far * (1 + 1e-6)]):
            with np.errstate(all="ignore"):
                t_hi = self.chain.top_down(np.array([x + 0j]), np.array([1 / (x - m1) + 0j])).real
            phys, z_hi, _ = self._physical(t_hi, values=True)
            if x - m1 >= 100 * sd and phys[0] and abs(z_hi[0] - x) <= 1e-6 * x:
                break
        else:
            t_hi = solve(self.chain, np.array([x_hi]))[0].real
        t_hi = float(t_hi[0])
        qh0 = float(self.chain.qh0)
        # t stays above qh0 on that run (g_1 = 1/(t - qh0) > 0 there); scan geometrically towards qh0
        ts = qh0 + (t_hi - qh0) * np.geomspace(1.0, 1e-15, 1500)
        # scanned from the top in chunks of two decades, up to the first non-physical point
        phys = np.ones(ts.size, dtype=bool)
        for lo in range(0, ts.size, 200):
            phys[lo:lo + 200] = self._physical(ts[lo:lo + 200])
            if not phys[lo:lo + 200].all():
                break
        if phys.all():
            edge = self._edge_from(ts[-1], qh0, points=8)
            if edge is None:
                # physical down to the pole t = qh0 of g_1: the run ends on the top atom Z(qh0+), below
                # which the continuous part ends or accumulates
                with np.errstate(all="ignore"):
                    edge = float(self.chain.forward(np.array([ts[-1]], dtype=complex))[0][0].real), math.nan
        else:
            k = int(np.argmin(phys))
            edge = self._edge_from(ts[k - 1], ts[k])
        return edge

    @cached_property
    def _support(self):
        """Support intervals of the continuous part (see :attr:`_support_scan`)."""
        return self._support_scan[0]

    @cached_property
    def _support_scan(self):
        r"""Support intervals of the continuous part, the grid, density and roots ``t`` they were found on,
        and the edges whose root is known, as ``(x_edge, t_edge)`` arrays.

        The continuous part lives on :math:`[\hat q_{L-1}, b]` (``H = qh I + PSD``), ``b`` the right edge.
        The density is solved on a grid that resolves every scale: a cosine grid of
        :math:`[\hat q_{L-1}, b]`, geometric grids from 1e-15 of its width up at the left end and on both
        sides of every atom (where the intervals of the ordered phase accumulate); each change between
        zero and positive density is refined to an edge.  Gaps are then certified: between two
        neighbouring points of one gap the physical root ``t`` is real and ``Z`` is increasing on the
        whole segment (``Z`` is the inverse of a Pick function there); a segment that fails hides an
        interval or a gap and is refined (up to 6 rounds).
        """
        none = np.empty(0)
        if self.chain.depth == 1 or self._atoms_only:
            return (), none, none, none, (none, none)
        right, t_right = self._right_edge()
        left = self._floor
        last = self.chain.layers[-1][1]
        if last.numerical:
            # a smooth activation's rho lives on one interval [0, upper] with mass at every scale at 0:
            # so does mu_L on [qh_{L-1}, right]
            return ((left, right),), none, none, none, _known_edges([(right, t_right)])
        width = right - left
        if not (math.isfinite(right) and width > 0):
            # (hard-tanh/orthogonal (0.03923, 0.09318, depth 310, q0 0.03923): chi = 0.039, t ~ chi^-L leaves
            # float64, and the atom at the top loses mass at 0.17% a layer: no fixed point to shorten the chain to)
            raise ValueError(f"the support of {self._name()} is not resolved in float64: its right edge could not "
                             f"be found (right edge {right!r})")
        n = 600
        geo = np.geomspace(1e-15, 1.0, 240)
        parts = [_cosine_points(left, right, n), left + width * geo]
        if width > 1e3 * left > 0:
            # a law spanning decades has its left edge on the scale of the floor, below 1e-15 of the width
            # (hard-tanh/Gaussian (8.468, 1, depth 121, q0 8.468): floor 0.81, edge between 2 and 11, right edge
            # 1.8e48): from 1e-15 of the floor up to the width, 16 points a decade
            decades = math.log10(width / left) + 15
            parts.append(left + left * np.geomspace(1e-15, width / left, int(16 * decades) + 1))
        for atom in self._atoms:
            if left <= atom.location <= right:
                parts += [atom.location + width * geo, atom.location - width * geo]
        # and the images of real t next to t = 0, where z_1 = 0 (w_1 = -1) is a removable singularity of
        # the chain: the image of the atom at 0 of rho_1, around which an interval narrower than any x-grid
        # may sit (hard-tanh/orthogonal (1, 0.05623, depth 3, q0 0.001): 2.9e-5 of the mass in 1.2e-6 of
        # the width, from |t| < 3e-7)
        with np.errstate(all="ignore"):
            t0 = float(self.chain.qh0) * np.concatenate([-geo, geo]) + 0j
            parts.append(self.chain.forward(t0)[0].real)
        grid = np.concatenate(parts)
        # (not below 1e-15 of the width: a law of free products alone (last shift 0) has there a density
        # diverging like a power of x, beyond what float64 can solve for, e.g. at x = 1e-45 for MP [x] MP)
        grid = np.unique(grid[(grid > left + (width * 1e-15 if left == 0 else 0)) & (grid < right)])
        grid = grid[~np.isin(grid, [a.location for a in self._atoms])]
        grid = np.concatenate([grid, [right * (1 + 1e-6) + 1e-12 * abs(right)]])
        grid, t, dens = self._scan_points(grid)
        for _ in range(6):
            new = self._uncertified_gaps(grid, t, dens)
            if new.size == 0:
                break
            grid, t, dens = _merged(grid, t, dens, *self._scan_points(new))
        inside = dens > 0
        if not inside.any():
            if 1 - self._atom_mass <= MASS_GOAL:
                # a continuous part lighter than the mass goal, below float64 resolution
                return (), none, none, none, (none, none)
            if 1 - self._atom_mass <= MASS_REFUSE:
                # a continuous part this light lives in intervals narrower than any grid that can be
                # solved on (hard-tanh/orthogonal (0.1778, 0, depth 3), 1.1e-8 in ~1e-6 of the width, took
                # this branch until _hidden_turn found its interval)
                warnings.warn(f"the continuous part of {self._name()} (mass {1 - self._atom_mass:.3g}, the rest "
                              "is atoms) was not located: its support is reported empty; integrals of the density "
                              f"are accurate to {1 - self._atom_mass:.1g} only", AccuracyWarning, stacklevel=4)
                return (), none, none, none, (none, none)
            raise ValueError(f"no continuous density found for {self._name()}, whose atoms hold "
                             f"{self._atom_mass:.12g} of the mass")
        out, roots = self._intervals_from(grid, t, dens, left, right, t_right)
        # (where the law has atoms: their images are where the gaps of the ordered phase accumulate; a law without
        # atoms has no such gaps, and its density's rounding zeros next to an edge read as gaps, linear/Gaussian
        # (10.42, 0, depth 69): 331 intervals in 28 s became 478 in 112 s)
        atoms = np.array([a.location for a in self._atoms])
        for _ in range(6 if atoms.size else 0):
            # each interval verified by its density at 32 points (cosine-spaced) and at the images of the real runs
            # of t between two neighbouring inside points (:meth:`_hidden_gaps`): a zero there is a gap that the
            # grid stepped over (hard-tanh/orthogonal (1, 0, depth 308): gaps of 0.018 shrinking by 0.86 an interval,
            # between grid points 0.029 apart); the probes join the grid and the edges are found again
            probe = np.concatenate([_cosine_points(lo, hi, 32) for lo, hi in out] + [self._hidden_gaps(grid, t, dens)])
            probe = np.setdiff1d(probe, grid)
            probe = probe[np.min(np.abs(probe[:, None] - atoms[None, :]), axis=1) > 1e-9 * np.abs(probe)]
            probe, t_p, d_p = self._scan_points(probe)
            if np.all(d_p > 0):
                break
            grid, t, dens = _merged(grid, t, dens, probe, t_p, d_p)
            out, roots = self._intervals_from(grid, t, dens, left, right, t_right)
        return tuple(out), grid, dens, t, roots

    def _hidden_gaps(self, grid, t, dens, samples=16):
        """Candidate points of gaps hidden between two neighbouring inside points of the grid: ``Z`` at the real
        ``t`` between the real parts of their roots where ``Z`` is finite, increasing and between the two points (a
        gap is the image of such a run of real ``t``, and the root's path from one point to the other runs along it;
        elsewhere such a ``Z`` is inside the support, and its density says so)."""
        seg = np.flatnonzero((dens > 0)[:-1] & (dens > 0)[1:])
        t0, t1 = t[seg].real, t[seg + 1].real
        fine = np.isfinite(t0) & np.isfinite(t1) & (t0 != t1)
        seg, t0, t1 = seg[fine], t0[fine], t1[fine]
        if seg.size == 0:
            return np.empty(0)
        ts = t0[:, None] + (t1 - t0)[:, None] * np.linspace(0, 1, samples + 2)[1:-1]
        with np.errstate(all="ignore"):
            z, dz, _ = self.chain.forward(ts.ravel() + 0j)
        z, dz = z.real.reshape(ts.shape), dz.real.reshape(ts.shape)
        hit = np.isfinite(z) & np.isfinite(dz) & (dz > 0) & (z > grid[seg][:, None]) & (z < grid[seg + 1][:, None])
        # one candidate a segment, the hit nearest its middle (a second gap in it is found the next round): all hits
        # made millions of probes in the ordered phase (hard-tanh/orthogonal (0.01, 0.1, depth 154): 2.8e6 points)
        rows = np.flatnonzero(hit.any(axis=1))
        middle = np.argmin(np.where(hit[rows], np.abs(np.arange(samples) - (samples - 1) / 2), np.inf), axis=1)
        return z[rows, middle]

    def _intervals_from(self, grid, t, dens, left, right, t_right):
        """Support intervals from the grid's inside (positive density) / outside points (each change refined to an
        edge), and the edges whose root is known (see :attr:`_support_scan`).

        A gap narrower than 1e-10 of ``|x|`` (below the edges' resolution) is none where the density on its sides is
        rounding noise: below the rounding of ``Im G`` next to a square-root edge, the square root of the chain's
        (``sqrt(L eps) |G|`` after ``L`` layers), on both sides, or on one side whose interval is itself that narrow.
        Linear/Gaussian (1, 1, depth 449) has 4e-17 = 9e-9 ``|G|`` within 8e-12 of its right edge, where 30 digits
        give 0 (543 intervals).  A narrow gap next to a true density is kept (hard-tanh/orthogonal (1.009, 0.005282,
        depth 498): one at an atom, whose spikes the quadrature must see as edges)."""
        inside = dens > 0
        noise = math.sqrt(max(self.chain.depth, 1) * _ULP)

        def quiet(idx):
            with np.errstate(all="ignore"):
                g = self.chain.forward(t[idx])[2]
            return dens[idx] * np.pi <= noise * np.abs(g)

        k_in = np.flatnonzero(inside)
        j = np.flatnonzero((np.diff(k_in) > 1) & (grid[k_in[1:]] - grid[k_in[:-1]] <= 1e-10 * np.abs(grid[k_in[1:]])))
        if j.size:
            inside = inside.copy()
            for i in j[quiet(k_in[j]) & quiet(k_in[j + 1])]:
                inside[k_in[i]:k_in[i + 1]] = True
        edges, near = [], []  # (edge, root t there or nan); the inside grid point next to it
        if inside[0]:
            edges.append((left, math.nan)), near.append(0)
        for i in np.flatnonzero(inside[1:] != inside[:-1]):
            j_in, j_out = (i, i + 1) if inside[i] else (i + 1, i)
            near.append(j_in)
            if j_out == len(grid) - 1:
                edges.append((right, t_right))
                continue
            edges.append(self._refine_edge(grid[j_in], grid[j_out], t[j_in], t[j_out]))
        roots = _known_edges(edges)
        edges = [e for e, _ in edges]
        calm = quiet(np.array(near, dtype=int)) if near else np.empty(0, dtype=bool)
        # edges of an interval narrower than the grid can cross: such an interval is only where the grid saw it; and a
        # narrow quiet gap (see above) is none
        out, last = [], None
        for k in range(0, len(edges) - 1, 2):
            lo, hi = max(edges[k], left), edges[k + 1]
            tiny = 1e-10 * abs(lo)
            narrow = out and lo - out[-1][1] <= tiny and (
                (calm[last] and calm[k]) or (calm[last] and out[-1][1] - out[-1][0] <= tiny)
                or (calm[k] and hi - lo <= tiny))
            if out and (lo <= out[-1][1] or narrow):
                out[-1] = (out[-1][0], max(hi, out[-1][1]))
            elif hi > lo:
                out.append((lo, hi))
            else:
                continue
            last = k + 1
        # an interval within 1e-13 (relative) of an atom, and as narrow, is below float64's resolution there: the
        # density in it is the atom's rounding (hard-tanh/orthogonal (1.01, 0.001, depth 5, q0 0.1448): six intervals
        # of 1e-16..1e-14 within 2e-14 of its atom at 0.291, whose quadrature gave 8.6e-8 of spurious mass)
        # (unless that is all the grid found: the certificate of the quadrature then judges it)
        atoms = [a.location for a in self._atoms]
        kept = [(lo, hi) for lo, hi in out if not (
            hi - lo <= 1e-13 * abs(hi) and any(lo - 1e-13 * abs(hi) <= a <= hi + 1e-13 * abs(hi) for a in atoms))]
        return kept or out, roots

    def _name(self):
        if self.network is not None:
            return ("the input-output Jacobian of " if self.jacobian else "") + self.network.describe()
        return repr(self.law) if self.law is not None else f"a chain of depth {self.chain.depth}"

    @np.errstate(all="ignore")  # a grid point on an atom (the Jacobian's at 0) gives a non-finite density, masked
    def _t_density(self, x, known=None, edges=None):
        """Physical roots ``t`` and continuous density at real ``x`` (float64); ``known``, ``edges``: see
        :func:`solve`."""
        t, z = solve(self.chain, x, known=known, edges=edges)
        self._landed(x, z)
        return t, self._density_at(t, z)

    def _density_at(self, t, z):
        """The continuous density at the points ``z`` whose roots are ``t`` (the atoms' part of ``G`` removed)."""
        _, _, g = self.chain.forward(t)
        return _continuous_density(g, sum(a.mass / (z - a.location) for a in self._atoms))

    @np.errstate(all="ignore")
    def _scan_points(self, x):
        """The support scan's points ``x`` that the solver lands on, their roots ``t`` and density (a non-finite
        one, on an atom, read as 0).  Points it cannot land on (Newton next to an edge at the float64 noise of a
        deep chain) are left out of the scan, whose other points find the edges: hard-tanh/orthogonal (0.1026, 0.1,
        depth 267, q0 1.617) stopped at ``Im z = 2.9e-11`` at one of its 6,378 points, hard-tanh/Gaussian (26.8, 0,
        depth 156, q0 100), a law over 100 decades, at 255 of 2,733 between its atom at the floor 0.8916 and 2.0, and
        ``support()`` refused both.  What the scan finds is checked by the quadrature's certificate (the exact mass
        and first moment) before any integral is reported.  More than half of the points missed and the scan is
        refused (:meth:`_landed`): the chain is not resolved in float64."""
        t, z = solve(self.chain, x)
        missed = self._missed(x, z)
        if np.count_nonzero(missed) > 0.5 * x.size:
            self._landed(x, z)
        x, t, z = x[~missed], t[~missed], z[~missed]
        dens = self._density_at(t, z)
        return x, t, np.where(np.isfinite(dens), dens, 0.0)

    def _uncertified_gaps(self, grid, t, dens, samples=12, new=48):
        """New grid points in the segments between two zero-density points that are not one gap:
        ``t`` real at both ends, ``t`` increasing and ``Z`` finite and increasing on the segment."""
        out = (dens <= 0)[:-1] & (dens <= 0)[1:]
        seg = np.flatnonzero(out)
        if seg.size == 0:
            return np.empty(0)
        t0, t1 = t[seg], t[seg + 1]
        real = (t0.imag == 0) & (t1.imag == 0)
        # the rounding of the roots grows with the depth (relu/orthogonal (2, 0.1): 1e-10 of t at depth 10,000)
        noise = 1e-12 * max(1.0, self.chain.depth / 10)
        # t increasing, to its rounding (next to an atom t(x) is flat: its noise is not a turn)
        bad = ~real | ~(t1.real >= t0.real - noise * np.abs(t0.real))
        # real roots within rounding of each other: the chain does not resolve t between them (hard-tanh/
        # Gaussian (1.1, 0.05) at depth 1,000 has |t| ~ 5e16 next to qh_{L-1}), nothing to sample
        flat = real & (np.abs(t1.real - t0.real) <= 10 * noise * np.abs(t0.real))
        seg, bad = seg[~flat], bad[~flat]
        test = seg[~bad]
        if test.size:
            width = grid[test + 1] - grid[test]
            secant = width / (t[test + 1].real - t[test].real)
            # (the zoom only where x resolves an interval: 1e-7 of |x| and more; a segment 1e-10 wide
            # 7e-10 above an atom, hard-tanh/orthogonal (0.1778, 0, depth 3), turns in rounding noise)
            zoom = np.where(width > 1e-7 * np.abs(grid[test + 1]), 4, 0)
            bad[~bad] = self._hidden_turn(t[test].real, t[test + 1].real, secant, samples, zoom)
        seg = seg[bad][:256]
        # at most ~2,000 new points a round (each is solved by continuation in eta: the segments are not gaps): a
        # gap of a deep law whose roots fall by rounding-level steps flagged 147 segments at once, 7,056 points, 23 s
        # (hard-tanh/orthogonal (7.858, 0, depth 372)); the next round refines what is still not certified
        new = max(8, min(new, 2048 // max(seg.size, 1)))
        frac = np.linspace(0, 1, new + 2)[1:-1]
        pts = (grid[seg][:, None] + (grid[seg + 1] - grid[seg])[:, None] * frac).ravel()
        return np.setdiff1d(pts, np.concatenate([grid, [a.location for a in self._atoms]]))

    def _hidden_turn(self, lo, hi, secant, samples=12, rounds=4):
        """Mask of the segments ``[lo, hi]`` of real ``t`` on which ``Z`` is somewhere not finite or not
        increasing: ``samples`` points each, then ``rounds`` (per segment) times again around the lowest ``Z'`` of each
        segment (the bracket of its two neighbours, 6.5 times narrower a round).  An interval of the
        ordered phase hidden between two gap points of the grid turns ``Z`` back on ~1% of their
        segment only (hard-tanh/orthogonal (1.01, 0.001, depth 5, q0 0.05): two intervals of 1e-5 of
        the width were missed); ``Z'`` dips towards that turn at the nearest sample, and below it to
        ~-1e8 times the segment's ``secant`` slope ``dx/dt``.  In the zoom a turn is a ``Z'`` below
        -1e-6 times the secant (next to an atom ``Z`` is flat: ``Z'`` there is rounding noise around 0)."""
        bad = np.zeros(lo.size, dtype=bool)
        frac = np.linspace(0, 1, samples + 2)[1:-1]
        a, b, rows = lo.copy(), hi.copy(), np.arange(lo.size)
        rounds = np.broadcast_to(rounds, lo.shape)
        for zoom in range(int(np.max(rounds, initial=0)) + 1):
            ts = a[:, None] + (b - a)[:, None] * frac
            with np.errstate(all="ignore"):
                z, dz, _ = self.chain.forward(ts.ravel() + 0j)
            dz = dz.real.reshape(ts.shape)
            finite = np.isfinite(z.real).reshape(ts.shape) & np.isfinite(dz)
            floor = -1e-6 * np.abs(secant[rows])[:, None] if zoom else 0.0
            turn = ~(finite & (dz > floor)).all(axis=1)
            bad[rows[turn]] = True
            more = ~turn & (rounds[rows] > zoom)
            k = np.argmin(dz, axis=1)[more]
            ts, rows, step = ts[more], rows[more], ((b - a) / (samples + 1))[more]
            if rows.size == 0:
                break
            at = ts[np.arange(rows.size), k]
            a, b = np.maximum(at - step, lo[rows]), np.minimum(at + step, hi[rows])
        return bad

    def _refine_edge(self, x_in, x_out, t_in, t_out):
        """Edge between an inside and an outside grid point, from the physical run of real ``t``
        through ``t_out`` towards ``Re t_in``; bisection on the density in ``x`` as a fallback.
        Returns ``(edge, t_edge)`` (``t_edge`` is ``nan`` from the fallback)."""
        a = float(np.real(t_out))
        for k in (1.0, 2.0, 4.0, 16.0):
            found = self._edge_from(a, a + k * (float(np.real(t_in)) - a))
            if found is not None:
                break
        lo_x, hi_x = min(x_in, x_out), max(x_in, x_out)
        if found is not None and lo_x - 1e-9 * abs(lo_x) <= found[0] <= hi_x + 1e-9 * abs(hi_x):
            return found
        # fallback: refine the bracket on a grid (one vectorised solve per round)
        lo, hi = x_out, x_in  # density(lo) == 0 < density(hi)
        for _ in range(8):
            xs = np.linspace(lo, hi, 33)
            positive = self._density_float(xs) > 0
            k = int(np.argmax(positive))  # first point inside, counted from the outside end
            lo, hi = xs[max(k - 1, 0)], xs[k]
            if abs(hi - lo) <= 1e-12 * abs(hi):
                break
        return 0.5 * (lo + hi), math.nan

    @cached_property
    def _relative_chain(self):
        r"""The chain of :math:`\mu_L - \hat q_{L-1}` (last shift 0): its law near 0 is resolved on
        any scale, where ``qh_{L-1} + delta`` would round ``delta`` away."""
        qh, law = self.chain.layers[-1]
        return Chain(self.chain.qh0, self.chain.layers[:-1] + ((0.0 * qh, law),), self.chain.ratios)

    def _density_from_edge(self, a, delta):
        """Density at ``a + delta``; where ``a`` is the floor ``qh_{L-1}`` of the spectrum, evaluated
        at ``delta > 0`` on the relative chain: next to that edge (mass at every scale for smooth
        activations, an inverse square root for Gaussian weights or next to ReLU's atom there)
        ``a + delta`` would round ``delta`` away (hard-tanh/Gaussian (0.1, 0.01, depth 5): the float
        density at 1e-14 of the width from its edge is 0.005 of the true one).  An atom at the floor
        adds a real term to ``G(x)`` at real ``x``: the density is ``-Im g / pi`` all the same."""
        return self._t_density_from_edge(a, delta)[1]

    def _t_density_from_edge(self, a, delta, known=None, edges=None):
        """Roots ``t`` and density at ``a + delta`` (see :meth:`_density_from_edge`); ``known = (xk, tk)``:
        roots at real points, and ``edges``, the support's edges and their roots, the anchors of :func:`solve`
        (the relative chain's ``Z`` is ``Z - qh_{L-1}``: its roots are the same ``t``).  ``t`` is ``nan`` where the density is not one root's (on an atom,
        below the floor)."""
        out = np.empty(delta.shape)
        t = np.full(delta.shape, np.nan + 0j)
        layers = self.chain.layers
        rel = (a == layers[-1][0]) & (delta > 0) if layers else np.zeros(delta.shape, dtype=bool)
        if np.any(~rel):
            x = a[~rel] + delta[~rel]
            on_atom, at = self._solved_points(x)
            if known is None or not at.all():
                out[~rel] = self._density_float(x)
            else:
                t[~rel], out[~rel] = self._t_density(x, known, edges)
        if np.any(rel):
            floor = float(layers[-1][0])
            known_rel = None if known is None else (known[0] - floor, known[1])
            edges_rel = None if edges is None else (edges[0] - floor, edges[1])
            tail = self._floor_tail if np.any(delta[rel] < 1e-8 * self._above_floor) else None
            deep = rel & (delta < tail[0]) if tail is not None else np.zeros(delta.shape, dtype=bool)
            if deep.any():
                out[deep], t[deep] = self._tail_law(tail, delta[deep]), np.nan
            rel &= ~deep  # the chain only where it resolves the law (below, its solves cost the most)
            if np.any(rel):
                t[rel], out[rel] = self._relative_density(delta[rel], known_rel, edges_rel)
        return t, out

    def _relative_density(self, delta, known=None, edges=None):
        """Roots ``t`` and density at ``qh_{L-1} + delta`` as :attr:`_relative_chain` gives them (no
        :attr:`_floor_tail`); ``known``, ``edges``: see :func:`solve`, relative to ``qh_{L-1}``."""
        chain = self._relative_chain
        t, z = solve(chain, delta, local_scale=delta, known=known, edges=edges)
        t = _land_from_neighbours(chain, delta, t, z)
        return t, _continuous_density(chain.forward(t)[2])

    @cached_property
    def _above_floor(self):
        """``m1 - qh_{L-1}``: how far the law's mean lies above its floor, the scale of "next to the floor" (the
        support is not used: finding it evaluates the density there)."""
        return float(self.moments.m1) - self._floor if self.chain.layers else 0.0

    #: below ``qh_{L-1} (1 + NEAR_FLOOR)`` a smooth activation's float density is taken at ``x - qh_{L-1}`` on the
    #: relative chain: the chain of ``x`` itself rounds its last shift to ``eps qh_{L-1}``, an error
    #: ``eps qh_{L-1} / (x - qh_{L-1})`` relative in the root there (sigmoid/orthogonal (4, 0.1, depth 5) at 1e-7 above
    #: its floor: 2.5e-10 of the density).  Piecewise-linear laws keep the chain of ``x`` there, as before (the
    #: window is measured on smooth laws only: ``benchmarks/accuracy_smooth.py``)
    NEAR_FLOOR = 1e-2

    @cached_property
    def _floor_offset(self):
        """The floor ``qh_{L-1}`` minus its float64 value :attr:`_floor` (:func:`~freefim.meanfield.floor_correction`:
        ~1 ulp, which at ``x - qh_{L-1} = 1e-7`` moves a smooth activation's density by ~1e-9); 0.0 for a law, a
        Jacobian, layer-wise widths or a floor of a shortened chain that is not the mean field's."""
        net = self.network
        if net is None or self.mean_field is None or self.jacobian or net.widths is not None or \
                not self.chain.layers or self._floor != self.mean_field.qh[net.depth - 1]:
            return 0.0
        return floor_correction(net, self.mean_field)

    @cached_property
    def _floor(self):
        """The floor ``qh_{L-1}`` as a float (``H = qh_{L-1} I + PSD``: no spectrum below it); ``inf`` for a
        chain with no layers."""
        return float(self.chain.layers[-1][0]) if self.chain.layers else math.inf

    @cached_property
    def _floor_profile(self):
        r"""``(delta, f)``: the density at ``delta = 10^-k`` of :attr:`_above_floor` above the floor
        ``qh_{L-1}``, ``k = 2, 3, ...``, on the relative chain: to ``k = 29``, and on a few decades at a time (to
        ``k = 300``) while
        the mass below the deepest point, ~ ``f delta``, is above 1e-16 (erf/orthogonal (1.989, 0.809,
        depth 2), ``f ~ delta^-0.88``: 3e-14 at 1e-102 of the width, where the float chain overflows) and no
        :attr:`_floor_tail` law has started (below it the chain's solves cost the most, and resolve nothing)."""
        if not self.chain.layers:
            return np.empty(0), np.empty(0)
        deltas, values = [], []
        # in pieces of two decades from 1e-30 to 1e-50, ten beyond: the search stops at the first piece where the
        # tail law is found, and points below it cost the most (the chain at rounding level: erf/Gaussian (0.5, 0.22,
        # depth 2), tail from 1e-31, 0.2-0.4 s a point down to 1e-34 and 1.2-2.7 s from 1e-35: its profile took 5.0 s
        # with a piece of ten decades from 1e-30, 1.9 s in pieces of three from 1e-20; each piece costs ~0.2 s more:
        # tanh/Gaussian (2.93, 0.855, depth 3), tail from 1e-21, 0.4 s in one piece to 1e-29, 0.9 s in pieces of three)
        cuts = [2, 30] + list(range(32, 51, 2)) + list(range(60, 301, 10)) + [301]
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            delta = self._above_floor * 10.0 ** -np.arange(lo, hi)
            with np.errstate(all="ignore"):
                f = self._relative_density(delta)[1]
            deltas.append(delta), values.append(f)
            if not f[-1] * delta[-1] > 1e-16 or self._tail_of(np.concatenate(deltas), np.concatenate(values)):
                break  # resolved mass left below, the density lost, or the law found
        return np.concatenate(deltas), np.concatenate(values)

    @cached_property
    def _floor_tail(self):
        r"""``(delta_res, f_res, alpha, drift)``: the density's law below ``delta_res`` above the floor ``qh_{L-1}``,
        :math:`\log_{10} f = \log_{10} f_{res} + (\alpha + s/2) L + s L^2/2`, :math:`L = \log_{10}(\delta_{res}/\delta)`
        (a local exponent :math:`\alpha + s (L + 1/2)` that drifts by ``s = drift <= 0`` a decade), or ``None``.  Next to
        a floor where the density diverges (Gaussian weights: erf/Gaussian (1.3, 0.02, depth 5) has :math:`\alpha =
        0.531` from 1e-10 to 1e-15 of the width, rising to 0.534 at 1e-26; tanh/Gaussian (2.93, 0.855, depth 3) an
        exponent drifting from 0.83 at 1e-2 to 0.57 at 1e-20, by -0.008 a decade there) the float chain resolves the
        law to 1e-21 - 1e-26 of the width (erf: to 2e-7 at 1e-25, against 40-digit Newton on the same chain); below,
        rounding takes over and the computed density is noise or 0, its mass lost; with orthogonal weights the chain
        resolves it deeper, until its numbers overflow (erf/orthogonal (1.989, 0.809, depth 2): the density is 0 from
        1e-103 of the width on).
        On :attr:`_floor_profile`, where the local exponent, drifting by less than 2e-2 a decade and that
        drift steady to 2e-3 over four decades, then jumps by more than 2e-2 (or 4 times the run's steadiness, at
        least 1e-3) or is lost (rounding or overflow takes over), the law is continued from one decade above the jump
        with the last stable exponent and drift (a rising drift is taken as 0); or where the exponent has settled
        (drift below 1e-5 a decade over six decades, below 1e-14 of :attr:`_above_floor`), from there with no drift.
        ``None`` where there is no such run and jump (a density resolved as deep as :attr:`_floor_profile` looks, or
        one that vanishes at the floor: no divergence, no mass lost), and for a piecewise-linear last layer, whose laws
        the exact chain resolves at the floor: a law over many decades is a power law far above its floor, which read
        as a tail (hard-tanh/orthogonal (7.858, 0, depth 372), from ~7 to 8e147 above an atom at its floor 0.79:
        "settled" 1e131 above the floor, its density continued down through the gap, 7e-5 at 4.66 and 3.0e-5 at 10
        where 30 digits give 0 and 3.9e-3)."""
        if not (self.chain.layers and self.chain.layers[-1][1].numerical):
            return None
        return self._tail_of(*self._floor_profile)

    @staticmethod
    def _tail_of(delta, f):
        """:attr:`_floor_tail` found on the profile ``(delta, f)`` (``None``: not found)."""
        if delta.size < 7:
            return None
        with np.errstate(all="ignore"):
            alpha = np.log10(f[1:] / f[:-1])
            drift = np.diff(alpha)  # drift[j] = alpha[j + 1] - alpha[j]
        for j in range(4, drift.size):
            if not np.isfinite(drift[j - 4:j]).all():
                return None
            settled = j >= 6 and delta[j] <= 1e-12 * delta[0] and np.all(np.abs(drift[j - 6:j]) < 1e-5)
            if settled and 0 < alpha[j - 1] < 1:
                # settled: a power law to 1e-5 a decade over six decades (tanh/Gaussian (0.5, 0.01, depth 2): an
                # inverse square root, its exponent 0.5000000 from 3e-21 of the width on); the chain below costs the
                # most, and resolves Z to ~1e-7 only (next to w = -1 its Newton converges linearly there)
                return float(delta[j]), float(f[j]), float(alpha[j - 1]), 0.0
            run = drift[j - 4:j]
            steady = np.max(np.abs(np.diff(run)))
            # a jump stands out of the run's own steadiness: the first rounding-level decade may move the drift by
            # only 7e-3 (tanh/Gaussian (0.982, 0.333, depth 2) at 4e-25 of the width, steady to 4e-4 above)
            jump = not np.isfinite(drift[j]) or abs(drift[j] - drift[j - 1]) > min(2e-2, max(1e-3, 4 * steady))
            if jump and np.all(np.abs(run) < 2e-2) and steady < 2e-3 and 0 < alpha[j - 1] < 1:
                return float(delta[j]), float(f[j]), float(alpha[j - 1]), min(float(np.mean(run[1:])), 0.0)
        return None

    @staticmethod
    def _tail_mass(tail):
        r"""Mass of the :attr:`_floor_tail` law below its ``delta_res``: :math:`f_{res}\delta_{res}\ln 10
        \int_0^\infty 10^{(\alpha + s/2 - 1)L + sL^2/2} dL` (``erfcx`` for ``s < 0``)."""
        d_res, f_res, alpha, drift = tail
        ln10 = math.log(10)
        beta = (alpha + drift / 2 - 1) * ln10
        if drift == 0:
            return f_res * d_res * ln10 / -beta
        gamma = -drift * ln10 / 2  # > 0: exp(beta L - gamma L^2)
        return f_res * d_res * ln10 * 0.5 * math.sqrt(math.pi / gamma) * float(special.erfcx(-beta / (2 * math.sqrt(gamma))))

    @staticmethod
    def _tail_law(tail, delta):
        """The density :attr:`_floor_tail` continues at ``delta`` (below its ``delta_res``)."""
        d_res, f_res, alpha, drift = tail
        big = np.log10(d_res / delta)
        return f_res * 10.0 ** ((alpha + drift / 2) * big + drift * big * big / 2)

    def midpoint_grid(self, points: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        r"""The density on a cosine grid of each support interval ``[a, b]``:
        :math:`x = a + (b - a)\sin^2(\theta/2)` at the midpoints :math:`\theta_k = (k + 1/2)\pi/n`,
        ``n = points``, with the midpoint-rule weights :math:`dx = \frac{b-a}{2}\sin\theta\,\pi/n`
        (square-root and inverse-square-root edges become smooth in :math:`\theta`; no node sits on
        an edge).  One vectorised solve; returns ``(x, weight, density)``, each of shape
        ``(intervals, points)``, the density evaluated next to ``qh_{L-1}`` relative to it."""
        if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 2:
            raise ValueError(f"points must be an integer >= 2, got {points!r}")
        theta = (np.arange(points) + 0.5) * np.pi / points
        ab = np.array(self._support, dtype=float).reshape(-1, 2)
        a, b = ab[:, :1], ab[:, 1:]
        delta = (b - a) * np.sin(theta / 2) ** 2
        weight = (b - a) / 2 * np.sin(theta) * np.pi / points
        dens = self._density_from_edge(np.broadcast_to(a, delta.shape).ravel(), delta.ravel())
        return a + delta, weight, dens.reshape(delta.shape)

    def _solved_points(self, xs):
        """Masks of the points exactly on an atom (their density is the mean of the one-sided values)
        and of the points to solve: the others at or above the floor ``qh_{L-1}``
        (``H = qh_{L-1} I + PSD``: no spectrum below it, nothing to solve there)."""
        floor = self._floor
        # a law of products alone (floor 0: the Jacobian's) has its edge, or a divergence, at 0 itself, where
        # no root can be solved: there too the mean of the one-sided values
        on_atom = np.isin(xs, [a.location for a in self._atoms] + ([0.0] if floor == 0 else []))
        return on_atom, (xs >= floor) & ~on_atom & (not self._atoms_only)

    def _density_float(self, x):
        """The continuous density in float64 whatever ``dps`` (:meth:`density` without ``dps``): 0 below
        the floor ``qh_{L-1}`` (``H = qh_{L-1} I + PSD``), the mean of the one-sided values on an atom."""
        xs = np.asarray(x, dtype=float).ravel()
        on_atom, at = self._solved_points(xs)
        dens = np.zeros(xs.shape)
        if at.any():
            # within 1e-8 (m1 - qh_{L-1}) above the floor qh_{L-1}, or NEAR_FLOOR qh_{L-1} for a smooth law: x - qh_{L-1}
            # is exact there (Sterbenz), less the floor's own rounding (_floor_offset), and the relative chain
            # resolves it (see _density_from_edge); elsewhere the chain of x itself
            floor = self._floor
            window = self.NEAR_FLOOR * floor if self.chain.layers[-1][1].numerical else 0.0
            near = at & (xs > floor) & (xs - floor < max(1e-8 * self._above_floor, window))
            far = at & ~near
            if far.any():
                dens[far] = self._t_density(xs[far])[1]
            if near.any():
                delta = (xs[near] - floor) - self._floor_offset
                above = np.zeros(delta.size)  # 0 below the floor itself
                pos = delta > 0
                t, above[pos] = self._t_density_from_edge(np.full(np.count_nonzero(pos), floor), delta[pos])
                if self.chain.layers[-1][1].numerical:
                    above[pos] = self._polish_near_floor(delta[pos], t, above[pos])
                dens[near] = above
        if on_atom.any():
            delta = self._atom_offset(xs[on_atom])
            dens[on_atom] = (self._density_float(xs[on_atom] - delta) + self._density_float(xs[on_atom] + delta)) / 2
        return dens

    #: below ``POLISH_BELOW (m1 - qh_{L-1})`` above the floor a smooth activation's float density is polished in
    #: double-double (:meth:`_polish_near_floor`); farther up the float chain's cancellation costs < 1e-12
    POLISH_BELOW = 1e-3
    #: the farthest (relative) the polish may move a root: it corrects rounding, it never changes the branch
    POLISH_REACH = 1e-9

    def _polish_near_floor(self, delta, t, values):
        r"""The density at ``qh_{L-1} + delta`` again, from the roots ``t`` of :attr:`_relative_chain` refined by
        Newton on :meth:`Chain.forward_dd` (double-double; ``delta`` is measured from the floor beyond float64,
        :attr:`_floor_offset`), where ``delta < POLISH_BELOW (m1 - qh_{L-1})``.  Next to the floor of a smooth
        activation's law the float chain forms ``Z ~ delta`` from terms ~``(m1 - qh_{L-1}) / delta`` larger (``w = z g
        - 1`` next to -1 and the last shifts), so its root, and the density with it, is off by that times the
        rounding: tanh/orthogonal (1.3, 0.05, depth 10) at 1e-6 of its width above the floor 1.5e-10 from
        ``dps=30``, polished 2e-13 (sigmoid/orthogonal (4, 0.1, depth 30) 1.2e-10 -> 2.5e-12).  Two Newton steps and a
        last correction ``g + g' dt`` below the float resolution of ``t``; a root the polish would move farther than
        :data:`POLISH_REACH` keeps its float value."""
        chain = self._relative_chain
        sel = np.flatnonzero(np.isfinite(t) & (np.imag(t) > 0) & (delta < self.POLISH_BELOW * self._above_floor)
                             & (values > 0))
        if sel.size == 0 or chain.ratios is not None:
            return values
        t0, target = t[sel], dd.from_float(-delta[sel] + 0j)
        root = t0.copy()
        with np.errstate(all="ignore"):
            for newton in range(3):
                z, dz, g, dg = chain.forward_dd(root)
                step = dd.to_complex(dd.add(z, target)) / dz
                if newton < 2:
                    root = root - step
            g_root = dd.to_complex(g) - dg * step  # the last step as a first-order correction of g
        keep = (np.abs(root - step - t0) <= self.POLISH_REACH * np.abs(t0)) & np.isfinite(g_root) & (g_root.imag < 0)
        out = values.copy()
        out[sel[keep]] = _continuous_density(g_root[keep])
        return out

    def _atom_offset(self, x):
        """Where the one-sided values next to atoms at ``x`` are taken: 1e-9 of ``|x|``, or of the law's
        scale for an atom at 0 (a law of products alone, e.g. the Jacobian's: 1e-9 of 1e-300 is out of reach)."""
        return 1e-9 * np.where(x == 0, float(_scales(self.chain, x[:1])[1]), np.abs(x))

    def support(self) -> list[tuple[float, float]]:
        """Intervals ``[(lo, hi), ...]`` of the continuous part (edges to ~1e-10 relative; with
        ``dps``: ``mpf`` edges to ``dps`` digits, see :meth:`_edge_mp`)."""
        if self.dps:
            return [tuple(iv) for iv in self._support_mp]
        return [(float(lo), float(hi)) for lo, hi in self._support]

    @cached_property
    def _support_mp(self):
        return tuple((self._edge_mp(lo, -1.0), self._edge_mp(hi, 1.0)) for lo, hi in self._support)

    def _edge_mp(self, edge, side):
        r"""A float64 ``edge`` of the support refined to ``dps`` digits.

        ``qh_{L-1}`` and atoms are exact in the ``dps``-digit chain.  Any other edge is ``Z(t_e)`` at
        the zero ``t_e`` of ``Z'`` on the real ``t``-axis (subordination: the physical run of real
        ``t`` ends where ``Z`` turns), found by the secant method on ``Z'`` in ``dps``-digit arithmetic
        from the float root just outside the edge (``side``: -1 below, +1 above).  An edge that is
        not such a turning point keeps its float64 digits, with an :class:`AccuracyWarning`.
        """
        with mpmath.workdps(self.dps):
            chain = self._chain_mp
            if chain.layers and edge == float(self.chain.layers[-1][0]):
                return +chain.layers[-1][0]
            for atom in self.atoms:
                if abs(edge - float(atom.location)) <= 1e-9 * abs(edge):
                    return +atom.location
            x_out = edge + side * 1e-8 * abs(edge)
            t_out = solve(self.chain, np.array([x_out]))[0][0]
            # the secant from the root just outside (its real part: the float solve may stop a hair
            # above the axis there); the result must be a turning point at the float edge
            def at(t, k):
                try:
                    return chain.forward(np.array([mpmath.mpc(t)], dtype=object))[k][0]
                except ZeroDivisionError:  # a removable singularity of the chain (Z' -> 0 there)
                    return mpmath.mpc(0) if k == 1 else None

            t0 = mpmath.mpf(t_out.real)
            t1 = t0 * (1 + mpmath.mpf(1e-9)) + mpmath.mpf(1e-300)
            f0, f1 = mpmath.re(at(t0, 1)), mpmath.re(at(t1, 1))
            # Z - edge ~ (t - t_e)^2: t_e to half the digits (and the secant on Z' stalls there
            # when t_e is a removable singularity, where Z' loses digits)
            goal = mpmath.mpf(10) ** (-self.dps // 2 - 4) * abs(t1)
            for _ in range(40):  # the secant method on Z'
                if f1 == f0 or not mpmath.isfinite(f1):
                    break
                step = f1 * (t1 - t0) / (f1 - f0)
                t0, f0, t1 = t1, f1, t1 - step
                f1 = mpmath.re(at(t1, 1))
                if abs(step) <= goal:
                    break
            with mpmath.workdps(2 * self.dps + 10):  # next to a singularity: digits to lose
                z = at(t1, 0)
                if z is None:
                    z = at(t1 * (1 + mpmath.mpf(10) ** (-self.dps - 5)), 0)
            if z is not None and mpmath.isfinite(z) and \
                    abs(mpmath.im(z)) <= mpmath.mpf(10) ** (3 - self.dps) * abs(z) and \
                    abs(mpmath.re(z) - edge) <= 1e-8 * abs(edge):
                return +mpmath.re(z)
            warnings.warn(f"the support edge {edge!r} of {self._name()} is not refined to {self.dps} digits "
                          "(not a turning point of the chain); it keeps its float64 digits", AccuracyWarning,
                          stacklevel=3)
            return mpmath.mpf(edge)

    def _quadrature(self, tol=1e-12, n=16, max_rounds=80):
        r"""Adaptive nodes and weights for integrals against the continuous density.

        On each support interval :math:`x = \frac{a+b}{2} - \frac{b-a}{2}\cos\theta`,
        which makes square-root and inverse-square-root edges smooth in :math:`\theta`.
        Panels in :math:`\theta` are bisected until an ``n``-point Gauss–Legendre rule
        and the same rule on both halves agree to ``tol`` (relative to the total mass),
        so interior cusps and spikes of the density are resolved too.  Every round is
        one vectorised solve.  Returns ``(x, w, panels)``: nodes and density-weighted weights
        (the halves' rule of every accepted panel) sorted by ``x``, and the accepted panels as rows
        ``(a, b, theta_lo, theta_hi, mass)`` sorted by position (what :meth:`cdf` integrates).
        """
        u, wts = np.polynomial.legendre.leggauss(n)
        # an atom inside an interval is an edge of the density too (inverse-square-root spikes on
        # either side): split there, so that the cosine map smooths both sides
        pieces = _split_at_atoms(self._support, self._atoms)
        # a piece spanning decades, away from the floor (where the ladder grades the first piece), is cut every
        # 4 decades from its left end: one cosine map puts its left end at theta ~ sqrt(x/b), beyond the rounds of
        # bisection (hard-tanh/Gaussian (8.468, 1, depth 121, q0 8.468): 4.25 to 1.8e48)
        pieces = [(lo, hi) for a, b in pieces
                  for lo, hi in _geometric_cuts(a, b, 1e4 if a != self._floor else math.inf)]
        panels = [(a, b, lo, hi) for a, b in pieces
                  for lo, hi in zip(np.linspace(0, np.pi, 17)[:-1], np.linspace(0, np.pi, 17)[1:])]
        xs, ws, accepted = [], [], []
        ladder = self._floor_ladder(*pieces[0], tol) if pieces else None
        if ladder is not None:  # the first panel, at the floor, is cut at the ladder's rungs
            (a, b), (thetas, tail) = pieces[0], ladder
            top = np.r_[np.pi / 16, thetas]
            panels = [(a, b, lo, hi) for lo, hi in zip(top[1:], top[:-1])] + panels[1:]
            if tail is None:
                panels.append((a, b, 0.0, thetas[-1]))
            else:  # the mass below the deepest rung, by the tail law (one node, inside)
                mass, at = tail
                xs.append(np.array([a + at])), ws.append(np.array([mass]))
                accepted.append(np.array([[a, b, 0.0, thetas[-1], mass]]))
        for _ in range(max_rounds):
            if not panels:
                break
            if len(panels) > 4096:
                pa = np.array(panels)
                xs_left = pa[:, :1] + (pa[:, 1:2] - pa[:, :1]) * np.sin(pa[:, 2:] / 2) ** 2
                raise ValueError(f"quadrature of the density of {self._name()} did not converge to {tol:g} "
                                 f"({len(panels)} panels left in [{xs_left.min():.10g}, {xs_left.max():.10g}]): "
                                 "its density is not resolved in float64 there")
            p = np.array(panels)
            a, b, lo, hi = p.T[:, :, None]
            mid = (lo + hi) / 2

            def nodes(l, h):
                theta = (l + h) / 2 + (h - l) / 2 * u
                # x - a = (b - a) sin^2(theta/2), kept to full relative precision
                return (b - a) * np.sin(theta / 2) ** 2, wts * (h - l) / 2 * (b - a) / 2 * np.sin(theta)

            (d1, w1), (d2, w2), (d3, w3) = nodes(lo, hi), nodes(lo, mid), nodes(mid, hi)
            x1, x2, x3 = a + d1, a + d2, a + d3
            f = self._density_from_edge(np.concatenate([a + 0 * d1, a + 0 * d2, a + 0 * d3], axis=None),
                                        np.concatenate([d1.ravel(), d2.ravel(), d3.ravel()]))
            f1, f2, f3 = np.split(f, 3)
            coarse = np.sum(w1 * f1.reshape(x1.shape), axis=1)
            fine_w = np.concatenate([w2 * f2.reshape(x2.shape), w3 * f3.reshape(x3.shape)], axis=1)
            fine_x = np.concatenate([x2, x3], axis=1)
            done = np.abs(coarse - fine_w.sum(axis=1)) <= tol
            xs.append(fine_x[done].ravel())
            ws.append(fine_w[done].ravel())
            accepted.append(np.column_stack([p[done], fine_w[done].sum(axis=1)]))
            panels = [(pa, pb, l, m) for (pa, pb, l, h), m in zip(p[~done], mid[~done, 0])] + \
                     [(pa, pb, m, h) for (pa, pb, l, h), m in zip(p[~done], mid[~done, 0])]
        else:
            raise ValueError(f"quadrature of the density of {self._name()} did not converge to {tol:g} "
                             f"({len(panels)} panels left): its density is not resolved in float64")
        if not xs:
            return np.empty(0), np.empty(0), np.empty((0, 5))
        x, w, panels = np.concatenate(xs), np.concatenate(ws), np.concatenate(accepted)
        order = np.argsort(x)
        start = panels[:, 0] + (panels[:, 1] - panels[:, 0]) * np.sin(panels[:, 2] / 2) ** 2
        return x[order], w[order], panels[np.argsort(start, kind="stable")]

    def _floor_ladder(self, a, b, tol):
        r"""Rungs (``theta`` of the quadrature's cosine map, descending) graded towards the floor for the piece
        ``[a, b]`` that starts there, where the law holds mass at every scale (a smooth activation; erf/orthogonal
        (1.989, 0.809, depth 2) has ~``delta^0.12`` of its mass within ``delta`` of the width: 1e-5 below 1e-40),
        which bisection in ``theta`` would reach only after ~150 rounds; one rung a decade of :attr:`_floor_profile`,
        down to where the mass left below, ~ ``f delta/(1 - alpha)``, is under ``tol/1000``, or to the start of
        :attr:`_floor_tail`.  Returns ``(thetas, tail)``, ``tail = (mass, delta)``: the tail law's mass below the
        deepest rung and where to put it (its mean), or ``None`` (the panel below the deepest rung is summed as the
        others); ``None`` where the density vanishes at 1e-30 of the width (no rungs needed)."""
        width = b - a
        if not self.chain.layers or a != self._floor or \
                not self._density_from_edge(np.array([a]), np.array([1e-30 * width]))[0] > 0:
            return None
        delta, f = self._floor_profile
        tail = self._floor_tail
        with np.errstate(all="ignore"):
            alpha = np.log10(f[1:] / f[:-1])
            left = f[:-1] * delta[:-1] / np.maximum(1 - alpha, 1e-2)
        use = np.isfinite(left) & (left > 0) & (delta[:-1] < 0.9 * math.sin(math.pi / 32) ** 2 * width)  # theta < pi/16
        if tail is not None:
            use &= delta[:-1] >= tail[0]
        k = np.flatnonzero(use)
        if k.size == 0:
            return None
        small = np.flatnonzero(left[k] < 1e-3 * tol)
        rungs = delta[k[:small[0] + 1]] if small.size else delta[k]
        thetas = 2 * np.arcsin(np.sqrt(rungs / width))
        if small.size or tail is None or rungs[-1] != tail[0]:
            return thetas, None
        _, _, a_tail, _ = tail
        return thetas, (self._tail_mass(tail), tail[0] * (1 - a_tail) / (2 - a_tail))

    @property
    def _weighted_nodes(self):
        return self._certified_quadrature[:2]

    @cached_property
    def _certified_quadrature(self):
        # numerical (smooth-activation) laws: their density is accurate to ~1e-12 (user activations
        # with a kink ~1e-10) and rises over many decades at qh_{L-1}: each law sets its tolerance
        tol = max([1e-12] + [law.quadrature_tol for _, law in self.chain.layers])
        x, w, panels = self._quadrature(tol=tol)
        # certificate: the continuous part must hold the mass the atoms leave (exact, Belinschi's rule)
        # and the nodes must give the exact first moment; else the density is not resolved somewhere
        # (e.g. the ordered phase, whose intervals accumulate at an atom closer than float64 resolves)
        mass, m1 = float(np.sum(w)), float(np.sum(w * x) + sum(a.mass * a.location for a in self._atoms))
        m1_err = abs(m1 - float(self.moments.m1)) / float(self.moments.m1)
        err = max(abs(mass - (1 - self._atom_mass)), m1_err)
        if err <= max(MASS_GOAL, 100 * tol):
            return x, w, panels
        near = min(self._atoms, key=lambda a: abs(a.location - x[np.argmax(w)]), default=None) if x.size else None
        where = (f"; the heaviest node lies next to the atom at {near.location:.12g}, where intervals "
                 "of the ordered phase may accumulate") if near else ""
        message = (f"the density of {self._name()} is not resolved in float64: its quadrature holds "
                   f"mass {mass:.12g} where the atoms leave {1 - self._atom_mass:.12g} and gives m1 "
                   f"off by {m1_err:.2g} relative{where}")
        if err > MASS_REFUSE:
            raise ValueError(message)
        warnings.warn(f"{message}; integrals of the density (mass, cdf, moments) are accurate to {err:.1g} only",
                      AccuracyWarning, stacklevel=3)
        return x, w, panels

    @property
    def continuous_mass(self) -> float:
        """Mass of the continuous part, by quadrature of :meth:`density` over :meth:`support`."""
        return float(np.sum(self._weighted_nodes[1]))

    def moment(self, k: int) -> float:
        r"""``k``-th moment :math:`\int x^k d\mu_L` of the whole law (exact for ``k <= 2``,
        otherwise quadrature of the density plus the atoms; with ``dps`` an ``mpf``)."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"moment order must be an integer >= 0, got {k!r}")
        if k == 0:
            return mpmath.mpf(1) if self.dps else 1.0
        if k <= 2:
            value = (self.moments.m1, self.moments.m2)[k - 1]
            return value if self.dps else float(value)
        if self.dps:  # the density's moment in dps digits, plus the atoms
            with mpmath.workdps(self.dps):
                parts = [self._integral_mp(i, hi, power=k) for i, (lo, hi) in enumerate(self._pieces_mp[0])]
                self._warn_mp(sum(e for _, e in parts), f"moment {k}")
                return sum(v for v, _ in parts) + sum(a.mass * a.location ** k for a in self.atoms)
        return self.numeric_moment(k)

    def numeric_moment(self, k: int) -> float:
        """``k``-th moment from the density by quadrature, plus the atoms (an independent check)."""
        x, w = self._weighted_nodes
        return float(np.sum(w * x ** k) + sum(a.mass * a.location ** k for a in self._atoms))

    def cdf(self, x: ArrayLike, continuous: bool = False) -> np.ndarray | float:
        r"""Distribution function of the law (``continuous=True``: of its continuous part, normalised).

        With ``dps``: ``mpf`` values, the continuous part integrated by Gauss-Legendre quadrature
        (``mpmath.quad``) of the ``dps``-digit density on each piece ``[a, b]`` of the support below
        ``x`` (edges and atoms split it) in the variable :math:`x = a + (b - a)\sin^2(\theta/2)`,
        which makes square-root and inverse-square-root ends smooth and keeps every node
        resolvable in float64 (where the root is seeded)."""
        if self.dps:
            return self._cdf_mp(x, continuous)
        points = x = _as_points(x, "cdf", finite=False)
        cont = self._continuous_cdf(x.ravel()).reshape(x.shape)
        if continuous:
            total = self.continuous_mass
            if total <= 0:
                raise ValueError("the law has no continuous part")
            return _like_input(cont / total, points)
        return _like_input(cont + sum(a.mass * (x >= a.location) for a in self._atoms), points)

    def _continuous_cdf(self, x, n=32):
        """Mass of the continuous part below each ``x``: the masses of the quadrature's accepted
        panels below it, plus an ``n``-point Gauss-Legendre rule (in theta) over the part of the
        panel that holds ``x`` (one vectorised solve)."""
        panels = self._certified_quadrature[2]
        out = np.zeros(x.shape)
        if panels.shape[0] == 0:
            return out
        a, b, lo, hi, mass = panels.T
        x_lo, x_hi = a + (b - a) * np.sin(lo / 2) ** 2, a + (b - a) * np.sin(hi / 2) ** 2
        before = np.concatenate([[0.0], np.cumsum(mass)])
        k = np.searchsorted(x_lo, x, side="right") - 1
        inside = k >= 0
        out[inside] = before[k[inside] + 1]
        part = np.flatnonzero(inside & (x < x_hi[np.maximum(k, 0)]))
        if part.size:
            kp = k[part]
            pa, pb = a[kp, None], b[kp, None]
            top = 2 * np.arcsin(np.sqrt(np.clip((x[part] - a[kp]) / (b[kp] - a[kp]), 0, 1)))
            theta, base = panel_nodes(lo[kp], top, n, False)
            delta = (pb - pa) * np.sin(theta / 2) ** 2
            weight = base * (pb - pa) / 2 * np.sin(theta)
            f = self._density_from_edge(np.broadcast_to(pa, delta.shape).ravel(), delta.ravel())
            out[part] = before[kp] + np.sum(weight * f.reshape(delta.shape), axis=1)
        return out

    @cached_property
    def _pieces_mp(self):
        """The support split at the atoms, in ``dps`` digits, with the ends (in theta) of the float64
        quadrature's accepted panels in each piece: they resolve the density's spikes and cusps
        and are the breakpoints of the ``dps``-digit rule."""
        panels = self._certified_quadrature[2]
        with mpmath.workdps(self.dps):
            pieces = _split_at_atoms(self.support(), self.atoms)
        starts = list(dict.fromkeys(map(tuple, panels[:, :2])))
        breaks = [np.unique(panels[(panels[:, 0] == fa) & (panels[:, 1] == fb)][:, 2:4]) for fa, fb in starts]
        return pieces, breaks

    def _integral_mp(self, k, x, power=0):
        r"""``(integral, error estimate)`` of :math:`t^{power}` times the density over ``[lo, x]`` of
        piece ``k``, by Gauss-Legendre (``mpmath.quad``) in :math:`t = lo + (hi - lo)\sin^2(\theta/2)`
        (call inside ``mpmath.workdps(dps)``)."""
        (lo, hi), breaks = self._pieces_mp[0][k], self._pieces_mp[1][k]

        def f(theta):
            t = lo + (hi - lo) * mpmath.sin(theta / 2) ** 2
            return self._density_mp(t) * t ** power * (hi - lo) / 2 * mpmath.sin(theta)

        top = 2 * mpmath.asin(mpmath.sqrt(min(max((x - lo) / (hi - lo), 0), 1)))
        # (not closer than 1e-3 to each other or the ends: there the float rule only bisected
        # float noise, and nodes next to an edge must stay resolvable in float64)
        cuts = [mpmath.mpf(0)]
        for t in breaks:
            if t - cuts[-1] >= 1e-3 and top - t >= 1e-3:
                cuts.append(mpmath.mpf(t))
        cuts.append(top)
        return mpmath.quad(f, cuts, method="gauss-legendre", error=True)

    def _warn_mp(self, error, what):
        # the density carries dps - 3 digits, and mpmath's estimate (the change over the last degree)
        # overstates the error (measured on the arcsine law of ReLU at depth 3: 1e-27 at dps = 30,
        # estimated 1e-25): warn below dps - 7 estimated digits
        if error > mpmath.mpf(10) ** (7 - self.dps):
            warnings.warn(f"the {what} of {self._name()} is accurate to {mpmath.nstr(error, 2)} only "
                          f"(not {self.dps} digits)", AccuracyWarning, stacklevel=4)

    def _cdf_mp(self, x, continuous):
        points = x = _as_points(x, "cdf", finite=False)
        with mpmath.workdps(self.dps):
            pieces = self._pieces_mp[0]
            parts = [self._integral_mp(k, hi) for k, (lo, hi) in enumerate(pieces)]
            error = sum(e for _, e in parts)
            total = sum(v for v, _ in parts) if parts else mpmath.mpf(0)
            if continuous and not total > 0:
                raise ValueError("the law has no continuous part")
            out = []
            for xi in x.ravel():
                cont = mpmath.mpf(0)
                for k, ((lo, hi), (whole, _)) in enumerate(zip(pieces, parts)):
                    if xi >= hi:
                        cont += whole
                    elif xi > lo:
                        value, err = self._integral_mp(k, mpmath.mpf(xi))
                        cont, error = cont + value, error + err
                out.append(cont / total if continuous else
                           cont + sum(a.mass for a in self.atoms if xi >= a.location))
            self._warn_mp(error, "cdf")
        return _like_input(np.array(out, dtype=object).reshape(x.shape), points)

    def peak(self) -> Peak:
        """Location and height of the density maximum.

        An edge, or an atom inside the support, where the density diverges (inverse square
        root: its value grows tenfold when the distance shrinks a hundredfold) gives height
        ``inf`` there (so does a maximum within 1e-9 of an atom, not resolved in float64);
        otherwise the maximum is located on a grid and zoomed in.  With ``dps``
        the location and height are refined to ``dps`` digits (parabolic steps on the
        ``dps``-digit density).
        """
        best = self._peak_float
        if not self.dps:
            return best
        with mpmath.workdps(self.dps):
            if math.isinf(best.height):
                edges = [m for iv in zip(self._support, self.support()) for f, m in zip(*iv) if f == best.location]
                # else an atom (the dps chain's own location of it)
                edges += [min((a.location for a in self.atoms), key=lambda m: abs(m - best.location))]
                return Peak(edges[0], mpmath.inf)
            return self._peak_mp(best)

    def _peak_mp(self, best):
        """Parabolic steps on the ``dps``-digit density from the float maximum: the vertex of the
        parabola through ``x - h, x, x + h`` is kept when the density there is not lower; ``h``
        shrinks to the square root of the last step (quadratic convergence at a smooth maximum)."""
        x = mpmath.mpf(best.location)
        f0 = self._density_mp(x)
        h = mpmath.mpf(1e-6) * max(abs(x), mpmath.mpf(1e-300))
        tiny = mpmath.mpf(10) ** (-self.dps // 2 - 2) * abs(x)
        for _ in range(12):
            fl, fr = self._density_mp(x - h), self._density_mp(x + h)
            curv = fl - 2 * f0 + fr
            if curv >= 0:  # not a smooth maximum at this scale
                h /= 100
                continue
            step = h * (fl - fr) / (2 * curv)
            if abs(step) > h:
                step = h if fr > fl else -h
            fn = self._density_mp(x + step)
            if fn >= f0:
                x, f0 = x + step, fn
            if abs(step) <= tiny:
                break
            h = max(min(h, 10 * abs(step)), tiny)
        return Peak(x, f0)

    def _density_mp(self, x):
        """The continuous density at one ``mpf`` point ``x`` (the float root, polished at ``x``
        itself in ``dps`` digits)."""
        t, z = solve(self.chain, np.array([float(x)]))
        with mpmath.workdps(self.dps):
            zm = mpmath.mpc(x, z[0].imag)
            _, g, _ = polish(self._chain_mp, t, np.array([zm], dtype=object), self.dps)
            return self._continuous_mp(g[0], zm)

    def _continuous_mp(self, g, z):
        """The continuous density from ``g = G(z)`` in ``dps`` digits: the atoms' poles taken off
        (call inside ``mpmath.workdps(dps)``)."""
        g = g - sum(a.mass / (z - a.location) for a in self.atoms)
        return max(-mpmath.im(g) / mpmath.pi, mpmath.mpf(0))

    @staticmethod
    def _diverging_edge(interval, near_edges):
        """``Peak(edge, inf)`` at the first edge of ``interval = (a, b)`` where the density diverges, from
        its values at 1e-6 and 1e-10 of the width from each edge (``near_edges``), else ``None``."""
        a, b = interval
        for edge, near in zip((a, b), near_edges):
            # diverging: tenfold up, and far above the mean density 1/width (not a rise from ~0)
            if near[1] > 30 * near[0] and near[1] > 100 / (b - a):
                return Peak(float(edge), math.inf)
        return None

    @cached_property
    def _peak_float(self):
        """The float64 maximum: every interval's edges checked for a divergence, then grids zoomed in
        from several starts.  The density is evaluated for all intervals and starts at once (one
        vectorised solve per stage instead of one per start and round: each continuation in ``eta``
        costs about the same whatever its number of points); the near-edge points start from the
        support scan's roots and every zoom round from the roots known by then (Newton, no
        continuation in ``eta``), so that once the support is known the peak costs less than a density."""
        # an atom inside an interval is an edge too (inverse-square-root spikes on either side)
        intervals = _split_at_atoms(self._support, self._atoms)
        if not intervals:
            raise ValueError("the law has no continuous part (only atoms); it has no density peak")
        grid, dens, t_grid, edge_roots = self._support_scan[1:]
        frac = np.linspace(0, 1, 65)[1:-1]  # 63 points a round, each round narrows 32-fold
        ab = np.array(intervals, dtype=float)
        # starts known from the scan: the neighbourhood of the highest point of the support finder's grid
        # in each interval (it resolves every scale: narrow spikes next to atoms and edges), and the whole
        # interval where the grid holds fewer points than one zoom round (a smooth activation's law: no grid)
        starts = []  # (interval index, lo, hi)
        for i, (a, b) in enumerate(intervals):
            inside = np.flatnonzero((grid > a) & (grid < b))
            if inside.size < frac.size:
                starts.append((i, a, b))
            if inside.size:
                k = inside[int(np.argmax(dens[inside]))]
                starts.append((i, max(grid[max(k - 1, 0)], a), min(grid[min(k + 1, grid.size - 1)], b)))
        # stage 1, one solve (edge-relative next to the floor), from the scan's roots: from both edges of
        # every interval, at 1e-10 of its width and a geometric grid from 1e-6 up (ratio 1.58): the first
        # two values tell a divergence, the grid a spike next to an edge, narrower than the scan's cosine
        # grid (hard-tanh/orthogonal (1, 0, depth 6, q0 10) peaks 6e-4 of its interval's width from the
        # edge).  Not denser below 1e-6: next to the floor of a smooth activation's law each point there
        # costs as much as a tenth of a 1,000-point density (tanh/orthogonal at q* = 0.1, depth 10).
        # The same solve takes the first zoom round of the scan's starts.
        delta = np.concatenate([[1e-10], np.geomspace(1e-6, 0.25, 28)])
        edge = np.stack([ab[:, 0], ab[:, 1]], axis=1)[:, :, None]  # (interval, side, 1)
        sign = np.array([1.0, -1.0])[None, :, None]
        offset = sign * (ab[:, 1] - ab[:, 0])[:, None, None] * delta  # (interval, side, point)
        lo = np.array([l for _, l, _ in starts], dtype=float)
        hi = np.array([h for _, _, h in starts], dtype=float)
        first = (lo[:, None] + (hi - lo)[:, None] * frac).ravel()
        base = np.concatenate([np.broadcast_to(edge, offset.shape).ravel(), first])
        step = np.concatenate([offset.ravel(), np.zeros(first.size)])
        known = (grid, t_grid) if grid.size > 1 else None
        ends = np.isin(edge_roots[0], ab)  # (intervals merged by the scan keep only their outer edges)
        edges = (edge_roots[0][ends], edge_roots[1][ends])
        # all of them on the chain relative to the floor (one solve, not two: for a smooth activation's law
        # most of the cost is per solve), the points next to the floor at their exact offsets
        floor = self._floor
        t, values = self._t_density_from_edge(np.full(base.shape, floor),
                                              np.where(base == floor, step, (base - floor) + step), known, edges)
        found = np.isfinite(t)
        known_x, known_t = (np.concatenate([grid, (base + step)[found]]), np.concatenate([t_grid, t[found]]))
        side_x, side_dens = edge + offset, values[:offset.size].reshape(offset.shape)
        edge_dens = side_dens[:, :, 1::-1]  # at 1e-6 and 1e-10 of the width (see _diverging_edge)
        # in the order of the intervals (as a search interval by interval would find them): a diverging
        # edge, or a start driven onto an atom in an interval before it
        diverging = [self._diverging_edge(iv, near) for iv, near in zip(intervals, edge_dens)]
        last = next((i for i, d in enumerate(diverging) if d is not None), len(intervals))
        if last == 0:
            return diverging[0]
        # starts from the near-edge grids: the highest point of each where that is a local maximum (at its
        # inner end the density still rises into the interval: that point is only a candidate, the rest
        # of the interval is the other starts')
        cands = []  # (location, height)
        rounds = [1] * len(starts)  # zoom rounds done
        firsts = values[offset.size:].reshape(len(starts), frac.size)
        for i in range(last):
            for side, f in zip(side_x[i], side_dens[i]):
                k = int(np.argmax(f))
                if k == side.size - 1:
                    cands.append((side[k], f[k]))
                    continue
                a, b = sorted((side[max(k - 1, 0)], side[k + 1]))
                starts.append((i, max(a, intervals[i][0]), min(b, intervals[i][1])))
                rounds.append(0)
        keep = [j for j, (i, _, _) in enumerate(starts) if i < last]
        which = np.array([starts[j][0] for j in keep])
        rounds = np.array([rounds[j] for j in keep])
        lo = np.array([starts[j][1] for j in keep], dtype=float)
        hi = np.array([starts[j][2] for j in keep], dtype=float)
        a_of, b_of = ab[which].T
        xs = lo[:, None] + (hi - lo)[:, None] * frac
        f = np.zeros(xs.shape)
        scanned = np.flatnonzero(rounds == 1)
        f[scanned] = firsts[np.array(keep)[scanned]]
        # stage 2: zoom in on every start at once, 3 rounds each (a bracket 32^3 = 3e4 times narrower: the
        # height of a smooth maximum to ~1e-10 from a bracket as wide as the peak); the roots of each
        # round start from those known by then (Newton, no continuation in eta)
        rows = np.arange(which.size)
        while True:
            # a point on an atom (an interval's edge) is no maximum: the start driven onto it is caught below
            f = np.where(np.isfinite(f), f, 0.0)
            zoom = rounds >= 1
            k = np.argmax(f, axis=1)
            step = xs[:, 1] - xs[:, 0]
            lo = np.where(zoom, np.maximum(xs[rows, k] - step, a_of), lo)
            hi = np.where(zoom, np.minimum(xs[rows, k] + step, b_of), hi)
            todo = np.flatnonzero(rounds < 3)
            if todo.size == 0:
                break
            xs[todo] = lo[todo, None] + (hi - lo)[todo, None] * frac
            x = xs[todo].ravel()
            t, f_new = self._t_density_from_edge(np.full(x.shape, floor), x - floor, (known_x, known_t), edges)
            f[todo] = f_new.reshape(todo.size, frac.size)
            known_x, known_t = np.concatenate([known_x, xs[todo].ravel()]), np.concatenate([known_t, t])
            rounds[todo] += 1
        best = None
        for x, height in list(zip(xs[rows, k], f[rows, k])) + cands:
            cand = Peak(float(x), float(height))
            atom = min(self._atoms, key=lambda t: abs(t.location - cand.location), default=None)
            if atom is not None and abs(atom.location - cand.location) <= 1e-9 * abs(atom.location):
                # driven onto an atom: a spike next to it that float64 does not resolve (the
                # isometry preset at depth 5: an inverse-square-root edge 5e-12 from an atom)
                return Peak(atom.location, math.inf)
            if best is None or cand.height > best.height:
                best = cand
        return diverging[last] if last < len(intervals) else best
