"""Bounded frequent-items sketch (Misra-Gries) for categorical values."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

__all__ = ["CodedValues", "FrequentItems"]

_FORMAT_VERSION = 1


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType") or (
        isinstance(value, np.floating) and np.isnan(value)
    )


class CodedValues:
    """A 1-D categorical column as integer ``codes`` into distinct ``categories`` (code -1:
    missing), as Arrow and pandas produce it in C.

    Readers hand this on instead of an object array with one Python object per row:
    :meth:`FrequentItems.update` counts the codes with ``np.bincount``. ``categories`` must be
    distinct under Python ``==``/``hash`` (as ``Counter`` would count them) and hold no missing
    value. ``np.asarray`` gives the object array back (``None`` for missing).
    """

    __slots__ = ("categories", "codes")
    ndim = 1
    dtype = np.dtype(object)

    def __init__(self, codes: np.ndarray, categories: np.ndarray) -> None:
        self.codes = codes
        self.categories = categories

    @property
    def shape(self) -> tuple[int]:
        return (self.codes.shape[0],)

    @property
    def size(self) -> int:
        return self.codes.shape[0]

    def __len__(self) -> int:
        return self.codes.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        lookup = np.empty(len(self.categories) + 1, dtype=object)  # the last slot, None, is code -1
        lookup[:-1] = self.categories
        out = lookup[self.codes]
        return out if dtype is None else out.astype(dtype)

    def counts(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``(distinct, counts, missing)``: the categories that occur and how often."""
        tally = np.bincount(self.codes + 1, minlength=len(self.categories) + 1)
        present = np.flatnonzero(tally[1:])
        return self.categories[present], tally[1:][present].astype(np.int64), int(tally[0])


