"""Per-model recording: what one monitored call adds to the span and to the metric series.

A :class:`ModelBinding` is built once per (decorated function, runtime generation): it
resolves every series the hot path will touch, so a call does no dictionary lookups for
its common case and no attribute-set hashing.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from opentelemetry.trace import Status, StatusCode

from mlotel import _faults
from mlotel import _semconv as sc
from mlotel.data import row_count
from mlotel.export._aggregates import HistogramState
from mlotel.monitor._features import FeatureRecorder
from mlotel.monitor._hooks import build_hooks
from mlotel.monitor._options import MonitorOptions

_MAX_ERROR_TYPES = 32


def _row_count(obj: Any, features: Any) -> int | None:
    if type(obj) is np.ndarray and obj.ndim == 2:  # the common case, inlined
        return obj.shape[0]
    return row_count(obj, features=features)


class ModelBinding:
    """Everything a call of one monitored model needs, bound to one runtime."""

    def __init__(
        self, runtime: Any, model_name: str, options: MonitorOptions, extra: dict[str, Any] | None = None
    ) -> None:
        self.generation = runtime.generation
        self.tracer = runtime.tracer
        attributes = {sc.MODEL_NAME: model_name, sc.OPERATION_NAME: options.operation}
        if options.version is not None:
            attributes[sc.MODEL_VERSION] = options.version
        if extra:
            attributes.update(extra)  # e.g. ml.model.framework, ml.model.params.hash (instrumentors)
        self.attributes = attributes
        self.span_name = f"{options.operation} {model_name}"
        # Set on the span once, at the end, with the per-call ones: one attribute-cleaning pass.
        self.span_attributes = dict(attributes)
        self._options = options
        registry = runtime.registry
        # Duration, batch size and CPU time of a call are recorded together: one lock for all three.
        self._lock = lock = threading.Lock()
        self._duration = registry.instrument(
            sc.PREDICTION_DURATION,
            "histogram",
            "s",
            "Duration of a monitored model call.",
            new_state=lambda: HistogramState(sc.DURATION_BUCKETS),
        )
        self._duration_ok = self._duration.series(attributes, lock=lock)
        self._batch = registry.instrument(
            sc.PREDICTION_BATCH_SIZE,
            "histogram",
            "{row}",
            "Rows per monitored call; its sum is the row throughput.",
            new_state=lambda: HistogramState(sc.BATCH_SIZE_BUCKETS),
        ).series(attributes, lock=lock)
        self._cpu = registry.instrument(
            sc.PREDICTION_CPU_TIME,
            "histogram",
            "s",
            "CPU time the calling thread spent in a monitored call.",
            new_state=lambda: HistogramState(sc.DURATION_BUCKETS),
        ).series(attributes, lock=lock)
        self._errors: dict[type, Any] = {}
        self.last_span: Any = None  # correlates drift alerts with a recent call
        self.drift = None
        self.feedback = None  # the reference's lineage check (mlotel.drift.lineage)
        if options.reference is not None:
            from mlotel.drift.online import DriftMonitor

            self.drift = DriftMonitor(
                runtime,
                self,
                options.reference,
                thresholds=options.drift_thresholds,
                window=options.drift_window,
            )
            lineage = getattr(options.reference, "lineage", None)
            if lineage is not None:  # a reference of served predictions: feedback-loop check
                from mlotel.drift.lineage import FeedbackGuard

                self.feedback = FeedbackGuard(runtime, self, lineage)
        # Per-call extensions (outcome tracking, payload logging), built from the options.
        self.hooks = build_hooks(runtime, self, options)
        self.features = (
            FeatureRecorder(registry, attributes, options)
            if options.sketch_inputs or options.sketch_outputs
            else None
        )

    def _error_series(self, error: BaseException) -> Any:
        kind = type(error)
        series = self._errors.get(kind)
        if series is None:
            name = kind.__qualname__ if len(self._errors) < _MAX_ERROR_TYPES else "_OTHER"
            series = self._duration.series({**self.attributes, sc.ERROR_TYPE: name}, lock=self._lock)
            if len(self._errors) < _MAX_ERROR_TYPES:
                self._errors[kind] = series
        return series

    def record(
        self,
        span: Any,
        model_input: Any,
        result: Any,
        error: BaseException | None,
        elapsed: float,
        cpu: float = 0.0,
        args: tuple = (),
        kwargs: dict | None = None,
    ) -> None:
        """Record one call. Called after the model returned or raised; never raises into the caller."""
        n_rows = (
            _row_count(model_input, self._options.features_for(model_input))
            if model_input is not None
            else None
        )
        duration = self._duration_ok if error is None else self._error_series(error)
        with self._lock:
            duration.state.record(elapsed)
            self._cpu.state.record(cpu)
            if n_rows is not None:
                self._batch.state.record(n_rows)
        self.last_span = span
        if span.is_recording():
            attributes: dict[str, Any] = {
                **self.span_attributes,
                sc.PREDICTION_ID: f"{span.get_span_context().span_id:016x}",
            }
            if n_rows is not None:
                attributes[sc.BATCH_SIZE] = n_rows
            if error is not None:
                attributes[sc.ERROR_TYPE] = type(error).__qualname__
                span.record_exception(error, escaped=True)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__qualname__}: {error}"[:256]))
            span.set_attributes(attributes)
        if error is None and self.features is not None:
            try:
                self.features.record(model_input, result)
            except Exception as exc:
                _faults.record_fault("features", exc)
        for hook in self.hooks:
            try:
                hook(span, model_input, result, error, args, kwargs)
            except Exception as exc:
                _faults.record_fault("hook", exc)
