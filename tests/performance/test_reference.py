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


def test_one_score_per_row_predictions_are_profiled_next_to_the_labels(tmp_path, cancer):
    """target= holds the labels and predictions= the scores: the reference keeps both, and
    served scores are compared with the reference's scores, not with its labels."""
    from mlotel.drift.profile import ReferenceProfile
    from mlotel.sketches import ExponentialHistogram

    model, X, y = cancer
    scores = model.predict_proba(X)[:, 1]
    ref = mlotel.build_reference(X, target=y, predictions=scores, performance_estimate=True)
    assert ref.target.kind == "categorical" and ref.prediction.kind == "numeric"
    expected = ExponentialHistogram(max_size=ref.prediction.histogram.max_size)
    expected.update(scores)
    assert (
        ref.prediction.histogram.count == len(scores)
        and ref.prediction.histogram.positive == expected.positive
    )
    ref.save(tmp_path / "ref.json")
    assert ReferenceProfile.load(tmp_path / "ref.json") == ref
    # predictions= alone (no estimate): the prediction profile only; a predict_proba matrix has none.
    alone = mlotel.build_reference(X, target=y, predictions=scores)
    assert alone.performance is None and alone.prediction == ref.prediction
    assert mlotel.build_reference(X, target=y, predictions=model.predict_proba(X)).prediction is None
    labels = mlotel.build_reference(X, predictions=model.predict(X)).prediction
    assert labels.kind == "categorical"
    # Batch: the same scores do not drift, shifted ones do; labels are not compared with scores.
    same = ref.compare(mlotel.profile_current(X, ref, predictions=scores))
    (row,) = [r for r in same.results if r.feature == "prediction" and r.method == "ks"]
    assert row.verdict == "ok" and row.value == 0 and not same.mismatched_features
    shifted = ref.compare(mlotel.profile_current(X, ref, predictions=scores**4))
    assert any(r.feature == "prediction" and r.verdict == "alert" for r in shifted.results)


def test_served_scores_are_compared_with_the_reference_scores_online(telemetry, cancer):
    from mlotel import _semconv as sc

    model, X, y = cancer
    ref = mlotel.build_reference(X, target=y, predictions=model.predict_proba(X)[:, 1])

    @mlotel.monitor(model="m", reference=ref)
    def predict(rows):
        return model.predict_proba(rows)[:, 1]

    predict(X)
    drift = telemetry.collect()[sc.PREDICTION_DRIFT].data.data_points
    psi = [p.value for p in drift if p.attributes[sc.DRIFT_METHOD] == "psi"]
    assert psi and max(psi) < 0.01  # the very rows of the reference: no drift, no kind mismatch


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
