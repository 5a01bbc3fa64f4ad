"""The demo's model, training data and request generator.

scikit-learn's breast cancer data (569 rows, bundled with scikit-learn, no download):
six of its thirty measurements, plus a synthetic categorical ``clinic`` column drawn
with fixed weights, so the demo has a categorical feature to drift too. A standardized
logistic regression is trained on three quarters of the rows; the reference profile is
built from the same rows: their features (and a multivariate model of them), the true
labels as the target, and the model's out-of-fold scores (5-fold cross-validation) as its
predictions. Served scores are compared with those (prediction drift), and the scores with
the labels give the calibration of the label-free performance estimate: out-of-fold
scores, since a calibration learnt on scores of rows the model was fitted on would be too
optimistic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

MODEL_NAME = "breast-cancer"
MODEL_VERSION = "1"
FEATURES = (
    "mean radius",
    "mean texture",
    "mean smoothness",
    "mean concavity",
    "worst area",
    "worst symmetry",
)
CATEGORICAL = "clinic"
CLINICS = ("north", "south", "east", "west", "central")
CLINIC_WEIGHTS = (0.35, 0.25, 0.2, 0.12, 0.08)

#: Drift injected halfway: a recalibrated scanner reads this feature ``SHIFT_FACTOR`` times higher...
SHIFTED_FEATURE = "mean texture"
SHIFT_FACTOR = 1.3
#: ... and a new clinic, unknown to the reference, sends this share of the requests.
NEW_CLINIC = "mobile-unit"
NEW_CLINIC_SHARE = 0.25

#: ... and a join bug pairs each row's ``DECOUPLED_FEATURE`` with another patient's: its own
#: distribution is unchanged (no univariate drift), but it no longer goes with
#: ``DECOUPLED_WITH`` (r = 0.94 in the training data). Only multivariate drift sees it.
DECOUPLED_FEATURE = "worst area"
DECOUPLED_WITH = "mean radius"

#: Served rows are training-distribution rows times ``1 + N(0, JITTER)``, so they are not exact copies.
JITTER = 0.02


@dataclass(frozen=True)
class Trained:
    """A fitted model with the data the demo needs around it."""

    model: Any  # a fitted sklearn Pipeline
    train: dict[str, np.ndarray]  # columns of the training rows, clinic included
    labels: np.ndarray  # the training rows' labels (1 = malignant)
    scores: np.ndarray  # out-of-fold P(malignant) of the training rows
    pool: np.ndarray  # all rows (n, len(FEATURES)) that served requests are drawn from
    pool_labels: np.ndarray  # their labels: the outcomes the clients report
    accuracy: float  # on the held-out quarter
    n_train: int


def train(seed: int = 0) -> Trained:
    """Fit the demo model. Raises ImportError when scikit-learn is not installed."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    names = list(data.feature_names)
    X = data.data[:, [names.index(f) for f in FEATURES]]
    y = (data.target == 0).astype(int)  # 1 = malignant: the score is P(malignant)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    cut = len(X) * 3 // 4
    tr, te = order[:cut], order[cut:]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    scores = cross_val_predict(model, X[tr], y[tr], cv=5, method="predict_proba")[:, 1]
    model.fit(X[tr], y[tr])
    accuracy = float((model.predict(X[te]) == y[te]).mean())
    clinics = rng.choice(np.array(CLINICS, dtype=object), size=len(tr), p=CLINIC_WEIGHTS)
    columns = {name: X[tr, i] for i, name in enumerate(FEATURES)}
    columns[CATEGORICAL] = clinics
    return Trained(
        model=model,
        train=columns,
        labels=y[tr],
        scores=scores,
        pool=X,
        pool_labels=y,
        accuracy=accuracy,
        n_train=len(tr),
    )


def build_profile(trained: Trained):
    """The reference profile: training features with a multivariate model of them, the labels
    as the target, the out-of-fold scores as the predictions and the performance calibration."""
    import mlotel

    return mlotel.build_reference(
        trained.train,
        categorical=[CATEGORICAL],
        target=trained.labels,
        predictions=trained.scores,
        performance_estimate=True,
        multivariate=True,
    )


def to_matrix(rows: list[dict[str, Any]]) -> np.ndarray:
    """Request rows -> the model's input matrix. Raises ValueError for a missing or non-numeric value."""
    X = np.array([[row.get(f) for f in FEATURES] for row in rows], dtype=float)
    if np.isnan(X).any():
        row, col = np.argwhere(np.isnan(X))[0]
        raise ValueError(f"malformed request: row {row} has no value for {FEATURES[col]!r}")
    return X


class RequestMaker:
    """Draws request bodies (lists of row dicts, as a JSON API receives them). One per thread."""

    def __init__(self, pool: np.ndarray, seed: int, labels: np.ndarray | None = None) -> None:
        self.pool = pool
        self.labels = np.zeros(len(pool), dtype=np.int64) if labels is None else labels
        self.rng = np.random.default_rng(seed)
        self.random = random.Random(seed)
        self.shift = np.ones(len(FEATURES))
        self.shift[FEATURES.index(SHIFTED_FEATURE)] = SHIFT_FACTOR
        self.decoupled = FEATURES.index(DECOUPLED_FEATURE)

    def rows(self, drifted: bool, malformed: bool) -> list[dict[str, Any]]:
        """80% single rows, 20% batches of 2 to 32; ``malformed`` blanks one value of one row."""
        return self.request(drifted, malformed)[0]

    def request(self, drifted: bool, malformed: bool) -> tuple[list[dict[str, Any]], np.ndarray]:
        """:meth:`rows` and the true label of each row (its outcome, known later)."""
        n = 1 if self.random.random() < 0.8 else self.random.randint(2, 32)
        drawn = self.rng.integers(0, len(self.pool), n)
        values = self.pool[drawn]
        values = values * (1.0 + self.rng.normal(0.0, JITTER, values.shape))
        if drifted:
            values = values * self.shift
            other = self.pool[self.rng.integers(0, len(self.pool), n), self.decoupled]
            values[:, self.decoupled] = other * (1.0 + self.rng.normal(0.0, JITTER, n))
        clinics = self.rng.choice(len(CLINICS), size=n, p=CLINIC_WEIGHTS)
        rows = []
        for i in range(n):
            row: dict[str, Any] = {f: float(v) for f, v in zip(FEATURES, values[i])}
            new = drifted and self.random.random() < NEW_CLINIC_SHARE
            row[CATEGORICAL] = NEW_CLINIC if new else CLINICS[clinics[i]]
            rows.append(row)
        if malformed:
            rows[self.random.randrange(n)][self.random.choice(FEATURES)] = None
        return rows, self.labels[drawn]

    def lookup_seconds(self) -> float:
        """Simulated feature-store lookup: lognormal, median 3 ms, p99 about 12 ms."""
        return self.random.lognormvariate(np.log(0.003), 0.6)

    def think_seconds(self, rate: float) -> float:
        """Time to this thread's next request: Poisson arrivals at ``rate`` per second."""
        return self.random.expovariate(rate)
