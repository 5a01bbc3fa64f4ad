"""Outcomes end to end through a real collector: quality metrics, and prediction/outcome log records
joinable in the backend, from the process that predicted and from another one."""

from __future__ import annotations

import importlib.util
import json
import textwrap

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix

from tests.apps import run_app
from tests.otlp_receiver import attrs_to_dict

TRAIN = textwrap.dedent(
    """
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    order = np.random.default_rng(11).permutation(len(y))
    X, y = X[order][:, :2], y[order]
    model = LogisticRegression(max_iter=500).fit(X[:100], y[:100])
    X_test, y_test = X[100:], y[100:]
    """
)

PREDICT_APP = TRAIN + textwrap.dedent(
    """
    import json
    import mlotel
    import mlotel.outcomes
    from mlotel import resources
    from opentelemetry import metrics

    @mlotel.monitor(model="iris", version="1", track_outcomes=True, log_predictions=True, outcome_window=10_000)
    def predict(X):
        return model.predict(X)

    ids = []
    for row in X_test:
        with mlotel.outcomes.prediction_context() as p:
            predict(row[None, :])
        ids.append(p.prediction_id)
    resources.enable(metrics.get_meter_provider(), gpu=False)
    for prediction_id, label in zip(ids[:30], y_test[:30]):   # labels known now, in this process
        mlotel.outcomes.record_outcome(prediction_id, int(label))
    mlotel.outcomes.record_outcome("no-such-prediction", 1)
    with open("ids.json", "w") as f:  # the rest is labelled later, by another process
        json.dump({"later": list(zip(ids[30:], y_test[30:].tolist()))}, f)
    """
)

LABEL_APP = textwrap.dedent(
    """
    import json
    import mlotel.outcomes
    later = json.load(open("ids.json"))["later"]
    mlotel.outcomes.record_outcome([i for i, _ in later], [label for _, label in later], model="iris")
    """
)


def test_quality_metrics_and_joinable_log_records_through_a_collector(collector, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {
        "OTEL_SERVICE_NAME": "iris-api",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.grpc_endpoint,
        "MLOTEL_DATA_DIR": str(tmp_path / "data"),
    }
    run_app(PREDICT_APP, env)
    run_app(LABEL_APP, {**env, "OTEL_SERVICE_NAME": "labeler"})
    receiver = collector.receiver

    # The truth, computed here the same way the app trained its model.
    X, y = load_iris(return_X_y=True)
    order = np.random.default_rng(11).permutation(len(y))
    X, y = X[order][:, :2], y[order]
    model = LogisticRegression(max_iter=500).fit(X[:100], y[:100])
    predicted = model.predict(X[100:])
    y_test = y[100:]

    def count_points(r):
        metric = r.latest_metric("ml.outcome.count")
        return metric if metric and sum(p.as_int for p in metric.data_points) == 30 else None

    count = receiver.wait_for(count_points)
    assert count.resource["service.name"] == "iris-api" and count.scope.name == "mlotel"
    cm = np.zeros((3, 3), dtype=np.int64)
    for p in count.data_points:
        attributes = attrs_to_dict(p.attributes)
        assert attributes["ml.model.name"] == "iris" and attributes["ml.model.version"] == "1"
        cm[int(attributes["ml.outcome.class"]), int(attributes["ml.prediction.class"])] += p.as_int
    np.testing.assert_array_equal(cm, confusion_matrix(y_test[:30], predicted[:30], labels=[0, 1, 2]))
    (accuracy,) = receiver.latest_metric("ml.outcome.accuracy").data_points
    assert accuracy.as_double == accuracy_score(y_test[:30], predicted[:30])
    (unmatched,) = receiver.latest_metric("ml.outcome.unmatched").data_points
    assert attrs_to_dict(unmatched.attributes)["ml.outcome.unmatched.reason"] == "unknown"
    assert unmatched.as_int == 1
    delay = receiver.latest_metric("ml.outcome.delay")
    assert delay.kind == "exponential_histogram" and delay.unit == "s" and delay.data_points[0].count == 30
    if importlib.util.find_spec("psutil") is not None:  # process metrics ride the same export
        cpus = [m for m in receiver.metrics("process.cpu.time") if m.resource["service.name"] == "iris-api"]
        assert cpus, "no process.cpu.time from the serving process"
        cpu = cpus[-1]
        assert cpu.unit == "s"
        assert {attrs_to_dict(p.attributes)["cpu.mode"] for p in cpu.data_points} == {"user", "system"}

    # Log records: one ml.prediction per call (tied to its span), ml.outcome from both processes.
    n = len(y_test)

    def complete(r):
        logs = r.logs()
        predictions = [log for log in logs if log.log.event_name == "ml.prediction"]
        outcomes = [log for log in logs if log.log.event_name == "ml.outcome"]
        return (predictions, outcomes) if len(predictions) == n and len(outcomes) == 32 else None

    predictions, outcomes = receiver.wait_for(complete)
    spans = {s.span.span_id: s for s in receiver.wait_for_spans(name="predict iris", count=n)}
    by_id = {}
    for record in predictions:
        span = spans[record.log.span_id]
        assert record.log.trace_id == span.span.trace_id
        assert record.attributes["ml.prediction.id"] == span.attributes["ml.prediction.id"]
        by_id[record.attributes["ml.prediction.id"]] = record.body["predictions"]["prediction"][0]
    assert [
        by_id[s.attributes["ml.prediction.id"]]
        for s in sorted(spans.values(), key=lambda s: s.span.start_time_unix_nano)
    ] == predicted.tolist()

    # The backend's join: every outcome, from either process, finds its prediction by id.
    joined = []
    for record in outcomes:
        if record.resource["service.name"] == "iris-api":
            prediction_id = record.attributes["ml.prediction.id"]
            if prediction_id != "no-such-prediction":
                joined.append((by_id[prediction_id], record.body["actual"]))
        else:
            assert record.resource["service.name"] == "labeler"
            assert record.attributes["ml.model.name"] == "iris"
            joined += [(by_id[i], a) for i, a in zip(record.body["ids"], record.body["actuals"])]
    assert len(joined) == n
    assert sorted(joined) == sorted(zip(predicted.tolist(), y_test.tolist()))
    later = json.loads((tmp_path / "ids.json").read_text())["later"]
    assert len(later) == n - 30
