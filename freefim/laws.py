r"""Probability laws on :math:`[0, \infty)` and their S-transforms.

Conventions (Voiculescu; Hayase & Karakida 2021):

.. math::

    \psi_\nu(y) = \int \frac{y t}{1 - y t}\, d\nu(t), \qquad
    \chi_\nu = \psi_\nu^{-1}, \qquad S_\nu(w) = \chi_\nu(w)\,\frac{1 + w}{w},

so that :math:`S_{\mu\boxtimes\nu} = S_\mu S_\nu` and :math:`S_{a\nu}(w) = S_\nu(w)/a`.

Each law exposes what the solver and the tests need: ``s_transform(w)``
returning ``(S(w), S'(w))`` with rational operations only (so it runs on
complex numpy arrays and on object arrays of ``mpmath.mpc`` alike), the first
two moments, its atoms and an upper bound of its support.

One family for three number contexts.  The parameters may be floats, ``mpmath.mpf`` or sympy
numbers and symbols (``law.with_numbers(convert)`` maps them): the same ``s_transform`` then
returns float64 arrays, mpmath numbers or sympy expressions, and so does the closed-form
``r_transform`` of :class:`PointMass`, :class:`Bernoulli`, :class:`MarchenkoPastur` and
:class:`Shifted` (one code path; ``_sqrt`` picks the square root of the context).  What is
generic is written once on :class:`Law`, exactly, in sympy (imported only there): the moment
series (``moments(n)``, from :math:`\psi = \chi^{-1}`), ``free_cumulants(n)``, the
R-transform of any law with an S-transform (a resultant), ``subs``, ``numeric``.  The symbolic
layer (:mod:`freefim.symbolic`) uses these laws with sympy parameters; the atom rule of
:math:`\boxtimes` is the one :func:`free_product_atoms` for every context.

Smooth activations (:class:`SmoothLaw`).  The transform of
:math:`\rho = \mathrm{law}(c\,\phi'(\sqrt q Z)^2)` is computed exactly (to ~1e-10..1e-15) by a
composite Gauss–Legendre rule with pole subtraction (``_psi``), but inverting it by Newton at
every chain evaluation costs ~10 quadratures per point and layer.  So each law builds, once,
a rational (AAA, Nakatsukasa–Sète–Trefethen 2018) approximation of
:math:`k(w) = (S(w) - S(\infty))(1 + w)`, :math:`S(\infty) = 1/\sup r`, from samples that need
no inversion: points :math:`\xi = 1/y` on the cut :math:`[0, \sup r]` (boundary values), at
heights above it, clustered geometrically at both ends, on the real axis outside it and far
away, each mapped exactly by ``_psi`` (one vectorised call).  Why this form: ``S`` is bounded
(``chi`` itself has a pole at ``w = -1`` and is huge near it); subtracting :math:`S(\infty)` with
:math:`\chi - 1/U = (U - \xi)/(U\xi)` taken from the exact gap makes :math:`S(\infty)` (the
inverse-square-root top, hence the support edge of every law built from it) exact, and the
AAA error is weighted by :math:`1/|1+w|`, the factor by which an error in ``k`` enters ``S``.
The rational is fitted on the upper half ``w``-plane, the lower one follows from
:math:`S(\bar w) = \overline{S(w)}`, real ``w`` give real ``S``; ``S'`` is the barycentric
derivative.  Next to ``w = -1`` (``y -> infinity``, where :math:`\rho` has mass at every scale
and the boundary curve of the image hugs the real axis) no rational of modest degree
converges, so a box there gets a second AAA fit, of ``S`` itself, from exact samples (the
damped Newton) on a polar grid around ``w = -1``, certified on its own (``_near``).  Inside its
radius (1e-3) a third fit (``_tail``), of :math:`\log(-\chi)` in :math:`u = \log(1 + w)`
(nearly linear where ``rho`` has a power tail at 0: erf), from samples of ``1 + psi`` on rings of
``|y|`` down to ``|1 + w|`` = 1e-18, serves the floor of a smooth law's spectrum (the battery's
erf/orthogonal (1.582, 0.673, depth 3): 75,774 exact Newtons, 6,958 with it).  What no fit serves
(the wedge along the cut :math:`w < -1` farther out, real ``w``, ``1 + w`` below the tail fit's
certified range: 7e-12 for erf at q = 2.17) is left to the exact damped Newton, started from an
immutable table of exact ``(w, chi, psi')`` (no warm-start state).  The main fit stops at ``fit_tol`` = 1e-12 of its
largest weighted sample (the samples are exact to ~1e-13 of it): tanh at q* = 0.1 needs 40 terms
(33 at 1e-11, 107 at 3e-13, where the greedy run meets the samples' noise), and with the second
fit the tanh density at depth 100 costs 2.5x less than with the exact Newton in the box.
Certificate: at build time the relative error of ``S`` is measured on a separate jittered
sample set (including points just across the cut, the analytic continuation the solver's
iterates need) and must be below
``SmoothLaw.certify_tol`` (1e-9), else a larger box is tried, else every evaluation is the
exact Newton; the figure is ``SmoothLaw.certificate`` (tanh laws: 2e-12..5e-11).  A pole of
the integrand next to a Gauss node (where the subtraction would cancel to ~eps/delta^2) is
summed on its panel by the interlaced (n+1)-point rule (``_swap_panels``).  ``dps``: the float value is
polished by Newton with the quadrature at the working precision, as before.
"""
from __future__ import annotations

import math
from functools import cached_property
from typing import TYPE_CHECKING

import mpmath
import numpy as np

from .quadrature import gaussian_rule, panel_nodes

if TYPE_CHECKING:
    from .activations import Activation

__all__ = ["Law", "PointMass", "Bernoulli", "MarchenkoPastur", "FreeProduct", "Shifted", "SmoothLaw",
           "free_product", "shift", "scaled", "activation_law"]


def _positive(name, value, zero_ok=False):
    """``value`` if it is a finite real number > 0 (>= 0 with ``zero_ok``), else ``ValueError`` naming
    it; symbolic (sympy) values with free symbols pass unchecked."""
    if getattr(value, "free_symbols", None):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or number < 0 or (number == 0 and not zero_ok):
        raise ValueError(f"{name} must be a finite number {'>=' if zero_ok else '>'} 0, got {value!r}")
    return value


def _symbolic(value):
    """True for a sympy object (``free_symbols``: sympy is never imported for floats and mpmath)."""
    return hasattr(value, "free_symbols")


def _decide(relation):
    """``bool(relation)``, or ``None`` where sympy cannot decide it (a comparison with a symbol)."""
    try:
        return bool(relation)
    except TypeError:
        return None


def _positive_mass(mass, values=None):
    """Whether an atom of mass ``mass`` exists: ``mass > 0`` for numbers; for sympy masses whose
    sign is undecidable (placeholder symbols), ``values`` (symbol -> number) decide it, else the
    atom is kept."""
    sign = _decide(mass > 0)
    if sign is None and values:
        value = mass.subs(values)
        if not value.free_symbols:
            import sympy as sp

            return bool(sp.N(value, 30) > 0)
    return sign is not False


def _sqrt(x):
    """Square root in ``x``'s own number context: float64 arrays (complex), mpmath, sympy."""
    if _symbolic(x):
        import sympy as sp

        return sp.sqrt(x)
    if isinstance(x, (mpmath.mpf, mpmath.mpc)):
        return mpmath.sqrt(x)
    if isinstance(x, np.ndarray) and x.dtype == object:
        return np.array([mpmath.sqrt(v) for v in x.ravel()], dtype=object).reshape(x.shape)
    return np.sqrt(np.asarray(x, dtype=complex))


def _inverse(c, w):
    """``1 / c`` in the number context of ``w`` for a Python ``int`` ``c`` (exact for sympy ``w``, at the
    working precision for mpmath; the same float for float64), ``1 / c`` otherwise."""
    return (1 + 0 * w) / c if isinstance(c, int) else 1 / c


def _series(expr, var, n):
    """Taylor coefficients ``[c_0, ..., c_n]`` of ``expr`` at ``var = 0`` (sympy)."""
    import sympy as sp

    ser = sp.series(expr, var, 0, n + 1).removeO()
    return [sp.simplify(ser.coeff(var, k)) for k in range(n + 1)]


def _reverse(coeffs):
    r"""Compositional inverse of :math:`f(y) = \sum_{k\ge1} a_k y^k` (``coeffs[0] = 0``), same order."""
    import sympy as sp

    n = len(coeffs) - 1
    y = sp.Dummy("y")
    b = [sp.Integer(0), 1 / coeffs[1]]
    for k in range(2, n + 1):
        c = sp.Dummy("c")
        g = sum(b[j] * y ** j for j in range(1, k)) + c * y ** k
        f_g = sp.expand(sum(coeffs[j] * g ** j for j in range(1, k + 1)))
        b.append(sp.simplify(sp.solve(f_g.coeff(y, k), c)[0]))
    return b


def moments_from_cumulants(k):
    r"""Moments ``[m_1..m_n]`` from free cumulants ``[k_1..k_n]``: :math:`h^{-1}(w) = w/(1 + wR(w))`
    reversed, :math:`h(y) = y(1 + \psi(y))` (sympy, exact)."""
    import sympy as sp

    n = len(k)
    y = sp.Dummy("y")
    hinv = _series(y / (1 + sum(k[j] * y ** (j + 1) for j in range(n))), y, n + 1)
    return [sp.simplify(c) for c in _reverse(hinv)[2:]]


class Law:
    """A probability law on ``[0, inf)`` described through its S-transform."""

    #: first and second moments
    m1 = m2 = None
    #: tuple of ``(location, mass)`` pairs, masses > 0
    atoms = ()
    #: an upper bound of the support
    upper = None
    #: no atoms and mass in every [0, eps]: then so has mu [x] this law (Courant–Fischer)
    continuous_from_zero = False
    #: a continuous law whose S-transform is computed by quadrature and Newton (not in closed form)
    numerical = False
    #: tolerance of the density quadrature of a law built from this one (its density's accuracy)
    quadrature_tol = 1e-12

    def s_transform(self, w):
        """Return ``(S(w), dS/dw)`` elementwise."""
        raise NotImplementedError

    def with_numbers(self, convert):
        """The same law with every number parameter mapped by ``convert`` (e.g. ``mpmath.mpf`` for a
        ``dps``-digit law, ``sympy.nsimplify`` for an exact one)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ exact transforms (sympy)
    # Conventions: G(z) = int dnu/(z - t), R(w) = G^{-1}(w) - 1/w, related to S by
    # S(w) = 1/R(w S(w)) (Nica & Speicher, Lecture 18).  sympy is imported here only.
    def r_transform(self, w):
        r"""R-transform, the branch with :math:`R(0) = m_1`, from :math:`R(wS(w)) = 1/S(w)`: :math:`u = wS(w)`
        and :math:`R = 1/S(w)` eliminated by a resultant in :math:`w` (sympy; laws with a closed form
        override it with one that runs on every number context)."""
        import sympy as sp

        v = sp.Dummy("w")
        num, den = sp.fraction(sp.cancel(self.exact().s_transform(v)[0]))
        u, r = sp.Dummy("u"), sp.Dummy("R")
        res = sp.resultant(sp.expand(u * den - v * num), sp.expand(r * num - den), v)
        target = self.moments(1)[0]
        for root in sp.solve(res, r):
            if sp.simplify(sp.limit(root, u, 0, "+") - target) == 0:
                return sp.simplify(root.subs(u, w))
        raise ValueError(f"no branch of the R-transform of {self!r} has R(0) = m1")

    def moments(self, n):
        r"""Exact moments ``[m_1, ..., m_n]`` (sympy): :math:`\psi = \chi^{-1}` as a power series."""
        import sympy as sp

        v = sp.Dummy("w")
        chi = _series(sp.cancel(v * self.exact().s_transform(v)[0] / (1 + v)), v, n)
        return _reverse(chi)[1:]

    def free_cumulants(self, n):
        """Exact free cumulants ``[k_1, ..., k_n]`` (``R(w) = sum k_{j+1} w^j``), from the moments."""
        import sympy as sp

        m = self.moments(n)
        h = [sp.Integer(0), sp.Integer(1)] + list(m)  # h(y) = G(1/y) = y (1 + psi(y)), order n + 1
        inv = _reverse(h)  # h^{-1}(w) = w / (1 + w R(w))
        y = sp.Dummy("y")
        series = _series(sp.Integer(1) / sum(inv[j] * y ** (j - 1) for j in range(1, len(inv))), y, n)
        return [sp.simplify(series[j]) for j in range(1, n + 1)]  # 1/(h^{-1}/w) = 1 + w R(w)

    def exact(self):
        """The same law with sympy parameters (floats as the sympy Float they are); ``ValueError`` for
        a law built from a smooth activation's (no symbolic form)."""
        if self.numerical:
            raise ValueError(f"{self!r} has no symbolic form (its S-transform is computed by quadrature)")
        import sympy as sp

        return self.with_numbers(sp.sympify)

    def subs(self, values):
        """The law with sympy symbols replaced by ``values`` (a dict)."""
        import sympy as sp

        return self.with_numbers(lambda v: sp.sympify(v).subs(values))

    def numeric(self, values=None):
        """The float64 law, with the symbols of ``values`` substituted first."""
        import sympy as sp

        return self.with_numbers(lambda v: float(sp.sympify(v).subs(dict(values or {}))))

    def __mul__(self, c):
        """``c * law``: :func:`scaled`."""
        return scaled(self, c) if not isinstance(c, Law) else NotImplemented

    __rmul__ = __mul__

    def __add__(self, a):
        """``law + a``: :func:`shift`."""
        return shift(self, a) if not isinstance(a, Law) else NotImplemented

    __radd__ = __add__

    def mass_at(self, location):
        """Mass of the atom at ``location`` (0 if there is none)."""
        for a, m in self.atoms:
            if a == location:
                return m
        return 0


