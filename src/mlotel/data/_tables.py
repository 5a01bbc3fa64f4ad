"""Readers shared by inputs and outputs: 2-D arrays, named sources, single rows.

Every reader works column by column: the Python-level loops here run once per
column, and per-row work happens inside numpy (or pandas, or C-level ``map``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import chain, repeat
from typing import Any

import numpy as np

from mlotel.data._builder import FrameBuilder, feature_name, positional_name
from mlotel.data._columns import float_columns, is_container, to_column
from mlotel.data._frame import Frame, UnreadableInput
from mlotel.data._pandas import column_getter, is_series, pandas_column, series_array
from mlotel.data._tensors import is_tensor, to_host
from mlotel.sketches.frequent import CodedValues

__all__ = [
    "ABSENT",
    "ReadOptions",
    "add_column",
    "array_like",
    "read_2d",
    "read_column_dict",
    "read_dataframe",
    "read_records",
    "read_scalar_row",
    "select",
    "select_by_name",
]

#: Stands for the value of a selected feature the data does not have.
ABSENT = object()
_NUMBER = object()
_OTHER = object()


class ReadOptions:
    """What one read_input/read_output call asked for.

    ``names``: the caller's feature names (select named data, name positional
    data) or ``None``. ``forced``: names to read as categorical. ``limit``: most
    columns kept. ``labels``: read integers and bools as categorical labels.
    """

    __slots__ = ("coded", "forced", "labels", "limit", "names")

    def __init__(
        self, names: list[str] | None, forced: frozenset[str], limit: int, labels: bool, coded: bool = False
    ) -> None:
        self.names = names
        self.forced = forced
        self.limit = limit
        self.labels = labels
        self.coded = coded


def array_like(obj: object) -> bool:
    """Whether ``obj`` offers numpy's array protocol (torch, jax, cupy, arrow...)."""
    cls = type(obj)
    return (
        hasattr(cls, "__array__") or hasattr(cls, "__array_interface__") or hasattr(cls, "__array_struct__")
    )


def add_column(builder: FrameBuilder, name: str, column: tuple[np.ndarray, bool] | None) -> None:
    """Add a :func:`to_column` result, counting ``None`` as a dropped column."""
    if column is None:
        builder.drop()
    else:
        builder.add(name, column[0], column[1])


def select(keys: Sequence[Any], builder: FrameBuilder) -> list[tuple[str, int]]:
    """``(name, position)`` of the first ``builder.limit`` distinctly named keys."""
    chosen: list[tuple[str, int]] = []
    seen: set[str] = set()
    limit = builder.limit
    for i, key in enumerate(keys):
        if len(chosen) >= limit:
            builder.drop(len(keys) - i)
            break
        name = feature_name(key)
        if name in seen:
            builder.drop()
        else:
            seen.add(name)
            chosen.append((name, i))
    return chosen


def select_by_name(
    keys: Sequence[Any], names: list[str], builder: FrameBuilder
) -> list[tuple[str, int | None]]:
    """``(name, position in keys or None)`` of the caller's ``names``, in their order."""
    index: dict[str, int] = {}
    for i, key in enumerate(keys):
        index.setdefault(feature_name(key), i)
    return [(name, index.get(name)) for name, _ in select(names, builder)]


def read_2d(a: np.ndarray, opt: ReadOptions, name_at: Callable[[int], str]) -> Frame:
    """Read the columns of 2-D array ``a``; column ``j`` is named ``name_at(j)``."""
    n_rows, width = a.shape
    builder = FrameBuilder(n_rows, opt.limit)
    kept = min(width, builder.limit)
    builder.drop(width - kept)
    # Numbers convert as one block: one pass over memory rather than one strided pass
    # per column, and each column comes out contiguous, ready for its sketch.
    block_convert = a.dtype.kind == "f" or (a.dtype.kind in "iub" and not opt.labels)
    numbers = None
    for j in range(kept):
        name = name_at(j)
        forced = name in opt.forced
        if block_convert and not forced:
            if numbers is None:
                numbers = float_columns(a[:, :kept])
            builder.add(name, numbers[j], False)
        else:
            add_column(builder, name, to_column(a[:, j], categorical=forced, labels=opt.labels))
    return builder.build()


