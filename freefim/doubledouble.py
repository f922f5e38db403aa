r"""Double-double complex arithmetic on numpy arrays (about 32 significant digits).

A number is a pair ``(hi, lo)`` of complex arrays with ``|lo| <= ulp(hi)/2`` componentwise, its value
``hi + lo``.  Error-free transformations after Dekker (1971) and Knuth (TAOCP 2, 4.2.2): ``two_sum``
(``a + b = s + e`` exactly) and ``two_prod`` by Veltkamp splitting (numpy has no fused multiply-add);
the operations of Hida, Li & Bailey's QD library ("sloppy" add, the products and the quotient by two
correction steps), each accurate to a few units of ``2^-104`` (of the operands' size for a sum that cancels, of the
result otherwise).

Used by :meth:`freefim.numeric.Spectrum._polish_near_floor`: next to the floor of a smooth activation's law the
float64 chain computes ``Z`` as a difference of terms ~1e7 times larger than it (``w = z g - 1`` next to
``-1``, the shift of the last layers), so its root carries that cancellation; in double-double arithmetic
the cancellation costs nothing.
"""
import numpy as np

__all__ = ["two_sum", "two_prod", "add", "mul", "div", "from_float", "to_complex"]

_SPLIT = 134217729.0  # 2^27 + 1: Veltkamp's splitter for 53-bit significands


def _fast_two_sum(a, b):
    s = a + b
    return s, b - (s - a)


def two_sum(a, b):
    """``s, e`` with ``s = fl(a + b)`` and ``a + b = s + e`` exactly (real arrays)."""
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def _split(a):
    c = _SPLIT * a
    hi = c - (c - a)
    return hi, a - hi


def two_prod(a, b):
    """``p, e`` with ``p = fl(a b)`` and ``a b = p + e`` exactly (real arrays, no overflow in ``2^27 a``)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _add_real(ah, al, bh, bl):
    s, e = two_sum(ah, bh)
    return _fast_two_sum(s, e + (al + bl))


def _mul_real(ah, al, bh, bl):
    p, e = two_prod(ah, bh)
    return _fast_two_sum(p, e + (ah * bl + al * bh))


def from_float(a):
    """The double-double of a complex (or real) array."""
    a = np.asarray(a, dtype=complex)
    return a, np.zeros_like(a)


def to_complex(a):
    """The nearest complex128 of a double-double."""
    return a[0] + a[1]


def add(a, b):
    """``a + b`` of two double-doubles."""
    rh, rl = _add_real(a[0].real, a[1].real, b[0].real, b[1].real)
    ih, il = _add_real(a[0].imag, a[1].imag, b[0].imag, b[1].imag)
    return rh + 1j * ih, rl + 1j * il


def _neg(a):
    return -a[0], -a[1]


def mul(a, b):
    """``a b`` of two double-doubles: ``(ar br - ai bi) + i (ar bi + ai br)``, each product and sum exact to
    double-double rounding."""
    (arh, arl), (aih, ail) = (a[0].real, a[1].real), (a[0].imag, a[1].imag)
    (brh, brl), (bih, bil) = (b[0].real, b[1].real), (b[0].imag, b[1].imag)
    rr = _mul_real(arh, arl, brh, brl)
    ii = _mul_real(aih, ail, bih, bil)
    ri = _mul_real(arh, arl, bih, bil)
    ir = _mul_real(aih, ail, brh, brl)
    re = _add_real(rr[0], rr[1], -ii[0], -ii[1])
    im = _add_real(ri[0], ri[1], ir[0], ir[1])
    return re[0] + 1j * im[0], re[1] + 1j * im[1]


def div(a, b):
    """``a / b`` of two double-doubles: the float quotient ``q1``, then ``q2 = (a - q1 b) / b`` with the
    remainder in double-double, and ``q1 + q2`` renormalised."""
    with np.errstate(all="ignore"):
        q1 = to_complex(a) / to_complex(b)
        rem = add(a, _neg(mul(from_float(q1), b)))
        q2 = to_complex(rem) / to_complex(b)
        q3 = to_complex(add(rem, _neg(mul(from_float(q2), b)))) / to_complex(b)
    re = _add_real(*_fast_two_sum(q1.real, q2.real), q3.real, 0.0 * q3.real)
    im = _add_real(*_fast_two_sum(q1.imag, q2.imag), q3.imag, 0.0 * q3.imag)
    return re[0] + 1j * im[0], re[1] + 1j * im[1]
