"""Symbolic layer: transforms, P(z, G), closed forms, checked against the numeric solver."""
import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from freefim import Network, Spectrum
from freefim import laws as nlaws
from freefim.cli import main
from freefim.laws import Bernoulli, FreeProduct, MarchenkoPastur, Shifted
from freefim.meanfield import rho_law
from freefim.symbolic import SYMPY_FN, G, closed_form, radical_roots, z

w = sp.Symbol("w")

# (activation, weights, sigma_w2, sigma_b2, depth, expected degree in G)
CASES = [
    ("relu", "orthogonal", 2.0, 0.1, 3, 2),
    ("relu", "gaussian", 2.0, 0.1, 3, 4),
    ("hardtanh", "orthogonal", 1.2, 0.05, 3, 2),
    ("hardtanh", "gaussian", 1.1, 0.05, 3, 4),
    ("linear", "gaussian", 1.0, 0.1, 3, 4),
    ("relu", "gaussian", 2.0, 0.1, 2, 2),
    ("hardtanh", "gaussian", 1.1, 0.05, 2, 2),
]
IDS = [f"{a}-{b}-L{d}" for a, b, _, _, d, _ in CASES]
_CACHE = {}


def setup(case):
    if case not in _CACHE:
        net = Network(*case[:5])
        _CACHE[case] = net, closed_form(net), Spectrum(net)
    return _CACHE[case]


# ---------------------------------------------------------------- laws
def test_law_moments_and_transforms():
    p, c = sp.Symbol("p", positive=True), sp.Symbol("c", positive=True)
    assert MarchenkoPastur().moments(4) == [1, 2, 5, 14]  # Catalan numbers
    assert [sp.simplify(m - p * c ** k) for k, m in enumerate(Bernoulli(p, c).moments(3), 1)] == [0, 0, 0]
    assert MarchenkoPastur(scale=c).free_cumulants(3) == [c, c ** 2, c ** 3]
    law = Bernoulli(p, c)
    # S(w) = 1 / R(w S(w)) (Nica-Speicher) for the explicit R of Bernoulli
    val = {p: sp.Rational(1, 3), c: 2, w: sp.Rational(1, 7)}
    s = law.s_transform(w)[0]
    assert sp.N((1 / law.r_transform(w * s) - s).subs(val), 30) == pytest.approx(0, abs=1e-25)
    # the generic R (resultant) of a free product has the right cumulants
    prod = FreeProduct(Bernoulli(sp.Rational(1, 2), 2), MarchenkoPastur())
    r = prod.r_transform(w)
    series = sp.series(r, w, 0, 3).removeO()
    assert [series.coeff(w, k) for k in range(3)] == prod.free_cumulants(3)
    # float laws agree on m1, m2
    num = nlaws.FreeProduct(nlaws.Bernoulli(0.5, 2.0), nlaws.MarchenkoPastur(1.0))
    assert [float(m) for m in prod.moments(2)] == pytest.approx([num.m1, num.m2], rel=1e-15)
    # the free Poisson law of rate 2 (MP(1) [+] MP(1)): every free cumulant 2
    fp = MarchenkoPastur(sp.Rational(1, 2), 2)
    assert fp.free_cumulants(3) == [2, 2, 2]
    assert fp.moments(3) == [2, 6, 22]
    # law [+] delta_3: the first cumulant moves by 3, the atoms by 3
    sh = Shifted(Bernoulli(sp.Rational(1, 4)), 3)
    assert sh.atoms == ((3, sp.Rational(3, 4)), (4, sp.Rational(1, 4)))
    assert sh.free_cumulants(3)[0] == sp.Rational(13, 4) and sh.free_cumulants(3)[1:] == Bernoulli(sp.Rational(1, 4)).free_cumulants(3)[1:]
    # one rho_l builder: the mean field's, in the sympy number context
    rho = rho_law("relu", 1, 2, "orthogonal", SYMPY_FN)
    assert type(rho) is Bernoulli and (rho.p, rho.scale) == (sp.Rational(1, 2), 2) and isinstance(rho.p, sp.Rational)
    with pytest.raises(ValueError, match="no symbolic form"):
        rho_law("tanh", 1, 2, "orthogonal", SYMPY_FN)


def test_radical_roots_all_degrees():
    for coeffs in ([2, -3], [1, -3, 2], [2, -1, 3, 5], [3, 1, -2, 7, 1]):
        got = np.sort_complex(np.array([complex(sp.N(r)) for r in radical_roots([sp.Integer(c) for c in coeffs])]))
        assert got == pytest.approx(np.sort_complex(np.roots(coeffs)), abs=1e-12)
    with pytest.raises(ValueError, match="degree 5"):
        radical_roots([1, 0, 0, 0, 1, 1])


