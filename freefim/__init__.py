"""freefim: the spectrum of the Fisher information matrix of deep random networks by free probability.

>>> import freefim
>>> net = freefim.Network("relu", "orthogonal", sigma_w2=2.0, sigma_b2=0.1, depth=3)
>>> spec = freefim.spectrum(net)
>>> round(float(spec.moments.m1), 6)
3.15
"""
from .activations import Activation, get_activation
from .meanfield import MeanField, mean_field
from .network import Network
from .numeric import Atom, Moments, Peak, Spectrum

__all__ = ["Activation", "Atom", "MeanField", "Moments", "Network", "Peak", "Spectrum",
           "get_activation", "mean_field", "spectrum"]
__version__ = "0.1.0"


def spectrum(network, dps=None):
    """The limiting spectral law of the conditional FIM of ``network`` (see :class:`Spectrum`)."""
    return Spectrum(network, dps=dps)