class PointMass(Law):
    r""":math:`\delta_a`, :math:`S(w) = 1/a`."""

    def __init__(self, a):
        self.a = a = _positive("the point mass's location a", a)
        self.m1, self.m2 = a, a * a
        self.atoms = ((a, 1),)
        self.upper = a

    def s_transform(self, w):
        return 0 * w + _inverse(self.a, w), 0 * w

    def r_transform(self, w):
        return self.a + 0 * w

    def with_numbers(self, convert):
        return PointMass(convert(self.a))

    def __repr__(self):
        return f"PointMass({self.a})"


class Bernoulli(Law):
    r"""``scale`` times Bernoulli(``p``) on :math:`\{0, 1\}`.

    :math:`S(w) = \frac{1 + w}{(p + w)\,c}` with :math:`c` = ``scale``; atoms
    :math:`1-p` at 0 and :math:`p` at :math:`c`.  ``p = 1`` is the point mass at ``c``.
    """

    def __init__(self, p, scale=1):
        self.p, self.scale = _positive("p", p, zero_ok=True), _positive("scale", scale)
        if not getattr(p, "free_symbols", None) and p > 1:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.m1, self.m2 = scale * p, scale * scale * p
        self.atoms = tuple((a, m) for a, m in ((0 * scale, 1 - p), (scale, p)) if _positive_mass(m))
        self.upper = scale

    def s_transform(self, w):
        p, c = self.p, self.scale
        pw = w + p
        inv = _inverse(c, w) / pw
        return (w + 1) * inv, ((p - 1) * inv) / pw

    def r_transform(self, w):
        r""":math:`R(w) = \frac{cw - 1 + \sqrt{(1 + cw)^2 - 4cw(1-p)}}{2w}` (principal root)."""
        c, p = self.scale, self.p
        return (c * w - 1 + _sqrt((1 + c * w) ** 2 - 4 * c * w * (1 - p))) / (2 * w)

    def with_numbers(self, convert):
        return Bernoulli(convert(self.p), convert(self.scale))

    def __repr__(self):
        return f"Bernoulli(p={self.p}, scale={self.scale})"


class MarchenkoPastur(Law):
    r"""``scale`` times Marchenko–Pastur of ratio :math:`\lambda` = ``ratio`` and mean 1:
    :math:`S(w) = \frac{1}{(1 + \lambda w)\,c}`.

    It is the limiting law of :math:`X X^T / N` for a ``p x N`` matrix ``X`` with i.i.d. unit
    entries and ``p / N -> ratio``: :math:`m_2 = c^2 (1 + \lambda)`, support
    :math:`c\,[(1 - \sqrt\lambda)^2, (1 + \sqrt\lambda)^2]` and, for :math:`\lambda > 1`, an
    atom :math:`1 - 1/\lambda` at 0.  ``ratio = 1`` is the law of :math:`W^T W` for an ``M x M``
    matrix with i.i.d. :math:`N(0, 1/M)` entries (Gaussian weights); ``MarchenkoPastur(1 / r, r)``
    is the free Poisson law of rate ``r``.
    """

    def __init__(self, ratio=1, scale=1):
        self.ratio, self.scale = _positive("ratio", ratio), _positive("scale", scale)
        lam, c = self.ratio, self.scale
        self.m1, self.m2 = c, c * c * (1 + lam)
        above = _decide(lam > 1)
        if above is None:
            raise ValueError(f"ratio {lam!r}: whether it exceeds 1 (an atom at 0) is undecidable; give a number")
        self.atoms = ((0 * c, 1 - 1 / lam),) if above else ()
        self.upper = (c * (1 + (_sqrt(lam) if _symbolic(lam) else lam ** 0.5)) ** 2) if lam != 1 else 4 * c
        self.continuous_from_zero = lam == 1

    def s_transform(self, w):
        c, lam = self.scale, self.ratio
        a = 1 + lam * w
        inv = 1 / (a * c)
        return inv, -lam * inv / a

    def r_transform(self, w):
        r""":math:`R(w) = \frac{c}{1 - \lambda c w}`."""
        c = self.scale
        return c / (1 - self.ratio * c * w)

    def density(self, x):
        r"""The continuous density in closed form, :math:`\frac{\sqrt{(b - x)(x - a)}}{2\pi\lambda c x}` on
        :math:`[a, b] = c\,[(1 - \sqrt\lambda)^2, (1 + \sqrt\lambda)^2]` (0 elsewhere; float64 arrays): the
        exact reference for the solver (with ``ratio = 1 / r``, ``scale = r`` the free Poisson law of rate ``r``)."""
        x = np.asarray(x, dtype=float)
        lam, c = float(self.ratio), float(self.scale)
        a, b = c * (1 - math.sqrt(lam)) ** 2, c * (1 + math.sqrt(lam)) ** 2
        with np.errstate(all="ignore"):
            out = np.sqrt(np.maximum((b - x) * (x - a), 0)) / (2 * np.pi * lam * c * x)
        return np.where((x > a) & (x < b), out, 0.0)

    def with_numbers(self, convert):
        return MarchenkoPastur(convert(self.ratio), convert(self.scale))

    def __repr__(self):
        return f"MarchenkoPastur(ratio={self.ratio}, scale={self.scale})"


class FreeProduct(Law):
    r"""Free multiplicative convolution :math:`\mu \boxtimes \nu`: :math:`S = S_\mu S_\nu`.

    Moments: :math:`m_2 = m_2^\mu (m_1^\nu)^2 + (m_1^\mu)^2 m_2^\nu - (m_1^\mu m_1^\nu)^2`.
    Atoms (Belinschi 2003): at 0 the mass :math:`\max(\mu\{0\}, \nu\{0\})`; at
    :math:`ab \neq 0` the mass :math:`\mu\{a\} + \nu\{b\} - 1` when positive.
    """

    def __init__(self, first, second):
        self.first, self.second = first, second
        a1, a2, b1, b2 = first.m1, first.m2, second.m1, second.m2
        self.m1 = a1 * b1
        self.m2 = a2 * b1 * b1 + a1 * a1 * b2 - a1 * a1 * b1 * b1
        self.atoms = free_product_atoms(first.atoms, second.atoms)
        self.upper = first.upper * second.upper
        self.continuous_from_zero = not self.atoms and (first.continuous_from_zero or second.continuous_from_zero)
        self.numerical = first.numerical or second.numerical
        self.quadrature_tol = max(first.quadrature_tol, second.quadrature_tol)

    def s_transform(self, w):
        s1, d1 = self.first.s_transform(w)
        s2, d2 = self.second.s_transform(w)
        return s1 * s2, d1 * s2 + s1 * d2

    def with_numbers(self, convert):
        return FreeProduct(self.first.with_numbers(convert), self.second.with_numbers(convert))

    def __repr__(self):
        return f"FreeProduct({self.first!r}, {self.second!r})"


def free_product_atoms(atoms_mu, atoms_nu, values=None):
    """Atoms of ``mu [x] nu`` from the atoms of ``mu`` and ``nu`` (Belinschi 2003): at 0 the larger
    mass at 0, at ``ab != 0`` the mass ``mu{a} + nu{b} - 1`` where positive.  Float, mpmath and
    sympy atoms alike; a sympy mass whose sign is undecidable (placeholders such as hard-tanh's
    ``p_l``) is decided by ``values`` (placeholder -> number), else kept."""
    zeros = [m for a, m in atoms_mu if a == 0] + [m for b, m in atoms_nu if b == 0]
    if any(_symbolic(m) for m in zeros):
        import sympy as sp

        out = [(sp.Integer(0), sp.Max(*zeros) if len(zeros) > 1 else zeros[0])]
    else:
        zero = max(zeros + [0])
        out = [(0 * zero, zero)] if zero > 0 else []
    for a, ma in atoms_mu:
        for b, mb in atoms_nu:
            if a != 0 and b != 0:
                mass, loc = ma + mb - 1, a * b
                if _symbolic(mass) or _symbolic(loc):
                    import sympy as sp

                    mass, loc = sp.simplify(mass), sp.simplify(loc)
                if _positive_mass(mass, values):
                    out.append((loc, mass))
    return tuple(out)


class Shifted(Law):
    r""":math:`\mu \boxplus \delta_a`: the law of ``X + a`` for ``X ~ mu``, ``a >= 0``.

    Its S-transform has no closed form; :func:`freefim.spectrum` solves laws built from shifts and
    free products as a chain :math:`\mu_{l+1} = \delta_{a_l} \boxplus (\mu_l \boxtimes \nu_l)`,
    the recursion of the conditional FIM.
    """

    def __init__(self, law, a):
        self.law, self.a = law, _positive("the shift a", a, zero_ok=True)
        m1, m2 = law.m1, law.m2
        self.m1, self.m2 = m1 + a, m2 + 2 * a * m1 + a * a
        self.atoms = tuple((x + a, m) for x, m in law.atoms)
        self.upper = law.upper + a
        self.numerical, self.quadrature_tol = law.numerical, law.quadrature_tol

    def s_transform(self, w):
        raise ValueError(f"{self!r} has no closed-form S-transform: solve it with freefim.spectrum(law)")

    def r_transform(self, w):
        """:math:`R = R_\\nu + a`."""
        return self.law.r_transform(w) + self.a

    def free_cumulants(self, n):
        """Those of the law with :math:`k_1 + a`."""
        k = list(self.law.free_cumulants(n))
        return [k[0] + self.a] + k[1:] if k else k

    def moments(self, n):
        return moments_from_cumulants(self.free_cumulants(n))

    def with_numbers(self, convert):
        return Shifted(self.law.with_numbers(convert), convert(self.a))

    def __repr__(self):
        return f"Shifted({self.law!r}, {self.a})"


def _law(value, position):
    if not isinstance(value, Law):
        raise ValueError(f"{position} must be a freefim.laws.Law, got {value!r}")
    return value


def free_product(*laws: Law) -> Law:
    r"""The free multiplicative convolution :math:`\nu_1 \boxtimes \cdots \boxtimes \nu_n`
    (:math:`S = \prod S_{\nu_i}`).  At most one factor may contain a shift
    (:func:`shift`): the product is then solved as a chain (``freefim.spectrum``)."""
    if not laws:
        raise ValueError("free_product needs at least one law")
    out = _law(laws[0], "argument 1")
    for i, law in enumerate(laws[1:], 2):
        out = FreeProduct(out, _law(law, f"argument {i}"))
    return out


def shift(law: Law, a: float) -> Law:
    r""":math:`\nu \boxplus \delta_a` (``a >= 0``): the law moved right by ``a``."""
    return Shifted(_law(law, "law"), a)


def scaled(law: Law, c: float) -> Law:
    r""":math:`\nu \boxtimes \delta_c` (``c > 0``): the law of ``c X``, :math:`S(w) / c`."""
    return FreeProduct(_law(law, "law"), PointMass(c))


def activation_law(activation: Activation | str, q: float, scale: float = 1) -> Law:
    r"""Law of :math:`c\,\phi'(\sqrt q Z)^2` (``c`` = ``scale``, ``Z ~ N(0, 1)``, ``activation`` a name or an
    :class:`~freefim.activations.Activation`): ``c Bernoulli(p)`` for a piecewise-linear activation, a
    :class:`SmoothLaw` otherwise.  With ``c = sigma_w^2`` it is the layer law :math:`\rho_l` of
    orthogonal weights (Hayase & Karakida 2021)."""
    from .meanfield import rho_law  # the one builder of rho_l (cached smooth laws); imported here: it imports this module

    q, scale = _positive("q", q), _positive("scale", scale)
    return rho_law(activation, q, scale, "orthogonal", mpmath.mp if isinstance(q, mpmath.mpf) else math)


# ---------------------------------------------------------------------------------------------
# continuous laws of sigma_w^2 phi'(sqrt(q) Z)^2 for smooth activations
# ---------------------------------------------------------------------------------------------
class _Exact:
    r"""``r(Z) = c\,\phi'(\sqrt q Z)^2`` and its first two derivatives at complex ``Z`` from the
    activation's own complex derivatives (float) or ``derivatives_mp`` (one ``mpc``)."""

    def __init__(self, activation, q, scale):
        self.act, self.q, self.c = activation, q, scale

    def __call__(self, z, panel=None):
        s, c = math.sqrt(float(self.q)), float(self.c)
        with np.errstate(all="ignore"):
            d, d1, d2 = self.act.derivatives(s * np.asarray(z, dtype=complex))
        return c * d * d, 2 * c * s * d * d1, 2 * c * s * s * (d1 * d1 + d * d2)

    def mp(self, z, panel=None):
        s, c = mpmath.sqrt(self.q), self.c
        d, d1, d2 = self.act.derivatives_mp(s * z)
        return c * d * d, 2 * c * s * d * d1, 2 * c * s * s * (d1 * d1 + d * d2)


