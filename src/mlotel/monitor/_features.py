"""Feed a call's input columns and outputs into per-feature sketches.

One :class:`FeatureRecorder` per model binding. Columns come from
:mod:`mlotel.data`; each numeric column updates one exponential-histogram series of
``ml.feature.value`` (and ``ml.feature.missing``), each categorical column one top-K
series of ``ml.feature.category.count``. Outputs go to ``ml.prediction.value`` /
``ml.prediction.class.count`` the same way. The number of series per model is bounded
by ``max_features`` (inputs) and ``max_classes`` (outputs).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np

from mlotel import _faults
from mlotel import _semconv as sc
from mlotel.data import Column, UnreadableInput, read_input, read_output, row_count
from mlotel.data._tensors import is_framework_tensor, to_host
from mlotel.monitor._buffer import BufferedSketch, MatrixBuffer
from mlotel.monitor._options import MonitorOptions
from mlotel.sketches import ExponentialHistogram, FrequentItems

MAX_OUTPUT_COLUMNS = 32


class FeatureRecorder:
    """Bounded per-model map of column name -> series; sketches whole batches at once."""

    def __init__(self, registry: Any, attributes: dict[str, Any], options: MonitorOptions) -> None:
        self.options = options
        self.attributes = attributes
        max_buckets, top_k = options.max_buckets, options.top_k
        self._value = registry.instrument(
            sc.FEATURE_VALUE,
            "exponential_histogram",
            "1",
            "Distribution of a numeric input feature.",
            new_state=lambda: ExponentialHistogram(max_size=max_buckets),
        )
        self._missing = registry.instrument(
            sc.FEATURE_MISSING, "counter", "{value}", "Missing (None/NaN) values of an input feature."
        )
        self._category = registry.instrument(
            sc.FEATURE_CATEGORY_COUNT,
            "category_counter",
            "{value}",
            "Occurrences of the top-K values of a categorical input feature; the rest under __other__.",
            new_state=lambda: FrequentItems(k=top_k),
            category_attribute=sc.FEATURE_CATEGORY,
        )
        self._prediction_value = registry.instrument(
            sc.PREDICTION_VALUE,
            "exponential_histogram",
            "1",
            "Distribution of a numeric model output (value, score or class probability).",
            new_state=lambda: ExponentialHistogram(max_size=max_buckets),
        )
        self._prediction_class = registry.instrument(
            sc.PREDICTION_CLASS_COUNT,
            "category_counter",
            "{prediction}",
            "Predicted labels: the top-K classes, the rest under __other__.",
            new_state=lambda: FrequentItems(k=top_k),
            category_attribute=sc.PREDICTION_CLASS,
        )
        self._inputs: dict[tuple[str, bool], tuple[Any, Any]] = {}
        self._outputs: dict[tuple[str, bool], Any] = {}
        self._lock = threading.Lock()
        self._rng = np.random.default_rng()
        self._registry = registry
        self._input_matrix: MatrixBuffer | None = None
        self._output_matrix: MatrixBuffer | None = None
        # Reconstruction errors of the input rows, when the reference has a multivariate model.
        self._errors: Any = None
        model = getattr(options.reference, "multivariate", None)
        if options.sketch_inputs and hasattr(model, "encode") and hasattr(model, "errors"):
            from mlotel.monitor._multivariate import ErrorRecorder

            self._errors = ErrorRecorder(registry, attributes, model, max_buckets)

    # -- series lookup (bounded) ----------------------------------------------------------
    def _input_series(self, column: Column) -> tuple[Any, Any] | None:
        key = (column.name, column.categorical)
        found = self._inputs.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._inputs.get(key)
            if found is None:
                if len(self._inputs) >= self.options.max_features:
                    return None
                attributes = {**self.attributes, sc.FEATURE_NAME: column.name}
                missing = self._missing.series(attributes)
                size = self.options.buckets_for(column.name)
                found = self._inputs[key] = (
                    self._buffered(column.categorical, attributes, missing, size),
                    missing,
                )
            return found

    def _buffered(
        self, categorical: bool, attributes: dict[str, Any], missing: Any = None, size: int | None = None
    ) -> Any:
        """A series whose state is a buffered sketch; flushes report missing values to ``missing``.
        ``size``: buckets per sign of a numeric input's histogram (the feature's ``max_buckets``)."""
        instrument = self._category if categorical else self._value
        if missing is None:
            instrument = self._prediction_class if categorical else self._prediction_value
        make = instrument.new_state
        if size is not None and not categorical and size != self.options.max_buckets:
            make = functools.partial(ExponentialHistogram, max_size=size)
        on_missing = missing.add if missing is not None else None

        def new_state() -> BufferedSketch:
            return BufferedSketch(make(), numeric=not categorical, on_missing=on_missing)

        return instrument.series(attributes, new_state)

    def _output_series(self, column: Column, several: bool) -> Any:
        key = (column.name if several else "", column.categorical)
        found = self._outputs.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._outputs.get(key)
            if found is None:
                if len(self._outputs) >= MAX_OUTPUT_COLUMNS:
                    return None
                attributes = dict(self.attributes)
                if several:
                    attributes[sc.OUTPUT_NAME] = column.name
                found = self._outputs[key] = self._buffered(column.categorical, attributes)
            return found

    # -- recording --------------------------------------------------------------------------
    def _sample(self, n_rows: int) -> np.ndarray | bool | None:
        """Row selection for ``sample_rate`` < 1: a mask, or for one row True (keep) / False (skip)."""
        rate = self.options.sample_rate
        if rate >= 1.0:
            return None
        if n_rows == 1:
            return bool(self._rng.random() < rate) or False
        return self._rng.random(n_rows) < rate

    # -- the numpy fast path -----------------------------------------------------------------
    @staticmethod
    def _fast(buffer: MatrixBuffer | None, X: Any) -> bool:
        """Feed ``X`` to a learned matrix layout when it fits it exactly (same ndim and width)."""
        if buffer is None:
            return False
        if type(X) is not np.ndarray:
            # A 2-D tensor of the learned width: one host copy, then the same block path.
            shape = getattr(X, "shape", None)
            if shape is None or len(shape) != 2 or shape[1] != buffer.width or not is_framework_tensor(X):
                return False
            try:
                X = to_host(X)
            except UnreadableInput:
                return False
        if X.ndim != 2 or X.shape[1] != buffer.width or X.dtype.kind not in "fiub":
            return False
        buffer.update(X)
        return True

    @staticmethod
    def _fast_output(buffer: MatrixBuffer | None, y: Any) -> bool:
        """:meth:`_fast` for a model's output, which may also be one score per row (1-D)."""
        if buffer is None or buffer.width != 1 or type(y) is not np.ndarray:
            return FeatureRecorder._fast(buffer, y)
        # One column: read_output reads floats as scores, anything else as class labels.
        if y.dtype.kind != "f" or not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            return False
        buffer.update(y.reshape(-1, 1))
        return True

    def _learn(
        self, value: Any, frame: Any, series: list[Any], *, output: bool = False
    ) -> MatrixBuffer | None:
        """A matrix buffer for a positional numeric 2-D value (numpy or tensor) read into ``series``,
        or, for an ``output``, one float score per row (1-D)."""
        if self.options.sample_rate < 1.0:
            return None  # a sampled call feeds chosen rows; the block takes whole calls
        if type(value) is not np.ndarray and is_framework_tensor(value) and len(value.shape) == 2:
            try:
                value = to_host(value)
            except UnreadableInput:
                return None
        if (
            output
            and type(value) is np.ndarray
            and value.ndim == 1
            and value.dtype.kind == "f"
            and frame.dropped_columns == 0
            and len(frame.columns) == len(series) == 1
            and not frame.columns[0].categorical
            and series[0] is not None
        ):
            value = value.reshape(-1, 1)
        if (
            type(value) is np.ndarray
            and value.ndim == 2
            and value.dtype.kind in "fiub"
            and frame.dropped_columns == 0
            and len(frame.columns) == value.shape[1] == len(series)
            and not any(c.categorical for c in frame.columns)
            and all(s is not None for s in series)
        ):
            buffer = MatrixBuffer(series, threading.Lock, batch_rows=value.shape[0])
            self._registry.add_flusher(buffer.flush)
            return buffer
        return None

    def _rows(self, selection: np.ndarray | bool | None, n_rows: int) -> np.ndarray | bool | None:
        """The call's row selection applied to a frame of ``n_rows`` (None = all rows, False = none)."""
        if self.options.sample_rate >= 1.0:
            return None
        if selection is True and n_rows == 1:
            return None
        if isinstance(selection, np.ndarray) and len(selection) == n_rows:
            return selection
        return self._sample(n_rows)  # rows unknown before reading, or another count than the input's

    def _record_errors(self, frame: Any, rows: np.ndarray | bool | None) -> None:
        """The call's reconstruction errors (slow path: any input read into columns)."""
        try:
            selection = rows if isinstance(rows, np.ndarray) else None
            self._errors.add_columns(frame.columns, frame.n_rows, selection)
        except Exception as exc:
            _faults.record_fault("multivariate", exc)

    def record(self, model_input: Any, result: Any) -> None:
        options = self.options
        features = options.features_for(model_input)
        selection: np.ndarray | bool | None = None
        if options.sample_rate < 1.0 and model_input is not None:
            # Drawn before anything is read (row_count looks at shapes only): a call sampled
            # out reads nothing, so a tensor on a device is not even copied to the host; a
            # call sampled in sketches the same rows of its input and of its output.
            n_rows = row_count(model_input, features=features)
            if n_rows is not None:
                selection = self._sample(n_rows)
                if selection is False:
                    return
        if options.sketch_inputs and self._fast(self._input_matrix, model_input):
            pass
        elif options.sketch_inputs and model_input is not None:
            try:
                frame = read_input(
                    model_input,
                    features=features,
                    categorical=options.categorical,
                    max_features=options.max_features,
                )
            except UnreadableInput as exc:
                _faults.record_fault("input", exc, "the model input could not be read as rows of features")
            else:
                rows = self._rows(selection, frame.n_rows)
                if rows is not False:
                    for column in frame.columns:
                        series = self._input_series(column)
                        if series is None:
                            continue
                        values = column.values if rows is None or rows is True else column.values[rows]
                        sketch_series = series[0]
                        with sketch_series.lock:
                            sketch_series.state.update(values)
                    if self._errors is not None:
                        self._record_errors(frame, rows)
                    if self._input_matrix is None and rows is None:
                        series = [self._input_series(c) for c in frame.columns]
                        self._input_matrix = self._learn(model_input, frame, [s and s[0] for s in series])
                        if self._input_matrix is not None and self._errors is not None:
                            names = [c.name for c in frame.columns]
                            self._input_matrix.on_rows = self._errors.block_hook(names)
        if options.sketch_outputs and self._fast_output(self._output_matrix, result):
            return
        if options.sketch_outputs and result is not None:
            try:
                frame = read_output(result, class_names=options.class_names)
            except UnreadableInput as exc:
                _faults.record_fault("output", exc, "the model output could not be read")
                return
            rows = self._rows(selection, frame.n_rows)
            if rows is False:
                return
            several = len(frame.columns) > 1
            for column in frame.columns:
                series = self._output_series(column, several)
                if series is not None:
                    values = column.values if rows is None or rows is True else column.values[rows]
                    with series.lock:
                        series.state.update(values)
            if self._output_matrix is None:
                series = [self._output_series(c, several) for c in frame.columns]
                self._output_matrix = self._learn(result, frame, series, output=True)
