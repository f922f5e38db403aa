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

__all__ = ["Network", "WEIGHT_LAWS"]

WEIGHT_LAWS = ("orthogonal", "gaussian")


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
    return value


@dataclass(frozen=True)
class Network:
    r"""A fully connected random network of depth ``L`` and uniform width.

    ``u_l = W_l h_{l-1} + b_l``, ``h_l = phi(u_l)`` for ``l < L``, output
    ``f = u_L``; ``depth`` counts weight matrices ("two hidden layers" is
    ``depth=3``).  Weights are ``sigma_w O`` with ``O`` Haar orthogonal
    (``"orthogonal"``) or i.i.d. :math:`N(0, \sigma_w^2/M)` (``"gaussian"``);
    biases :math:`N(0, \sigma_b^2)`; the input has :math:`|x|^2/M = q_0`.

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

    def __post_init__(self):
        object.__setattr__(self, "activation", get_activation(self.activation))
        if not isinstance(self.weights, str) or self.weights.lower() not in WEIGHT_LAWS:
            raise ValueError(f"unknown weights {self.weights!r}; expected one of {list(WEIGHT_LAWS)}")
        object.__setattr__(self, "weights", self.weights.lower())
        object.__setattr__(self, "sigma_w2", _real("sigma_w2", self.sigma_w2, positive=True))
        object.__setattr__(self, "sigma_b2", _real("sigma_b2", self.sigma_b2, nonnegative=True))
        object.__setattr__(self, "q0", _real("q0", self.q0, positive=True))
        depth = self.depth
        if isinstance(depth, bool) or not isinstance(depth, numbers.Integral):
            if isinstance(depth, numbers.Real) and float(depth).is_integer():
                depth = int(depth)
            else:
                raise ValueError(f"depth must be an integer >= 1, got {self.depth!r}")
        if depth < 1:
            raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
        object.__setattr__(self, "depth", int(depth))

    def replace(self, **changes):
        """A copy with some parameters changed (validated again)."""
        params = dict(activation=self.activation, weights=self.weights, sigma_w2=self.sigma_w2,
                      sigma_b2=self.sigma_b2, depth=self.depth, q0=self.q0)
        params.update(changes)
        return Network(**params)

    def as_dict(self):
        """Plain-JSON description of the network."""
        return dict(activation=self.activation.name, weights=self.weights, sigma_w2=self.sigma_w2,
                    sigma_b2=self.sigma_b2, depth=self.depth, q0=self.q0)
