"""Online multivariate drift: reconstruction errors of the served rows, ml.multivariate.drift, alerts.

Real monitored functions, real mlotel export pipeline (registry -> SDK MeterProvider ->
in-memory reader, log records through an SDK LoggerProvider).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlotel
from mlotel import _semconv as sc
from mlotel.drift.multivariate import METHOD


def frame(n: int, seed: int, sign: float = 1.0, categorical: bool = False) -> pd.DataFrame:
    """x1 = sign * x0 + noise: flipping ``sign`` keeps every marginal (x0 is symmetric)."""
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=n)
    data = {"x0": x0, "x1": sign * x0 + 0.3 * rng.normal(size=n), "x2": rng.normal(3.0, 2.0, n)}
    if categorical:
        data["color"] = rng.choice(np.array(["a", "b", "c"], dtype=object), n)
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def reference():
    return mlotel.build_reference(frame(20_000, 1), multivariate=True)


def gauges(metrics, name=sc.MULTIVARIATE_DRIFT, window="sliding"):
    metric = metrics.get(name)
    if metric is None:
        return []
    return [p for p in metric.data.data_points if p.attributes[sc.DRIFT_WINDOW] == window]


def alert_logs(telemetry):
    return [r for r in telemetry.logs() if "drift alert" in str(r.log_record.body)]


def alert_counts(metrics):
    metric = metrics.get(sc.DRIFT_ALERT_COUNT)
    if metric is None:
        return {}
    return {
        (p.attributes.get(sc.FEATURE_NAME), p.attributes[sc.DRIFT_METHOD]): p.value
        for p in metric.data.data_points
    }


def error_point(metrics):
    (point,) = metrics[sc.MULTIVARIATE_ERROR].data.data_points
    return point


def test_correlation_flip_alerts_multivariate_and_no_feature(telemetry, reference):
    @mlotel.monitor(model="m", version="1", reference=reference, drift_window=1)
    def predict(X):
        return X["x0"].to_numpy()

    same = frame(5000, 2)
    for start in range(0, 5000, 250):
        predict(same.iloc[start : start + 250])
    first = telemetry.collect()
    (point,) = gauges(first)
    assert 0.9 < point.value < 1.1  # current mean error / reference mean error
    assert point.attributes[sc.DRIFT_METHOD] == METHOD and point.attributes[sc.MODEL_NAME] == "m"
    (lower,) = gauges(first, sc.MULTIVARIATE_DRIFT_LOWER)
    (upper,) = gauges(first, sc.MULTIVARIATE_DRIFT_UPPER)
    assert lower.value < point.value < upper.value and lower.value < 1 < upper.value
    assert len(gauges(first, window="interval")) == 1
    assert first[sc.MULTIVARIATE_DRIFT].unit == "1"
    errors = error_point(first)  # the sketch of the errors: exported like any other value
    assert errors.count == 5000
    assert errors.attributes[sc.MULTIVARIATE_MODEL] == reference.multivariate.fingerprint
    assert errors.sum == pytest.approx(reference.multivariate.errors(same.to_numpy()).sum())
    assert not alert_logs(telemetry)

    flipped = frame(5000, 3, sign=-1.0)
    for start in range(0, 5000, 250):
        predict(flipped.iloc[start : start + 250])
    second = telemetry.collect()
    (point,) = gauges(second)
    (upper,) = gauges(second, sc.MULTIVARIATE_DRIFT_UPPER)
    assert point.value > 2 > upper.value
    # Every marginal is unchanged: no feature alerts, no feature gauge near its threshold.
    assert all(m == METHOD for (_, m) in alert_counts(second))
    assert alert_counts(second) == {(None, METHOD): 1}
    psi = [
        p.value for p in second[sc.FEATURE_DRIFT].data.data_points if p.attributes[sc.DRIFT_METHOD] == "psi"
    ]
    assert psi and max(psi) < 0.1
    (log,) = alert_logs(telemetry)
    assert log.log_record.severity_text == "WARN"
    assert log.log_record.attributes[sc.DRIFT_METHOD] == METHOD
    assert log.log_record.attributes[sc.DRIFT_VALUE] == pytest.approx(point.value)
    assert sc.FEATURE_NAME not in log.log_record.attributes
    assert log.log_record.trace_id != 0  # correlated with the model's last call

    predict(flipped)  # still drifted: once until it recovers
    assert alert_counts(telemetry.collect()) == {(None, METHOD): 1}
    assert len(alert_logs(telemetry)) == 1
    predict(frame(5000, 4))  # recovered
    telemetry.collect()
    predict(flipped)  # drifts again: a new alert
    assert alert_counts(telemetry.collect()) == {(None, METHOD): 2}
    assert len(alert_logs(telemetry)) == 2


def test_sliding_window_alerts_once_enough_rows_drift(telemetry, reference):
    @mlotel.monitor(model="m", reference=reference, drift_window=3)
    def predict(X):
        return X["x0"].to_numpy()

    predict(frame(3000, 5))
    telemetry.collect()
    predict(frame(3000, 6, sign=-1.0))
    metrics = telemetry.collect()
    (interval,) = gauges(metrics, window="interval")
    (sliding,) = gauges(metrics)
    assert interval.value > sliding.value > 1  # the window still holds the unchanged interval
    assert alert_counts(metrics) == {(None, METHOD): 1}  # alerts come from the sliding window


def test_one_row_numpy_calls_are_batched_and_exact(telemetry, reference):
    @mlotel.monitor(model="m", reference=reference, features=["x0", "x1", "x2"])
    def predict(X):
        return X[:, 0]

    X = frame(1000, 7).to_numpy()
    for row in X:
        predict(row[None, :])  # one row per call: the input block path
    point = error_point(telemetry.collect())
    assert point.count == 1000
    assert point.sum == pytest.approx(reference.multivariate.errors(X).sum())

    # Columns in another order than the model's: picked by name.
    @mlotel.monitor(model="swapped", reference=reference, features=["x2", "x0", "x1"])
    def swapped(X):
        return X[:, 0]

    for row in X[:, [2, 0, 1]]:
        swapped(row[None, :])
    points = {
        p.attributes[sc.MODEL_NAME]: p for p in telemetry.collect()[sc.MULTIVARIATE_ERROR].data.data_points
    }
    assert points["swapped"].sum == pytest.approx(reference.multivariate.errors(X).sum())


def test_missing_values_and_categories_online_equal_batch(telemetry):
    train = frame(10_000, 8, categorical=True)
    reference = mlotel.build_reference(train, categorical=["color"], multivariate=True)
    assert set(reference.multivariate.categories["color"]) == {"a", "b", "c"}
    serving = frame(2000, 9, categorical=True)
    serving.loc[::7, "x1"] = np.nan
    serving.loc[::11, "color"] = None
    serving.loc[::13, "color"] = "new"  # not in the reference: "other"

    @mlotel.monitor(model="m", reference=reference, categorical=["color"])
    def predict(X):
        return np.zeros(len(X))

    for start in range(0, 2000, 100):
        predict(serving.iloc[start : start + 100])
    for record in serving.iloc[:50].to_dict("records"):
        predict([record])  # one row at a time, as a list of dicts
    online = error_point(telemetry.collect())
    batch = mlotel.profile_current(pd.concat([serving, serving.iloc[:50]]), reference).multivariate
    assert online.count == batch.count == 2050
    assert online.sum == pytest.approx(batch.total, rel=1e-9)


def test_a_fault_in_the_errors_never_reaches_the_model(telemetry, reference, monkeypatch):
    @mlotel.monitor(model="m", reference=reference)
    def predict(X):
        return X["x0"].to_numpy()

    def broken(self, matrix):
        raise RuntimeError("boom")

    monkeypatch.setattr(type(reference.multivariate), "errors", broken)
    out = predict(frame(10, 10))
    assert out.shape == (10,)
    metrics = telemetry.collect()
    faults = {p.attributes[sc.FAULT_KIND]: p.value for p in metrics[sc.FAULT_COUNT].data.data_points}
    assert faults["multivariate"] >= 1
    assert sc.FEATURE_VALUE in metrics  # the rest of the call was recorded


def test_without_a_model_nothing_multivariate_is_exported(telemetry):
    plain = mlotel.build_reference(frame(2000, 11))

    @mlotel.monitor(model="m", reference=plain)
    def predict(X):
        return X["x0"].to_numpy()

    predict(frame(500, 12))
    metrics = telemetry.collect()
    assert sc.FEATURE_DRIFT in metrics
    assert not {sc.MULTIVARIATE_ERROR, sc.MULTIVARIATE_DRIFT} & set(metrics)


def test_a_served_column_named_multivariate_stays_a_feature(telemetry, reference):
    @mlotel.monitor(model="m", reference=reference, drift_window=1)
    def predict(X):
        return X["x0"].to_numpy()

    data = frame(2000, 13)
    data["multivariate"] = np.random.default_rng(14).normal(size=2000)
    predict(data)
    metrics = telemetry.collect()
    (point,) = gauges(metrics)
    assert 0.8 < point.value < 1.2 and sc.FEATURE_NAME not in point.attributes
    unmatched = {p.attributes[sc.FEATURE_NAME] for p in metrics[sc.DRIFT_UNMATCHED].data.data_points}
    assert unmatched == {"multivariate"}  # served, not in the reference: reported as such
