"""Joining ground-truth outcomes with a model's cached predictions, and the quality metrics that follow.

One :class:`OutcomeTracker` per monitored model that has ``track_outcomes=True``: its
hook caches every call's predictions (:class:`~mlotel.outcomes._cache.PredictionCache`),
and :func:`mlotel.record_outcome` hands it the outcomes. Each joined row updates:

* classification: ``ml.outcome.count`` (predicted class x actual class; at most
  ``top_k`` distinct classes per model, the rest as ``__other__``) and the rolling
  ``ml.outcome.accuracy`` over the last ``outcome_window`` rows;
* regression: ``ml.outcome.error`` (absolute error, exponential histogram) and the
  rolling ``ml.outcome.mae`` / ``ml.outcome.rmse``;
* both: ``ml.outcome.delay``, seconds from prediction to outcome.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from mlotel import _faults
from mlotel import _semconv as sc
from mlotel.outcomes._cache import UNKNOWN, Entry, PredictionCache
from mlotel.outcomes._ids import call_ids
from mlotel.outcomes._predictions import CLASSIFICATION, REGRESSION, predicted_rows
from mlotel.outcomes._values import label_key
from mlotel.sketches import ExponentialHistogram

OTHER = "__other__"
#: Series of ml.outcome.count across all models: (top_k + 1)^2 per model at most.
MAX_PAIR_SERIES = 20_000


class _Window:
    """The last ``size`` values of a stream, for rolling means."""

    __slots__ = ("values", "filled", "position")

    def __init__(self, size: int) -> None:
        self.values = np.zeros(size, dtype=np.float64)
        self.filled = 0
        self.position = 0

    def extend(self, batch: np.ndarray) -> None:
        size = self.values.shape[0]
        if batch.shape[0] >= size:
            self.values[:] = batch[-size:]
            self.filled, self.position = size, 0
            return
        end = self.position + batch.shape[0]
        if end <= size:
            self.values[self.position : end] = batch
        else:
            split = size - self.position
            self.values[self.position :] = batch[:split]
            self.values[: end - size] = batch[split:]
        self.position = end % size
        self.filled = min(size, self.filled + batch.shape[0])

    def mean(self) -> float:
        return float(self.values[: self.filled].mean()) if self.filled else math.nan


class OutcomeTracker:
    """The outcome state of one model: its prediction cache, class bound, rolling windows and series."""

    def __init__(self, registry: Any, attributes: dict[str, Any], options: Any, generation: int) -> None:
        self.attributes = attributes
        self.options = options
        self.generation = generation
        self.task: str | None = options.task
        self.cache = PredictionCache(options.outcome_cache_size, options.outcome_ttl)
        self._lock = threading.Lock()
        self._classes: set[str] = set()
        self._max_classes = options.top_k
        self._window = _Window(options.outcome_window)
        self._squares = _Window(options.outcome_window)
        #: Called as ``on_joined(predicted, actual)`` (lists, one value per joined row) after each
        #: join, e.g. by the performance estimate for its realized values; None: nobody listens.
        self.on_joined: Any = None
        self._count = registry.instrument(
            sc.OUTCOME_COUNT,
            "counter",
            "{outcome}",
            "Outcomes joined with their prediction, by predicted and actual class.",
            max_series=MAX_PAIR_SERIES,
        )
        self._pairs: dict[tuple[str, str], Any] = {}
        self._accuracy = registry.instrument(
            sc.OUTCOME_ACCURACY,
            "gauge",
            "1",
            "Share of correct predictions among the last outcome_window outcomes.",
        ).series(attributes)
        self._mae = registry.instrument(
            sc.OUTCOME_MAE, "gauge", "1", "Mean absolute error over the last outcome_window outcomes."
        ).series(attributes)
        self._rmse = registry.instrument(
            sc.OUTCOME_RMSE, "gauge", "1", "Root mean squared error over the last outcome_window outcomes."
        ).series(attributes)
        max_buckets = options.max_buckets
        self._error = registry.instrument(
            sc.OUTCOME_ERROR,
            "exponential_histogram",
            "1",
            "Absolute error |predicted - actual| of regression outcomes.",
            new_state=lambda: ExponentialHistogram(max_size=max_buckets),
        ).series(attributes)
        self._delay = registry.instrument(
            sc.OUTCOME_DELAY,
            "exponential_histogram",
            "s",
            "Seconds from a prediction to its outcome (the label delay).",
            new_state=lambda: ExponentialHistogram(max_size=max_buckets),
        ).series(attributes)

    # -- predictions (the hook) -----------------------------------------------------------
    def hook(self, span: Any, model_input: Any, result: Any, error: Any, args: tuple, kwargs: Any) -> None:
        """Cache the call's predictions under its id(s). Raises on unreadable outputs (the guard counts it)."""
        if error is not None:
            return
        ids = call_ids(self.options, span, args, kwargs)
        if ids is None:
            return
        task, values = predicted_rows(result, self.options.class_names, self.task)
        if values.shape[0] == 0:
            return
        now = time.monotonic()
        with self._lock:
            if self.task is None:
                self.task = task  # the first prediction fixes the task: metrics never switch kind
            elif task != self.task:
                return
            if isinstance(ids, str):
                self.cache.put(ids, values, values.shape[0], now)
            elif len(ids) == values.shape[0]:
                for key, value in zip(ids, values.tolist()):
                    if key is not None:
                        self.cache.put(key, value, 1, now)
            else:
                raise ValueError(f"{len(ids)} prediction ids for {values.shape[0]} predicted rows")

    # -- outcomes -------------------------------------------------------------------------
    def resolve(self, ids: Sequence[str | None], actuals: Sequence[Any], now: float) -> list[str | None]:
        """Join outcomes with cached predictions and update the metrics.

        Returns, per id, None when it was joined or the reason it was not (``unknown``,
        ``late``, ``duplicate``). An outcome whose row count does not match its cached
        prediction is left in the cache and reported as ``unknown`` after a fault is counted.
        """
        reasons: list[str | None] = []
        predicted: list[Any] = []
        actual: list[Any] = []
        delays: list[float] = []
        with self._lock:
            for key, value in zip(ids, actuals):
                if key is None:
                    reasons.append(UNKNOWN)
                    continue
                found = self.cache.take(key, now)
                if isinstance(found, str):
                    reasons.append(found)
                    continue
                rows = _rows_of(found, value)
                if rows is None:
                    self.cache.put_back(key, found)
                    _faults.record_fault(
                        "outcome",
                        ValueError(f"outcome for {key!r} does not have the prediction's {found.rows} rows"),
                    )
                    reasons.append(UNKNOWN)
                    continue
                reasons.append(None)
                predicted.extend(rows[0])
                actual.extend(rows[1])
                delays.extend([now - found.time] * len(rows[0]))
            if predicted:
                if self.task == REGRESSION:
                    self._regression(predicted, actual)
                else:
                    self._classification(predicted, actual)
        if delays:
            self._delay.update(np.asarray(delays, dtype=np.float64))
        if predicted and self.on_joined is not None:
            self.on_joined(predicted, actual)
        return reasons

    def _classification(self, predicted: list[Any], actual: list[Any]) -> None:
        p = [label_key(v) for v in predicted]
        a = [label_key(v) for v in actual]
        correct = np.fromiter((x == y for x, y in zip(p, a)), dtype=np.float64, count=len(p))
        for (pk, ak), count in Counter(zip(map(self._bounded, p), map(self._bounded, a))).items():
            series = self._pairs.get((pk, ak))
            if series is None:
                series = self._pairs[(pk, ak)] = self._count.series(
                    {**self.attributes, sc.PREDICTION_CLASS: pk, sc.OUTCOME_CLASS: ak}
                )
            series.add(count)
        self._window.extend(correct)
        self._accuracy.set(self._window.mean())

    def _bounded(self, key: str) -> str:
        # First come, first kept: a class never moves between its own series and __other__.
        if key in self._classes:
            return key
        if len(self._classes) < self._max_classes:
            self._classes.add(key)
            return key
        return OTHER

    def _regression(self, predicted: list[Any], actual: list[Any]) -> None:
        try:
            p = np.asarray(predicted, dtype=np.float64)
            a = np.asarray(actual, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            _faults.record_fault("outcome", exc, "regression outcomes must be numbers")
            return
        errors = np.abs(p - a)
        errors = errors[np.isfinite(errors)]
        if errors.size == 0:
            return
        self._error.update(errors)
        self._window.extend(errors)
        self._squares.extend(errors * errors)
        self._mae.set(self._window.mean())
        self._rmse.set(math.sqrt(self._squares.mean()))


def _rows_of(entry: Entry, actual: Any) -> tuple[list[Any], list[Any]] | None:
    """(predicted rows, actual rows) of one joined id, or None when their row counts differ."""
    predicted = entry.predicted
    if not isinstance(predicted, np.ndarray):  # a per-row id: one value
        return [predicted], [_scalar(actual)]
    if isinstance(actual, np.ndarray) or (isinstance(actual, list | tuple) or hasattr(actual, "tolist")):
        rows = actual.tolist() if hasattr(actual, "tolist") else list(actual)
        if not isinstance(rows, list):
            rows = [rows]
    else:
        rows = [actual]
    if len(rows) != predicted.shape[0]:
        return None
    return predicted.tolist(), rows


def _scalar(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.reshape(-1)[0]
    if isinstance(value, list | tuple) and len(value) == 1:
        return value[0]
    return value


__all__ = ["CLASSIFICATION", "REGRESSION", "OutcomeTracker"]
