r"""Symbolic layer: transforms, the algebraic equation of :math:`G`, closed forms.

Everything here returns :mod:`sympy` objects.  Three levels:

1. **Laws** are those of :mod:`freefim.laws` (one family for float64, mpmath and sympy):
   with sympy parameters (numbers or symbols) they give exact S- and R-transforms, moment
   series, free cumulants and atoms; :func:`freefim.meanfield.rho_law` with ``fn=SYMPY_FN``
   builds :math:`\rho_l` for orthogonal or Gaussian weights (SPEC section 3).

2. **The polynomial equation.**  The chain of SPEC section 3 (see
   :mod:`freefim.numeric`) is rational in :math:`t = z_1` when every
   :math:`S_{\rho_l}` is rational (piecewise-linear activations):

   .. math::

       g_1 = \frac{1}{t - \hat q_0}, \qquad w = z g - 1, \qquad
       z \leftarrow \frac{z}{S_{\rho_l}(w)} + \hat q_l, \qquad g \leftarrow g\, S_{\rho_l}(w),

   so :math:`z = Z(t)` and :math:`G = g_L(t)`.  The resultant in :math:`t` of their
   numerators, factored, gives the irreducible :math:`P(z, G) = 0` satisfied by the
   Stieltjes transform of :math:`\mu_L` (:func:`polynomial`).

3. **Closed forms** (:class:`ClosedForm`, :func:`closed_form`).  For two hidden layers
   (``depth = 3``, the solvable case of Hayase & Karakida, AISTATS 2021) :math:`P` is
   quadratic in :math:`G` for orthogonal weights and quartic for Gaussian weights, so
   :math:`G` is given by radicals (quadratic formula, Cardano, Ferrari); ``depth = 2``
   gives degree 1 (orthogonal: atoms only) or 2 (Gaussian).  The density is
   :math:`-\operatorname{Im} G(x + i0)/\pi`; the edges are real roots of the
   discriminant of :math:`P` in :math:`G`; atoms follow Belinschi's rule.  Degrees
   :math:`\ge 5` (deeper networks) have no general formula by radicals: there
   :class:`ClosedForm` still gives :math:`P`, edges, atoms and moments, and evaluates
   :math:`G` from the roots of :math:`P` computed numerically.

Numbers versus symbols
----------------------
A :class:`~freefim.Network` holds floats; they are read as the decimal they print as
(``0.1`` becomes ``1/10``, via ``Rational(repr(x))``), so ReLU and linear networks give
polynomials with exact rational coefficients.  Hard-tanh layers have transcendental
:math:`p_l = \operatorname{erf}(1/\sqrt{2 q_l})` and :math:`\hat q_l`: they enter the
elimination as symbols ``p_l``, ``qh_l`` whose exact values are in
:attr:`ClosedForm.parameters`.  Any parameter can be a sympy symbol when
:func:`closed_form` is called from Python (``sigma_w2=sympy.Symbol("sigma_w2",
positive=True)``); numeric evaluation then needs :meth:`ClosedForm.subs`.

Branch choice: :math:`P(z, \cdot)` has several roots; the physical one is the root whose
subordination chain (mapped back by :meth:`freefim.numeric.Chain.top_down`) satisfies
:math:`\operatorname{Im} z_l > 0`, :math:`\operatorname{Im} g_l < 0` (Herglotz), taken
just above the real axis.
"""
from __future__ import annotations

import math
import numbers
import types
from dataclasses import dataclass
from functools import cached_property, lru_cache

import mpmath
import numpy as np
import sympy as sp

from .activations import get_activation
from .laws import PointMass
from .meanfield import bernoulli_rho
from .network import WEIGHT_LAWS, Network
from .numeric import Chain, layer_atoms, layer_moments

__all__ = ["SYMPY_FN", "SymbolicChain", "symbolic_chain", "polynomial", "radical_roots", "ClosedForm", "closed_form",
           "series_at_infinity", "z", "G"]

