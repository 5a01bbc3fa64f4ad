"""Prediction and payload log records: off by default, sampled, filtered, redacted, capped, tied to the span."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlotel
from mlotel import _semconv as sc
from mlotel.monitor._payload import encoded_size, fit
from tests.mlotel_fixtures import points

SECRET_AMOUNTS = [913.25, 47.5, 1234.75]
SECRET_COUNTRIES = ["Narnia-7", "Atlantis-3", "Oz-11"]


def frame():
    return pd.DataFrame({"amount": SECRET_AMOUNTS, "country": SECRET_COUNTRIES, "age": [31, 45, 62]})


def prediction_logs(telemetry):
    return [r.log_record for r in telemetry.logs() if r.log_record.event_name == sc.EVENT_PREDICTION]


def test_default_options_emit_no_record_and_no_value_on_spans(telemetry):
    @mlotel.monitor(model="fraud")
    def predict(df):
        return (df["amount"] > 100).astype(int).to_numpy()

    for _ in range(5):
        predict(frame())
    assert telemetry.logs() == []
    text = json.dumps(
        [dict(s.attributes) for s in telemetry.spans()]
        + [{"events": [dict(e.attributes) for e in s.events]} for s in telemetry.spans()]
    )
    for value in [*SECRET_AMOUNTS, *SECRET_COUNTRIES]:
        assert str(value) not in text


def test_log_payloads_one_records_features_predictions_and_the_span(telemetry):
    @mlotel.monitor(model="fraud", version="2", log_payloads=1.0)
    def predict(df):
        return (df["amount"] > 100).astype(int).to_numpy()

    predict(frame())
    (record,) = prediction_logs(telemetry)
    (span,) = telemetry.spans()
    assert record.trace_id == span.context.trace_id and record.span_id == span.context.span_id
    assert record.attributes[sc.PREDICTION_ID] == span.attributes[sc.PREDICTION_ID]
    assert record.attributes[sc.MODEL_NAME] == "fraud" and record.attributes[sc.MODEL_VERSION] == "2"
    assert record.body == {
        "features": {"amount": SECRET_AMOUNTS, "country": SECRET_COUNTRIES, "age": [31.0, 45.0, 62.0]},
        "predictions": {"prediction": [1, 0, 1]},
    }
    assert sc.PAYLOAD_TRUNCATED_ATTR not in record.attributes


def test_log_predictions_alone_carries_no_feature(telemetry):
    @mlotel.monitor(model="fraud", log_predictions=True, id_arg="ids")
    def predict(df, ids=None):
        return df["amount"].to_numpy() * 0.5

    predict(frame(), ids=["a", "b", "c"])
    (record,) = prediction_logs(telemetry)
    assert record.body == {
        "predictions": {"prediction": [x * 0.5 for x in SECRET_AMOUNTS]},
        "ids": ["a", "b", "c"],
    }


def test_fields_allow_and_deny_lists_then_redaction(telemetry):
    seen = []

    def redact(body):
        seen.append(body)
        body["features"]["country"] = ["<redacted>"] * len(body["features"]["country"])
        return body

    @mlotel.monitor(
        model="fraud", log_payloads=1.0, payload_fields=["amount", "country"], payload_exclude=["amount"],
        payload_redact=redact,
    )  # fmt: skip
    def predict(df):
        return np.zeros(len(df))

    predict(frame())
    (record,) = prediction_logs(telemetry)
    assert record.body["features"] == {"country": ["<redacted>"] * 3}
    assert len(seen) == 1


@pytest.mark.parametrize("redact", [lambda body: 1 / 0, lambda body: "not a dict"])
def test_a_failing_redaction_drops_the_record(telemetry, redact):
    @mlotel.monitor(model="fraud", log_payloads=1.0, payload_redact=redact)
    def predict(df):
        return np.zeros(len(df))

    assert predict(frame()).shape == (3,)  # the call itself is unaffected
    assert prediction_logs(telemetry) == []
    faults = points(telemetry.collect()[sc.FAULT_COUNT], **{sc.FAULT_KIND: "payload"})
    assert sum(p.value for p in faults) == 1


def test_records_are_capped_and_truncation_is_counted(telemetry):
    @mlotel.monitor(model="big", log_payloads=1.0, payload_max_bytes=1024)
    def predict(X):
        return X[:, 0]

    X = np.arange(2000, dtype=np.float64).reshape(500, 4)
    predict(X)
    predict(X[:2])
    big, small = prediction_logs(telemetry)
    assert encoded_size(big.body) <= 1024 and big.attributes[sc.PAYLOAD_TRUNCATED_ATTR] is True
    kept = len(big.body["predictions"]["prediction"])
    assert 0 < kept < 500
    assert big.body["features"]["f0"] == X[:kept, 0].tolist()  # the leading rows, whole and in order
    assert sc.PAYLOAD_TRUNCATED_ATTR not in small.attributes
    (truncated,) = telemetry.collect()[sc.PAYLOAD_TRUNCATED].data.data_points
    assert truncated.value == 1 and truncated.attributes[sc.MODEL_NAME] == "big"


def test_fit_clips_long_strings_and_drops_what_cannot_fit():
    body = {"features": {"text": ["x" * 5000]}, "predictions": {"prediction": [1]}}
    clipped, cut = fit(body, 1024)
    assert cut and encoded_size(clipped) <= 1024 and clipped["features"]["text"][0].startswith("xxx")
    huge = {"features": {f"f{i}": ["y" * 100] for i in range(200)}}
    assert fit(huge, 256) == (None, True)
    assert fit({"a": [1]}, 256) == ({"a": [1]}, False)


def test_sampling_rate_is_honoured(telemetry):
    @mlotel.monitor(model="sampled", log_payloads=0.2, sketch_inputs=False, sketch_outputs=False)
    def predict(x):
        return x

    n = 2000
    for i in range(n):
        predict(float(i))
    logged = len(prediction_logs(telemetry))
    sigma = (n * 0.2 * 0.8) ** 0.5
    assert abs(logged - n * 0.2) < 5 * sigma


def test_a_failed_call_logs_its_features_and_error_type(telemetry):
    @mlotel.monitor(model="fraud", log_payloads=1.0, log_predictions=True)
    def predict(df):
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError):
        predict(frame())
    (record,) = prediction_logs(telemetry)
    assert record.attributes[sc.ERROR_TYPE] == "RuntimeError"
    assert set(record.body) == {"features"}
