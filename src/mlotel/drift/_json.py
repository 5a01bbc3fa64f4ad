"""Reading and writing profile JSON: numbers that may be NaN or infinite, and fields
checked with an error message that names where in the file the problem is."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlotel.sketches import ExponentialHistogram
from mlotel.sketches._convert import json_float

__all__ = ["check_histogram", "expect", "field", "json_number", "sketch_from_dict"]


def json_number(value: float) -> float | str | None:
    return None if math.isnan(value) else json_float(value)


_TYPE_NAMES = {dict: "an object", list: "an array", str: "a string", int: "an integer"}


def expect(value: Any, kind: type, where: str) -> Any:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        got = "null" if value is None else type(value).__name__
        raise ValueError(f"{where} must be {_TYPE_NAMES.get(kind, kind.__name__)}, got {got}")
    return value


def field(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise ValueError(f"{where}: missing field {key!r}")
    return obj[key]


def sketch_from_dict(cls: type, d: dict[str, Any], where: str) -> Any:
    """``cls.from_dict(d)`` with its errors restated as one :class:`ValueError` naming ``where``."""
    try:
        return cls.from_dict(d)
    except KeyError as exc:
        raise ValueError(f"{where}: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError, OverflowError, AttributeError, IndexError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def check_histogram(h: ExponentialHistogram, where: str) -> None:
    for label, store in (("positive", h.positive), ("negative", h.negative)):
        if np.any(store.counts < 0):
            raise ValueError(f"{where}: negative bucket counts in {label!r}")
    for label in ("zero_count", "count", "missing", "pos_inf", "neg_inf"):
        if getattr(h, label) < 0:
            raise ValueError(f"{where}: field {label!r} is negative")
    in_buckets = h.positive.total + h.negative.total + h.zero_count
    if in_buckets != h.count:
        raise ValueError(f"{where}: bucket counts add up to {in_buckets}, not to count {h.count}")
    if h.count and not (math.isfinite(h.min) and math.isfinite(h.max) and h.min <= h.max):
        raise ValueError(f"{where}: min/max ({h.min}, {h.max}) are not a finite range")
