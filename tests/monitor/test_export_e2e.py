"""End to end through a real collector (rotel): a user's script, its environment, its exit.

Each test runs a small application in a subprocess, as a user would, so that global
providers, environment variables and the flush at interpreter exit are the real ones.
"""

from __future__ import annotations

import json
import textwrap
import time

import pytest
from opentelemetry.proto.metrics.v1 import metrics_pb2

from mlotel.export.otlp_json import read_otlp_json, to_proto
from tests.apps import run_app
from tests.otlp_receiver import attrs_to_dict, free_port

APP = textwrap.dedent(
    """
    import sys
    import mlotel

    @mlotel.monitor(model="fraud", version="3")
    def predict(X):
        if X == "boom":
            raise ValueError("bad input")
        return [sum(row) for row in X]

    for i in range(5):
        predict([[1.0, 2.0]] * (i + 1))
    try:
        predict("boom")
    except ValueError:
        pass
    print("done", flush=True)
    """
)


def check_contract(receiver, mlotel_providers: bool = True) -> None:
    spans = receiver.wait_for_spans(name="predict fraud", count=6)
    assert len(spans) == 6
    assert spans[0].resource["service.name"] == "fraud-api"
    if mlotel_providers:  # mlotel's providers identify each process
        assert "service.instance.id" in spans[0].resource
    assert spans[0].scope.name == "mlotel"
    ok = [s for s in spans if "error.type" not in s.attributes]
    failed = [s for s in spans if "error.type" in s.attributes]
    assert sorted(s.attributes["ml.batch.size"] for s in ok) == [1, 2, 3, 4, 5]
    assert all(s.attributes["ml.model.version"] == "3" for s in spans)
    (bad,) = failed
    assert bad.attributes["error.type"] == "ValueError"
    assert bad.span.status.code == 2  # STATUS_CODE_ERROR
    assert bad.span.events[0].name == "exception"

    def durations(r):
        metric = r.latest_metric("ml.prediction.duration")
        return metric if metric and sum(p.count for p in metric.data_points) == 6 else None

    duration = receiver.wait_for(durations)
    assert duration.unit == "s"
    by_error = {attrs_to_dict(p.attributes).get("error.type"): p.count for p in duration.data_points}
    assert by_error == {None: 5, "ValueError": 1}
    batch = receiver.latest_metric("ml.prediction.batch.size")
    assert batch.unit == "{row}"
    assert sum(p.sum for p in batch.data_points) == 1 + 2 + 3 + 4 + 5 + 1  # a str input is one row
    assert batch.resource["service.name"] == "fraud-api"


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_environment_configured_export_through_a_real_collector(collector, protocol):
    endpoint = collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint
    run_app(
        APP,
        {
            "OTEL_SERVICE_NAME": "fraud-api",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        },
    )
    check_contract(collector.receiver)


def test_configure_in_code_wins_over_environment(collector):
    code = (
        "import mlotel\n"
        f"mlotel.configure(service_name='fraud-api', endpoint='{collector.http_endpoint}', protocol='http/protobuf')\n"
        + APP
    )
    # The environment points at a closed port with the wrong protocol: explicit arguments win.
    run_app(
        code,
        {
            "OTEL_SERVICE_NAME": "ignored",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        },
    )
    check_contract(collector.receiver)


def test_delta_temporality_is_honoured(collector):
    run_app(
        APP,
        {
            "OTEL_SERVICE_NAME": "fraud-api",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.grpc_endpoint,
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "delta",
        },
    )
    check_contract(collector.receiver)
    metric = collector.receiver.latest_metric("ml.prediction.duration")
    assert metric.data.aggregation_temporality == metrics_pb2.AGGREGATION_TEMPORALITY_DELTA


