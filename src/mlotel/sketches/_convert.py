"""Input coercion shared by the sketches."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _missing_like(value: Any) -> bool:
    return value is None or type(value).__name__ in ("NAType", "NaTType")


def _to_float(value: Any) -> float:
    if _missing_like(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"numeric sketch got a non-numeric value {value!r}") from exc


def as_float64(values: Any) -> np.ndarray:
    """1-D contiguous float64 view or copy of ``values`` (bool/int/float/object).

    ``None`` and pandas' ``NA``/``NaT`` become NaN; strings raise :class:`TypeError`.
    """
    arr = values if isinstance(values, np.ndarray) else np.asarray(values)
    kind = arr.dtype.kind
    if kind == "f" and arr.dtype.itemsize == 8:
        out = arr
    elif kind in "biuf":
        out = arr.astype(np.float64)
    elif kind == "O":
        try:
            out = arr.astype(np.float64)
        except (TypeError, ValueError):
            out = np.fromiter((_to_float(v) for v in arr.ravel().tolist()), np.float64, arr.size)
    else:
        raise TypeError(f"numeric sketch cannot take dtype {arr.dtype}")
    if out.ndim != 1:
        out = out.reshape(-1)
    if not out.flags.c_contiguous:
        out = np.ascontiguousarray(out)
    return out


def json_float(value: float) -> float | str:
    """JSON-safe float: non-finite values become the strings 'inf', '-inf', 'nan'."""
    return value if math.isfinite(value) else str(value)


def from_json_float(value: float | str) -> float:
    return float(value)


def _sum(x: np.ndarray) -> float:
    """Float sum; overflow to inf is left to callers (they check ``isfinite``)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.add.reduce(x))
