"""In-memory OpenTelemetry providers wired into mlotel, for tests that need no collector.

Registered as a pytest plugin from tests/conftest.py. ``telemetry`` gives each test
fresh providers (passed to ``mlotel.configure`` explicitly, so nothing global is
touched) and helpers to read what was emitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import mlotel
from mlotel import _runtime


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    span_exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    log_exporter: InMemoryLogRecordExporter

    def spans(self):
        return list(self.span_exporter.get_finished_spans())

    def collect(self) -> dict[str, Any]:
        """Collect once; return {metric name: Metric} for every metric of every scope."""
        data = self.reader.get_metrics_data()
        out: dict[str, Any] = {}
        if data is None:
            return out
        for rm in data.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out[metric.name] = metric
        return out

    def logs(self):
        return list(self.log_exporter.get_finished_logs())


def points(metric, **attributes):
    """The data points of ``metric`` whose attributes include ``attributes``."""
    return [
        p for p in metric.data.data_points if all(p.attributes.get(k) == v for k, v in attributes.items())
    ]


def make_telemetry(**reader_kwargs) -> Telemetry:
    span_exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    reader = InMemoryMetricReader(**reader_kwargs)
    meter_provider = MeterProvider(metric_readers=[reader])
    log_exporter = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    mlotel.configure(
        tracer_provider=tracer_provider, meter_provider=meter_provider, logger_provider=logger_provider
    )
    return Telemetry(tracer_provider, meter_provider, logger_provider, span_exporter, reader, log_exporter)


@pytest.fixture
def telemetry():
    """Fresh in-memory providers configured into mlotel for one test."""
    tel = make_telemetry()
    yield tel
    forget_runtime()


def forget_runtime() -> None:
    """End a test's mlotel runtime. Providers mlotel built (e.g. the logger provider of a
    test that passed only tracer and meter providers) were installed globally: they are shut
    down, as at process exit, so the next test's configure() builds its own instead of
    adopting a live one as the application's."""
    runtime = _runtime._runtime
    if runtime is not None and runtime.enabled and runtime.providers is not None and runtime.providers.owned:
        _runtime.shutdown()
    _runtime._reset_for_tests()


@pytest.fixture(autouse=True)
def _mlotel_isolated(monkeypatch, tmp_path):
    """No test writes ./mlotel-data or inherits another test's runtime."""
    monkeypatch.setenv("MLOTEL_DATA_DIR", str(tmp_path / "mlotel-data"))
    yield
    forget_runtime()
