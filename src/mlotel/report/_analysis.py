"""Per model and version: the numbers and time series the report shows, computed from telemetry.

Sources, in order of preference:

* calls, errors and latency from ``ml.prediction.duration`` (every call, unsampled); from spans
  only when a model has no duration metric (e.g. a file holding traces only);
* rows from ``ml.prediction.batch.size`` (its sum);
* feature and prediction distributions from the totals of ``ml.feature.value`` /
  ``ml.prediction.value`` (exponential histograms merged exactly across series and restarts),
  categories from ``ml.feature.category.count``, classes from ``ml.prediction.class.count``;
* drift from the ``ml.feature.drift`` / ``ml.prediction.drift`` gauges and the drift alert log
  records (WARN records with ``ml.drift.method`` and ``ml.feature.name``);
* multivariate drift from the ``ml.multivariate.drift`` gauge and its bounds
  ``ml.multivariate.drift.lower`` / ``.upper``, and the alert records with
  ``ml.drift.method=reconstruction`` (no feature name);
* the performance estimate from ``ml.performance.estimated`` / ``.estimated_error`` and the
  realized values from ``ml.performance.realized`` (per ``ml.performance.metric`` and window).

Latency quantiles are estimated from the explicit buckets (see
:func:`~mlotel.report._histograms.explicit_quantile`); they cover failed calls too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlotel import _semconv as sc
from mlotel.export._telemetry import HistValue, LogRecord, Series, Telemetry
from mlotel.report._histograms import explicit_quantile
from mlotel.report._series import Interval, TimeGrid, add_values, intervals, total
from mlotel.report._summary import DriftedFeature, PerformanceLine
from mlotel.sketches import ExponentialHistogram

__all__ = ["DriftLine", "ModelData", "MultivariateLine", "PerformanceSeries", "analyze"]

FEATURE_DRIFT = "ml.feature.drift"
PREDICTION_DRIFT = "ml.prediction.drift"
DRIFT_ALERT_COUNT = "ml.drift.alert.count"
DRIFT_METHOD = "ml.drift.method"
DRIFT_WINDOW = "ml.drift.window"
DRIFT_VALUE = "ml.drift.value"
DRIFT_THRESHOLD = "ml.drift.threshold"
#: ``ml.drift.method`` of the multivariate gauges and alerts, and the feature name the summary
#: gives the multivariate row (as batch drift reports name it, docs/drift.md).
RECONSTRUCTION = "reconstruction"
MULTIVARIATE = "multivariate"
#: Order of the performance metrics in the report (others follow, sorted).
PERFORMANCE_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")

#: (warn, alert) drawn on drift charts and used to flag drifted features. ``chi2`` values are
#: statistics without a fixed scale: flagged only by alert log records.
DEFAULT_LEVELS: dict[str, tuple[float | None, float | None]] = {
    "psi": (0.1, 0.2),
    "js": (None, 0.1),
    "hellinger": (None, 0.1),
    "wasserstein": (None, 0.1),
    "ks": (None, 0.1),
    "chi2": (None, None),
}
_DISTANCES = ("psi", "js", "hellinger", "wasserstein")
QUANTILES = (0.5, 0.95, 0.99)

ModelKey = tuple[str, str]


@dataclass
class Timeline:
    """Per-bin values on a :class:`TimeGrid` (``ends``: bin end, epoch seconds; a bin covers
    ``[ends - durations, ends]``)."""

    ends: np.ndarray
    durations: np.ndarray  # seconds of data in each bin (first and last bins may be partial)
    calls: np.ndarray
    rows: np.ndarray | None
    errors: dict[str, np.ndarray]
    quantiles: dict[float, np.ndarray]  # seconds; NaN where a bin has no calls


@dataclass
class Distribution:
    """A numeric feature or output: serving (and reference) histograms."""

    name: str
    serving: ExponentialHistogram | None
    reference: ExponentialHistogram | None = None
    missing: float = 0.0
    reference_missing: float = 0.0


@dataclass
class Categories:
    name: str
    serving: dict[str, float]
    reference: dict[str, float] | None = None


@dataclass
class DriftLine:
    subject: str  # feature or output name
    kind: str  # "feature" or "prediction"
    method: str
    window: str
    times: np.ndarray  # epoch seconds
    values: np.ndarray
    warn: float | None
    alert: float | None


@dataclass
class MultivariateLine:
    """``ml.multivariate.drift`` of one window (``interval`` or ``sliding``) with its bounds;
    ``lower``/``upper`` hold NaN at times without a bound point."""

    window: str
    times: np.ndarray  # epoch seconds
    values: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass
class Track:
    """One gauge's points over time (epoch seconds), all series of one identity merged."""

    times: np.ndarray
    values: np.ndarray

    @property
    def latest(self) -> float:
        return float(self.values[-1]) if self.values.size else math.nan


