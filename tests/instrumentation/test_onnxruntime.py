"""ONNX Runtime: a real model exported from scikit-learn, and a hand-built two-input graph."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from mlotel import _semconv as sc
from mlotel.instrumentation import _identity, instrument, instrumentor, uninstrument
from tests.instrumentation.support import features, identity, series, spans

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def test_session_run_named_features_outputs_and_restore(telemetry, tmp_path):
    skl2onnx = pytest.importorskip("skl2onnx")
    from onnxruntime.capi.onnxruntime_inference_collection import Session

    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    model = LogisticRegression(max_iter=300).fit(X, y)
    path = tmp_path / "iris_lr.onnx"
    path.write_bytes(skl2onnx.to_onnx(model, X[:1], target_opset=17).SerializeToString())
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    original = Session.__dict__["run"]

    instrument("onnxruntime", tracer_provider=telemetry.tracer_provider)
    labels, probabilities = session.run(None, {"X": X})

    (span,) = spans(telemetry)
    assert span.name == "predict iris_lr" and span.attributes[sc.BATCH_SIZE] == len(X)
    name, framework, params = identity(span)
    assert framework == "onnxruntime"
    again = ort.InferenceSession(path.read_bytes(), providers=["CPUExecutionProvider"])
    assert (
        instrumentor("onnxruntime").identify(again, "predict").params_hash == params
    )  # same model, same hash
    sketched = features(telemetry, "iris_lr")
    assert set(sketched) == {"X[0]", "X[1]", "X[2]", "X[3]"}
    assert sketched["X[3]"].sum == pytest.approx(float(X[:, 3].sum()), rel=1e-6)
    classes = series(
        telemetry, sc.PREDICTION_CLASS_COUNT, sc.PREDICTION_CLASS, **{sc.OUTPUT_NAME: "output_label"}
    )
    assert {k: p.value for k, p in classes.items()} == {
        str(k): int(v) for k, v in zip(*np.unique(labels, return_counts=True))
    }
    scores = series(telemetry, sc.PREDICTION_VALUE, sc.OUTPUT_NAME, **{sc.MODEL_NAME: "iris_lr"})
    assert scores["output_probability.1"].sum == pytest.approx(sum(p[1] for p in probabilities), rel=1e-5)

    uninstrument("onnxruntime")
    assert Session.__dict__["run"] is original
    session.run(None, {"X": X})
    assert len(spans(telemetry)) == 1


def test_input_names_are_the_feature_names(telemetry):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Add", ["age", "income"], ["score"])],
        "risk",
        [
            helper.make_tensor_value_info("age", TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info("income", TensorProto.FLOAT, ["N", 1]),
        ],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    instrument("onnxruntime", tracer_provider=telemetry.tracer_provider)
    age = np.array([[30.0], [41.0], [52.0]], dtype=np.float32)
    income = np.array([[1.0], [2.0], [4.0]], dtype=np.float32)
    (score,) = session.run(["score"], {"age": age, "income": income})
    (span,) = spans(telemetry)
    assert span.name == "predict risk"  # no file: the graph name
    sketched = features(telemetry, "risk")
    assert {k: p.sum for k, p in sketched.items()} == {"age": 123.0, "income": 7.0}
    (output,) = series(telemetry, sc.PREDICTION_VALUE, sc.MODEL_NAME).values()
    assert output.sum == pytest.approx(float(score.sum()))
    assert len(_identity.params_hash({"x": 1})) == 16
