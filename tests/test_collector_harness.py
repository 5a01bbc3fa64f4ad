"""Proves the collector harness with the plain OpenTelemetry SDK (no mlotel).

Spans, metrics (sum, gauge, explicit and exponential histograms) and logs are
exported over OTLP/gRPC and OTLP/HTTP-protobuf to a real rotel collector and must
arrive at the receiver behind it with names, attributes, units and bucket counts
intact. Expected values are computed here from the recorded inputs, not read back
from the SDK.
"""

from __future__ import annotations

import math
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status as PbStatus
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
    View,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from tests.otlp_receiver import OTLPReceiver, attrs_to_dict

if TYPE_CHECKING:  # conftest modules are not reliably importable at runtime
    from conftest import RotelCollector

SPAN_ATTRS = {"s": "text", "i": 7, "f": 2.5, "b": True, "strs": ["x", "y"], "ints": [1, 2, 3]}


@dataclass
class Exporters:
    protocol: str
    span: Any
    metric: Any
    log: Any


def make_exporters(protocol: str, endpoint: str, timeout: float = 5.0) -> Exporters:
    """OTLP span/metric/log exporters for ``protocol`` ("grpc" or "http") aimed at ``endpoint``."""
    if protocol == "grpc":
        return Exporters(
            protocol,
            GrpcSpanExporter(endpoint=endpoint, insecure=True, timeout=timeout),
            GrpcMetricExporter(endpoint=endpoint, insecure=True, timeout=timeout),
            GrpcLogExporter(endpoint=endpoint, insecure=True, timeout=timeout),
        )
    # An explicit HTTP endpoint is used verbatim, so it needs the signal path.
    return Exporters(
        protocol,
        HttpSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=timeout, compression=HttpCompression.Gzip),
        HttpMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=timeout),
        HttpLogExporter(endpoint=f"{endpoint}/v1/logs", timeout=timeout),
    )


@pytest.fixture(params=["grpc", "http"])
def protocol(request: pytest.FixtureRequest) -> str:
    return request.param


def endpoint_for(collector: RotelCollector, protocol: str) -> str:
    return collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint


def make_resource(test_id: str) -> Resource:
    return Resource.create({"service.name": "harness-test", "test.id": test_id})


# -- receiver alone -------------------------------------------------------------------


def test_attrs_to_dict_converts_every_value_type() -> None:
    kvs = [
        KeyValue(key="s", value=AnyValue(string_value="a")),
        KeyValue(key="i", value=AnyValue(int_value=-3)),
        KeyValue(key="d", value=AnyValue(double_value=0.25)),
        KeyValue(key="b", value=AnyValue(bool_value=False)),
        KeyValue(key="raw", value=AnyValue(bytes_value=b"\x00\x01")),
        KeyValue(
            key="arr",
            value=AnyValue(
                array_value=ArrayValue(values=[AnyValue(int_value=1), AnyValue(string_value="two")])
            ),
        ),
        KeyValue(
            key="kv",
            value=AnyValue(
                kvlist_value=KeyValueList(values=[KeyValue(key="n", value=AnyValue(double_value=1.5))])
            ),
        ),
        KeyValue(key="unset", value=AnyValue()),
    ]
    assert attrs_to_dict(kvs) == {
        "s": "a",
        "i": -3,
        "d": 0.25,
        "b": False,
        "raw": b"\x00\x01",
        "arr": [1, "two"],
        "kv": {"n": 1.5},
        "unset": None,
    }


def test_receiver_accepts_direct_gzip_export(otlp_receiver: OTLPReceiver) -> None:
    exporter = GrpcSpanExporter(
        endpoint=otlp_receiver.endpoint, insecure=True, compression=grpc.Compression.Gzip
    )
    provider = TracerProvider(resource=make_resource("direct"))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("direct.scope").start_as_current_span("direct", attributes=SPAN_ATTRS):
        pass
    provider.shutdown()

    (record,) = otlp_receiver.wait_for_spans("direct", timeout=5)
    assert record.attributes == SPAN_ATTRS
    assert record.resource["test.id"] == "direct"
    assert len(otlp_receiver.trace_requests()) == 1

    otlp_receiver.clear()
    assert otlp_receiver.spans() == []


def test_wait_for_timeout_reports_what_arrived(otlp_receiver: OTLPReceiver) -> None:
    exporter = GrpcSpanExporter(endpoint=otlp_receiver.endpoint, insecure=True)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("only-this-one"):
        pass
    provider.shutdown()

    with pytest.raises(AssertionError, match=r"(?s)1 span\(s\):.*'only-this-one'"):
        otlp_receiver.wait_for_spans("something-else", timeout=0.3)


# -- through the collector ----------------------------------------------------------