def read_dataframe(df: Any, opt: ReadOptions) -> Frame:
    """Read a pandas DataFrame's columns, named by its column labels.

    A DataFrame with the default ``RangeIndex`` columns is unnamed data: it reads
    like the 2-D array ``df.to_numpy()`` would (``f0``, ``f1``, ... or the
    caller's names, positionally).
    """
    builder = FrameBuilder(len(df), opt.limit)
    labels = df.columns
    if _is_default_range(labels):
        width = len(labels)
        names = opt.names if opt.names is not None else [positional_name(j) for j in range(width)]
        _check_width(names, width)
        chosen: Sequence[tuple[str, int | None]] = select(names, builder)
    elif opt.names is None:
        chosen = select(labels.tolist(), builder)
    else:
        chosen = select_by_name(labels.tolist(), opt.names, builder)
    get = column_getter(df)
    for name, position in chosen:
        forced = name in opt.forced
        if position is None:
            builder.add_missing(name, forced)
        else:
            add_column(
                builder,
                name,
                pandas_column(get(position), categorical=forced, labels=opt.labels, coded=opt.coded),
            )
    return builder.build()


def read_records(rows: Sequence[Any], opt: ReadOptions) -> Frame:
    """Read a list of row dicts; a key missing from a row is a missing value.

    Without caller names, the columns are the union of the rows' keys in order
    of first appearance. Raises :class:`UnreadableInput` if a row is not a dict.
    """
    n_rows = len(rows)
    builder = FrameBuilder(n_rows, opt.limit)
    if opt.names is None:
        try:
            # dict.keys refuses a non-dict row before anything iterates it, so an
            # iterator among the rows is never consumed.
            keys = list(dict.fromkeys(chain.from_iterable(map(dict.keys, rows))))
        except TypeError as exc:
            raise UnreadableInput("a list whose first item is a dict must hold only dicts") from exc
        chosen = [(name, keys[i]) for name, i in select(keys, builder)]
    else:
        chosen = [(name, name) for name, _ in select(opt.names, builder)]
    for name, key in chosen:
        try:
            # dict.get mapped over the rows: the per-row loop runs in C.
            values = np.fromiter(map(dict.get, rows, repeat(key)), dtype=object, count=n_rows)
        except TypeError as exc:
            raise UnreadableInput("a list whose first item is a dict must hold only dicts") from exc
        add_column(builder, name, to_column(values, categorical=name in opt.forced, labels=opt.labels))
    return builder.build()


def read_column_dict(data: dict[Any, Any], opt: ReadOptions) -> Frame:
    """Read a dict as one row (all values scalars) or as columns (all sequences).

    Values that are neither (nested dicts, sets, 2-D arrays) are dropped. Raises
    :class:`UnreadableInput` when the selected values mix scalars and sequences,
    or when the sequences differ in length.
    """
    builder = FrameBuilder(None, opt.limit)
    # dict's own methods: a subclass' overrides (defaultdict's __missing__ included)
    # are neither run nor allowed to change the caller's dict.
    if opt.names is None:
        keys = list(dict.keys(data))
        pairs = [(name, dict.__getitem__(data, keys[i])) for name, i in select(keys, builder)]
    else:
        pairs = [(name, dict.get(data, name, ABSENT)) for name, _ in select(opt.names, builder)]
    shapes = [_value_shape(value) for _, value in pairs]
    if "column" not in shapes:
        builder.drop(shapes.count("nested"))
        return read_scalar_row(
            [pair for pair, shape in zip(pairs, shapes, strict=True) if shape != "nested"], opt, builder
        )
    if "scalar" in shapes:
        raise UnreadableInput(
            "a dict mixing scalars and sequences is neither one row nor columns; "
            "pass features=[...] to pick the ones to read"
        )
    for (name, value), shape in zip(pairs, shapes, strict=True):
        forced = name in opt.forced
        if shape == "absent":
            builder.add_missing(name, forced)
        elif shape == "nested":
            builder.drop()
        elif isinstance(value, CodedValues):
            builder.add(name, value, True)  # text already read as categorical codes (data._arrow)
        elif is_series(value):
            add_column(
                builder,
                name,
                pandas_column(series_array(value), categorical=forced, labels=opt.labels, coded=opt.coded),
            )
        else:
            values = _as_1d(value)
            column = None if values is None else to_column(values, categorical=forced, labels=opt.labels)
            add_column(builder, name, column)
    return builder.build(default_rows=1)


