"""Reading a model's input into named feature columns (see docs/inputs.md)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from mlotel.data._builder import FrameBuilder, feature_name, positional_name
from mlotel.data._columns import to_column
from mlotel.data._frame import Frame, UnreadableInput
from mlotel.data._pandas import is_dataframe, is_pandas, is_series, pandas_column, series_array
from mlotel.data._tables import (
    ABSENT,
    ReadOptions,
    add_column,
    array_like,
    read_2d,
    read_column_dict,
    read_dataframe,
    read_records,
    read_scalar_row,
    select,
    select_by_name,
)
from mlotel.data._tensors import is_tensor, to_host_columns

__all__ = ["read_input"]

_SCALARS = (str, bytes, int, float, np.generic)
_EMPTY: frozenset[str] = frozenset()


def read_input(
    obj: Any,
    *,
    features: Sequence[str] | None = None,
    categorical: Collection[str] = (),
    max_features: int = 256,
    coded: bool = False,
) -> Frame:
    """Read a model input as rows of named feature columns.

    ``features`` names positional data and selects (and orders) the columns of
    named data; a selected name the data lacks becomes an all-missing column.
    ``categorical`` names columns to read as categorical whatever their dtype.
    At most ``max_features`` columns are read; the rest are counted in
    ``Frame.dropped_columns``. ``coded`` lets text and categorical pandas columns come back
    as :class:`~mlotel.sketches.frequent.CodedValues` (codes from pandas, in C), for callers
    that only count values (reference profiles). The forms accepted and how each maps to rows and
    features are listed in docs/inputs.md.

    Raises :class:`UnreadableInput` (and nothing else) for inputs that cannot be
    read: unsupported types (iterators and generators are never iterated),
    arrays of three or more dimensions, ragged rows, feature names that do not
    match the data's width. ``obj`` is never modified.
    """
    if features is None:
        names = None
    elif isinstance(features, str):
        names = [feature_name(features)]
    else:
        names = [feature_name(name) for name in features]
    if categorical is None or (isinstance(categorical, (tuple, list, set, frozenset)) and not categorical):
        forced = _EMPTY
    elif isinstance(categorical, str):
        forced = frozenset((feature_name(categorical),))
    else:
        forced = frozenset(map(feature_name, categorical))
    return _read(obj, ReadOptions(names, forced, max_features, labels=False, coded=coded))


def _read(obj: Any, opt: ReadOptions) -> Frame:
    if isinstance(obj, np.ndarray):
        return _read_array(obj if type(obj) is np.ndarray else np.asarray(obj), opt)
    if is_pandas(obj):
        if is_dataframe(obj):
            return read_dataframe(obj, opt)
        if is_series(obj):
            return _read_series(obj, opt)
        # Other pandas objects (Index, Categorical, ...) read through __array__.
    if isinstance(obj, dict):
        return read_column_dict(obj, opt) if obj else Frame(0, ())
    if isinstance(obj, (list, tuple)):
        return _read_list(obj, opt)
    if isinstance(obj, _SCALARS):
        return _read_array(
            np.array([obj], dtype=object) if isinstance(obj, (int, float)) else np.array(obj), opt
        )
    if is_tensor(obj):  # after every numpy/pandas/Python path: they never pay for this check
        return _read_tensor(obj, opt)
    raise UnreadableInput(f"cannot read a {type(obj).__name__} as rows of features")


def _read_tensor(obj: Any, opt: ReadOptions) -> Frame:
    # Columns beyond the bound stay on the device: only the ones sketched are copied.
    array, left_out = to_host_columns(obj, opt.limit)
    if not left_out:
        return _read_array(array, opt)
    names = opt.names
    kept = array.shape[1]
    if names is not None:
        if len(names) != kept + left_out:
            raise UnreadableInput(f"{len(names)} feature names given for data with {kept + left_out} columns")
        opt = ReadOptions(names[:kept], opt.forced, opt.limit, opt.labels)
    frame = _read_array(array, opt)
    return Frame(frame.n_rows, frame.columns, frame.dropped_columns + left_out)


def _read_array(a: np.ndarray, opt: ReadOptions) -> Frame:
    if a.dtype.names is not None:
        return _read_structured(a, opt)
    if a.ndim == 1:
        # One feature over n rows only when told so; otherwise, like a list of
        # scalars, one row of n features.
        a = a.reshape(-1, 1) if opt.names is not None and len(opt.names) == 1 else a.reshape(1, -1)
    elif a.ndim == 0:
        a = a.reshape(1, 1)
    elif a.ndim != 2:
        raise UnreadableInput(f"a {a.ndim}-D array has no rows-by-features reading; pass a 2-D view")
    names = opt.names
    if names is None:
        return read_2d(a, opt, positional_name)
    if len(names) != a.shape[1]:
        raise UnreadableInput(f"{len(names)} feature names given for data with {a.shape[1]} columns")
    return read_2d(a, opt, names.__getitem__)


def _read_structured(a: np.ndarray, opt: ReadOptions) -> Frame:
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise UnreadableInput(f"a {a.ndim}-D structured array has no rows-by-features reading")
    fields = a.dtype.names
    builder = FrameBuilder(a.shape[0], opt.limit)
    chosen = select(fields, builder) if opt.names is None else select_by_name(fields, opt.names, builder)
    for name, position in chosen:
        forced = name in opt.forced
        if position is None:
            builder.add_missing(name, forced)
            continue
        values = a[fields[position]]
        if values.ndim != 1:  # a sub-array field
            builder.drop()
            continue
        add_column(builder, name, to_column(values, categorical=forced))
    return builder.build()


def _read_series(series: Any, opt: ReadOptions) -> Frame:
    names = opt.names
    if names is not None and len(names) != 1:
        # Several names: the Series is one row keyed by its index (df.iloc[i]).
        builder = FrameBuilder(1, opt.limit)
        row = dict(zip(map(feature_name, series.index.tolist()), series.to_numpy(dtype=object), strict=True))
        pairs = [(name, row.get(name, ABSENT)) for name, _ in select(names, builder)]
        return read_scalar_row(pairs, opt, builder)
    if names is not None:
        name = names[0]
    else:
        name = positional_name(0) if series.name is None else feature_name(series.name)
    builder = FrameBuilder(len(series), opt.limit)
    column = pandas_column(
        series_array(series), categorical=name in opt.forced, labels=False, coded=opt.coded
    )
    add_column(builder, name, column)
    return builder.build()


def _read_list(seq: list[Any] | tuple[Any, ...], opt: ReadOptions) -> Frame:
    if not seq:
        return Frame(0, ())
    first = seq[0]
    if isinstance(first, dict):
        return read_records(seq, opt)
    if isinstance(first, (list, tuple, np.ndarray)) or is_series(first) or array_like(first):
        array = _rows_array(seq)
        if array.ndim != 2:
            raise UnreadableInput(f"rows of a list must be flat; they form a {array.ndim}-D array")
        return _read_array(array, opt)
    if opt.names is not None and len(opt.names) == 1:
        return _read_array(_rows_array(seq), opt)  # n values of one feature
    # A flat list of scalars is one row (a single sample's feature vector).
    builder = FrameBuilder(1, opt.limit)
    names = opt.names
    if names is not None and len(names) != len(seq):
        raise UnreadableInput(f"{len(names)} feature names given for data with {len(seq)} columns")
    keys = names if names is not None else [positional_name(j) for j in range(len(seq))]
    pairs = [(name, seq[j]) for name, j in select(keys, builder)]
    return read_scalar_row(pairs, opt, builder)


def _rows_array(seq: list[Any] | tuple[Any, ...]) -> np.ndarray:
    try:
        array = np.asarray(seq)
        if array.dtype.kind in "US":
            # numpy turns [1, "a"] into strings; objects keep each column's type.
            array = np.asarray(seq, dtype=object)
    except Exception as exc:  # ragged rows, or elements numpy cannot read
        raise UnreadableInput("the list's rows are ragged or hold unreadable elements") from exc
    return array
