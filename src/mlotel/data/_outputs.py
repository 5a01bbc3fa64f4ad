"""Reading a model's return value into prediction columns (see docs/inputs.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from mlotel.data._builder import FrameBuilder, feature_name
from mlotel.data._columns import to_column
from mlotel.data._frame import Frame, UnreadableInput
from mlotel.data._pandas import is_dataframe, is_pandas, is_series, pandas_column, series_array
from mlotel.data._tables import ReadOptions, add_column, read_2d, read_dataframe, read_records
from mlotel.data._tensors import is_tensor, to_host, top_class

__all__ = ["ARGMAX", "MAX_PROBA", "PREDICTION", "read_output"]

#: Name of the column holding a single-valued output (value, score or label).
PREDICTION = "prediction"
#: Row-wise highest score, kept instead of the per-class columns when a score
#: matrix has more than ``max_classes`` columns.
MAX_PROBA = "max_proba"
#: Index (or class name) of the row-wise highest score, kept with ``max_proba``.
ARGMAX = "argmax"

_SCALARS = (str, bytes, int, float, np.generic)
_EMPTY: frozenset[str] = frozenset()
_INDEX_NAMES = tuple(str(i) for i in range(1024))


def read_output(obj: Any, *, class_names: Sequence[str] | None = None, max_classes: int = 32) -> Frame:
    """Read a model's return value as prediction columns.

    * A single value per row (1-D or ``(n, 1)`` array, list, Series, scalar)
      is one column ``"prediction"``: numeric for floats, categorical labels for
      integers, bools and strings.
    * A 2-D array with ``k > 1`` columns gives one column per class, named by
      ``class_names`` or ``"0"``, ``"1"``, ...; for floats with ``k > max_classes``
      only ``"max_proba"`` (row-wise max) and ``"argmax"`` (its class) are kept,
      for other dtypes the first ``max_classes`` columns.
    * A tuple or dict holds several outputs: element ``key`` becomes column
      ``key`` (or ``key.<column>`` when it has several); at most ``max_classes``
      elements are read, those unreadable or of another row count are dropped.
    * A list of dicts (``[{"label": ..., "score": ...}, ...]``) and a DataFrame
      give one column per key; ``None`` gives an empty frame.

    Columns not kept are counted in ``Frame.dropped_columns``. Raises
    :class:`UnreadableInput` (and nothing else) for an output it cannot read, or
    when ``class_names`` does not match the number of score columns.
    """
    names = None if class_names is None else [feature_name(name) for name in class_names]
    if obj is None:
        return Frame(0, ())
    if isinstance(obj, tuple):
        return _read_many(
            ((_index_name(i), value) for i, value in enumerate(obj)), len(obj), names, max_classes
        )
    if isinstance(obj, dict):
        return _read_many(obj.items(), len(obj), names, max_classes)
    return _read_one(obj, names, max_classes)


def _index_name(index: int) -> str:
    return _INDEX_NAMES[index] if index < 1024 else str(index)


def _read_one(obj: Any, names: list[str] | None, max_classes: int) -> Frame:
    opt = ReadOptions(None, _EMPTY, max_classes, labels=True)
    if isinstance(obj, np.ndarray):
        return _read_array(obj if type(obj) is np.ndarray else np.asarray(obj), names, opt)
    if is_pandas(obj):
        if is_dataframe(obj):
            return _read_dataframe(obj, names, opt)
        if is_series(obj):
            builder = FrameBuilder(len(obj), 1)
            add_column(builder, PREDICTION, pandas_column(series_array(obj), categorical=False, labels=True))
            return builder.build()
    if isinstance(obj, (list, tuple)):
        if not obj:
            return Frame(0, ())
        if isinstance(obj[0], dict):
            return read_records(obj, opt)
        try:
            array = np.asarray(obj)
            if array.dtype.kind in "US":
                array = np.asarray(obj, dtype=object)  # keep [1.5, "a"] from becoming strings
        except Exception as exc:
            raise UnreadableInput("the output list is ragged or holds unreadable elements") from exc
        return _read_array(array, names, opt)
    if isinstance(obj, _SCALARS):
        return _read_array(np.array([obj]), names, opt)
    if is_tensor(obj):  # after every numpy/pandas/Python path: they never pay for this check
        best = top_class(obj, opt.limit)
        if best is not None:  # too many classes: only the winning score and class leave the device
            scores, winner, width = best
            _check_class_names(names, width)
            return _top_class_frame(scores, winner, width, names)
        return _read_array(to_host(obj), names, opt)
    raise UnreadableInput(f"cannot read a {type(obj).__name__} as model output")


def _read_array(a: np.ndarray, names: list[str] | None, opt: ReadOptions) -> Frame:
    if a.dtype.names is not None:
        raise UnreadableInput("structured arrays are not read as model output")
    if a.ndim == 0:
        a = a.reshape(1)
    elif a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim == 1:
        builder = FrameBuilder(a.shape[0], 1)
        add_column(builder, PREDICTION, to_column(a, labels=True))
        return builder.build()
    if a.ndim != 2:
        raise UnreadableInput(f"a {a.ndim}-D output has no rows-by-classes reading")
    width = a.shape[1]
    _check_class_names(names, width)
    if width > opt.limit and a.dtype.kind == "f":
        # Too many classes to keep one column each: keep the winning score and class.
        winner = a.argmax(axis=1)
        best = np.take_along_axis(a, winner[:, None], axis=1)[:, 0].astype(np.float64)
        return _top_class_frame(best, winner, width, names)
    return read_2d(a, opt, _index_name if names is None else names.__getitem__)


def _check_class_names(names: list[str] | None, width: int) -> None:
    if names is not None and len(names) != width:
        raise UnreadableInput(f"{len(names)} class names given for an output with {width} columns")


def _top_class_frame(best: np.ndarray, winner: np.ndarray, width: int, names: list[str] | None) -> Frame:
    builder = FrameBuilder(best.shape[0], 2)
    builder.drop(width)
    builder.add(MAX_PROBA, best, False)
    builder.add(ARGMAX, winner if names is None else np.asarray(names, dtype=object)[winner], True)
    return builder.build()


def _read_dataframe(df: Any, names: list[str] | None, opt: ReadOptions) -> Frame:
    labels = df.columns
    if type(labels).__name__ == "RangeIndex" and labels.start == 0 and labels.step == 1:
        # Unnamed columns: named like the columns of a 2-D array output.
        width = len(labels)
        if names is not None and len(names) != width:
            raise UnreadableInput(f"{len(names)} class names given for an output with {width} columns")
        if names is None:
            names = [PREDICTION] if width == 1 else [_index_name(j) for j in range(width)]
        opt = ReadOptions(names, opt.forced, opt.limit, opt.labels)
    return read_dataframe(df, opt)


def _read_many(
    items: Iterable[tuple[Any, Any]], count: int, names: list[str] | None, max_classes: int
) -> Frame:
    builder = FrameBuilder(None, max(max_classes, 1) * max(max_classes + 1, 2))
    for i, (key, value) in enumerate(items):
        if i >= max_classes:
            builder.drop(count - i)
            break
        if value is None:
            continue
        try:
            frame = _read_one(value, names, max_classes)
        except UnreadableInput:
            builder.drop()
            continue
        builder.drop(frame.dropped_columns)
        if not frame.columns:
            continue
        if frame.n_rows != builder.n_rows and builder.n_rows is not None:
            builder.drop(len(frame.columns))
            continue
        prefix = feature_name(key)
        single = len(frame.columns) == 1 and frame.columns[0].name == PREDICTION
        for column in frame.columns:
            name = prefix if single else feature_name(f"{prefix}.{column.name}")
            builder.add(name, column.values, column.categorical)
    return builder.build()
