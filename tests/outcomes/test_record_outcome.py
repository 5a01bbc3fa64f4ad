"""record_outcome(): unknown, late and duplicate outcomes are counted, never raised; outcome log records."""

from __future__ import annotations

import time

import numpy as np
import pytest

import mlotel
from mlotel import _semconv as sc
from mlotel.outcomes import prediction_context, record_outcome
from tests.mlotel_fixtures import points


def unmatched(telemetry, **attributes) -> dict[str, int]:
    metric = telemetry.collect().get(sc.OUTCOME_UNMATCHED)
    if metric is None:
        return {}
    out: dict[str, int] = {}
    for p in points(metric, **attributes):
        reason = p.attributes[sc.OUTCOME_UNMATCHED_REASON]
        out[reason] = out.get(reason, 0) + p.value
    return out


def outcome_logs(telemetry):
    return [r.log_record for r in telemetry.logs() if r.log_record.event_name == sc.EVENT_OUTCOME]


def test_unknown_duplicate_and_late_by_capacity(telemetry):
    @mlotel.monitor(model="m", track_outcomes=True, outcome_cache_size=2)
    def predict(x):
        return int(x)

    handles = []
    for x in (1, 2, 3):
        with prediction_context() as handle:
            predict(x)
        handles.append(handle.prediction_id)
    record_outcome(handles[0], 1)  # evicted by the third prediction: late
    record_outcome(handles[1], 2)
    record_outcome(handles[1], 2)  # again: duplicate
    record_outcome("0123456789abcdef", 0)  # never predicted: unknown
    record_outcome(None, 0)  # no id at all: unknown, no log record
    assert unmatched(telemetry, **{sc.MODEL_NAME: "m"}) == {"late": 1, "duplicate": 1, "unknown": 2}
    count = telemetry.collect()[sc.OUTCOME_COUNT]
    assert sum(p.value for p in count.data.data_points) == 1
    assert [r.attributes[sc.PREDICTION_ID] for r in outcome_logs(telemetry)] == [
        handles[0],
        handles[1],
        handles[1],
        "0123456789abcdef",
    ]


def test_late_by_ttl(telemetry):
    @mlotel.monitor(model="m", track_outcomes=True, outcome_ttl=0.05)
    def predict(x):
        return 1.5 * x

    with prediction_context() as early:
        predict(1.0)
    time.sleep(0.2)
    with prediction_context() as fresh:
        predict(2.0)
    record_outcome(early.prediction_id, 1.0)
    record_outcome(fresh.prediction_id, 3.5)
    assert unmatched(telemetry) == {"late": 1}
    (error,) = telemetry.collect()[sc.OUTCOME_ERROR].data.data_points
    assert (error.count, error.sum) == (1, pytest.approx(0.5))


def test_outcomes_without_tracking_are_only_logged(telemetry):
    @mlotel.monitor(model="plain")
    def predict(x):
        return x

    with prediction_context() as handle:
        predict(3)
    record_outcome(handle.prediction_id, 3, model="plain", version=2)
    metrics = telemetry.collect()
    assert not any(name.startswith("ml.outcome") for name in metrics)
    (log,) = outcome_logs(telemetry)
    assert dict(log.attributes) == {
        sc.PREDICTION_ID: handle.prediction_id,
        sc.MODEL_NAME: "plain",
        sc.MODEL_VERSION: "2",
    }
    assert log.body == {"actual": 3}


def test_batch_outcomes_are_logged_in_chunks(telemetry):
    ids = [f"id{i}" for i in range(2500)]
    record_outcome(ids, np.arange(2500) % 3)
    logs = outcome_logs(telemetry)
    assert [len(r.body["ids"]) for r in logs] == [1000, 1000, 500]
    assert [i for r in logs for i in r.body["ids"]] == ids
    assert [a for r in logs for a in r.body["actuals"]] == (np.arange(2500) % 3).tolist()


def test_model_filter_and_lookup_across_models(telemetry):
    @mlotel.monitor(model="a", track_outcomes=True, id_arg="rid")
    def predict_a(x, rid):
        return "yes"

    @mlotel.monitor(model="b", track_outcomes=True, id_arg="rid")
    def predict_b(x, rid):
        return "no"

    predict_a(0, rid="r1")
    predict_b(0, rid="r2")
    record_outcome(["r1", "r2", "r3"], ["yes", "yes", "no"])  # no model: each id is looked up in both
    record_outcome("r1", "yes", model="b")  # only in b: unknown there
    metrics = telemetry.collect()
    pairs = {
        (
            p.attributes[sc.MODEL_NAME],
            p.attributes[sc.PREDICTION_CLASS],
            p.attributes[sc.OUTCOME_CLASS],
        ): p.value
        for p in metrics[sc.OUTCOME_COUNT].data.data_points
    }
    assert pairs == {("a", "yes", "yes"): 1, ("b", "no", "yes"): 1}
    assert unmatched(telemetry) == {"unknown": 2}
    assert unmatched(telemetry, **{sc.MODEL_NAME: "b"}) == {"unknown": 1}


def test_an_outcome_of_the_wrong_length_is_a_fault_and_the_prediction_waits(telemetry):
    @mlotel.monitor(model="m", track_outcomes=True)
    def predict(X):
        return X.sum(axis=1) > 0

    with prediction_context() as handle:
        predict(np.array([[1.0], [-1.0], [2.0]]))
    record_outcome(handle.prediction_id, [True, False])  # 2 values for 3 rows
    metrics = telemetry.collect()
    assert points(metrics[sc.FAULT_COUNT], **{sc.FAULT_KIND: "outcome"})[0].value == 1
    record_outcome(handle.prediction_id, [True, True, True])
    metrics = telemetry.collect()
    assert sum(p.value for p in metrics[sc.OUTCOME_COUNT].data.data_points) == 3
    assert metrics[sc.OUTCOME_ACCURACY].data.data_points[0].value == pytest.approx(2 / 3)


def test_class_bound_puts_late_classes_under_other(telemetry):
    @mlotel.monitor(model="m", track_outcomes=True, id_arg="ids", top_k=3)
    def predict(X, ids):
        return X

    labels = np.array(["a", "b", "c", "d", "e"])
    predict(labels, ids=list(range(5)))
    record_outcome(list(range(5)), labels)
    count = telemetry.collect()[sc.OUTCOME_COUNT]
    pairs = {
        (p.attributes[sc.PREDICTION_CLASS], p.attributes[sc.OUTCOME_CLASS]): p.value
        for p in count.data.data_points
    }
    assert pairs == {("a", "a"): 1, ("b", "b"): 1, ("c", "c"): 1, ("__other__", "__other__"): 2}
    # Accuracy is computed on the true labels, not the bounded ones.
    assert telemetry.collect()[sc.OUTCOME_ACCURACY].data.data_points[0].value == 1.0


@pytest.mark.parametrize(
    ("ids", "actual", "error"),
    [
        (["a", "b"], 1, ValueError),
        (["a", "b"], [1], ValueError),
    ],
)
def test_malformed_arguments_raise(telemetry, ids, actual, error):
    with pytest.raises(error, match="prediction ids need a sequence"):
        record_outcome(ids, actual)


def test_model_must_be_a_str(telemetry):
    with pytest.raises(TypeError, match="model must be a str"):
        record_outcome("a", 1, model=3)


def test_disabled_mlotel_records_nothing(monkeypatch):
    mlotel.configure(disabled=True)
    record_outcome("a", 1)  # no runtime to report to: a no-op, not an error
