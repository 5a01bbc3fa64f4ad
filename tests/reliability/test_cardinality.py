"""Cardinality attacks: no input value can create unbounded series or state.

A million distinct category strings, megabyte-long strings, a million distinct feature
names, thousands of model names and exception types: the number of series, the exported
data points, the attribute lengths and the size of every sketch stay within the bounds
of docs/architecture.md, and the totals stay exact (everything past a bound is counted
under ``__other__`` or the overflow series, never lost).
"""

from __future__ import annotations

import contextlib

import numpy as np

import mlotel
from mlotel import _runtime
from mlotel.export._aggregates import DEFAULT_MAX_SERIES
from mlotel.sketches import ExponentialHistogram, FrequentItems

TOP_K, MAX_FEATURES, MAX_BUCKETS = 32, 256, 160


def _series(name: str) -> list:
    for instrument in _runtime.active().registry.instruments():
        if instrument.name == name:
            return instrument.all_series()
    return []


def _held_states() -> list:
    """Every state the registry holds for its readers (cumulative accumulations)."""
    registry = _runtime.active().registry
    return [state for acc in registry._accumulators.values() for (_, _, state, _) in acc.states.values()]


def _check_state_sizes() -> None:
    for state in _held_states():
        if isinstance(state, FrequentItems):
            assert len(state.items()) <= TOP_K
            assert all(len(key) <= state.max_key_length for key, _ in state.items())
        elif isinstance(state, ExponentialHistogram):
            assert len(state.positive.counts) <= MAX_BUCKETS and len(state.negative.counts) <= MAX_BUCKETS


def test_a_million_distinct_category_strings(telemetry):
    @mlotel.monitor(model="cities", categorical=["city"])
    def predict(X):
        return None

    chunk = 100_000
    for start in range(0, 1_000_000, chunk):
        predict({"city": np.array([f"city-{i}" for i in range(start, start + chunk)], dtype=object)})
    metric = telemetry.collect()["ml.feature.category.count"]
    assert len(metric.data.data_points) <= TOP_K + 1
    assert sum(p.value for p in metric.data.data_points) == 1_000_000  # exact: the rest is __other__
    assert len(_series("ml.feature.category.count")) == 1
    _check_state_sizes()


def test_megabyte_strings_are_truncated_in_every_attribute(telemetry):
    huge_name = "n" * 100_000

    @mlotel.monitor(model="long")
    def predict(X):
        return np.array([("p" * 1_000_000) + str(i % 3) for i in range(len(X[huge_name]))], dtype=object)

    values = np.array([("v" * 1_000_000) + str(i % 5) for i in range(50)], dtype=object)
    predict({huge_name: values, "x": np.arange(50.0)})
    metrics = telemetry.collect()
    for metric in metrics.values():
        for point in metric.data.data_points:
            for key, value in point.attributes.items():
                assert len(key) <= 64
                assert not isinstance(value, str) or len(value) <= 128, (metric.name, key, len(value))
    (span,) = telemetry.spans()
    assert all(not isinstance(v, str) or len(v) <= 128 for v in span.attributes.values())
    _check_state_sizes()


def test_a_million_distinct_feature_names(telemetry):
    @mlotel.monitor(model="wide")
    def predict(X):
        return None

    predict({f"feature-{i}": float(i) for i in range(1_000_000)})  # one row, a million columns
    for i in range(3000):  # and a new name on every call
        predict({f"fresh-{i}": [1.0]})
    metrics = telemetry.collect()
    names = {p.attributes["ml.feature.name"] for p in metrics["ml.feature.value"].data.data_points}
    assert len(names) == MAX_FEATURES
    assert len(_series("ml.feature.value")) == MAX_FEATURES
    assert len(_series("ml.feature.missing")) <= MAX_FEATURES
    _check_state_sizes()


def test_thousands_of_models_overflow_into_one_series(telemetry):
    models = DEFAULT_MAX_SERIES + 500
    for i in range(models):
        mlotel.monitor(model=f"model-{i}", sketch_inputs=False, sketch_outputs=False)(lambda X: X)([[1.0]])
    metric = telemetry.collect()["ml.prediction.duration"]
    assert len(metric.data.data_points) == DEFAULT_MAX_SERIES + 1
    overflow = [p for p in metric.data.data_points if p.attributes.get("otel.metric.overflow")]
    assert len(overflow) == 1 and overflow[0].count == 500
    assert sum(p.count for p in metric.data.data_points) == models  # exact across the overflow


def test_a_hundred_exception_types(telemetry):
    errors = [type(f"Error{i}", (Exception,), {}) for i in range(100)]

    @mlotel.monitor(model="errors")
    def predict(X, error):
        raise error("x")

    for error in errors:
        with contextlib.suppress(Exception):
            predict([[1.0]], error)
    points = telemetry.collect()["ml.prediction.duration"].data.data_points
    types = [p.attributes.get("error.type") for p in points]
    assert len(types) <= 32 + 1 and "_OTHER" in types
    assert sum(p.count for p in points) == 100
