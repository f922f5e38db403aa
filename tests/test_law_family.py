"""One law family: every law of :mod:`freefim.laws` through float64 arrays, mpmath (30 digits) and
sympy (exact), the three number contexts agreeing; exact moments against the free moment rules."""
from math import comb

import mpmath
import numpy as np
import pytest
import sympy as sp

from freefim.laws import Bernoulli, FreeProduct, Law, MarchenkoPastur, PointMass, Shifted, scaled

R = sp.Rational
lam = sp.Symbol("lambda")
NARAYANA = [sp.Integer(1), 1 + lam, 1 + 3 * lam + lam ** 2, 1 + 6 * lam + 6 * lam ** 2 + lam ** 3]  # MP moments, mean 1


def _mp_moments(ratio, scale):
    return [scale ** k * NARAYANA[k - 1].subs(lam, ratio) for k in range(1, 5)]


def _binomial_shift(moments, a):
    m = [1] + list(moments)
    return [sum(comb(k, j) * a ** (k - j) * m[j] for j in range(k + 1)) for k in range(1, len(m))]


# (id, exact law with rational parameters, its exact moments m_1..m_4 by a rule independent of the
# S-transform series, or None when they are checked through free cumulants below)
LAWS = [
    ("point", PointMass(R(5, 2)), [R(5, 2) ** k for k in range(1, 5)]),
    ("bernoulli", Bernoulli(R(1, 3), 2), [R(1, 3) * 2 ** k for k in range(1, 5)]),
    ("mp-ratio1", MarchenkoPastur(1, R(5, 2)), _mp_moments(1, R(5, 2))),
    ("mp-ratio1/3", MarchenkoPastur(R(1, 3), 2), _mp_moments(R(1, 3), 2)),
    ("mp-ratio5/2", MarchenkoPastur(R(5, 2), R(1, 3)), _mp_moments(R(5, 2), R(1, 3))),
    ("product", FreeProduct(Bernoulli(R(1, 3), 2), MarchenkoPastur(1, R(5, 2))), None),
    ("scaled", scaled(MarchenkoPastur(R(1, 3)), R(5, 2)), _mp_moments(R(1, 3), R(5, 2))),
    ("shifted", Shifted(Bernoulli(R(1, 3), 2), R(5, 2)),
     _binomial_shift([R(1, 3) * 2 ** k for k in range(1, 5)], R(5, 2))),
]
IDS = [name for name, _, _ in LAWS]
PARAMS = [pytest.param(law, moments, id=name) for name, law, moments in LAWS]

#: sample points of the S-transform (away from its poles at -p, -1/lambda) and, near 0, of R
S_POINTS = [R(3, 10) + R(1, 5) * sp.I, R(-2, 5) + R(1, 2) * sp.I, R(3, 2) - R(7, 10) * sp.I, 2 * sp.I]
R_POINTS = [R(1, 10) + R(1, 20) * sp.I, R(-3, 25) + R(2, 25) * sp.I, R(1, 20) - R(3, 20) * sp.I]
w = sp.Symbol("w")


def _to_mpf(v):
    v = sp.Rational(v)
    return mpmath.mpf(v.p) / v.q


def _contexts(law, points):
    """``(float law, float points)``, ``(mpmath law, mpc points)`` at 30 digits."""
    zs = [complex(p) for p in points]
    with mpmath.workdps(30):
        return (law.with_numbers(float), np.array(zs)), (law.with_numbers(_to_mpf), [
            mpmath.mpc(_to_mpf(sp.re(p)), _to_mpf(sp.im(p))) for p in points])


def _mpc(v):
    """A float, mpmath or sympy number as an ``mpc`` (sympy: evaluated to 40 digits)."""
    if isinstance(v, sp.Basic):
        v = sp.N(v, 40)
        return mpmath.mpc(mpmath.mpf(str(sp.re(v))), mpmath.mpf(str(sp.im(v))))
    return mpmath.mpc(v)


def _close(a, b, tol=1e-12):
    """``|a - b| <= tol max(1, |b|)``, at 40 digits."""
    with mpmath.workdps(40):
        a, b = _mpc(a), _mpc(b)
        return abs(a - b) <= tol * max(1, abs(b))


def _has_s(law):
    return not isinstance(law, Shifted)


def _closed_r(law):
    """A law whose R-transform has a closed form running on every number context."""
    return type(law).r_transform is not Law.r_transform and not (
        isinstance(law, Shifted) and not _closed_r(law.law))


@pytest.mark.parametrize("law, moments", PARAMS)
def test_s_transform_three_contexts(law, moments):
    if not _has_s(law):
        with pytest.raises(ValueError, match="no closed-form S-transform"):
            law.s_transform(w)
        return
    s, ds = law.s_transform(w)
    assert sp.simplify(sp.diff(s, w) - ds) == 0  # the returned derivative is S'
    exact = [(s.subs(w, p).evalf(30), ds.subs(w, p).evalf(30)) for p in S_POINTS]
    (flaw, fz), (mlaw, mz) = _contexts(law, S_POINTS)
    fs, fds = flaw.s_transform(fz)
    with mpmath.workdps(30):
        mp = [mlaw.s_transform(p) for p in mz]
        for k, (es, eds) in enumerate(exact):
            assert _close(fs[k], es) and _close(fds[k], eds)
            assert _close(mp[k][0], es, 1e-25) and _close(mp[k][1], eds, 1e-25)


