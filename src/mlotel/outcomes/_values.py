"""Turning model data into OTLP ``AnyValue`` trees (str, int, float, bool, None, lists, maps)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_MAX_DEPTH = 8


def to_any_value(value: Any, depth: int = 0) -> Any:
    """A JSON-like copy of ``value`` that the OTLP encoders accept.

    numpy arrays and scalars become lists and Python scalars, NaN becomes None, bytes
    are decoded as UTF-8, mapping keys become str, anything else becomes ``str(value)``.
    Never raises for ordinary data; nesting deeper than 8 levels is cut to ``str``.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, np.ndarray):
        if value.ndim == 1 and value.dtype.kind == "f":  # the common case, without recursion
            return [None if v != v else v for v in value.tolist()]
        return to_any_value(value.tolist(), depth)
    if isinstance(value, np.generic):
        return to_any_value(value.item(), depth)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if depth >= _MAX_DEPTH:
        return str(value)
    if isinstance(value, list | tuple):
        return [to_any_value(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): to_any_value(v, depth + 1) for k, v in value.items()}
    if hasattr(value, "tolist"):  # pandas Series/Index, CPU tensors
        try:
            return to_any_value(value.tolist(), depth + 1)
        except Exception:
            return str(value)
    return str(value)


def label_key(value: Any, max_length: int = 128) -> str:
    """The class label ``value`` compares as: ``str(value)``, with integral floats as ints (``2.0`` -> ``"2"``)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)[:max_length]
