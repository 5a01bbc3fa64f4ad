"""The label-free performance estimate inside @monitor(reference=...): ml.performance.estimated per
interval and sliding window, the realized values from joined outcomes, and outputs it must skip."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlotel
from mlotel import _semconv as sc
from mlotel.performance import aggregate, estimate
from tests.mlotel_fixtures import points


@pytest.fixture(scope="module")
def cancer():
    data = load_breast_cancer()
    X, y = data.data[:, :8], data.target
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order], y[order]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:200], y[:200])
    reference = mlotel.build_reference(
        X[200:400], target=y[200:400], predictions=model.predict_proba(X[200:400]), performance_estimate=True
    )
    return model, reference, X[400:], y[400:]


def gauges(metrics, name, window):
    metric = metrics.get(name)
    if metric is None:
        return {}
    return {
        p.attributes[sc.PERFORMANCE_METRIC]: p.value
        for p in metric.data.data_points
        if p.attributes[sc.PERFORMANCE_WINDOW] == window
    }


def test_estimated_and_realized_per_interval_and_window(telemetry, cancer):
    model, reference, X, y = cancer

    @mlotel.monitor(model="cancer", version="1", reference=reference, track_outcomes=True)
    def predict(X):
        return model.predict_proba(X)

    first, second = slice(0, 90), slice(90, len(y))
    for part in (first, second):
        for start in range(part.start, part.stop, 30):
            rows = slice(start, min(start + 30, part.stop))
            with mlotel.prediction_context() as handle:
                predict(X[rows])
            mlotel.record_outcome(handle.prediction_id, y[rows])
        metrics = telemetry.collect()
        if part is first:
            first_metrics = metrics
    calibration = reference.performance

    def offline(rows):
        return {
            e.metric: e
            for e in estimate(calibration, aggregate(calibration, model.predict_proba(X[rows])[:, 1]))
        }

    # The first interval: its own rows; the second: its rows alone and (sliding) both intervals'.
    for collected, interval_rows in ((first_metrics, first), (metrics, second)):
        expected = offline(interval_rows)
        estimated = gauges(collected, sc.PERFORMANCE_ESTIMATED, "interval")
        errors = gauges(collected, sc.PERFORMANCE_ESTIMATED_ERROR, "interval")
        assert set(estimated) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
        for metric, e in expected.items():
            assert estimated[metric] == pytest.approx(e.value, rel=1e-9)
            assert errors[metric] == pytest.approx(e.error, rel=1e-9)
    sliding = gauges(metrics, sc.PERFORMANCE_ESTIMATED, "sliding")
    assert sliding["accuracy"] == pytest.approx(offline(slice(0, len(y)))["accuracy"].value, rel=1e-9)
    # Realized, from the outcomes joined in each window, next to the estimate.
    predicted = model.predict(X)
    realized = gauges(metrics, sc.PERFORMANCE_REALIZED, "interval")
    assert realized["accuracy"] == pytest.approx(accuracy_score(y[second], predicted[second]))
    assert realized["precision"] == pytest.approx(precision_score(y[second], predicted[second]))
    assert realized["recall"] == pytest.approx(recall_score(y[second], predicted[second]))
    assert realized["f1"] == pytest.approx(f1_score(y[second], predicted[second]))
    realized_sliding = gauges(metrics, sc.PERFORMANCE_REALIZED, "sliding")
    assert realized_sliding["accuracy"] == pytest.approx(accuracy_score(y, predicted))
    # ... and the estimate is within its stated error of it.
    estimated_sliding = offline(slice(0, len(y)))["accuracy"]
    assert abs(estimated_sliding.value - realized_sliding["accuracy"]) <= estimated_sliding.error
    point = points(metrics[sc.PERFORMANCE_ESTIMATED], **{sc.PERFORMANCE_METRIC: "accuracy"})[0]
    assert point.attributes[sc.MODEL_NAME] == "cancer" and point.attributes[sc.MODEL_VERSION] == "1"
    assert metrics[sc.PERFORMANCE_ESTIMATED].unit == "1"


def test_positive_class_scores_and_per_row_ids(telemetry, cancer):
    model, reference, X, y = cancer

    @mlotel.monitor(model="scores", reference=reference, track_outcomes=True, id_arg="ids")
    def predict(X, ids):
        return model.predict_proba(X)[:, 1]  # one score per row

    ids = [f"r{i}" for i in range(len(y))]
    predict(X, ids)
    mlotel.record_outcome(ids, list(y))
    metrics = telemetry.collect()
    estimated = gauges(metrics, sc.PERFORMANCE_ESTIMATED, "interval")
    assert set(estimated) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    realized = gauges(metrics, sc.PERFORMANCE_REALIZED, "interval")
    assert realized["accuracy"] == pytest.approx(accuracy_score(y, model.predict(X)))


def test_without_outcomes_only_the_estimate(telemetry, cancer):
    model, reference, X, _ = cancer

    @mlotel.monitor(model="quiet", reference=reference)
    def predict(X):
        return model.predict_proba(X)

    predict(X)
    metrics = telemetry.collect()
    assert gauges(metrics, sc.PERFORMANCE_ESTIMATED, "sliding")
    assert sc.PERFORMANCE_REALIZED not in metrics


def test_off_when_asked(telemetry, cancer):
    model, reference, X, _ = cancer

    @mlotel.monitor(model="off", reference=reference, performance_estimate=False)
    def predict(X):
        return model.predict_proba(X)

    predict(X)
    assert sc.PERFORMANCE_ESTIMATED not in telemetry.collect()


def test_non_probability_outputs_are_reported_once_and_skipped(telemetry, cancer, caplog):
    model, reference, X, _ = cancer

    @mlotel.monitor(model="margins", reference=reference)
    def predict(X):
        return model.decision_function(X)  # margins, not probabilities

    expected = model.decision_function(X)
    for _ in range(3):
        np.testing.assert_array_equal(predict(X), expected)  # the call is unaffected
    metrics = telemetry.collect()
    assert sc.PERFORMANCE_ESTIMATED not in metrics
    # Small outputs are checked in blocks: the last one at that collection, counted in the next.
    metrics = telemetry.collect()
    assert points(metrics[sc.FAULT_COUNT], **{sc.FAULT_KIND: "performance"})[0].value == 3
    warnings = [r for r in telemetry.logs() if "performance estimate" in str(r.log_record.body)]
    assert len(warnings) == 1
    assert "outside [0, 1]" in str(warnings[0].log_record.body)


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (lambda p: p * 0.5, "do not sum to 1"),
        (lambda p: (p[:, 1] > 0.5).astype(int), "labels"),
        (lambda p: np.column_stack([p, p[:, :1] * 0]), "3 score columns"),
        (lambda p: p.tolist(), None),  # a list of rows: read as probabilities, fine
    ],
)
def test_other_outputs(telemetry, cancer, output, reason):
    model, reference, X, _ = cancer

    @mlotel.monitor(model="odd", reference=reference)
    def predict(X):
        return output(model.predict_proba(X))

    predict(X)
    metrics = telemetry.collect()
    warnings = [
        str(r.log_record.body) for r in telemetry.logs() if "performance estimate" in str(r.log_record.body)
    ]
    if reason is None:
        assert gauges(metrics, sc.PERFORMANCE_ESTIMATED, "interval")
        assert not warnings
    else:
        assert sc.PERFORMANCE_ESTIMATED not in metrics
        assert len(warnings) == 1 and reason in warnings[0]


def test_missing_scores_are_left_out(telemetry, cancer):
    model, reference, X, _ = cancer
    proba = model.predict_proba(X)
    proba[::3] = np.nan

    @mlotel.monitor(model="gaps", reference=reference)
    def predict(X):
        return proba

    predict(X)
    metrics = telemetry.collect()
    calibration = reference.performance
    kept = proba[~np.isnan(proba[:, 0]), 1]
    (accuracy,) = [e for e in estimate(calibration, aggregate(calibration, kept)) if e.metric == "accuracy"]
    assert gauges(metrics, sc.PERFORMANCE_ESTIMATED, "interval")["accuracy"] == pytest.approx(accuracy.value)
    assert not [r for r in telemetry.logs() if "performance estimate" in str(r.log_record.body)]


def test_one_row_calls_are_aggregated_in_blocks_exactly(telemetry, cancer):
    model, reference, X, _ = cancer
    proba = model.predict_proba(X)
    bad = np.array([[0.3, 0.9]])  # one non-probability row among good ones

    @mlotel.monitor(model="rows", reference=reference)
    def predict(i, scores_only=False):
        if i == 7:
            return bad
        return proba[i : i + 1, 1] if scores_only else proba[i : i + 1]

    for i in range(len(proba)):  # 169 one-row calls: fewer than a block
        predict(i)
    for i in range(len(proba)):  # then more, half of them 1-D positive-class scores (another shape)
        predict(i, scores_only=i % 2 == 0)
    metrics = telemetry.collect()
    calibration = reference.performance
    good = np.delete(np.concatenate([proba, proba]), [7, 7 + len(proba)], axis=0)[:, 1]
    expected = {e.metric: e.value for e in estimate(calibration, aggregate(calibration, good))}
    assert gauges(metrics, sc.PERFORMANCE_ESTIMATED, "interval") == pytest.approx(expected, rel=1e-9)
    warnings = [r for r in telemetry.logs() if "performance estimate" in str(r.log_record.body)]
    assert len(warnings) == 1 and "sum to 1" in str(warnings[0].log_record.body)
