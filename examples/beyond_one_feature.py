"""Multivariate drift and a label-free accuracy estimate for a served classifier.

    python examples/beyond_one_feature.py

Trains a logistic regression on half of scikit-learn's breast-cancer data and builds the drift
reference from the other half (validation rows the model was not fitted on) with:

* ``multivariate=True``: a PCA model of how the features move together;
* ``target=labels, predictions=scores, performance_estimate=True``: the calibration of the
  model's scores against the true labels, so accuracy can be estimated before labels arrive.

Then it serves batches: first rows like the reference, then rows where a data bug pairs
``worst area`` with another patient's (its own distribution unchanged, so no per-feature
drift; its link with ``mean radius`` gone). Labels come back for the first batches only, as
they would with a delay. Telemetry goes where ``OTEL_EXPORTER_OTLP_ENDPOINT`` says, else to
``./mlotel-data``: look for ``ml.multivariate.drift``, ``ml.performance.estimated`` and
``ml.performance.realized``.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlotel

FEATURES = [
    "mean radius",
    "mean texture",
    "mean smoothness",
    "mean concavity",
    "worst area",
    "worst symmetry",
]


def main() -> None:
    data = load_breast_cancer(as_frame=True)
    X, y = data.frame[FEATURES], (data.target == 0).astype(int)  # 1 = malignant
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)

    reference = mlotel.build_reference(
        X_val,
        target=y_val,
        predictions=model.predict_proba(X_val)[:, 1],
        performance_estimate=True,
        multivariate=True,
    )

    @mlotel.monitor(
        model="breast-cancer",
        version="1",
        reference=reference,
        track_outcomes=True,
        task="classification",  # one P(malignant) per row: class 1 above 0.5
    )
    def predict(batch):
        return model.predict_proba(batch)[:, 1]

    rng = np.random.default_rng(0)
    for i in range(40):
        rows = rng.integers(0, len(X), 32)
        batch = X.iloc[rows].copy()
        if i >= 20:  # the data bug: 'worst area' from other rows
            batch["worst area"] = X["worst area"].to_numpy()[rng.integers(0, len(X), 32)]
        with mlotel.prediction_context() as call:
            predict(batch)
        if i < 30:  # labels arrive for the first 30 batches only
            mlotel.record_outcome(call.prediction_id, y.to_numpy()[rows].tolist())

    where = mlotel.destination()
    mlotel.shutdown()  # the last export: drift, estimate and realized accuracy over the run
    print(f"served 40 batches of 32 rows; telemetry: {where}")


if __name__ == "__main__":
    main()