class _Surrogate:
    r"""``r(Z)`` of a user activation, known on the real axis only: for each quadrature panel one
    Chebyshev interpolant (degree 48, from real values of ``phi'``) on the panel and its two
    neighbours, continued analytically into the complex plane, so that a pole just outside a
    panel is found with that panel's own function.  Kinks of ``phi'`` must sit at ``u = 0`` (a
    panel edge, never crossed by a window); a window whose interpolant does not converge to
    ~1e-11 raises ``ValueError``."""

    degree = 48

    def __init__(self, activation, q, scale, edges):
        C = np.polynomial.chebyshev
        s, c = math.sqrt(float(q)), float(scale)
        edges = edges.astype(float)
        n = edges.size - 1
        lo = np.array([edges[max(k - 1, 0)] if not (edges[k] >= 0 > edges[max(k - 1, 0)]) else edges[k]
                       for k in range(n)])
        hi = np.array([edges[min(k + 2, n)] if not (edges[k + 1] <= 0 < edges[min(k + 2, n)]) else edges[k + 1]
                       for k in range(n)])
        self.a, self.b = lo, hi
        coef = []
        for a, b in zip(self.a, self.b):
            f = lambda x, a=a, b=b: c * np.asarray(activation.dphi(s * ((a + b) / 2 + (b - a) / 2 * x)),  # noqa: E731
                                                  dtype=float) ** 2
            k = C.chebinterpolate(f, self.degree)
            scale_k = max(np.max(np.abs(k)), 1e-300)
            if np.max(np.abs(k[-6:])) > 1e-11 * scale_k + 1e-300:
                raise ValueError(f"activation {activation.name!r}: phi'^2 is not smooth on [{a * s:g}, {b * s:g}] "
                                 "(only a kink at u = 0 is supported for user activations)")
            coef.append(k)
        self.coef = [(k, C.chebder(k), C.chebder(k, 2)) for k in coef]

    def __call__(self, z, panel):
        """Values at complex ``z``, each continued from its own ``panel``'s interpolant."""
        z = np.asarray(z, dtype=complex)
        out = [np.empty(z.shape, dtype=complex) for _ in range(3)]
        for k in np.unique(panel):
            sel = panel == k
            a, b = self.a[k], self.b[k]
            x = (2 * z[sel] - a - b) / (b - a)
            for j, (cf, o) in enumerate(zip(self.coef[k], out)):
                o[sel] = np.polynomial.chebyshev.chebval(x, cf) * (2 / (b - a)) ** j
        return tuple(out)

    def mp(self, z, panel):
        a, b = mpmath.mpf(self.a[panel]), mpmath.mpf(self.b[panel])
        x = (2 * z - a - b) / (b - a)
        out = []
        for j, cf in enumerate(self.coef[panel]):
            b1 = b2 = mpmath.mpc(0)  # Clenshaw
            for ck in cf[:0:-1]:
                b1, b2 = 2 * x * b1 - b2 + mpmath.mpf(ck), b1
            out.append((x * b1 - b2 + mpmath.mpf(cf[0])) * (2 / (b - a)) ** j)
        return tuple(out)


