"""build_reference(..., predictions=, performance_estimate=True): stored, saved, loaded; clear errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlotel
from mlotel.performance import Calibration


@pytest.fixture(scope="module")
def cancer():
    data = load_breast_cancer()
    X = pd.DataFrame(data.data[:, :6], columns=[f"f{i}" for i in range(6)])
    y = data.target
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:300], y[:300])
    return model, X[300:], y[300:]


def test_calibration_is_stored_and_round_trips(tmp_path, cancer):
    model, X, y = cancer
    reference = mlotel.build_reference(
        X, target=y, predictions=model.predict_proba(X), performance_estimate=True
    )
    assert isinstance(reference.performance, Calibration)
    assert reference.performance.classes == (0, 1) and reference.performance.n_rows == len(y)
    assert reference.target is not None  # the labels are profiled as the target, as before
    path = tmp_path / "reference.json"
    reference.save(path)
    loaded = mlotel.ReferenceProfile.load(path)
    assert loaded == reference
    assert json.loads(path.read_text())["performance"]["method"] == "isotonic"


def test_target_column_name_and_1d_scores(cancer):
    model, X, y = cancer
    frame = X.assign(label=y)
    reference = mlotel.build_reference(
        frame, target="label", predictions=model.predict_proba(X)[:, 1], performance_estimate=True
    )
    assert reference.performance is not None and reference.target.name == "label"
    assert "label" not in reference.features


def test_old_files_load_without_a_calibration(tmp_path, cancer):
    _, X, y = cancer
    reference = mlotel.build_reference(X, target=y)
    assert reference.performance is None
    d = reference.to_dict()
    assert "performance" not in d
    assert mlotel.ReferenceProfile.from_dict(d).performance is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": None, "predictions": "scores"}, r"needs the reference rows' target= \(the true labels\)"),
        ({"target": "labels"}, r"predictions= \(the predicted scores\)"),
        ({"target": None}, "target= .* and predictions="),
    ],
)
def test_missing_scores_or_labels_is_a_clear_error(cancer, kwargs, message):
    model, X, y = cancer
    values = {"scores": model.predict_proba(X), "labels": y, None: None}
    arguments = {k: values[v] for k, v in kwargs.items()}
    with pytest.raises(ValueError, match=message):
        mlotel.build_reference(X, performance_estimate=True, **arguments)


def test_predictions_without_performance_estimate_is_an_error(cancer):
    model, X, y = cancer
    with pytest.raises(ValueError, match="only used with performance_estimate=True"):
        mlotel.build_reference(X, target=y, predictions=model.predict_proba(X))


def test_non_probability_scores_are_a_clear_error(cancer):
    model, X, y = cancer
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        mlotel.build_reference(X, target=y, predictions=model.decision_function(X), performance_estimate=True)


def test_profiles_with_a_calibration_do_not_merge(cancer):
    model, X, y = cancer
    a = mlotel.build_reference(X, target=y, predictions=model.predict_proba(X), performance_estimate=True)
    with pytest.raises(ValueError, match="do not merge"):
        a.merge(mlotel.build_reference(X, target=y))


def test_damaged_calibration_names_the_file(tmp_path, cancer):
    model, X, y = cancer
    reference = mlotel.build_reference(
        X, target=y, predictions=model.predict_proba(X), performance_estimate=True
    )
    d = reference.to_dict()
    d["performance"]["maps"][0]["y"] = list(reversed(d["performance"]["maps"][0]["y"]))
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    with pytest.raises(mlotel.ReferenceProfileError, match="bad.json: .*non-decreasing"):
        mlotel.ReferenceProfile.load(path)


def test_monitor_asks_for_a_calibration_at_decoration(cancer):
    _, X, y = cancer
    plain = mlotel.build_reference(X, target=y)
    with pytest.raises(
        ValueError, match="performance_estimate=True needs a reference with a score calibration"
    ):
        mlotel.monitor(model="m", reference=plain, performance_estimate=True)
    with pytest.raises(ValueError, match="needs a reference"):
        mlotel.monitor(model="m", performance_estimate=True)
    with pytest.raises(TypeError, match="performance_estimate must be a bool"):
        mlotel.monitor(model="m", reference=plain, performance_estimate="yes")