@dataclass
class PerformanceSeries:
    """One performance metric (``accuracy``, ``f1``, ...): per window (``interval``,
    ``sliding``) the estimate, its stated error (aligned with ``estimated``: NaN where no
    error point has the estimate's time) and the realized value."""

    metric: str
    estimated: dict[str, Track] = field(default_factory=dict)
    error: dict[str, Track] = field(default_factory=dict)
    realized: dict[str, Track] = field(default_factory=dict)


@dataclass
class ModelData:
    model: str
    version: str
    calls: float = 0.0
    errors_by_type: dict[str, float] = field(default_factory=dict)
    rows: float | None = None
    quantiles: dict[float, float] = field(default_factory=dict)
    latency_source: str = "metrics"
    timeline: Timeline | None = None
    features: list[Distribution] = field(default_factory=list)
    categories: list[Categories] = field(default_factory=list)
    outputs: list[Distribution] = field(default_factory=list)
    classes: dict[str, dict[str, float]] = field(default_factory=dict)
    drift: list[DriftLine] = field(default_factory=list)
    alerts: list[LogRecord] = field(default_factory=list)
    alert_count: float = 0.0
    faults: dict[tuple[str, str], float] = field(default_factory=dict)
    drifted: list[DriftedFeature] = field(default_factory=list)
    multivariate: list[MultivariateLine] = field(default_factory=list)
    performance: list[PerformanceSeries] = field(default_factory=list)

    @property
    def errors(self) -> float:
        return float(sum(self.errors_by_type.values()))

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else math.nan

    @property
    def label(self) -> str:
        return f"{self.model} v{self.version}" if self.version else self.model


def model_key(attributes: dict[str, Any]) -> ModelKey | None:
    name = attributes.get(sc.MODEL_NAME)
    if name is None:
        return None
    return str(name), str(attributes.get(sc.MODEL_VERSION, ""))


def _by_model(series: Iterable[Series]) -> dict[ModelKey, list[Series]]:
    out: dict[ModelKey, list[Series]] = {}
    for s in series:
        key = model_key(s.attributes)
        if key is not None:
            out.setdefault(key, []).append(s)
    return out


def analyze(
    telemetry: Telemetry, reference: Any = None
) -> tuple[list[ModelData], dict[tuple[str, str], float]]:
    """Compute every model's :class:`ModelData` (sorted by model, version) and the faults that
    carry no model. ``reference`` is a ``ReferenceProfile`` or None."""
    durations = _by_model(telemetry.series(sc.PREDICTION_DURATION))
    keys: set[ModelKey] = set(durations)
    keys.update((s.model, s.version) for s in telemetry.spans)
    for name in (sc.FEATURE_VALUE, sc.PREDICTION_VALUE, FEATURE_DRIFT, PREDICTION_DRIFT,
                 sc.MULTIVARIATE_DRIFT, sc.PERFORMANCE_ESTIMATED, sc.PERFORMANCE_REALIZED):  # fmt: skip
        keys.update(_by_model(telemetry.series(name)))
    models = {key: ModelData(*key) for key in sorted(keys)}

    all_intervals = [iv for ss in durations.values() for s in ss for iv in intervals(s)]
    grid = TimeGrid((iv.start_ns, iv.end_ns) for iv in all_intervals) if all_intervals else None
    spans_by_model: dict[ModelKey, list] = {}
    for span in telemetry.spans:
        spans_by_model.setdefault((span.model, span.version), []).append(span)

    batches = _by_model(telemetry.series(sc.PREDICTION_BATCH_SIZE))
    for key, data in models.items():
        if key in durations:
            _calls_from_metrics(data, durations[key], batches.get(key, []), grid)
        elif key in spans_by_model:
            _calls_from_spans(data, spans_by_model[key])
    _distributions(models, telemetry, reference)
    _drift(models, telemetry)
    _performance(models, telemetry)
    loose_faults = _faults(models, telemetry)
    return list(models.values()), loose_faults


