"""Reading OTLP/JSON telemetry (mlotel's data directory or a Collector ``file`` exporter's output)
into plain records: spans, metric series and log records.

Every line goes through :func:`mlotel.export.otlp_json.to_proto`, so any encoding the reader
accepts (camelCase or snake_case, ids in hex or base64, 64-bit numbers as strings or numbers)
loads the same. A line may hold any signal: a Collector writing all signals to one file works.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlotel.export.otlp_json import read_otlp_json, to_proto
from mlotel.sketches import ExponentialHistogram

__all__ = ["HistValue", "LogRecord", "Point", "Series", "SpanRecord", "Telemetry", "load_telemetry"]

# OTLP AggregationTemporality
_DELTA = 1
# Decoded exponential histograms keep up to this many buckets a side (mlotel's largest
# ``max_buckets``): decoding and merging never coarsen what a producer exported.
_MAX_BUCKETS = 16_384


@dataclass(frozen=True)
class SpanRecord:
    """One span carrying ``ml.model.name`` (other spans are not kept)."""

    model: str
    version: str
    start_ns: int
    end_ns: int
    error_type: str | None
    rows: int | None


@dataclass
class HistValue:
    """An explicit-bucket histogram point (or the difference of two)."""

    count: float
    total: float
    bounds: np.ndarray
    counts: np.ndarray
    vmin: float = math.nan
    vmax: float = math.nan

    def minus(self, earlier: HistValue) -> HistValue | None:
        """``self - earlier`` for two cumulative points of one stream; None when ``earlier``
        cannot precede ``self`` (other bounds, or a count went down: a reset)."""
        if not np.array_equal(self.bounds, earlier.bounds):
            return None
        counts = self.counts - earlier.counts
        if np.any(counts < 0):
            return None
        return HistValue(self.count - earlier.count, self.total - earlier.total, self.bounds, counts)


@dataclass
class Point:
    """One data point: ``value`` is a float (sum, gauge), a :class:`HistValue` or an
    :class:`~mlotel.sketches.ExponentialHistogram`."""

    start_ns: int
    time_ns: int
    value: Any


@dataclass
class Series:
    """All points of one metric stream identity: resource, scope, metric, kind, attributes."""

    name: str
    unit: str
    kind: str  # "histogram", "exponential", "sum" or "gauge"
    cumulative: bool
    resource: dict[str, Any]
    attributes: dict[str, Any]
    points: list[Point] = field(default_factory=list)


@dataclass(frozen=True)
class LogRecord:
    time_ns: int
    severity_number: int
    severity_text: str
    body: str
    attributes: dict[str, Any]


@dataclass
class Telemetry:
    """What was read: spans with a model name, metric series by name, and log records."""

    spans: list[SpanRecord] = field(default_factory=list)
    metrics: dict[str, list[Series]] = field(default_factory=dict)
    logs: list[LogRecord] = field(default_factory=list)
    lines: int = 0

    def series(self, name: str) -> list[Series]:
        return self.metrics.get(name, [])


def load_telemetry(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> Telemetry:
    """Read every OTLP/JSON line of ``paths`` (data directories or ``.jsonl`` files, rotated
    backups included, see :func:`~mlotel.export.otlp_json.read_otlp_json`).

    Invalid JSON lines are logged and skipped by the reader; lines that are JSON but not OTLP
    raise :class:`ValueError` naming the problem. Raises :class:`FileNotFoundError` for a
    missing path.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    telemetry = Telemetry()
    index: dict[tuple, Series] = {}
    for path in paths:
        for obj in read_otlp_json(Path(path)):
            telemetry.lines += 1
            request = to_proto(obj)
            if hasattr(request, "resource_spans"):
                _add_spans(telemetry, request)
            elif hasattr(request, "resource_metrics"):
                _add_metrics(telemetry, index, request)
            else:
                _add_logs(telemetry, request)
    for series_list in telemetry.metrics.values():
        for series in series_list:
            series.points.sort(key=lambda p: (p.time_ns, p.start_ns))
    return telemetry


def any_value(value: Any) -> Any:
    """A protobuf ``AnyValue`` as a Python value (arrays and maps as strings)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which in ("array_value", "kvlist_value", "bytes_value"):
        return str(getattr(value, which)).strip()
    return getattr(value, which)


def _attributes(kvs: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in kvs}


def _add_spans(telemetry: Telemetry, request: Any) -> None:
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            for span in ss.spans:
                attrs = _attributes(span.attributes)
                model = attrs.get("ml.model.name")
                if model is None:
                    continue
                error = attrs.get("error.type")
                if error is None and span.status.code == 2:  # STATUS_CODE_ERROR without error.type
                    error = "_OTHER"
                rows = attrs.get("ml.batch.size")
                telemetry.spans.append(
                    SpanRecord(
                        model=str(model),
                        version=str(attrs.get("ml.model.version", "")),
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        error_type=None if error is None else str(error),
                        rows=int(rows) if isinstance(rows, int) else None,
                    )
                )


def _add_logs(telemetry: Telemetry, request: Any) -> None:
    for rl in request.resource_logs:
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                body = any_value(rec.body)
                telemetry.logs.append(
                    LogRecord(
                        time_ns=rec.time_unix_nano or rec.observed_time_unix_nano,
                        severity_number=rec.severity_number,
                        severity_text=rec.severity_text,
                        body="" if body is None else str(body),
                        attributes=_attributes(rec.attributes),
                    )
                )


def _add_metrics(telemetry: Telemetry, index: dict[tuple, Series], request: Any) -> None:
    for rm in request.resource_metrics:
        resource = _attributes(rm.resource.attributes)
        resource_key = tuple(sorted((k, repr(v)) for k, v in resource.items()))
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                if kind == "histogram":
                    data, make = metric.histogram, _hist_value
                elif kind == "exponential_histogram":
                    data, make, kind = metric.exponential_histogram, _exp_value, "exponential"
                elif kind == "sum":
                    data, make = metric.sum, _number_value
                elif kind == "gauge":
                    data, make = metric.gauge, _number_value
                else:  # summary and future kinds: mlotel emits none
                    continue
                cumulative = getattr(data, "aggregation_temporality", 2) != _DELTA
                for dp in data.data_points:
                    attrs = _attributes(dp.attributes)
                    key = (resource_key, sm.scope.name, metric.name, kind, cumulative,
                           tuple(sorted((k, repr(v)) for k, v in attrs.items())))  # fmt: skip
                    series = index.get(key)
                    if series is None:
                        series = index[key] = Series(
                            metric.name, metric.unit, kind, cumulative, resource, attrs
                        )
                        telemetry.metrics.setdefault(metric.name, []).append(series)
                    series.points.append(Point(dp.start_time_unix_nano, dp.time_unix_nano, make(dp)))


def _hist_value(dp: Any) -> HistValue:
    return HistValue(
        count=float(dp.count),
        total=dp.sum if dp.HasField("sum") else math.nan,
        bounds=np.asarray(dp.explicit_bounds, dtype=np.float64),
        counts=np.asarray(dp.bucket_counts, dtype=np.float64),
        vmin=dp.min if dp.HasField("min") else math.nan,
        vmax=dp.max if dp.HasField("max") else math.nan,
    )


def _exp_value(dp: Any) -> ExponentialHistogram:
    return ExponentialHistogram.from_otlp(dp, max_size=_MAX_BUCKETS)


def _number_value(dp: Any) -> float:
    return float(dp.as_double) if dp.WhichOneof("value") == "as_double" else float(dp.as_int)