#: the spectral variable :math:`z` in every polynomial
z = sp.Symbol("z")
#: the Stieltjes transform :math:`G(z)` in every polynomial :math:`P(z, G) = 0`
G = sp.Symbol("G")
_t = sp.Symbol("t")
_w = sp.Symbol("w")

#: sympy as a math namespace for Activation.second_moment / derivative_law
SYMPY_FN = types.SimpleNamespace(erf=sp.erf, sqrt=sp.sqrt, exp=sp.exp, pi=sp.pi, mpf=sp.Integer, symbolic=True)


def _sympify(name, value, positive=False):
    """A parameter as a sympy expression: floats as the decimal they print as, symbols kept."""
    if isinstance(value, sp.Basic):
        if value.is_number and (not value.is_finite or not value.is_real):
            raise ValueError(f"{name} must be a finite real number or a sympy symbol, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number or a sympy expression, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return sp.Integer(value) if isinstance(value, numbers.Integral) else sp.Rational(repr(float(value)))


def _num(x, values):
    return float(sp.sympify(x).subs(values))


# ============================================================================ the chain and P(z, G)
@dataclass(frozen=True)
class SymbolicChain:
    r"""Symbolic twin of :class:`freefim.numeric.Chain`: :math:`(\hat q_0; (\hat q_l, \rho_l))`.

    ``parameters`` maps placeholder symbols (``p_l``, ``qh_l``) to the exact values they
    stand for (transcendental ones, e.g. hard-tanh's erf terms).
    """

    qh0: sp.Expr
    layers: tuple
    parameters: tuple = ()
    #: width ratios ``c_l = n_l / n_{l+1}`` per layer (``None``: equal widths), as :attr:`freefim.numeric.Chain.ratios`
    ratios: tuple = None

    @property
    def depth(self):
        return len(self.layers) + 1

    def forward(self):
        """``(Z(t), g_L(t))`` as cancelled rational functions of ``t = z_1``."""
        zz, g = _t, 1 / (_t - self.qh0)
        for l, (qh, law) in enumerate(self.layers):
            s = sp.cancel(law.s_transform(sp.cancel(zz * g - 1))[0])
            zz, g = sp.cancel(zz / s), sp.cancel(g * s)
            c = 1 if self.ratios is None else self.ratios[l]
            if c != 1:
                g = sp.cancel(c * g + (1 - c) / zz)
            zz = sp.cancel(zz + qh)
        return zz, g

    def moments(self):
        """Exact ``(m1, m2)`` by the free moment rules (SPEC section 3)."""
        m1, m2 = self.qh0, self.qh0 ** 2
        for l, (qh, law) in enumerate(self.layers):
            r1, r2 = law.moments(2)
            m1, m2 = layer_moments(m1, m2, r1, r2, qh, 1 if self.ratios is None else self.ratios[l])
        return sp.simplify(m1), sp.simplify(m2)

    def atoms(self):
        r"""Atoms of :math:`\mu_L`: Belinschi's rule for :math:`\boxtimes`, a shift for :math:`\boxplus\delta`."""
        values = self.parameter_values(30)
        atoms = PointMass(self.qh0).atoms
        for l, (qh, law) in enumerate(self.layers):
            c = 1 if self.ratios is None else self.ratios[l]
            atoms = tuple((sp.simplify(a), sp.simplify(m)) for a, m in layer_atoms(atoms, law.atoms, qh, c, values))
        return atoms

    def parameter_values(self, digits):
        """Placeholder -> its value as a ``digits``-digit sympy Float (later placeholders may refer
        to earlier ones)."""
        values = {}
        for k, v in self.parameters:
            values[k] = sp.N(sp.sympify(v).subs(values), digits)
        return values

    def subs(self, values):
        params = tuple((k, sp.sympify(v).subs(values)) for k, v in self.parameters)
        return SymbolicChain(sp.sympify(self.qh0).subs(values),
                             tuple((sp.sympify(qh).subs(values), law.subs(values)) for qh, law in self.layers),
                             params, self.ratios)

    def numeric(self, values=None):
        """The float :class:`freefim.numeric.Chain` (all symbols must have values)."""
        values = dict(values or {})
        return Chain(_num(self.qh0, values), [(_num(qh, values), law.numeric(values)) for qh, law in self.layers],
                     None if self.ratios is None else [_num(c, values) for c in self.ratios])


def symbolic_chain(activation, weights="orthogonal", sigma_w2=2, sigma_b2=0, depth=3, q0=1, widths=None):
    r"""The :class:`SymbolicChain` of a network, from the mean field with sympy arithmetic.

    :math:`q_l = \sigma_w^2\hat q_{l-1} + \sigma_b^2`, :math:`\hat q_l = E[\phi(\sqrt{q_l}Z)^2]`
    (Karakida et al. 2019, eq. 9) with the activation's own formulas run on sympy.
    Values that are not rational functions of the symbols (hard-tanh) become placeholder
    symbols ``qh_l``, ``p_l``; their exact values are in ``chain.parameters``.  ``widths``: relative layer
    widths ``n_0..n_L`` (as :meth:`freefim.numeric.Chain.from_layers`, read as exact rationals).
    """
    if isinstance(activation, Network):
        net = activation
        activation, weights, sigma_w2, sigma_b2, depth, q0, widths = (
            net.activation, net.weights, net.sigma_w2, net.sigma_b2, net.depth, net.q0, net.widths)
    act = get_activation(activation)
    if not act.piecewise_linear:
        raise ValueError(f"closed forms need a piecewise-linear activation (relu, hardtanh, linear), got {act.name!r}")
    if not isinstance(weights, str) or weights.lower() not in WEIGHT_LAWS:
        raise ValueError(f"unknown weights {weights!r}; expected one of {list(WEIGHT_LAWS)}")
    weights = weights.lower()
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 1:
        raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
    sw2, sb2, qh = _sympify("sigma_w2", sigma_w2, True), _sympify("sigma_b2", sigma_b2), _sympify("q0", q0, True)
    params, layers, qh0 = [], [], qh
    for l in range(1, depth):
        q = sw2 * qh + sb2
        qh = sp.sympify(act.second_moment(q, SYMPY_FN))
        p = sp.sympify(act.derivative_law(q, SYMPY_FN))
        if not _is_rational(qh):
            params.append((sp.Symbol(f"qh_{l}", positive=True), qh))
            qh = params[-1][0]
        if not _is_rational(p):
            params.append((sp.Symbol(f"p_{l}", positive=True), p))
            p = params[-1][0]
        layers.append((qh, bernoulli_rho(p, sw2, weights)))
    if widths is not None and len(set(widths)) > 1:
        if len(widths) != depth + 1:
            raise ValueError(f"widths must have depth + 1 = {depth + 1} entries, got {len(widths)}")
        n = [_sympify(f"widths[{i}]", w, True) for i, w in enumerate(widths)]
        chain = Chain.from_layers([qh0] + [qh for qh, _ in layers], [None] + [law for _, law in layers], sw2,
                                  weights, n)
        return SymbolicChain(chain.qh0, chain.layers, tuple(params), chain.ratios)
    return SymbolicChain(qh0, tuple(layers), tuple(params))


def _is_rational(expr):
    """True when ``expr`` is a rational function of rationals and symbols (no erf, exp, pi, roots)."""
    return not expr.atoms(sp.Function, sp.NumberSymbol) and all(
        p.exp.is_Integer for p in expr.atoms(sp.Pow))


@lru_cache(maxsize=64)
def polynomial(chain):
    r"""The irreducible :math:`P(z, G)` with :math:`P(z, G_{\mu_L}(z)) = 0` (sympy expression).

    Resultant in :math:`t` of :math:`A(t) - zB(t)` and :math:`C(t) - GD(t)` where
    :math:`Z = A/B` and :math:`g_L = C/D`; of its factors the one vanishing on the curve
    :math:`(Z(t), g_L(t))` is kept, made primitive with a positive leading coefficient.
    Cached per chain.
    """
    zt, gt = chain.forward()
    a, b = sp.fraction(zt)
    c, d = sp.fraction(gt)
    res = sp.resultant(sp.Poly(sp.expand(a - z * b), _t), sp.Poly(sp.expand(c - G * d), _t))
    res = res.as_expr() if isinstance(res, sp.Poly) else res
    # a generic point of the curve, to recognise the right factor
    rng = np.random.default_rng(12345)
    point = {s: sp.Rational(int(rng.integers(3, 97)), int(rng.integers(5, 31)))
             for s in (zt.free_symbols | gt.free_symbols) - {_t}}
    t0 = sp.Rational(37, 11) + sp.I * sp.Rational(5, 7)
    on_curve = {z: zt.subs(point).subs(_t, t0), G: gt.subs(point).subs(_t, t0)}
    for fac, _ in sp.factor_list(sp.expand(res))[1]:
        if fac.has(G) and sp.simplify(fac.subs(point).subs(on_curve)) == 0:
            poly = sp.Poly(fac, G, z)
            poly = poly.primitive()[1]
            if (poly.LC().is_number and poly.LC() < 0) or (not poly.LC().is_number and
                                                           sp.Poly(poly.LC(), *poly.LC().free_symbols).LC() < 0):
                poly = -poly
            return poly.as_expr()
    if not gt.has(_t):  # a point mass: G = 1/(z - a) directly
        return sp.expand(G * (z - sp.cancel(1 / gt + z)) - 1)
    raise ValueError("no factor of the resultant vanishes on the chain's curve")  # pragma: no cover


# ============================================================================ radicals
def radical_roots(coeffs):
    r"""All roots of :math:`\sum_k a_k G^k` (``coeffs`` highest first, degree 1 to 4) by radicals.

    Quadratic formula; Cardano for the cubic (:math:`C = \sqrt[3]{-q/2 + \sqrt{q^2/4 + p^3/27}}`,
    roots :math:`\omega^k C - p/(3\omega^k C)`); Ferrari for the quartic through the resolvent
    cubic :math:`8m^3 + 8pm^2 + (2p^2 - 8r)m - q^2 = 0`.  With principal branches the formulas
    give the full set of roots (their order may change with the arguments).
    """
    n = len(coeffs) - 1
    if n == 1:
        return [-coeffs[1] / coeffs[0]]
    if n == 2:
        a, b, c = coeffs
        disc = sp.sqrt(b ** 2 - 4 * a * c)
        return [(-b - disc) / (2 * a), (-b + disc) / (2 * a)]
    if n == 3:
        a, b, c, d = (k / coeffs[0] for k in coeffs)
        p, q = c - b ** 2 / 3, 2 * b ** 3 / 27 - b * c / 3 + d
        return [y - b / 3 for y in _cardano(p, q)]
    if n == 4:
        a, b, c, d, e = (k / coeffs[0] for k in coeffs)
        p = c - 3 * b ** 2 / 8
        q = b ** 3 / 8 - b * c / 2 + d
        r = -3 * b ** 4 / 256 + b ** 2 * c / 16 - b * d / 4 + e
        # resolvent 8m^3 + 8pm^2 + (2p^2-8r)m - q^2 = 0, depressed by m = y - p/3
        rp = (2 * p ** 2 - 8 * r) / 8 - p ** 2 / 3
        rq = 2 * p ** 3 / 27 - p * (2 * p ** 2 - 8 * r) / 24 - q ** 2 / 8
        m = _cardano(rp, rq)[0] - p / 3
        s = sp.sqrt(2 * m)
        out = []
        for s1 in (1, -1):
            inner = sp.sqrt(-(2 * p + 2 * m) - s1 * sp.sqrt(2) * q / sp.sqrt(m))
            out += [(s1 * s + s2 * inner) / 2 - b / 4 for s2 in (1, -1)]
        return out
    raise ValueError(f"no general formula by radicals for degree {n} (Abel-Ruffini); degree must be 1 to 4")


def _cardano(p, q):
    """Roots of ``y^3 + p y + q`` (Cardano, principal branches)."""
    c = (-q / 2 + sp.sqrt(q ** 2 / 4 + p ** 3 / 27)) ** sp.Rational(1, 3)
    omega = sp.Rational(-1, 2) + sp.sqrt(3) * sp.I / 2
    return [omega ** k * c - p / (3 * omega ** k * c) for k in range(3)]


def series_at_infinity(poly, n):
    r"""Moments ``[m_1, ..., m_n]`` from :math:`G = \frac1z + \frac{m_1}{z^2} + \dots` solving
    :math:`P(z, G) = 0` order by order in :math:`y = 1/z` (:math:`G = y\,h(y)`, :math:`h(0) = 1`)."""
    y, h = sp.Dummy("y"), sp.Dummy("h")
    dz = sp.degree(poly, z)
    q = sp.Poly(sp.expand(poly.subs({z: 1 / y, G: y * h}) * y ** dz), y, h)
    while all(mon[0] > 0 for mon in q.monoms()):  # divide out powers of y
        q = sp.Poly(sp.expand(q.as_expr() / y), y, h)
    qe = q.as_expr()
    moments = []
    for k in range(1, n + 1):
        c = sp.Dummy("c")
        hk = 1 + sum(m * y ** (j + 1) for j, m in enumerate(moments)) + c * y ** k
        # orders below k vanish already; order k is linear in c when h(0) = 1 is a simple root
        sol = sp.solve(sp.expand(qe.subs(h, hk)).coeff(y, k), c)
        if len(sol) != 1:
            raise ValueError(f"series at infinity: order {k} does not fix m_{k}")
        moments.append(sp.simplify(sol[0]))
    return moments


# ============================================================================ the closed form
class ClosedForm:
    r"""Closed form of the limiting FIM spectrum :math:`\mu_L` of a network.

    Attributes are sympy objects: :attr:`polynomial` :math:`P(z, G)`, :attr:`degree` (in
    :math:`G`), :attr:`roots` (the radical expressions of all roots in :math:`G`), :attr:`root`
    (the one that is physical at the middle of the support), :attr:`discriminant`,
    :attr:`atoms`, :attr:`parameters`.  :meth:`stieltjes` and :meth:`density` evaluate the
    closed form (vectorised, float64 or mpmath) choosing the physical branch point by point.

    Examples
    --------
    >>> from freefim import Network
    >>> cf = closed_form(Network("relu", "orthogonal", 2.0, 0.1, depth=3))
    >>> cf.degree
    2
    >>> [round(float(e), 12) for e in cf.edges()]
    [3.2, 7.2]
    """

    def __init__(self, chain):
        self.chain = chain
        self.parameters = dict(chain.parameters)

    # ---------------------------------------------------------------- symbolic
    @cached_property
    def polynomial(self):
        """:math:`P(z, G)`, irreducible, primitive."""
        return polynomial(self.chain)

    @property
    def degree(self):
        """Degree of :math:`P` in :math:`G` (the number of branches)."""
        return int(sp.degree(self.polynomial, G))

    @cached_property
    def coefficients(self):
        """Coefficients :math:`a_k(z)` of :math:`P = \\sum a_k G^k`, highest first."""
        return [sp.factor(c) for c in sp.Poly(self.polynomial, G).all_coeffs()]

    @cached_property
    def roots(self):
        """All roots in :math:`G` by radicals (degree <= 4; ``ValueError`` otherwise)."""
        return radical_roots(self.coefficients)

    @property
    def has_radicals(self):
        return self.degree <= 4

    @cached_property
    def discriminant(self):
        r"""Discriminant of :math:`P` in :math:`G`, factored (edges are among its real roots)."""
        if self.degree < 2:
            return sp.Integer(1)
        return sp.factor(sp.discriminant(self.polynomial, G))

    @cached_property
    def atoms(self):
        """Atoms ``((location, mass), ...)`` exact (Belinschi's rule along the chain)."""
        return self.chain.atoms()

    def moments(self, n=4, substitute=False):
        """Exact ``[m_1..m_n]`` from the series of :math:`G` at infinity; ``substitute=True`` puts the
        placeholder parameters in as 30-digit rationals first (much faster for hard-tanh)."""
        poly = self.polynomial
        if substitute and self.parameters:
            poly = sp.expand(poly.subs({k: sp.Rational(str(v)) for k, v in self._values(30).items()}))
        return series_at_infinity(poly, n)

    @cached_property
    def root(self):
        """Radical expression of the branch that is physical at the middle of the support."""
        edges = self.edges()
        x = (edges[0] + edges[1]) / 2 if len(edges) >= 2 else float(self.chain.moments()[0].subs(self._values()))
        xs = np.array([x], dtype=complex)
        g, _ = self._evaluate(xs)
        fn, _ = self._root_functions
        with np.errstate(all="ignore"):
            at = np.array([complex(np.asarray(v).ravel()[0]) for v in fn(xs)])
        return self.roots[int(np.argmin(np.abs(at - g[0])))]

    def latex(self):
        """LaTeX of :math:`P(z, G) = 0` and, when it exists, of the physical root :math:`G(z)`."""
        text = sp.latex(sp.Eq(self.polynomial, 0))
        if self.has_radicals and self.degree >= 1 and not self.free_symbols:
            text += r" \qquad G(z) = " + sp.latex(self.root)
        return text

    @property
    def free_symbols(self):
        """User symbols still free (numeric evaluation needs :meth:`subs`)."""
        return set().union(*(sp.sympify(v).free_symbols for v in self.parameters.values()),
                           self.polynomial.free_symbols) - {z, G} - set(self.parameters)

    def subs(self, values):
        """A new :class:`ClosedForm` with symbols replaced, e.g. ``{sigma_w2: 2}``."""
        return ClosedForm(self.chain.subs(values))

    # ---------------------------------------------------------------- numeric evaluation
    def _values(self, dps=None):
        if self.free_symbols:
            raise ValueError(f"symbols {sorted(map(str, self.free_symbols))} have no value; use .subs()")
        return self.chain.parameter_values(dps or 20)

    @cached_property
    def _numeric_chain(self):
        return self.chain.numeric(self._values())

    @cached_property
    def _root_functions(self):
        vals = self._values(30)
        if self.has_radicals:
            exprs = [r.subs(vals) for r in self.roots]
            return sp.lambdify(z, exprs, "numpy"), exprs
        return None, [c.subs(vals) for c in self.coefficients]

    def _candidates(self, zc):
        """Every root of :math:`P(z, \\cdot)` at complex ``zc``, shape ``(degree, n)``."""
        fn, exprs = self._root_functions
        if fn is not None:
            with np.errstate(all="ignore"):
                vals = fn(zc)
            return np.array([np.broadcast_to(np.asarray(v, dtype=complex), zc.shape) for v in vals])
        coeff = [np.broadcast_to(complex(c) if c.is_number else sp.lambdify(z, c, "numpy")(zc), zc.shape)
                 for c in exprs]
        companion = np.stack(coeff, axis=-1)
        return np.array([np.roots(row) if np.all(np.isfinite(row)) else np.full(len(exprs) - 1, np.nan)
                         for row in companion]).T

    @cached_property
    def _p_functions(self):
        pnum = self.polynomial.subs(self._values(30))
        return sp.lambdify((z, G), [pnum, sp.diff(pnum, G)], "numpy")

    def _polish(self, zc, cand, steps=2):
        r"""Two Newton steps on :math:`P(z, \cdot)`: Ferrari's formula loses ~6 digits to cancellation."""
        f = self._p_functions
        with np.errstate(all="ignore"):
            for _ in range(steps):
                p, dp = f(zc[None, :], cand)
                step = p / dp
                cand = np.where(np.isfinite(step) & (np.abs(step) < 1e-3 * np.abs(cand)), cand - step, cand)
        return cand

    def _evaluate(self, zc):
        """Physical root at ``zc`` (upper half plane or real axis) and its branch index."""
        chain = self._numeric_chain
        m1, m2 = (float(v) for v in chain.moments())
        scale = abs(m1) + math.sqrt(max(m2 - m1 * m1, 0.0))
        # on (or very near) the real axis decide just above it, then follow by proximity
        probe = zc + 1j * np.maximum(1e-7 * scale - zc.imag, 0)
        cand = self._polish(probe, self._candidates(probe))
        with np.errstate(all="ignore"):
            score = np.zeros(cand.shape)
            for k in range(cand.shape[0]):
                g = cand[k]
                t = chain.top_down(probe, g)
                zb, _, gb, ok = chain.forward(t, herglotz=True)
                ok = np.ones(zc.shape, dtype=bool) if ok is None else ok
                err = np.abs(gb - g) / np.maximum(np.abs(g), 1e-300) + np.abs(zb - probe) / (np.abs(probe) + scale)
                score[k] = np.where(ok & np.isfinite(g) & (g.imag < 0), 0.0, 1.0) + np.minimum(np.nan_to_num(err, nan=1.0), 1.0)
        idx = np.argmin(score, axis=0)
        chosen = cand[idx, np.arange(zc.size)]
        if np.any(probe != zc):
            at = self._polish(zc, self._candidates(zc))
            near = np.argmin(np.abs(at - chosen[None, :]), axis=0)
            chosen = np.where(probe != zc, at[near, np.arange(zc.size)], chosen)
        return chosen, idx

    def stieltjes(self, zv, dps=None):
        r"""Closed-form :math:`G(z)` (vectorised); real ``z`` gives :math:`G(x + i0)`.

        ``dps`` evaluates the selected radical branch in mpmath with that many digits
        (object array of ``mpc``; degree <= 4 only).
        """
        zv = np.asarray(zv, dtype=complex)
        if not np.all(np.isfinite(zv)):
            raise ValueError("stieltjes needs finite z")
        shape, flat = zv.shape, zv.ravel()
        lower = flat.imag < 0
        zu = np.where(lower, np.conj(flat), flat)
        g, idx = self._evaluate(zu)
        if dps:
            if not self.has_radicals:
                raise ValueError(f"dps needs a radical formula; degree {self.degree} has none")
            g = self._refine(zu, g, dps)
        g = np.where(lower, [np.conj(v) for v in g] if dps else np.conj(g), g)
        return np.asarray(g).reshape(shape)

    def _refine(self, zu, g, dps):
        """mpmath evaluation of every radical branch; keep the one nearest the float choice."""
        with mpmath.workdps(dps):
            values = self._values(dps + 10)
            fns = [sp.lambdify(z, r.subs(values), "mpmath") for r in self.roots]
            out = []
            for zi, gi in zip(zu, g):
                zm = mpmath.mpc(zi.real, zi.imag) if zi.imag != 0 else mpmath.mpc(zi.real, 0)
                best = None
                for f in fns:
                    try:
                        v = mpmath.mpc(f(zm))
                    except (ZeroDivisionError, ValueError):
                        continue
                    if best is None or abs(v - gi) < abs(best - gi):
                        best = v
                out.append(best)
        return np.array(out, dtype=object)

    def density(self, x, dps=None):
        r"""Density of the continuous part, :math:`-\operatorname{Im} G(x+i0)/\pi` (atoms excluded).

        Vectorised; 0 outside the support.  Atoms only add real terms on the real axis
        away from their locations, so no subtraction is needed.
        """
        x = np.asarray(x, dtype=float)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"density needs finite x, got {x[~np.isfinite(x)].ravel()[0]!r}")
        g = self.stieltjes(x, dps=dps)
        if dps:
            with mpmath.workdps(dps):
                return np.array([max(-mpmath.im(v) / mpmath.pi, mpmath.mpf(0)) for v in g.ravel()],
                                dtype=object).reshape(x.shape)
        return np.maximum(-g.imag / np.pi, 0.0)

    def edges(self):
        """Support edges: real roots of the discriminant where the density switches on or off (sorted)."""
        if self.degree < 2:
            return []
        # transcendental parameters (hard-tanh) enter as 30-digit rationals: exact arithmetic,
        # an error ~1e-30 in the edges
        rational = {k: sp.Rational(str(v)) for k, v in self._values(30).items()}
        disc = self.discriminant if not rational else sp.discriminant(sp.expand(self.polynomial.subs(rational)), G)
        cand = set()
        for fac, _ in sp.factor_list(disc)[1]:  # distinct factors: simple roots for nroots
            fac = sp.Poly(fac, z)
            if fac.degree() >= 1:
                cand |= {float(sp.re(r)) for r in fac.nroots(n=30, maxsteps=500) if abs(sp.im(r)) < 1e-20}
        out = []
        for e in sorted(cand):
            delta = 1e-7 * max(abs(e), 1.0)
            left, right = self.density(np.array([e - delta, e + delta]))
            if (left > 1e-9) != (right > 1e-9):
                out.append(e)
        return out


