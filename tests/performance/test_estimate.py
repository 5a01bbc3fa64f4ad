"""CBPE from calibrated scores: follows the realized metrics of a real LogisticRegression under
covariate shift within its stated error; aggregates merge exactly; bad outputs are refused."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from mlotel.performance import (
    NotProbabilities,
    RealizedCounts,
    aggregate,
    estimate,
    fit_calibration,
    probability_scores,
)
from mlotel.performance.estimate import roc_auc

D = 6


class World:
    """A logistic world: ``P(y = 1 | x)`` is fixed, only the distribution of ``x`` moves
    (covariate shift), which is the assumption CBPE rests on."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        a = self.rng.normal(size=(D, D))
        self.cov = a @ a.T / D + 0.5 * np.eye(D)
        self.beta = np.array([1.5, -1.0, 0.8, 0.0, 0.5, -0.3])

    def draw(self, n: int, shift: float = 0.0, scale: float = 1.0):
        direction = self.cov @ self.beta / np.sqrt(self.beta @ self.cov @ self.beta)
        X = self.rng.multivariate_normal(shift * direction, self.cov * scale**2, n)
        y = (self.rng.random(n) < 1 / (1 + np.exp(-(X @ self.beta - 0.2)))).astype(int)
        return X, y


@pytest.fixture(scope="module")
def setup():
    world = World()
    X, y = world.draw(10_000)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    X_ref, y_ref = world.draw(10_000)
    calibration = fit_calibration(model.predict_proba(X_ref), y_ref)
    return world, model, calibration


