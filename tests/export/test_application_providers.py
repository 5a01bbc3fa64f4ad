"""Every ml.* metric leaves the process when the application (or ``opentelemetry-instrument``) owns the providers.

Regression for issue 15: under ``opentelemetry-instrument`` with the distro's SDK set-up,
mlotel's exit handler took its metrics off the application's readers *before* the SDK's
own exit handler made the last collection, so no ``ml.*`` metric of the last interval
(for a short job: none at all) was exported; and the SDK's last collection at exit is
bounded by the export interval, too short for a first gRPC connection on a busy machine.

Each case runs a real application in a subprocess while two busy loops keep both cores
loaded, and checks the exact data twice: during the run (the periodic reader exported
every call made so far) and after exit (a last call, made just before exit, is there too:
only the exit path can have exported it).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf.json_format import MessageToDict
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import TracerProvider
from sklearn.datasets import load_breast_cancer

from tests.otlp_receiver import free_port

pytestmark = pytest.mark.timeout(240)

COLUMNS = list(load_breast_cancer(as_frame=True).data.columns)
ROWS = len(load_breast_cancer().target)
FRAME_MODELS = ("RandomForestClassifier", "Pipeline", "XGBClassifier", "LGBMClassifier")
MODELS = (*FRAME_MODELS, "Sequential")
SPANS = (
    "predict_proba RandomForestClassifier",
    "predict Pipeline",
    "predict XGBClassifier",
    "predict LGBMClassifier",
    "forward Sequential",
)
CALLS_DURING_RUN = 3

APP = textwrap.dedent(
    """
    import os, sys

    mode = os.environ["APP_MODE"]

    def own_providers():
        from opentelemetry import metrics, trace
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(tracer_provider)
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=500)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

    if mode == "provider-before":
        own_providers()
    if mode != "distro":
        import mlotel
        mlotel.instrument()
    if mode == "provider-after":
        own_providers()

    import lightgbm
    import torch
    import xgboost
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    boosted = xgboost.XGBClassifier(n_estimators=5).fit(X, y)
    light = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    net = torch.nn.Sequential(torch.nn.Linear(30, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    tensor = torch.tensor(X.values, dtype=torch.float32)

    def call_each():
        forest.predict_proba(X)
        pipeline.predict(X)
        boosted.predict(X)
        light.predict(X)
        with torch.no_grad():
            net(tensor)

    for _ in range(int(os.environ["APP_CALLS"])):
        call_each()
    print("CALLS DONE", file=sys.stderr, flush=True)
    sys.stdin.readline()
    call_each()  # exported by nothing but the exit path
    """
)


# -- what arrived, as {metric name: [(attributes, count)]} per export, in arrival order ----------


def _console_documents(text: str) -> list[dict[str, Any]]:
    """The JSON documents the console exporters printed (one per span, one per metrics export)."""
    decoder, documents, at = json.JSONDecoder(), [], 0
    while (start := text.find("{", at)) >= 0:
        try:
            document, at = decoder.raw_decode(text, start)
        except ValueError:
            at = start + 1
            continue
        documents.append(document)
    return documents


def _console_exports(documents: list[dict[str, Any]]) -> list[dict[str, list]]:
    exports = []
    for document in documents:
        if "resource_metrics" not in document:
            continue
        export: dict[str, list] = {}
        for rm in document["resource_metrics"]:
            for sm in rm["scope_metrics"]:
                for metric in sm["metrics"]:
                    export.setdefault(metric["name"], []).extend(
                        (p["attributes"], int(p.get("count", 0))) for p in metric["data"]["data_points"]
                    )
        exports.append(export)
    return exports


def _otlp_exports(requests: list[Any]) -> list[dict[str, list]]:
    exports = []
    for request in requests:
        export: dict[str, list] = {}
        for rm in MessageToDict(request).get("resourceMetrics", []):
            for sm in rm.get("scopeMetrics", []):
                for metric in sm.get("metrics", []):
                    data = next(v for k, v in metric.items() if isinstance(v, dict) and "dataPoints" in v)
                    export.setdefault(metric["name"], []).extend(
                        (
                            {a["key"]: next(iter(a["value"].values())) for a in p.get("attributes", [])},
                            int(p.get("count", 0)),
                        )
                        for p in data["dataPoints"]
                    )
        exports.append(export)
    return exports


def _latest(exports: list[dict[str, list]], name: str) -> list:
    """The points of ``name`` in the last export that has it (cumulative: the totals so far)."""
    for export in reversed(exports):
        if name in export:
            return export[name]
    return []


def _count(points: list, **attributes: str) -> int:
    return sum(c for a, c in points if all(a.get(k) == v for k, v in attributes.items()))


def problems(exports: list[dict[str, list]], spans: list[str], calls: int) -> list[str]:
    """Every way the data falls short of ``calls`` calls per model (empty: exact)."""
    found = []
    durations = _latest(exports, "ml.prediction.duration")
    features = _latest(exports, "ml.feature.value")
    for model in MODELS:
        got = _count(durations, **{"ml.model.name": model})
        if got != calls:
            found.append(f"ml.prediction.duration count of {model}: {got} != {calls}")
    for model in FRAME_MODELS:
        wrong = {
            column: got
            for column in COLUMNS
            if (got := _count(features, **{"ml.model.name": model, "ml.feature.name": column}))
            != calls * ROWS
        }
        if wrong:
            found.append(f"ml.feature.value of {model}, expected {calls * ROWS} per column: {wrong}")
    got = _count(features, **{"ml.model.name": "Sequential"})
    if got != calls * ROWS * len(COLUMNS):
        found.append(f"ml.feature.value of Sequential: {got} != {calls * ROWS * len(COLUMNS)}")
    for name in SPANS:
        if spans.count(name) != calls:
            found.append(f"spans {name!r}: {spans.count(name)} != {calls}")
    return found


# -- running the application ----------------------------------------------------------------------


@pytest.fixture
def busy_machine() -> Iterator[None]:
    """Both cores kept busy for the test's duration (bounded: the loops stop by themselves)."""
    loops = [
        subprocess.Popen(
            [sys.executable, "-c", "import time\nend = time.time() + 240\nwhile time.time() < end: pass"]
        )
        for _ in range(2)
    ]
    yield
    for loop in loops:
        loop.kill()
        loop.wait()


class App:
    """The application in a subprocess; its output is read as it comes."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._pump, args=(self.process.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _pump(stream: Any, sink: list[str]) -> None:
        for line in stream:
            sink.append(line)

    def wait_until(self, condition: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            if self.process.poll() is not None:
                raise AssertionError(f"the application exited early; stderr:\n{''.join(self.stderr)[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what} not within {timeout:g} s; stderr:\n{''.join(self.stderr)[-3000:]}"
                )
            time.sleep(0.1)
        return result

    def wait_until_exact(self, current: Callable[[], tuple[list, list[str]]], calls: int) -> None:
        """Wait until what arrived so far is exact for ``calls`` calls per model; say what is not."""
        last: list[str] = []

        def exact() -> bool:
            last[:] = problems(*current(), calls)
            return not last

        try:
            self.wait_until(exact, f"exact data for {calls} calls")
        except AssertionError as exc:
            raise AssertionError("\n".join([str(exc), *last])) from None

    def finish(self) -> None:
        """Let the application make its last calls and exit; wait for it and its output."""
        self.process.stdin.write("\n")
        self.process.stdin.close()
        assert self.process.wait(timeout=120) == 0, "".join(self.stderr)[-3000:]
        for reader in self._readers:
            reader.join(timeout=10)


def _environment(tmp_path: Path, mode: str, **otel: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MLOTEL_"))}
    env.update(
        APP_MODE=mode,
        APP_CALLS=str(CALLS_DURING_RUN),
        MLOTEL_DATA_DIR=str(tmp_path / "mlotel-data"),
        OTEL_SERVICE_NAME="issue-15",
        OTEL_LOGS_EXPORTER="none",
        OTEL_METRIC_EXPORT_INTERVAL="500",
        PYTHONUNBUFFERED="1",
        **otel,
    )
    return env


def _command(tmp_path: Path, launcher: bool) -> list[str]:
    script = tmp_path / "app.py"
    script.write_text(APP)
    python = [sys.executable, str(script)]
    return [str(Path(sys.executable).with_name("opentelemetry-instrument")), *python] if launcher else python


def _run_against_collector(collector, tmp_path: Path, mode: str, launcher: bool, **otel: str) -> None:
    receiver = collector.receiver
    app = App(_command(tmp_path, launcher), _environment(tmp_path, mode, **otel))

    def current() -> tuple[list, list[str]]:
        return _otlp_exports(receiver.metrics_requests()), [s.name for s in receiver.spans()]

    app.wait_until(lambda: any("CALLS DONE" in line for line in app.stderr), "the first calls")
    # During the run: the periodic reader has exported every call so far.
    app.wait_until_exact(current, CALLS_DURING_RUN)
    app.finish()
    # After exit: the last calls too, through the exit path.
    receiver.wait_for(lambda r: not problems(*current(), CALLS_DURING_RUN + 1), timeout=30)


@pytest.mark.parametrize("round_", range(2))
@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_opentelemetry_instrument_exports_every_metric_over_otlp(
    collector, tmp_path, busy_machine, protocol, round_
):
    endpoint = collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint
    _run_against_collector(
        collector,
        tmp_path,
        "distro",
        launcher=True,
        OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
    )


@pytest.mark.parametrize("round_", range(2))
def test_opentelemetry_instrument_exports_every_metric_to_the_console(tmp_path, busy_machine, round_):
    app = App(
        _command(tmp_path, launcher=True),
        _environment(tmp_path, "distro", OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="console"),
    )

    def current() -> tuple[list, list[str]]:
        documents = _console_documents("".join(app.stdout))
        spans = [d["name"] for d in documents if "context" in d and "name" in d]
        return _console_exports(documents), spans

    app.wait_until(lambda: any("CALLS DONE" in line for line in app.stderr), "the first calls")
    app.wait_until_exact(current, CALLS_DURING_RUN)
    app.finish()
    assert problems(*current(), CALLS_DURING_RUN + 1) == []


@pytest.mark.parametrize(
    ("mode", "launcher", "otel"),
    [
        # opentelemetry-instrument without the SDK configurator: mlotel builds the providers.
        ("distro", True, {"OTEL_PYTHON_CONFIGURATOR": "none"}),
        # The application's own providers, installed before or after importing mlotel.
        ("provider-before", False, {}),
        ("provider-after", False, {}),
        # mlotel.instrument() alone: mlotel builds the providers from OTEL_* variables.
        ("instrument", False, {}),
    ],
    ids=["instrument-without-configurator", "provider-before", "provider-after", "mlotel-instrument"],
)
def test_every_metric_is_exported_whoever_sets_up_the_providers(
    collector, tmp_path, busy_machine, mode, launcher, otel
):
    _run_against_collector(
        collector,
        tmp_path,
        mode,
        launcher=launcher,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.grpc_endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL="grpc",
        **otel,
    )


# -- nothing is lost silently ---------------------------------------------------------------------


class _Refusing(MetricExporter):
    """A metric exporter whose collector refuses everything (as a real one does when overloaded)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        self.attempts += 1
        return MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        pass


def test_failed_exports_of_the_applications_reader_are_counted():
    import mlotel

    refusing = _Refusing()
    pushing = PeriodicExportingMetricReader(refusing, export_interval_millis=math.inf)
    reading = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[pushing, reading], shutdown_on_exit=False)
    mlotel.configure(meter_provider=provider, tracer_provider=TracerProvider(shutdown_on_exit=False))
    try:
        mlotel.monitor(model="m")(lambda X: X)(np.ones((4, 3)))
        pushing.force_flush()  # the application's exporter fails: every point of it is counted
        assert refusing.attempts == 1
        dropped = [
            point
            for rm in reading.get_metrics_data().resource_metrics
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if metric.name == "mlotel.export.dropped.count"
            for point in metric.data.data_points
        ]
        assert [(p.attributes["mlotel.signal"], p.attributes["error.type"]) for p in dropped] == [
            ("metrics", "export_failed")
        ]
        # duration, batch size, CPU time, 3 features, 3 missing counters, 3 outputs: 12 points at least
        assert dropped[0].value >= 12
    finally:
        mlotel.shutdown()
    assert type(pushing._exporter) is _Refusing  # put back as it was


def test_a_metric_export_failing_at_exit_is_logged(tmp_path):
    closed = free_port()  # nothing listens there
    app = tmp_path / "app.py"
    app.write_text(
        textwrap.dedent(
            """
            import numpy as np
            from opentelemetry import metrics
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            import mlotel

            exporter = OTLPMetricExporter(timeout=1)
            metrics.set_meter_provider(MeterProvider(metric_readers=[PeriodicExportingMetricReader(exporter)]))
            mlotel.monitor(model="m")(lambda X: X)(np.ones((4, 3)))
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MLOTEL_"))}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{closed}",
        OTEL_TRACES_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        MLOTEL_DATA_DIR=str(tmp_path / "data"),
    )
    proc = subprocess.run([sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "metrics item(s) could not be delivered at exit (export_failed)" in proc.stderr, proc.stderr