#: deepest network whose P(z, G) has degree <= 4 in G (a density by radicals): the degree doubles
#: with each layer (orthogonal: 2^(L-2); Gaussian weights: 2^(L-1)); one layer more takes minutes
RADICAL_DEPTH = {"orthogonal": 4, "gaussian": 3}


def closed_form(activation, weights: str = "orthogonal", sigma_w2=2, sigma_b2=sp.Rational(1, 10), depth: int = 3, q0=1,
                widths=None) -> ClosedForm:
    r"""The :class:`ClosedForm` of a network (a :class:`~freefim.Network`, or its parameters,
    any of which may be a sympy symbol).  Defaults as :class:`~freefim.Network` and the CLI
    (``sigma_b2 = 1/10``).

    Supported depths: :math:`P(z, G)` exists for every depth, of degree :math:`2^{L-2}`
    (orthogonal) or :math:`2^{L-1}` (Gaussian weights) in :math:`G`; the density, edges and atoms
    in closed form by radicals need degree <= 4, i.e. depth <= 4 (orthogonal) or <= 3
    (Gaussian) (:data:`RADICAL_DEPTH`; "two hidden layers" is depth 3).  Deeper eliminations
    take minutes (orthogonal depth 5: ~3 minutes): use :class:`freefim.Spectrum` there.

    Examples
    --------
    >>> import sympy
    >>> s = sympy.Symbol("sigma_w2", positive=True)
    >>> cf = closed_form("relu", "orthogonal", sigma_w2=s, sigma_b2=0, depth=3)
    >>> cf.degree
    2
    >>> cf.moments(1)  # m1 = qh_2 + m1(mu_2) r1 = s^2/4 + s * s/2 (SPEC section 3)
    [3*sigma_w2**2/4]
    >>> cf.moments(1)[0].subs(s, 2) == cf.subs({s: 2}).moments(1)[0]  # substituting commutes with the moments
    True
    """
    return ClosedForm(symbolic_chain(activation, weights, sigma_w2, sigma_b2, depth, q0, widths))
