"""@mlotel.monitor: spans, latency metrics, and the never-break-the-model guarantee."""

from __future__ import annotations

import asyncio
import inspect
import threading
import traceback

import numpy as np
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import mlotel
from mlotel import _semconv as sc
from tests.mlotel_fixtures import points


def test_span_and_metrics_for_a_plain_function(telemetry):
    @mlotel.monitor(model="fraud", version="3", operation="predict")
    def predict(features):
        return [x * 2 for x in features]

    result = predict([[1.0, 2.0], [3.0, 4.0]])
    assert result == [[1.0, 2.0, 1.0, 2.0], [3.0, 4.0, 3.0, 4.0]]

    (span,) = telemetry.spans()
    assert span.name == "predict fraud"
    assert span.kind == SpanKind.INTERNAL
    assert span.attributes[sc.MODEL_NAME] == "fraud"
    assert span.attributes[sc.MODEL_VERSION] == "3"
    assert span.attributes[sc.OPERATION_NAME] == "predict"
    assert span.attributes[sc.BATCH_SIZE] == 2
    assert len(span.attributes[sc.PREDICTION_ID]) == 16
    assert span.instrumentation_scope.name == "mlotel"
    assert span.instrumentation_scope.version == mlotel.__version__

    metrics = telemetry.collect()
    duration = metrics[sc.PREDICTION_DURATION]
    assert duration.unit == "s"
    (point,) = duration.data.data_points
    assert point.count == 1
    assert dict(point.attributes) == {
        sc.MODEL_NAME: "fraud",
        sc.MODEL_VERSION: "3",
        sc.OPERATION_NAME: "predict",
    }
    assert point.explicit_bounds[0] == pytest.approx(0.0001)
    assert point.explicit_bounds[-1] == pytest.approx(60.0)
    batch = metrics[sc.PREDICTION_BATCH_SIZE]
    assert batch.unit == "{row}"
    (point,) = batch.data.data_points
    assert (point.count, point.sum) == (1, 2)


def test_bare_form_defaults_model_to_qualname(telemetry):
    @mlotel.monitor
    def score(x):
        """Docstring kept."""
        return x

    assert score.__name__ == "score"
    assert score.__doc__ == "Docstring kept."
    assert str(inspect.signature(score)) == "(x)"
    obj = object()
    assert score(obj) is obj
    (span,) = telemetry.spans()
    assert span.attributes[sc.MODEL_NAME].endswith("score")
    assert span.name == f"predict {span.attributes[sc.MODEL_NAME]}"
    assert sc.MODEL_VERSION not in span.attributes


class Model:
    factor = 10

    def __init__(self):
        self.calls = 0

    @mlotel.monitor(model="inst")
    def predict(self, X, scale=1):
        self.calls += 1
        return np.asarray(X) * scale

    @mlotel.monitor(model="cls")
    @classmethod
    def predict_cls(cls, X):
        return np.asarray(X) * cls.factor

    @mlotel.monitor(model="static")
    @staticmethod
    def predict_static(X):
        return np.asarray(X) + 1

    @mlotel.monitor(model="call")
    def __call__(self, X):
        return np.asarray(X) - 1


def test_methods_of_every_kind(telemetry):
    m = Model()
    X = np.ones((3, 2))
    np.testing.assert_array_equal(m.predict(X, scale=2), X * 2)
    np.testing.assert_array_equal(Model.predict(m, X), X)
    np.testing.assert_array_equal(Model.predict_cls(X), X * 10)
    np.testing.assert_array_equal(m.predict_cls(X), X * 10)
    np.testing.assert_array_equal(Model.predict_static(X), X + 1)
    np.testing.assert_array_equal(m(X), X - 1)
    assert m.calls == 2
    spans = telemetry.spans()
    assert [s.attributes[sc.MODEL_NAME] for s in spans] == ["inst", "inst", "cls", "cls", "static", "call"]
    # The model input (not self/cls) was read: 3 rows everywhere.
    assert all(s.attributes[sc.BATCH_SIZE] == 3 for s in spans)
    assert str(inspect.signature(Model.predict_static)) == "(X)"


def test_callable_object_is_named_after_its_class(telemetry):
    class Scorer:
        def __call__(self, X):
            return len(X)

    wrapped = mlotel.monitor(Scorer())
    assert wrapped([1, 2, 3]) == 3
    (span,) = telemetry.spans()
    assert span.attributes[sc.MODEL_NAME].endswith("Scorer")


def test_input_arg_selects_the_input(telemetry):
    @mlotel.monitor(input_arg="X")
    def predict(model_id, X):
        return X

    predict("m", X=[[1], [2], [3], [4]])
    predict("m", [[1], [2]])
    assert [s.attributes[sc.BATCH_SIZE] for s in telemetry.spans()] == [4, 2]


def test_exception_is_the_same_object_with_its_traceback(telemetry):
    class ModelError(ValueError):
        pass

    raised = ModelError("bad row")

    @mlotel.monitor(model="fraud")
    def predict(X):
        raise raised

    with pytest.raises(ModelError) as info:
        predict([[1.0]])
    assert info.value is raised
    frames = [f.name for f in traceback.extract_tb(info.value.__traceback__)]
    assert frames[-1] == "predict"  # the raising frame is the user's, unchanged

    (span,) = telemetry.spans()
    assert span.status.status_code == StatusCode.ERROR
    assert (
        span.attributes[sc.ERROR_TYPE]
        == "test_exception_is_the_same_object_with_its_traceback.<locals>.ModelError"
    )
    assert span.events[0].name == "exception"
    duration = telemetry.collect()[sc.PREDICTION_DURATION]
    (failed,) = points(duration, **{sc.ERROR_TYPE: span.attributes[sc.ERROR_TYPE]})
    assert failed.count == 1
    assert not points(duration, **{sc.ERROR_TYPE: None}) or all(
        sc.ERROR_TYPE in p.attributes for p in duration.data.data_points
    )