class SmoothLaw(Law):
    r"""Law of :math:`r = c\,\phi'(\sqrt q Z)^2`, :math:`Z \sim N(0,1)`, for a smooth activation.

    Continuous, no atoms; :math:`m_k = c^k E[\phi'^{2k}]` by quadrature.  Its transforms are
    Gaussian averages over ``Z`` (:math:`\xi = 1/y`):

    .. math::

        \psi(y) = E\Big[\frac{r}{\xi - r}\Big], \qquad
        \psi'(y) = \xi^2 E\Big[\frac{r}{(\xi - r)^2}\Big],

    by the composite Gauss–Legendre rule of :mod:`freefim.quadrature` (folded to
    :math:`Z \ge 0` when ``r`` is even).  When :math:`\xi` nears the support, the roots
    :math:`Z_*` of :math:`r(Z) = \xi` near the real axis are poles of the integrands: their
    principal parts (:math:`C/(Z-Z_*)`, and :math:`A/(Z-Z_*)^2 + B/(Z-Z_*)` for
    :math:`\psi'`) are subtracted on every panel they come close to and integrated there
    exactly (a logarithm and a rational term), so the rule only sees analytic remainders
    and boundary values on the support come out to rounding accuracy.
    ``S`` itself comes from a certified rational approximation (module docstring); where it is
    not certified, :math:`\chi = \psi^{-1}(w)` is found by Newton's method, kept in the half-plane of
    ``w`` (``psi`` maps each half-plane into itself) and on the real branch through
    :math:`\chi(0) = 0` for real ``w``; then :math:`S = \chi (1+w)/w`,
    :math:`S' = \frac{1+w}{w\,\psi'(\chi)} - \frac{\chi}{w^2}`.
    On object arrays of ``mpmath.mpc`` the float ``chi`` is refined by Newton with the rule,
    the roots and ``r`` at the working precision.
    """

    def __init__(self, activation, q, scale, fn=math):
        self.activation, self.q, self.scale = activation, q, scale
        d1, d2 = activation.derivative_moments(q, fn)
        self.m1, self.m2 = scale * d1, scale * scale * d2
        self._m1f, self._m2f = float(self.m1), float(self.m2)
        self.atoms = ()
        self.continuous_from_zero = self.numerical = True
        width = activation.strip(float(q))
        rule = gaussian_rule(width)
        zt = np.linspace(0.05, 8.0, 37)
        rt = float(scale) * np.asarray(activation.dphi(math.sqrt(float(q)) * np.concatenate([zt, -zt])), float) ** 2
        self._even = bool(np.allclose(rt[:37], rt[37:], rtol=1e-12, atol=1e-300))
        self._rule = rule = gaussian_rule(width, half=self._even)
        self._fun = _Exact(activation, q, scale) if getattr(activation, "exact_derivatives", False) \
            else _Surrogate(activation, q, scale, rule.edges)
        self._radius = min(1.0, float(width))
        # psi jitters at ~1e-10 where a Gauss node nearly hits a pole (the subtracted principal
        # part cancels the integrand there), more for a user activation (r interpolated to ~1e-11):
        # a stalled Newton is accepted at that level (~1e-9 relative)
        surrogate = isinstance(self._fun, _Surrogate)
        self._stall, self.quadrature_tol = (1e6, 1e-8) if surrogate else (5e5, 1e-10)
        r = self._fun(rule.z.astype(complex), rule.panel)[0].real
        self._r = r
        self._wr = (rule.weight * r).astype(complex)
        self._w0 = rule.weight.astype(complex)
        self.upper = scale * float(np.max(r)) / float(scale) if not hasattr(activation, "sup_dphi2") \
            else scale * activation.sup_dphi2
        self._top = 1 / max(float(self.upper), float(np.max(r)))
        self._pieces = self._monotone_pieces()

    def with_numbers(self, convert):
        q, scale = convert(self.q), convert(self.scale)
        return SmoothLaw(self.activation, q, scale, mpmath.mp if isinstance(q, mpmath.mpf) else math)

    def __repr__(self):
        return f"SmoothLaw({self.activation.name}, q={float(self.q):.6g}, scale={float(self.scale):.6g})"

    # ------------------------------------------------------------------ roots of r(Z) = xi
    def _monotone_pieces(self):
        """Real intervals where ``r`` is monotone, with a table ``(Z, r)`` for starting points,
        and the extrema ``(Z_e, r_e, r''_e)`` that start the two roots merging there."""
        rule = self._rule
        fine = np.concatenate([np.linspace(a, b, 65)[:-1] for a, b in zip(rule.edges[:-1], rule.edges[1:])]
                              + [rule.edges[-1:]])
        panel = np.minimum(np.searchsorted(rule.edges, fine, side="right") - 1, rule.edges.size - 2)
        r, r1, r2 = (np.real(v) for v in self._fun(fine.astype(complex), panel))
        pieces, extrema = [], []
        start = 0
        for i in range(1, fine.size):
            turn = (r1[i - 1] * r1[i] < 0) or (i == fine.size - 1)
            if not turn:
                continue
            pieces.append((fine[start:i + 1], r[start:i + 1], panel[start:i + 1]))
            if i < fine.size - 1:  # a sign change of r': bisection for the extremum
                lo, hi = fine[i - 1], fine[i]
                p = panel[i]
                for _ in range(60):
                    mid = 0.5 * (lo + hi)
                    if np.real(self._fun(np.array([mid + 0j]), np.array([p]))[1][0]) * r1[i - 1] > 0:
                        lo = mid
                    else:
                        hi = mid
                v = [np.real(x[0]) for x in self._fun(np.array([lo + 0j]), np.array([p]))]
                extrema.append((lo, v[0], v[2], p))
            start = i
        if self._even and not any(abs(e[0]) < 1e-6 for e in extrema):
            # r'(0) = 0 by symmetry: an extremum at Z = 0 (a user activation's interpolant gives
            # r'(0) ~ 1e-11 only; arctan's maximum there was missed: sup r 4.5e-5 low, mass 0.99991)
            extrema.append((0.0, r[0], r2[0], 0))
        slope = max(float(np.max(np.abs(r1))), 1e-300)
        return pieces, extrema, slope

    def _newton_root(self, xi, z, panel, iters=40):
        """Newton for ``r(Z) = xi`` from ``z`` (complex arrays); ``nan`` where it fails."""
        ok = np.zeros(z.shape, dtype=bool)
        act = np.arange(z.size)
        lo, hi = self._rule.edges[0] - 2 * self._radius, self._rule.edges[-1] + 2 * self._radius
        for _ in range(iters):
            if act.size == 0:
                break
            r, r1, _ = self._fun(z[act], panel[act])
            with np.errstate(all="ignore"):
                # where r is decades away from xi (the tails, r ~ e^{-cZ} or e^{-cZ^2}), Newton on
                # log r = log xi: plain Newton crawls there by ~1/(log r)' per step (20-40 steps)
                ratio = r / xi[act]
                big = np.abs(ratio)
                far = ((big > 4) | (big < 0.25)) & (ratio.real > 0.5 * big)
                step = (r - xi[act]) / r1
                if far.any():
                    step[far] = np.log(ratio[far]) * r[far] / r1[far]
                size = np.abs(step)
                bad = ~np.isfinite(size)
                step = np.where(size > 0.5, 0.5 * step / np.where(bad, 1, size), step)
            z[act] = z[act] - np.where(bad, 0, step)
            # a start that wanders off the strip of the rule leads to no root the rule needs
            bad |= (np.abs(z[act].imag) > 2 * self._radius) | (z[act].real < lo) | (z[act].real > hi)
            # converged: a step this small leaves an error ~step^2 (quadratic convergence), or the
            # residual is at rounding level (next to a double root)
            conv = (size <= 1e-11 * (1 + np.abs(z[act]))) | (np.abs(r - xi[act]) <= 1e-15 * np.abs(xi[act]))
            ok[act[conv]] = True
            act = act[~conv & ~bad]
        return np.where(ok, z, np.nan)

    def _roots(self, xi):
        """Roots near the real axis: arrays ``(point index, Z_*, panel of the function)``."""
        pieces, extrema, slope = self._pieces
        rad = self._radius
        idx, starts, pans = [], [], []
        for zs, rs, ps in pieces:
            lo, hi = float(np.min(rs)), float(np.max(rs))
            near = np.flatnonzero((xi.real > lo - slope * rad) & (xi.real < hi + slope * rad)
                                  & (np.abs(xi.imag) < 2 * slope * rad))
            if near.size == 0:
                continue
            # the real Z where r = |xi|, interpolated in log r (exact for an exponential tail, where r
            # spans decades over the table), then one Newton step on log r = log xi into the plane
            order = np.argsort(rs)
            x = xi[near]
            with np.errstate(all="ignore"):
                zr = np.interp(np.log(np.maximum(np.abs(x), 1e-300)), np.log(np.maximum(rs[order], 1e-300)),
                               zs[order])
                k = np.clip(np.searchsorted(zs, zr), 0, zs.size - 1)
                r0, d = (np.real(v) for v in self._fun(zr + 0j, ps[k])[:2])
                z0 = zr + np.log(x / r0) * r0 / d
                plain = zr + 1j * np.where(d != 0, x.imag / d, 0)
                z0 = np.where(np.isfinite(z0) & (np.abs(z0 - zr) < 2 * rad), z0, plain)
            idx.append(near), starts.append(z0), pans.append(ps[k])
        for ze, re_, r2e, p in extrema:
            # the quadratic start ze +- dz is good for |dz| < rad (farther out the pieces' starts are)
            near = np.flatnonzero(np.abs(xi - re_) < 0.5 * abs(r2e) * rad * rad)
            if near.size == 0 or r2e == 0:
                continue
            dz = np.sqrt(2 * (xi[near] - re_) / r2e + 0j)
            for sign in (1, -1):
                z0 = ze + sign * dz
                # not where dz is nearly real (xi below a peak, above a trough: the two real roots then
                # lie on the monotone pieces, whose starts find them) and the quadratic fails there
                # (Newton's first step from it over |dz| / 4): for a steep peak (tanh at q = 2.7, r
                # from 2.93 to ~0 within dz = 0.43 < rad) a tail xi ~ 1e-18 started both here and
                # walked 13-40 Newton steps to the piece's own root or off the strip
                with np.errstate(all="ignore"):
                    r0, r1 = self._fun(z0, np.full(near.size, p))[:2]
                    poor = np.abs(r0 - xi[near]) > 0.25 * np.abs(dz * r1)
                fit = ~(poor & (np.abs(np.angle(dz * dz)) < 0.2))
                idx.append(near[fit]), starts.append(z0[fit]), pans.append(np.full(np.count_nonzero(fit), p))
        if not idx:
            return np.empty(0, int), np.empty(0, complex), np.empty(0, int)
        idx, z0, pan = np.concatenate(idx), np.concatenate(starts), np.concatenate(pans)
        zr = self._newton_root(xi[idx], z0.astype(complex), pan)
        keep = np.isfinite(zr)
        if isinstance(self._fun, _Exact):
            # the neighbouring branches of log r(Z) = log xi + 2 pi i k: roots 2 pi k / |(log r)'| away,
            # near the axis too where r falls fast (erf (1.32, 1.3) at xi ~ 1e-5: Z* = 2.1 + 0.3i and
            # 2.2 - 0.4i; missing the second left psi 1.3e-9 off and chi 3e-7 off its dps=30 value)
            r, r1, _ = self._fun(np.where(keep, zr, 0), pan)
            with np.errstate(all="ignore"):
                hop = 2j * np.pi * r / r1
                more = [(k, np.flatnonzero(keep & (np.abs((zr + k * hop).imag) < rad))) for k in (-2, -1, 1, 2)]
            sel = np.concatenate([m for _, m in more])
            if sel.size:
                hops = np.concatenate([k * hop[m] for k, m in more])
                z_b = self._newton_root(xi[idx[sel]], zr[sel] + hops, pan[sel])
                idx, zr, pan = np.r_[idx, idx[sel]], np.r_[zr, z_b], np.r_[pan, pan[sel]]
                keep = np.isfinite(zr)
            if self._even:  # r(-Z) = r(Z): the mirror of a root next to Z = 0 is a root next to the folded rule
                m = keep & (np.abs(zr.real) < rad)
                idx, zr, pan = np.r_[idx, idx[m]], np.r_[zr, -zr[m]], np.r_[pan, pan[m]]
                keep = np.r_[keep, keep[m]]
        if isinstance(self._fun, _Surrogate):
            # a root belongs to the panel whose interpolant it solves; a root near a panel edge is
            # solved again with each neighbour's interpolant, since each panel needs its own pole
            edges = self._rule.edges
            idx, zr, pan = idx[keep], zr[keep], pan[keep]
            more = [(idx, zr, pan)]
            for step in (-1, 1):
                nb = pan + step
                ok = (nb >= 0) & (nb < edges.size - 1)
                nbc = np.clip(nb, 0, edges.size - 2)
                near = ok & (np.maximum(np.maximum(edges[nbc] - zr.real, zr.real - edges[nbc + 1]), 0) ** 2
                             + zr.imag ** 2 < rad * rad)
                if np.any(near):
                    more.append((idx[near], self._newton_root(xi[idx[near]], zr[near].copy(), nb[near]), nb[near]))
            idx, zr, pan = (np.concatenate(v) for v in zip(*more))
            wa, wb = self._fun.a[pan], self._fun.b[pan]  # inside the interpolant's own window
            keep = np.isfinite(zr) & (zr.real > wa - 0.05 * (wb - wa)) & (zr.real < wb + 0.05 * (wb - wa))
        keep &= (np.abs(zr.imag) < rad) & (zr.real > self._rule.edges[0] - rad) & (zr.real < self._rule.edges[-1] + rad)
        idx, zr, pan = idx[keep], zr[keep], pan[keep]
        # distinct roots per point (two starts may find the same root)
        order = np.lexsort((zr.imag, zr.real, pan, idx)) if isinstance(self._fun, _Surrogate) \
            else np.lexsort((zr.imag, zr.real, idx))
        idx, zr, pan = idx[order], zr[order], pan[order]
        # against every earlier root of the point (a root at Z = +-0i and its mirror are not neighbours in
        # the order: tanh at xi just above sup r counted +-0.072i three times, psi 5e-9 off)
        dup = np.zeros(idx.size, dtype=bool)
        surrogate = isinstance(self._fun, _Surrogate)
        group = np.bincount(idx).max() if idx.size else 0
        for d in range(1, group):
            same = (idx[d:] == idx[:-d]) & ((pan[d:] == pan[:-d]) if surrogate else True)  # per panel's interpolant
            dup[d:] |= same & (np.abs(zr[d:] - zr[:-d]) <= 1e-9 * (1 + np.abs(zr[d:])))
        return idx[~dup], zr[~dup], pan[~dup]

    # ------------------------------------------------------------------ psi, psi'
    def _psi(self, y, side=None, one_plus=False):
        r"""``psi(y)``, ``psi'(y)`` for complex numpy ``y`` (``y = 0`` allowed) on the sheet reached
        from the half-plane ``side`` (default: that of ``y``).  A real ``y`` on the cut takes the
        boundary value from :math:`\operatorname{Im} y = \pm 0`; a ``y`` across the cut from
        ``side`` takes the analytic continuation through it (each root of ``r(Z) = 1/y`` that
        crossed the real panels adds its residue :math:`2\pi i`), which the S-transform needs
        when the solver's iterates step just outside the image of the half-plane.  With ``one_plus``
        also :math:`1 + \psi(y) = E[\xi/(\xi - r)]`, summed as such: next to ``w = -1``
        (``y -> infinity``) ``1 + psi`` formed from ``psi ~ -1`` keeps only an absolute 1e-16, and a
        Newton on ``psi = w`` there stopped 1e-16/|1 + w| off (erf: 1.8e-9 at ``|1 + w| = 1.4e-7``)."""
        y = np.asarray(y, dtype=complex)
        if side is None:
            side = np.where(y.imag < 0, -1.0, 1.0)
        zero = y == 0
        with np.errstate(all="ignore"):
            xi = np.where(zero, 1.0, 1 / np.where(zero, 1.0, y))
            inv = 1 / (xi[:, None] - self._r[None, :])
            s1 = inv @ self._wr
            s2 = (inv * inv) @ self._wr
            s0 = inv @ self._w0 if one_plus else None  # 1 + psi = xi s0 (principal parts: c1 / xi)
        idx, zr, pan = self._roots(xi)
        if idx.size:
            rule = self._rule
            rad = self._radius
            r, t1, t2 = self._fun(zr, pan)
            x = xi[idx]
            phi = np.exp(-zr * zr / 2) / math.sqrt(2 * math.pi)
            c1 = -phi * x / t1
            a2 = phi * x / (t1 * t1)
            b2 = phi * ((t1 - zr * x) - x * t2 / t1) / (t1 * t1)
            fac = 2.0 if rule.half else 1.0
            edges = rule.edges
            lo, hi = edges[:-1][None, :], edges[1:][None, :]
            dist = np.maximum(np.maximum(lo - zr.real[:, None], zr.real[:, None] - hi), 0) ** 2 + zr.imag[:, None] ** 2
            close = dist < rad * rad
            if isinstance(self._fun, _Surrogate):  # only the panel of its own interpolant
                close &= np.arange(edges.size - 1)[None, :] == pan[:, None]
            j, k = np.nonzero(close)  # root j on panel k
            if j.size:
                zj = zr[j]
                a, b = edges[k], edges[k + 1]
                # exact integrals over the panel; a real root takes the side of Im y = side
                real = zj.imag == 0
                la, lb = np.log((a - zj).astype(complex)), np.log((b - zj).astype(complex))
                inside = real & (a < zj.real) & (zj.real < b)
                sgn = np.broadcast_to(side, xi.shape)[idx[j]] * np.sign(np.real(t1[j]))
                with np.errstate(divide="ignore"):  # a root on the panel's edge is not inside: dropped
                    la = np.where(inside, np.log(np.abs(zj.real - a)) + 1j * np.pi * sgn, la)
                # principal sheet: Im Z_* has the sign of -sgn; a root on the other side crossed
                # (only roots near the axis, where r' is nearly real, can have crossed)
                crossed = ~real & (a < zj.real) & (zj.real < b) & (np.sign(zj.imag) == sgn) \
                    & (np.abs(zj.imag) < 0.1 * rad) & (np.abs(t1[j].imag) < 0.5 * np.abs(t1[j].real))
                i1 = lb - la - np.where(crossed, 2j * np.pi * sgn, 0)
                i2 = 1 / (a - zj) - 1 / (b - zj)
                nodes = rule.z.reshape(-1, rule.npanel)[k]
                base = rule.base.reshape(-1, rule.npanel)[k]
                # a node next to the pole: the root is known to ~eps only, so the integrand there and
                # its subtracted principal part cancel to ~eps/delta^2 (1e-7 at delta ~ 1e-6); such a
                # panel is summed instead by the (n+1)-point rule, whose nodes interlace with the n
                # ones (the nearest then lies >~ 0.02 panel widths away)
                swap = np.min(np.abs(nodes - zj[:, None]), axis=1) < 0.01 * (b - a)
                if swap.any():
                    # every root of that point on that panel then uses the same (n+1)-point rule
                    key = idx[j] * (edges.size - 1) + k
                    swap = np.isin(key, key[swap])
                    nodes, base = self._swap_panels(s1, s2, s0, xi, idx[j], k, swap, nodes, base, zj)
                with np.errstate(all="ignore"):
                    d = 1 / (nodes - zj[:, None])
                q1 = (d * base).sum(axis=1)
                q2 = (d * d * base).sum(axis=1)
                corr1 = c1[j] * (fac * i1 - q1)
                corr2 = a2[j] * (fac * i2 - q2) + b2[j] * (fac * i1 - q1)
                np.add.at(s1, idx[j], corr1)
                np.add.at(s2, idx[j], corr2)
                if one_plus:
                    np.add.at(s0, idx[j], corr1 / x[j])
        psi = np.where(zero, 0, s1)
        dpsi = np.where(zero, self._m1f, xi * xi * s2)
        if one_plus:
            return psi, dpsi, np.where(zero, 1, xi * s0)
        return psi, dpsi

    def _swap_panels(self, s1, s2, s0, xi, rows, panels, swap, nodes, base, roots):
        r"""Re-sum, in place, the rows of ``s1``, ``s2`` (the plain rule's sums of
        :math:`r/(\xi - r)` and :math:`r/(\xi - r)^2`; ``s0``, that of :math:`1/(\xi - r)`, unless
        ``None``) whose pole sits next to a node of panel
        ``panels[p]`` (``swap[p]``, ``roots[p]``): without that panel's n nodes, plus its (n+1)- or
        (n+2)-point Gauss–Legendre rule.  Returns the pairs' nodes and base weights, the swapped ones
        replaced (n+2 columns, zero weights to fill), for the principal parts."""
        rule = self._rule
        n = rule.npanel
        sw = np.flatnonzero(swap)
        lo_e, hi_e = rule.edges[panels[sw]], rule.edges[panels[sw] + 1]
        z_alt, base_alt = panel_nodes(lo_e, hi_e, n + 1, rule.half)
        # next to a panel's end the (n+1)-point rule's end node can fall on the pole too (erf at q = 4:
        # Z* = 1.34682 is 4e-4 from the n-point rule's last node and 1e-5 from the (n+1)-point one's;
        # psi 4e-8 off): per (point, panel), the rule of the two whose nearest node to its roots lies farther
        z2, base2 = panel_nodes(lo_e, hi_e, n + 2, rule.half)
        _, key = np.unique(rows[sw] * (rule.edges.size - 1) + panels[sw], return_inverse=True)
        gap1, gap2 = np.full(key.max() + 1, np.inf), np.full(key.max() + 1, np.inf)
        np.minimum.at(gap1, key, np.min(np.abs(z_alt - roots[sw][:, None]), axis=1))
        np.minimum.at(gap2, key, np.min(np.abs(z2 - roots[sw][:, None]), axis=1))
        wider = (gap2 > gap1)[key]
        z_alt = np.concatenate([z_alt, z_alt[:, :1]], axis=1)  # n + 2 columns, the last with weight 0
        base_alt = np.concatenate([base_alt, np.zeros((sw.size, 1))], axis=1)
        z_alt[wider], base_alt[wider] = z2[wider], base2[wider]
        r_alt = np.real(self._fun(z_alt.ravel().astype(complex), np.repeat(panels[sw], n + 2))[0])
        r_alt = r_alt.reshape(z_alt.shape)
        w0_alt = base_alt * np.exp(-z_alt * z_alt / 2) / math.sqrt(2 * math.pi)
        w_alt = w0_alt * r_alt
        # the rows again without the swapped panels (never as a difference: that term is the inaccurate one)
        todo, where = np.unique(rows[sw], return_inverse=True)
        keep = np.ones((todo.size, rule.z.size), dtype=bool)
        cols = panels[sw][:, None] * n + np.arange(n)[None, :]
        keep[np.repeat(where, n), cols.ravel()] = False
        with np.errstate(all="ignore"):
            inv = np.where(keep, 1 / (xi[todo][:, None] - self._r[None, :]), 0)
            s1[todo] = inv @ self._wr
            s2[todo] = (inv * inv) @ self._wr
            if s0 is not None:
                s0[todo] = inv @ self._w0
            d_alt = 1 / (xi[rows[sw]][:, None] - r_alt)
        # once per (point, panel), however many of its roots sit on the panel
        once = np.unique(rows[sw] * (rule.edges.size - 1) + panels[sw], return_index=True)[1]
        np.add.at(s1, rows[sw][once], (d_alt * w_alt).sum(axis=1)[once])
        np.add.at(s2, rows[sw][once], (d_alt * d_alt * w_alt).sum(axis=1)[once])
        if s0 is not None:
            np.add.at(s0, rows[sw][once], (d_alt * w0_alt).sum(axis=1)[once])
        # unswapped pairs keep their n nodes; the extra columns repeat a node with weight 0
        nodes_out = np.concatenate([nodes, nodes[:, :1], nodes[:, :1]], axis=1)
        base_out = np.concatenate([base, np.zeros((base.shape[0], 2))], axis=1)
        nodes_out[sw], base_out[sw] = z_alt, base_alt
        return nodes_out, base_out

    # ------------------------------------------------------------------ chi = psi^{-1} (float)
    def _start(self, w, guess=None):
        """A first guess of ``chi(w)``: ``guess`` (the rational's value) where it is finite, else
        the ``chi`` of the two-atom law with the same ``m1``, ``m2``."""
        c, p = self._m2f / self._m1f, self._m1f ** 2 / self._m2f
        with np.errstate(all="ignore"):
            y = w / ((p + w) * c)
        if guess is not None:
            y = np.where(np.isfinite(guess), guess, y)
        return y

    def _newton_chi(self, w, y, iters=60):
        """Damped Newton for ``psi(y) = w`` from ``y``: a step is halved until it lowers
        ``|psi - w|`` and keeps ``y`` on the branch (a complex ``w``: on the sheet of ``psi`` seen
        from the half-plane of ``w``, continued just across the cut; a real ``w``: real and below
        ``1/upper``).  Returns ``y``, ``psi'(y)`` and a mask."""
        real = w.imag == 0
        sgn = np.where(real, 1.0, np.sign(w.imag))
        y = np.where(real, y.real + 0j, y)
        across = ~real & (np.sign(y.imag) != sgn) & (np.abs(y.imag) > 1e-2 * np.abs(y))  # a poor start
        y = np.where(across, y.real + 1e-3j * sgn * (np.abs(y) + 1e-3 * self._top), y)
        y = np.where(real & (y.real >= self._top), 0.5 * self._top, y)
        done = np.zeros(w.shape, dtype=bool)
        dpsi = np.full(w.shape, np.nan, dtype=complex)
        act = np.flatnonzero(np.isfinite(y) & ~(real & (w.real <= -1)))  # psi > -1 on the real branch
        if act.size == 0:
            return np.where(done, y, np.nan), dpsi, done
        # for |w| > 2 the root sits by the inverse-square-root top of rho, where psi^-2 is
        # nearly linear in y: Newton on psi^-2 = w^-2 there (same root: psi keeps the half-plane)
        big = np.abs(w) > 2
        # elsewhere the residual is (1 + psi) - (1 + w): 1 + w is exact next to -1 (Sterbenz), 1 + psi
        # summed as such, so the root is found to a rounding error relative to |1 + w|
        one_w = 1 + w
        # next to w = -1 (y -> infinity) 1 + psi(y) = E[xi/(xi - r)] falls like the mass of rho below
        # |xi| = 1/|y|: a power of y (erf: y^(-1/4q)) or faster.  Newton in y crawls there, by a factor
        # ~(1 + 1/a) of y a step (erf/orthogonal (1.989, 0.809, depth 2): 70-160 psi evaluations a
        # point at 1e-20..1e-50 of the width above its floor); on log(1 + psi) = log(1 + w) in log y,
        # where a power is a line, it takes a few
        logs = ~big & (np.abs(one_w) < LOG_NEWTON)
        # next to w = 0 the residual is psi - w, to a rounding error relative to |w|: 1 + psi is O(1) there, and
        # S = chi (1 + w)/w was 1e-16/|w| off (tanh/Gaussian (0.516, 0.516, depth 8): 1e-6 at |w| = 1e-10, its
        # derivative wrong by 100%; far from the support its solver could not land)
        small = ~big & (np.abs(w) < 0.5)

        def residual(ps, dp, op, i, yi):
            with np.errstate(all="ignore"):
                inv = ps ** -2.0
                lin = np.where(big[i], inv - w[i] ** -2.0, np.where(small[i], ps - w[i], op - one_w[i]))
                dlin = np.where(big[i], -2 * dp * inv / ps, dp)
                return np.where(logs[i], np.log(op / one_w[i]), lin), np.where(logs[i], yi * dp / op, dlin)

        def advance(yv, move, log):  # a Newton move in y, or in log y where ``log``
            with np.errstate(all="ignore"):
                return np.where(log, yv * np.exp(-move), yv - move)

        ps, dp, op = self._psi(y[act], sgn[act], one_plus=True)
        res, dres = residual(ps, dp, op, act, y[act])
        for _ in range(iters):
            wa, ya, la = w[act], y[act], logs[act]
            dpsi[act] = dp
            # the residual's rounding floor: |psi'| |y| eps (steep psi near an edge of the support); in
            # log form |psi'| |y| / |1 + psi| eps
            tol = np.where(big[act], 2e-15 * np.abs(wa) ** -2.0,
                           np.where(la, 2e-15, 2e-15 * np.abs(np.where(small[act], wa, one_w[act])))) \
                + 1e-15 * np.abs(dres * np.where(la, 1, ya))
            conv = np.abs(res) <= tol
            with np.errstate(all="ignore"):
                step = res / dres
                # in log y at most a factor e^30 a step (y stays in the float range)
                step = np.where(la & (np.abs(step) > 30), 30 * step / np.abs(step), step)
            step = np.where(real[act], step.real, step)
            # a Newton step this small leaves an error far below rounding: accept it
            tiny = np.abs(step) <= 1e-12 * np.where(la, 1, np.abs(ya))
            # psi^-2 = w^-2 also holds at psi = -w: that root is not chi(w)
            wrong = big[act] & (np.real(ps * np.conj(wa)) <= 0)
            y[act] = np.where(tiny & ~conv, advance(ya, step, la), ya)
            done[act[(conv | tiny) & ~wrong]] = True
            keep = ~conv & ~tiny & np.isfinite(step)
            act, ya, step, res, wa, tol = act[keep], ya[keep], step[keep], res[keep], wa[keep], tol[keep]
            if act.size == 0:
                break
            lam = np.ones(act.size)
            new_res, new_dres = np.empty(act.size, complex), np.empty(act.size, complex)
            new_dp, new_ps = np.empty(act.size, complex), np.empty(act.size, complex)
            accepted = np.zeros(act.size, dtype=bool)
            trial_set = np.arange(act.size)
            for _ in range(8):  # backtracking
                i = act[trial_set]
                new = advance(ya[trial_set], lam[trial_set] * step[trial_set], logs[i])
                # a complex y may cross the cut a little (the continuation), a real y stays below 1/upper
                across = ~real[i] & (np.sign(new.imag) != sgn[i]) & (np.abs(new.imag) > 1e-2 * np.abs(new))
                # a step in log y also turns y: one that turns it across the cut keeps its length only
                # (the root next to w = -1 lies by the cut y > 1/upper, at |Im y| ~ 1e-12 |y|), and must
                # lower the residual by a tenth: past the image of the cut (no preimage) it would crawl along it
                turned = across & logs[i]
                new = np.where(turned, new.real + 0j, new)
                off = (across & ~turned) | (real[i] & (new.real >= self._top))
                y_t = np.where(off, ya[trial_set], new)
                p_t, d_t, o_t = self._psi(y_t, sgn[i], one_plus=True)
                r_t, dr_t = residual(p_t, d_t, o_t, i, y_t)
                gain = np.where(turned, 1 - 0.1 * lam[trial_set], 1 - 1e-4 * lam[trial_set])
                good = ~off & (np.abs(r_t) < gain * np.abs(res[trial_set]))
                good &= np.isfinite(r_t) & np.isfinite(dr_t)
                sel = trial_set[good]
                y[act[sel]] = new[good]
                new_res[sel], new_dres[sel], new_dp[sel], new_ps[sel] = r_t[good], dr_t[good], d_t[good], p_t[good]
                accepted[sel] = True
                trial_set = trial_set[~good]
                lam[trial_set] /= 2
                if trial_set.size == 0:
                    break
            # no decrease possible: rounding level reached (converged) or a dead end
            stalled = ~accepted
            done[act[stalled]] = (np.abs(res[stalled]) <= self._stall * tol[stalled]) & ~wrong[keep][stalled]
            act, res, dres, dp = act[accepted], new_res[accepted], new_dres[accepted], new_dp[accepted]
            ps = new_ps[accepted]
            if act.size == 0:
                break
        return np.where(done, y, np.nan), np.where(done, dpsi, np.nan), done

    def _chi(self, w, guess=None):
        """``chi(w)`` and ``psi'(chi)`` (float, vectorised) by the exact damped Newton, started
        from ``guess`` (default: the rational's value); ``nan`` where ``w`` has no preimage on the
        branch (real ``w <= -1``).  Points where Newton fails are reached again along ``w s``,
        ``s = 1/4 .. 1``, from ``chi(0) = 0`` (not a complex ``w`` within ``LOG_NEWTON`` of -1)."""
        w = np.asarray(w, dtype=complex)
        if guess is None:
            guess = self._rational_chi(w)[0]
        beyond = self._beyond_cut(w)
        start = np.where(beyond, np.nan, self._start(w, guess))  # nan: no Newton
        y, dpsi, ok = self._newton_chi(w, start.copy())
        # a start on the cut beyond the top (1/upper) for a complex w: Newton may not come back
        # from there; again from just below the top, where psi ~ (top - y)^(-1/2) reaches |w|
        again = np.flatnonzero(~ok & (w.imag != 0) & (start.real >= self._top))
        if again.size:
            wa = w[again]
            ya, da, oka = self._newton_chi(wa, self._top * (1 - 1 / (1 + np.abs(wa)) ** 2) + 1j * start[again].imag)
            y[again[oka]], dpsi[again[oka]], ok[again[oka]] = ya[oka], da[oka], True
        # not a complex w next to -1 (the Newton in log y): where that fails, its root lies past the continuation's
        # reach (between arg y = -0.01 and the cut curve), and the path never found one (0 of 1,146 such failures on
        # tanh and erf laws, 0 of 332 in the smooth battery, where they cost 13 s of its 100 s)
        retry = np.flatnonzero(~ok & ~((w.imag == 0) & (w.real <= -1)) & np.isfinite(w) & ~beyond
                               & ~((w.imag != 0) & (np.abs(1 + w) < LOG_NEWTON)))
        if retry.size:
            wr = w[retry]
            yk, dk = np.zeros(wr.shape, dtype=complex), np.full(wr.shape, self._m1f + 0j)
            steps = 4
            for k in range(1, steps + 1):
                with np.errstate(all="ignore"):  # dk is nan where the previous step failed
                    nxt = yk + (wr / steps) / dk
                yk, dk, okk = self._newton_chi(wr * (k / steps), nxt)
                if not okk.any():
                    break
            y[retry], dpsi[retry] = yk, dk
        return y, dpsi

    #: how far across the cut (``|Im y| / |y|``) the curve of :meth:`_cut_curve` runs: beyond the
    #: Newton's own limit (1e-2), so that no root the Newton could accept lies past the curve
    _cut_reach = 0.0125

    @cached_property
    def _cut_curve(self):
        r"""``(log|1 + w|, arg(1 + w))`` along :math:`w = \psi(y)`, :math:`y = e^{-i\epsilon}/(U s)` just
        across the cut (:math:`\epsilon` = ``_cut_reach``, ``s`` geometric from 1e-300 to 0.999 of the
        top ``U``, ``1 + psi`` summed as such: :meth:`_tail_samples`), the run where ``|1 + w|`` grows from
        ``w = -1``.  ``psi`` maps the upper half ``y``-plane onto a domain bounded next to ``w = -1`` by the
        boundary values :math:`\psi(y + i0)`, ``y > 1/U``: the sector between that curve and the cut
        :math:`w < -1` has no preimage, and this curve, a little farther out, bounds what the
        Newton's continuation across the cut can reach.  The run is the one through ``s = 1e-18``, down
        and up as far as ``|1 + w|`` keeps rising with ``s`` (from 1e-18 only, it left erf at q ~ 1-2 no curve
        below ``|1 + w|`` ~ 1e-4..1e-7, and 2,000 points of the smooth battery there to Newtons failing after
        ~25 ms each)."""
        below = np.geomspace(1e-300, 1e-18, 283)[:-1]
        s = np.concatenate([below, np.geomspace(1e-18, 0.999, 400)])
        start = below.size  # s = 1e-18
        u = self._tail_samples(s, np.array([-self._cut_reach]))[0][:, 0]
        good = np.isfinite(u)
        rises = np.diff(u.real) > 0  # rises[i]: from point i to point i + 1
        up = good[start:] & np.concatenate([[True], rises[start:]])
        hi = start + (int(np.argmin(up)) if not up.all() else up.size)
        down = good[:start] & rises[:start]  # point i joins the run below point i + 1
        lo = start - (int(np.argmin(down[::-1])) if not down.all() else start)
        return u.real[lo:hi], u.imag[lo:hi]

    def _beyond_cut(self, w):
        """Mask of the complex ``w`` (either half-plane, by symmetry) past :meth:`_cut_curve`: ``chi(w)``
        has no preimage the Newton could accept there (it would fail, from every start, after up to
        a few hundred evaluations of ``psi``)."""
        log_rho, theta = self._cut_curve
        u = 1 + np.where(w.imag < 0, w.conj(), w)
        out = np.zeros(w.shape, dtype=bool)
        if log_rho.size < 2:
            return out
        with np.errstate(all="ignore"):
            lr = np.log(np.abs(u))
        inside = (w.imag != 0) & (lr > log_rho[0]) & (lr < log_rho[-1])
        out[inside] = np.angle(u[inside]) > np.interp(lr[inside], log_rho, theta)
        return out

    # ------------------------------------------------------------------ mpmath
    def _psi_mp(self, y, side=1):
        """``psi``, ``psi'`` at one ``mpc`` ``y``: the same rule, roots and corrections at the working
        precision (float roots refined by Newton)."""
        dps = mpmath.mp.dps
        cache = self.__dict__.setdefault("_mp", {})
        if dps not in cache:
            rule = gaussian_rule(self.activation.strip(float(self.q)), half=self._even, dps=dps)
            offset = self._panel_offset(rule)
            if isinstance(self._fun, _Exact):
                r = [mpmath.re(self._fun.mp(z)[0]) for z in rule.z]
            else:  # the surrogate's panels are the float rule's; the rule at dps reaches farther out
                s, c, n = math.sqrt(float(self.q)), float(self.scale), len(self._fun.a)
                r = [mpmath.re(self._fun.mp(z, int(p) - offset)[0]) if 0 <= int(p) - offset < n
                     else mpmath.mpf(c * float(np.asarray(self.activation.dphi(s * float(z)), dtype=float)) ** 2)
                     for z, p in zip(rule.z, rule.panel)]
            cache[dps] = (rule, r, [w * v for w, v in zip(rule.weight, r)], offset)
        rule, r, wr, offset = cache[dps]
        if y == 0:
            return mpmath.mpc(0), mpmath.mpc(self.m1)
        xi = 1 / y
        s1 = mpmath.fsum(w / (xi - v) for w, v in zip(wr, r))
        s2 = mpmath.fsum(w / (xi - v) ** 2 for w, v in zip(wr, r))
        idx, zr, pan = self._roots(np.array([complex(xi)]))
        fun = self._fun.mp
        fac = 2 if rule.half else 1
        two_pi = mpmath.sqrt(2 * mpmath.pi)
        edges = rule.edges
        tol = mpmath.mpf(10) ** (3 - dps)
        for z0, p in zip(zr, pan):
            z = mpmath.mpc(z0)
            for _ in range(20):  # refine the root at the working precision
                v, d1, _ = fun(z, int(p))
                step = (v - xi) / d1
                z -= step
                if abs(step) <= tol * (1 + abs(z)):
                    break
            _, t1, t2 = fun(z, int(p))
            phi = mpmath.exp(-z * z / 2) / two_pi
            c1 = -phi * xi / t1
            a2 = phi * xi / t1 ** 2
            b2 = phi * ((t1 - z * xi) - xi * t2 / t1) / t1 ** 2
            for k in range(len(edges) - 1):
                a, b = edges[k], edges[k + 1]
                if isinstance(self._fun, _Surrogate) and k - offset != p:
                    continue
                dist2 = max(a - z.real, z.real - b, 0) ** 2 + z.imag ** 2
                if dist2 >= self._radius ** 2:
                    continue
                sgn = side * mpmath.sign(mpmath.re(t1))
                if z.imag == 0 and a < z.real < b:
                    la = mpmath.log(z.real - a) + 1j * mpmath.pi * sgn
                else:
                    la = mpmath.log(a - z)
                i1 = mpmath.log(b - z) - la
                if z.imag != 0 and a < z.real < b and mpmath.sign(z.imag) == sgn \
                        and abs(z.imag) < 0.1 * self._radius and abs(mpmath.im(t1)) < 0.5 * abs(mpmath.re(t1)):
                    # the root crossed the cut
                    i1 -= 2j * mpmath.pi * sgn
                i2 = 1 / (a - z) - 1 / (b - z)
                sl = slice(k * rule.npanel, (k + 1) * rule.npanel)
                q1 = mpmath.fsum(wb / (zn - z) for zn, wb in zip(rule.z[sl], rule.base[sl]))
                q2 = mpmath.fsum(wb / (zn - z) ** 2 for zn, wb in zip(rule.z[sl], rule.base[sl]))
                s1 += c1 * (fac * i1 - q1)
                s2 += a2 * (fac * i2 - q2) + b2 * (fac * i1 - q1)
        return s1, xi * xi * s2

    def _panel_offset(self, rule):
        """Index of the float rule's first panel among the panels of ``rule`` (the rule at ``dps``
        covers a wider range of ``Z``; for a rule on ``Z >= 0`` both start at 0)."""
        h = float(rule.edges[1] - rule.edges[0])
        return int(round((float(self._rule.edges[0]) - float(rule.edges[0])) / h))

    def _chi_mp(self, w):
        """Refine the float ``chi`` at the working precision (object arrays of ``mpc``)."""
        flat = list(np.ravel(w))
        yf, _ = self._chi(np.array([complex(v) for v in flat]))
        y_out, d_out = np.empty(len(flat), dtype=object), np.empty(len(flat), dtype=object)
        tol = mpmath.mpf(10) ** (2 - mpmath.mp.dps)
        for i, (wi, y0) in enumerate(zip(flat, yf)):
            if not np.isfinite(y0):
                y_out[i] = d_out[i] = mpmath.mpc(mpmath.nan)
                continue
            real = mpmath.im(wi) == 0
            side = 1 if real else int(mpmath.sign(mpmath.im(wi)))
            y = mpmath.mpc(y0.real) if real else mpmath.mpc(y0)
            for _ in range(12):
                ps, dp = self._psi_mp(y, side)
                step = (ps - wi) / dp
                if real:
                    step = mpmath.mpc(mpmath.re(step))
                y -= step
                if abs(step) <= tol * abs(y):
                    break
            y_out[i], d_out[i] = y, self._psi_mp(y, side)[1]
        return y_out.reshape(np.shape(w)), d_out.reshape(np.shape(w))

    # ------------------------------------------------------------------ S-transform
    def s_transform(self, w):
        """``(S(w), S'(w))`` on complex numpy arrays or object arrays of ``mpmath.mpc``."""
        if isinstance(w, np.ndarray) and w.dtype == object:
            y, dpsi = self._chi_mp(w)
            m1, m2 = self.m1, self.m2
            zero = np.array([v == 0 for v in w.ravel()], dtype=bool).reshape(w.shape)
            safe = np.where(zero, 1, w)
            s = np.where(zero, 1 / m1, y * (1 + w) / safe)
            ds = np.where(zero, 1 / m1 - m2 / m1 ** 3, (1 + w) / (safe * dpsi) - y / (safe * safe))
            return s, ds
        w = np.asarray(w, dtype=complex)
        shape = w.shape
        wr = w.ravel()
        s, ds, ok = self._rational_s(wr)
        miss = np.flatnonzero(~ok)
        if miss.size:  # outside the certified region: the exact Newton, from the table's value
            wm = wr[miss]
            y, dpsi = self._chi(wm, self._table_start(wm))
            zero = wm == 0
            safe = np.where(zero, 1, wm)
            with np.errstate(all="ignore"):
                s[miss] = np.where(zero, 1 / self._m1f, y * (1 + wm) / safe)
                ds[miss] = np.where(zero, 1 / self._m1f - self._m2f / self._m1f ** 3,
                                    (1 + wm) / (safe * dpsi) - y / (safe * safe))
        return s.reshape(shape), ds.reshape(shape)

    # ------------------------------------------------------------------ the rational S (float)
    #: the part of the upper half w-plane next to w = -1 left to the exact Newton (Re w, Re w, |Im w|)
    _boxes = ((-3.0, -0.8, 1.0), (-5.0, -0.6, 2.5))
    #: the largest relative error of S on the certification set that is accepted
    certify_tol = 1e-9
    #: where the greedy AAA stops (relative to the largest weighted sample).  The samples are exact
    #: to ~1e-13 of it (tanh (1.3, 0.05): 200 of them against ``dps=30``, the worst 1.1e-13), and
    #: the fit's error reaches the density through the chain, most at an inverse-square-root edge:
    #: at 1e-11 tanh/orthogonal (1.3, 0.05, depth 10) was 1.1e-9 off ``dps=30`` at 0.998 of its
    #: width (1.3e-11 at 1e-12).  At 3e-13 the greedy run meets the samples' noise (tanh at the
    #: critical point q* = 0.1: 107 terms against 40 at 1e-12, and its density 2x slower)
    fit_tol = 1e-12

    @cached_property
    def _sup(self):
        r""":math:`\sup r` (the top of the cut is ``1/_sup``): ``upper`` for the built-ins (exact), the
        largest extremum of ``r`` found by bisection for a user activation."""
        if getattr(self.activation, "exact_derivatives", False):
            return float(self.upper)
        return float(max([e[1] for e in self._pieces[1]] + [float(np.max(self._r))]))

    @cached_property
    def _cut_floor(self):
        r"""The smallest ``s`` (of :math:`\xi = U s` on the cut, ``U = sup r``) that the fits of ``S`` sample: the
        largest ``s <= 1e-3`` where :math:`\operatorname{Re}\psi(1/\xi) < -0.85` (inside every box, next to
        ``w = -1``).  1e-3 for most laws; a heavy tail of ``rho`` at 0 maps far smaller ``s`` outside the boxes (erf at
        q = 4, mass ~ xi^0.08 below xi: ``Re w = -0.7995`` at ``s = 5e-5``, where a fit sampled from 1e-3 was 5e-7 off
        and certified to 7e-11 elsewhere)."""
        s = np.geomspace(1e-300, 1e-3, 298)
        with np.errstate(all="ignore"):
            w = self._psi(1 / (self._sup * s) + 0j, np.ones(s.size))[0]
        inside = np.flatnonzero(np.isfinite(w) & (w.real < -0.85))
        return float(s[inside[-1]]) if inside.size else 1e-300

    def _xi_samples(self, n, rng=None):
        """Points ``xi = 1/y`` (``Im y >= 0``) where ``psi`` is sampled, with ``U - xi`` exact
        (``U = sup r``): the cut ``[0, U]`` (boundary values), heights above it, clustered
        geometrically at both ends; the real axis outside the support; far points.  With
        ``rng``: a jittered set (and points just across the cut) for the certificate."""
        U = self._sup
        g = np.geomspace
        lo = np.concatenate([g(1e-3, 0.5, n), np.linspace(0.02, 0.98, n)])
        if self._cut_floor < 1e-3:  # the cut below 1e-3 of the support still maps outside the boxes
            lo = np.concatenate([g(self._cut_floor, 1e-3, max(2, round(n * math.log10(1e-3 / self._cut_floor) / 4))), lo])
        top = g(1e-14, 0.5, n)  # 1 - s
        far = g(1e-3, 1e4, n)
        out_hi, out_lo = g(1e-14, 1e4, n), g(1e-3, 1e4, n)
        if rng is not None:
            jit = lambda v: v * np.exp(rng.uniform(-0.3, 0.3, v.size))  # noqa: E731
            lo, top, far, out_hi, out_lo = jit(lo), jit(top), jit(far), jit(out_hi), jit(out_lo)
            lo, top = lo[(lo > 0) & (lo < 1)], top[(top > 0) & (top < 1)]
        s, gap = np.concatenate([lo, 1 - top]), np.concatenate([1 - lo, top])  # gap = 1 - s, exact
        a, d = U * s, U * np.minimum(s, gap)
        xs, gaps = [a], [U * gap]
        heights = [-1e-6, -1e-3, -0.03, -0.3, -3.0] + ([1e-6, 1e-4] if rng is not None else [])
        for h in heights:
            xs.append(a + 1j * h * d)
            gaps.append(U * gap - 1j * h * d)
        xs += [U * (1 + out_hi), -U * out_lo]
        gaps += [-U * out_hi, U * (1 + out_lo)]
        for th in np.linspace(0.05, np.pi - 0.05, 10):
            v = U * far * np.exp(-1j * th)
            xs.append(v), gaps.append(U - v)
        return np.concatenate(xs), np.concatenate(gaps)

    def _sample_k(self, xi, gap):
        r"""Exact ``w = psi(1/xi)`` (sheet of the upper half-plane), ``S(w)`` and the fitted
        :math:`k(w) = (S(w) - S(\infty))(1 + w)`, :math:`S(\infty) = 1/\sup r`, with
        :math:`\chi - 1/U = (U - \xi)/(U \xi)` taken from the exact gap (no cancellation at the top)."""
        U = self._sup
        y = 1 / xi
        w, _ = self._psi(y, np.ones(xi.size))
        with np.errstate(all="ignore"):
            s = y * (1 + w) / w
            near = (s - 1 / U) * (1 + w)
            dy = gap / (U * xi)
            far = (1 + w) * (dy * (1 + w) + 1 / U) / w
            k = np.where(np.abs(w) < 1, near, far)
        return w, s, k

    @staticmethod
    def _in_box(w, box):
        lo, hi, im = box
        return (w.real > lo) & (w.real < hi) & (np.abs(w.imag) < im)

    @cached_property
    def _rational(self):
        r"""``(support, values, weights, box, certificate)`` of the AAA fit of :math:`k(w)` on the
        upper half w-plane outside ``box``, or ``None`` when no box passes the certificate."""
        with np.errstate(all="ignore"):
            w, s, k = self._sample_k(*self._xi_samples(40))
            wt, st, kt = self._sample_k(*self._xi_samples(23, np.random.default_rng(14)))
        best = None
        for box in self._boxes:
            keep = np.isfinite(k) & np.isfinite(w) & (w != 0) & ~self._in_box(w, box) & (w.imag >= 0)
            wk, ik = np.unique(w[keep], return_index=True)
            fit = _aaa(wk, k[keep][ik], 1 / np.maximum(1, np.abs(1 + wk)), tol=self.fit_tol)
            if fit is None:
                continue
            test = np.isfinite(kt) & np.isfinite(wt) & (wt != 0) & ~self._in_box(wt, box) & (wt.imag >= 0)
            approx = 1 / self._sup + _barycentric(wt[test], *fit)[0] / (1 + wt[test])
            err = float(np.max(np.abs(approx - st[test]) / np.abs(st[test])))
            if err <= self.certify_tol:
                return fit + (box, err)
        return best

    @cached_property
    def _table(self):
        """Exact ``(w, chi, psi')`` on the cut next to ``xi = 0`` (geometric down to 1e-18 of the
        support), at heights above it and on the negative real ``xi`` axis: the starts of the
        exact Newton where the rational is not used (next to ``w = -1``)."""
        U = self._sup
        s = np.geomspace(1e-18, 0.6, 200)
        xi = np.concatenate([U * s * (1 - 1j * h) for h in (0, 1e-6, 1e-4, 1e-2, 0.1, 0.3, 1.0, 3.0)]
                            + [-U * np.geomspace(1e-13, 10, 100)])
        y = 1 / xi
        with np.errstate(all="ignore"):
            w, d = self._psi(y, np.ones(xi.size))
        keep = np.isfinite(w) & np.isfinite(d) & (d != 0)
        return w[keep], y[keep], d[keep]

    def _table_start(self, w):
        """A start for the exact Newton: the nearest table point ``(w_i, y_i)`` moved by
        ``(w - w_i)/psi'(y_i)`` (conjugated for ``Im w < 0``), where that step is small."""
        tw, ty, td = self._table
        lower = w.imag < 0
        v = np.where(lower, w.conj(), w)
        out = np.full(w.shape, np.nan, dtype=complex)
        for lo in range(0, v.size, 512):
            vb = v[lo:lo + 512]
            j = np.argmin(np.abs(vb[:, None] - tw[None, :]), axis=1)
            with np.errstate(all="ignore"):
                pred = ty[j] + (vb - tw[j]) / td[j]
            pred = np.where(np.abs(pred - ty[j]) <= 0.5 * np.abs(ty[j]), pred, ty[j])
            out[lo:lo + 512] = pred
        out = np.where(lower, out.conj(), out)
        return np.where(w.imag == 0, out.real + 0j, out)

    #: inner radii of the disc around ``w = -1`` left to the exact Newton by the second (near) fit,
    #: tried in turn: the first whose fit passes its certificate serves.  At 0.02 alone the relative
    #: chain next to a smooth law's floor ``qh_{L-1}`` sent ~9,000 points per mass to the exact Newton
    #: (|1 + w| in [1e-3, 0.02]: tanh/orthogonal (1.5, 0.3, depth 3)); from 1e-3 the tanh, erf and
    #: sigmoid fits are certified to 3e-14..3e-10 with 20-31 terms
    _near_radii = (1e-3, 4e-3, 0.02)

    def _near_rings(self, box, radius, per_decade=19):
        """Radii of the polar grid around ``w = -1``, geometric from ``radius`` (``per_decade`` rings
        a decade) to just beyond the corners of ``box``."""
        lo, hi, im = box
        top = 1.1 * math.hypot(max(-1 - lo, hi + 1), im)
        return np.geomspace(radius, top, max(2, math.ceil(per_decade * math.log10(top / radius))))

    def _near_samples(self, box, radius, rng=None):
        """Exact ``(w, S(w))`` on a polar grid around ``w = -1`` (radii geometric from ``radius``)
        covering ``box`` with a margin; jittered and coarser with ``rng``.  Angles up to 1e-4 short
        of the cut :math:`w < -1` (on the cut itself the exact Newton is used at run time), uniform; on
        the rings where the exact Newton fails at the last angle only, where the image of psi ends
        between it and the angle before (tanh at q = 0.1), also geometric (ratio 1.3) within 0.05 of the cut."""
        lo, hi, im = box
        n = 40 if rng is None else 23
        top = np.pi - 1e-4
        rho = self._near_rings(box, radius) if rng is None else self._near_rings(box, radius, per_decade=11)
        th = np.linspace(0, top, n)
        cut = np.pi - np.geomspace(1e-4, 0.05, 25 if rng is None else 13)[1:-1]
        if rng is not None:
            rho = rho * np.exp(rng.uniform(-0.2, 0.2, rho.size))
            th = np.clip(th + rng.uniform(-0.05, 0.05, n), 0, top)
            cut = np.pi - (np.pi - cut) * np.exp(rng.uniform(-0.3, 0.3, cut.size))
        pad = 0.1 * (hi - lo)

        def sampled(grid):  # (w, S) at the grid points in the padded box and outside the radius; which, and S there
            keep = self._in_box(grid, (lo - pad, hi + pad, im + pad)) & (np.abs(1 + grid) >= radius)
            w = grid[keep]
            w = np.where(np.abs(w.imag) < 1e-12 * np.abs(w), w.real + 0j, w)
            with np.errstate(all="ignore"):
                y, _ = self._chi(w, self._table_start(w))
                s = y * (1 + w) / w
            finite = np.zeros(grid.shape, dtype=bool)
            finite[keep] = np.isfinite(s)
            return w, s, keep, finite

        w, s, keep, finite = sampled(-1 + rho[:, None] * np.exp(1j * th[None, :]))
        # the rings whose exact Newton fails at the last angle and not at the one before
        edge = rho[keep[:, -1] & ~finite[:, -1] & finite[:, -2]]
        if not edge.size:
            return w, s
        wc, sc, _, _ = sampled(-1 + edge[:, None] * np.exp(1j * cut[None, :]))
        return np.concatenate([w, wc]), np.concatenate([s, sc])

    @cached_property
    def _near(self):
        r"""``(support, values, weights, rings, angles, radius, certificate)`` of a second AAA fit, of
        ``S`` itself, inside the main fit's box: used where :math:`|1 + w| \ge` ``radius`` (the first
        of ``_near_radii`` that passes) and :math:`\arg(1 + w)` is below its ring's angle; ``None``
        when no radius passes."""
        fit = self._rational
        if fit is None:
            return None
        for radius in self._near_radii:
            near = self._near_fit(fit[3], radius)
            if near is not None:
                return near
        return None

    def _near_fit(self, box, radius):
        r"""The near fit from ``radius`` outwards (see :attr:`_near`), or ``None`` when it does not pass
        the certificate.  The wedge along the cut :math:`w < -1` where the exact Newton fails on the
        sample or certification grid is left out (there the exact Newton runs).
        The wedge at radius ``r`` starts below the smallest failed angle at radii up to 1.25 times the
        next ring ``rings[i] >= r``, or up to that ring itself (and 2% beyond, for rounding) for failures
        within 0.05 of the cut: 0.05 below, or 1.3 times as far from the cut where that is nearer, the
        next angle of the samples' geometric grid towards the cut (failures off the cut appear only far
        from -1: one global wedge would send the points next to -1 and the cut to the exact Newton).
        The image of psi ends a hair above the cut for a law with little mass next to 0 (tanh at
        q = 0.1: at |1 + w| = 0.2, 0.01 of a radian): a wedge 0.05 wide (and from the failures of the
        next ring out) sent the chain's points at 0.02 of a radian, next to the floor of the depth-10
        spectrum, to the exact Newton (56 of its 80 ms on 1,000 points)."""
        rings = self._near_rings(box, radius)
        w, s = self._near_samples(box, radius)
        wt, st = self._near_samples(box, radius, np.random.default_rng(15))
        good = np.isfinite(s)
        # failures of both sets shape the wedge (a test point where the exact Newton fails cannot certify)
        fail = 1 + np.concatenate([w[~good], wt[~np.isfinite(st)]])
        r_fail, a_fail = np.abs(fail), np.angle(fail)
        close = np.pi - a_fail < 0.05  # failures next to the cut count for their own ring only
        worst = np.array([np.min(a_fail[np.where(close, r_fail <= 1.02 * r, r_fail <= 1.25 * r)], initial=np.pi)
                          for r in rings])
        angles = worst - np.minimum(0.05, 0.3 * (np.pi - worst))
        good &= np.angle(1 + w) < self._near_angle(w, rings, angles) + 0.05
        if np.count_nonzero(good) < 50:
            return None
        near = _aaa(w[good], s[good], tol=1e-13)
        if near is None:
            return None
        test = self._in_box(wt, box) & (np.angle(1 + wt) < self._near_angle(wt, rings, angles))
        if not np.all(np.isfinite(st[test])):
            return None
        err = float(np.max(np.abs(_barycentric(wt[test], *near)[0] - st[test]) / np.abs(st[test])))
        return near + (rings, angles, radius, err) if err <= self.certify_tol else None

    @staticmethod
    def _near_angle(w, rings, angles):
        """The largest ``arg(1 + w)`` the near fit serves at ``|1 + w|`` (that of the next ring out)."""
        return angles[np.minimum(np.searchsorted(rings, np.abs(1 + w)), rings.size - 1)]

    #: the tail fit's rings: ``|1 + w|`` from ``_tail_reach[0]`` to ``_tail_reach[1]``, ``_tail_step`` apart in
    #: ``log|1 + w|``, at angles ``arg y`` from just across the cut to ``_tail_turn`` (beyond it, where ``y`` nears the
    #: negative axis, the rule's ``1 + psi`` jumps at ``|xi|`` below ~1e-30: erf at q = 1.57, ``|xi|`` = 1e-40, by a
    #: turn of ``1 + psi`` from 0.15 to -1.2 radians between ``arg y`` = 2.4 and 2.7)
    _tail_reach, _tail_step, _tail_turn, _tail_angles = (1e-18, 0.05), 1.5, 2.4, 12

    def _tail_samples(self, s, phi):
        r"""``(u, F)`` at :math:`y = e^{i\phi}/(U s)` (``U = sup r``; ``phi`` below 0: continued across the cut):
        :math:`u = \log(1 + \psi(y))` from the rule's ``1 + psi`` summed as such, and :math:`F = \log(-y)`, exact."""
        S, P = np.meshgrid(s, phi, indexing="ij")
        with np.errstate(all="ignore"):
            _, _, one = self._psi((np.exp(1j * P) / (self._sup * S)).ravel(), np.ones(S.size), one_plus=True)
            # arg(1 + w) in [0, 2 pi): across the cut the image may turn past the negative axis (tanh, erf at q < 1/4)
            u = (np.log(np.abs(one)) + 1j * np.mod(np.angle(one), 2 * np.pi)).reshape(S.shape)
        return u, -np.log(self._sup * S) + 1j * (P - np.pi)

    @cached_property
    def _tail(self):
        r"""A third AAA fit, next to ``w = -1`` where ``rho`` has mass at every scale and the main and near fits do
        not serve (below the near fit's radius, and the wedge along the cut): :math:`F = \log(-\chi(w))` in
        :math:`u = \log(1 + w)`.  A power tail of ``rho`` at 0 (erf: mass :math:`\sim \xi^{1/4q}` below
        :math:`\xi`) makes ``F`` nearly linear in ``u``, with a :math:`\log(-u)` correction: ``F - a u - b``
        (least squares) is fitted in :math:`\log(-u)`.  Samples need no inversion (:meth:`_tail_samples`, rings of
        ``|y|`` at ``|1 + w|`` geometric over ``_tail_reach``); the fit serves, between its first and last ring, the
        ``u`` between the image of ``arg y = -0.01`` (the continuation across the cut as far as the exact Newton
        takes it) and that of the last angle whose ring is monotone in ``arg y`` (the rule's ``1 + psi`` is valid
        there).  Certified as the others, on two jittered sets, to ``certify_tol`` of ``chi`` (hence of ``S``); where
        only the deepest rings fail, refitted above them; ``None`` when it does not pass.  Returns ``(support, values,
        weights, (a + 1, b), cut (Re u, Im u), last angle (Re u, Im u), (Re u)-range, certificate)``."""
        lo, hi = self._tail_reach
        scan = np.geomspace(1e-300, 1.0, 601)
        u0, _ = self._tail_samples(scan, np.array([np.pi / 2]))
        lr = u0[:, 0].real
        ok = np.isfinite(lr) & (lr > math.log(lo) - 2) & (lr < math.log(hi) + 2)
        if np.count_nonzero(ok) < 4 or np.any(np.diff(lr[ok]) <= 0):
            return None
        lr, ls = lr[ok], np.log(scan[ok])
        target = np.arange(max(lr[0], math.log(lo) - 1), min(lr[-1], math.log(hi) + 1), self._tail_step)
        if target.size < 4:
            return None
        rings = np.exp(np.interp(target, lr, ls))
        phi = np.concatenate([[-0.015, -0.01, -0.005], np.linspace(0, self._tail_turn, self._tail_angles)])
        u, F = self._tail_samples(rings, phi)
        # the rule's 1 + psi is taken where each ring turns monotonely towards the real axis from the cut (column 3):
        # up to an angle ``last`` (the most that holds on the upper half of the rings at least), from the ring
        # above the deepest that does not (erf at q = 2.8: a jump of arg(1 + psi) by 0.7 at arg y = 0.22 and
        # |y| = 1e148, 1 + psi ~ 1e-18)
        good = np.isfinite(u[:, :4]).all(axis=1)[:, None] & np.cumprod(
            np.isfinite(u[:, 4:]) & (np.diff(u.imag[:, 3:], axis=1) < 0) & (u.imag[:, 4:] > 0), axis=1).astype(bool)
        for last in range(u.shape[1] - 1, 7, -1):
            first = int(np.flatnonzero(~good[:, last - 4])[-1]) + 1 if not good[:, last - 4].all() else 0
            if u.shape[0] - first >= max(4, u.shape[0] // 2):
                break
        else:
            return None
        rings, u, F = rings[first:], u[first:, :last + 1], F[first:, :last + 1]
        cut, low = u[:, 1], u[:, last]  # up to the continuation at arg y = -0.01 (the exact Newton's reach)
        if np.any(u.real >= 0):
            return None
        # certificate: rings between the rings (two sets), angles between the angles
        rng = np.random.default_rng(16)
        s_t = np.exp(np.log(rings[:-1]) + rng.uniform(0, 1, (2, rings.size - 1)) * np.diff(np.log(rings))).ravel()
        ut, Ft = self._tail_samples(s_t, np.sort(rng.uniform(-0.011, phi[last], self._tail_angles)))
        ut, Ft = ut.ravel(), Ft.ravel()
        floor = -np.inf
        for _ in range(3):
            rows = np.min(u.real, axis=1) > floor - self._tail_step
            span = (max(float(np.max(u[rows][0].real)), floor), float(np.min(u[-1].real)))
            if np.count_nonzero(rows) < 4 or span[1] - span[0] < 2 * self._tail_step:
                return None
            uu, FF = u[rows].ravel(), F[rows].ravel()
            with np.errstate(all="ignore"):
                basis = np.stack([uu, np.ones(uu.size)], axis=1)
                ab = np.linalg.lstsq(basis, FF, rcond=None)[0]
                rest = FF - basis @ ab
                fit = _aaa(np.log(-uu), rest, tol=3e-12 / float(np.max(np.abs(rest))), mmax=80)
            if fit is None:
                return None
            tail = fit + ((ab[0] + 1, ab[1]), (cut.real, cut.imag), (low.real, low.imag), span)
            test = np.isfinite(ut) & self._tail_serves(ut, tail)
            err = np.abs(self._tail_f(ut[test], tail)[0] - Ft[test])
            bad = err > self.certify_tol
            if not bad.any():
                return tail + (float(np.max(err)),) if err.size >= 10 else None
            # the deepest rings may fail on their own: the rule's 1 + psi is truncated at |Z| ~ 10 (~1e-23 of it
            # missing), and there it is no analytic function of y to ~1e-10 (erf at q = 2.17: 4e-9 at |1 + w| =
            # 4e-18, 1e-12 from 1e-8 up); refitted from a ring's spacing above the highest failure
            floor = float(np.max(ut[test][bad].real)) + self._tail_step
        return None

    @staticmethod
    def _tail_serves(u, tail):
        """Mask of the ``u = log(1 + w)`` (upper half-plane) the tail fit serves (see :attr:`_tail`)."""
        (cut_re, cut_im), (low_re, low_im), (lo, hi) = tail[4:7]
        with np.errstate(invalid="ignore"):
            return (u.real > lo) & (u.real < hi) & (u.imag < np.interp(u.real, cut_re, cut_im)) \
                & (u.imag > np.interp(u.real, low_re, low_im))

    @staticmethod
    def _tail_f(u, tail):
        r"""The tail fit's ``F = log(-chi)`` at ``u`` and :math:`G' = 1 + dF/du`, the derivative of
        :math:`G = \log(-\chi (1 + w)) = F + u` (``S = -e^G / w``), with ``a + 1`` stored as such: ``a`` is ~ -1 where
        ``rho`` has a finite :math:`E[1/r]` (tanh), and ``1 + a`` formed at run time would lose those digits."""
        zj, fj, wj, (a1, b) = tail[:4]
        r, dr = _barycentric(np.log(-u), zj, fj, wj)
        return r + a1 * u - u + b, dr / u + a1

    @property
    def certificate(self):
        """Largest relative error of the rational ``S`` on the certification set (``None``: no
        rational, every evaluation is the exact Newton)."""
        r = self._rational
        return None if r is None else r[-1]

    def _rational_s(self, w, check=True):
        """``S``, ``S'`` from the rational and the mask where it is certified (``Im w < 0`` by
        ``S(conj w) = conj S(w)``; real ``w`` real)."""
        r = self._rational
        if r is None:
            s = np.full(w.shape, np.nan, dtype=complex)
            return s, s.copy(), np.zeros(w.shape, dtype=bool)
        zj, fj, wj, box, _ = r
        lo, hi, im = box
        wr, wi = w.real, w.imag
        ai = np.abs(wi)
        v = wr + 1j * ai  # the fits live on the upper half-plane
        if check:
            ok = ~((wr > lo) & (wr < hi) & (ai < im)) & (w != 0) & ~((wi == 0) & (wr <= -1))
        else:
            ok = w != -1
        every = bool(ok.all())
        idx = None if every else np.flatnonzero(ok)
        vi = v if every else v[idx]
        s = np.empty(w.shape, dtype=complex) if every else np.full(w.shape, np.nan, dtype=complex)
        ds = s.copy()
        if vi.size:
            # on the real axis (outside the support) the fit's imaginary part is rounding-level
            # noise: remove it near the axis (within 1e-3 relative: higher up it is far below the
            # true Im S), so that S is real there and continuous across it (the solver's real
            # roots outside the support); one evaluation for the points and their projections
            near = _next_to_axis(vi)
            if near.size:
                k, dk = _barycentric(np.concatenate([vi, vi[near].real + 0j]), zj, fj, wj, self._rational_coef)
                k, dk, k0, dk0 = k[:vi.size], dk[:vi.size], k[vi.size:], dk[vi.size:]
                k[near] = _near_axis(vi[near], k[near], k0, dk0)
            else:
                k, dk = _barycentric(vi, zj, fj, wj, self._rational_coef)
            inv = 1 / (1 + vi)
            a = 1 / self._sup + k * inv
            _store_mirrored(s, ds, idx, a, (dk - k * inv) * inv, w)
        ok &= np.isfinite(s) & np.isfinite(ds)
        near = self._near if check and not ok.all() else None
        if near is not None:
            zn, fn, wn, rings, angles, radius, _ = near
            u = 1 + v
            idx = np.flatnonzero(~ok & np.isfinite(v) & self._in_box(v, box) & (np.abs(u) >= radius)
                                 & (np.angle(u) < self._near_angle(v, rings, angles))
                                 & ~((wi == 0) & (wr <= -1)))
            if idx.size:
                vn = v[idx]
                sn, dsn = _barycentric(vn, zn, fn, wn)
                axis = _next_to_axis(vn)
                # only where the fit serves Re v itself: at |1 + Re v| < radius its value (imaginary part
                # included) is not S (tanh (1.8, 1.5) at 1+w = 2.3e-5 + 1.27e-3i: Im S 11% off)
                axis = axis[np.abs(1 + vn[axis].real) >= radius]
                if axis.size:  # the near fit is S itself: real on the real axis as well
                    s0, ds0 = _barycentric(vn[axis].real + 0j, zn, fn, wn)
                    sn[axis] = _near_axis(vn[axis], sn[axis], s0, ds0)
                _store_mirrored(s, ds, idx, sn, dsn, w)
                ok[idx] = np.isfinite(s[idx]) & np.isfinite(ds[idx])
        tail = self._tail if check and not ok.all() and np.any(~ok & (np.abs(1 + w) < self._tail_reach[1])) else None
        if tail is not None:
            idx = np.flatnonzero(~ok & np.isfinite(v) & (wi != 0))
            with np.errstate(all="ignore"):
                u = np.log(1 + v[idx])
            served = self._tail_serves(u, tail)
            idx, u = idx[served], u[served]
            f, dg = self._tail_f(u, tail)
            # S' = S (G' / (1 + w) - 1 / w) takes G' to the fit's absolute error (~1e-12): where G'
            # is small (a law with a finite E[1/r], tanh: S is regular at w = -1) S' would lose its digits (erf at
            # q = 0.1: 6e-4 off at |1 + w| = 2e-9), and the exact Newton serves
            keep = np.abs(dg) >= TAIL_SLOPE
            idx, f, dg = idx[keep], f[keep], dg[keep]
            if idx.size:
                vt = v[idx]
                with np.errstate(all="ignore"):
                    st = -np.exp(f) * (1 + vt) / vt  # S = chi (1 + w) / w, S' = S (G' / (1 + w) - 1 / w)
                    dst = st * (dg / (1 + vt) - 1 / vt)
                _store_mirrored(s, ds, idx, st, dst, w)
                ok[idx] = np.isfinite(s[idx]) & np.isfinite(ds[idx])
        return s, ds, ok

    @cached_property
    def _rational_coef(self):
        """The main fit's ``(m, 2)`` matrix of numerator and denominator weights."""
        zj, fj, wj = self._rational[:3]
        return np.stack([wj * fj, wj], axis=1)

    def _rational_chi(self, w, check=True):
        """``chi = S w / (1 + w)`` from the rational (``nan`` where it is not certified)."""
        s, ds, ok = self._rational_s(w, check)
        with np.errstate(all="ignore"):
            y = s * w / (1 + w)
        return np.where(ok, y, np.nan), ok


#: the tail fit serves a point where :math:`|G'| = |1 + dF/du|` is at least this (see :meth:`SmoothLaw._rational_s`)
TAIL_SLOPE = 1e-3

#: the exact Newton for ``chi(w)`` runs in ``log y`` on ``log(1 + psi)`` where ``|1 + w|`` is below this
#: (see :meth:`SmoothLaw._newton_chi`)
LOG_NEWTON = 0.05

#: below this height over the real axis, relative to the distance ``|1 + Re w|`` to the cut, a fit's
#: imaginary part is its first-order Taylor term (see :func:`_near_axis`)
NEAR_AXIS_TAYLOR = 1e-6


def _next_to_axis(v):
    """Indices of the ``v`` (upper half-plane) within ``1e-3 (1 + |v|)`` above the real axis :math:`w > -1`,
    where a fit's imaginary part is taken by :func:`_near_axis`."""
    return np.flatnonzero((v.imag < 1e-3 * (1 + np.abs(v))) & (v.real > -1))


def _near_axis(v, f, f0, df0):
    r"""A fit ``f`` of a function real on the real axis :math:`w > -1`, at ``v`` just above it, from its values
    ``f0``, ``f0'`` at ``Re v``: the fit's imaginary part on the axis is rounding noise (~1e-13 of ``|f|``)
    while the true :math:`\operatorname{Im} f(v) \approx \operatorname{Im} v\, f'(\operatorname{Re} v)` can be far
    smaller (the solver's roots next to the floor of a spectrum: ``Im w ~ 1e-11``).  That term alone is
    taken where ``Im v <= NEAR_AXIS_TAYLOR |1 + Re v|`` (the next one, :math:`(\operatorname{Im} v)^3 f'''/6`, is
    below 1e-12 of it: ``f`` is analytic within ``|1 + Re v|``); higher up the noise at ``Re v`` is subtracted
    (it is far below the true imaginary part there).  tanh/orthogonal (1.3, 0.05, depth 10): the float
    density 1e-6 of the width above its floor was 1.5e-9 off its ``dps=30`` value, ``Im S`` of the layers 1e-4."""
    taylor = v.imag <= NEAR_AXIS_TAYLOR * np.abs(1 + v.real)
    return np.where(taylor, f.real + 1j * v.imag * df0.real, f - 1j * f0.imag)


def _store_mirrored(s, ds, idx, a, b, w):
    """``s[idx], ds[idx] = a, b`` (``idx=None``: all) for fits of the upper half-plane evaluated at
    ``v = w`` or ``conj(w)``: conjugated where ``Im w < 0`` (``S(conj w) = conj S(w)``), real for
    real ``w`` (the sign of ``Im w`` multiplies the imaginary part)."""
    sign = np.sign(w.imag if idx is None else w[idx].imag)
    if idx is None:
        s.real, s.imag, ds.real, ds.imag = a.real, sign * a.imag, b.real, sign * b.imag
    else:
        s[idx], ds[idx] = a.real + 1j * (sign * a.imag), b.real + 1j * (sign * b.imag)


def _aaa(z, f, weight=None, tol=1e-13, mmax=120):
    """AAA rational approximation (Nakatsukasa, Sete & Trefethen 2018) of samples ``f`` at
    ``z``, with the error measured in ``weight |f - r|`` (greedy choice and least squares):
    ``(support points, values, weights)`` of the barycentric form, stopped at ``tol`` (relative
    to ``max weight |f|``) or after ``mmax`` terms with the best iterate."""
    z, f = np.asarray(z, dtype=complex), np.asarray(f, dtype=complex)
    weight = np.ones(z.size) if weight is None else np.asarray(weight, dtype=float)
    free = np.ones(z.size, dtype=bool)
    idx = []
    cauchy = np.empty((z.size, mmax), dtype=complex)
    r = np.full(z.size, f.mean())
    scale = float(np.max(weight * np.abs(f)))
    wj, best = None, None
    with np.errstate(all="ignore"):
        for m in range(mmax):
            err = np.where(free, weight * np.abs(f - r), 0)
            j = int(np.argmax(err))
            if err[j] <= tol * scale:
                return z[idx], f[idx], wj
            if best is None or err[j] < best[0]:
                best = (err[j], z[idx], f[idx], wj)
            idx.append(j)
            free[j] = False
            cauchy[:, m] = 1 / (z - z[j])
            c = cauchy[free, :m + 1]
            fj = f[idx]
            loewner = (f[free][:, None] - fj[None, :]) * c * weight[free][:, None]
            wj = np.linalg.svd(loewner, full_matrices=False)[2][-1].conj()
            r = f.copy()
            r[free] = (c @ (wj * fj)) / (c @ wj)
    # not converged to tol: the best iterate of the greedy run (the certificate decides)
    return None if best is None or not np.isfinite(best[0]) else best[1:]


def _barycentric(w, zj, fj, wj, coef=None, nudge=True):
    """The barycentric rational and its derivative at ``w`` (a support point: its value, and
    the derivative a hair away).  Two products with the ``(m, 2)`` matrix ``coef`` of numerator
    and denominator weights: one for the values, one (squared Cauchy matrix) for the derivative."""
    if coef is None:
        coef = np.stack([wj * fj, wj], axis=1)
    with np.errstate(all="ignore"):
        c = 1 / (w[:, None] - zj[None, :])
        nd = c @ coef
        c *= c
        nd2 = c @ coef
        r = nd[:, 0] / nd[:, 1]
        dr = (r * nd2[:, 1] - nd2[:, 0]) / nd[:, 1]
    if nudge:
        hit = np.flatnonzero(~np.isfinite(r) & np.isfinite(w))
        if hit.size:  # on a support point (or a rounding-level neighbour): a hair away
            r[hit], dr[hit] = _barycentric(w[hit] * (1 + 1e-13) + 1e-300, zj, fj, wj, coef, nudge=False)
    return r, dr
