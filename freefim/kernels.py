r"""Compiled layer loop of :meth:`freefim.numeric.Chain.forward` for piecewise-linear networks.

The chain of a ReLU or hard-tanh network has layers :math:`\rho_l = c_l\,\mathrm{Bernoulli}(p_l)`
(orthogonal weights) or that law :math:`\boxtimes\,\mathrm{MP}(m_l)` (Gaussian weights), so each
layer of

.. math::

    w = z g - 1, \quad S = \frac{w + 1}{(w + p) c}\,\Big[\frac{1}{(1 + w) m}\Big], \quad
    z \leftarrow z / S + \hat q, \quad g \leftarrow g S

(with the derivatives in ``t`` carried along) is a few complex operations per point.  numpy runs
them as ~20 array operations per layer and call, so at 1,000 points and below a solve is bound by
call overhead; numba compiles the loop over points and layers into one pass (same operations in
the same order, so the same numbers to rounding).  Without numba :data:`forward_piecewise` is
``None`` and the numpy loop runs.
"""
from __future__ import annotations

import numpy as np

try:  # pragma: no cover - exercised when numba is installed
    import numba
except ImportError:  # pragma: no cover
    numba = None

__all__ = ["forward_piecewise"]


def _div(a, b):
    """``a / b``; NaN for ``b = 0`` (numba raises on complex division by zero, numpy gives inf/NaN,
    which the callers mask as non-finite)."""
    if b.real == 0.0 and b.imag == 0.0:
        return complex(np.nan, np.nan)
    return a / b


def _forward_piecewise(t, qh0, qh, p, c, mp, herglotz):
    """``Z(t)``, ``Z'(t)``, ``g_L(t)`` and the Herglotz flag for Bernoulli(/MP) layers
    (``mp[l] = 0``: no Marchenko–Pastur factor)."""
    n = t.size
    z_out = np.empty(n, dtype=np.complex128)
    dz_out = np.empty(n, dtype=np.complex128)
    g_out = np.empty(n, dtype=np.complex128)
    ok_out = np.ones(n, dtype=np.bool_)
    for i in range(n):
        z = t[i]
        g = _div(1.0 + 0.0j, z - qh0)
        dz = 1.0 + 0.0j
        dg = -g * g
        ok = True
        for l in range(qh.size):
            if herglotz:
                ok = ok and z.imag > 0 and g.imag < 0
            w = z * g - 1.0
            dw = dz * g + z * dg
            pw = w + p[l]
            inv = _div((1.0 / c[l]) + 0.0j, pw)
            s = (w + 1.0) * inv
            ds = _div((p[l] - 1.0) * inv, pw)
            if mp[l] != 0.0:
                inv2 = _div(1.0 + 0.0j, (1.0 + w) * mp[l])
                d2 = _div(-inv2, 1.0 + w)
                s, ds = s * inv2, ds * inv2 + s * d2
            ds = ds * dw
            inv_s = _div(1.0 + 0.0j, s)
            z_s = z * inv_s
            z, dz = z_s + qh[l], (dz - z_s * ds) * inv_s
            g, dg = g * s, dg * s + g * ds
        z_out[i], dz_out[i], g_out[i], ok_out[i] = z, dz, g, ok
    return z_out, dz_out, g_out, ok_out


if numba is not None:  # pragma: no branch
    _div = numba.njit(cache=True, error_model="numpy", inline="always")(_div)
#: the compiled kernel, or ``None`` without numba
forward_piecewise = (numba.njit(cache=True, error_model="numpy", nogil=True)(_forward_piecewise)
                     if numba is not None else None)
