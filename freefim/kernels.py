r"""Compiled layer loops of :meth:`freefim.numeric.Chain.forward`: piecewise-linear networks and
smooth activations.

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
when ``w = z g - 1`` was formed at each layer (now carried: ``w <- w + qh g``, see ``Chain._step``),
the chain amplified one-ulp differences to ~1e-7 in ``g`` at depth 1,000, which is enough to make
the adaptive quadrature of a law spanning five decades chase noise (measured with numba's own
arithmetic: relu/orthogonal (2, 0.1) at depth 600 certified its mass to 1e-7 only, in 47 s; with
numpy's, 1.6e-12 in 1.8 s).  The points are independent and shared among the cores (``numba.prange``; each
point's operations, and so its numbers, do not depend on the thread): density on 1,000 points at depth
1,000 in 0.13 s on two cores instead of 0.21 s.  Calls below :data:`PARALLEL_WORK` point-layers run
in one thread (waking the threads costs milliseconds per call on busy cores).  Processes that share
the cores among themselves (pytest-xdist workers, multiprocessing pools) should set
``NUMBA_NUM_THREADS=1``.  Without numba
:data:`forward_piecewise` is ``None`` and the numpy loop runs.

Smooth activations (:func:`forward_rational`): each layer's :math:`S` is the certified rational fit of
:class:`freefim.laws.SmoothLaw` (a barycentric sum over ~40 support points), which numpy evaluates as
~30 array operations and two matrix products per layer and call.  The compiled loop evaluates the
same barycentric form point by point, its sums in real arithmetic over SIMD lanes
(:func:`_barycentric_sums`), and inside the main fit's box next to ``w = -1`` the law's second (near)
fit where that serves.  A point whose ``w`` neither fit serves (next to ``w = -1``, where the exact
Newton runs) stops at that layer; the caller takes that one layer by numpy and the kernel resumes.  The
tanh density on 1,000 points at the critical point q* = 0.1 takes 0.45 s at depth 1,000 (numpy loop:
4.4 s; with complex quotients in the sums and the near fit left to numpy, 1.2 s).  The layer update is the
piecewise loop's (``_advance``, numpy's products and quotients), but the barycentric sums run in
another order than numpy's matrix products, so the two loops agree to ~1e-13..1e-11 relative at random
points (up to 4e-10 where the chain amplifies rounding), the level of the fits' own error (~1e-11), not
bit for bit.
"""
from __future__ import annotations

import types

import numpy as np

try:  # pragma: no cover - exercised when numba is installed
    import numba
except ImportError:  # pragma: no cover
    numba = None

__all__ = ["forward_piecewise", "forward_rational"]


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


def _advance(z, dz, g, dg, w, dw, s, ds, qh, mp):
    """One layer of ``Chain._step`` once ``S(w)``, ``S'(w)`` of the layer's law are known: the factor
    of ``MP(mp)`` (``mp = 0``: none), ``z <- z / S + qh``, ``g <- g S``, ``w <- w + qh g`` (``w = z g - 1``
    carried, see ``Chain._step``), with the derivatives in ``t``; returns the new ``z, dz, g, dg, w, dw``."""
    if mp != 0.0:
        inv2 = _div(1.0 + 0.0j, (1.0 + w) * mp)
        d2 = _div(-inv2, 1.0 + w)
        s, ds = _mul(s, inv2), _mul(ds, inv2) + _mul(s, d2)
    ds = _mul(ds, dw)
    inv_s = _div(1.0 + 0.0j, s)
    z_s = _mul(z, inv_s)
    g_s, dg_s = _mul(g, s), _mul(dg, s) + _mul(g, ds)
    q = complex(qh, 0.0)  # numpy's float * complex: the float as a complex
    z_n, dz_n = z_s + qh, _mul(dz - _mul(z_s, ds), inv_s)
    w, dw = _w(z_n, dz_n, g_s, dg_s, w, dw, q)
    return z_n, dz_n, g_s, dg_s, w, dw


