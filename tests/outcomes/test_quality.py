"""Quality metrics from outcomes, checked against scikit-learn's metrics on real models' predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, confusion_matrix, mean_absolute_error, mean_squared_error

import mlotel
from mlotel import _semconv as sc
from mlotel.outcomes import current_prediction_id, prediction_context, record_outcome
from mlotel.outcomes._record import trackers
from mlotel.sketches import ExponentialHistogram
from tests.mlotel_fixtures import points

IRIS_NAMES = ["setosa", "versicolor", "virginica"]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    order = np.random.default_rng(7).permutation(len(y))
    X, y = X[order][:, :2], y[order]  # two sepal features: a model that makes mistakes
    model = LogisticRegression(max_iter=500).fit(X[:90], y[:90])
    return model, X[90:], y[90:]


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    model = Ridge(alpha=0.5).fit(X[:300], y[:300])
    return model, X[300:], y[300:]


def confusion_from(metric, labels):
    """The exported ml.outcome.count as a confusion matrix: rows actual, columns predicted."""
    index = {str(label): i for i, label in enumerate(labels)}
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for p in metric.data.data_points:
        cm[index[p.attributes[sc.OUTCOME_CLASS]], index[p.attributes[sc.PREDICTION_CLASS]]] += p.value
    return cm


def gauge(metrics, name):
    (point,) = metrics[name].data.data_points
    return point.value


def test_classification_with_per_row_ids_matches_sklearn(telemetry, iris):
    model, X, y = iris

    @mlotel.monitor(model="iris", version="1", track_outcomes=True, id_arg="ids", outcome_window=10_000)
    def predict(X, ids):
        return model.predict(X)

    ids = [f"row-{i}" for i in range(len(y))]
    predicted = np.concatenate(
        [
            predict(chunk, ids=list(chunk_ids))
            for chunk, chunk_ids in zip(np.array_split(X, 7), np.array_split(ids, 7))
        ]
    )
    # Labels arrive later, in another order, in two deliveries.
    order = np.random.default_rng(3).permutation(len(y))
    record_outcome([ids[i] for i in order[:20]], y[order[:20]])
    record_outcome(np.asarray(ids)[order[20:]], y[order[20:]].tolist())

    metrics = telemetry.collect()
    expected = confusion_matrix(y, predicted, labels=[0, 1, 2])
    assert expected.trace() < len(y)  # the test is only telling if the model errs
    np.testing.assert_array_equal(confusion_from(metrics[sc.OUTCOME_COUNT], [0, 1, 2]), expected)
    assert gauge(metrics, sc.OUTCOME_ACCURACY) == pytest.approx(accuracy_score(y, predicted), abs=1e-12)
    for p in metrics[sc.OUTCOME_COUNT].data.data_points:
        assert p.attributes[sc.MODEL_NAME] == "iris" and p.attributes[sc.MODEL_VERSION] == "1"
    (delay,) = metrics[sc.OUTCOME_DELAY].data.data_points
    assert delay.count == len(y) and delay.min >= 0
    assert sc.OUTCOME_UNMATCHED not in metrics


def test_a_binary_score_per_row_is_a_classification_at_one_half(telemetry):
    """task="classification" with one positive-class probability per row (predict_proba(X)[:, 1],
    the common serving form): class 1 above 0.5, as scikit-learn's predict, not the float as a label."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X, y = data.data, data.target
    model = LogisticRegression(max_iter=5000).fit(X[::2], y[::2])

    @mlotel.monitor(model="cancer", track_outcomes=True, task="classification", outcome_window=10_000)
    def predict(X):
        return model.predict_proba(X)[:, 1]

    for chunk, labels in zip(np.array_split(X[1::2], 5), np.array_split(y[1::2], 5)):
        with prediction_context() as handle:
            predict(chunk)
        record_outcome(handle.prediction_id, labels)
    predicted = model.predict(X[1::2])
    metrics = telemetry.collect()
    assert gauge(metrics, sc.OUTCOME_ACCURACY) == pytest.approx(accuracy_score(y[1::2], predicted), abs=1e-12)
    np.testing.assert_array_equal(
        confusion_from(metrics[sc.OUTCOME_COUNT], [0, 1]), confusion_matrix(y[1::2], predicted, labels=[0, 1])
    )
    assert sc.OUTCOME_ERROR not in metrics  # not a regression


