"""File exporters (mlotel.export._files) and the OTLP/JSON reader (mlotel.export.otlp_json).

Data comes from real SDK providers; expectations are computed independently (ids from span
contexts, bucket indices from logarithms, protobufs from the SDK's own OTLP encoders, and an
independent OTLP/JSON decoder: rotel's OTLP/HTTP receiver).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import threading
import urllib.request
import warnings
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Buckets,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Metric,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanKind, Status, StatusCode

from mlotel.export._files import (
    DEFAULT_BACKUP_COUNT,
    DEFAULT_MAX_BYTES,
    FileLogExporter,
    FileMetricExporter,
    FileSpanExporter,
    default_data_dir,
)
from mlotel.export.otlp_json import backup_path, from_proto, read_otlp_json, signal_files, to_proto

RESOURCE = Resource.create({"service.name": "churn-model", "deployment.environment": "test"})


def lines_of(path: Path) -> list[dict]:
    """Every line of one file, decoded strictly with the standard library only."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.decode("utf-8").split("\n")[:-1]]


def attr(kvs: list[dict], key: str) -> dict:
    return next(kv["value"] for kv in kvs if kv["key"] == key)


# -- traces ---------------------------------------------------------------------------


@pytest.fixture
def traced(tmp_path):
    """Spans exported both to a FileSpanExporter and to memory, so the file can be checked
    against the SDK's own encoding of the very same ReadableSpans."""
    exporter = FileSpanExporter(tmp_path)
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("mlotel.test", "1.2.3")
    with tracer.start_as_current_span("predict", kind=SpanKind.SERVER) as parent:
        parent.set_attribute("ml.model.name", "churn")
        parent.set_attribute("ml.batch_size", 32)
        parent.set_attribute("ml.scores", [0.25, 0.5])
        parent.add_event("feature.missing", {"feature": "age", "count": 3})
        with tracer.start_as_current_span("preprocess") as child:
            child.set_status(Status(StatusCode.ERROR, "bad input"))
            child.add_link(parent.get_span_context(), {"why": "retry"})
    provider.shutdown()
    return exporter, memory.get_finished_spans()


def test_span_line_fields_follow_otlp_json(traced):
    exporter, spans = traced
    assert exporter.path.name == "traces.jsonl"
    lines = lines_of(exporter.path)
    assert len(lines) == 2  # SimpleSpanProcessor: one export, one line, per span
    by_name = {}
    for line in lines:
        (rs,) = line["resourceSpans"]
        assert attr(rs["resource"]["attributes"], "service.name") == {"stringValue": "churn-model"}
        (ss,) = rs["scopeSpans"]
        assert ss["scope"] == {"name": "mlotel.test", "version": "1.2.3"}
        (span,) = ss["spans"]
        by_name[span["name"]] = span
    sdk = {s.name: s for s in spans}
    for name, span in by_name.items():
        ctx = sdk[name].context
        assert span["traceId"] == format(ctx.trace_id, "032x")
        assert span["spanId"] == format(ctx.span_id, "016x")
        assert span["startTimeUnixNano"] == str(sdk[name].start_time)
        assert span["endTimeUnixNano"] == str(sdk[name].end_time)
    predict, pre = by_name["predict"], by_name["preprocess"]
    assert predict["kind"] == 2 and pre["kind"] == 1  # SERVER, INTERNAL as integers
    assert "parentSpanId" not in predict
    assert pre["parentSpanId"] == predict["spanId"]
    assert attr(predict["attributes"], "ml.model.name") == {"stringValue": "churn"}
    assert attr(predict["attributes"], "ml.batch_size") == {"intValue": "32"}  # int64 -> string
    assert attr(predict["attributes"], "ml.scores") == {
        "arrayValue": {"values": [{"doubleValue": 0.25}, {"doubleValue": 0.5}]}
    }
    (event,) = predict["events"]
    assert event["name"] == "feature.missing"
    assert event["timeUnixNano"] == str(sdk["predict"].events[0].timestamp)
    assert attr(event["attributes"], "count") == {"intValue": "3"}
    assert pre["status"] == {"code": 2, "message": "bad input"}
    (link,) = pre["links"]
    assert (link["traceId"], link["spanId"]) == (predict["traceId"], predict["spanId"])


