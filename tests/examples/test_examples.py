"""Each example runs as written, in its own process, and its telemetry reaches a real collector."""

from __future__ import annotations

import json
import math
import os
import pickle
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mlotel import _semconv as sc
from tests.otlp_receiver import attrs_to_dict, free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SERVER = 2  # SpanKind.SERVER in OTLP


def _env(collector, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MLOTEL_"))}
    env.update(OTEL_EXPORTER_OTLP_ENDPOINT=collector.grpc_endpoint, **extra)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path, expect: int = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == expect, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _feature_names(metric) -> set[str]:
    return {attrs_to_dict(p.attributes)[sc.FEATURE_NAME] for p in metric.data_points}


def test_quickstart_sklearn(collector, tmp_path):
    proc = _run([sys.executable, str(EXAMPLES / "quickstart_sklearn.py")], _env(collector), tmp_path)
    assert "OTLP/grpc" in proc.stdout, proc.stdout
    assert not (tmp_path / "mlotel-data").exists()
    receiver = collector.receiver
    spans = receiver.wait_for_spans("predict iris-classifier", count=200)
    assert len(spans) == 200
    assert {s.attributes[sc.MODEL_VERSION] for s in spans} == {"1"}
    metric = receiver.wait_for_metrics(sc.FEATURE_VALUE)[-1]
    assert _feature_names(metric) == {
        "sepal length (cm)",
        "sepal width (cm)",
        "petal length (cm)",
        "petal width (cm)",
    }
    # Batch sizes add up to the rows the spans report.
    batch = receiver.wait_for_metrics(sc.PREDICTION_BATCH_SIZE)[-1]
    assert sum(p.sum for p in batch.data_points) == sum(s.attributes[sc.BATCH_SIZE] for s in spans)


def test_torch_under_opentelemetry_instrument(collector, tmp_path):
    pytest.importorskip("torch")
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    env = _env(collector, OTEL_SERVICE_NAME="iris-torch")
    proc = _run(
        [str(launcher), sys.executable, str(EXAMPLES / "torch_opentelemetry_instrument.py")], env, tmp_path
    )
    assert proc.stdout.count("rows ") == 6, proc.stdout
    receiver = collector.receiver
    # 100 training calls and 6 serving batches; the Linear/ReLU submodules give no spans.
    spans = receiver.wait_for_spans("forward IrisNet", count=106)
    assert len(spans) == 106
    assert len(receiver.spans()) == 106
    assert {s.attributes[sc.MODEL_FRAMEWORK] for s in spans} == {"torch"}
    assert sorted(s.attributes[sc.BATCH_SIZE] for s in spans)[:6] == [25] * 6
    assert spans[0].resource["service.name"] == "iris-torch"
    metric = receiver.wait_for_metrics(sc.FEATURE_VALUE)[-1]
    assert len(_feature_names(metric)) == 4


def _wait_until_serving(proc: subprocess.Popen, url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError(f"server not answering {url} after {timeout} s")


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_fastapi_service_over_real_http(collector, tmp_path):
    for module in ("fastapi", "uvicorn", "opentelemetry.instrumentation.fastapi"):
        pytest.importorskip(module)
    port = free_port()
    env = _env(collector, OTEL_SERVICE_NAME="iris-api", PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "fastapi_service.py")],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    setosa = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
    virginica = {"sepal_length": 7.7, "sepal_width": 3.0, "petal_length": 6.1, "petal_width": 2.3}
    try:
        _wait_until_serving(proc, f"{base}/health")
        answers = [
            _post(f"{base}/predict", {"flowers": [setosa]}),
            _post(f"{base}/predict", {"flowers": [setosa, virginica]}),
            _post(f"{base}/predict", {"flowers": [virginica]}),
        ]
    finally:
        proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully; the lifespan flushes mlotel
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert answers == [
        {"species": ["setosa"]},
        {"species": ["setosa", "virginica"]},
        {"species": ["virginica"]},
    ]

    receiver = collector.receiver
    predicts = receiver.wait_for_spans("predict iris", count=3)
    assert len(predicts) == 3
    servers = {s.span.span_id: s for s in receiver.spans() if s.span.kind == SERVER}
    assert len(servers) == 3  # /health is excluded
    for span in predicts:
        parent = servers[span.span.parent_span_id]  # the HTTP server span is the parent
        assert parent.name == "POST /predict"
        assert parent.span.trace_id == span.span.trace_id
        assert parent.resource["service.name"] == "iris-api"
    assert sorted(s.attributes[sc.BATCH_SIZE] for s in predicts) == [1, 1, 2]
    duration = receiver.wait_for_metrics(sc.PREDICTION_DURATION)[-1]
    assert sum(p.count for p in duration.data_points) == 3
    # One probability series per class, named by class_names.
    scores = receiver.wait_for_metrics(sc.PREDICTION_VALUE)[-1]
    outputs = {attrs_to_dict(p.attributes)[sc.OUTPUT_NAME]: p.count for p in scores.data_points}
    assert outputs == {"setosa": 4, "versicolor": 4, "virginica": 4}


def test_build_reference_then_gated_batch_scoring(collector, tmp_path):
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_diabetes

    artifacts = tmp_path / "artifacts"
    env = _env(collector, OTEL_SERVICE_NAME="batch-job")
    _run([sys.executable, str(EXAMPLES / "build_reference.py"), "--out", str(artifacts)], env, tmp_path)

    # The profile covers exactly the rows not in holdout.csv: training + holdout = the dataset.
    import mlotel

    full = load_diabetes(scaled=False, as_frame=True).data
    holdout = pd.read_csv(artifacts / "holdout.csv")
    profile = mlotel.ReferenceProfile.load(artifacts / "reference.json")
    assert list(profile.features) == list(full.columns)
    assert profile.n_rows + len(holdout) == len(full)
    for name, feature in profile.features.items():
        m = feature.moments
        assert m.mean * m.count + holdout[name].sum() == pytest.approx(full[name].sum(), rel=1e-12)
        assert min(m.min, holdout[name].min()) == full[name].min()

    # A batch like the training data passes the gate and is scored with the saved model.
    script = [sys.executable, str(EXAMPLES / "batch_scoring.py"), "--artifacts", str(artifacts)]
    proc = _run([*script, str(artifacts / "holdout.csv")], env, tmp_path)
    assert "overall: ok" in proc.stdout, proc.stdout
    scores = pd.read_csv(artifacts / "holdout.scores.csv")
    with open(artifacts / "model.pkl", "rb") as f:
        expected = pickle.load(f).predict(holdout)
    assert list(scores["row"]) == list(range(len(holdout)))
    assert scores["progression"].to_numpy() == pytest.approx(expected, rel=1e-5)

    receiver = collector.receiver
    n_chunks = math.ceil(len(holdout) / 64)
    spans = receiver.wait_for_spans("score diabetes-progression", count=n_chunks)
    assert sum(s.attributes[sc.BATCH_SIZE] for s in spans) == len(holdout)
    assert spans[0].resource["service.name"] == "batch-job"
    assert _feature_names(receiver.wait_for_metrics(sc.FEATURE_VALUE)[-1]) == set(full.columns)

    # The same batch with body-mass index 4 kg/m2 higher (one std) stops the job, unscored.
    drifted = holdout.assign(bmi=holdout["bmi"] + 4)
    drifted.to_csv(tmp_path / "drifted.csv", index=False)
    proc = _run([*script, str(tmp_path / "drifted.csv")], env, tmp_path, expect=1)
    assert "overall: alert" in proc.stdout, proc.stdout
    bmi = next(line for line in proc.stdout.splitlines() if line.startswith("bmi "))
    assert bmi.split()[1] == "alert"
    assert "not scored" in proc.stderr
    assert not (tmp_path / "drifted.scores.csv").exists()


def test_beyond_one_feature_multivariate_and_estimated_accuracy(collector, tmp_path):
    proc = _run([sys.executable, str(EXAMPLES / "beyond_one_feature.py")], _env(collector), tmp_path)
    assert "served 40 batches" in proc.stdout, proc.stdout
    receiver = collector.receiver

    def sliding(name, **where):
        metric = receiver.wait_for_metrics(name)[-1]
        points = [attrs_to_dict(p.attributes) | {"value": p.as_double} for p in metric.data_points]
        return [p for p in points if all(p.get(k) == v for k, v in where.items())]

    # The data bug moves no feature on its own, but the multivariate model sees it.
    (mv,) = sliding(sc.MULTIVARIATE_DRIFT, **{sc.DRIFT_WINDOW: "sliding"})
    (upper,) = sliding(sc.MULTIVARIATE_DRIFT_UPPER, **{sc.DRIFT_WINDOW: "sliding"})
    assert mv["value"] > upper["value"]
    psi = sliding(sc.FEATURE_DRIFT, **{sc.DRIFT_WINDOW: "sliding", sc.DRIFT_METHOD: "psi"})
    assert psi and max(p["value"] for p in psi) < 0.2
    alert = receiver.wait_for_logs(where=lambda r: r.attributes.get(sc.DRIFT_METHOD) == "reconstruction")
    assert "multivariate" in alert[0].body
    # Accuracy estimated from the scores, next to the accuracy of the labels that came back.
    accuracy = {sc.PERFORMANCE_METRIC: "accuracy", sc.PERFORMANCE_WINDOW: "sliding"}
    (estimated,) = sliding(sc.PERFORMANCE_ESTIMATED, **accuracy)
    (realized,) = sliding(sc.PERFORMANCE_REALIZED, **accuracy)
    assert 0.8 < estimated["value"] <= 1 and 0.8 < realized["value"] <= 1