# -- calls, errors, latency ------------------------------------------------------------------


def _calls_from_metrics(
    data: ModelData, series: list[Series], batches: list[Series], grid: TimeGrid | None
) -> None:
    totals = [(s, total(s)) for s in series]
    totals = [(s, t) for s, t in totals if t is not None]
    data.calls = float(sum(t.count for _, t in totals))
    for s, t in totals:
        etype = s.attributes.get(sc.ERROR_TYPE)
        if etype is not None and t.count:
            data.errors_by_type[str(etype)] = data.errors_by_type.get(str(etype), 0.0) + t.count
    if totals:
        merged = add_values([t for _, t in totals])
        data.quantiles = {q: explicit_quantile(q, merged.bounds, merged.counts, merged.vmin, merged.vmax)
                          for q in QUANTILES}  # fmt: skip
    batch_totals = [t for t in (total(s) for s in batches) if t is not None]
    if batch_totals:
        data.rows = float(sum(t.total for t in batch_totals if math.isfinite(t.total)))
    if grid is None:
        return
    bounds = totals[0][1].bounds if totals else np.zeros(0)

    def hist_vector(v: HistValue) -> np.ndarray:
        from mlotel.report._histograms import rebucket

        return np.concatenate(([v.count], rebucket(v.bounds, v.counts, bounds)))

    ok: list[Interval] = []
    by_error: dict[str, list[Interval]] = {}
    for s in series:
        etype = s.attributes.get(sc.ERROR_TYPE)
        (ok if etype is None else by_error.setdefault(str(etype), [])).extend(intervals(s))
    every = ok + [iv for ivs in by_error.values() for iv in ivs]
    binned = grid.spread(every, hist_vector)
    calls = binned[:, 0]
    quantiles = {}
    for q in QUANTILES:
        quantiles[q] = np.array(
            [explicit_quantile(q, bounds, row[1:]) if row[0] > 1e-9 else math.nan for row in binned]
        )
    errors = {etype: grid.spread(ivs, lambda v: [v.count])[:, 0] for etype, ivs in sorted(by_error.items())}
    rows = None
    batch_intervals = [iv for s in batches for iv in intervals(s)]
    if batch_intervals:
        rows = grid.spread(batch_intervals, lambda v: [v.total if math.isfinite(v.total) else 0.0])[:, 0]
    data.timeline = Timeline(grid.bin_ends(), grid.durations(), calls, rows, errors, quantiles)


def _calls_from_spans(data: ModelData, spans: list) -> None:
    data.latency_source = "spans"
    data.calls = float(len(spans))
    for span in spans:
        if span.error_type is not None:
            data.errors_by_type[span.error_type] = data.errors_by_type.get(span.error_type, 0.0) + 1
    seconds = np.array([(s.end_ns - s.start_ns) / 1e9 for s in spans])
    data.quantiles = {q: float(np.quantile(seconds, q, method="inverted_cdf")) for q in QUANTILES}
    rows = [s.rows for s in spans if s.rows is not None]
    data.rows = float(sum(rows)) if rows else None


# -- distributions ---------------------------------------------------------------------------


def _sum_by(series: list[Series], attribute: str) -> dict[str, Any]:
    """Totals per value of ``attribute`` (missing attribute -> "")."""
    groups: dict[str, list[Any]] = {}
    for s in series:
        t = total(s)
        if t is not None:
            groups.setdefault(str(s.attributes.get(attribute, "")), []).append(t)
    return {name: add_values(values) for name, values in groups.items()}


def _reference_columns(reference: Any) -> dict[str, Any]:
    if reference is None:
        return {}
    columns = getattr(reference, "columns", None)
    return columns() if callable(columns) else dict(reference.features)