def test_classification_of_probabilities_with_class_names_and_call_ids(telemetry, iris):
    model, X, y = iris

    @mlotel.monitor(model="iris-proba", track_outcomes=True, class_names=IRIS_NAMES, outcome_window=10_000)
    def predict_proba(X):
        return model.predict_proba(X)

    calls = []
    for chunk, labels in zip(np.array_split(X, 6), np.array_split(y, 6)):
        with prediction_context() as handle:
            scores = predict_proba(chunk)
        calls.append((handle.prediction_id, scores, labels))
    predicted, actual = [], []
    for prediction_id, scores, labels in calls:
        names = [IRIS_NAMES[i] for i in labels]
        record_outcome(prediction_id, names)  # one id for the batch: one actual per row
        predicted += [IRIS_NAMES[i] for i in scores.argmax(axis=1)]
        actual += names

    metrics = telemetry.collect()
    np.testing.assert_array_equal(
        confusion_from(metrics[sc.OUTCOME_COUNT], IRIS_NAMES),
        confusion_matrix(actual, predicted, labels=IRIS_NAMES),
    )
    assert gauge(metrics, sc.OUTCOME_ACCURACY) == pytest.approx(accuracy_score(actual, predicted), abs=1e-12)


def test_regression_error_mae_rmse_match_sklearn(telemetry, diabetes):
    model, X, y = diabetes
    seen = []

    @mlotel.monitor(model="diabetes", track_outcomes=True, outcome_window=10_000)
    def predict(row):
        seen.append(current_prediction_id())
        return model.predict(row)

    ids, predicted = [], []
    for row in X:
        with prediction_context() as handle:
            predicted.append(predict(row[None, :])[0])
        ids.append(handle.prediction_id)
    assert ids == seen  # the id read inside the call is the one the handle got
    for prediction_id, actual in reversed(list(zip(ids, y))):
        record_outcome(prediction_id, float(actual))

    metrics = telemetry.collect()
    errors = np.abs(np.asarray(predicted) - y)
    (point,) = metrics[sc.OUTCOME_ERROR].data.data_points
    assert point.count == len(y)
    assert point.sum / point.count == pytest.approx(mean_absolute_error(y, predicted), rel=1e-9)
    assert point.max == pytest.approx(errors.max()) and point.min == pytest.approx(errors.min())
    sketch = ExponentialHistogram.from_otlp(point)
    assert sketch.quantile(0.5) == pytest.approx(np.median(errors), rel=2 * sketch.relative_error + 0.05)
    assert gauge(metrics, sc.OUTCOME_MAE) == pytest.approx(mean_absolute_error(y, predicted), rel=1e-9)
    assert gauge(metrics, sc.OUTCOME_RMSE) == pytest.approx(
        math.sqrt(mean_squared_error(y, predicted)), rel=1e-9
    )


def test_rolling_gauges_cover_the_last_window(telemetry, diabetes, iris):
    model, X, y = iris

    @mlotel.monitor(model="iris-rolling", track_outcomes=True, id_arg="ids", outcome_window=25)
    def predict(X, ids):
        return model.predict(X)

    ids = list(range(len(y)))
    predicted = predict(X, ids=ids)
    order = np.random.default_rng(5).permutation(len(y))
    for start in range(0, len(y), 9):  # uneven deliveries wrap the window several times
        part = order[start : start + 9]
        record_outcome(part, y[part])
    last = order[-25:]
    metrics = telemetry.collect()
    assert gauge(metrics, sc.OUTCOME_ACCURACY) == pytest.approx(
        accuracy_score(y[last], predicted[last]), abs=1e-12
    )

    reg, Xr, yr = diabetes

    @mlotel.monitor(model="diabetes-rolling", track_outcomes=True, id_arg="ids", outcome_window=30)
    def regress(X, ids):
        return reg.predict(X)

    values = regress(Xr, ids=[f"d{i}" for i in range(len(yr))])
    record_outcome([f"d{i}" for i in range(len(yr))], yr)
    metrics = telemetry.collect()
    mae = points(metrics[sc.OUTCOME_MAE], **{sc.MODEL_NAME: "diabetes-rolling"})[0].value
    assert mae == pytest.approx(mean_absolute_error(yr[-30:], values[-30:]), rel=1e-9)


def test_a_million_unknown_ids_leave_the_cache_at_its_cap(telemetry):
    @mlotel.monitor(model="capped", track_outcomes=True, id_arg="ids", outcome_cache_size=500)
    def predict(X, ids):
        return X[:, 0]

    rng = np.random.default_rng(0)
    for i in range(4):  # 2000 predicted rows through a 500-row cache
        predict(rng.normal(size=(500, 2)), ids=np.arange(i * 500, (i + 1) * 500))
    (tracker,) = trackers(mlotel._runtime.active().generation, "capped")
    assert tracker.cache.rows == 500
    unknown = np.arange(10_000_000, 11_000_000)
    record_outcome(unknown, np.zeros(unknown.size))
    assert tracker.cache.rows <= 500 and len(tracker.cache) <= 500 and tracker.cache.remembered <= 500
    metrics = telemetry.collect()
    by_reason = {
        p.attributes[sc.OUTCOME_UNMATCHED_REASON]: p.value
        for p in metrics[sc.OUTCOME_UNMATCHED].data.data_points
    }
    assert by_reason == {"unknown": 1_000_000}
    telemetry.log_exporter.clear()
