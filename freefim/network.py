"""The network description shared by every layer of freefim.

One immutable :class:`Network` feeds the mean-field layer, the numeric solver,
the symbolic layer and the Monte Carlo sampler, so their answers can be checked
against each other.  Parameters are validated here, at the boundary.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from .activations import Activation, get_activation

__all__ = ["Network", "WEIGHT_LAWS", "MAX_DEPTH", "VALUE_RANGE"]

#: the weight laws: Haar orthogonal ``sigma_w O`` or i.i.d. Gaussian ``N(0, sigma_w^2 / M)``
WEIGHT_LAWS = ("orthogonal", "gaussian")
#: the deepest network accepted (the mean field and the chain hold one law per layer in memory)
MAX_DEPTH = 10 ** 6
#: nonzero variances and input norms must lie in this range: float64 resolves the products of the
#: mean field and the spectrum's scale there (beyond it they overflow or lose all digits)
VALUE_RANGE = (1e-100, 1e100)


def _real(name, value, *, positive=False, nonnegative=False):
    """Validate one real parameter; raise ``ValueError`` naming it and its value."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    lo, hi = VALUE_RANGE
    if value != 0 and not lo <= value <= hi:
        raise ValueError(f"{name} must be {'0 or ' if nonnegative else ''}in [{lo:g}, {hi:g}], got {value!r}")
    return value


@dataclass(frozen=True)
class Network:
    r"""A fully connected random network of depth ``L``, of uniform width or of layer widths ``n_0..n_L``.

    ``u_l = W_l h_{l-1} + b_l``, ``h_l = phi(u_l)`` for ``l < L``, output
    ``f = u_L``; ``depth`` counts weight matrices ("two hidden layers" is
    ``depth=3``).  Weights are ``sigma_w O`` with ``O`` Haar orthogonal
    (``"orthogonal"``) or i.i.d. :math:`N(0, \sigma_w^2/M)` (``"gaussian"``);
    biases :math:`N(0, \sigma_b^2)`; the input has :math:`|x|^2/M = q_0`.

    ``widths = (n_0, ..., n_L)``: relative widths (only their ratios matter; ``None`` or all equal: one
    width ``M``).  ``W_l`` is ``n_l x n_{l-1}``: Gaussian entries :math:`N(0, \sigma_w^2/n_{l-1})`, orthogonal
    :math:`\sigma_w \sqrt{\max(1, n_l/n_{l-1})}\,O` with ``O`` having orthonormal rows or columns (Haar), so
    that :math:`q_l = \sigma_w^2 \hat q_{l-1} + \sigma_b^2` for both; :math:`\hat q_l = |h_l|^2/n_l`,
    :math:`|x|^2 / n_0 = q_0`; the dual matrix is :math:`H = JJ^T/n_L` (``n_L`` outputs).

    Examples
    --------
    >>> net = Network("relu", "orthogonal", sigma_w2=2.0, sigma_b2=0.1, depth=3)
    >>> net.depth
    3
    >>> Network("relu", "orthogonal", sigma_w2=-1.0, sigma_b2=0.1, depth=3)
    Traceback (most recent call last):
    ...
    ValueError: sigma_w2 must be > 0, got -1.0
    """

    activation: Activation | str
    weights: str = "orthogonal"
    sigma_w2: float = 2.0
    sigma_b2: float = 0.0
    depth: int = 3
    q0: float = 1.0
    widths: tuple[float, ...] | None = None

    def __post_init__(self):
        object.__setattr__(self, "activation", get_activation(self.activation))
        if not isinstance(self.weights, str) or self.weights.lower() not in WEIGHT_LAWS:
            raise ValueError(f"unknown weights {self.weights!r}; expected one of {list(WEIGHT_LAWS)}")
        object.__setattr__(self, "weights", self.weights.lower())
        object.__setattr__(self, "sigma_w2", _real("sigma_w2", self.sigma_w2, positive=True))
        object.__setattr__(self, "sigma_b2", _real("sigma_b2", self.sigma_b2, nonnegative=True))
        object.__setattr__(self, "q0", _real("q0", self.q0, positive=True))
        depth = self.depth
        # an integral float (3.0) is accepted as numpy does for sizes; a bool is not a depth
        integral = isinstance(depth, numbers.Integral) or (
            isinstance(depth, numbers.Real) and math.isfinite(depth) and float(depth).is_integer())
        if isinstance(depth, bool) or not integral or not 1 <= depth <= MAX_DEPTH:
            raise ValueError(f"depth must be an integer in [1, {MAX_DEPTH}], got {self.depth!r}")
        object.__setattr__(self, "depth", int(depth))
        if self.widths is not None:
            try:
                widths = tuple(self.widths)
            except TypeError:
                raise ValueError(f"widths must be a sequence of depth + 1 = {self.depth + 1} numbers, "
                                 f"got {self.widths!r}") from None
            if len(widths) != self.depth + 1:
                raise ValueError(f"widths must have depth + 1 = {self.depth + 1} entries (n_0, ..., n_L), "
                                 f"got {len(widths)}: {self.widths!r}")
            widths = tuple(_real(f"widths[{i}]", w, positive=True) for i, w in enumerate(widths))
            # equal widths are the uniform network, bit for bit
            object.__setattr__(self, "widths", None if len(set(widths)) == 1 else widths)

    def replace(self, **changes):
        """A copy with some parameters changed (validated again)."""
        params = dict(activation=self.activation, weights=self.weights, sigma_w2=self.sigma_w2,
                      sigma_b2=self.sigma_b2, depth=self.depth, q0=self.q0, widths=self.widths)
        params.update(changes)
        return Network(**params)

    def describe(self):
        """One line naming the network, for messages."""
        widths = "" if self.widths is None else f", widths={self.widths!r}"
        return (f"Network({self.activation.name!r}, {self.weights!r}, sigma_w2={self.sigma_w2!r}, "
                f"sigma_b2={self.sigma_b2!r}, depth={self.depth}, q0={self.q0!r}{widths})")

    def as_dict(self):
        """Plain-JSON description of the network."""
        out = dict(activation=self.activation.name, weights=self.weights, sigma_w2=self.sigma_w2,
                   sigma_b2=self.sigma_b2, depth=self.depth, q0=self.q0)
        if self.widths is not None:
            out["widths"] = list(self.widths)
        return out