def _w(z, dz, g, dg, w_before, dw_before, q):
    """``Chain._w``: ``w = z g - 1`` formed, or carried (``w_before + q g``, only computed then) where
    forming cancels more than three digits."""
    zg = _mul(z, g)
    w = zg - 1.0
    if w.real * w.real + w.imag * w.imag < 1e-6 * (zg.real * zg.real + zg.imag * zg.imag):  # CARRY_W ** 2
        return w_before + _mul(q, g), dw_before + _mul(q, dg)
    return w, _mul(dz, g) + _mul(z, dg)


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
        q0 = complex(qh0, 0.0)
        zero = complex(-0.0, -0.0)  # x + (-0) = x exactly: the carried w_1 = qh_0 g_1 as numpy forms it
        w, dw = _w(z, dz, g, dg, zero, zero, q0)  # z_1 g_1 - 1 = qh_0 g_1
        ok = True
        for l in range(qh.size):
            if herglotz:
                ok = ok and z.imag > 0 and g.imag < 0
            pw = w + p[l]
            inv = _div((1.0 / c[l]) + 0.0j, pw)
            s = _mul(w + 1.0, inv)
            ds = _div((p[l] - 1.0) * inv, pw)
            z, dz, g, dg, w, dw = _advance(z, dz, g, dg, w, dw, s, ds, qh[l], mp[l])
        z_out[i], dz_out[i], g_out[i], ok_out[i] = z, dz, g, ok
    return z_out, dz_out, g_out, ok_out


def _barycentric_sums(vr, vi, zj, cn, cd, lo, hi):
    r"""The four sums of :func:`_barycentric`, :math:`\sum c_j a_j` with :math:`c_j = 1/(v - z_j)` or
    :math:`c_j^2` and :math:`a_j` = ``cn[j]`` or ``cd[j]``, in real arithmetic: the reciprocal as
    :math:`\bar d / |d|^2` (no branch) and compiled with reassociation, so that the loop over the support
    points runs in SIMD lanes (4x faster than complex quotients by Smith's scaling; the sums' order and
    so their rounding differ, ~1e-15 relative away from the fit's poles).  :math:`|d|^2` over- or
    underflows only for :math:`|v - z_j|` beyond 1e154 or below 1e-154: the sums are then not finite
    and the caller retries or stops the point."""
    nr = ni = dr = di = n2r = n2i = d2r = d2i = 0.0
    for j in range(lo, hi):
        ar, ai = vr - zj[j].real, vi - zj[j].imag
        m = 1.0 / (ar * ar + ai * ai)
        cr, ci = ar * m, -ai * m
        a, b = cn[j], cd[j]
        nr += cr * a.real - ci * a.imag
        ni += cr * a.imag + ci * a.real
        dr += cr * b.real - ci * b.imag
        di += cr * b.imag + ci * b.real
        sr, si = cr * cr - ci * ci, 2.0 * cr * ci
        n2r += sr * a.real - si * a.imag
        n2i += sr * a.imag + si * a.real
        d2r += sr * b.real - si * b.imag
        d2i += sr * b.imag + si * b.real
    return complex(nr, ni), complex(dr, di), complex(n2r, n2i), complex(d2r, d2i)


def _barycentric(v, zj, cn, cd, lo, hi):
    """The barycentric rational ``N/D`` and its derivative at ``v`` over support points
    ``zj[lo:hi]`` with numerator / denominator weights ``cn``, ``cd`` (as
    :func:`freefim.laws._barycentric`; on a support point, a hair away)."""
    for attempt in range(2):
        n, d, n2, d2 = _barycentric_sums(v.real, v.imag, zj, cn, cd, lo, hi)
        r = _div(n, d)
        dr = _div(r * d2 - n2, d)
        if np.isfinite(r.real) and np.isfinite(r.imag):
            break
        v = v * (1 + 1e-13) + 1e-300
    return r, dr


