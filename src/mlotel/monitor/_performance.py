"""The label-free performance estimate of one monitored classifier, online.

A :class:`PerformanceMonitor` exists for a model whose ``reference`` holds a score
calibration (``build_reference(..., predictions=scores, performance_estimate=True)``).
Its :meth:`hook` runs after every successful call: it checks the output is class
probabilities, calibrates them and adds the call's sums to the interval's
:class:`~mlotel.performance.PerformanceAggregate` (a few numpy passes over the batch,
no per-row Python; outputs of fewer than 256 rows are copied into a block and aggregated
once it holds 256 rows or at the next collection). An output that is not probabilities (values outside ``[0, 1]``,
rows not summing to 1, labels, another number of classes) is reported once (a WARN
log record; every such call counts in ``mlotel.fault.count``, kind ``performance``) and
left out; the call itself is never affected. Rows with a missing (NaN) score are left
out, as missing values are from every distribution.

At every metric collection (a registry listener, like the drift monitor's) it exports,
for the interval alone and for the last ``drift_window`` intervals merged:

* ``ml.performance.estimated{ml.performance.metric, ml.performance.window}`` and
  ``ml.performance.estimated_error`` (the stated error; chart the band estimate +/- error);
* with ``track_outcomes=True``, ``ml.performance.realized`` from the outcomes joined in
  that interval or window (accuracy; binary also precision, recall, F1), next to it.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import numpy as np

from mlotel import _faults
from mlotel import _semconv as sc
from mlotel._warnings import warn
from mlotel.data import read_output
from mlotel.export._aggregates import GaugeState
from mlotel.outcomes._values import label_key
from mlotel.performance import (
    Calibration,
    NotProbabilities,
    PerformanceAggregate,
    RealizedCounts,
    aggregate,
    estimate,
    probability_scores,
)

#: Small outputs are copied into a block and checked and aggregated together once it holds this
#: many rows (or at the next collection): the fixed numpy cost is paid once per block, not per call.
BLOCK_ROWS = 256


class PerformanceMonitor:
    """Estimated (and realized) performance of one model, per interval and sliding window."""

    def __init__(self, runtime: Any, binding: Any, calibration: Calibration, options: Any) -> None:
        self.calibration = calibration
        self.binding = binding
        self.base = dict(binding.attributes)
        self.logger = runtime.logger
        self.class_names = options.class_names
        registry = runtime.registry
        self._estimated = registry.instrument(
            sc.PERFORMANCE_ESTIMATED,
            "gauge",
            "1",
            "Performance estimated from calibrated scores alone (no labels), by metric and window.",
        )
        self._error = registry.instrument(
            sc.PERFORMANCE_ESTIMATED_ERROR,
            "gauge",
            "1",
            "Stated error of ml.performance.estimated: 1.96 standard errors plus the calibration error.",
        )
        self._realized = registry.instrument(
            sc.PERFORMANCE_REALIZED,
            "gauge",
            "1",
            "Performance realized on the outcomes joined in the window, by metric and window.",
        )
        self._lock = threading.Lock()
        self._current = self._new_aggregate()
        self._pending: list[np.ndarray] = []  # small outputs waiting for their block
        self._pending_rows = 0
        self._joined = RealizedCounts(calibration.binary)
        self._history: deque[tuple[PerformanceAggregate, RealizedCounts]] = deque(maxlen=options.drift_window)
        self._reported = False
        keys = [label_key(c) for c in calibration.classes]
        self._keys = keys
        self._index_keys = {str(i): key for i, key in enumerate(keys)}
        self._positive = keys[1] if calibration.binary else None
        registry.add_listener(self.on_interval)

    def _new_aggregate(self) -> PerformanceAggregate:
        return PerformanceAggregate(self.calibration.n_classes, self.calibration.n_bins)

    # -- the per-call hook ---------------------------------------------------------------------
    def hook(self, span: Any, model_input: Any, result: Any, error: Any, args: tuple, kwargs: Any) -> None:
        if error is not None or result is None:
            return
        try:
            values = self._scores(result)
        except NotProbabilities as exc:
            self._invalid(exc)
            return
        if values.shape[0] >= BLOCK_ROWS:
            self._add([values])
            return
        blocks = []
        with self._lock:
            if self._pending and self._pending[0].shape[1:] != values.shape[1:]:
                blocks.append(self._pending)  # another shape: its block goes first
                self._pending, self._pending_rows = [], 0
            self._pending.append(values.copy())  # the caller may reuse its array
            self._pending_rows += values.shape[0]
            if self._pending_rows >= BLOCK_ROWS:
                blocks.append(self._pending)
                self._pending, self._pending_rows = [], 0
        for block in blocks:
            self._add(block)

    def _add(self, outputs: list[np.ndarray]) -> None:
        """Check and aggregate outputs of one shape together; when the block is refused, each
        output alone, so only the non-probability ones are left out (and reported)."""
        block = outputs[0] if len(outputs) == 1 else np.concatenate(outputs)
        try:
            scores, missing = probability_scores(block, self.calibration)
        except NotProbabilities as exc:
            if len(outputs) == 1:
                self._invalid(exc)
            else:
                for values in outputs:
                    self._add([values])
            return
        batch = aggregate(self.calibration, scores, missing)
        with self._lock:
            self._current.merge(batch)

    def _scores(self, result: Any) -> np.ndarray:
        if type(result) is np.ndarray:
            values = result
        else:
            frame = read_output(result, class_names=self.class_names, max_classes=self.calibration.n_classes)
            columns = frame.columns
            if not columns or any(c.categorical for c in columns):
                raise NotProbabilities("the output holds labels, not class probabilities")
            values = columns[0].values if len(columns) == 1 else np.column_stack([c.values for c in columns])
        if values.dtype.kind != "f":
            raise NotProbabilities(f"the output is {values.dtype} labels, not class probabilities")
        return values.reshape(1) if values.ndim == 0 else values

    def _invalid(self, exc: NotProbabilities) -> None:
        _faults.record_fault("performance", exc, "output skipped by the performance estimate")
        if self._reported:
            return
        self._reported = True
        name = self.base.get(sc.MODEL_NAME)
        self._log(f"performance estimate: model {name!r}: {exc}; such outputs are left out of the estimate")

    # -- outcomes (called by the model's OutcomeTracker) -----------------------------------
    def joined(self, predicted: list[Any], actual: list[Any]) -> None:
        """Count outcomes just joined with their predictions (predicted class or score, actual label)."""
        try:
            p = [self._predicted_key(v) for v in predicted]
            a = [label_key(v) for v in actual]
            correct = np.fromiter((x == y for x, y in zip(p, a)), dtype=bool, count=len(p))
            positive = self._positive
            pp = np.fromiter((x == positive for x in p), dtype=bool, count=len(p))
            ap = np.fromiter((x == positive for x in a), dtype=bool, count=len(a))
            with self._lock:
                self._joined.add(pp, ap, correct)
        except Exception as exc:  # never disturb record_outcome
            _faults.record_fault("performance", exc)

    def _predicted_key(self, value: Any) -> str:
        if isinstance(value, float | np.floating) and self.calibration.binary:
            return self._keys[1] if value > 0.5 else self._keys[0]  # a positive-class score
        key = label_key(value)
        if self.class_names is None and isinstance(value, int | np.integer):
            return self._index_keys.get(key, key)  # a score matrix's argmax column
        return key

    # -- the listener ---------------------------------------------------------------------------
    def on_interval(self, interval: list, now_ns: int) -> list | None:
        with self._lock:
            pending, self._pending, self._pending_rows = self._pending, [], 0
        shapes: dict[tuple[int, ...], list[np.ndarray]] = {}
        for values in pending:
            shapes.setdefault(values.shape[1:], []).append(values)
        for outputs in shapes.values():
            self._add(outputs)
        with self._lock:
            current, self._current = self._current, self._new_aggregate()
            joined, self._joined = self._joined, RealizedCounts(self.calibration.binary)
        if current.is_empty() and joined.n == 0:
            return None
        self._history.append((current, joined))
        sliding, realized = self._new_aggregate(), RealizedCounts(self.calibration.binary)
        for state, counts in self._history:
            sliding.merge(state)
            realized.merge(counts)
        out: list = []
        self._export(current, joined, "interval", out)
        self._export(sliding, realized, "sliding", out)
        return out

    def _export(self, state: PerformanceAggregate, joined: RealizedCounts, window: str, out: list) -> None:
        for result in estimate(self.calibration, state):
            attributes = {**self.base, sc.PERFORMANCE_METRIC: result.metric, sc.PERFORMANCE_WINDOW: window}
            out.append((self._estimated, attributes, _gauge(result.value)))
            out.append((self._error, attributes, _gauge(result.error)))
        for metric, value in joined.metrics().items():
            attributes = {**self.base, sc.PERFORMANCE_METRIC: metric, sc.PERFORMANCE_WINDOW: window}
            out.append((self._realized, attributes, _gauge(value)))

    def _log(self, body: str) -> None:
        """A WARN log record, correlated with the model's most recent call."""
        warn(self.logger, body, dict(self.base), getattr(self.binding, "last_span", None))


def _gauge(value: float) -> GaugeState:
    gauge = GaugeState()
    gauge.value = float(value)
    return gauge