def test_span_round_trip_equals_sdk_encoding(traced):
    exporter, spans = traced
    decoded = [to_proto(obj) for obj in read_otlp_json(exporter.path)]
    assert all(isinstance(d, ExportTraceServiceRequest) for d in decoded)
    assert decoded == [encode_spans([span]) for span in spans]
    # The inverse direction: from_proto is exactly what was written.
    assert [from_proto(d) for d in decoded] == lines_of(exporter.path)


def test_non_id_bytes_stay_base64(tmp_path):
    exporter = FileSpanExporter(tmp_path)
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("s") as span:
        span.set_attribute("blob", b"\x00\xffmlotel")  # type: ignore[arg-type]  # SDK keeps bytes
    provider.shutdown()
    (line,) = lines_of(exporter.path)
    span_json = line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    if "attributes" not in span_json:
        pytest.skip("this OpenTelemetry SDK drops byte attributes that are not UTF-8")
    value = attr(span_json["attributes"], "blob")
    assert value == {"bytesValue": base64.b64encode(b"\x00\xffmlotel").decode()}
    restored = to_proto(line).resource_spans[0].scope_spans[0].spans[0].attributes[0].value
    assert restored.bytes_value == b"\x00\xffmlotel"


# -- metrics --------------------------------------------------------------------------


