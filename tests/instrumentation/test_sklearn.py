"""scikit-learn: real estimators trained on bundled datasets, instrumented, predicted, uninstrumented."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import mlotel
from mlotel import _semconv as sc
from mlotel.instrumentation import _identity, instrument, instrumentor, register_model, uninstrument
from tests.instrumentation.support import features, identity, model_names, series, spans

PATCHED = [
    (LinearClassifierMixin, "predict"),
    (LinearClassifierMixin, "decision_function"),
    (LogisticRegression, "predict_proba"),
    (LogisticRegression, "fit"),
    (Pipeline, "predict"),
    (Pipeline, "predict_proba"),  # an available_if descriptor
    (Pipeline, "transform"),
    (ColumnTransformer, "transform"),
    (StandardScaler, "transform"),  # set_output's wrapper
]


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y


def test_estimator_call_gives_span_metrics_identity_and_named_feature_sketches(telemetry, iris):
    X, y = iris
    model = LogisticRegression(C=0.5, max_iter=300)
    assert instrument("sklearn", tracer_provider=telemetry.tracer_provider) == ["sklearn"]
    model.fit(X, y)
    assert spans(telemetry) == []  # fit (and what it calls) is not monitored

    proba = model.predict_proba(X)

    (span,) = spans(telemetry)
    assert span.name == "predict_proba LogisticRegression"
    assert span.attributes[sc.BATCH_SIZE] == len(X)
    name, framework, params = identity(span)
    assert (name, framework) == ("LogisticRegression", "sklearn")
    # The same configuration hashes the same; any hyper-parameter change hashes differently.
    assert params == _identity.params_hash(
        {
            "class": "LogisticRegression",
            "params": LogisticRegression(C=0.5, max_iter=300).get_params(deep=True),
        }
    )
    assert params != _identity.params_hash(
        {
            "class": "LogisticRegression",
            "params": LogisticRegression(C=0.6, max_iter=300).get_params(deep=True),
        }
    )
    sketched = features(telemetry, "LogisticRegression")
    assert set(sketched) == set(X.columns)
    for column in X.columns:
        point = sketched[column]
        assert point.count == len(X)
        assert point.sum == pytest.approx(X[column].sum())
        assert point.attributes[sc.MODEL_PARAMS_HASH] == params
        assert point.attributes[sc.MODEL_FRAMEWORK] == "sklearn"
    outputs = series(telemetry, sc.PREDICTION_VALUE, sc.OUTPUT_NAME, **{sc.MODEL_NAME: "LogisticRegression"})
    assert set(outputs) == {"0", "1", "2"}  # classes_
    assert outputs["2"].sum == pytest.approx(proba[:, 2].sum())
    duration = series(
        telemetry, sc.PREDICTION_DURATION, sc.OPERATION_NAME, **{sc.MODEL_NAME: "LogisticRegression"}
    )
    assert duration["predict_proba"].count == 1


def test_pipeline_with_column_transformer_is_one_call_sketched_from_the_raw_input(telemetry):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X = X.assign(sex=np.where(X["sex"] > 0, "m", "f"))
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [("num", StandardScaler(), ["age", "bmi", "bp"]), ("cat", OneHotEncoder(), ["sex"])]
                ),
            ),
            ("model", Ridge(alpha=0.3)),
        ]
    )
    instrument("sklearn", tracer_provider=telemetry.tracer_provider)
    pipe.fit(X, y)
    prediction = pipe.predict(X)

    (span,) = spans(telemetry)  # no spans for the ColumnTransformer, the scaler, the encoder or Ridge
    assert span.name == "predict Pipeline"
    assert identity(span)[:2] == ("Pipeline", "sklearn")
    assert model_names(telemetry) == {"Pipeline"}
    sketched = features(telemetry, "Pipeline")
    assert set(sketched) == set(X.columns) - {"sex"}  # the raw columns, not the transformed ones
    assert sketched["bmi"].sum == pytest.approx(X["bmi"].sum())
    categories = series(telemetry, sc.FEATURE_CATEGORY_COUNT, sc.FEATURE_CATEGORY, **{sc.FEATURE_NAME: "sex"})
    assert {k: p.value for k, p in categories.items()} == X["sex"].value_counts().to_dict()
    (output,) = series(telemetry, sc.PREDICTION_VALUE, sc.MODEL_NAME).values()
    assert output.sum == pytest.approx(prediction.sum())

    # The steps' configuration is in the hash.
    other = Pipeline([("prep", pipe.named_steps["prep"]), ("model", Ridge(alpha=0.4))]).fit(X, y)
    other.predict(X)
    assert identity(spans(telemetry)[-1])[2] != identity(span)[2]


def test_estimators_defined_after_instrumentation(telemetry, iris):
    X, y = iris
    instrument("sklearn", tracer_provider=telemetry.tracer_provider)

    class MeanRegressor(RegressorMixin, BaseEstimator):
        def __init__(self, shift=0.0):
            self.shift = shift

        def fit(self, X, y):
            self.mean_ = float(np.mean(y)) + self.shift
            self.n_features_in_ = X.shape[1]
            self.predict(X)  # inside fit: not monitored
            return self

        def predict(self, X):
            return np.full(len(X), self.mean_)

    class TunedLogisticRegression(LogisticRegression):
        def predict(self, X):
            return super().predict(X)  # the parent's instrumented predict is nested: one span

    MeanRegressor(shift=1.0).fit(X.values, y).predict(X.values)
    TunedLogisticRegression(max_iter=300).fit(X, y).predict(X)
    assert [s.name for s in spans(telemetry)] == ["predict MeanRegressor", "predict TunedLogisticRegression"]
    assert features(telemetry, "MeanRegressor")["f0"].sum == pytest.approx(X.values[:, 0].sum())

    original = MeanRegressor.__dict__["predict"].__wrapped__
    uninstrument("sklearn")
    assert MeanRegressor.__dict__["predict"] is original


def test_uninstrument_restores_the_originals_and_emits_nothing(telemetry, iris):
    X, y = iris
    before = {(cls, name): cls.__dict__[name] for cls, name in PATCHED}
    assert "__init_subclass__" not in BaseEstimator.__dict__
    instrument("sklearn", tracer_provider=telemetry.tracer_provider)
    assert all(cls.__dict__[name] is not before[(cls, name)] for cls, name in PATCHED)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y)
    pipe.predict(X)
    assert len(spans(telemetry)) == 1

    assert uninstrument("sklearn") == ["sklearn"]
    assert all(cls.__dict__[name] is before[(cls, name)] for cls, name in PATCHED)
    assert "__init_subclass__" not in BaseEstimator.__dict__
    telemetry.span_exporter.clear()
    counts = {
        p.attributes[sc.OPERATION_NAME]: p.count
        for p in telemetry.collect()[sc.PREDICTION_DURATION].data.data_points
    }
    pipe.predict(X)
    pipe.predict_proba(X)
    LinearRegression().fit(X, y).predict(X)
    assert spans(telemetry) == []
    after = {
        p.attributes[sc.OPERATION_NAME]: p.count
        for p in telemetry.collect()[sc.PREDICTION_DURATION].data.data_points
    }
    assert after == counts
    assert not hasattr(Pipeline([("m", LinearRegression())]), "predict_proba")


def test_register_model_names_versions_and_configures_one_object(telemetry, iris):
    X, y = iris
    instrument("sklearn", tracer_provider=telemetry.tracer_provider)
    named = register_model(
        LogisticRegression(max_iter=300), name="iris-clf", version=7, features=["a", "b", "c", "d"]
    )
    plain = LogisticRegression(max_iter=300)
    named.fit(X.values, y)
    plain.fit(X.values, y)
    named.predict(X.values)
    plain.predict(X.values)
    first, second = spans(telemetry)
    assert first.name == "predict iris-clf"
    assert first.attributes[sc.MODEL_VERSION] == "7"
    assert first.attributes[sc.MODEL_FRAMEWORK] == "sklearn"
    assert second.name == "predict LogisticRegression"
    assert set(features(telemetry, "iris-clf")) == {"a", "b", "c", "d"}
    with pytest.raises(TypeError, match="operation"):
        register_model(plain, operation="score")
    with pytest.raises(TypeError, match="unknown option"):
        register_model(plain, colour="red")


def test_set_params_shows_in_the_hash_after_the_refresh(telemetry, iris, monkeypatch):
    X, y = iris
    instrument("sklearn", tracer_provider=telemetry.tracer_provider)
    model = LogisticRegression(max_iter=300).fit(X, y)
    model.predict(X)
    monkeypatch.setattr(_identity, "REFRESH_SECONDS", 0.0)
    model.set_params(C=3.0)
    model.predict(X)
    first, second = (identity(s)[2] for s in spans(telemetry))
    assert first != second


def test_model_errors_and_instrumentation_faults_never_change_the_call(telemetry, iris, caplog):
    X, y = iris
    instrument("sklearn", tracer_provider=telemetry.tracer_provider)

    class Broken(BaseEstimator):
        def get_params(self, deep=True):
            raise RuntimeError("no params")

        @property
        def feature_names_in_(self):
            raise RuntimeError("no names")

        def predict(self, X):
            if X is None:
                raise KeyError("boom")
            return X  # a generator in, a generator out: nothing mlotel can read

    model = Broken()
    error = None
    try:
        model.predict(None)
    except KeyError as exc:
        error = exc
    assert isinstance(error, KeyError)
    rows = (row for row in [[1.0]])
    with caplog.at_level(logging.WARNING, logger="mlotel"):
        assert model.predict(rows) is rows
    failed, passed = spans(telemetry)
    assert failed.attributes[sc.ERROR_TYPE] == "KeyError"
    assert identity(passed)[0] == "Broken"
    faults = telemetry.collect()[sc.FAULT_COUNT].data.data_points
    assert {p.attributes[sc.FAULT_KIND] for p in faults} >= {"input"}


def test_explicit_providers_disabled_names_and_repeated_calls(telemetry, iris, monkeypatch):
    from tests.mlotel_fixtures import make_telemetry

    X, y = iris
    monkeypatch.setenv("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "xgboost, sklearn")
    assert instrument("sklearn") == []
    assert not instrumentor("sklearn").is_instrumented_by_opentelemetry
    monkeypatch.setenv("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "lightgbm")
    with pytest.raises(ValueError, match="unknown framework"):
        instrument("scikit")

    other = make_telemetry()  # configures mlotel with other providers...
    mlotel.configure(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    # ...and instrument(tracer_provider=..., meter_provider=...) switches to them
    assert instrument(
        "sklearn", tracer_provider=other.tracer_provider, meter_provider=other.meter_provider
    ) == ["sklearn"]
    assert instrument("sklearn") == ["sklearn"]  # again: harmless
    LogisticRegression(max_iter=300).fit(X, y).predict(X)
    assert spans(telemetry) == []
    assert [s.name for s in spans(other)] == ["predict LogisticRegression"]
