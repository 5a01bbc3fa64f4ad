"""Bounded, name-deduplicating assembly of a :class:`Frame` and feature naming."""

from __future__ import annotations

import numpy as np

from mlotel.data._columns import all_missing
from mlotel.data._frame import Column, Frame, UnreadableInput

__all__ = ["MAX_NAME_LENGTH", "FrameBuilder", "feature_name", "positional_name"]

#: Longer feature names are truncated to this many characters.
MAX_NAME_LENGTH = 128

_POSITIONAL = tuple(f"f{i}" for i in range(1024))


def positional_name(index: int) -> str:
    """Name of the unnamed column at ``index``: ``f0``, ``f1``, ..."""
    return _POSITIONAL[index] if index < 1024 else f"f{index}"


def feature_name(key: object) -> str:
    """``key`` as a feature name: ``str(key)`` truncated to :data:`MAX_NAME_LENGTH`.

    Raises :class:`UnreadableInput` when ``str(key)`` itself fails.
    """
    if type(key) is not str:
        try:
            key = str(key)
        except Exception as exc:  # a user object's __str__: not ours to propagate
            raise UnreadableInput(f"column name {type(key).__name__!r} has no string form") from exc
    return key if len(key) <= MAX_NAME_LENGTH else key[:MAX_NAME_LENGTH]


def _read_only(values: np.ndarray) -> np.ndarray:
    # A fresh view, so freezing it never freezes the caller's own array object.
    view = values.view()
    view.setflags(write=False)
    return view


class FrameBuilder:
    """Collects at most ``limit`` columns of equal length into a :class:`Frame`.

    ``n_rows`` may be left ``None`` until the first column arrives; a later column
    of another length raises :class:`UnreadableInput`. A column whose name was
    already added, or that arrives once ``limit`` columns are held, is counted in
    ``Frame.dropped_columns`` instead of being kept.
    """

    __slots__ = ("_columns", "_dropped", "_limit", "_n_rows", "_names", "_seen")

    def __init__(self, n_rows: int | None, limit: int) -> None:
        self._n_rows = n_rows
        self._limit = max(limit, 0)
        # A Column, or the categorical flag of a missing column filled in by build().
        self._columns: list[Column | bool] = []
        self._names: list[str] = []
        self._seen: set[str] = set()
        self._dropped = 0

    @property
    def n_rows(self) -> int | None:
        return self._n_rows

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def full(self) -> bool:
        return len(self._columns) >= self._limit

    def __contains__(self, name: str) -> bool:
        return name in self._seen

    def add(self, name: str, values: np.ndarray, categorical: bool) -> None:
        """Keep 1-D ``values`` as column ``name``, unless it is to be dropped."""
        if self._n_rows is None:
            self._n_rows = values.shape[0]
        elif values.shape[0] != self._n_rows:
            raise UnreadableInput(f"column {name!r} has {values.shape[0]} rows, others have {self._n_rows}")
        if self._keep(name):
            self._columns.append(
                Column(name, _read_only(values) if isinstance(values, np.ndarray) else values, categorical)
            )

    def add_missing(self, name: str, categorical: bool) -> None:
        """Keep column ``name`` with every value missing (the data lacks it)."""
        if self._keep(name):
            self._columns.append(categorical)

    def drop(self, count: int = 1) -> None:
        """Count ``count`` columns of the data as not read."""
        self._dropped += count

    def build(self, default_rows: int = 0) -> Frame:
        """The frame; ``default_rows`` is its length if no column set one."""
        n_rows = default_rows if self._n_rows is None else self._n_rows
        columns = tuple(
            column
            if isinstance(column, Column)
            else Column(name, _read_only(all_missing(n_rows, column)), column)
            for name, column in zip(self._names, self._columns, strict=True)
        )
        return Frame(n_rows, columns, self._dropped)

    def _keep(self, name: str) -> bool:
        if len(self._columns) >= self._limit or name in self._seen:
            self._dropped += 1
            return False
        self._seen.add(name)
        self._names.append(name)
        return True
