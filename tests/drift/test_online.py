"""Continuous drift inside @monitor(reference=...): gauges per interval and sliding window, alerts, skew."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlotel
from mlotel import _semconv as sc


def training_frame(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, n),
            "age": rng.normal(40, 10, n),
            "country": rng.choice(["fr", "de", "us"], n, p=[0.5, 0.3, 0.2]),
        }
    )


@pytest.fixture
def reference_path(tmp_path):
    train = training_frame()
    profile = mlotel.build_reference(
        train, categorical=["country"], target=(train["age"] > 40).astype(int).to_numpy()
    )
    path = tmp_path / "reference.json"
    profile.save(path)
    return path


def drift_points(metrics, window="sliding", name=sc.FEATURE_DRIFT):
    metric = metrics.get(name)
    if metric is None:
        return {}
    return {
        (
            p.attributes.get(sc.FEATURE_NAME, p.attributes.get(sc.OUTPUT_NAME)),
            p.attributes[sc.DRIFT_METHOD],
        ): p.value
        for p in metric.data.data_points
        if p.attributes[sc.DRIFT_WINDOW] == window
    }


def alert_logs(telemetry):
    return [r for r in telemetry.logs() if "drift alert" in str(r.log_record.body)]


def make_predict(reference_path, **options):
    @mlotel.monitor(model="fraud", version="3", reference=reference_path, categorical=["country"], **options)
    def predict(X):
        return (X["age"].to_numpy() > 40).astype(int)

    return predict


def test_same_distribution_gives_gauges_and_no_alert(telemetry, reference_path):
    predict = make_predict(reference_path)
    serving = training_frame(seed=1)
    for start in range(0, len(serving), 250):
        predict(serving.iloc[start : start + 250])
    metrics = telemetry.collect()
    sliding = drift_points(metrics)
    interval = drift_points(metrics, "interval")
    assert set(sliding) == set(interval)
    assert {m for (f, m) in sliding if f == "amount"} == {"psi", "js", "hellinger", "ks", "wasserstein"}
    assert {m for (f, m) in sliding if f == "country"} == {"chi2", "js", "psi"}
    assert sliding[("amount", "psi")] < 0.1
    assert sliding[("age", "wasserstein")] < 0.1
    assert not alert_logs(telemetry)
    assert sc.DRIFT_ALERT_COUNT not in metrics
    # Predictions are compared with the reference target.
    predictions = drift_points(metrics, name=sc.PREDICTION_DRIFT)
    assert ("prediction", "chi2") in predictions
    point = next(iter(metrics[sc.FEATURE_DRIFT].data.data_points))
    assert point.attributes[sc.MODEL_NAME] == "fraud" and point.attributes[sc.MODEL_VERSION] == "3"
    assert metrics[sc.FEATURE_DRIFT].unit == "1"


def test_shift_alerts_once_until_it_recovers(telemetry, reference_path):
    predict = make_predict(reference_path, drift_window=1)
    shifted = training_frame(seed=2)
    shifted["age"] += 15  # 1.5 standard deviations
    predict(shifted)
    first = telemetry.collect()
    assert drift_points(first)[("age", "psi")] > 0.2
    logs = alert_logs(telemetry)
    features = [r for r in logs if sc.FEATURE_NAME in r.log_record.attributes]
    assert {r.log_record.attributes[sc.DRIFT_METHOD] for r in features} >= {"psi", "wasserstein", "ks"}
    assert all(r.log_record.attributes[sc.FEATURE_NAME] == "age" for r in features)
    # The shift moved the predictions too: prediction drift against the reference target.
    assert any(r.log_record.attributes.get(sc.OUTPUT_NAME) == "prediction" for r in logs)
    assert all(r.log_record.severity_text == "WARN" for r in logs)
    assert logs[0].log_record.trace_id != 0  # correlated with the model's last call
    alerts = {
        p.attributes[sc.DRIFT_METHOD]: p.value
        for p in first[sc.DRIFT_ALERT_COUNT].data.data_points
        if p.attributes.get(sc.FEATURE_NAME) == "age"
    }
    assert alerts["psi"] == 1
    n_logs = len(logs)

    predict(shifted)  # still drifted: no new alert
    second = telemetry.collect()
    assert len(alert_logs(telemetry)) == n_logs
    alerts = {
        p.attributes[sc.DRIFT_METHOD]: p.value
        for p in second[sc.DRIFT_ALERT_COUNT].data.data_points
        if p.attributes.get(sc.FEATURE_NAME) == "age"
    }
    assert alerts["psi"] == 1  # cumulative counter unchanged

    predict(training_frame(seed=3))  # recovered
    telemetry.collect()
    predict(shifted)  # drifts again: a new alert
    third = telemetry.collect()
    alerts = {
        p.attributes[sc.DRIFT_METHOD]: p.value
        for p in third[sc.DRIFT_ALERT_COUNT].data.data_points
        if p.attributes.get(sc.FEATURE_NAME) == "age"
    }
    assert alerts["psi"] == 2


def test_new_category_alerts(telemetry, reference_path):
    predict = make_predict(reference_path, drift_window=1)
    serving = training_frame(seed=4)
    serving.loc[serving.sample(frac=0.2, random_state=0).index, "country"] = "br"
    predict(serving)
    telemetry.collect()
    methods = {
        r.log_record.attributes[sc.DRIFT_METHOD]
        for r in alert_logs(telemetry)
        if r.log_record.attributes[sc.FEATURE_NAME] == "country"
    }
    assert {"chi2", "js", "psi"} <= methods


def test_missing_and_new_features_are_reported_once(telemetry, reference_path):
    predict = make_predict(reference_path)
    serving = training_frame(seed=5).drop(columns=["amount"]).assign(score=1.0)
    for _ in range(4):
        predict(serving)
        telemetry.collect()
    metrics = telemetry.collect()
    unmatched = {
        (p.attributes[sc.FEATURE_NAME], p.attributes[sc.DRIFT_REASON]): p.value
        for p in metrics[sc.DRIFT_UNMATCHED].data.data_points
    }
    assert unmatched == {("amount", "not_served"): 1, ("score", "not_in_reference"): 1}
    bodies = [str(r.log_record.body) for r in telemetry.logs()]
    assert sum("'amount' is in the reference but was never served" in b for b in bodies) == 1
    assert sum("'score' is served but not in the reference" in b for b in bodies) == 1


def test_a_damaged_reference_fails_at_decoration(tmp_path):
    path = tmp_path / "reference.json"
    path.write_text('{"format_version": 1, "features": {')
    with pytest.raises(mlotel.ReferenceProfileError, match="reference.json"):
        mlotel.monitor(reference=path)


def test_thresholds_are_validated_at_decoration(reference_path):
    with pytest.raises((TypeError, ValueError), match="psi_bogus"):
        mlotel.monitor(reference=reference_path, drift_thresholds={"psi_bogus": 1})
