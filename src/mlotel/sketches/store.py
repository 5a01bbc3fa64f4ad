"""Dense bucket counts with an offset, laid out as in OTLP ``Buckets``."""

from __future__ import annotations

import numpy as np

from mlotel.sketches.mapping import lowest_bits

__all__ = ["BucketStore"]

_EMPTY = np.zeros(0, dtype=np.int64)


class BucketStore:
    """Counts for a contiguous run of bucket indices.

    ``counts[i]`` is the number of values in bucket ``offset + i`` (OTLP layout).  The
    store is kept *canonical*: it is either empty (``offset == 0``, no counts) or its
    first and last counts are non-zero, so two stores holding the same buckets compare
    equal field by field.  The store knows nothing about scales: the owning histogram
    decides when to :meth:`downscale`.
    """

    __slots__ = ("offset", "counts", "_bounds")

    def __init__(self, offset: int = 0, counts: np.ndarray | None = None) -> None:
        self.offset = 0
        self.counts = _EMPTY
        self._bounds: tuple[int, int, int, int, int] | None = None
        if counts is not None:
            self._set(int(offset), np.asarray(counts, dtype=np.int64))

    # -- queries -----------------------------------------------------------------
    def is_empty(self) -> bool:
        return self.counts.size == 0

    @property
    def index_range(self) -> tuple[int, int] | None:
        """``(lowest, highest)`` occupied index, or ``None`` when empty."""
        if self.counts.size == 0:
            return None
        return self.offset, self.offset + self.counts.size - 1

    def bits_bounds(self, scale: int) -> tuple[int, int] | None:
        """IEEE bits ``(low, high)`` of the positive magnitudes that map into the occupied
        buckets at ``scale`` (``None`` when empty): values within them leave the occupied
        range, and so the histogram's scale, as they are.  Cached until the store changes."""
        size = self.counts.size
        if size == 0:
            return None
        cached = self._bounds
        if cached is None or cached[:3] != (scale, self.offset, size):
            low = lowest_bits(self.offset, scale)
            high = lowest_bits(self.offset + size, scale) - 1
            cached = self._bounds = (scale, self.offset, size, low, high)
        return cached[3], cached[4]

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def __len__(self) -> int:
        return int(self.counts.size)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BucketStore):
            return NotImplemented
        return self.offset == other.offset and np.array_equal(self.counts, other.counts)

    def __repr__(self) -> str:
        return f"BucketStore(offset={self.offset}, counts={self.counts.tolist()})"

    # -- updates -----------------------------------------------------------------
    def add(self, indices: np.ndarray) -> None:
        """Count each index in ``indices`` once."""
        indices = np.asarray(indices, dtype=np.int64).ravel()
        if indices.size == 0:
            return
        lo = int(indices.min())
        self.add_counts(lo, np.bincount(indices - lo))

    def add_counts(self, offset: int, counts: np.ndarray) -> None:
        """Add ``counts[i]`` (>= 0) to bucket ``offset + i``."""
        counts = np.asarray(counts, dtype=np.int64)
        nz = counts.nonzero()[0]
        if nz.size == 0:
            return
        first, last = int(nz[0]), int(nz[-1])
        offset, counts = offset + first, counts[first : last + 1]
        mine = self.counts
        start = offset - self.offset
        if mine.size and start >= 0 and start + counts.size <= mine.size:
            # Inside the occupied range (the usual case): its ends stay non-zero.
            merged = mine.copy()  # copy: arrays may be shared after copy()
            merged[start : start + counts.size] += counts
            self.counts = merged
            return
        if mine.size == 0:
            self.offset, self.counts = offset, counts.copy()
            return
        lo = min(self.offset, offset)
        merged = np.zeros(max(self.offset + mine.size, offset + counts.size) - lo, dtype=np.int64)
        merged[self.offset - lo : self.offset - lo + mine.size] = mine
        merged[offset - lo : offset - lo + counts.size] += counts
        self.offset, self.counts = lo, merged  # both ends non-zero: canonical

    def merge(self, other: BucketStore) -> None:
        """Add another store's counts (same scale assumed)."""
        self.add_counts(other.offset, other.counts)

    def downscale(self, by: int) -> None:
        """Re-bucket to a scale ``by`` lower: bucket ``i`` becomes ``i >> by`` (exact)."""
        if by < 0:
            raise ValueError("downscale amount must be >= 0")
        if by == 0 or self.counts.size == 0:
            return
        self.offset, self.counts = downscale_counts(self.offset, self.counts, by)

    def clear(self) -> None:
        self.offset = 0
        self.counts = _EMPTY

    def copy(self) -> BucketStore:
        new = BucketStore()
        new.offset, new.counts = self.offset, self.counts  # counts are never mutated in place
        return new

    def _set(self, offset: int, counts: np.ndarray) -> None:
        nz = np.flatnonzero(counts)
        if nz.size == 0:
            self.offset, self.counts = 0, _EMPTY
            return
        first, last = int(nz[0]), int(nz[-1])
        if first or last != counts.size - 1:
            counts = counts[first : last + 1].copy()
        self.offset, self.counts = offset + first, counts


def downscale_counts(offset: int, counts: np.ndarray, by: int) -> tuple[int, np.ndarray]:
    """Exact ``index >> by`` aggregation of a dense run of counts."""
    if by == 0 or counts.size == 0:
        return offset, counts
    if by >= 63:
        by = 63
    new_offset = offset >> by
    width = 1 << by if by < 32 else None
    hi = (offset + counts.size - 1) >> by
    if width is None or (hi - new_offset + 1) * width > 4 * counts.size + 64:
        # Wide groups: sum runs that share an index instead of padding.
        idx = (offset + np.arange(counts.size, dtype=np.int64)) >> by
        starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
        out = np.zeros(hi - new_offset + 1, dtype=np.int64)
        out[idx[starts] - new_offset] = np.add.reduceat(counts, starts)
        return new_offset, out
    lead = offset - (new_offset << by)
    padded = np.zeros((hi - new_offset + 1) * width, dtype=np.int64)
    padded[lead : lead + counts.size] = counts
    return new_offset, padded.reshape(-1, width).sum(axis=1)
