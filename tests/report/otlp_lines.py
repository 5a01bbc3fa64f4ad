"""Hand-written OTLP/JSON lines (the file exporters' encoding) for report tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESOURCE = {"attributes": [{"key": "service.name", "value": {"stringValue": "fraud-api"}}]}


def attrs(**kv: Any) -> list[dict[str, Any]]:
    out = []
    for k, v in kv.items():
        value = {"doubleValue": v} if isinstance(v, float) else {"stringValue": str(v)}
        out.append({"key": k.replace("_", "."), "value": value})
    return out


def metrics_line(metric: dict[str, Any], resource: dict[str, Any] = RESOURCE) -> dict[str, Any]:
    """One metrics line (an ExportMetricsServiceRequest) holding ``metric`` alone."""
    return {
        "resourceMetrics": [
            {"resource": resource, "scopeMetrics": [{"scope": {"name": "mlotel"}, "metrics": [metric]}]}
        ]
    }


def gauge_line(name: str, points: list[tuple[int, float, dict[str, Any]]]) -> dict[str, Any]:
    """One metrics line holding gauge ``name`` with ``(time_ns, value, attributes)`` points."""
    dps = [{"attributes": attrs(**a), "timeUnixNano": str(t), "asDouble": v} for t, v, a in points]
    metric = {"name": name, "unit": "1", "gauge": {"dataPoints": dps}}
    return metrics_line(metric)


def histogram_line(name: str, points: list[dict[str, Any]], temporality: int = 2) -> dict[str, Any]:
    """One metrics line with explicit-histogram points (already OTLP/JSON dicts)."""
    metric = {
        "name": name,
        "unit": "s",
        "histogram": {"dataPoints": points, "aggregationTemporality": temporality},
    }
    return metrics_line(metric)


def exponential_line(
    name: str, points: list[dict[str, Any]], resource: dict[str, Any] = RESOURCE, temporality: int = 2
) -> dict[str, Any]:
    """One metrics line with exponential-histogram points (already OTLP/JSON dicts)."""
    metric = {
        "name": name,
        "unit": "1",
        "exponentialHistogram": {"dataPoints": points, "aggregationTemporality": temporality},
    }
    return metrics_line(metric, resource)


def log_line(time_ns: int, body: str, **attributes: Any) -> dict[str, Any]:
    record = {
        "timeUnixNano": str(time_ns),
        "severityNumber": 13,
        "severityText": "WARN",
        "body": {"stringValue": body},
        "attributes": attrs(**attributes),
    }
    return {
        "resourceLogs": [
            {"resource": RESOURCE, "scopeLogs": [{"scope": {"name": "mlotel"}, "logRecords": [record]}]}
        ]
    }


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    with open(path, "a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, allow_nan=False) + "\n")
    return path
