"""freefim: the spectrum of the Fisher information matrix of deep random networks by free probability.

>>> import freefim
>>> net = freefim.Network("relu", "orthogonal", sigma_w2=2.0, sigma_b2=0.1, depth=3)
>>> spec = freefim.spectrum(net)
>>> round(float(spec.moments.m1), 6)
3.15

The public names are imported on first use (PEP 562), so that ``import freefim`` and the
command line start quickly and an interrupt during start-up is caught by the entry point.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the names are imported on first use
    from .laws import Law
    from .network import Network
    from .numeric import Spectrum

__all__ = ["AccuracyWarning", "Activation", "Atom", "MeanField", "Moments", "Network", "Peak", "Spectrum",
           "closed_form", "get_activation", "jacobian_spectrum", "laws", "mean_field", "spectrum"]

_HOMES = {"AccuracyWarning": "numeric", "Activation": "activations", "get_activation": "activations",
          "MeanField": "meanfield", "mean_field": "meanfield", "Network": "network", "Atom": "numeric",
          "Moments": "numeric", "Peak": "numeric", "Spectrum": "numeric", "closed_form": "symbolic"}


def _version():
    """The installed distribution's version (package metadata), or ``"0+unknown"`` when freefim runs
    from a source tree that was never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("freefim")
    except PackageNotFoundError:
        return "0+unknown"


def __getattr__(name):
    if name == "__version__":  # read from the metadata on first use (importlib.metadata costs ~10 ms)
        value = globals()["__version__"] = _version()
        return value
    if name == "laws":
        return importlib.import_module(".laws", __name__)
    if name in _HOMES:
        value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'freefim' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


def spectrum(network: Network | Law, dps: int | None = None) -> Spectrum:
    """The limiting spectral law of the conditional FIM of ``network``, or of a law of
    :mod:`freefim.laws` (see :class:`Spectrum`).

    >>> from freefim.laws import Bernoulli, MarchenkoPastur, free_product
    >>> free_poisson = spectrum(free_product(MarchenkoPastur(), Bernoulli(0.5)))
    >>> [(a.location, a.mass) for a in free_poisson.atoms]
    [(0.0, 0.5)]
    """
    from .numeric import Spectrum

    return Spectrum(network, dps=dps)


def jacobian_spectrum(network: Network, dps: int | None = None) -> Spectrum:
    """The limiting spectral law of :math:`JJ^T` for the input-output Jacobian :math:`J = \\partial f/\\partial x`
    of ``network`` (``omega [x] rho_1 [x] ... [x] rho_{L-1}``; Pennington, Schoenholz & Ganguli 2017).

    >>> import freefim
    >>> jac = jacobian_spectrum(freefim.Network("relu", "orthogonal", 2.0, 0.1, depth=3))
    >>> round(float(jac.moments.m1), 12)  # sigma_w2 times a gain sigma_w2 / 2 = 1 per hidden layer
    2.0
    """
    from .numeric import Spectrum

    return Spectrum(network, dps=dps, jacobian=True)
