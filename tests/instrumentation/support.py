"""Reading what the instrumentation emitted into the ``telemetry`` fixture's in-memory providers."""

from __future__ import annotations

from typing import Any

from mlotel import _semconv as sc


def spans(telemetry, name: str | None = None) -> list[Any]:
    return [s for s in telemetry.spans() if name is None or s.name == name]


def series(telemetry, metric: str, label: str, **attributes: Any) -> dict[str, Any]:
    """{value of attribute ``label``: data point} of ``metric`` among points carrying ``attributes``."""
    found = telemetry.collect().get(metric)
    if found is None:
        return {}
    out = {}
    for point in found.data.data_points:
        if all(point.attributes.get(k) == v for k, v in attributes.items()):
            out[point.attributes.get(label)] = point
    return out


def features(telemetry, model: str) -> dict[str, Any]:
    """{feature name: ml.feature.value point} for ``model``."""
    return series(telemetry, sc.FEATURE_VALUE, sc.FEATURE_NAME, **{sc.MODEL_NAME: model})


def model_names(telemetry, metric: str = sc.PREDICTION_DURATION) -> set[str]:
    found = telemetry.collect().get(metric)
    return set() if found is None else {p.attributes[sc.MODEL_NAME] for p in found.data.data_points}


def identity(span: Any) -> tuple[Any, Any, Any]:
    a = span.attributes
    return a.get(sc.MODEL_NAME), a.get(sc.MODEL_FRAMEWORK), a.get(sc.MODEL_PARAMS_HASH)