def _distributions(models: dict[ModelKey, ModelData], telemetry: Telemetry, reference: Any) -> None:
    ref_columns = _reference_columns(reference)
    values = _by_model(telemetry.series(sc.FEATURE_VALUE))
    missing = _by_model(telemetry.series(sc.FEATURE_MISSING))
    cats = _by_model(telemetry.series(sc.FEATURE_CATEGORY_COUNT))
    outputs = _by_model(telemetry.series(sc.PREDICTION_VALUE))
    classes = _by_model(telemetry.series(sc.PREDICTION_CLASS_COUNT))
    for key, data in models.items():
        numeric = _sum_by(values.get(key, []), sc.FEATURE_NAME)
        missing_by = _sum_by(missing.get(key, []), sc.FEATURE_NAME)
        categorical: dict[str, dict[str, float]] = {}
        for s in cats.get(key, []):
            t = total(s)
            if t is not None:
                feature = str(s.attributes.get(sc.FEATURE_NAME, ""))
                category = str(s.attributes.get(sc.FEATURE_CATEGORY, ""))
                bucket = categorical.setdefault(feature, {})
                bucket[category] = bucket.get(category, 0.0) + t
        for name in sorted(numeric):
            ref = ref_columns.get(name)
            data.features.append(
                Distribution(
                    name,
                    numeric[name],
                    getattr(ref, "histogram", None),
                    float(missing_by.get(name, 0.0)),
                    float(getattr(ref, "missing", 0) or 0) if ref is not None else 0.0,
                )
            )
        for name in sorted(categorical):
            ref = ref_columns.get(name)
            ref_counts = None
            if ref is not None and getattr(ref, "frequent", None) is not None:
                ref_counts = {str(k): float(c) for k, c in ref.frequent.items()}
                if ref.frequent.other:
                    ref_counts["__other__"] = float(ref.frequent.other)
            data.categories.append(Categories(name, categorical[name], ref_counts))
        for name, hist in sorted(_sum_by(outputs.get(key, []), sc.OUTPUT_NAME).items()):
            data.outputs.append(Distribution(name or "prediction", hist))
        for s in classes.get(key, []):
            t = total(s)
            if t is not None:
                output = str(s.attributes.get(sc.OUTPUT_NAME, "")) or "prediction"
                label = str(s.attributes.get(sc.PREDICTION_CLASS, ""))
                bucket = data.classes.setdefault(output, {})
                bucket[label] = bucket.get(label, 0.0) + t


# -- drift -----------------------------------------------------------------------------------


def _drift(models: dict[ModelKey, ModelData], telemetry: Telemetry) -> None:
    alerts = [r for r in telemetry.logs if DRIFT_METHOD in r.attributes and
              (sc.FEATURE_NAME in r.attributes or _is_multivariate(r))]  # fmt: skip
    for record in alerts:
        key = model_key(record.attributes)
        if key is None and len(models) == 1:
            key = next(iter(models))
        if key is None:  # name the model from the body ("... model 'fraud' ...")
            key = next((k for k in models if f"'{k[0]}'" in record.body or f'"{k[0]}"' in record.body), None)
        if key in models:
            models[key].alerts.append(record)
    for key, series in _by_model(telemetry.series(DRIFT_ALERT_COUNT)).items():
        if key in models:
            models[key].alert_count = float(sum(t for t in (total(s) for s in series) if t is not None))

    for metric, kind, subject_attr in ((FEATURE_DRIFT, "feature", sc.FEATURE_NAME),
                                       (PREDICTION_DRIFT, "prediction", sc.OUTPUT_NAME)):  # fmt: skip
        for key, series in _by_model(telemetry.series(metric)).items():
            data = models[key]
            lines: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
            for s in series:
                subject = str(s.attributes.get(subject_attr, "")) or "prediction"
                method = str(s.attributes.get(DRIFT_METHOD, "?"))
                window = str(s.attributes.get(DRIFT_WINDOW, ""))
                pts = lines.setdefault((subject, method, window), [])
                pts.extend((p.time_ns / 1e9, float(p.value)) for p in s.points)
            for (subject, method, window), pts in sorted(lines.items()):
                pts.sort()
                warn, alert = _levels(method, subject, data.alerts)
                data.drift.append(
                    DriftLine(
                        subject,
                        kind,
                        method,
                        window,
                        np.array([t for t, _ in pts]),
                        np.array([v for _, v in pts]),
                        warn,
                        alert,
                    )  # fmt: skip
                )
    _multivariate(models, telemetry)
    for data in models.values():
        data.drifted = _drifted(data)


def _is_multivariate(record: LogRecord) -> bool:
    """A multivariate drift alert: method ``reconstruction``, no feature or output name."""
    a = record.attributes
    return a.get(DRIFT_METHOD) == RECONSTRUCTION and sc.FEATURE_NAME not in a and sc.OUTPUT_NAME not in a


