"""Build tracer, meter and logger providers from a :class:`mlotel._config.Config`.

Only used when the application has not installed SDK providers of its own: mlotel
never replaces providers it finds. Exporters are the standard OTLP ones (gRPC or
HTTP/protobuf), the console ones, or the embedded default (OTLP JSON files), chosen
per signal by :func:`mlotel._config.resolve`.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, ConsoleLogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from mlotel._config import Config

_logger = logging.getLogger("mlotel")


@dataclass
class Providers:
    """The providers mlotel built (``owned``) and must shut down, or found and must leave alone."""

    tracer_provider: Any
    meter_provider: Any
    logger_provider: Any
    owned: bool
    destination: str = ""


def build_resource(config: Config) -> Resource:
    attributes: dict[str, Any] = dict(config.resource_attributes)
    if config.service_name:
        attributes[SERVICE_NAME] = config.service_name
    # One id per process: pre-fork workers must not look like one instance (see docs/deployment.md).
    attributes.setdefault(SERVICE_INSTANCE_ID, str(uuid.uuid4()))
    return Resource.create(attributes)


def _otlp_exporter(signal: str, config: Config):
    protocol = config.protocols[signal]
    kwargs: dict[str, Any] = {"timeout": config.export_timeout}
    if config.endpoints.get(signal):
        kwargs["endpoint"] = config.endpoints[signal]
    if config.headers is not None:
        kwargs["headers"] = dict(config.headers)
    if protocol == "grpc":
        if signal == "traces":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as cls
        elif signal == "metrics":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as cls
        else:
            from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as cls
        endpoint = kwargs.get("endpoint")
        if endpoint is not None:
            kwargs["insecure"] = endpoint.startswith("http://")
    else:
        if signal == "traces":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as cls
        elif signal == "metrics":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as cls
        else:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as cls
    return cls(**kwargs)


#: ``sink(signal, error_type, count)`` for telemetry items an exporter could not deliver; set by the runtime.
_drop_sink: Callable[[str, str, int], None] | None = None


def set_drop_sink(sink: Callable[[str, str, int], None] | None) -> None:
    """Route counts of undelivered items to ``sink`` (the runtime's ``mlotel.export.dropped.count``)."""
    global _drop_sink
    _drop_sink = sink


#: Set once the interpreter exits: a count made now may never be exported, so it is also logged.
_exiting = False


def set_exiting() -> None:
    """From now on, every undelivered item is also logged as a warning (the counter may not leave)."""
    global _exiting
    _exiting = True


def count_dropped(signal: str, error_type: str, count: int) -> None:
    """Count ``count`` items of ``signal`` that were not delivered. Never raises."""
    sink = _drop_sink
    if count <= 0:
        return
    if _exiting:
        _logger.warning(
            "mlotel: %d %s item(s) could not be delivered at exit (%s)", count, signal, error_type
        )
    if sink is None:
        return
    with contextlib.suppress(Exception):  # counting must never break an export thread
        sink(signal, error_type, count)


def _item_count(signal: str, batch: Any) -> int:
    if signal != "metrics":
        return len(batch)
    return sum(
        len(metric.data.data_points)
        for rm in batch.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    )


def _call_accepting(func: Callable[..., Any], **kwargs: Any) -> Any:
    """``func(**kwargs)`` with only the keyword arguments its signature accepts (exporters differ)."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return func()
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return func(**kwargs)


def export_counted(signal: str, exporter: Any, batch: Any, *args: Any, **kwargs: Any) -> Any:
    """``exporter.export(batch, ...)``, counting the batch's items as dropped if it fails or raises."""
    try:
        result = exporter.export(batch, *args, **kwargs)
    except Exception as exc:
        count_dropped(signal, type(exc).__name__, _item_count(signal, batch))
        raise
    if getattr(result, "name", None) == "FAILURE":
        count_dropped(signal, "export_failed", _item_count(signal, batch))
    return result


class CountingExporter:
    """An exporter mlotel did not build (the application's), with failed exports counted.

    The bridge puts it in front of the metric exporter of every periodic reader it
    attaches to, so a metric export that fails (at exit, say) is counted in
    ``mlotel.export.dropped.count`` and, at exit, logged. Everything else is the inner exporter's.
    """

    def __init__(self, signal: str, inner: Any) -> None:
        self._signal = signal
        self.inner = inner

    def export(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        return export_counted(self._signal, self.inner, batch, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not yet set (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)


class GuardedExporter:
    """An SDK exporter (span, metric or log) behind two guards.

    - Per process: after ``fork()`` a worker must not share its parent's connection (an
      HTTP keep-alive socket or a gRPC channel: requests of several processes interleaved
      on one connection are rejected or lost). The first use in a new process builds a
      fresh exporter with ``factory``; the parent's is left alone.
    - Accounting: the items of an export that failed (or raised) are counted in
      ``mlotel.export.dropped.count`` with ``error.type`` ``export_failed`` (or the
      exception's class). The SDK counts nothing by default.

    Everything else (e.g. a metric exporter's preferred temporality) is the wrapped
    exporter's.
    """

    def __init__(self, signal: str, factory: Callable[[], Any]) -> None:
        self._signal = signal
        self._factory = factory
        self._inner = factory()
        self._pid = os.getpid()

    def _current(self) -> Any:
        if self._pid != os.getpid():
            self._inner = self._factory()
            self._pid = os.getpid()
        return self._inner

    def export(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        return export_counted(self._signal, self._current(), batch, *args, **kwargs)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return _call_accepting(self._current().force_flush, timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        if self._pid != os.getpid():
            return  # the parent's exporter, never used here: its connection is the parent's to close
        _call_accepting(self._inner.shutdown, timeout_millis=timeout_millis, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "_inner":  # not yet set (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self._inner, name)


class _QueueDropCounting:
    """The SDK batch processor's (no-op by default) processor metrics, plus our count of queue drops."""

    def __init__(self, signal: str, inner: Any) -> None:
        self._signal = signal
        self._inner = inner

    def register_queue_size(self, get_queue_size: Callable[[], int]) -> None:
        self._inner.register_queue_size(get_queue_size)

    def drop_items(self, count: int, error_type: str = "queue_full") -> None:
        count_dropped(self._signal, error_type, count)
        self._inner.drop_items(count, error_type)

    def finish_items(self, count: int) -> None:
        self._inner.finish_items(count)


def _count_queue_drops(processor: Any, signal: str) -> None:
    # SDK internals (>= 1.34): a batch processor reports drops of a full queue to its
    # ``_batch_processor._metrics``. Without them, failed exports are still counted.
    batch = getattr(processor, "_batch_processor", None)
    metrics = getattr(batch, "_metrics", None)
    if metrics is not None and hasattr(metrics, "drop_items"):
        batch._metrics = _QueueDropCounting(signal, metrics)


def _exporter(signal: str, config: Config):
    kind = config.exporters[signal]
    if kind == "none":
        return None
    return GuardedExporter(signal, lambda: _new_exporter(signal, config))


def _new_exporter(signal: str, config: Config):
    kind = config.exporters[signal]
    if kind == "otlp":
        return _otlp_exporter(signal, config)
    if kind == "console":
        return {
            "traces": ConsoleSpanExporter,
            "metrics": ConsoleMetricExporter,
            "logs": ConsoleLogRecordExporter,
        }[signal]()
    from mlotel.export import _files

    os.makedirs(config.data_dir, exist_ok=True)
    cls = {
        "traces": _files.FileSpanExporter,
        "metrics": _files.FileMetricExporter,
        "logs": _files.FileLogExporter,
    }[signal]
    return cls(config.data_dir)


def describe_destination(config: Config) -> str:
    """A human-readable line saying where telemetry goes."""
    parts = []
    for signal in ("traces", "metrics", "logs"):
        kind = config.exporters[signal]
        if kind == "file":
            where = os.path.abspath(os.path.join(config.data_dir, f"{signal}.jsonl"))
        elif kind == "otlp":
            where = f"OTLP/{config.protocols[signal]} {config.endpoints.get(signal) or '(from OTEL_EXPORTER_OTLP_*)'}"
        else:
            where = kind
        parts.append(f"{signal} -> {where}")
    return "; ".join(parts)


def build_providers(config: Config) -> Providers:
    """Create SDK providers with the configured exporters (nothing global is touched here)."""
    resource = build_resource(config)
    millis_timeout = config.export_timeout * 1000

    tracer_provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    span_exporter = _exporter("traces", config)
    if span_exporter is not None:
        span_processor = BatchSpanProcessor(
            span_exporter, export_timeout_millis=millis_timeout, schedule_delay_millis=1000
        )
        _count_queue_drops(span_processor, "traces")
        tracer_provider.add_span_processor(span_processor)

    readers = []
    metric_exporter = _exporter("metrics", config)
    if metric_exporter is not None:
        readers.append(
            PeriodicExportingMetricReader(
                metric_exporter,
                export_interval_millis=config.export_interval * 1000,
                export_timeout_millis=millis_timeout,
            )
        )
    meter_provider = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)

    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    log_exporter = _exporter("logs", config)
    if log_exporter is not None:
        log_processor = BatchLogRecordProcessor(
            log_exporter, export_timeout_millis=millis_timeout, schedule_delay_millis=1000
        )
        _count_queue_drops(log_processor, "logs")
        logger_provider.add_log_record_processor(log_processor)
    return Providers(
        tracer_provider, meter_provider, logger_provider, owned=True, destination=describe_destination(config)
    )