def test_nested_calls_give_a_child_span(telemetry):
    @mlotel.monitor(model="inner")
    def inner(X):
        return X

    @mlotel.monitor(model="outer")
    def outer(X):
        return inner(X)

    outer([1])
    spans = {s.name: s for s in telemetry.spans()}
    assert spans["predict inner"].parent.span_id == spans["predict outer"].context.span_id
    assert spans["predict inner"].context.trace_id == spans["predict outer"].context.trace_id


def test_user_spans_inside_the_call_are_children(telemetry):
    tracer = telemetry.tracer_provider.get_tracer("user")

    @mlotel.monitor(model="m")
    def predict(X):
        with tracer.start_as_current_span("feature-lookup"):
            return X

    predict([1])
    spans = {s.name: s for s in telemetry.spans()}
    assert spans["feature-lookup"].parent.span_id == spans["predict m"].context.span_id


def test_async_functions_and_concurrent_tasks(telemetry):
    tracer = telemetry.tracer_provider.get_tracer("user")

    @mlotel.monitor(model="async")
    async def predict(X):
        await asyncio.sleep(0.001)
        return X

    async def request(i):
        with tracer.start_as_current_span(f"request {i}"):
            return await predict([i])

    async def main():
        return await asyncio.gather(*(request(i) for i in range(50)))

    assert inspect.iscoroutinefunction(predict)
    assert asyncio.run(main()) == [[i] for i in range(50)]
    spans = telemetry.spans()
    requests = {s.context.span_id: s.name for s in spans if s.name.startswith("request")}
    predicts = [s for s in spans if s.name == "predict async"]
    assert len(predicts) == 50
    for span in predicts:
        assert requests[span.parent.span_id].startswith("request")
    # Each task's predict span hangs under its own request: 50 distinct parents.
    assert len({s.parent.span_id for s in predicts}) == 50


def test_async_exception_is_propagated(telemetry):
    @mlotel.monitor
    async def predict(X):
        raise KeyError("x")

    with pytest.raises(KeyError):
        asyncio.run(predict([1]))
    (span,) = telemetry.spans()
    assert span.attributes[sc.ERROR_TYPE] == "KeyError"


def test_exact_counts_from_eight_threads(telemetry):
    @mlotel.monitor(model="threads")
    def predict(X):
        return X

    per_thread = 500
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        for _ in range(per_thread):
            predict([[1.0], [2.0]])

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    metrics = telemetry.collect()
    (duration,) = metrics[sc.PREDICTION_DURATION].data.data_points
    assert duration.count == 8 * per_thread
    assert sum(duration.bucket_counts) == 8 * per_thread
    (batch,) = metrics[sc.PREDICTION_BATCH_SIZE].data.data_points
    assert batch.sum == 2 * 8 * per_thread
    assert len(telemetry.spans()) == 8 * per_thread
    assert len({s.attributes[sc.PREDICTION_ID] for s in telemetry.spans()}) == 8 * per_thread


def test_cumulative_collections_accumulate(telemetry):
    @mlotel.monitor(model="m")
    def predict(X):
        return X

    predict([1])
    first = telemetry.collect()[sc.PREDICTION_DURATION].data.data_points[0]
    predict([1])
    predict([1])
    second = telemetry.collect()[sc.PREDICTION_DURATION].data.data_points[0]
    assert (first.count, second.count) == (1, 3)
    assert second.start_time_unix_nano == first.start_time_unix_nano


def test_suppress_instrumentation_passes_through(telemetry):
    @mlotel.monitor
    def predict(X):
        return X

    with mlotel.suppress_instrumentation():
        assert predict([1]) == [1]
    assert telemetry.spans() == []


def test_sampled_out_calls_still_count(telemetry):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    mlotel.configure(
        tracer_provider=TracerProvider(sampler=ALWAYS_OFF), meter_provider=telemetry.meter_provider
    )

    @mlotel.monitor
    def predict(X):
        assert not trace.get_current_span().is_recording()
        return X

    predict([1, 2])
    (point,) = telemetry.collect()[sc.PREDICTION_DURATION].data.data_points
    assert point.count == 1


def test_shutdown_then_calls_pass_through(telemetry):
    @mlotel.monitor
    def predict(X):
        return X

    predict([1])
    mlotel.shutdown()
    assert predict([2]) == [2]
    assert len(telemetry.spans()) == 1


def test_a_fault_inside_mlotel_is_counted_not_raised(telemetry, caplog):
    class Hostile:
        """An input whose every introspection fails."""

        def __len__(self):
            raise RuntimeError("len exploded")

        def __getattr__(self, name):
            raise RuntimeError(f"{name} exploded")

    @mlotel.monitor
    def predict(X):
        return "ok"

    for _ in range(3):
        assert predict(Hostile()) == "ok"
    assert len(telemetry.spans()) == 3
    faults = telemetry.collect().get(sc.FAULT_COUNT)
    # Either the adapters declared the input unreadable or a fault was caught: both are counted.
    assert faults is not None and sum(p.value for p in faults.data.data_points) >= 3
    assert len([r for r in caplog.records if r.name == "mlotel"]) <= 2  # logged once per kind, not per call


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    mlotel.configure()

    @mlotel.monitor
    def predict(X):
        return X

    assert predict([1]) == [1]
    from mlotel import _runtime

    assert not _runtime.active().enabled
