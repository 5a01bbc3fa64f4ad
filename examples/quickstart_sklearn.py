"""Decorate a scikit-learn model's predict function and see where its telemetry went.

Runs as written, with no collector: with no OTLP endpoint configured, mlotel writes
OTLP JSON files under ./mlotel-data (or $MLOTEL_DATA_DIR). Point it at a collector
with ``OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317``.

    python examples/quickstart_sklearn.py
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import mlotel

iris = load_iris(as_frame=True)
X, y = iris.data, iris.target
model = LogisticRegression(max_iter=500).fit(X, y)


@mlotel.monitor(model="iris-classifier", version="1")
def predict(features):
    return model.predict(features)


def main() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        rows = X.sample(n=int(rng.integers(1, 32)), random_state=int(rng.integers(1 << 31)))
        predict(rows)
    mlotel.force_flush()
    print("mlotel", mlotel.__version__, "- 200 monitored predict calls")
    print("telemetry went to:", mlotel.destination())
    mlotel.shutdown()


if __name__ == "__main__":
    main()
