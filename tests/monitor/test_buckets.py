"""``max_buckets`` per feature: each input feature's sketch keeps its own size, hence its own scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlotel
from mlotel import _semconv as sc
from mlotel.monitor import validate
from mlotel.sketches import ExponentialHistogram


def _scale(values: np.ndarray, size: int) -> int:
    h = ExponentialHistogram(max_size=size)
    h.update(values)
    return h.scale


def _frame(rows: int = 20_000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    # A normal column around 0 spreads over ~20 octaves: its scale is set by max_buckets.
    return pd.DataFrame(
        {"wide": rng.normal(size=rows), "income": rng.normal(size=rows), "age": rng.normal(size=rows)}
    )


def test_each_feature_gets_its_own_buckets_and_scale(telemetry):
    df = _frame()

    @mlotel.monitor(model="m", max_buckets={"wide": 640, "income": 320})
    def predict(frame):
        return frame["age"].to_numpy() * 2.0

    for start in range(0, len(df), 5_000):
        predict(df.iloc[start : start + 5_000])
    metrics = telemetry.collect()
    points = {p.attributes[sc.FEATURE_NAME]: p for p in metrics[sc.FEATURE_VALUE].data.data_points}
    expected = {"wide": 640, "income": 320, "age": 160}
    scales = {name: points[name].scale for name in expected}
    assert scales == {name: _scale(df[name].to_numpy(), size) for name, size in expected.items()}
    assert scales["wide"] > scales["income"] > scales["age"]  # finer where asked for
    for name, size in expected.items():
        point = points[name]
        assert len(point.positive.bucket_counts) <= size and len(point.negative.bucket_counts) <= size
        assert point.count == len(df)
        decoded = ExponentialHistogram.from_otlp(point, max_size=size)
        reference = ExponentialHistogram(max_size=size)
        reference.update(df[name].to_numpy())
        assert (decoded.scale, decoded.positive, decoded.negative) == (
            reference.scale,
            reference.positive,
            reference.negative,
        )
    # Outputs keep the model-wide size (160 here).
    (prediction,) = metrics[sc.PREDICTION_VALUE].data.data_points
    assert prediction.scale == _scale(df["age"].to_numpy() * 2.0, 160)


def test_star_sets_every_other_sketch_and_one_row_calls_honour_sizes(telemetry):
    X = _frame(4_000).to_numpy()

    @mlotel.monitor(model="m", features=["wide", "income", "age"], max_buckets={"*": 320, "wide": 1280})
    def predict(X):
        return X[:, 2]

    for row in X:  # one row per call: the matrix buffer feeds the same per-feature sketches
        predict(row[None, :])
    metrics = telemetry.collect()
    points = {p.attributes[sc.FEATURE_NAME]: p for p in metrics[sc.FEATURE_VALUE].data.data_points}
    assert points["wide"].scale == _scale(X[:, 0], 1280)
    assert points["income"].scale == _scale(X[:, 1], 320)
    assert points["age"].scale == _scale(X[:, 2], 320)
    assert points["wide"].scale > points["income"].scale
    (prediction,) = metrics[sc.PREDICTION_VALUE].data.data_points
    assert prediction.scale == _scale(X[:, 2], 320)


def test_an_int_still_sizes_every_sketch():
    options = validate(max_buckets=640)
    assert options.max_buckets == 640 and dict(options.feature_buckets) == {}
    assert options.buckets_for("anything") == 640
    options = validate(max_buckets={"income": 640})
    assert options.max_buckets == 160 and options.buckets_for("income") == 640
    assert options.buckets_for("age") == 160


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ({"income": 4}, ValueError, r"max_buckets\['income'\] must be an int in \[8, 16384\], got 4"),
        ({"income": 100_000}, ValueError, r"max_buckets\['income'\] must be an int in \[8, 16384\]"),
        ({"income": 320.0}, ValueError, r"max_buckets\['income'\]"),
        ({"*": True}, ValueError, r"max_buckets\['\*'\]"),
        ({3: 320}, TypeError, "every key must be a feature name"),
        ({"": 320}, TypeError, "every key must be a feature name"),
        (20_000, ValueError, r"max_buckets must be an int in \[8, 16384\]"),
        ("320", TypeError, r"max_buckets must be an int or a mapping"),
        ([("income", 320)], TypeError, r"max_buckets must be an int or a mapping"),
    ],
)
def test_bad_max_buckets_fail_at_decoration(value, error, match):
    with pytest.raises(error, match=match):
        mlotel.monitor(max_buckets=value)


def test_a_size_for_a_feature_outside_features_is_a_typo():
    with pytest.raises(ValueError, match=r"max_buckets names 'incme', not in features=\['income', 'age'\]"):
        mlotel.monitor(features=["income", "age"], max_buckets={"incme": 640, "*": 320})
    mlotel.monitor(features=["income", "age"], max_buckets={"income": 640, "*": 320})  # fine
