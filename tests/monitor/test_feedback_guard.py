"""A monitored model whose drift reference it served itself: one WARN (log record and Python
logging), and the ``ml.reference.served.ratio`` gauge at every collection."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from opentelemetry._logs import SeverityNumber

import mlotel
from mlotel import _semconv as sc
from tests.mlotel_fixtures import points


def _reference(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"amount": rng.lognormal(3, 1, 400)})
    df["pid"] = [f"id{i}" if i % 4 else None for i in range(400)]  # 300 of 400 rows served
    ref = mlotel.build_reference(df, prediction_id="pid", model="fraud", version="2")
    ref.save(tmp_path / "ref.json")
    return tmp_path / "ref.json"


def _warnings(telemetry):
    return [r.log_record for r in telemetry.logs() if r.log_record.severity_number == SeverityNumber.WARN]


def test_own_served_reference_warns_once_and_exports_the_ratio(telemetry, tmp_path, caplog):
    @mlotel.monitor(model="fraud", version="3", reference=str(_reference(tmp_path)))
    def predict(X):
        return (X["amount"] > 20).astype(int).to_numpy()

    frame = pd.DataFrame({"amount": [5.0, 50.0]})
    with caplog.at_level(logging.WARNING, logger="mlotel"):
        for _ in range(3):
            predict(frame)
        first = telemetry.collect()
        predict(frame)
        second = telemetry.collect()

    (record,) = [r for r in _warnings(telemetry) if "feedback loop" in str(r.body)]
    assert "75.0% of the drift reference of model 'fraud'" in record.body
    assert record.attributes[sc.MODEL_NAME] == "fraud" and record.attributes[sc.REFERENCE_SOURCE] == "mixed"
    assert sum("feedback loop" in m for m in caplog.messages) == 1
    for collected in (first, second):  # a constant, exported at each collection
        metric = collected[sc.REFERENCE_SERVED_RATIO]
        assert metric.unit == "1"
        (point,) = points(metric, **{sc.MODEL_NAME: "fraud", sc.MODEL_VERSION: "3"})
        assert point.value == 0.75


def test_reference_served_by_another_model_exports_zero_and_does_not_warn(telemetry, tmp_path, caplog):
    @mlotel.monitor(model="churn", reference=str(_reference(tmp_path)))
    def predict(X):
        return X["amount"].to_numpy()

    with caplog.at_level(logging.WARNING, logger="mlotel"):
        predict(pd.DataFrame({"amount": [1.0]}))
        collected = telemetry.collect()
    (point,) = points(collected[sc.REFERENCE_SERVED_RATIO], **{sc.MODEL_NAME: "churn"})
    assert point.value == 0.0
    assert not any("feedback loop" in str(r.body) for r in _warnings(telemetry))
    assert not any("feedback loop" in m for m in caplog.messages)


def test_reference_without_lineage_exports_no_ratio(telemetry):
    ref = mlotel.build_reference(pd.DataFrame({"amount": np.arange(50.0)}))

    @mlotel.monitor(model="fraud", reference=ref)
    def predict(X):
        return X["amount"].to_numpy()

    predict(pd.DataFrame({"amount": [1.0]}))
    assert sc.REFERENCE_SERVED_RATIO not in telemetry.collect()