def test_application_providers_are_used_and_every_metric_arrives(collector):
    """The app set up its own SDK providers first: mlotel must not replace them, and its
    metrics must travel in the same ResourceMetrics as the app's own instruments."""
    code = (
        textwrap.dedent(
            f"""
        from opentelemetry import metrics, trace
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create({{"service.name": "fraud-api"}})
        tp = TracerProvider(resource=resource)
        tp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint="{collector.grpc_endpoint}", insecure=True)))
        trace.set_tracer_provider(tp)
        reader = PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint="{collector.grpc_endpoint}", insecure=True), export_interval_millis=60000)
        mp = MeterProvider(resource=resource, metric_readers=[reader])
        metrics.set_meter_provider(mp)
        requests = metrics.get_meter("app").create_counter("app.request.count", unit="{{request}}")
        requests.add(7)
        """
        )
        + APP
        + textwrap.dedent(
            """
        from mlotel import _runtime
        assert _runtime.active().providers.tracer_provider is tp
        assert _runtime.active().providers.meter_provider is mp
        tp.force_flush(); mp.force_flush()
        """
        )
    )
    run_app(code, {})
    check_contract(collector.receiver, mlotel_providers=False)
    app_metric = collector.receiver.wait_for(lambda r: r.latest_metric("app.request.count"))
    assert app_metric.data_points[0].as_int == 7
    # Same export request, same resource: both scopes survived the OTLP encoder.
    for request in collector.receiver.metrics_requests():
        for rm in request.resource_metrics:
            scopes = {sm.scope.name for sm in rm.scope_metrics}
            if "mlotel" in scopes:
                assert "app" in scopes


def test_embedded_default_writes_otlp_json_files(tmp_path):
    data_dir = tmp_path / "telemetry"
    proc = run_app(APP, {"MLOTEL_DATA_DIR": str(data_dir), "OTEL_SERVICE_NAME": "fraud-api"})
    assert str(data_dir) in proc.stderr  # one log line says where telemetry went
    for name in ("traces.jsonl", "metrics.jsonl", "logs.jsonl"):
        assert (data_dir / name).exists() or name == "logs.jsonl"
    lines = list(read_otlp_json(data_dir / "traces.jsonl"))
    spans = [
        s for line in lines for rs in line["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]
    ]
    assert len(spans) == 6
    assert {s["name"] for s in spans} == {"predict fraud"}
    assert all(len(s["spanId"]) == 16 for s in spans)
    json.dumps(lines)  # plain JSON
    metric_lines = list(read_otlp_json(data_dir / "metrics.jsonl"))
    names = set()
    for line in metric_lines:
        request = to_proto(line)
        for rm in request.resource_metrics:
            for sm in rm.scope_metrics:
                names.update(m.name for m in sm.metrics)
    assert {"ml.prediction.duration", "ml.prediction.batch.size"} <= names


def test_collector_down_does_not_block_the_model_or_the_exit():
    port = free_port()  # nothing listens here
    code = textwrap.dedent(
        f"""
        import time, mlotel
        mlotel.configure(endpoint="http://127.0.0.1:{port}", shutdown_timeout=2.0, export_interval=0.2)
        @mlotel.monitor
        def predict(X):
            return X
        for _ in range(2000):
            predict([[1.0]])
        time.sleep(0.5)  # let an export attempt start and fail
        start = time.monotonic()
        mlotel.shutdown()
        print("shutdown_seconds", time.monotonic() - start, flush=True)
        """
    )
    started = time.monotonic()
    proc = run_app(code, {})
    wall = time.monotonic() - started
    shutdown_seconds = float(proc.stdout.split("shutdown_seconds")[1])
    # Bounded by shutdown_timeout (2 s) plus scheduling slack; the SDK's own retries take 40 s+.
    assert shutdown_seconds < 8
    assert wall < 40


def test_sampler_from_the_environment_keeps_metrics_exact(collector):
    """OTEL_TRACES_SAMPLER=always_off: no spans, yet every call is counted."""
    run_app(
        APP,
        {
            "OTEL_SERVICE_NAME": "fraud-api",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.grpc_endpoint,
            "OTEL_TRACES_SAMPLER": "always_off",
        },
    )

    def durations(r):
        metric = r.latest_metric("ml.prediction.duration")
        return metric if metric and sum(p.count for p in metric.data_points) == 6 else None

    collector.receiver.wait_for(durations)
    assert collector.receiver.spans() == []