def test_spans_roundtrip(collector: RotelCollector, protocol: str) -> None:
    test_id = uuid.uuid4().hex
    exporters = make_exporters(protocol, endpoint_for(collector, protocol))
    provider = TracerProvider(resource=make_resource(test_id))
    provider.add_span_processor(SimpleSpanProcessor(exporters.span))
    tracer = provider.get_tracer("harness.scope", "1.2.3")
    with (
        tracer.start_as_current_span("parent", kind=SpanKind.SERVER, attributes=SPAN_ATTRS) as parent,
        tracer.start_as_current_span("child") as child,
    ):
        child.add_event("scored", {"score": 0.9})
        child.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()

    records = {r.name: r for r in collector.receiver.wait_for_spans(count=2)}
    assert set(records) == {"parent", "child"}
    p, c = records["parent"], records["child"]
    assert p.resource["service.name"] == "harness-test"
    assert p.resource["test.id"] == test_id
    assert (p.scope.name, p.scope.version) == ("harness.scope", "1.2.3")
    assert p.attributes == SPAN_ATTRS
    assert p.span.kind == PbSpan.SPAN_KIND_SERVER
    assert p.span.trace_id == parent.get_span_context().trace_id.to_bytes(16, "big")
    assert p.span.span_id == parent.get_span_context().span_id.to_bytes(8, "big")
    assert c.span.trace_id == p.span.trace_id
    assert c.span.parent_span_id == p.span.span_id
    assert c.span.span_id == child.get_span_context().span_id.to_bytes(8, "big")
    assert c.span.status.code == PbStatus.STATUS_CODE_ERROR
    assert c.span.status.message == "boom"
    assert [(e.name, attrs_to_dict(e.attributes)) for e in c.span.events] == [("scored", {"score": 0.9})]
    assert c.span.end_time_unix_nano >= c.span.start_time_unix_nano > 0


def exp_bucket_index(value: float, scale: int) -> int:
    """Bucket of ``value`` at ``scale``: bucket i holds (base**i, base**(i+1)], base = 2**2**-scale."""
    x = math.log2(abs(value)) * 2**scale
    assert abs(x - round(x)) > 1e-6, f"{value} too close to a bucket boundary for an unambiguous test"
    return math.floor(x)


def test_metrics_roundtrip(collector: RotelCollector, protocol: str) -> None:
    test_id = uuid.uuid4().hex
    exporters = make_exporters(protocol, endpoint_for(collector, protocol))
    reader = PeriodicExportingMetricReader(exporters.metric, export_interval_millis=3_600_000)
    views = [
        View(instrument_name="harness.exp", aggregation=ExponentialBucketHistogramAggregation(max_scale=3)),
        View(
            instrument_name="harness.hist", aggregation=ExplicitBucketHistogramAggregation([0.0, 10.0, 100.0])
        ),
    ]
    provider = MeterProvider(metric_readers=[reader], resource=make_resource(test_id), views=views)
    meter = provider.get_meter("harness.meter", "4.5.6")

    counter = meter.create_counter("harness.requests", unit="{request}", description="requests seen")
    counter.add(3, {"model": "m1"})
    counter.add(2, {"model": "m1"})
    counter.add(4, {"model": "m2"})
    meter.create_gauge("harness.ratio", unit="1").set(0.75, {"model": "m1"})
    hist_values = [0.0, 1.0, 5.0, 50.0, 500.0]  # the SDK drops negative histogram values
    hist = meter.create_histogram("harness.hist", unit="ms")
    for v in hist_values:
        hist.record(v)
    exp_values = [0.3, 1.5, 2.5, 3.0, 7.0, 12.0, 100.0, 100.0, 0.0]
    exp = meter.create_histogram("harness.exp", unit="s", description="exp histogram")
    for v in exp_values:
        exp.record(v, {"model": "m1"})
    provider.shutdown()  # final collect + export

    r = collector.receiver
    r.wait_for(
        lambda r: all(
            r.metrics(n) for n in ("harness.requests", "harness.ratio", "harness.hist", "harness.exp")
        )
    )

    requests = r.latest_metric("harness.requests")
    assert requests.resource["test.id"] == test_id
    assert (requests.scope.name, requests.scope.version) == ("harness.meter", "4.5.6")
    assert (requests.kind, requests.unit, requests.description) == ("sum", "{request}", "requests seen")
    assert requests.data.is_monotonic
    assert requests.data.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
    assert {attrs_to_dict(dp.attributes)["model"]: dp.as_int for dp in requests.data_points} == {
        "m1": 5,
        "m2": 4,
    }

    ratio = r.latest_metric("harness.ratio")
    assert (ratio.kind, ratio.unit) == ("gauge", "1")
    (ratio_point,) = ratio.data_points
    assert ratio_point.as_double == 0.75
    assert attrs_to_dict(ratio_point.attributes) == {"model": "m1"}

    h = r.latest_metric("harness.hist")
    assert (h.kind, h.unit) == ("histogram", "ms")
    (hp,) = h.data_points
    assert list(hp.explicit_bounds) == [0.0, 10.0, 100.0]
    bounds = [0.0, 10.0, 100.0, math.inf]
    expected_counts = [
        sum(1 for v in hist_values if lo < v <= hi)
        for lo, hi in zip([-math.inf, *bounds[:-1]], bounds, strict=True)
    ]
    assert list(hp.bucket_counts) == expected_counts == [1, 2, 1, 1]
    assert (hp.count, hp.sum, hp.min, hp.max) == (len(hist_values), sum(hist_values), 0.0, 500.0)

    e = r.latest_metric("harness.exp")
    assert (e.kind, e.unit, e.description) == ("exponential_histogram", "s", "exp histogram")
    (ep,) = e.data_points
    assert attrs_to_dict(ep.attributes) == {"model": "m1"}
    assert ep.scale == 3  # 68 populated buckets fit max_size=160, so no downscaling
    assert ep.count == len(exp_values)
    assert ep.sum == pytest.approx(sum(exp_values))
    assert (ep.min, ep.max) == (min(exp_values), max(exp_values))
    assert ep.zero_count == sum(1 for v in exp_values if v == 0)
    for buckets, sign in ((ep.positive, 1), (ep.negative, -1)):
        expected = Counter(exp_bucket_index(v, ep.scale) for v in exp_values if v * sign > 0)
        received = {buckets.offset + i: n for i, n in enumerate(buckets.bucket_counts) if n}
        assert received == dict(expected)