def _points(series: list[Series], attribute: str) -> dict[str, list[tuple[float, float]]]:
    """Gauge points by the value of ``attribute`` (all series merged), sorted by time; a time
    exported twice (two processes) keeps the last series' value."""
    out: dict[str, dict[float, float]] = {}
    for s in series:
        by_time = out.setdefault(str(s.attributes.get(attribute, "")), {})
        for p in s.points:
            by_time[p.time_ns / 1e9] = float(p.value)
    return {k: sorted(v.items()) for k, v in out.items()}


def _multivariate(models: dict[ModelKey, ModelData], telemetry: Telemetry) -> None:
    bounds = {
        name: _by_model(telemetry.series(name))
        for name in (sc.MULTIVARIATE_DRIFT_LOWER, sc.MULTIVARIATE_DRIFT_UPPER)
    }
    for key, series in _by_model(telemetry.series(sc.MULTIVARIATE_DRIFT)).items():
        values = _points(series, DRIFT_WINDOW)
        lower = _points(bounds[sc.MULTIVARIATE_DRIFT_LOWER].get(key, []), DRIFT_WINDOW)
        upper = _points(bounds[sc.MULTIVARIATE_DRIFT_UPPER].get(key, []), DRIFT_WINDOW)
        for window in sorted(values, key=lambda w: (w != "sliding", w)):
            pts = values[window]
            times = np.array([t for t, _ in pts])
            data = models[key]
            data.multivariate.append(
                MultivariateLine(
                    window,
                    times,
                    np.array([v for _, v in pts]),
                    _aligned(times, lower.get(window, [])),
                    _aligned(times, upper.get(window, [])),
                )
            )


def _aligned(times: np.ndarray, pts: list[tuple[float, float]]) -> np.ndarray:
    """The values of ``pts`` at ``times`` (NaN where ``pts`` has no point at that time)."""
    by_time = dict(pts)
    return np.array([by_time.get(t, math.nan) for t in times.tolist()], dtype=float)


def _levels(method: str, subject: str, alerts: list[LogRecord]) -> tuple[float | None, float | None]:
    warn, alert = DEFAULT_LEVELS.get(method, (None, 0.1))
    if method in _DISTANCES:  # an alert record states the threshold actually configured
        for record in reversed(alerts):
            a = record.attributes
            if a.get(DRIFT_METHOD) == method and a.get(sc.FEATURE_NAME) == subject and DRIFT_THRESHOLD in a:
                try:
                    alert = float(a[DRIFT_THRESHOLD])
                except (TypeError, ValueError):
                    continue
                warn = warn if warn is not None and warn < alert else None
                break
    return warn, alert


def _drifted(data: ModelData) -> list[DriftedFeature]:
    """Features whose latest drift value (sliding window preferred) is at or above the alert
    level, or that have a drift alert record; largest value first within each method."""
    latest: dict[tuple[str, str], DriftLine] = {}
    for line in data.drift:
        if not line.values.size:
            continue
        k = (line.subject, line.method)
        if k not in latest or line.window == "sliding":
            latest[k] = line
    out: dict[tuple[str, str], DriftedFeature] = {}
    for (subject, method), line in latest.items():
        value = float(line.values[-1])
        if line.alert is not None and value >= line.alert:
            out[(subject, method)] = DriftedFeature(
                data.model, data.version, subject, method, value, line.alert
            )
    for record in data.alerts:
        a = record.attributes
        if sc.FEATURE_NAME not in a:  # multivariate: below
            continue
        k = (str(a[sc.FEATURE_NAME]), str(a[DRIFT_METHOD]))
        if k not in out:
            value = _float(a.get(DRIFT_VALUE))
            if k in latest:
                value = float(latest[k].values[-1])
            out[k] = DriftedFeature(
                data.model, data.version, k[0], k[1], value, _float(a.get(DRIFT_THRESHOLD))
            )
    multivariate = _multivariate_drifted(data)
    if multivariate is not None:
        out[(MULTIVARIATE, RECONSTRUCTION)] = multivariate
    return sorted(
        out.values(), key=lambda d: (d.method, -d.value if math.isfinite(d.value) else 0.0, d.feature)
    )