# ---------------------------------------------------------------- closed form vs numeric solver
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_closed_form_agrees_with_solver(case):
    net, cf, spec = setup(case)
    assert cf.degree == case[5]
    assert sp.Poly(cf.polynomial, G).is_irreducible or cf.parameters  # factored over Q when rational
    (a, b), = spec.support()
    x = a + (b - a) * (np.arange(50) + 0.5) / 50
    g_float = spec.stieltjes(x)
    g_closed = cf.stieltjes(x)
    err = np.max(np.abs(g_closed - g_float) / np.abs(g_float))
    dens_err = np.max(np.abs(cf.density(x) - spec.density(x)))
    spec_mp = Spectrum(net, dps=30)
    g_mp = spec_mp.stieltjes(x)
    g_closed_mp = cf.stieltjes(x, dps=30)
    err_mp = max(float(abs(u - v) / abs(v)) for u, v in zip(g_closed_mp, g_mp))
    err_mix = max(float(abs(complex(u) - v) / abs(v)) for u, v in zip(g_closed, g_mp))
    print(f"\n{case[:5]}: degree {cf.degree}; 50 points: |G_closed - G_float|/|G| <= {err:.2e}, "
          f"density {dens_err:.2e}; closed(mp30) vs solver(mp30) {err_mp:.2e}; closed(float) vs mp30 {err_mix:.2e}")
    assert err < 1e-10 and dens_err < 1e-10 and err_mp < 1e-12 and err_mix < 1e-10
    if cf.degree == 2:  # one radical expression is the physical branch on the whole support
        f = sp.lambdify(z, cf.root.subs(cf._values(30)), "numpy")
        assert np.max(np.abs(f(x + 0j) - g_float)) < 1e-10 * np.max(np.abs(g_float))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_edges_atoms_moments(case):
    net, cf, spec = setup(case)
    (a, b), = spec.support()
    assert cf.edges() == pytest.approx([a, b], rel=1e-10)
    values = cf._values(30)
    atoms = sorted((float(sp.sympify(loc).subs(values)), float(sp.sympify(m).subs(values))) for loc, m in cf.atoms)
    assert np.ravel(atoms) == pytest.approx(np.ravel([(t.location, t.mass) for t in spec.atoms]), rel=1e-12)
    lead = sp.Poly(cf.polynomial, G).LC()
    for loc, _ in atoms:  # an atom is a pole of G: the leading coefficient vanishes there
        assert abs(float(lead.subs(values).subs(z, loc))) < 1e-9 * float(sum(abs(c) for c in sp.Poly(lead.subs(values), z).coeffs()))
    m = [float(sp.sympify(v).subs(values)) for v in cf.moments(4, substitute=True)]
    assert m[:2] == pytest.approx([spec.moments.m1, spec.moments.m2], rel=1e-13)
    assert m[2:] == pytest.approx([spec.numeric_moment(3), spec.numeric_moment(4)], rel=1e-8)


def test_point_mass_and_atoms_only_cases():
    cf = closed_form(Network("linear", "orthogonal", 1.0, 0.1, 3))
    assert cf.degree == 1 and cf.atoms == ((sp.Rational(33, 10), 1),) and cf.edges() == []
    assert sp.expand(cf.polynomial - 10 * (G * (z - sp.Rational(33, 10)) - 1)) == 0  # G = 1/(z - 33/10)
    cf = closed_form(Network("relu", "orthogonal", 2.0, 0.1, 2))  # two atoms, no continuous part
    assert cf.degree == 1
    assert sorted(cf.atoms) == [(sp.Rational(21, 20), sp.Rational(1, 2)), (sp.Rational(61, 20), sp.Rational(1, 2))]


def test_symbolic_sigma_w2():
    s = sp.Symbol("sigma_w2", positive=True)
    cf = closed_form("relu", "orthogonal", sigma_w2=s, sigma_b2=sp.Rational(1, 10), depth=3)
    assert cf.degree == 2 and s in cf.polynomial.free_symbols
    m1, m2 = cf.moments(2)
    # SPEC section 3 rules: m1 = qh_2 + r1 (qh_1 + r1 qh_0), r1 = s/2
    qh1 = (s + sp.Rational(1, 10)) / 2
    qh2 = (s * qh1 + sp.Rational(1, 10)) / 2
    assert sp.simplify(m1 - (qh2 + s / 2 * (qh1 + s / 2))) == 0
    num = closed_form(Network("relu", "orthogonal", 2.0, 0.1, 3))
    assert sp.expand(cf.subs({s: 2}).polynomial - num.polynomial) == 0
    with pytest.raises(ValueError, match="sigma_w2"):
        cf.density([4.0])


def test_bad_input():
    with pytest.raises(ValueError, match="sigma_w2"):
        closed_form("relu", sigma_w2=-1)
    with pytest.raises(ValueError, match="tanh"):
        closed_form("tanh")
    with pytest.raises(ValueError, match="depth"):
        closed_form("relu", depth=0)
    with pytest.raises(ValueError, match="nan"):
        closed_form(Network("relu", "orthogonal", 2.0, 0.1, 3)).density([float("nan")])


def test_cli(capsys):
    assert main(["closed-form", "--activation", "relu", "--weights", "orthogonal", "--sigma-w2", "2",
                 "--sigma-b2", "0.1", "--depth", "3", "--x", "4", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["degree"] == 2 and "G**2*z**4" in out["polynomial"] and "\\sqrt" in out["latex"]
    assert out["edges"] == pytest.approx([3.2, 7.2], rel=1e-12)
    assert out["atoms"][0]["location"] == pytest.approx(1.1) and out["atoms"][0]["mass"] == 0.5
    spec = Spectrum(Network("relu", "orthogonal", 2.0, 0.1, 3))
    assert out["density"] == pytest.approx(spec.density([4.0, 5.0]), abs=1e-12)
    proc = subprocess.run([sys.executable, "-m", "freefim", "closed-form", "--sigma-w2", "nan"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "nan" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
