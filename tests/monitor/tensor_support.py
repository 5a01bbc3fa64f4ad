"""Checks shared by the CPU and CUDA tests of @monitor on torch tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlotel import _semconv as sc
from mlotel.sketches import ExponentialHistogram
from tests.monitor.test_features import assert_same_sketch


def host(tensor: Any) -> np.ndarray:
    """An independent host copy of ``tensor`` as float64 (bfloat16/float16 values are exact in float32)."""
    return tensor.detach().to("cpu", copy=True).float().numpy().astype(np.float64)


def by(metric: Any, attribute: str) -> dict[Any, Any]:
    return {p.attributes.get(attribute): p for p in metric.data.data_points}


def assert_sketches(metric: Any, attribute: str, names: list[str], matrix: np.ndarray) -> None:
    """Each named series of ``metric`` holds exactly the sketch of its column of ``matrix``."""
    points = by(metric, attribute)
    assert set(points) == set(names)
    for j, name in enumerate(names):
        column = matrix[:, j]
        point = points[name]
        assert point.count == len(column)
        assert point.sum == pytest.approx(float(column.sum()), rel=1e-12, abs=1e-9)  # summation order only
        expected = ExponentialHistogram()
        expected.update(column)
        assert_same_sketch(ExponentialHistogram.from_otlp(point), expected)


def assert_no_fault(metrics: dict[str, Any]) -> None:
    faults = metrics.get(sc.FAULT_COUNT)
    assert faults is None, {p.attributes.get(sc.FAULT_KIND): p.value for p in faults.data.data_points}


def sketched(metrics: dict[str, Any], features: np.ndarray, outputs: np.ndarray) -> None:
    """The exported ml.feature.value and ml.prediction.value are exactly those of the host copies."""
    assert_no_fault(metrics)
    assert_sketches(
        metrics[sc.FEATURE_VALUE], sc.FEATURE_NAME, [f"f{j}" for j in range(features.shape[1])], features
    )
    names = [None] if outputs.shape[1] == 1 else [str(j) for j in range(outputs.shape[1])]
    assert_sketches(metrics[sc.PREDICTION_VALUE], sc.OUTPUT_NAME, names, outputs)