def _multivariate_drifted(data: ModelData) -> DriftedFeature | None:
    """The multivariate row: flagged when the latest value (sliding window preferred) is outside
    its bounds, or when a multivariate alert record exists. ``value`` is that latest value,
    ``threshold`` the bound it crossed (the upper one unless it is below the lower one); from
    the latest alert record when no gauge was exported."""
    line = next((ln for ln in data.multivariate if ln.values.size), None)  # sliding first
    records = [r for r in data.alerts if _is_multivariate(r)]
    if line is not None:
        value, lower, upper = (float(a[-1]) for a in (line.values, line.lower, line.upper))
        below = value < lower
        if below or value > upper or records:
            return DriftedFeature(
                data.model, data.version, MULTIVARIATE, RECONSTRUCTION, value, lower if below else upper
            )
        return None
    if records:
        a = max(records, key=lambda r: r.time_ns).attributes
        return DriftedFeature(
            data.model, data.version, MULTIVARIATE, RECONSTRUCTION,
            _float(a.get(DRIFT_VALUE)), _float(a.get(DRIFT_THRESHOLD)),
        )  # fmt: skip
    return None


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


# -- performance -----------------------------------------------------------------------------


def _metric_order(metric: str) -> tuple[int, str]:
    return (PERFORMANCE_METRICS.index(metric) if metric in PERFORMANCE_METRICS else len(PERFORMANCE_METRICS),
            metric)  # fmt: skip


def _tracks(series: list[Series]) -> dict[tuple[str, str], Track]:
    """(metric, window) -> the gauge's points over time."""
    groups: dict[tuple[str, str], list[Series]] = {}
    for s in series:
        key = (
            str(s.attributes.get(sc.PERFORMANCE_METRIC, "")),
            str(s.attributes.get(sc.PERFORMANCE_WINDOW, "")),
        )
        groups.setdefault(key, []).append(s)
    out = {}
    for key, group in groups.items():
        (pts,) = _points(group, "").values()
        out[key] = Track(np.array([t for t, _ in pts]), np.array([v for _, v in pts]))
    return out


def _performance(models: dict[ModelKey, ModelData], telemetry: Telemetry) -> None:
    by_name = {
        name: _by_model(telemetry.series(name))
        for name in (sc.PERFORMANCE_ESTIMATED, sc.PERFORMANCE_ESTIMATED_ERROR, sc.PERFORMANCE_REALIZED)
    }
    for key, data in models.items():
        estimated = _tracks(by_name[sc.PERFORMANCE_ESTIMATED].get(key, []))
        error = _tracks(by_name[sc.PERFORMANCE_ESTIMATED_ERROR].get(key, []))
        realized = _tracks(by_name[sc.PERFORMANCE_REALIZED].get(key, []))
        metrics = {metric for metric, _ in (*estimated, *realized) if metric}
        for metric in sorted(metrics, key=_metric_order):
            series = PerformanceSeries(metric)
            for (m, window), track in estimated.items():
                if m == metric:
                    series.estimated[window] = track
                    err = error.get((m, window))
                    err_pts = list(zip(err.times.tolist(), err.values.tolist())) if err is not None else []
                    series.error[window] = Track(track.times, _aligned(track.times, err_pts))
            series.realized = {w: t for (m, w), t in realized.items() if m == metric}
            data.performance.append(series)


def performance_lines(data: ModelData) -> list[PerformanceLine]:
    """Per metric the latest sliding-window estimate, its error and the latest sliding realized
    value (NaN when absent; the interval window's when no sliding one was exported)."""

    def latest(tracks: dict[str, Track]) -> float:
        track = tracks.get("sliding") or next(iter(tracks.values()), None)
        return track.latest if track is not None else math.nan

    return [
        PerformanceLine(data.model, data.version, s.metric, latest(s.estimated), latest(s.error), latest(s.realized))
        for s in data.performance
    ]  # fmt: skip


# -- faults ----------------------------------------------------------------------------------


def _faults(models: dict[ModelKey, ModelData], telemetry: Telemetry) -> dict[tuple[str, str], float]:
    loose: dict[tuple[str, str], float] = {}
    for s in telemetry.series(sc.FAULT_COUNT):
        t = total(s)
        if not t:
            continue
        fault = (str(s.attributes.get(sc.FAULT_KIND, "")), str(s.attributes.get(sc.ERROR_TYPE, "")))
        key = model_key(s.attributes)
        target = models[key].faults if key in models else loose
        target[fault] = target.get(fault, 0.0) + t
    return loose
