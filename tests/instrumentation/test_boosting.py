"""XGBoost and LightGBM: boosters and their scikit-learn-style estimators."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlotel import _semconv as sc
from mlotel.instrumentation import _identity, instrument, uninstrument
from tests.instrumentation.support import features, identity, series, spans

xgboost = pytest.importorskip("xgboost")
lightgbm = pytest.importorskip("lightgbm")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True, as_frame=True)


def test_xgboost_estimator_and_booster(telemetry, iris):
    X, y = iris
    instrument("xgboost", "sklearn", tracer_provider=telemetry.tracer_provider)
    model = xgboost.XGBClassifier(n_estimators=4, max_depth=2).fit(X, y)
    assert spans(telemetry) == []

    proba = model.predict_proba(X)
    (span,) = spans(telemetry)  # the booster call inside is nested; sklearn leaves XGBClassifier alone
    assert span.name == "predict_proba XGBClassifier"
    assert identity(span)[:2] == ("XGBClassifier", "xgboost")
    assert identity(span)[2] == _identity.params_hash(
        {"class": "XGBClassifier", "params": model.get_params(deep=True)}
    )
    sketched = features(telemetry, "XGBClassifier")
    assert set(sketched) == set(X.columns)
    assert sketched["petal width (cm)"].sum == pytest.approx(X["petal width (cm)"].sum())
    outputs = series(telemetry, sc.PREDICTION_VALUE, sc.OUTPUT_NAME, **{sc.MODEL_NAME: "XGBClassifier"})
    assert outputs["1"].sum == pytest.approx(float(proba[:, 1].sum()), rel=1e-6)

    booster = model.get_booster()
    booster.predict(xgboost.DMatrix(X))
    booster.inplace_predict(X)
    dmatrix_span, inplace_span = spans(telemetry)[1:]
    assert dmatrix_span.name == "predict Booster" and dmatrix_span.attributes[sc.BATCH_SIZE] == len(X)
    assert inplace_span.name == "inplace_predict Booster"
    config = json.loads(booster.save_config())
    assert identity(inplace_span) == ("Booster", "xgboost", _identity.params_hash(config))
    booster_features = series(
        telemetry,
        sc.FEATURE_VALUE,
        sc.FEATURE_NAME,
        **{sc.MODEL_NAME: "Booster", sc.OPERATION_NAME: "inplace_predict"},
    )
    assert set(booster_features) == set(booster.feature_names)

    # Inside a scikit-learn pipeline: one span, the pipeline's.
    pipe = make_pipeline(StandardScaler(), xgboost.XGBRegressor(n_estimators=3)).fit(X, y)
    pipe.predict(X)
    assert [s.name for s in spans(telemetry)[3:]] == ["predict Pipeline"]


def test_xgboost_uninstrument_restores_originals(telemetry, iris):
    from xgboost.core import Booster
    from xgboost.sklearn import XGBClassifier, XGBModel

    targets = [
        (Booster, "predict"),
        (Booster, "inplace_predict"),
        (XGBModel, "predict"),
        (XGBClassifier, "predict_proba"),
    ]
    before = [cls.__dict__[name] for cls, name in targets]
    instrument("xgboost", tracer_provider=telemetry.tracer_provider)
    assert all(cls.__dict__[name] is not original for (cls, name), original in zip(targets, before))
    uninstrument("xgboost")
    assert all(cls.__dict__[name] is original for (cls, name), original in zip(targets, before))
    X, y = iris
    xgboost.XGBClassifier(n_estimators=2).fit(X, y).predict(X)
    assert spans(telemetry) == []


def test_lightgbm_estimator_and_booster(telemetry):
    from lightgbm.basic import Booster
    from lightgbm.sklearn import LGBMClassifier, LGBMModel

    X, y = load_diabetes(return_X_y=True)
    before = [
        Booster.__dict__["predict"],
        LGBMModel.__dict__["predict"],
        LGBMClassifier.__dict__["predict_proba"],
    ]
    instrument("lightgbm", "sklearn", tracer_provider=telemetry.tracer_provider)
    model = lightgbm.LGBMRegressor(n_estimators=5, num_leaves=4, verbose=-1).fit(X, y)
    prediction = model.predict(X)
    model.booster_.predict(X[:10])

    estimator_span, booster_span = spans(telemetry)
    assert estimator_span.name == "predict LGBMRegressor"
    assert identity(estimator_span)[1] == "lightgbm"
    names = [f"Column_{j}" for j in range(X.shape[1])]  # LightGBM's names for unnamed columns
    sketched = features(telemetry, "LGBMRegressor")
    assert set(sketched) == set(names)
    assert sketched["Column_2"].sum == pytest.approx(X[:, 2].sum())
    outputs = series(telemetry, sc.PREDICTION_VALUE, sc.MODEL_NAME, **{sc.OPERATION_NAME: "predict"})
    assert outputs["LGBMRegressor"].sum == pytest.approx(prediction.sum())
    assert booster_span.name == "predict Booster"
    assert booster_span.attributes[sc.BATCH_SIZE] == 10
    assert identity(booster_span)[2] == _identity.params_hash(model.booster_.params)

    classifier = lightgbm.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, (y > np.median(y)).astype(int))
    classifier.predict(X)  # calls predict_proba, which calls the booster: one span
    assert [s.name for s in spans(telemetry)[2:]] == ["predict LGBMClassifier"]

    uninstrument("lightgbm", "sklearn")
    after = [
        Booster.__dict__["predict"],
        LGBMModel.__dict__["predict"],
        LGBMClassifier.__dict__["predict_proba"],
    ]
    assert all(a is b for a, b in zip(after, before))


def test_lightgbm_dataframe_keeps_its_column_names(telemetry):
    """LightGBM stores ``mean_radius`` for a column ``mean radius``: the DataFrame's names are the features.

    Selecting the DataFrame's columns by the booster's names would read every value as missing.
    """
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    instrument("lightgbm", "sklearn", tracer_provider=telemetry.tracer_provider)
    try:
        model = lightgbm.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, y)
        assert model.booster_.feature_name()[0] == "mean_radius"
        model.predict(X)
        model.predict(X.to_numpy()[:7])  # positional: named by the model
    finally:
        uninstrument("lightgbm", "sklearn")
    sketched = features(telemetry, "LGBMClassifier")
    assert set(sketched) == set(X.columns) | set(model.booster_.feature_name())
    for j, column in enumerate(X.columns):
        assert sketched[column].count == len(X)
        assert sketched[column].sum == pytest.approx(X[column].sum())
        assert sketched[model.booster_.feature_name()[j]].count == 7
    missing = series(telemetry, sc.FEATURE_MISSING, sc.FEATURE_NAME, **{sc.MODEL_NAME: "LGBMClassifier"})
    assert all(point.value == 0 for point in missing.values())
