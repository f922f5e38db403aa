"""Shared fixtures: the SPEC reference cases and the battery's network grid."""
import pytest

from freefim import Network

#: SPEC section 3 reference cases: (activation, weights, sigma_w2, sigma_b2, depth)
REFERENCE_CASES = [
    ("relu", "orthogonal", 2.0, 0.1, 3),
    ("hardtanh", "orthogonal", 1.2, 0.05, 5),
    ("relu", "gaussian", 2.0, 0.1, 3),
    ("hardtanh", "gaussian", 1.1, 0.05, 4),
    ("linear", "gaussian", 1.0, 0.1, 3),
]

#: (sigma_w2, sigma_b2) used for each activation in the battery
BATTERY_PARAMETERS = {"relu": (2.0, 0.1), "hardtanh": (1.2, 0.05), "linear": (1.0, 0.1)}


@pytest.fixture(params=REFERENCE_CASES, ids=lambda c: f"{c[0]}-{c[1]}-L{c[4]}")
def reference_network(request):
    return Network(*request.param)
