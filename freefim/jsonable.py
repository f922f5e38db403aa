"""Plain JSON values of freefim's results (shared by the command line's ``--json`` and the report files of
:mod:`freefim.reproduce`)."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["to_json"]


def to_json(obj):
    """Plain JSON types (numpy scalars/arrays, mpmath numbers, tuples) for ``json.dumps``; a non-finite number
    becomes ``None`` (JSON has no inf/nan: ``null``, the key says what it means).

    >>> to_json({"x": np.array([1.5, np.inf]), "n": np.int64(3), "ok": np.bool_(True)})
    {'x': [1.5, None], 'n': 3, 'ok': True}
    """
    if isinstance(obj, dict):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_json(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if obj is None or isinstance(obj, str):
        return obj
    value = float(obj)
    return value if math.isfinite(value) else None