def test_logs_roundtrip(collector: RotelCollector, protocol: str) -> None:
    test_id = uuid.uuid4().hex
    exporters = make_exporters(protocol, endpoint_for(collector, protocol))
    provider = LoggerProvider(resource=make_resource(test_id))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporters.log))
    logger = provider.get_logger("harness.logs", "0.1")
    logger.emit(
        severity_number=SeverityNumber.WARN,
        severity_text="WARN",
        body="drift detected",
        attributes={"feature": "age", "psi": 0.31, "alert": True},
    )
    logger.emit(severity_number=SeverityNumber.INFO, body={"rows": 128, "features": ["a", "b"]})
    provider.shutdown()

    first, second = collector.receiver.wait_for_logs(count=2)
    assert first.resource["test.id"] == test_id
    assert (first.scope.name, first.scope.version) == ("harness.logs", "0.1")
    assert first.body == "drift detected"
    assert (first.log.severity_number, first.log.severity_text) == (SeverityNumber.WARN.value, "WARN")
    assert first.attributes == {"feature": "age", "psi": 0.31, "alert": True}
    assert second.body == {"rows": 128, "features": ["a", "b"]}
    assert second.log.severity_number == SeverityNumber.INFO.value


def _refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def test_stop_then_start_on_same_ports(collector: RotelCollector, protocol: str) -> None:
    # Finished spans come from an in-memory exporter so we can call the OTLP exporter
    # directly and see each export's result.
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("restart")
    for name in ("before", "during", "after"):
        with tracer.start_as_current_span(name):
            pass
    spans = {s.name: s for s in memory.get_finished_spans()}
    exporter = make_exporters(protocol, endpoint_for(collector, protocol), timeout=1.0).span
    ports = (collector.grpc_port, collector.http_port)

    assert exporter.export([spans["before"]]) is SpanExportResult.SUCCESS
    collector.receiver.wait_for_spans("before")

    assert collector.stop() is not None
    assert not collector.running
    assert all(_refuses_connections(p) for p in ports)
    assert exporter.export([spans["during"]]) is SpanExportResult.FAILURE

    collector.start()
    assert (collector.grpc_port, collector.http_port) == ports
    # A gRPC channel may still be in its reconnect backoff (~1 s), so the same exporter
    # can need another attempt, as it would get on a batch processor's next export.
    deadline = time.monotonic() + 15
    while exporter.export([spans["after"]]) is not SpanExportResult.SUCCESS:
        assert time.monotonic() < deadline, "exporter never reached the restarted collector"
    collector.receiver.wait_for_spans("after")
    assert {s.name for s in collector.receiver.spans()} == {"before", "after"}
    assert collector.log_path.read_text().count("--- mlotel tests:") == 2
    exporter.shutdown()


def test_factory_passes_extra_args_and_own_receiver(
    collector_factory: Callable[..., RotelCollector], otlp_receiver: OTLPReceiver
) -> None:
    collector = collector_factory(
        receiver=otlp_receiver, extra_args=["--debug-log", "traces", "--debug-log-verbosity", "detailed"]
    )
    assert collector.receiver is otlp_receiver
    exporter = GrpcSpanExporter(endpoint=collector.grpc_endpoint, insecure=True)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("debug-logged-span"):
        pass
    provider.shutdown()

    otlp_receiver.wait_for_spans("debug-logged-span")
    collector.stop()  # flushes rotel's stdout into the log
    assert "debug-logged-span" in collector.log_path.read_text()


def test_start_fails_loudly_when_a_port_is_taken(
    collector_factory: Callable[..., RotelCollector], otlp_receiver: OTLPReceiver
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        # The squatter accepts connections, so only rotel's own exit can reveal the clash;
        # explicit ports are never re-picked.
        with pytest.raises(RuntimeError, match="(?i)address already in use"):
            collector_factory(receiver=otlp_receiver, grpc_port=squatter.getsockname()[1])
