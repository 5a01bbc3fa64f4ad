"""Feature and prediction distributions recorded by @monitor, as the exported metrics show them."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

import mlotel
from mlotel import _runtime
from mlotel import _semconv as sc
from mlotel.data import read_output
from mlotel.monitor._buffer import MAX_BLOCK_VALUES, block_rows
from mlotel.sketches import ExponentialHistogram
from tests.mlotel_fixtures import points

# Kept for tests/outcomes/test_quality.py; new code calls ExponentialHistogram.from_otlp.


def assert_same_sketch(a: ExponentialHistogram, b: ExponentialHistogram) -> None:
    """Bucket-exact equality; the sum only up to float rounding (addition order differs)."""
    assert (a.scale, a.zero_count, a.count, a.min, a.max) == (b.scale, b.zero_count, b.count, b.min, b.max)
    for store_a, store_b in ((a.positive, b.positive), (a.negative, b.negative)):
        assert store_a.offset == store_b.offset or (store_a.is_empty() and store_b.is_empty())
        np.testing.assert_array_equal(np.trim_zeros(store_a.counts, "b"), np.trim_zeros(store_b.counts, "b"))
    assert a.sum == pytest.approx(b.sum, rel=1e-12, abs=1e-9)


def by_feature(metric, attribute=sc.FEATURE_NAME):
    return {p.attributes[attribute]: p for p in metric.data.data_points}


def test_numpy_features_become_exponential_histograms(telemetry):
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.lognormal(size=1000), rng.normal(size=1000), rng.integers(0, 5, size=1000)])

    @mlotel.monitor(model="m", version="1")
    def predict(X):
        return X[:, 0] * 2

    for chunk in np.array_split(X, 10):
        predict(chunk)
    metrics = telemetry.collect()
    features = by_feature(metrics[sc.FEATURE_VALUE])
    assert set(features) == {"f0", "f1", "f2"}
    for j, name in enumerate(["f0", "f1", "f2"]):
        point = features[name]
        assert point.count == 1000
        assert point.sum == pytest.approx(X[:, j].sum())
        assert point.min == X[:, j].min() and point.max == X[:, j].max()
        assert point.attributes[sc.MODEL_NAME] == "m" and point.attributes[sc.MODEL_VERSION] == "1"
        expected = ExponentialHistogram()
        expected.update(X[:, j])
        # Decoded as a backend would: exactly the sketch of all the data.
        assert_same_sketch(ExponentialHistogram.from_otlp(point), expected)
    assert len(features["f1"].negative.bucket_counts) > 0  # negatives kept, unlike SDK histograms
    (prediction,) = metrics[sc.PREDICTION_VALUE].data.data_points
    assert prediction.count == 1000 and sc.OUTPUT_NAME not in prediction.attributes
    assert sc.FEATURE_MISSING not in metrics  # nothing missing, no series


def test_one_row_calls_are_buffered_but_exact(telemetry):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(1000, 4))

    @mlotel.monitor(model="m")
    def predict(row):
        return row

    for row in X:
        predict(row[None, :])
    features = by_feature(telemetry.collect()[sc.FEATURE_VALUE])
    for j in range(4):
        expected = ExponentialHistogram()
        expected.update(X[:, j])
        assert_same_sketch(ExponentialHistogram.from_otlp(features[f"f{j}"]), expected)
    # A second interval continues cumulatively.
    predict(X[:1])
    assert by_feature(telemetry.collect()[sc.FEATURE_VALUE])["f0"].count == 1001


def test_a_block_grows_for_larger_batches_within_the_bound(telemetry):
    """One-row calls first (a small block), batches later: the block grows and stays exact."""
    rng = np.random.default_rng(4)
    X = rng.lognormal(size=(5 * 900 + 3, 30))
    predict = mlotel.monitor(model="m", sketch_outputs=False)(lambda batch: None)
    for row in X[:3]:
        predict(row[None, :])
    for batch in np.array_split(X[3:], 5):
        predict(batch)
    buffers = [flush.__self__ for flush in _runtime.active().registry._flushers]
    (block,) = [b._block for b in buffers if hasattr(b, "_block")]
    assert block.shape == (block_rows(30, 900), 30) and block.size <= MAX_BLOCK_VALUES
    features = by_feature(telemetry.collect()[sc.FEATURE_VALUE])
    for j in range(30):
        expected = ExponentialHistogram()
        expected.update(X[:, j])
        assert_same_sketch(ExponentialHistogram.from_otlp(features[f"f{j}"]), expected)


def test_block_sizes_follow_the_batch_within_the_bound():
    # One-row calls: at most 16,384 values and 1,024 rows, at least 16 rows.
    assert block_rows(10) == 1024 and block_rows(30) == 16384 // 30 and block_rows(2000) == 16
    assert block_rows(30, 1000) == 8 * 1000  # batches: eight per block...
    assert block_rows(64, 100_000) * 64 <= MAX_BLOCK_VALUES  # ...within 2 MiB whatever the batch
    assert block_rows(1, 10**9) == MAX_BLOCK_VALUES


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_batches_are_buffered_in_blocks_but_exact(telemetry, monkeypatch, kind):
    """Batches of hundreds of rows share one block per few calls: the export is still exact."""
    update = ExponentialHistogram.update

    def updates(self, values):
        updates.count += 1
        update(self, values)

    updates.count = 0
    monkeypatch.setattr(ExponentialHistogram, "update", updates)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(21 * 300, 12)) * rng.lognormal(size=12)

    @mlotel.monitor(model="m")
    def predict(batch):
        return batch[:, :3] * 2

    convert = np.asarray
    if kind == "torch":
        torch = pytest.importorskip("torch")
        convert = torch.from_numpy
    for batch in np.array_split(X, 21):  # 300 rows a call: 8 calls a block, 5 left at collection
        predict(convert(batch))
    metrics = telemetry.collect()
    features = by_feature(metrics[sc.FEATURE_VALUE])
    outputs = by_feature(metrics[sc.PREDICTION_VALUE], sc.OUTPUT_NAME)
    for j in range(12):
        expected = ExponentialHistogram()
        expected.update(X[:, j])
        assert_same_sketch(ExponentialHistogram.from_otlp(features[f"f{j}"]), expected)
    for j, point in enumerate(outputs.values()):
        assert point.count == len(X) and point.sum == pytest.approx(2 * X[:, j].sum())
    # 15 columns (12 in, 3 out): the first call is sketched as read, then one update per
    # column per block of 8 calls and one at collection; column by column it would be 21 x 15.
    assert updates.count <= 15 * 5
    predict(convert(X[:7]))
    assert by_feature(telemetry.collect()[sc.FEATURE_VALUE])["f0"].count == len(X) + 7


def test_dataframe_with_names_categories_and_missing(telemetry):
    frame = pd.DataFrame(
        {
            "amount": [10.0, np.nan, 30.0, 40.0, None, 60.0],
            "age": pd.array([20, 30, None, 50, 60, 70], dtype="Int64"),
            "country": ["fr", "de", "fr", None, "us", "fr"],
        }
    )

    @mlotel.monitor(model="fraud", categorical=["country"])
    def predict(X):
        return np.array(["ok", "fraud", "ok", "ok", "ok", "fraud"])

    predict(frame)
    metrics = telemetry.collect()
    values = by_feature(metrics[sc.FEATURE_VALUE])
    assert set(values) == {"amount", "age"}
    assert values["amount"].count == 4 and values["age"].count == 5
    missing = {p.attributes[sc.FEATURE_NAME]: p.value for p in metrics[sc.FEATURE_MISSING].data.data_points}
    assert missing == {"amount": 2, "age": 1, "country": 1}
    categories = {
        p.attributes[sc.FEATURE_CATEGORY]: p.value
        for p in points(metrics[sc.FEATURE_CATEGORY_COUNT], **{sc.FEATURE_NAME: "country"})
    }
    assert categories == {"fr": 3, "de": 1, "us": 1}
    classes = {
        p.attributes[sc.PREDICTION_CLASS]: p.value
        for p in metrics[sc.PREDICTION_CLASS_COUNT].data.data_points
    }
    assert classes == {"ok": 4, "fraud": 2}


def test_one_score_per_row_outputs_take_the_block_path_and_stay_exact(telemetry, monkeypatch):
    """1-D float outputs (predict_proba(X)[:, 1], a regressor's predict) are buffered in a
    block like 2-D ones; the sketch is the same as the whole output's, and an output that
    reads as class labels (ints) still goes to the class counts, not the score block."""
    from mlotel.monitor import _features

    reads = []
    monkeypatch.setattr(_features, "read_output", lambda y, **kw: reads.append(y) or read_output(y, **kw))
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 3))
    labels = {"use": False}

    @mlotel.monitor(model="m")
    def predict(rows):
        return (rows[:, 0] > 0).astype(np.int64) if labels["use"] else rows[:, 0] * 3.0

    for i in range(0, 400):
        assert np.array_equal(predict(X[i : i + 1]), X[i : i + 1, 0] * 3.0)
    predict(X[400:500])
    assert len(reads) == 1  # read once to learn the layout; then the block path
    labels["use"] = True
    ints = predict(X[500:])
    metrics = telemetry.collect()
    (scores,) = metrics[sc.PREDICTION_VALUE].data.data_points
    expected = ExponentialHistogram()
    expected.update(X[:500, 0] * 3.0)
    assert_same_sketch(ExponentialHistogram.from_otlp(scores), expected)
    classes = by_feature(metrics[sc.PREDICTION_CLASS_COUNT], sc.PREDICTION_CLASS)
    assert sum(p.value for p in classes.values()) == len(ints) == 100
    assert len(reads) == 2


def test_probability_outputs_get_one_series_per_class(telemetry):
    @mlotel.monitor(class_names=["setosa", "versicolor", "virginica"])
    def predict_proba(X):
        p = np.abs(X[:, :3]) + 1e-3
        return p / p.sum(axis=1, keepdims=True)

    X = np.random.default_rng(3).normal(size=(200, 4))
    expected = predict_proba.__wrapped__(X)
    np.testing.assert_array_equal(predict_proba(X), expected)
    outputs = by_feature(telemetry.collect()[sc.PREDICTION_VALUE], sc.OUTPUT_NAME)
    assert set(outputs) == {"setosa", "versicolor", "virginica"}
    assert all(p.count == 200 for p in outputs.values())
    assert outputs["setosa"].sum == pytest.approx(expected[:, 0].sum())


def test_many_distinct_categories_stay_bounded(telemetry):
    @mlotel.monitor(top_k=8)
    def predict(X):
        return None

    heavy = np.array(["common"] * 5000, dtype=object)
    for i in range(20):
        unique = np.array([f"user-{i}-{j}" for j in range(50_000)], dtype=object)
        predict({"user": np.concatenate([unique, heavy])})
    (series_points) = telemetry.collect()[sc.FEATURE_CATEGORY_COUNT].data.data_points
    assert len(series_points) <= 8 + 1
    counts = {p.attributes[sc.FEATURE_CATEGORY]: p.value for p in series_points}
    # Misra-Gries: a kept count c satisfies c <= true <= c + other / (k + 1).
    assert 100_000 - counts["__other__"] / 9 <= counts["common"] <= 100_000
    assert sum(counts.values()) == 20 * 55_000  # totals exact, the rest under __other__


def test_feature_count_is_bounded(telemetry):
    @mlotel.monitor(max_features=5)
    def predict(X):
        return None

    for i in range(50):
        predict({f"feature_{i}_{j}": [1.0, 2.0] for j in range(10)})
    names = {p.attributes[sc.FEATURE_NAME] for p in telemetry.collect()[sc.FEATURE_VALUE].data.data_points}
    assert len(names) == 5


def test_unreadable_input_is_counted_and_skipped(telemetry):
    @mlotel.monitor
    def predict(X):
        return X.sum()

    cube = np.ones((2, 3, 4))
    assert predict(cube) == 24.0
    metrics = telemetry.collect()
    faults = {p.attributes[sc.FAULT_KIND]: p.value for p in metrics[sc.FAULT_COUNT].data.data_points}
    assert faults == {"input": 1}
    assert sc.FEATURE_VALUE not in metrics
    assert metrics[sc.PREDICTION_DURATION].data.data_points[0].count == 1


def test_row_sampling_keeps_latency_exact(telemetry):
    @mlotel.monitor(sample_rate=0.25)
    def predict(X):
        return None

    X = np.random.default_rng(4).normal(size=(4000, 2))
    for chunk in np.array_split(X, 40):
        predict(chunk)
    metrics = telemetry.collect()
    sketched = by_feature(metrics[sc.FEATURE_VALUE])["f0"].count
    assert 700 < sketched < 1300  # ~1000 expected; binomial sd ~27
    assert metrics[sc.PREDICTION_DURATION].data.data_points[0].count == 40
    assert metrics[sc.PREDICTION_BATCH_SIZE].data.data_points[0].sum == 4000


def test_state_does_not_grow_with_traffic(telemetry):
    @mlotel.monitor(max_buckets=64)
    def predict(X):
        return X[:, 0]

    rng = np.random.default_rng(5)
    for _ in range(300):
        predict(rng.lognormal(sigma=3, size=(100, 3)))
    from mlotel import _runtime

    registry = _runtime.active().registry
    for instrument in registry.instruments():
        for series in instrument.all_series():
            sketch = getattr(series.state, "sketch", None)
            if sketch is not None and hasattr(sketch, "positive"):
                assert len(sketch.positive.counts) <= 64 and len(sketch.negative.counts) <= 64
    telemetry.collect()
    point = by_feature(telemetry.collect()[sc.FEATURE_VALUE])["f0"]
    assert len(point.positive.bucket_counts) <= 64 and point.count == 30_000


def test_exact_sketch_counts_from_eight_threads(telemetry):
    @mlotel.monitor
    def predict(X):
        return X[:, 0]

    rows_per_call, calls = 7, 300
    barrier = threading.Barrier(8)

    def work(seed):
        rng = np.random.default_rng(seed)
        barrier.wait()
        for _ in range(calls):
            predict(rng.normal(size=(rows_per_call, 3)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    metrics = telemetry.collect()
    features = by_feature(metrics[sc.FEATURE_VALUE])
    assert all(p.count == 8 * calls * rows_per_call for p in features.values())
    assert metrics[sc.PREDICTION_VALUE].data.data_points[0].count == 8 * calls * rows_per_call


def test_delta_temporality_resets_each_interval():
    from opentelemetry.sdk.metrics import Counter as SdkCounter
    from opentelemetry.sdk.metrics import Histogram as SdkHistogram
    from opentelemetry.sdk.metrics.export import AggregationTemporality

    from tests.mlotel_fixtures import make_telemetry

    telemetry = make_telemetry(
        preferred_temporality={
            SdkHistogram: AggregationTemporality.DELTA,
            SdkCounter: AggregationTemporality.DELTA,
        }
    )

    @mlotel.monitor
    def predict(X):
        return None

    predict(np.ones((10, 1)))
    first = telemetry.collect()
    predict(np.ones((3, 1)))
    second = telemetry.collect()
    assert first[sc.FEATURE_VALUE].data.aggregation_temporality == AggregationTemporality.DELTA
    assert first[sc.FEATURE_VALUE].data.data_points[0].count == 10
    assert second[sc.FEATURE_VALUE].data.data_points[0].count == 3
    assert second[sc.PREDICTION_DURATION].data.data_points[0].count == 1
    assert (
        second[sc.FEATURE_VALUE].data.data_points[0].start_time_unix_nano
        == first[sc.FEATURE_VALUE].data.data_points[0].time_unix_nano
    )
