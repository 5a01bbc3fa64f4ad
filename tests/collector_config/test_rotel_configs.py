"""The rotel env files in collector-config/ run for real: rotel is started with each file's
variables (listen ports moved to free loopback ports, exporter endpoints pointed at test
receivers, every other setting kept) and OTLP sent to it must arrive where the file says.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
import uuid
from pathlib import Path

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.apps import run_app
from tests.collector_config.conftest import CONFIG_DIR, parse_env_file, rebase_url
from tests.otlp_receiver import attrs_to_dict

ENV_FILES = sorted(p.name for p in CONFIG_DIR.glob("rotel*.env"))
FEATURE_VALUES = [0.5, 1.0, 2.0, 4.0, 4.0]


def send_sample_telemetry(endpoint: str, protocol: str = "grpc") -> str:
    """Export one span, an exponential histogram, a counter and a log record with the OTel SDK.

    Shaped like mlotel's data (names from docs/semantic-conventions.md). Returns the
    run id set as ``service.instance.id``. Everything is flushed before returning.
    """
    run_id = uuid.uuid4().hex
    resource = Resource.create({"service.name": "collector-config-test", "service.instance.id": run_id})
    if protocol == "grpc":
        span_exporter = GrpcSpanExporter(endpoint=endpoint, insecure=True)
        metric_exporter = GrpcMetricExporter(endpoint=endpoint, insecure=True)
        log_exporter = GrpcLogExporter(endpoint=endpoint, insecure=True)
    else:
        span_exporter = HttpSpanExporter(endpoint=f"{endpoint}/v1/traces")
        metric_exporter = HttpMetricExporter(endpoint=f"{endpoint}/v1/metrics")
        log_exporter = HttpLogExporter(endpoint=f"{endpoint}/v1/logs")

    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    with tracer_provider.get_tracer("mlotel").start_as_current_span(
        "predict fraud", attributes={"ml.model.name": "fraud", "ml.model.version": "3"}
    ):
        pass
    tracer_provider.shutdown()

    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000)
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[reader],
        views=[View(instrument_name="ml.feature.value", aggregation=ExponentialBucketHistogramAggregation())],
    )
    meter = meter_provider.get_meter("mlotel")
    histogram = meter.create_histogram("ml.feature.value", unit="1")
    for value in FEATURE_VALUES:
        histogram.record(value, {"ml.model.name": "fraud", "ml.feature.name": "amount"})
    meter.create_counter("ml.feature.missing", unit="{value}").add(2, {"ml.feature.name": "amount"})
    meter_provider.force_flush()
    meter_provider.shutdown()

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    logger_provider.get_logger("mlotel").emit(
        severity_number=SeverityNumber.WARN,
        body="drift alert: amount",
        attributes={"ml.feature.name": "amount"},
    )
    logger_provider.shutdown()
    return run_id


def check_exponential_histogram(metric) -> None:
    """The ml.feature.value we sent, still an exponential histogram with the same data."""
    assert metric.WhichOneof("data") == "exponential_histogram"
    (point,) = metric.exponential_histogram.data_points
    assert point.count == len(FEATURE_VALUES)
    assert point.sum == pytest.approx(sum(FEATURE_VALUES))
    assert (point.min, point.max) == (min(FEATURE_VALUES), max(FEATURE_VALUES))
    assert (
        point.zero_count + sum(point.positive.bucket_counts) + sum(point.negative.bucket_counts)
        == point.count
    )
    # Bucket i holds (base**(offset+i), base**(offset+i+1)] with base = 2**(2**-scale).
    base = 2.0 ** (2.0**-point.scale)
    for value in set(FEATURE_VALUES):
        index = next(
            i
            for i in range(len(point.positive.bucket_counts))
            if base ** (point.positive.offset + i)
            < value
            <= base ** (point.positive.offset + i + 1) * (1 + 1e-12)
        )
        assert point.positive.bucket_counts[index] >= FEATURE_VALUES.count(value)


def metrics_of(requests) -> dict[str, object]:
    return {
        m.name: m
        for r in requests
        for rm in r.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }


# -- the files themselves ------------------------------------------------------------


def test_the_env_files_exist():
    assert set(ENV_FILES) >= {"rotel.env", "rotel-debug.env", "rotel-lgtm.env"}


@pytest.fixture(scope="module")
def documented_env_names(rotel_binary: Path) -> set[str]:
    """Every ROTEL_* variable ``rotel-agent start --help`` documents."""
    help_text = subprocess.run(
        [str(rotel_binary), "start", "--help"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    names = set(re.findall(r"\[env: (ROTEL_[A-Z0-9_]+)=", help_text))
    assert len(names) > 50
    return names


@pytest.mark.parametrize("name", ENV_FILES)
def test_env_file_is_plain_and_uses_only_documented_rotel_variables(name, documented_env_names):
    text = (CONFIG_DIR / name).read_text()
    assert text.startswith(f"# {name} -- "), "header comment saying what the file is for"
    env = parse_env_file(CONFIG_DIR / name)  # raises on malformed lines and repeats
    assert env
    for key, value in env.items():
        # Loadable unchanged by docker --env-file, systemd EnvironmentFile and `set -a; .`
        assert not re.search(r"[\"'$`\s]", value), f"{key}={value!r}"
    named = {n.split(":")[0] for n in env.get("ROTEL_EXPORTERS", "").split(",") if n}
    for key in env:
        if key in documented_env_names:
            continue
        # Named exporters: ROTEL_EXPORTER_<NAME>_<SETTING> takes ROTEL_OTLP_EXPORTER_<SETTING>'s settings.
        match = re.fullmatch(r"ROTEL_EXPORTER_([A-Z0-9]+)_([A-Z0-9_]+)", key)
        assert match, f"{name}: {key} is not a rotel variable"
        assert match.group(1).lower() in named, f"{name}: {key} names no exporter of ROTEL_EXPORTERS"
        assert f"ROTEL_OTLP_EXPORTER_{match.group(2)}" in documented_env_names, f"{name}: {key}"
    for signal in ("TRACES", "METRICS", "LOGS"):
        for exporter in filter(None, env.get(f"ROTEL_EXPORTERS_{signal}", "").split(",")):
            assert exporter in named, f"{name}: ROTEL_EXPORTERS_{signal} names unknown {exporter!r}"


# -- running them ------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_rotel_env_forwards_every_signal_to_the_otlp_backend(rotel_from_env, otlp_receiver, protocol):
    file_env = parse_env_file(CONFIG_DIR / "rotel.env")
    rotel = rotel_from_env(
        "rotel.env",
        ROTEL_OTLP_EXPORTER_ENDPOINT=rebase_url(
            file_env["ROTEL_OTLP_EXPORTER_ENDPOINT"], otlp_receiver.endpoint
        ),
    )
    endpoint = rotel.grpc_endpoint if protocol == "grpc" else rotel.http_endpoint
    run_id = send_sample_telemetry(endpoint, protocol)

    (span,) = otlp_receiver.wait_for_spans(
        "predict fraud", where=lambda s: s.resource["service.instance.id"] == run_id
    )
    assert span.attributes == {"ml.model.name": "fraud", "ml.model.version": "3"}
    metric = otlp_receiver.wait_for_metrics("ml.feature.value")[-1]
    check_exponential_histogram(metric.metric)
    missing = otlp_receiver.wait_for_metrics("ml.feature.missing")[-1]
    assert [p.as_int for p in missing.data_points] == [2]
    (log,) = otlp_receiver.wait_for_logs(where=lambda r: r.resource["service.instance.id"] == run_id)
    assert log.body == "drift alert: amount" and log.attributes["ml.feature.name"] == "amount"


def test_rotel_env_forwards_an_mlotel_application(rotel_from_env, otlp_receiver):
    """A real mlotel app exporting to rotel: its feature sketches reach the backend as exponential histograms."""
    file_env = parse_env_file(CONFIG_DIR / "rotel.env")
    rotel = rotel_from_env(
        "rotel.env",
        ROTEL_OTLP_EXPORTER_ENDPOINT=rebase_url(
            file_env["ROTEL_OTLP_EXPORTER_ENDPOINT"], otlp_receiver.endpoint
        ),
    )
    app = textwrap.dedent(
        f"""
        import numpy as np
        import mlotel

        mlotel.configure(endpoint={rotel.grpc_endpoint!r}, service_name="fraud-api")

        @mlotel.monitor(model="fraud", version="3")
        def predict(X):
            return X[:, 0] * 2

        X = np.column_stack([np.arange(1.0, 101.0), np.full(100, 7.0)])
        for chunk in np.array_split(X, 4):
            predict(chunk)
        """
    )
    run_app(app, {})
    assert len(otlp_receiver.wait_for_spans("predict fraud", count=4)) == 4

    def features(receiver):
        metric = receiver.latest_metric("ml.feature.value")
        return metric if metric and sum(p.count for p in metric.data_points) == 200 else None

    metric = otlp_receiver.wait_for(features)
    assert metric.kind == "exponential_histogram"
    assert metric.resource["service.name"] == "fraud-api"
    by_feature = {attrs_to_dict(p.attributes)["ml.feature.name"]: p for p in metric.data_points}
    assert sorted(p.count for p in by_feature.values()) == [100, 100]
    assert sorted((p.min, p.max, p.sum) for p in by_feature.values()) == [
        (1.0, 100.0, 5050.0),
        (7.0, 7.0, 700.0),
    ]


def test_rotel_lgtm_env_routes_traces_to_tempo_metrics_to_prometheus_logs_to_loki(
    rotel_from_env, otlp_receiver, otlp_http_capture
):
    file_env = parse_env_file(CONFIG_DIR / "rotel-lgtm.env")
    prometheus, loki = otlp_http_capture(), otlp_http_capture()
    tempo = otlp_receiver
    rotel = rotel_from_env(
        "rotel-lgtm.env",
        ROTEL_EXPORTER_TEMPO_ENDPOINT=rebase_url(file_env["ROTEL_EXPORTER_TEMPO_ENDPOINT"], tempo.endpoint),
        ROTEL_EXPORTER_PROMETHEUS_ENDPOINT=rebase_url(
            file_env["ROTEL_EXPORTER_PROMETHEUS_ENDPOINT"], prometheus.url
        ),
        ROTEL_EXPORTER_LOKI_ENDPOINT=rebase_url(file_env["ROTEL_EXPORTER_LOKI_ENDPOINT"], loki.url),
    )
    run_id = send_sample_telemetry(rotel.grpc_endpoint)

    tempo.wait_for_spans("predict fraud", where=lambda s: s.resource["service.instance.id"] == run_id)
    # Prometheus's OTLP receiver path, with the exponential histogram intact (-> native histogram).
    requests = prometheus.wait_for(
        lambda rs: rs if "ml.feature.value" in metrics_of(r.message for r in rs) else None
    )
    assert {r.path for r in requests} == {"/api/v1/otlp/v1/metrics"}
    assert {r.headers.get("content-encoding") for r in requests} == {"gzip"}
    check_exponential_histogram(metrics_of(r.message for r in requests)["ml.feature.value"])
    # Loki's native OTLP path.
    requests = loki.wait_for(lambda rs: rs)
    assert {r.path for r in requests} == {"/otlp/v1/logs"}
    bodies = [
        record.body.string_value
        for r in requests
        for rl in r.message.resource_logs
        for sl in rl.scope_logs
        for record in sl.log_records
    ]
    assert bodies == ["drift alert: amount"]
    # Each signal went only where the file routes it.
    rotel.stop()
    assert tempo.metrics() == [] and tempo.logs() == []
    assert all(r.path.endswith("/v1/metrics") for r in prometheus.requests())
    assert all(r.path.endswith("/v1/logs") for r in loki.requests())


def test_rotel_debug_env_prints_metrics_in_detail(rotel_from_env):
    rotel = rotel_from_env("rotel-debug.env")
    send_sample_telemetry(rotel.grpc_endpoint)
    text = rotel.wait_for_log(lambda t: "Name: ml.feature.missing" in t and "Name: ml.feature.value" in t)
    block = text[text.index("Name: ml.feature.value") :]
    assert "DataType: ExponentialHistogram" in block
    assert f"Count: {len(FEATURE_VALUES)}" in block
    assert f"Sum: {sum(FEATURE_VALUES):g}" in block
    assert "-> ml.feature.name: Str(amount)" in block
    assert "Bucket (" in block  # detailed verbosity prints every bucket
    # Only metrics are printed (ROTEL_DEBUG_LOG=metrics), and nothing is exported.
    assert "Name: predict fraud" not in text and "drift alert" not in text
