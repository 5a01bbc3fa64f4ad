"""Cheap best-effort batch size of a model input, for the span attribute."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["row_count"]

_SCALARS = (str, bytes, int, float, np.generic, type(None))


def row_count(obj: Any, *, features: Sequence[str] | None = None) -> int | None:
    """The number of rows :func:`~mlotel.data.read_input` would read from ``obj``.

    Looks only at lengths and shapes (no conversion, no iteration), so it costs
    well under a microsecond for the common forms. ``features`` matters only
    for 1-D data, which is one row unless ``features`` names a single feature.
    Returns ``None`` when the count is unknown (generators, unknown types).
    Never raises.
    """
    try:
        return _count(obj, features)
    except Exception:  # a user object's __len__ or shape failing: just unknown
        return None


def _count(obj: Any, features: Sequence[str] | None) -> int | None:
    one_feature = features is not None and not isinstance(features, str) and len(features) == 1
    if isinstance(obj, (list, tuple)):
        if not obj:
            return 0
        first = obj[0]
        if one_feature or not isinstance(first, _SCALARS):
            return len(obj)
        return 1  # a flat list of scalars is one row
    if isinstance(obj, dict):
        if not obj:
            return 0
        first = next(iter(obj.values()))
        if isinstance(first, (str, bytes)) or first is None:
            return 1
        return _leading(first, True) or 1
    if isinstance(obj, _SCALARS):
        return 1
    if type(obj).__module__.startswith("pandas") and type(obj).__name__ == "Series":
        return len(obj) if features is None or one_feature else 1
    shape = getattr(obj, "shape", None)
    if shape is not None and type(obj).__name__ != "DataFrame" and not isinstance(obj, type):
        return _leading(obj, one_feature)
    if type(obj).__module__.startswith("pandas"):
        return len(obj)
    return None


def _leading(obj: Any, one_feature: bool) -> int | None:
    """Rows of an array-like: its first dimension, with the 1-D rule applied."""
    if isinstance(obj, (list, tuple)):
        return len(obj)
    shape = getattr(obj, "shape", None)
    if shape is None:
        return None
    shape = tuple(shape)
    if len(shape) == 0:
        return 1
    if len(shape) == 1 and not one_feature:
        return 1
    return int(shape[0])
