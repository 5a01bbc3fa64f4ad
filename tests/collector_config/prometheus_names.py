"""OTLP -> Prometheus metric and label names, as Prometheus's OTLP receiver writes them.

A port of the default translation strategy (``UnderscoreEscapingWithSuffixes``) of
github.com/prometheus/otlptranslator (``metric_namer.go``, ``unit_namer.go``), which both
Prometheus's /api/v1/otlp receiver and the Collector's prometheusremotewrite exporter
use: invalid characters split the name into tokens joined by ``_``; the unit becomes a
suffix (``s`` -> ``seconds``, ``1`` and ``{curly}`` annotations -> nothing); monotonic
counters end in ``_total``; gauges with unit ``1`` end in ``_ratio``.
"""

from __future__ import annotations

import re

_UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes",
    "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes", "KBy": "kilobytes",
    "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes", "m": "meters", "V": "volts",
    "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius", "Hz": "hertz",
    "1": "", "%": "percent",
}  # fmt: skip
_PER_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month", "y": "year"}
_INVALID = re.compile(r"[^a-zA-Z0-9:]+")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]")

# Metric kinds, as in otlptranslator.MetricType.
COUNTER = "monotonic_counter"
NON_MONOTONIC_COUNTER = "non_monotonic_counter"
GAUGE = "gauge"
HISTOGRAM = "histogram"
EXPONENTIAL_HISTOGRAM = "exponential_histogram"


def _unit_suffixes(unit: str) -> tuple[str, str]:
    main, _, per = unit.partition("/")
    main, per = main.strip(), per.strip()
    main_suffix = _UNITS.get(main, main) if main and not re.search(r"[{}]", main) else ""
    per_suffix = ""
    if per and not re.search(r"[{}]", per):
        per_suffix = "per_" + _PER_UNITS.get(per, per)
    clean = lambda s: re.sub(r"_+", "_", _INVALID.sub("_", s)).lstrip("_")  # noqa: E731
    return clean(main_suffix), clean(per_suffix)


def metric_name(name: str, unit: str, kind: str) -> str:
    """The Prometheus name of an OTLP metric (``ml.prediction.duration``, ``s``, histogram -> ``ml_prediction_duration_seconds``)."""
    tokens = [t for t in _INVALID.split(name) if t]
    main, per = _unit_suffixes(unit)
    if main and main not in tokens:
        tokens.append(main.rstrip("_") if per else main)
    per = per.rstrip("_")
    if per and per != "per" and per not in tokens:
        tokens.append(per)
    if kind == COUNTER:
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if unit == "1" and kind == GAUGE:
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    out = "_".join(tokens)
    return "_" + out if out[:1].isdigit() else out


def series_names(name: str, unit: str, kind: str) -> set[str]:
    """Every series name a metric produces: classic histograms add _bucket/_sum/_count; native ones do not."""
    base = metric_name(name, unit, kind)
    if kind == HISTOGRAM:
        return {base + "_bucket", base + "_sum", base + "_count"}
    return {base}


def label_name(attribute: str) -> str:
    """The Prometheus label of an attribute key (``ml.model.name`` -> ``ml_model_name``)."""
    label = _INVALID_LABEL.sub("_", attribute)
    return "key_" + label if label[:1].isdigit() else label
