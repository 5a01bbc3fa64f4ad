"""The sampled rows as the model's input, and batches built from them in numpy.

A batch repeats the ``n`` sampled rows ``tile`` times and replaces one column with values
taken from that column at given row positions: the grid values of a sweep
(``np.repeat(grid_positions, n)``) or a permutation of the column. Taking values from the
column itself keeps its dtype (integers, pandas categoricals, text) exactly as the model was
fitted on.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

__all__ = ["Table", "kinds"]


class Table:
    """``n`` sampled rows with named columns: a pandas DataFrame or a 2-D numpy array (its
    columns named ``f0, f1, ...`` unless ``names`` are given)."""

    def __init__(self, data: Any, names: Sequence[str] | None = None) -> None:
        self._frame = hasattr(data, "iloc")
        self._data = data
        if self._frame:
            self.names = [str(c) for c in data.columns]
        else:
            width = data.shape[1]
            self.names = list(names) if names is not None else [f"f{i}" for i in range(width)]
        self.n = len(data)
        self._index = {name: i for i, name in enumerate(self.names)}

    @property
    def data(self) -> Any:
        """The rows as they are passed to the model."""
        return self._data

    def select(self, columns: Sequence[str]) -> Table:
        """The table restricted to ``columns``, in that order (all must exist)."""
        if self._frame:
            return Table(self._data[list(columns)])
        return Table(self._data[:, [self._index[c] for c in columns]], columns)

    def drop(self, column: str) -> Table:
        return self.select([c for c in self.names if c != column])

    def values(self, column: str) -> np.ndarray:
        """The column's values as a 1-D numpy array: float64 (missing: NaN) for a numeric
        column, else as stored (pandas' missing markers as ``None``)."""
        if self._frame:
            series = self._data[column]
            if self.is_numeric(column):
                return series.to_numpy(dtype=np.float64, na_value=np.nan)
            return series.to_numpy(dtype=object, na_value=None)
        return self._data[:, self._index[column]]

    def is_numeric(self, column: str) -> bool:
        """A numeric column: integers or floats, nullable ones included; booleans and text are not."""
        if self._frame:
            import pandas as pd

            dtype = self._data[column].dtype
            return bool(pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))
        return self._data.dtype.kind in "iuf"

    def batch(self, column: str, source: np.ndarray) -> Any:
        """The rows repeated ``len(source) // n`` times, ``column`` replaced by its values at
        the row positions ``source``."""
        tile = len(source) // self.n
        if self._frame:
            out = self._data.iloc[np.tile(np.arange(self.n), tile)].reset_index(drop=True)
            out[column] = self._data[column].iloc[source].reset_index(drop=True)
            return out
        out = np.tile(self._data, (tile, 1))
        j = self._index[column]
        out[:, j] = self._data[source, j]
        return out


def kinds(table: Table, features: Sequence[str], categorical: Collection[str]) -> dict[str, str]:
    """``{feature: "numeric" | "categorical"}``: categorical when named in ``categorical`` or
    not of a numeric dtype."""
    return {f: "categorical" if f in categorical or not table.is_numeric(f) else "numeric" for f in features}
