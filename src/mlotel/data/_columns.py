"""Kind inference and conversion of one 1-D numpy array into column values.

Every function here is vectorised: Python-level work is per column, never per
value (the object-dtype probe looks at no more than ``_PROBE`` values).
"""

from __future__ import annotations

import numbers
import sys

import numpy as np

__all__ = ["all_missing", "float_columns", "is_container", "none_for_missing", "to_column"]

# Object columns are typed (and checked for nested containers) from their first
# values only: scanning a whole column in Python would be a per-value loop.
_PROBE = 16

# Values per block when float_columns() transposes a row-major array: the block and
# its transpose stay in the CPU cache.
_TRANSPOSE_BLOCK = 16384

_CONTAINERS = (list, tuple, dict, set, frozenset, np.ndarray)
_EPOCH = np.datetime64(0, "s")
_SECOND = np.timedelta64(1, "s")


def is_container(value: object) -> bool:
    """Whether ``value`` is a collection or iterator rather than one feature value.

    Only types are inspected: an iterator found here is never advanced.
    """
    if isinstance(value, _CONTAINERS):
        return True
    return not isinstance(value, (str, bytes)) and hasattr(type(value), "__iter__")


def float_columns(a: np.ndarray) -> np.ndarray:
    """The columns of 2-D numeric ``a`` as the rows of a C-contiguous float64 array.

    A row-major ``a`` is transposed in blocks of rows that fit the CPU cache: one pass
    over memory, about 3x faster than ``np.ascontiguousarray(a.T)`` on a tall array
    (each column then feeds a sketch without a strided copy of its own).
    """
    n_rows, width = a.shape
    if a.flags.f_contiguous or width <= 1:
        return np.ascontiguousarray(a.T, dtype=np.float64)
    out = np.empty((width, n_rows), dtype=np.float64)
    step = max(1, _TRANSPOSE_BLOCK // width)
    for start in range(0, n_rows, step):
        out[:, start : start + step] = a[start : start + step].T
    return out


def to_column(
    values: np.ndarray, *, categorical: bool = False, labels: bool = False, missing_is_none: bool = False
) -> tuple[np.ndarray, bool] | None:
    """Convert 1-D ``values`` into column values of the inferred kind.

    ``categorical`` forces a categorical column. ``labels`` (used for model
    outputs) makes integer, bool and object-of-int arrays categorical labels
    instead of numbers. ``missing_is_none`` says an object array already holds
    ``None`` (never ``NaN``) for its missing values, which skips one pass.

    Returns ``(values, is_categorical)``, where numeric values are ``float64``
    (``NaN`` for missing) and categorical values follow :class:`Column`'s rules,
    or ``None`` for dtypes no sketch can summarise (complex, void, containers).
    Never raises for any array of any dtype.
    """
    kind = values.dtype.kind
    if kind == "f":
        if categorical:
            return _float_categories(values), True
        return values.astype(np.float64, copy=False), False
    if kind in "iub":
        if categorical or labels:
            return values, True
        return values.astype(np.float64), False
    if kind in "US":
        return values, True
    if kind == "O":
        return _object_column(values, categorical, labels, missing_is_none)
    if kind in "mM":
        try:
            seconds = (values - _EPOCH if kind == "M" else values) / _SECOND
        except (TypeError, OverflowError):  # units numpy can not divide by a second
            seconds = _odd_unit_seconds(values)
            if seconds is None:
                return None
        if categorical:
            return _float_categories(seconds), True
        return seconds, False
    return None


def _odd_unit_seconds(values: np.ndarray) -> np.ndarray | None:
    """Seconds of datetimes in years/months/attoseconds and timedeltas in attoseconds; None for
    timedeltas of years or months (no fixed length) or values out of range."""
    unit, count = np.datetime_data(values.dtype)
    try:
        if unit == "as":
            out = values.view(np.int64).astype(np.float64) * (count / 1e18)
            out[np.isnat(values)] = np.nan
            return out
        if values.dtype.kind == "M":
            return (values.astype("datetime64[s]") - _EPOCH) / _SECOND
    except (TypeError, ValueError, OverflowError):
        pass
    return None


def all_missing(n_rows: int, categorical: bool) -> np.ndarray:
    """A column of ``n_rows`` missing values of the given kind."""
    if categorical:
        return np.full(n_rows, None, dtype=object)
    return np.full(n_rows, np.nan)


def _float_categories(values: np.ndarray) -> np.ndarray:
    # Floats forced to categorical: NaN has to become None, which needs objects.
    out = values.astype(object)
    missing = np.isnan(values)
    if missing.any():
        out[missing] = None
    return out


def _probe(values: np.ndarray) -> tuple[object, bool]:
    """The first non-None value among the first few, and whether those hold a container."""
    first = None
    for value in values[:_PROBE]:
        if is_container(value):
            return value, True
        if first is None:
            first = value
    return first, False


def _is_number(value: object, labels: bool) -> bool:
    if value is None:
        return True  # an all-None start is read as missing numbers
    if isinstance(value, (str, bytes)):
        return False
    if labels:
        return isinstance(value, numbers.Real) and not isinstance(value, (numbers.Integral, np.bool_))
    return isinstance(value, (numbers.Real, np.bool_))


def _object_column(
    values: np.ndarray, categorical: bool, labels: bool, missing_is_none: bool
) -> tuple[np.ndarray, bool] | None:
    probe, nested = _probe(values)
    if nested:
        return None
    if not categorical and _is_number(probe, labels):
        try:
            return values.astype(np.float64), False
        except Exception:  # mixed numbers and text, or a user __float__ failing
            pass
    return (values if missing_is_none else none_for_missing(values)), True


def none_for_missing(values: np.ndarray) -> np.ndarray:
    """``values`` with every NaN-like element (``x != x``) replaced by None."""
    try:
        missing = values != values
    except Exception:  # elements such as pandas.NA refuse to compare to bool
        pandas = sys.modules.get("pandas")
        if pandas is None:
            return values
        try:
            missing = pandas.isna(values)
        except Exception:
            return values
    if not isinstance(missing, np.ndarray) or missing.shape != values.shape or not missing.any():
        return values
    values = values.copy()
    values[missing] = None
    return values
