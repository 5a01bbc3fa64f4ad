"""Build tracer, meter and logger providers from a :class:`mlotel._config.Config`.

Only used when the application has not installed SDK providers of its own: mlotel
never replaces providers it finds. Exporters are the standard OTLP ones (gRPC or
HTTP/protobuf), the console ones, or the embedded default (OTLP JSON files), chosen
per signal by :func:`mlotel._config.resolve`.
"""

from __future__ import annotations

import logging
import os
import uuid
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


def _exporter(signal: str, config: Config):
    kind = config.exporters[signal]
    if kind == "none":
        return None
    if kind == "otlp":
        return _otlp_exporter(signal, config)
    if kind == "console":
        return {"traces": ConsoleSpanExporter, "metrics": ConsoleMetricExporter, "logs": ConsoleLogRecordExporter}[
            signal
        ]()
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
        tracer_provider.add_span_processor(
            BatchSpanProcessor(span_exporter, export_timeout_millis=millis_timeout, schedule_delay_millis=1000)
        )

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
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(log_exporter, export_timeout_millis=millis_timeout, schedule_delay_millis=1000)
        )
    return Providers(tracer_provider, meter_provider, logger_provider, owned=True, destination=describe_destination(config))
