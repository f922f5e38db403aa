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
"""
from __future__ import annotations

__all__ = ["Law", "PointMass", "Bernoulli", "MarchenkoPastur", "FreeProduct"]


class Law:
    """A probability law on ``[0, inf)`` described through its S-transform."""

    #: first and second moments
    m1 = m2 = None
    #: tuple of ``(location, mass)`` pairs, masses > 0
    atoms = ()
    #: an upper bound of the support
    upper = None

    def s_transform(self, w):
        """Return ``(S(w), dS/dw)`` elementwise."""
        raise NotImplementedError

    def mass_at(self, location):
        """Mass of the atom at ``location`` (0 if there is none)."""
        for a, m in self.atoms:
            if a == location:
                return m
        return 0


class PointMass(Law):
    r""":math:`\delta_a`, :math:`S(w) = 1/a`."""

    def __init__(self, a):
        self.a = a
        self.m1, self.m2 = a, a * a
        self.atoms = ((a, 1),)
        self.upper = a

    def s_transform(self, w):
        return 0 * w + 1 / self.a, 0 * w

    def __repr__(self):
        return f"PointMass({self.a})"


class Bernoulli(Law):
    r"""``scale`` times Bernoulli(``p``) on :math:`\{0, 1\}`.

    :math:`S(w) = \frac{1 + w}{(p + w)\,c}` with :math:`c` = ``scale``; atoms
    :math:`1-p` at 0 and :math:`p` at :math:`c`.  ``p = 1`` is the point mass at ``c``.
    """

    def __init__(self, p, scale=1):
        self.p, self.scale = p, scale
        self.m1, self.m2 = scale * p, scale * scale * p
        self.atoms = tuple((a, m) for a, m in ((0 * scale, 1 - p), (scale, p)) if m > 0)
        self.upper = scale

    def s_transform(self, w):
        p, c = self.p, self.scale
        pw = w + p
        inv = (1 / c) / pw
        return (w + 1) * inv, ((p - 1) * inv) / pw

    def __repr__(self):
        return f"Bernoulli(p={self.p}, scale={self.scale})"


class MarchenkoPastur(Law):
    r"""``scale`` times Marchenko–Pastur of ratio 1 and mean 1: :math:`S(w) = \frac{1}{(1 + w)c}`.

    It is the limiting law of :math:`W^T W` for an ``M x M`` matrix with
    i.i.d. :math:`N(0, 1/M)` entries; support :math:`[0, 4c]`, no atom.
    """

    def __init__(self, scale=1):
        self.scale = scale
        self.m1, self.m2 = scale, 2 * scale * scale
        self.atoms = ()
        self.upper = 4 * scale

    def s_transform(self, w):
        c = self.scale
        inv = 1 / ((1 + w) * c)
        return inv, -inv / (1 + w)

    def __repr__(self):
        return f"MarchenkoPastur(scale={self.scale})"


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

    def s_transform(self, w):
        s1, d1 = self.first.s_transform(w)
        s2, d2 = self.second.s_transform(w)
        return s1 * s2, d1 * s2 + s1 * d2

    def __repr__(self):
        return f"FreeProduct({self.first!r}, {self.second!r})"


def free_product_atoms(atoms_mu, atoms_nu):
    """Atoms of ``mu [x] nu`` from the atoms of ``mu`` and ``nu`` (Belinschi 2003)."""
    zero = max([m for a, m in atoms_mu if a == 0] + [m for b, m in atoms_nu if b == 0] + [0])
    out = [(0 * zero, zero)] if zero > 0 else []
    for a, ma in atoms_mu:
        for b, mb in atoms_nu:
            if a != 0 and b != 0 and ma + mb - 1 > 0:
                out.append((a * b, ma + mb - 1))
    return tuple(out)
