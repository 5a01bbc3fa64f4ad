"""Isotonic calibration: PAV against scikit-learn, monotone, bounded, JSON round trip, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from mlotel.performance import Calibration, IsotonicMap, fit_calibration, fit_isotonic
from mlotel.performance.calibration import MAX_BREAKPOINTS


def test_exact_on_known_data():
    # Hand-computed PAV: (0.1, 1), (0.2, 0), (0.3, 0) pool into 1/3; then 0.5 and 1.
    m = fit_isotonic(np.array([0.1, 0.2, 0.3, 0.4, 0.5]), np.array([1.0, 0.0, 0.0, 0.5, 1.0]))
    np.testing.assert_allclose(m(np.array([0.1, 0.2, 0.3, 0.4, 0.5])), [1 / 3, 1 / 3, 1 / 3, 0.5, 1.0])
    assert m.x == (0.1, 0.3, 0.4, 0.5)
    # Linear between blocks, constant beyond the ends.
    np.testing.assert_allclose(m(np.array([0.35, 0.0, 2.0])), [(1 / 3 + 0.5) / 2, 1 / 3, 1.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_sklearn_isotonic_regression(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.random(400), 2)  # ties included
    y = (rng.random(400) < x).astype(float)
    m = fit_isotonic(x, y)
    sk = IsotonicRegression(out_of_bounds="clip").fit(x, y)
    grid = np.linspace(-0.2, 1.2, 2001)
    assert len(m.x) <= MAX_BREAKPOINTS and m.pooling_error == 0.0
    np.testing.assert_allclose(m(grid), sk.predict(grid), atol=1e-12)
    np.testing.assert_allclose(m(x), sk.predict(x), atol=1e-12)


def test_monotone_and_bounded_on_many_blocks():
    rng = np.random.default_rng(3)
    x = rng.random(200_000)
    y = x + rng.normal(0, 0.01, x.size)  # a near-linear target: thousands of PAV blocks
    m = fit_isotonic(x, y)
    assert len(m.x) <= MAX_BREAKPOINTS
    assert np.all(np.diff(m.x) >= 0) and np.all(np.diff(m.y) >= 0)
    values = m(np.sort(rng.random(10_000)))
    assert np.all(np.diff(values) >= 0)
    # Pooling into at most 128 groups: the error stated is what it costs against the full fit.
    sk = IsotonicRegression(out_of_bounds="clip").fit(x, y)
    grid = np.linspace(0.01, 0.99, 999)
    gap = np.abs(m(grid) - sk.predict(grid)).max()
    assert 0 < m.pooling_error < 0.05
    assert gap <= m.pooling_error + 1e-9


def test_binary_calibration_from_predict_proba_and_1d_scores():
    rng = np.random.default_rng(4)
    s = rng.random(5000)
    y = (rng.random(5000) < s**2).astype(int)  # scores too high: calibrated p ~ s^2
    matrix = fit_calibration(np.column_stack([1 - s, s]), y)
    single = fit_calibration(s, y)
    assert matrix == single
    assert matrix.classes == (0, 1) and matrix.binary
    p = matrix.calibrate(np.array([0.3, 0.5, 0.9]))
    np.testing.assert_allclose(p, [0.09, 0.25, 0.81], atol=0.06)
    assert 0 < matrix.calibration_error < 0.05
    assert 200 <= len(matrix.auc_edges) < 256
    assert matrix.n_rows == 5000
    assert matrix.accuracy == pytest.approx(((s > 0.5) == y).mean())


def test_string_labels_and_multiclass():
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(3000, 3))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(["a", "b", "c"])[[rng.choice(3, p=row) for row in probs]]
    cal = fit_calibration(probs, labels)
    assert cal.classes == ("a", "b", "c") and not cal.binary and len(cal.maps) == 3
    calibrated = cal.calibrate(probs[:10])
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0)
    assert cal.auc_edges == ()


def test_json_round_trip():
    rng = np.random.default_rng(6)
    s = rng.random(1000)
    cal = fit_calibration(s, (rng.random(1000) < s).astype(int))
    again = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
    assert again == cal
    x = rng.random(100)
    np.testing.assert_array_equal(again.calibrate(x), cal.calibrate(x))


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        (np.array([0.2, 1.3, 0.5]), [0, 1, 1], r"probabilities in \[0, 1\]"),
        (np.array([0.2, 0.3]), [0, 1, 1], "2 score rows but 3 labels"),
        (np.array([0.2, 0.3, 0.9]), [1, 1, 1], "both classes"),
        (np.array([0.2, 0.3, 0.9]), [0, 1, 2], "3 distinct labels but scores for 2 classes"),
        (np.full((3, 3), 1 / 3), [0, 1, 1], "name them with classes="),
        (np.array([np.nan, 0.3]), [0, None], "at least 2 rows"),
    ],
)
def test_bad_input_is_a_clear_error(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        fit_calibration(scores, labels)


def test_damaged_maps_are_rejected():
    with pytest.raises(ValueError, match="non-decreasing"):
        IsotonicMap.from_dict({"x": [0.1, 0.2], "y": [0.9, 0.1]})
    with pytest.raises(ValueError, match="y in"):
        IsotonicMap.from_dict({"x": [0.1, 0.2], "y": [0.1, 1.5]})
