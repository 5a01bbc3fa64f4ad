"""Prediction and payload logging: OTLP log records (event ``ml.prediction``) for monitored calls.

Off by default; nothing of a call's data leaves the process unless the model's options
ask for it:

* ``log_predictions=True``: every call emits a record with its prediction(s) and id(s),
  so a backend can join them with ``ml.outcome`` records from any process;
* ``log_payloads=rate``: that share of calls (chosen at random) also carries the input
  features, filtered by ``payload_fields`` / ``payload_exclude`` and passed through
  ``payload_redact``.

Each record is tied to the call's trace and span, and capped at ``payload_max_bytes``
(measured as compact JSON): rows past the cap are cut, and each cut record is counted
in ``ml.payload.truncated``. A record whose redaction fails is dropped, never sent
unredacted.
"""

from __future__ import annotations

import json
import random
from time import time_ns
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber

from mlotel import _faults
from mlotel import _semconv as sc
from mlotel.data import read_input, read_output
from mlotel.outcomes._ids import call_ids, prediction_id_of
from mlotel.outcomes._values import to_any_value

FEATURES = "features"
PREDICTIONS = "predictions"
IDS = "ids"


def encoded_size(body: Any) -> int:
    """Bytes of ``body`` as compact JSON: the size the cap is measured in."""
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8"))


class PayloadLogger:
    """The hook that emits one ``ml.prediction`` log record per logged call."""

    def __init__(self, runtime: Any, binding: Any, options: Any) -> None:
        self.options = options
        self._logger = runtime.logger
        self._attributes = dict(binding.attributes)
        self._rate = options.log_payloads
        self._always = options.log_predictions
        self._fields = frozenset(options.payload_fields) if options.payload_fields is not None else None
        self._exclude = frozenset(options.payload_exclude)
        self._random = random.Random()
        self._truncated = runtime.registry.instrument(
            sc.PAYLOAD_TRUNCATED,
            "counter",
            "{record}",
            "ml.prediction log records cut to payload_max_bytes.",
        ).series(self._attributes)

    def __call__(
        self, span: Any, model_input: Any, result: Any, error: Any, args: tuple, kwargs: Any
    ) -> None:
        rate = self._rate
        with_features = rate > 0 and (rate >= 1 or self._random.random() < rate)
        if not (with_features or (self._always and error is None)) or self._logger is None:
            return
        body: dict[str, Any] = {}
        if with_features:
            body[FEATURES] = self._features(model_input)
        if error is None:
            body[PREDICTIONS] = _predictions(result, self.options.class_names)
        ids = call_ids(self.options, span, args, kwargs)
        if isinstance(ids, list):
            body[IDS] = ids
        body = to_any_value(body)  # plain lists from here on: for the redactor, and copies of the data
        redact = self.options.payload_redact
        if redact is not None:
            try:
                body = redact(body)
            except Exception as exc:
                _faults.record_fault("payload", exc, "payload_redact raised; the record was dropped")
                return
            if not isinstance(body, dict):
                _faults.record_fault(
                    "payload",
                    TypeError(
                        f"payload_redact returned {type(body).__name__}, not a dict; the record was dropped"
                    ),
                )
                return
            body = to_any_value(body)
        attributes: dict[str, Any] = dict(self._attributes)
        # The join key: the id record_outcome() will be given (the user's, else the call's).
        join_id = ids if isinstance(ids, str) else prediction_id_of(span)
        if join_id is not None:
            attributes[sc.PREDICTION_ID] = join_id
        if error is not None:
            attributes[sc.ERROR_TYPE] = type(error).__qualname__
        body, cut = fit(body, self.options.payload_max_bytes)
        if cut:
            attributes[sc.PAYLOAD_TRUNCATED_ATTR] = True
            self._truncated.add(1)
        self._logger.emit(
            timestamp=time_ns(),
            context=trace.set_span_in_context(span),
            severity_number=SeverityNumber.INFO,
            body=body,
            attributes=attributes,
            event_name=sc.EVENT_PREDICTION,
        )

    def _features(self, model_input: Any) -> dict[str, Any]:
        options = self.options
        frame = read_input(
            model_input,
            features=options.features_for(model_input),
            categorical=options.categorical,
            max_features=options.max_features,
        )
        fields, exclude = self._fields, self._exclude
        return {
            column.name: column.values
            for column in frame.columns
            if (fields is None or column.name in fields) and column.name not in exclude
        }


def _predictions(result: Any, class_names: Any) -> dict[str, Any]:
    frame = read_output(result, class_names=class_names)
    return {column.name: column.values for column in frame.columns}


def fit(body: Any, max_bytes: int) -> tuple[Any, bool]:
    """``(body, truncated)``: ``body`` cut to at most ``max_bytes`` of compact JSON.

    Cuts, in order, until it fits: the rows of every list in the record's sections
    (the same leading rows of each), then each string to a share of the cap, then
    the whole body (None). Rows are kept whole and in order.
    """
    if encoded_size(body) <= max_bytes:
        return body, False
    if isinstance(body, dict):
        rows = _row_count(body)
        if rows > 1:
            low, high = 0, rows - 1  # the largest prefix that fits, by bisection
            while low < high:
                middle = (low + high + 1) // 2
                if encoded_size(_head(body, middle)) <= max_bytes:
                    low = middle
                else:
                    high = middle - 1
            if low > 0:
                return _head(body, low), True
        clipped = _clip_strings(_head(body, 1) if rows else body, max(16, max_bytes // 16))
        if encoded_size(clipped) <= max_bytes:
            return clipped, True
    return None, True


def _lists(body: dict[str, Any]):
    for value in body.values():
        if isinstance(value, list):
            yield value
        elif isinstance(value, dict):
            yield from (v for v in value.values() if isinstance(v, list))


def _row_count(body: dict[str, Any]) -> int:
    return max((len(v) for v in _lists(body)), default=0)


def _head(body: dict[str, Any], rows: int) -> dict[str, Any]:
    def cut(value: Any) -> Any:
        if isinstance(value, list):
            return value[:rows]
        if isinstance(value, dict):
            return {k: v[:rows] if isinstance(v, list) else v for k, v in value.items()}
        return value

    return {key: cut(value) for key, value in body.items()}


def _clip_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "..."
    if isinstance(value, list):
        return [_clip_strings(v, limit) for v in value]
    if isinstance(value, dict):
        return {k: _clip_strings(v, limit) for k, v in value.items()}
    return value