class FrequentItems:
    """Top-``k`` categorical counts with everything else under ``__other__``.

    Values are keyed by ``str(value)`` (bools/ints too; floats without a trailing
    signed zero; bytes decoded as UTF-8) truncated to ``max_key_length`` characters,
    so no input creates unbounded state: at most ``k`` keys are kept, whatever the
    number of distinct values.  ``None``/NaN are counted in ``missing`` and not
    keyed.  ``total`` (non-missing values) is exact and ``other = total - sum(kept)``.

    This is the mergeable Misra-Gries summary (Agarwal et al., 2012), updated with
    weighted batches: for every key the kept count ``c`` satisfies
    ``c <= true <= c + other / (k + 1)``, and any value with true frequency above
    ``total / (k + 1)`` is kept.  With at most ``k`` distinct keys all counts are exact.
    Merging is commutative; it is associative whenever no reduction is needed.
    """

    OTHER = "__other__"

    __slots__ = ("k", "max_key_length", "_counts", "total", "missing")

    def __init__(self, k: int = 32, max_key_length: int = 128) -> None:
        if int(k) < 1:
            raise ValueError("k must be >= 1")
        if int(max_key_length) < 1:
            raise ValueError("max_key_length must be >= 1")
        self.k = int(k)
        self.max_key_length = int(max_key_length)
        self.clear()

    def clear(self) -> None:
        self._counts: dict[str, int] = {}
        self.total = 0
        self.missing = 0

    def copy(self) -> FrequentItems:
        new = FrequentItems.__new__(FrequentItems)
        new.k, new.max_key_length = self.k, self.max_key_length
        new._counts = dict(self._counts)
        new.total, new.missing = self.total, self.missing
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrequentItems):
            return NotImplemented
        return (self.k, self._counts, self.total, self.missing) == (
            other.k,
            other._counts,
            other.total,
            other.missing,
        )

    def __repr__(self) -> str:
        return f"FrequentItems(k={self.k}, items={self.items()}, other={self.other}, missing={self.missing})"

    # -- queries -----------------------------------------------------------------
    @property
    def other(self) -> int:
        return self.total - sum(self._counts.values())

    def items(self) -> list[tuple[str, int]]:
        """Kept ``(key, count)`` pairs, count descending then key ascending (<= k)."""
        return sorted(self._counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def counts_with_other(self) -> list[tuple[str, int]]:
        """:meth:`items` plus ``(OTHER, other)`` when ``other > 0``: <= k + 1 entries."""
        out = self.items()
        if self.other:
            out.append((self.OTHER, self.other))
        return out

    def estimate(self, value: Any) -> int:
        """Lower-bound count for ``value`` (0 when not kept)."""
        return self._counts.get(self._key(value), 0)

    # -- updates -----------------------------------------------------------------
    def _key(self, value: Any) -> str:
        if isinstance(value, bytes):
            key = value.decode("utf-8", "replace")
        elif isinstance(value, float) and value == 0.0:
            key = "0.0"  # -0.0 and 0.0 are one category
        else:
            key = str(value)
        return key[: self.max_key_length]

    def update(self, values: Any) -> None:
        """Count a batch: distinct values are found with ``np.unique`` (or a C-level
        ``Counter`` for object arrays, ``np.bincount`` for :class:`CodedValues`) and only
        those enter the sketch."""
        if isinstance(values, CodedValues):
            distinct, counts, missing = values.counts()
            self.missing += missing
            self._add_distinct(distinct, counts)
            return
        arr = values if isinstance(values, np.ndarray) else np.asarray(values, dtype=object)
        arr = arr.reshape(-1)
        if arr.size == 0:
            return
        kind = arr.dtype.kind
        if kind in "fmM":
            nan = np.isnat(arr) if kind in "mM" else np.isnan(arr)
            n_nan = int(np.count_nonzero(nan))
            if n_nan:
                self.missing += n_nan
                arr = arr[~nan]
            if kind in "mM":
                arr, kind = arr.astype(str), "U"
        if kind in "biufUS":
            distinct, counts = np.unique(arr, return_counts=True)
            self._add_distinct(distinct, counts.astype(np.int64))
            return
        items = arr.tolist()
        try:
            tally = Counter(items)
        except TypeError:  # unhashable objects: count their keys instead
            present = [v for v in items if not _is_missing(v)]
            self.missing += len(items) - len(present)
            tally = Counter(self._key(v) for v in present)
        self.update_counts(list(tally.keys()), np.fromiter(tally.values(), dtype=np.int64, count=len(tally)))

    def update_counts(self, distinct: Any, counts: Any) -> None:
        """Count ``counts[i]`` occurrences of each ``distinct[i]`` (values distinct under
        ``==``, as a ``Counter``'s keys): the same sketch as :meth:`update` with every
        occurrence. Missing values among them (``None``/NaN) count in :attr:`missing`."""
        values = distinct.tolist() if isinstance(distinct, np.ndarray) else list(distinct)
        counts = np.asarray(counts, dtype=np.int64).reshape(-1)
        if len(values) != counts.size:
            raise ValueError(f"{len(values)} distinct values but {counts.size} counts")
        if (counts < 0).any():
            raise ValueError("counts must be >= 0")
        gone = [i for i, v in enumerate(values) if _is_missing(v)]
        if gone:
            self.missing += int(counts[gone].sum())
            keep = np.ones(counts.size, dtype=bool)
            keep[gone] = False
            values = [v for i, v in enumerate(values) if keep[i]]
            counts = counts[keep]
        self._add_distinct(values, counts)

    def _add_distinct(self, distinct: Any, counts: np.ndarray) -> None:
        """The Misra-Gries step for a batch reduced to distinct non-missing values."""
        if counts.size:
            present = np.flatnonzero(counts)
            if present.size < counts.size:  # a value seen 0 times is not a key
                counts = counts[present]
                distinct = (
                    distinct[present]
                    if isinstance(distinct, np.ndarray)
                    else [distinct[i] for i in present.tolist()]
                )
        if counts.size == 0:
            return
        self.total += int(counts.sum())
        # Reduce the batch to <= k counters before building strings (valid MG step).
        if counts.size > self.k:
            threshold = int(np.partition(counts, counts.size - self.k - 1)[counts.size - self.k - 1])
            keep = np.flatnonzero(counts > threshold)
            counts = counts[keep] - threshold
            distinct = (
                distinct[keep] if isinstance(distinct, np.ndarray) else [distinct[i] for i in keep.tolist()]
            )
        values_list = distinct.tolist() if isinstance(distinct, np.ndarray) else distinct
        merged = dict(self._counts)
        for value, c in zip(values_list, counts.tolist()):
            key = self._key(value)
            merged[key] = merged.get(key, 0) + c
        self._counts = self._reduce(merged)

    def merge(self, other: FrequentItems) -> None:
        if not isinstance(other, FrequentItems):
            raise TypeError(f"cannot merge {type(other).__name__} into FrequentItems")
        merged = dict(self._counts)
        for key, c in other._counts.items():
            key = key[: self.max_key_length]
            merged[key] = merged.get(key, 0) + c
        self._counts = self._reduce(merged)
        self.total += other.total
        self.missing += other.missing

    def _reduce(self, counts: dict[str, int]) -> dict[str, int]:
        """Misra-Gries reduction: subtract the (k+1)-th largest count, drop <= 0."""
        if len(counts) <= self.k:
            return counts
        threshold = sorted(counts.values(), reverse=True)[self.k]
        return {key: c - threshold for key, c in counts.items() if c > threshold}

    # -- serialization -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": _FORMAT_VERSION,
            "k": self.k,
            "max_key_length": self.max_key_length,
            "items": [[key, c] for key, c in self.items()],
            "total": self.total,
            "missing": self.missing,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FrequentItems:
        if d.get("version") != _FORMAT_VERSION:
            raise ValueError(f"unsupported FrequentItems format version {d.get('version')!r}")
        f = cls(k=d["k"], max_key_length=d["max_key_length"])
        items = {str(key)[: f.max_key_length]: int(c) for key, c in d["items"]}
        if len(items) > f.k:
            raise ValueError("more items than k")
        f._counts = items
        f.total = int(d["total"])
        f.missing = int(d["missing"])
        if f.other < 0:
            raise ValueError("item counts exceed total")
        return f