def _near_s(wr, ai, k_, near_start, nzj, ncn, ncd, radius, ring_start, rings, angles):
    r"""``S``, ``S'`` at ``v = wr + i ai`` (upper half-plane, inside the main fit's box) from the law's near fit
    (:attr:`freefim.laws.SmoothLaw._near`, the operations of ``SmoothLaw._rational_s``), or NaN where that
    fit does not serve ``v``: :math:`|1 + v|` below its ``radius`` or :math:`\arg(1 + v)` beyond its ring's angle."""
    nan = complex(np.nan, np.nan)
    ur = 1.0 + wr
    r = np.hypot(ur, ai)
    if not r >= radius[k_]:  # also no near fit (radius inf)
        return nan, nan
    lo, hi = ring_start[k_], ring_start[k_ + 1]
    j = lo + np.searchsorted(rings[lo:hi], r)  # the next ring out (numpy's side="left")
    if not np.arctan2(ai, ur) < angles[min(j, hi - 1)]:
        return nan, nan
    v = complex(wr, ai)
    lo, hi = near_start[k_], near_start[k_ + 1]
    s, ds = _barycentric(v, nzj, ncn, ncd, lo, hi)
    if ai < 1e-3 * (1 + abs(v)) and wr > -1.0 and abs(ur) >= radius[k_]:  # real on the axis (_near_axis)
        s0, ds0 = _barycentric(complex(wr, 0.0), nzj, ncn, ncd, lo, hi)
        if ai <= 1e-6 * abs(ur):  # NEAR_AXIS_TAYLOR
            s = complex(s.real, ai * ds0.real)
        else:
            s = s - 1j * s0.imag
    return s, ds


def _forward_rational(z, dz, g, dg, w_, dw_, ok, first, qh, mp, law, inv_sup, start, zj, cn, cd, box,
                      near_start, nzj, ncn, ncd, radius, ring_start, rings, angles, herglotz):
    """Run the layers ``first[i]`` onwards of a chain of smooth laws on the state ``z``, ``dz``,
    ``g``, ``dg``, ``ok`` of each point (in place): ``law[l]`` indexes the layer's fit,
    ``S = inv_sup + k(v) / (1 + v)`` with ``k`` the barycentric rational on ``zj[start[i]:start[i+1]]``,
    or, inside its ``box`` next to ``w = -1``, ``S`` the near fit on ``nzj[near_start[i]:near_start[i+1]]``
    where it serves (:func:`_near_s`; ``rings``, ``angles`` from ``ring_start[i]``), times ``MP(mp[l])``
    where ``mp[l] != 0`` (the operations of ``SmoothLaw._rational_s`` and ``Chain.forward``; ``w_``,
    ``dw_``: ``z g - 1`` and its derivative, carried).  Returns the layer where each point stopped:
    ``qh.size`` when done, else the first layer whose ``w`` neither fit serves (``w = 0``, the cut
    ``w <= -1``, next to ``w = -1`` where the exact Newton runs), for the caller to take that one step
    by numpy and resume."""
    n = z.size
    stop = np.full(n, qh.size, dtype=np.int64)
    for i in _points(n):
        zi, dzi, gi, dgi, w, dw, oki = z[i], dz[i], g[i], dg[i], w_[i], dw_[i], ok[i]
        for l in range(first[i], qh.size):
            k_ = law[l]
            wr, wi = w.real, w.imag
            ai = abs(wi)
            if (wr == 0.0 and wi == 0.0) or (wi == 0.0 and wr <= -1.0) or not (np.isfinite(wr) and np.isfinite(wi)):
                stop[i] = l
                break
            if wr > box[k_, 0] and wr < box[k_, 1] and ai < box[k_, 2]:
                s, ds = _near_s(wr, ai, k_, near_start, nzj, ncn, ncd, radius, ring_start, rings, angles)
            else:
                v = complex(wr, ai)
                lo, hi = start[k_], start[k_ + 1]
                k, dk = _barycentric(v, zj, cn, cd, lo, hi)
                if ai < 1e-3 * (1 + abs(v)) and wr > -1.0:  # real on the real axis (freefim.laws._near_axis)
                    k0, dk0 = _barycentric(complex(wr, 0.0), zj, cn, cd, lo, hi)
                    if ai <= 1e-6 * abs(1.0 + wr):  # NEAR_AXIS_TAYLOR
                        k = complex(k.real, ai * dk0.real)
                    else:
                        k = k - 1j * k0.imag
                inv = _div(1.0 + 0.0j, 1.0 + v)
                s = inv_sup[k_] + k * inv
                ds = (dk - k * inv) * inv
            if wi < 0:
                s, ds = s.conjugate(), ds.conjugate()
            elif wi == 0:
                s, ds = complex(s.real, 0.0), complex(ds.real, 0.0)
            if not (np.isfinite(s.real) and np.isfinite(s.imag) and np.isfinite(ds.real) and np.isfinite(ds.imag)):
                stop[i] = l
                break
            if herglotz:
                oki = oki and zi.imag > 0 and gi.imag < 0
            zi, dzi, gi, dgi, w, dw = _advance(zi, dzi, gi, dgi, w, dw, s, ds, qh[l], mp[l])
        z[i], dz[i], g[i], dg[i], w_[i], dw_[i], ok[i] = zi, dzi, gi, dgi, w, dw, oki
    return stop


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
    _w = numba.njit(error_model="numpy", inline="always")(_w)
    _advance = numba.njit(error_model="numpy", inline="always")(_advance)
    # reassociation (SIMD) in the sums only: not inlined at numba's level, where the caller's flags would apply
    _barycentric_sums = numba.njit(error_model="numpy", fastmath={"reassoc", "contract"})(_barycentric_sums)
    _barycentric = numba.njit(error_model="numpy", inline="always")(_barycentric)
    _near_s = numba.njit(error_model="numpy")(_near_s)

