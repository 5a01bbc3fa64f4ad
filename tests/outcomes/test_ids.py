"""Prediction ids: read inside a call, collected around calls, or supplied by the user."""

from __future__ import annotations

import asyncio
import inspect

import numpy as np
import pytest
import wrapt

import mlotel
from mlotel import _semconv as sc
from mlotel.monitor import Monitor, validate
from mlotel.monitor._options import with_id_index
from mlotel.outcomes import current_prediction_id, prediction_context, record_outcome
from mlotel.outcomes._record import trackers


def span_ids(telemetry, name):
    return [s.attributes[sc.PREDICTION_ID] for s in telemetry.spans() if s.name == name]


def test_current_prediction_id_is_the_span_attribute(telemetry):
    inside = []

    @mlotel.monitor(model="m")
    def predict(x):
        inside.append(current_prediction_id())
        return x

    assert current_prediction_id() is None
    predict(1)
    predict(2)
    assert current_prediction_id() is None
    assert inside == span_ids(telemetry, "predict m")
    assert len(set(inside)) == 2 and all(len(i) == 16 for i in inside)


def test_prediction_context_keeps_top_level_calls_only(telemetry):
    @mlotel.monitor(model="inner")
    def inner(x):
        return x

    @mlotel.monitor(model="outer")
    def outer(x):
        return inner(x) + 1

    with prediction_context() as everything:
        with prediction_context() as first:
            outer(1)
        assert first.prediction_id is not None
        inner(2)
    assert first.prediction_ids == span_ids(telemetry, "predict outer")
    assert everything.prediction_ids == [first.prediction_id, span_ids(telemetry, "predict inner")[1]]
    with prediction_context() as empty:
        pass
    assert empty.prediction_id is None and empty.prediction_ids == []


def test_prediction_context_sees_asyncio_tasks(telemetry):
    @mlotel.monitor(model="a")
    async def predict(x):
        await asyncio.sleep(0)
        return x

    async def main():
        with prediction_context() as handle:
            await asyncio.gather(*(predict(i) for i in range(3)))
        return handle

    handle = asyncio.run(main())
    assert sorted(handle.prediction_ids) == sorted(span_ids(telemetry, "predict a"))


def test_id_function_gives_per_row_ids(telemetry):
    @mlotel.monitor(model="m", track_outcomes=True, id_function=lambda args, kwargs: args[0]["request_id"])
    def predict(frame):
        return np.asarray(frame["amount"]) > 10

    predict({"request_id": ["r1", "r2", "r3"], "amount": [5, 20, 30]})
    record_outcome(["r3", "r1"], [True, True])
    metric = telemetry.collect()[sc.OUTCOME_COUNT]
    pairs = {
        (p.attributes[sc.PREDICTION_CLASS], p.attributes[sc.OUTCOME_CLASS]): p.value
        for p in metric.data.data_points
    }
    assert pairs == {("True", "True"): 1, ("False", "True"): 1}


def test_id_arg_with_one_id_per_call(telemetry):
    @mlotel.monitor(model="m", track_outcomes=True, id_arg="request_id")
    def predict(x, request_id=None):
        return x * 2.0

    predict(1.0, request_id=12345)  # an int id is the str of it
    predict(3.0)  # no id given: the call's own prediction id is used
    record_outcome("12345", 2.5)
    (tracker,) = trackers(mlotel._runtime.active().generation, "m")
    assert len(tracker.cache) == 1
    (error,) = telemetry.collect()[sc.OUTCOME_ERROR].data.data_points
    assert error.sum == pytest.approx(0.5)


def test_positional_id_arg_once_the_decorator_resolves_its_position(telemetry):
    def predict(X, ids):
        return X

    options = with_id_index(
        validate(track_outcomes=True, id_arg="ids"), list(inspect.signature(predict).parameters), False
    )
    assert options.id_index == 1
    monitored = wrapt.FunctionWrapper(predict, Monitor.for_function(predict, options).wrapper())
    monitored(np.array([1, 2]), ["a", "b"])
    record_outcome(["a", "b"], [1, 1])
    metric = telemetry.collect()[sc.OUTCOME_COUNT]
    assert {(p.attributes[sc.PREDICTION_CLASS], p.value) for p in metric.data.data_points} == {
        ("1", 1),
        ("2", 1),
    }


def test_positional_id_arg_through_the_decorator(telemetry):
    @mlotel.monitor(model="m", track_outcomes=True, id_arg="ids")
    def predict(X, ids):
        return X

    predict(np.array([1, 2]), ["a", "b"])
    record_outcome(["a", "b"], [1, 1])
    assert sum(p.value for p in telemetry.collect()[sc.OUTCOME_COUNT].data.data_points) == 2


def test_with_id_index_names_a_missing_parameter():
    with pytest.raises(ValueError, match=r"id_arg='rid' is not a parameter of the function \(X, ids\)"):
        with_id_index(validate(id_arg="rid"), ["X", "ids"], False)
