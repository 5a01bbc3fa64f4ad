"""A bounded, seeded, uniform sample of rows from data held in memory or fed in batches.

Every row gets a uniform random key; the sample is the ``size`` rows with the smallest keys
(bottom-k sampling), kept in their original order. Keys are drawn batch after batch from one
generator, so the same rows are chosen whether the data comes as one table or in chunks of
any size. Memory holds at most ``size`` rows plus one batch's candidates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlotel.data import UnreadableInput, read_input

__all__ = ["RowSampler", "Sample", "sample_rows"]

# Columns read from the forms mlotel.data turns into named columns (lists of dicts, ...).
_MAX_COLUMNS = 100_000


@dataclass(frozen=True)
class Sample:
    """The sampled rows (a pandas DataFrame, or a 2-D numpy array for unnamed data) and the
    number of rows they were drawn from."""

    data: Any
    n_rows: int


class RowSampler:
    """Uniform sample without replacement of at most ``size`` rows, fed batch by batch.

    A batch is a pandas DataFrame, a mapping of column name to 1-D values (numpy arrays,
    lists, :class:`~mlotel.sketches.frequent.CodedValues` as the Parquet reader yields), or a
    2-D numpy array (a 1-D array is one column; a structured array's fields are named
    columns). All batches must be of one kind: named or unnamed.
    """

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        if size < 1:
            raise ValueError(f"sample must be >= 1, got {size}")
        self.size = size
        self._rng = rng
        self._named: bool | None = None
        self._keys = np.empty(0)
        self._positions = np.empty(0, dtype=np.int64)
        self._rows: Any = None
        self.n_rows = 0

    def update(self, batch: Any) -> None:
        """Offer the rows of ``batch`` to the sample."""
        named, table = _normalize(batch)
        if self._named is None:
            self._named = named
        elif named != self._named:
            raise ValueError("data batches mix named columns (DataFrame, mapping) and unnamed arrays")
        n = _length(table)
        keys = self._rng.random(n)
        chosen = np.arange(n)
        if len(self._keys) >= self.size:
            chosen = np.flatnonzero(keys < self._keys.max())
        positions = self.n_rows + chosen
        self.n_rows += n
        if chosen.size == 0:
            return
        rows = _take(table, chosen, named)
        self._keys = np.concatenate([self._keys, keys[chosen]])
        self._positions = np.concatenate([self._positions, positions])
        self._rows = rows if self._rows is None else _concat(self._rows, rows, named)
        if len(self._keys) > self.size:
            keep = np.sort(np.argpartition(self._keys, self.size - 1)[: self.size])
            self._keys, self._positions = self._keys[keep], self._positions[keep]
            self._rows = _take(self._rows, keep, named)

    def result(self) -> Sample:
        """The sample, rows in their original order. Raises :class:`ValueError` when no row came."""
        if self._rows is None or not len(self._keys):
            raise ValueError("the data has no rows")
        order = np.argsort(self._positions, kind="stable")
        rows = _take(self._rows, order, bool(self._named))
        return Sample(rows, self.n_rows)


def sample_rows(data: Any, size: int, rng: np.random.Generator) -> Sample:
    """A :class:`RowSampler` fed ``data``: one table, or an iterator of batches (e.g.
    ``pandas.read_csv(..., chunksize=...)``)."""
    sampler = RowSampler(size, rng)
    for batch in _batches(data):
        sampler.update(batch)
    return sampler.result()


def _batches(data: Any) -> Iterable[Any]:
    if isinstance(data, Iterator):
        return data
    return (data,)


def _is_frame(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "iloc") and hasattr(obj, "columns")


def _normalize(batch: Any) -> tuple[bool, Any]:
    """``(named, table)``: a DataFrame or ``{name: 1-D array}`` (named), or a 2-D array."""
    if _is_frame(batch):
        if not all(isinstance(c, str) for c in batch.columns):
            batch = batch.rename(columns=str)
        return True, batch
    if isinstance(batch, Mapping):
        columns = {str(k): _column(v) for k, v in batch.items()}
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        return True, columns
    if isinstance(batch, np.ndarray):
        if batch.dtype.names is not None:
            return True, {name: np.asarray(batch[name]) for name in batch.dtype.names}
        if batch.ndim == 1:
            return False, batch.reshape(-1, 1)
        if batch.ndim != 2:
            raise ValueError(f"a {batch.ndim}-D array has no rows-by-features reading")
        return False, batch
    try:
        frame = read_input(batch, max_features=_MAX_COLUMNS)
    except UnreadableInput as exc:
        raise TypeError(
            f"data must be a pandas DataFrame, a 2-D numpy array, a mapping of columns or an iterator "
            f"of such batches, or another form mlotel.data reads; {type(batch).__name__}: {exc}"
        ) from None
    return True, {c.name: _column(c.values) for c in frame.columns}


def _column(values: Any) -> np.ndarray:
    if hasattr(values, "codes") and hasattr(values, "categories"):  # CodedValues: decoded at _take
        return values
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"a column must be 1-D, got shape {array.shape}")
    return array


def _length(table: Any) -> int:
    if isinstance(table, dict):
        return len(next(iter(table.values()))) if table else 0
    return len(table)


def _take(table: Any, index: np.ndarray, named: bool) -> Any:
    if not named:
        return table[index]
    if _is_frame(table):
        return table.iloc[index].reset_index(drop=True)
    pd = _pandas()
    return pd.DataFrame({name: _take_column(values, index) for name, values in table.items()})


def _take_column(values: Any, index: np.ndarray) -> np.ndarray:
    if hasattr(values, "codes") and hasattr(values, "categories"):
        codes = np.asarray(values.codes)[index]
        lookup = np.empty(len(values.categories) + 1, dtype=object)  # the last slot (code -1): None
        lookup[:-1] = values.categories
        return lookup[codes]
    return values[index]


def _concat(left: Any, right: Any, named: bool) -> Any:
    if not named:
        return np.concatenate([left, right])
    pd = _pandas()
    return pd.concat([left, right], ignore_index=True)


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            "sensitivity analysis of named columns needs pandas: pip install 'mlotel[pandas]'"
        ) from None
    return pd
