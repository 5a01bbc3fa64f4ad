"""Reading pandas DataFrames and Series without importing pandas ourselves.

These functions are only reached with a pandas object in hand, so pandas is
already imported; it is looked up in ``sys.modules``, never imported here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from mlotel.data._columns import _probe, none_for_missing, to_column
from mlotel.sketches.frequent import CodedValues

__all__ = ["column_getter", "is_dataframe", "is_pandas", "is_series", "pandas_column"]


def is_pandas(obj: object) -> bool:
    """Whether ``obj`` is a pandas object (checked without importing pandas)."""
    return type(obj).__module__.startswith("pandas")


def is_dataframe(obj: object) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.DataFrame)


def is_series(obj: object) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.Series)


def column_getter(df: Any) -> Callable[[int], Any]:
    """A function giving the values (ndarray or ExtensionArray) of column ``i``.

    ``df.items()`` builds a Series per column (about 10 us each), which dominates
    reading a one-row frame; the block manager hands out the arrays directly.
    That is internal API, so it is used only when present, with the public path
    as the fallback.
    """
    iget_values = getattr(getattr(df, "_mgr", None), "iget_values", None)
    if callable(iget_values):
        return iget_values
    return lambda i: series_array(df.iloc[:, i])


def series_array(series: Any) -> Any:
    """A Series' values: a numpy array for numpy dtypes, else its ExtensionArray."""
    if isinstance(series.dtype, np.dtype):
        return series.to_numpy()
    return series.array


def pandas_column(
    values: Any, *, categorical: bool, labels: bool, coded: bool = False
) -> tuple[np.ndarray | CodedValues, bool] | None:
    """Column values (as :func:`to_column`) from a pandas column's array.

    ``values`` is a numpy array or a pandas ExtensionArray. Nullable and Arrow
    numbers become ``float64`` with ``NaN`` for ``NA``; categoricals and strings
    become object arrays with ``None`` for missing; tz-aware datetimes become
    seconds since the epoch. Returns ``None`` (drop the column) for an extension
    type that cannot be converted. With ``coded``, text and categoricals whose codes count
    exactly as those object arrays would become :class:`CodedValues` instead.
    """
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "O":
            values = _none_for_na(values)
            if coded:
                codes = _coded_text(values, categorical)
                if codes is not None:
                    return codes, True
            return to_column(values, categorical=categorical, labels=labels, missing_is_none=True)
        return to_column(values, categorical=categorical, labels=labels)
    try:
        return _extension_column(values, categorical, labels, coded)
    except (TypeError, ValueError, NotImplementedError):  # third-party dtypes without to_numpy support
        return None


def _extension_column(
    values: Any, categorical: bool, labels: bool, coded: bool
) -> tuple[np.ndarray | CodedValues, bool] | None:
    dtype = values.dtype
    if getattr(dtype, "name", None) == "category":
        if coded:
            categories = values.categories.to_numpy(dtype=object)
            # Codes count as the objects would only when no two categories are == (1 and True).
            if len(set(categories.tolist())) == len(categories):
                return CodedValues(np.asarray(values.codes), categories), True
        return _categories(values), True
    kind = getattr(dtype, "kind", "O")
    if kind == "f" or (kind in "iub" and not labels):
        if not categorical:
            return values.to_numpy(dtype=np.float64, na_value=np.nan), False
    elif kind in "mM" and not categorical:
        return to_column(values.to_numpy(dtype=f"{kind}8[ns]"))
    if kind == "O" and _is_string(dtype):
        if coded:
            return _coded_string_array(values), True
        na_value = getattr(dtype, "na_value", None)
        if isinstance(na_value, float):
            # pandas >= 3 "str": missing is NaN, which `x != x` finds faster than isna().
            return none_for_missing(np.asarray(values, dtype=object)), True
        return values.to_numpy(dtype=object, na_value=None), True
    objects = values.to_numpy(dtype=object, na_value=None)
    return to_column(objects, categorical=categorical, labels=labels, missing_is_none=True)


def _coded_text(values: np.ndarray, categorical: bool) -> CodedValues | None:
    """An object column of str and None as codes (``pandas.factorize``), when to_column would
    read it as categorical; else None."""
    first, nested = _probe(values)
    if nested or not (isinstance(first, str) or (categorical and first is None)):
        return None  # numbers, or a start of missing values (to_column may parse "1.5")
    pandas = sys.modules["pandas"]
    if pandas.api.types.infer_dtype(values, skipna=True) != "string":
        return None
    codes, uniques = pandas.factorize(values)
    return CodedValues(codes, np.asarray(uniques, dtype=object))


def _coded_string_array(values: Any) -> CodedValues:
    """A pandas string array as codes: Arrow-backed ones dictionary-encoded by pyarrow."""
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and getattr(values.dtype, "storage", None) == "pyarrow":
        from mlotel.data._arrow import arrow_text_codes

        return arrow_text_codes(pyarrow.array(values))  # __arrow_array__: its own buffers
    codes, uniques = sys.modules["pandas"].factorize(values)
    return CodedValues(np.asarray(codes), np.asarray(uniques, dtype=object))


def _is_string(dtype: Any) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(dtype, pandas.StringDtype)


def _categories(values: Any) -> np.ndarray:
    # Look categories up by code; code -1 (missing) lands on the trailing None.
    categories = values.categories
    lookup = np.empty(len(categories) + 1, dtype=object)
    lookup[:-1] = categories.to_numpy(dtype=object)
    return lookup[values.codes]


def _none_for_na(values: np.ndarray) -> np.ndarray:
    # Object columns may mark missing as None, NaN, NaT or pandas.NA; pandas
    # knows them all. Numbers among them convert to NaN from None.
    missing = sys.modules["pandas"].isna(values)
    if not missing.any():
        return values
    values = values.copy()
    values[missing] = None
    return values