class RecordingMetricExporter(FileMetricExporter):
    """The real file exporter, also keeping each MetricsData it was handed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches = []

    def export(self, metrics_data, timeout_millis=10_000, **kwargs):
        self.batches.append(metrics_data)
        return super().export(metrics_data, timeout_millis, **kwargs)


SCORES = [0.01, 0.3, 0.5, 1.0, 3.0, 3.0, 7.25, 1000.0]


@pytest.fixture
def metered(tmp_path):
    exporter = RecordingMetricExporter(tmp_path)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(
        resource=RESOURCE,
        metric_readers=[reader],
        views=[
            View(instrument_name="ml.score", aggregation=ExponentialBucketHistogramAggregation(max_size=20))
        ],
    )
    meter = provider.get_meter("mlotel.test")
    requests = meter.create_counter("ml.requests", unit="{request}")
    requests.add(3, {"model": "churn"})
    requests.add(4, {"model": "churn"})
    meter.create_gauge("ml.queue_depth").set(11.5)
    latency = meter.create_histogram("ml.latency", unit="ms")
    for v in (1.0, 7.0, 12.0, 900.0):
        latency.record(v)
    score = meter.create_histogram("ml.score")
    for v in SCORES:
        score.record(v)
    provider.force_flush()  # first line; shutdown collects and writes a second
    provider.shutdown()
    return exporter


def first_metrics(exporter):
    line = lines_of(exporter.path)[0]
    return {m["name"]: m for m in line["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]}


def expected_exponential_counts(magnitudes, scale, side):
    # Bucket i holds (base**i, base**(i+1)] with base = 2**(2**-scale). Exact powers of two sit on
    # a boundary, where floating log2 is exact, hence the ceil(...) - 1 form.
    offset = side.get("offset", 0)
    counts = [0] * len(side.get("bucketCounts", []))
    for m in magnitudes:
        counts[math.ceil(math.log2(m) * 2**scale) - 1 - offset] += 1
    return counts


def test_metric_lines(metered):
    lines = lines_of(metered.path)
    assert metered.path.name == "metrics.jsonl"
    assert len(lines) == len([b for b in metered.batches if b.resource_metrics]) == 2
    metrics = first_metrics(metered)

    sum_ = metrics["ml.requests"]["sum"]
    assert sum_["isMonotonic"] is True
    assert sum_["aggregationTemporality"] == 2  # CUMULATIVE, as an integer
    (point,) = sum_["dataPoints"]
    assert point["asInt"] == "7"
    assert attr(point["attributes"], "model") == {"stringValue": "churn"}
    assert int(point["timeUnixNano"]) >= int(point["startTimeUnixNano"]) > 0

    assert metrics["ml.queue_depth"]["gauge"]["dataPoints"][0]["asDouble"] == 11.5

    (hist,) = metrics["ml.latency"]["histogram"]["dataPoints"]
    assert metrics["ml.latency"]["unit"] == "ms"
    assert hist["count"] == "4" and hist["sum"] == 920.0
    assert (hist["min"], hist["max"]) == (1.0, 900.0)
    bounds = hist["explicitBounds"]
    expected = [0] * (len(bounds) + 1)
    for v in (1.0, 7.0, 12.0, 900.0):  # OTLP buckets are (bound[i-1], bound[i]]
        expected[sum(1 for b in bounds if v > b)] += 1
    assert [int(c) for c in hist["bucketCounts"]] == expected


def test_sdk_exponential_histogram(metered):
    (point,) = first_metrics(metered)["ml.score"]["exponentialHistogram"]["dataPoints"]
    assert point["count"] == str(len(SCORES))
    assert point["sum"] == pytest.approx(sum(SCORES))
    assert (point["min"], point["max"]) == (min(SCORES), max(SCORES))
    positive = point["positive"]
    assert positive["offset"] < 0  # 0.01 lies below 1: a negative sint32, as a JSON number
    assert [int(c) for c in positive["bucketCounts"]] == expected_exponential_counts(
        SCORES, point.get("scale", 0), positive
    )


def test_exponential_histogram_negative_buckets(tmp_path):
    # The SDK's Histogram instrument drops negative values, but mlotel's sketches export
    # signed distributions through the same SDK point types; build one the way they do.
    values = [-0.2, -0.2, -3.0, -5.0, 0.0, 4.0]
    scale = 1
    neg = [-v for v in values if v < 0]
    neg_index = [math.ceil(math.log2(m) * 2**scale) - 1 for m in neg]
    neg_offset = min(neg_index)
    neg_counts = [neg_index.count(i) for i in range(neg_offset, max(neg_index) + 1)]
    point = ExponentialHistogramDataPoint(
        attributes={"feature": "income"},
        start_time_unix_nano=1_700_000_000_000_000_000,
        time_unix_nano=1_700_000_060_000_000_000,
        count=len(values),
        sum=sum(values),
        scale=scale,
        zero_count=1,
        positive=Buckets(offset=math.ceil(math.log2(4.0) * 2) - 1, bucket_counts=[1]),
        negative=Buckets(offset=neg_offset, bucket_counts=neg_counts),
        flags=0,
        min=min(values),
        max=max(values),
    )
    data = MetricsData(
        resource_metrics=[
            ResourceMetrics(
                resource=RESOURCE,
                scope_metrics=[
                    ScopeMetrics(
                        scope=InstrumentationScope("mlotel.sketches", "0.1"),
                        metrics=[
                            Metric(
                                name="ml.feature.distribution",
                                description="",
                                unit="1",
                                data=ExponentialHistogram(
                                    data_points=[point], aggregation_temporality=AggregationTemporality.DELTA
                                ),
                            )
                        ],
                        schema_url="",
                    )
                ],
                schema_url="",
            )
        ]
    )
    exporter = FileMetricExporter(tmp_path)
    assert exporter.export(data) == MetricExportResult.SUCCESS
    (line,) = lines_of(exporter.path)
    metric = line["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]
    assert metric["exponentialHistogram"]["aggregationTemporality"] == 1  # DELTA
    (p,) = metric["exponentialHistogram"]["dataPoints"]
    assert p["scale"] == 1 and p["zeroCount"] == "1" and p["count"] == "6"
    assert p["negative"] == {"offset": neg_offset, "bucketCounts": [str(c) for c in neg_counts]}
    assert neg_offset < 0  # 0.2 is below 1
    assert sum(int(c) for c in p["negative"]["bucketCounts"]) == len(neg)
    assert [int(c) for c in p["negative"]["bucketCounts"]] == expected_exponential_counts(
        neg, 1, p["negative"]
    )
    assert (p["min"], p["max"], p["sum"]) == (-5.0, 4.0, pytest.approx(sum(values)))
    assert to_proto(line) == encode_metrics(data)


def test_metric_round_trip_equals_sdk_encoding(metered):
    decoded = [to_proto(obj, "metrics") for obj in read_otlp_json(metered.path.parent, "metrics")]
    assert all(isinstance(d, ExportMetricsServiceRequest) for d in decoded)
    assert decoded == [encode_metrics(b) for b in metered.batches if b.resource_metrics]


def _histogram_line(exporter):
    provider = MeterProvider(
        resource=RESOURCE, metric_readers=[PeriodicExportingMetricReader(exporter, 3_600_000)]
    )
    provider.get_meter("m").create_histogram("h").record(2.5)
    provider.shutdown()
    (line,) = lines_of(exporter.path)
    return line["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]


def test_metric_exporter_temporality_and_aggregation(tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", raising=False)
    default = _histogram_line(FileMetricExporter(tmp_path / "default"))
    assert default["histogram"]["aggregationTemporality"] == 2  # cumulative, like OTLPMetricExporter

    custom = _histogram_line(
        FileMetricExporter(
            tmp_path / "custom",
            preferred_temporality={Histogram: AggregationTemporality.DELTA},
            preferred_aggregation={Histogram: ExponentialBucketHistogramAggregation()},
        )
    )
    assert custom["exponentialHistogram"]["aggregationTemporality"] == 1

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "delta")
    from_env = _histogram_line(FileMetricExporter(tmp_path / "env"))
    assert from_env["histogram"]["aggregationTemporality"] == 1


# -- logs -----------------------------------------------------------------------------


class RecordingLogExporter(FileLogExporter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.batches = []

    def export(self, batch):
        self.batches.append(list(batch))
        return super().export(batch)


@pytest.fixture
def logged(tmp_path):
    """Two stdlib log records through the SDK's LoggingHandler: one inside a span, one outside."""
    exporter = RecordingLogExporter(tmp_path)
    logger_provider = LoggerProvider(resource=RESOURCE)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # moving to opentelemetry-instrumentation-logging
        handler = LoggingHandler(logger_provider=logger_provider)
    logger = logging.getLogger("mlotel.test.files")
    logger.propagate = False
    logger.addHandler(handler)
    tracer_provider = TracerProvider(resource=RESOURCE)
    try:
        with tracer_provider.get_tracer("t").start_as_current_span("predict") as span:
            logger.warning("drift on %s", "age", extra={"ml.psi": 0.31})
        logger.error("outside any span")
    finally:
        logger.removeHandler(handler)
        logger_provider.shutdown()
    return exporter, span.get_span_context()


