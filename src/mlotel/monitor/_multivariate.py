"""Online reconstruction errors: each call's rows under the reference's multivariate model.

When a monitored model's reference has a multivariate model (``build_reference(...,
multivariate=True)``), :class:`ErrorRecorder` turns the rows the feature recorder already
read into reconstruction errors (:meth:`MultivariateModel.errors`: one matrix product and
one row norm for a whole block of rows) and sketches them in one
``ml.multivariate.error`` exponential histogram per model; its count and sum per export
interval are what :class:`mlotel.drift.online.DriftMonitor` compares with the reference
(``ml.multivariate.drift``).

Two ways in, one computation:

* the numpy fast path (:class:`~mlotel.monitor._buffer.MatrixBuffer`): the input block is
  handed over when it is flushed (:meth:`ErrorRecorder.block_hook`), so one-row calls cost
  nothing more per call and the errors of a whole block are computed at once;
* any other input (pandas, dicts, lists of rows, categorical columns): the call's columns
  are encoded (:meth:`MultivariateModel.encode`, the batch path's encoding) into a block of
  encoded rows (:meth:`ErrorRecorder.add_columns`), computed when it fills or before a
  collection.

Memory: one block of at most ``block_rows(width)`` x ``width`` float64 values per model.
Faults (a bad value, an unexpected shape) are caught and counted, never raised.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from mlotel import _faults
from mlotel import _semconv as sc
from mlotel.data import Column
from mlotel.monitor._buffer import block_rows
from mlotel.sketches import ExponentialHistogram


class ErrorRecorder:
    """Reconstruction errors of one model's input rows, sketched per export interval."""

    __slots__ = ("model", "series", "_block", "_fill", "_lock")

    def __init__(self, registry: Any, attributes: dict[str, Any], model: Any, max_buckets: int) -> None:
        self.model = model
        instrument = registry.instrument(
            sc.MULTIVARIATE_ERROR,
            "exponential_histogram",
            "1",
            "Reconstruction error of input rows under the reference's multivariate (PCA) model.",
            new_state=lambda: ExponentialHistogram(max_size=max_buckets),
        )
        self.series = instrument.series({**attributes, sc.MULTIVARIATE_MODEL: model.fingerprint})
        self._block = np.empty((block_rows(model.width), model.width), dtype=np.float64)
        self._fill = 0
        self._lock = threading.Lock()
        registry.add_flusher(self.flush)

    # -- the numpy fast path ------------------------------------------------------------------
    def block_hook(self, names: list[str]) -> Callable[[np.ndarray], None]:
        """A callback for the input :class:`MatrixBuffer` whose columns are ``names``: it is
        given each flushed block of raw rows (``n x len(names)``)."""
        model = self.model
        index = {name: j for j, name in enumerate(names)}
        if not model.categories and all(f in index for f in model.features):
            positions = [index[f] for f in model.features]
            if positions == list(range(len(names))):
                return self._guarded
            take = np.asarray(positions, dtype=np.intp)
            return lambda rows: self._guarded(rows[:, take])

        def encode(rows: np.ndarray) -> None:  # categorical or absent model features: missing
            columns = [Column(name, rows[:, j], False) for name, j in index.items()]
            self._guarded(model.encode(columns, rows.shape[0]))

        return encode

    def _guarded(self, encoded: np.ndarray) -> None:
        try:
            self._record(encoded)
        except Exception as exc:  # called from buffer flushes: never into the model's call
            _faults.record_fault("multivariate", exc)

    # -- any other input ----------------------------------------------------------------------
    def add_columns(self, columns: Any, n_rows: int, rows: np.ndarray | None = None) -> None:
        """Encode a call's columns (``rows``: a boolean row selection, or None for all) and
        buffer them; errors are computed a block at a time."""
        encoded = self.model.encode(columns, n_rows)
        if rows is not None:
            encoded = encoded[rows]
        n = encoded.shape[0]
        with self._lock:
            fill = self._fill
            block = self._block
            if fill + n <= block.shape[0]:
                block[fill : fill + n] = encoded
                self._fill = fill + n
                return
            self._flush_locked()
            if n * 2 <= block.shape[0]:
                block[:n] = encoded
                self._fill = n
                return
        self._record(encoded)

    def flush(self) -> None:
        """Compute the buffered rows' errors (a registry flusher: before every collection)."""
        try:
            with self._lock:
                self._flush_locked()
        except Exception as exc:
            _faults.record_fault("multivariate", exc)

    def _flush_locked(self) -> None:
        fill = self._fill
        if fill:
            self._fill = 0
            self._record(self._block[:fill])

    def _record(self, encoded: np.ndarray) -> None:
        if encoded.shape[0] == 0:
            return
        errors = self.model.errors(encoded)
        series = self.series
        with series.lock:
            series.state.update(errors)
