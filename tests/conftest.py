"""Shared fixtures: the SPEC reference cases and the battery's network grid.

The suite runs one pytest-xdist worker per core: each worker, and every process it starts (the CLI,
notebook kernels), keeps BLAS and numba's parallel loops (``freefim.kernels``) on one thread, so that
workers do not oversubscribe the cores (two workers of two numba threads each on two cores ran the suite
three times slower).
"""
import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

threadpool_limits(1)

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