#: (mean shift along the decision direction in its standard deviations, spread factor)
CHUNKS = [(0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (2.0, 1.0), (-1.5, 1.0), (0.0, 0.4), (0.0, 0.2), (1.0, 0.5)]


def realized(y, scores):
    predicted = (scores[:, 1] > 0.5).astype(int)
    return {
        "accuracy": accuracy_score(y, predicted),
        "precision": precision_score(y, predicted),
        "recall": recall_score(y, predicted),
        "f1": f1_score(y, predicted),
        "roc_auc": roc_auc_score(y, scores[:, 1]),
    }


def test_estimate_follows_realized_under_covariate_shift(setup):
    world, model, calibration = setup
    estimated_accuracy, realized_accuracy = [], []
    misses = total = 0
    for shift, scale in CHUNKS:
        X, y = world.draw(2000, shift, scale)
        scores = model.predict_proba(X)
        checked, missing = probability_scores(scores, calibration)
        assert missing == 0
        results = {e.metric: e for e in estimate(calibration, aggregate(calibration, checked))}
        assert set(results) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
        truth = realized(y, scores)
        # Accuracy: within the stated error on every chunk.
        acc = results["accuracy"]
        assert abs(acc.value - truth["accuracy"]) <= acc.error, (shift, scale, acc, truth["accuracy"])
        estimated_accuracy.append(acc.value)
        realized_accuracy.append(truth["accuracy"])
        for metric, value in truth.items():
            total += 1
            misses += abs(results[metric].value - value) > results[metric].error
    # The shift moves accuracy a lot (rows near or far from the boundary) and the estimate follows.
    assert max(realized_accuracy) - min(realized_accuracy) > 0.2
    assert np.corrcoef(estimated_accuracy, realized_accuracy)[0, 1] > 0.97
    # The other metrics too: about 95% intervals, so a miss or two out of 40 is expected.
    assert misses <= 3, misses


def test_stated_error_covers_about_95_percent(setup):
    world, model, calibration = setup
    inside = []
    for _ in range(100):
        X, y = world.draw(500, shift=0.7)
        scores = model.predict_proba(X)
        (acc,) = [
            e for e in estimate(calibration, aggregate(calibration, scores[:, 1])) if e.metric == "accuracy"
        ]
        inside.append(abs(acc.value - accuracy_score(y, scores[:, 1] > 0.5)) <= acc.error)
        assert acc.standard_error == pytest.approx(np.sqrt(acc.value * (1 - acc.value) / 500), rel=0.5)
    assert 0.9 <= np.mean(inside) <= 1.0


def test_aggregates_merge_exactly(setup):
    world, model, calibration = setup
    X, _ = world.draw(3000, shift=0.3)
    s = model.predict_proba(X)[:, 1]
    whole = aggregate(calibration, s)
    parts = aggregate(calibration, s[:1234])
    parts.merge(aggregate(calibration, s[1234:]))
    np.testing.assert_array_equal(parts.count, whole.count)
    for name in ("sum_c", "sum_c2", "positive", "negative"):
        np.testing.assert_allclose(getattr(parts, name), getattr(whole, name), rtol=1e-12)
    assert [e.value for e in estimate(calibration, parts)] == pytest.approx(
        [e.value for e in estimate(calibration, whole)], rel=1e-12
    )


def test_binned_auc_within_its_bound_of_the_row_wise_cbpe_auc(setup):
    world, model, calibration = setup
    X, _ = world.draw(5000, shift=-0.5)
    s = model.predict_proba(X)[:, 1]
    p = calibration.calibrate(s)
    order = np.argsort(-s, kind="stable")  # NannyML's way: expected TPR/FPR down the sorted rows
    tpr = np.r_[0, np.cumsum(p[order]) / p.sum()]
    fpr = np.r_[0, np.cumsum(1 - p[order]) / (1 - p).sum()]
    exact = np.trapezoid(tpr, fpr) if hasattr(np, "trapezoid") else np.trapz(tpr, fpr)
    state = aggregate(calibration, s)
    value, bound = roc_auc(state.positive, state.negative)
    assert abs(value - exact) <= bound
    assert bound < 0.01


def test_multiclass_accuracy():
    rng = np.random.default_rng(8)
    logits = rng.normal(size=(8000, 3)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    sharp = probs**2 / (probs**2).sum(axis=1, keepdims=True)  # an overconfident model
    labels = np.array([rng.choice(3, p=row) for row in probs])
    calibration = fit_calibration(sharp[:4000], labels[:4000])
    (acc,) = estimate(calibration, aggregate(calibration, sharp[4000:]))
    truth = (sharp[4000:].argmax(axis=1) == labels[4000:]).mean()
    assert acc.metric == "accuracy" and abs(acc.value - truth) <= acc.error
    assert sharp[4000:].max(axis=1).mean() - truth > 0.05  # the raw scores would be off


def test_realized_counts():
    counts = RealizedCounts(binary=True)
    pp = np.array([1, 1, 0, 0, 1], dtype=bool)
    ap = np.array([1, 0, 1, 0, 1], dtype=bool)
    counts.add(pp, ap, pp == ap)
    assert counts.metrics() == pytest.approx(
        {"accuracy": 0.6, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3}
    )
    multi = RealizedCounts(binary=False)
    multi.add(pp, ap, np.array([True, False, True, True]))
    assert multi.metrics() == {"accuracy": 0.75}
    assert RealizedCounts(binary=True).metrics() == {}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.array([0.2, 1.5]), r"outside \[0, 1\]"),
        (np.array([-0.1, 0.5]), r"outside \[0, 1\]"),
        (np.array([0.2, np.inf]), r"outside \[0, 1\]"),
        (np.array([[0.2, 0.7], [0.5, 0.5]]), "do not sum to 1"),
        (np.array([[0.2, 0.3, 0.5]]), "3 score columns"),
        (np.zeros((2, 2, 2)), "not class probabilities"),
    ],
)
def test_non_probabilities_are_refused(setup, values, message):
    _, _, calibration = setup
    with pytest.raises(NotProbabilities, match=message):
        probability_scores(values, calibration)


def test_missing_scores_are_left_out_and_counted(setup):
    _, _, calibration = setup
    values = np.array([[0.2, 0.8], [np.nan, np.nan], [0.9, 0.1], [np.nan, 1.0]])
    scores, missing = probability_scores(values, calibration)
    np.testing.assert_array_equal(scores, [0.8, 0.1])
    assert missing == 2
    state = aggregate(calibration, scores, missing)
    assert state.n == 2 and state.missing == 2
    only_missing = aggregate(calibration, *probability_scores(np.array([np.nan]), calibration))
    assert only_missing.n == 0 and not only_missing.is_empty() and estimate(calibration, only_missing) == []