def read_scalar_row(pairs: list[tuple[str, Any]], opt: ReadOptions, builder: FrameBuilder) -> Frame:
    """Read ``(name, scalar)`` pairs as one row; ``ABSENT`` values are missing.

    Plain numbers (and None) convert together in one numpy call.
    """
    kinds = []
    for name, value in pairs:
        if value is ABSENT:
            kinds.append(ABSENT)
        elif name not in opt.forced and _plain_number(value, opt.labels):
            kinds.append(_NUMBER)
        else:
            kinds.append(_OTHER)
    try:
        block = np.array(
            [value for (_, value), kind in zip(pairs, kinds, strict=True) if kind is _NUMBER], np.float64
        )
    except (OverflowError, TypeError, ValueError):  # e.g. an int beyond float range
        block = None
    position = 0
    for (name, value), kind in zip(pairs, kinds, strict=True):
        forced = name in opt.forced
        if kind is ABSENT:
            builder.add_missing(name, forced)
        elif kind is _NUMBER and block is not None:
            builder.add(name, block[position : position + 1], False)
            position += 1
        else:
            add_column(builder, name, _scalar_column(value, forced, opt.labels))
    return builder.build(default_rows=1)


def _check_width(names: Sequence[str], width: int) -> None:
    if len(names) != width:
        raise UnreadableInput(f"{len(names)} feature names given for data with {width} columns")


def _is_default_range(labels: Any) -> bool:
    return (
        type(labels).__name__ == "RangeIndex"
        and labels.start == 0
        and labels.step == 1
        and labels.name is None
    )


def _plain_number(value: object, labels: bool) -> bool:
    cls = type(value)
    if cls is float or value is None:
        return True
    if cls is int or cls is bool:
        return not labels
    if isinstance(value, np.floating):
        return True
    if isinstance(value, (np.integer, np.bool_)):
        return not labels
    return False


def _scalar_column(value: object, categorical: bool, labels: bool) -> tuple[np.ndarray, bool] | None:
    if isinstance(value, np.generic):
        return to_column(np.array([value]), categorical=categorical, labels=labels)
    if getattr(value, "ndim", None) == 0 and is_tensor(value):  # a 0-d tensor: {"age": tensor(31.)}
        try:
            return to_column(to_host(value).reshape(1), categorical=categorical, labels=labels)
        except UnreadableInput:
            return None
    if is_container(value):
        return None
    values = np.empty(1, dtype=object)
    values[0] = value
    if type(value) is str:
        return values, True
    return to_column(values, categorical=categorical, labels=labels)


def _value_shape(value: object) -> str:
    """'absent', 'scalar', 'column' (1-D data), or 'nested' (no column holds it)."""
    if value is ABSENT:
        return "absent"
    if isinstance(value, CodedValues):
        return "column"
    if value is None or isinstance(value, (str, bytes, int, float, complex, np.generic)):
        return "scalar"
    if isinstance(value, (list, tuple)):
        return "column"
    if isinstance(value, np.ndarray) or is_tensor(value) or is_series(value):
        return "scalar" if getattr(value, "ndim", 1) == 0 else "column"
    return "nested" if is_container(value) or hasattr(type(value), "__len__") else "scalar"


def _as_1d(value: object) -> np.ndarray | None:
    """``value`` as a 1-D array, or None if it is not 1-D data."""
    try:
        values = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else to_host(value)
    except Exception:  # ragged nesting, or a tensor that cannot be read
        return None
    return values if values.ndim == 1 else None
