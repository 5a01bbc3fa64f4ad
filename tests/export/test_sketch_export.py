"""Feature sketches through a real collector: what a backend decodes is the sketch we kept."""

from __future__ import annotations

import json
import textwrap

import numpy as np
from opentelemetry.proto.metrics.v1 import metrics_pb2

from mlotel.sketches import ExponentialHistogram
from tests.apps import run_app
from tests.otlp_receiver import attrs_to_dict

APP = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import mlotel
    from mlotel.sketches import ExponentialHistogram

    rng = np.random.default_rng(7)
    X = np.column_stack([rng.lognormal(0, 1.5, 20000), rng.normal(-3, 2, 20000)])

    @mlotel.monitor(model="fraud", version="3")
    def predict(X):
        return X[:, 0] - X[:, 1]

    for chunk in np.array_split(X, 50):
        predict(chunk)
    qs = [0.01, 0.1, 0.5, 0.9, 0.99]
    out = {}
    for j, name in enumerate(["f0", "f1"]):
        h = ExponentialHistogram()
        h.update(X[:, j])
        out[name] = [float(v) for v in h.quantile(np.array(qs))]
    print(json.dumps(out))
    """
)


def test_decoded_buckets_give_the_in_process_quantiles(collector):
    proc = run_app(
        APP, {"OTEL_SERVICE_NAME": "fraud-api", "OTEL_EXPORTER_OTLP_ENDPOINT": collector.grpc_endpoint}
    )
    expected = json.loads(proc.stdout.strip().splitlines()[-1])

    def complete(receiver):
        metric = receiver.latest_metric("ml.feature.value")
        return metric if metric and all(p.count == 20000 for p in metric.data_points) else None

    metric = collector.receiver.wait_for(complete)
    assert metric.kind == "exponential_histogram"
    assert metric.data.aggregation_temporality == metrics_pb2.AGGREGATION_TEMPORALITY_CUMULATIVE
    decoded = {
        attrs_to_dict(p.attributes)["ml.feature.name"]: ExponentialHistogram.from_otlp(p)
        for p in metric.data_points
    }
    assert set(decoded) == {"f0", "f1"}
    qs = np.array([0.01, 0.1, 0.5, 0.9, 0.99])
    for name, sketch in decoded.items():
        np.testing.assert_allclose(sketch.quantile(qs), expected[name], rtol=0, atol=0)
    assert len(decoded["f1"].negative.counts) > 0
    prediction = collector.receiver.latest_metric("ml.prediction.value")
    assert prediction.data_points[0].count == 20000