@pytest.mark.parametrize("law, moments", PARAMS)
def test_r_transform_three_contexts(law, moments):
    r = law.r_transform(w)
    m = law.moments(3)
    # R(w) = k_1 + k_2 w + ...: its series are the free cumulants
    series = sp.series(r, w, 0, 3).removeO()
    assert [sp.simplify(series.coeff(w, k) - c) for k, c in enumerate(law.free_cumulants(3))] == [0, 0, 0]
    assert sp.simplify(series.coeff(w, 0) - m[0]) == 0
    exact = [r.subs(w, p).evalf(30) for p in R_POINTS]
    if _has_s(law):  # S(w) = 1/R(w S(w)) (Nica-Speicher)
        s = law.s_transform(w)[0]
        for p in R_POINTS:
            sv = s.subs(w, p)
            assert _close((1 / r.subs(w, p * sv)).evalf(30), sv.evalf(30), 1e-25)
    if not _closed_r(law):
        return
    if type(law) is not PointMass and not isinstance(law, Shifted):  # the closed form is the generic branch
        generic = Law.r_transform(law, w)
        assert all(_close(generic.subs(w, p).evalf(30), e, 1e-25) for p, e in zip(R_POINTS, exact))
    (flaw, fz), (mlaw, mz) = _contexts(law, R_POINTS)
    fr = np.broadcast_to(flaw.r_transform(fz), fz.shape)
    with mpmath.workdps(30):
        mr = [mlaw.r_transform(p) for p in mz]
        for k, e in enumerate(exact):
            assert _close(fr[k], e) and _close(mr[k], e, 1e-25)


@pytest.mark.parametrize("law, moments", PARAMS)
def test_exact_moments(law, moments):
    got = law.moments(4)
    assert all(isinstance(v, sp.Rational) for v in got)
    if moments is not None:
        assert got == [sp.nsimplify(v) for v in moments]
    else:  # nu [x] MP(1, s) is free compound Poisson: free cumulants s^k m_k(nu)
        nu, mp = law.first, law.second
        assert law.free_cumulants(4) == [mp.scale ** k * v for k, v in enumerate(nu.moments(4), 1)]
        a, b = nu.moments(2), mp.moments(2)  # and the free moment rules of m1, m2
        assert got[:2] == [a[0] * b[0], a[1] * b[0] ** 2 + a[0] ** 2 * b[1] - (a[0] * b[0]) ** 2]
    # the attributes: exact in sympy, float64 and mpmath to rounding
    assert [law.m1, law.m2] == got[:2]
    flaw = law.with_numbers(float)
    assert [flaw.m1, flaw.m2] == pytest.approx([float(v) for v in got[:2]], rel=1e-15)
    with mpmath.workdps(30):
        mlaw = law.with_numbers(_to_mpf)
        assert all(abs(x - _to_mpf(v)) <= mpmath.mpf(10) ** -28 * abs(_to_mpf(v)) for x, v in zip((mlaw.m1, mlaw.m2), got))


@pytest.mark.parametrize("law, moments", PARAMS)
def test_atoms_and_substitution(law, moments):
    exact = sorted((float(a), float(m)) for a, m in law.atoms)
    floats = sorted((float(a), float(m)) for a, m in law.with_numbers(float).atoms)
    assert np.ravel(floats) == pytest.approx(np.ravel(exact), rel=1e-15, abs=0)
    assert sum(m for _, m in law.atoms) <= 1
    # subs / numeric: a symbol put in and taken out again
    x = sp.Symbol("x", positive=True)
    num = law.numeric({})
    assert [num.m1, num.m2] == pytest.approx([float(law.m1), float(law.m2)], rel=1e-15)
    assert law.subs({x: 3}).moments(2) == law.moments(2)


def test_symbolic_parameters():
    p, c, a = sp.symbols("p c a", positive=True)
    law = Shifted(FreeProduct(Bernoulli(p, c), MarchenkoPastur()), a)
    m = law.moments(2)
    assert sp.simplify(m[0] - (c * p + a)) == 0
    assert sp.simplify(law.subs({p: R(1, 3), c: 2, a: R(5, 2)}).moments(2)[1] - m[1].subs({p: R(1, 3), c: 2, a: R(5, 2)})) == 0
    assert law.atoms == ((a, 1 - p),)  # mass 1 - p at 0 of the product, moved to a
    with pytest.raises(ValueError, match="undecidable"):
        MarchenkoPastur(sp.Symbol("r", positive=True))


def test_smooth_laws_have_no_symbolic_form():
    from freefim.laws import activation_law

    law = activation_law("tanh", 0.5, 2.0)
    for exact in (law, FreeProduct(law, MarchenkoPastur()), Shifted(law, 1.0)):
        with pytest.raises(ValueError, match="no symbolic form"):
            exact.moments(2)
