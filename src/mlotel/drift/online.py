"""Continuous drift: each export interval's sketches compared with the training reference.

A :class:`DriftMonitor` belongs to one monitored model that was given a ``reference``.
It listens to mlotel's metric registry (:meth:`Registry.add_listener`): at every
collection it receives the interval's feature and prediction sketches (already kept for
the ``ml.feature.value`` / ``ml.feature.category.count`` metrics: drift costs the hot
path nothing), and computes, with :func:`mlotel.drift.compare_features` (the same code
as the batch ``mlotel drift`` tool):

- the **interval** drift: this export interval alone (tumbling window). The first
  interval after deployment against the training reference is the training/serving skew;
- the **sliding** drift: the last ``drift_window`` intervals merged.

Both are exported as ``ml.feature.drift`` / ``ml.prediction.drift`` gauges. Alerts come
from the sliding window only (more data, fewer false alarms): when a feature's verdict
for a method turns to ``alert``, one WARN log record and one ``ml.drift.alert.count`` are
emitted, and not again until that verdict recovers. KS and chi-square verdicts use
Bonferroni-adjusted levels across the model's features, since every feature is tested
every interval. Features in the reference but never served, and served features the
reference lacks, are reported once each (a log record and ``ml.drift.feature.unmatched``).

With a multivariate model in the reference, the interval's ``ml.multivariate.error``
sketch (the monitor's reconstruction errors of the input rows) gives
``ml.multivariate.drift`` (current mean error / reference mean error) and its bounds
``ml.multivariate.drift.lower`` / ``.upper`` per window, and alerts like a feature's,
under method ``reconstruction`` (:func:`mlotel.drift.multivariate.compare_reconstruction`).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace
from typing import Any

from mlotel import _semconv as sc
from mlotel._warnings import warn
from mlotel.drift.compare import FeatureKindMismatch, compare_features
from mlotel.drift.multivariate import METHOD as RECONSTRUCTION
from mlotel.drift.multivariate import (
    MultivariateModel,
    ReconstructionErrors,
    compare_reconstruction,
    reconstruction_bounds,
)
from mlotel.drift.profile import ReferenceProfile
from mlotel.drift.thresholds import Thresholds, resolve_thresholds
from mlotel.export._aggregates import GaugeState, SumState

FEATURE_INSTRUMENTS = (sc.FEATURE_VALUE, sc.FEATURE_CATEGORY_COUNT)
PREDICTION_INSTRUMENTS = (sc.PREDICTION_VALUE, sc.PREDICTION_CLASS_COUNT)
DEFAULT_WINDOW = 10
#: Intervals with data after which a reference feature never served is reported missing.
MISSING_AFTER = 3


class DriftMonitor:
    """Drift of one model's features and predictions, per interval and over a sliding window."""

    def __init__(
        self,
        runtime: Any,
        binding: Any,
        reference: ReferenceProfile,
        *,
        thresholds: Any = None,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        self.reference = reference
        self.binding = binding
        self.base = tuple(binding.attributes.items())
        self.thresholds = thresholds
        self.logger = runtime.logger
        registry = runtime.registry
        self._feature_drift = registry.instrument(
            sc.FEATURE_DRIFT, "gauge", "1", "Drift of an input feature against the training reference."
        )
        self._prediction_drift = registry.instrument(
            sc.PREDICTION_DRIFT,
            "gauge",
            "1",
            "Drift of the predictions against the reference's predictions (else its target).",
        )
        self._alerts = registry.instrument(
            sc.DRIFT_ALERT_COUNT, "counter", "{alert}", "Drift alerts: a feature's verdict turned to alert."
        )
        self._unmatched = registry.instrument(
            sc.DRIFT_UNMATCHED, "counter", "{feature}", "Features in only one of reference and serving data."
        )
        self._model = (
            reference.multivariate if isinstance(reference.multivariate, MultivariateModel) else None
        )
        if self._model is not None:
            self._multivariate = tuple(
                registry.instrument(name, "gauge", "1", description)
                for name, description in (
                    (sc.MULTIVARIATE_DRIFT, "Mean reconstruction error of the inputs / the reference's."),
                    (sc.MULTIVARIATE_DRIFT_LOWER, "Lower bound of ml.multivariate.drift (alert below)."),
                    (sc.MULTIVARIATE_DRIFT_UPPER, "Upper bound of ml.multivariate.drift (alert above)."),
                )
            )
        self._history: deque[dict[tuple[str, str], Any]] = deque(maxlen=window)
        self._alerting: set[tuple[str, str, str]] = set()
        self._reported: set[tuple[str, str]] = set()
        self._intervals_with_data = 0
        registry.add_listener(self.on_interval)

    # -- the listener -------------------------------------------------------------------------
    def on_interval(self, interval: list, now_ns: int) -> list | None:
        """Registry listener: return the drift gauges (and alert counts) for this interval."""
        current: dict[tuple[str, str], Any] = {}
        for instrument, attributes, state in interval:
            name = instrument.name
            if name == sc.MULTIVARIATE_ERROR and self._model is not None:
                # Keyed apart from features: a feature may be named anything.
                if all(attributes.get(k) == v for k, v in self.base):
                    current[("multivariate", RECONSTRUCTION)] = state
                continue
            if name not in FEATURE_INSTRUMENTS and name not in PREDICTION_INSTRUMENTS:
                continue
            if any(attributes.get(k) != v for k, v in self.base):
                continue
            if name in FEATURE_INSTRUMENTS:
                current[("feature", attributes[sc.FEATURE_NAME])] = state
            elif sc.OUTPUT_NAME not in attributes:  # one output column: comparable with the target
                current[("prediction", "prediction")] = state
        if not current:
            return None
        self._intervals_with_data += 1
        self._history.append(current)
        sliding: dict[tuple[str, str], Any] = {}
        for snapshot in self._history:
            for key, state in snapshot.items():
                held = sliding.get(key)
                if held is None:
                    sliding[key] = state.copy()
                elif type(held) is type(state):
                    held.merge(state)
        out: list = []
        self._compare(current, "interval", out, alerts=False)
        self._compare(sliding, "sliding", out, alerts=True)
        self._report_unmatched(sliding, out)
        return out

    # -- comparison -----------------------------------------------------------------------------
    def _reference_for(self, kind: str, name: str):
        if kind == "prediction":  # the reference's own predictions, else its target
            prediction = getattr(self.reference, "prediction", None)
            return self.reference.target if prediction is None else prediction
        return self.reference.features.get(name)

    def _thresholds_for(self, name: str, n_features: int) -> Thresholds:
        thresholds = resolve_thresholds(self.thresholds, name)
        if n_features > 1:  # Bonferroni: every feature is tested at each collection
            thresholds = replace(
                thresholds,
                ks_p_alert=thresholds.ks_p_alert / n_features,
                chi2_p_alert=thresholds.chi2_p_alert / n_features,
            )
        return thresholds

    def _compare(self, data: dict, window: str, out: list, *, alerts: bool) -> None:
        n_features = max(1, sum(1 for kind, _ in data if kind == "feature"))
        for (kind, name), sketch in data.items():
            if kind == "multivariate":
                self._compare_multivariate(sketch, window, out, alerts=alerts)
                continue
            reference = self._reference_for(kind, name)
            if reference is None:
                continue
            try:
                results = compare_features(reference, sketch, self._thresholds_for(name, n_features))
            except FeatureKindMismatch:
                self._once(
                    ("kind", name),
                    f"{kind} {name!r} is {reference.kind} in the reference but not in serving data",
                )
                continue
            instrument = self._feature_drift if kind == "feature" else self._prediction_drift
            name_attribute = sc.FEATURE_NAME if kind == "feature" else sc.OUTPUT_NAME
            base = dict(self.base)
            for result in results:
                if result.value is None or not math.isfinite(result.value):
                    continue
                gauge = GaugeState()
                gauge.value = float(result.value)
                attributes = {
                    **base,
                    name_attribute: name,
                    sc.DRIFT_METHOD: result.method,
                    sc.DRIFT_WINDOW: window,
                }
                out.append((instrument, attributes, gauge))
                if alerts:
                    self._alert(kind, name, result, out)

    def _compare_multivariate(self, sketch: Any, window: str, out: list, *, alerts: bool) -> None:
        """``ml.multivariate.drift`` and its bounds from the window's reconstruction errors."""
        model = self._model
        errors = ReconstructionErrors(model.fingerprint, int(sketch.count), float(sketch.sum))
        result = compare_reconstruction(model, errors, self.thresholds)
        lower, upper = reconstruction_bounds(model, errors.count)
        attributes = {**dict(self.base), sc.DRIFT_METHOD: RECONSTRUCTION, sc.DRIFT_WINDOW: window}
        for instrument, value in zip(self._multivariate, (result.value, lower, upper)):
            if math.isfinite(value):
                gauge = GaugeState()
                gauge.value = float(value)
                out.append((instrument, attributes, gauge))
        if not alerts:
            return
        key = ("multivariate", "", RECONSTRUCTION)
        if result.verdict == "alert" and key not in self._alerting:
            self._alerting.add(key)
            count = SumState()
            count.value = 1
            out.append((self._alerts, {**dict(self.base), sc.DRIFT_METHOD: RECONSTRUCTION}, count))
            self._log(
                f"drift alert: model {self.binding.attributes[sc.MODEL_NAME]!r} multivariate: "
                f"{RECONSTRUCTION} = {result.value:.4g} (bounds {lower:.4g} - {upper:.4g}, "
                f"{errors.count} rows)",
                {
                    sc.DRIFT_METHOD: RECONSTRUCTION,
                    sc.DRIFT_VALUE: float(result.value),
                    sc.DRIFT_THRESHOLD: float(upper if result.value > upper else lower),
                },
            )
        elif result.verdict == "ok":
            self._alerting.discard(key)

    def _alert(self, kind: str, name: str, result: Any, out: list) -> None:
        key = (kind, name, result.method)
        if result.verdict == "alert":
            if key in self._alerting:
                return
            self._alerting.add(key)
            count = SumState()
            count.value = 1
            name_attribute = sc.FEATURE_NAME if kind == "feature" else sc.OUTPUT_NAME
            out.append(
                (
                    self._alerts,
                    {**dict(self.base), name_attribute: name, sc.DRIFT_METHOD: result.method},
                    count,
                )
            )
            detail = f"p={result.p_value:.3g}, " if result.p_value is not None else ""
            level = f"{result.threshold:.3g}" if result.threshold is not None else "n/a"
            self._log(
                f"drift alert: model {self.binding.attributes[sc.MODEL_NAME]!r} {kind} {name!r}: "
                f"{result.method} = {result.value:.4g} ({detail}threshold {level})",
                {
                    name_attribute: name,
                    sc.DRIFT_METHOD: result.method,
                    sc.DRIFT_VALUE: float(result.value),
                    sc.DRIFT_THRESHOLD: float(result.threshold)
                    if result.threshold is not None
                    else float("nan"),
                },
            )
        elif result.verdict in ("ok", "warn"):
            self._alerting.discard(key)

    def _report_unmatched(self, sliding: dict, out: list) -> None:
        served = {name for kind, name in sliding if kind == "feature"}
        for name in sorted(served - set(self.reference.features)):
            self._unmatched_feature(name, "not_in_reference", out)
        if self._intervals_with_data >= MISSING_AFTER:
            for name in sorted(set(self.reference.features) - served):
                self._unmatched_feature(name, "not_served", out)

    def _unmatched_feature(self, name: str, reason: str, out: list) -> None:
        if (reason, name) in self._reported or len(self._reported) >= 1024:
            return
        self._reported.add((reason, name))
        count = SumState()
        count.value = 1
        out.append(
            (self._unmatched, {**dict(self.base), sc.FEATURE_NAME: name, sc.DRIFT_REASON: reason}, count)
        )
        what = (
            "is in the reference but was never served"
            if reason == "not_served"
            else "is served but not in the reference"
        )
        self._log(
            f"model {self.binding.attributes[sc.MODEL_NAME]!r}: feature {name!r} {what}",
            {sc.FEATURE_NAME: name, sc.DRIFT_REASON: reason},
        )

    def _once(self, key: tuple[str, str], message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self._log(message, {sc.FEATURE_NAME: key[1]})

    def _log(self, body: str, attributes: dict[str, Any]) -> None:
        """A WARN log record, correlated with the model's most recent call."""
        warn(self.logger, body, {**dict(self.base), **attributes}, getattr(self.binding, "last_span", None))