#: point-layers (points x layers of one call) from which a call shares its points among the threads.
#: On an idle machine threads help from a few dozen points on (depth 1,000, 32 points: 0.47 ms threaded,
#: 0.94 ms serial); when other processes keep the cores busy, each threaded call waits milliseconds for
#: its threads (5-8 ms measured, one point or a thousand alike), against 2.7 ms serial for 1,000 points
#: at depth 10.  At this threshold the densities of bench_density.py and bench_smooth.py stay within
#: 3-8% of threading every call on an idle machine (depth 1,000), and calls of a few dozen points at
#: small depth never wait on busy cores
PARALLEL_WORK = 1 << 14


def _compiled(loop, layers_at):
    """``loop`` compiled twice, serial and threaded, behind one function that picks the threaded
    compilation from :data:`PARALLEL_WORK` point-layers on (points: the first argument's size, layers:
    argument ``layers_at``'s); ``None`` without numba.  The threaded one compiles a copy of the function
    under its own name: numba's on-disk cache keys a compilation by the function's name, line and
    argument types, not by ``parallel``, so the two would load each other's machine code (the threaded
    kernel ran on one thread).  Both are kept as the attributes ``serial`` and ``threaded``."""
    if numba is None:  # pragma: no cover
        return None
    options = dict(cache=True, error_model="numpy", nogil=True)
    copy = types.FunctionType(loop.__code__, loop.__globals__, loop.__name__ + "_threads", loop.__defaults__)
    copy.__qualname__ = loop.__qualname__ + "_threads"
    serial, threaded = numba.njit(**options)(loop), numba.njit(parallel=True, **options)(copy)

    def kernel(*args):
        work = args[0].size * args[layers_at].size
        return (threaded if work >= PARALLEL_WORK else serial)(*args)

    kernel.__doc__, kernel.serial, kernel.threaded = loop.__doc__, serial, threaded
    return kernel


#: the compiled kernel (threaded from :data:`PARALLEL_WORK` point-layers on), or ``None`` without numba
forward_piecewise = _compiled(_forward_piecewise, 2)  # (t, qh0, qh, ...)
#: the compiled kernel of smooth-law chains, or ``None`` without numba
forward_rational = _compiled(_forward_rational, 8)  # (z, dz, g, dg, w, dw, ok, first, qh, ...)