def test_logs_carry_trace_context(logged):
    exporter, ctx = logged
    assert exporter.path.name == "logs.jsonl"
    inside, outside = (
        line["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0] for line in lines_of(exporter.path)
    )
    assert inside["traceId"] == format(ctx.trace_id, "032x")
    assert inside["spanId"] == format(ctx.span_id, "016x")
    assert inside["flags"] == int(ctx.trace_flags) and inside["flags"] & 1  # sampled
    assert inside["severityNumber"] == 13 and inside["severityText"] == "WARN"
    assert inside["body"] == {"stringValue": "drift on age"}
    assert attr(inside["attributes"], "ml.psi") == {"doubleValue": 0.31}
    assert int(inside["timeUnixNano"]) > 0
    assert "traceId" not in outside and "spanId" not in outside
    assert outside["severityNumber"] == 17

    decoded = [to_proto(obj) for obj in read_otlp_json(exporter.path.parent, "logs")]
    assert all(isinstance(d, ExportLogsServiceRequest) for d in decoded)
    assert decoded == [encode_logs(batch) for batch in exporter.batches]


# -- an independent decoder: rotel's OTLP/HTTP JSON receiver ------------------------------


def _post_lines(collector, kind, path):
    for line in path.read_bytes().splitlines():
        req = urllib.request.Request(
            f"{collector.http_endpoint}/v1/{kind}",
            data=line,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200


def test_collector_decodes_our_lines_to_the_same_protobuf(traced, logged, collector):
    """rotel (a Rust OTLP collector) parses each line as an OTLP/HTTP JSON request body, with its
    own hex-id handling, and forwards protobuf over gRPC; what arrives must equal the SDK
    encoders' output. (Metrics are left out: this rotel build drops JSON metric data points.)"""
    span_exporter, spans = traced
    log_exporter, _ = logged
    _post_lines(collector, "traces", span_exporter.path)
    _post_lines(collector, "logs", log_exporter.path)
    receiver = collector.receiver
    receiver.wait_for(lambda r: len(r.spans()) >= len(spans) and len(r.logs()) >= 2)

    expected_spans = {s.name: s for span in spans for s in _pb_spans(encode_spans([span]))}
    got_spans = {s.name: s for req in receiver.trace_requests() for s in _pb_spans(req)}
    assert got_spans == expected_spans
    expected_logs = [r for batch in log_exporter.batches for r in _pb_logs(encode_logs(batch))]
    got_logs = [r for req in receiver.logs_requests() for r in _pb_logs(req)]
    assert sorted(got_logs, key=lambda r: r.time_unix_nano) == expected_logs


def _pb_logs(request):
    return [r for rl in request.resource_logs for sl in rl.scope_logs for r in sl.log_records]


def _pb_spans(request):
    return [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]


# -- reading Collector-written files ----------------------------------------------------

# A line as the Collector's file exporter writes it (opentelemetry.io file-exporter docs
# sample, trimmed): hex ids, integer kind, string timestamps, an empty status object.
COLLECTOR_LINE = (
    '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},'
    '"scopeSpans":[{"scope":{"name":"my.library","version":"1.0.0"},"spans":[{"traceId":'
    '"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173",'
    '"name":"I\'m a server span","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":'
    '"1544712661000000000","attributes":[{"key":"user.name","value":{"stringValue":"LOTR\\u003eStarWars"}}],'
    '"status":{}}]}],"schemaUrl":"https://opentelemetry.io/schemas/1.6.1"}]}'
)


def test_reads_collector_file_exporter_output(tmp_path):
    path = tmp_path / "collector-traces.json"
    older = tmp_path / "collector-traces-2024-05-01T10-00-00.000.json"  # Collector rotation name
    older.write_text(COLLECTOR_LINE.replace("I'm a server span", "older") + "\n")
    path.write_text(COLLECTOR_LINE + "\n")
    assert signal_files(path) == [older, path]
    first, second = (to_proto(obj) for obj in read_otlp_json(path))
    span = second.resource_spans[0].scope_spans[0].spans[0]
    assert first.resource_spans[0].scope_spans[0].spans[0].name == "older"
    assert span.trace_id == bytes.fromhex("5b8efff798038103d269b633813fc60c")
    assert span.span_id == bytes.fromhex("eee19b7ec3c1b174")
    assert span.parent_span_id == bytes.fromhex("eee19b7ec3c1b173")
    assert span.kind == 2 and span.start_time_unix_nano == 1544712660000000000
    assert span.attributes[0].value.string_value == "LOTR>StarWars"
    assert second.resource_spans[0].schema_url == "https://opentelemetry.io/schemas/1.6.1"


def test_to_proto_accepts_base64_ids_and_rejects_garbage():
    trace_id = bytes(range(16))
    obj = {
        "resource_spans": [{"scope_spans": [{"spans": [{"trace_id": base64.b64encode(trace_id).decode()}]}]}]
    }
    assert to_proto(obj).resource_spans[0].scope_spans[0].spans[0].trace_id == trace_id
    assert obj["resource_spans"][0]["scope_spans"][0]["spans"][0]["trace_id"] != trace_id.hex()  # not mutated
    with pytest.raises(ValueError):
        to_proto({})  # signal cannot be inferred
    with pytest.raises(ValueError):
        to_proto({"resourceSpans": "nope"})
    with pytest.raises(ValueError):
        to_proto({"resourceSpans": []}, "profiles")  # type: ignore[arg-type]


# -- rotation -------------------------------------------------------------------------


def _export_numbered(exporter, provider_spans, start, count):
    for seq in range(start, start + count):
        assert exporter.export([provider_spans(seq)]) == SpanExportResult.SUCCESS


@pytest.fixture
def make_span():
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")

    def make(seq):
        with tracer.start_as_current_span("s", attributes={"seq": seq}):
            pass
        return memory.get_finished_spans()[-1]

    return make


def _seqs(path_or_dir, **kw):
    return [
        int(attr(line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"], "seq")["intValue"])
        for line in read_otlp_json(path_or_dir, **kw)
    ]


def test_rotation_keeps_size_cap_and_backup_count(tmp_path, make_span):
    line = json.dumps(from_proto(encode_spans([make_span(0)])), separators=(",", ":"))
    max_bytes = 4 * (len(line) + 1) + 10  # room for about four lines per file
    exporter = FileSpanExporter(tmp_path, max_bytes=max_bytes, backup_count=2)
    _export_numbered(exporter, make_span, 0, 40)
    exporter.shutdown()
    live, newer, older = exporter.path, backup_path(exporter.path, 1), backup_path(exporter.path, 2)
    assert sorted(tmp_path.iterdir()) == sorted([live, newer, older])
    assert newer.name == "traces.1.jsonl"
    for path in (live, newer, older):
        assert 0 < path.stat().st_size <= max_bytes
        lines_of(path)  # whole lines only
    assert len(lines_of(newer)) == len(lines_of(older)) == 4
    assert signal_files(live) == [older, newer, live]
    # Oldest first and contiguous up to the newest; the rotations beyond two were dropped.
    seqs = _seqs(live)
    assert seqs == list(range(40 - len(seqs), 40))
    assert len(seqs) == 8 + len(lines_of(live))
    assert _seqs(older) + _seqs(newer) == seqs[:8]


def test_rotation_without_backups_and_oversized_line(tmp_path, make_span):
    exporter = FileSpanExporter(tmp_path, max_bytes=10, backup_count=0)  # every line exceeds it
    _export_numbered(exporter, make_span, 0, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["traces.jsonl"]
    assert _seqs(tmp_path) == [2]  # an oversized line still gets written, alone


def test_defaults_and_data_dir(monkeypatch, tmp_path):
    assert (DEFAULT_MAX_BYTES, DEFAULT_BACKUP_COUNT) == (64 * 1024 * 1024, 3)
    monkeypatch.delenv("MLOTEL_DATA_DIR", raising=False)
    assert default_data_dir() == Path("mlotel-data")
    assert FileLogExporter().path == Path("mlotel-data") / "logs.jsonl"
    monkeypatch.setenv("MLOTEL_DATA_DIR", str(tmp_path / "d"))
    assert FileSpanExporter().path == tmp_path / "d" / "traces.jsonl"
    assert not (tmp_path / "d").exists()  # created lazily, on the first export
    with pytest.raises(ValueError):
        FileSpanExporter(tmp_path, max_bytes=0)
    with pytest.raises(ValueError):
        FileSpanExporter(tmp_path, backup_count=-1)


# -- partial lines ----------------------------------------------------------------------


def test_truncated_last_line_is_tolerated(tmp_path, make_span):
    exporter = FileSpanExporter(tmp_path)
    _export_numbered(exporter, make_span, 0, 3)
    exporter.shutdown()
    whole = exporter.path.read_bytes()
    last_line = whole[:-1].rsplit(b"\n", 1)[1]
    with open(exporter.path, "ab") as fh:
        fh.write(last_line[: len(last_line) // 2])  # a write cut short
    assert _seqs(tmp_path, strict=True) == [0, 1, 2]

    # The next writer terminates the cut line, so its own lines stay whole; the reader then
    # skips the (now complete but invalid) line, or raises in strict mode.
    reopened = FileSpanExporter(tmp_path)
    _export_numbered(reopened, make_span, 3, 1)
    assert _seqs(tmp_path) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="traces.jsonl:4"):
        _seqs(tmp_path, strict=True)


# -- concurrency and failures ---------------------------------------------------------------


def test_concurrent_exports_write_whole_lines(tmp_path, make_span):
    spans = [make_span(seq) for seq in range(8 * 25)]
    exporter = FileSpanExporter(tmp_path, max_bytes=20_000, backup_count=1_000)
    barrier = threading.Barrier(8)
    results = []

    def work(thread):
        barrier.wait()
        for i in range(25):
            results.append(exporter.export([spans[thread * 25 + i]]))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [SpanExportResult.SUCCESS] * 200
    files = signal_files(exporter.path)
    assert len(files) > 2  # rotation happened under contention
    for path in files:
        assert path.stat().st_size <= 20_000
        lines_of(path)  # every line parses on its own
    assert sorted(_seqs(exporter.path, strict=True)) == list(range(200))


def test_export_failures_return_failure_and_log_once(tmp_path, make_span, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    exporter = FileSpanExporter(blocker)  # the data "directory" is a file
    with caplog.at_level(logging.DEBUG, logger="mlotel.export._files"):
        assert exporter.export([make_span(0)]) == SpanExportResult.FAILURE
        assert exporter.export([make_span(1)]) == SpanExportResult.FAILURE
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "not-a-dir" in errors[0].getMessage()

    metrics = FileMetricExporter(blocker)
    assert metrics.export(object()) == MetricExportResult.FAILURE  # unencodable input: no raise


def test_shutdown_then_export_fails_and_flush_succeeds(tmp_path, make_span):
    exporter = FileSpanExporter(tmp_path)
    assert exporter.export([make_span(0)]) == SpanExportResult.SUCCESS
    assert exporter.force_flush() is True
    exporter.shutdown()
    assert exporter.export([make_span(1)]) == SpanExportResult.FAILURE
    assert exporter.export([]) == SpanExportResult.FAILURE
    assert _seqs(tmp_path) == [0]


def test_empty_batches_write_nothing(tmp_path):
    exporter = FileSpanExporter(tmp_path)
    assert exporter.export([]) == SpanExportResult.SUCCESS
    assert not exporter.path.exists()
