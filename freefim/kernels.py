r"""Compiled layer loop of :meth:`freefim.numeric.Chain.forward` for piecewise-linear networks.

The chain of a ReLU or hard-tanh network has layers :math:`\rho_l = c_l\,\mathrm{Bernoulli}(p_l)`
(orthogonal weights) or that law :math:`\boxtimes\,\mathrm{MP}(m_l)` (Gaussian weights), so each
layer of

.. math::

    w = z g - 1, \quad S = \frac{w + 1}{(w + p) c}\,\Big[\frac{1}{(1 + w) m}\Big], \quad
    z \leftarrow z / S + \hat q, \quad g \leftarrow g S

(with the derivatives in ``t`` carried along) is a few complex operations per point.  numpy runs
them as ~20 array operations per layer and call, so at 1,000 points and below a solve is bound by
call overhead; numba compiles the loop over points and layers into one pass.  It performs the same
operations in the same order with numpy's own complex arithmetic (products by fused multiply-adds,
quotients by Smith's scaling), so its numbers equal the numpy loop's bit for bit on this machine:
at depth 1,000 the chain amplifies one-ulp differences to ~1e-7 in ``g``, which is enough to make
the adaptive quadrature of a law spanning five decades chase noise (measured with numba's own
arithmetic: relu/orthogonal (2, 0.1) at depth 600 certified its mass to 1e-7 only, in 47 s; now
1.6e-12 in 1.8 s).  The points are independent and shared among the cores (``numba.prange``; each
point's operations, and so its numbers, do not depend on the thread): density on 1,000 points at depth
1,000 in 0.13 s on two cores instead of 0.21 s.  Processes that share the cores among themselves
(pytest-xdist workers, multiprocessing pools) should set ``NUMBA_NUM_THREADS=1``.  Without numba
:data:`forward_piecewise` is ``None`` and the numpy loop runs.
"""
from __future__ import annotations

import numpy as np

try:  # pragma: no cover - exercised when numba is installed
    import numba
except ImportError:  # pragma: no cover
    numba = None

__all__ = ["forward_piecewise"]


def _fma(a, b, c):
    """``a * b + c``; compiled as ``llvm.fma``, rounded once (this Python body, rounded twice, only
    types the call: nothing here runs without numba)."""
    return a * b + c


def _mul(a, b):
    """``a * b`` as numpy computes it (fused multiply-adds: ``re = fma(ar, br, -ai bi)``,
    ``im = fma(ar, bi, ai br)``), so that the compiled loop rounds as the numpy loop does."""
    return complex(_fma(a.real, b.real, -(a.imag * b.imag)), _fma(a.real, b.imag, a.imag * b.real))


def _div(a, b):
    """``a / b`` by numpy's algorithm (Smith's scaling); NaN for ``b = 0`` (numpy gives inf/NaN,
    which the callers mask as non-finite; numba itself would raise)."""
    br, bi = b.real, b.imag
    if abs(br) >= abs(bi):
        if br == 0.0 and bi == 0.0:
            return complex(np.nan, np.nan)
        rat = bi / br
        scl = 1.0 / (br + bi * rat)
        return complex((a.real + a.imag * rat) * scl, (a.imag - a.real * rat) * scl)
    rat = br / bi
    scl = 1.0 / (bi + br * rat)
    return complex((a.real * rat + a.imag) * scl, (a.imag * rat - a.real) * scl)


_points = range  # numba.prange when compiled: the points are independent (one thread each core)


def _forward_piecewise(t, qh0, qh, p, c, mp, herglotz):
    """``Z(t)``, ``Z'(t)``, ``g_L(t)`` and the Herglotz flag for Bernoulli(/MP) layers
    (``mp[l] = 0``: no Marchenko–Pastur factor); the operations of ``Chain.forward`` in its order."""
    n = t.size
    z_out = np.empty(n, dtype=np.complex128)
    dz_out = np.empty(n, dtype=np.complex128)
    g_out = np.empty(n, dtype=np.complex128)
    ok_out = np.ones(n, dtype=np.bool_)
    for i in _points(n):
        z = t[i]
        g = _div(1.0 + 0.0j, z - qh0)
        dz = 1.0 + 0.0j
        dg = _mul(-g, g)
        ok = True
        for l in range(qh.size):
            if herglotz:
                ok = ok and z.imag > 0 and g.imag < 0
            w = _mul(z, g) - 1.0
            dw = _mul(dz, g) + _mul(z, dg)
            pw = w + p[l]
            inv = _div((1.0 / c[l]) + 0.0j, pw)
            s = _mul(w + 1.0, inv)
            ds = _div((p[l] - 1.0) * inv, pw)
            if mp[l] != 0.0:
                inv2 = _div(1.0 + 0.0j, (1.0 + w) * mp[l])
                d2 = _div(-inv2, 1.0 + w)
                s, ds = _mul(s, inv2), _mul(ds, inv2) + _mul(s, d2)
            ds = _mul(ds, dw)
            inv_s = _div(1.0 + 0.0j, s)
            z_s = _mul(z, inv_s)
            z, dz = z_s + qh[l], _mul(dz - _mul(z_s, ds), inv_s)
            g, dg = _mul(g, s), _mul(dg, s) + _mul(g, ds)
        z_out[i], dz_out[i], g_out[i], ok_out[i] = z, dz, g, ok
    return z_out, dz_out, g_out, ok_out


if numba is not None:  # pragma: no branch
    from llvmlite import ir
    from numba.core.extending import intrinsic

    @intrinsic
    def _fma_intrinsic(typingctx, a, b, c):
        f64 = numba.types.float64

        def codegen(context, builder, signature, args):
            d = ir.DoubleType()
            return builder.call(builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d])), args)
        return f64(f64, f64, f64), codegen

    _fma = numba.njit(inline="always")(lambda a, b, c: _fma_intrinsic(a, b, c))
    _mul = numba.njit(inline="always")(_mul)
    _div = numba.njit(error_model="numpy", inline="always")(_div)

    _points = numba.prange

#: the compiled kernel, or ``None`` without numba
forward_piecewise = (numba.njit(cache=True, error_model="numpy", nogil=True, parallel=True)(_forward_piecewise)
                     if numba is not None else None)
