"""A sketch behind a small fixed buffer, so one-row calls cost a copy, not a sketch update.

Updating a sketch has a fixed cost of a few microseconds per call whatever the batch
size; a model served one row at a time would pay it for every feature of every call.
:class:`BufferedSketch` copies small batches into a preallocated buffer and sketches
the buffer when it fills or when the series is collected, so the fixed cost is paid
once per ``capacity`` values. Memory stays fixed: one buffer per series.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlotel.data._columns import float_columns

DEFAULT_CAPACITY = 256


class BufferedSketch:
    """Wraps a sketch (``ExponentialHistogram`` or ``FrequentItems``) with a pending buffer.

    Not thread-safe: the owning series' lock serializes every call. ``on_missing(n)``
    is told how many missing values each flush found (the ``ml.feature.missing`` counter).
    """

    __slots__ = ("sketch", "_buffer", "_fill", "_on_missing", "_numeric")

    def __init__(
        self,
        sketch: Any,
        *,
        numeric: bool,
        capacity: int = DEFAULT_CAPACITY,
        on_missing: Callable[[int], None] | None = None,
    ) -> None:
        self.sketch = sketch
        self._numeric = numeric
        self._buffer = np.empty(capacity, dtype=np.float64 if numeric else object)
        self._fill = 0
        self._on_missing = on_missing

    def update(self, values: np.ndarray) -> None:
        n = len(values)
        fill = self._fill
        buffer = self._buffer
        if fill + n <= len(buffer):
            buffer[fill : fill + n] = values
            self._fill = fill + n
            return
        self.flush()
        if n * 2 <= len(buffer):
            buffer[:n] = values
            self._fill = n
        else:
            self._sketch(values)

    def flush(self) -> None:
        fill = self._fill
        if fill:
            self._fill = 0
            self._sketch(self._buffer[:fill])
            if not self._numeric:
                self._buffer[:fill] = None  # hold no references to the caller's objects

    def _sketch(self, values: np.ndarray) -> None:
        sketch = self.sketch
        before = sketch.missing
        sketch.update(values)
        missing = sketch.missing - before
        if missing and self._on_missing is not None:
            self._on_missing(missing)

    @property
    def missing(self) -> int:
        return self.sketch.missing


#: A matrix block for one-row (and small) calls: at most this many values (128 KiB)...
SMALL_BLOCK_VALUES = 16384
#: ...and rows. A column's sketch update costs ~40 us whatever its length up to a few
#: thousand values: 1,024 one-row calls share it (~0.04 us each per column).
SMALL_BLOCK_ROWS = 1024
#: A block for batches holds this many batches of the first one's size...
BATCHES_PER_BLOCK = 8
#: ...up to this many values (2 MiB): per model, one block for inputs, one for outputs.
MAX_BLOCK_VALUES = 1 << 18


def block_rows(width: int, batch_rows: int = 1) -> int:
    """Rows of a matrix block ``width`` values wide, for calls of ``batch_rows`` rows.

    A sketch update costs tens of microseconds per column whatever its length (numpy
    call overheads), against a few nanoseconds per value: a batch of a few hundred
    rows sketched column by column costs many times a small model's call. Blocks that
    hold several batches pay that cost once per block.
    """
    width = max(width, 1)
    small = max(16, min(SMALL_BLOCK_ROWS, SMALL_BLOCK_VALUES // width))
    return max(small, min(MAX_BLOCK_VALUES // width, BATCHES_PER_BLOCK * batch_rows))


class MatrixBuffer:
    """Rows of a numeric matrix with a fixed column layout, buffered as one block.

    The fast path for numpy (and tensor) inputs and outputs: a call costs one block
    copy, whatever the number of features. When the block fills, or before a
    collection, each column is handed to its series (``series[j]``) in one piece.
    Thread-safe: the block has its own lock, always taken before any series lock.
    The block is sized from the first batch and grows (never shrinks) when a larger
    one comes. Memory: :func:`block_rows` x width float64 values, at most
    ``MAX_BLOCK_VALUES`` (or 16 rows) whatever the traffic. ``on_rows(rows)``, when set, is
    also given every block (and large batch) fed to the series, as a row-major matrix (the
    multivariate reconstruction errors; it catches its own faults).
    """

    __slots__ = ("series", "on_rows", "_block", "_fill", "_lock")

    def __init__(self, series: list[Any], lock_factory: Callable[[], Any], batch_rows: int = 1) -> None:
        self.series = series
        self.on_rows: Callable[[np.ndarray], None] | None = None
        width = len(series)
        rows = block_rows(width, batch_rows)
        self._block = np.empty((rows, width), dtype=np.float64)
        self._fill = 0
        self._lock = lock_factory()

    @property
    def width(self) -> int:
        return len(self.series)

    def update(self, X: np.ndarray) -> None:
        """Add rows ``X`` (shape ``(n, width)``, any real dtype)."""
        n = X.shape[0]
        with self._lock:
            fill = self._fill
            block = self._block
            if fill + n <= block.shape[0]:
                block[fill : fill + n] = X
                self._fill = fill + n
                return
            self._flush_locked()
            rows = block.shape[0]
            if n * 2 > rows and block_rows(block.shape[1], n) > rows:
                # Larger batches than the first: grow (never shrink) within MAX_BLOCK_VALUES.
                rows = block_rows(block.shape[1], n)
                self._block = block = np.empty((rows, block.shape[1]), dtype=np.float64)
            if n * 2 <= rows:
                block[:n] = X
                self._fill = n
                return
        self._feed(np.asarray(X, dtype=np.float64))

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        fill = self._fill
        if fill:
            self._fill = 0
            self._feed(self._block[:fill])

    def _feed(self, rows: np.ndarray) -> None:
        columns = float_columns(rows)
        for series, values in zip(self.series, columns, strict=True):
            with series.lock:
                series.state.update(values)
        if self.on_rows is not None:
            self.on_rows(rows)
