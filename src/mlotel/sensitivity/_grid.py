"""The values a feature is swept over, as row positions in the sample that hold them.

Numeric: the reference quantiles at probabilities ``(k + 0.5) / size``, ``k = 0..size-1``
(the midpoints of ``size`` equal-mass bins), taken as actual sample values (the inverted
CDF, no interpolation, so an integer feature stays integer) and deduplicated; a feature with
at most ``size`` distinct values is swept over all of them. Categorical: the ``size`` most
frequent categories (ties: first seen first). Missing values (NaN, infinities, ``None``)
are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Grid", "categorical_grid", "grid_label", "numeric_grid"]


@dataclass(frozen=True)
class Grid:
    """Grid points: ``positions`` (rows of the sample holding each value, in grid order),
    their ``values`` (JSON-ready numbers or labels) and the sample's ``missing`` count."""

    positions: np.ndarray
    values: list[Any]
    missing: int


def numeric_grid(values: np.ndarray, size: int) -> Grid:
    v = np.asarray(values, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(v))
    missing = len(v) - len(finite)
    if not finite.size:
        return Grid(np.empty(0, dtype=np.int64), [], missing)
    order = finite[np.argsort(v[finite], kind="stable")]
    ordered = v[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # first of each distinct value
    if len(starts) <= size:
        pick = starts
    else:
        probabilities = (np.arange(size) + 0.5) / size
        ranks = np.clip(np.ceil(probabilities * len(ordered)).astype(np.int64) - 1, 0, len(ordered) - 1)
        pick = np.unique(starts[np.searchsorted(starts, ranks, side="right") - 1])
    return Grid(order[pick], [float(x) for x in ordered[pick]], missing)


def categorical_grid(values: np.ndarray, size: int) -> Grid:
    array = np.asarray(values)
    if array.dtype.kind == "f":
        absent = np.isnan(array)
    elif array.dtype.kind == "O":
        absent = np.asarray((array == None) | (array != array), dtype=bool)  # noqa: E711 -- elementwise
    else:
        absent = np.zeros(len(array), dtype=bool)
    present = np.flatnonzero(~absent)
    missing = len(array) - len(present)
    if not present.size:
        return Grid(np.empty(0, dtype=np.int64), [], missing)
    keys = array[present]
    try:
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
    except TypeError:  # mixed types that do not sort: count their text
        _, first, counts = np.unique(keys.astype(str), return_index=True, return_counts=True)
    top = np.lexsort((first, -counts))[:size]
    positions = present[first[top]]
    return Grid(positions, [grid_label(array[p]) for p in positions], missing)


def grid_label(value: Any) -> Any:
    """A grid value as JSON: numbers and text as they are, anything else as its ``str``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
