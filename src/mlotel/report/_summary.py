"""The numbers a report states, as plain records (for ``mlotel demo``'s terminal summary and tests)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DriftedFeature", "ModelSummary", "PerformanceLine", "ReportSummary"]


@dataclass(frozen=True)
class DriftedFeature:
    """A feature (or output) whose drift is at or above its alert level.

    ``value`` is the latest drift value (NaN if only an alert record names it without one);
    ``threshold`` the alert level it was compared with (NaN when unknown).

    Multivariate drift (``ml.multivariate.drift``) is the row ``feature="multivariate"``,
    ``method="reconstruction"``: ``value`` the latest sliding-window value (window mean
    reconstruction error / reference mean error), ``threshold`` the latest upper bound (the
    lower one when the value is below it).
    """

    model: str
    version: str
    feature: str
    method: str
    value: float
    threshold: float


@dataclass(frozen=True)
class PerformanceLine:
    """One performance metric of a model version (``accuracy``, ``precision``, ``recall``,
    ``f1``, ``roc_auc``): the latest sliding-window ``ml.performance.estimated``, its stated
    error ``ml.performance.estimated_error`` (the band is ``estimated +/- error``) and the latest
    sliding-window ``ml.performance.realized``. NaN when absent (e.g. ``realized`` without
    outcomes, and always for ``roc_auc``); the interval window's values when no sliding window
    was exported."""

    model: str
    version: str
    metric: str
    estimated: float
    error: float
    realized: float


@dataclass(frozen=True)
class ModelSummary:
    """One model version. Latency quantiles are in seconds (NaN without calls); ``rows`` is
    None when no batch size was recorded; ``performance`` is empty without performance
    metrics."""

    model: str
    version: str
    calls: int
    errors: int
    error_rate: float
    p50: float
    p95: float
    p99: float
    rows: int | None
    drifted: tuple[DriftedFeature, ...]
    performance: tuple[PerformanceLine, ...] = ()


@dataclass(frozen=True)
class ReportSummary:
    """What :func:`mlotel.report.build_report` wrote and the headline numbers over all models.

    ``p50``/``p95``/``p99`` (seconds) are estimated from the merged ``ml.prediction.duration``
    histograms of all models (spans when there are no metrics); NaN without calls.
    ``drifted`` and ``performance`` hold every model's rows, in model order.
    """

    path: Path
    calls: int
    errors: int
    error_rate: float
    p50: float
    p95: float
    p99: float
    drifted: tuple[DriftedFeature, ...]
    models: tuple[ModelSummary, ...]
    performance: tuple[PerformanceLine, ...] = ()

    def format(self) -> str:
        """A few human-readable lines (what ``mlotel report`` prints after the path)."""

        def ms(x: float) -> str:
            return "-" if math.isnan(x) else f"{x * 1e3:.3g} ms"

        rate = "-" if math.isnan(self.error_rate) else f"{self.error_rate:.2%}"
        lines = [
            f"{self.calls} calls, {self.errors} errors ({rate}), "
            f"latency p50 {ms(self.p50)}, p95 {ms(self.p95)}, p99 {ms(self.p99)}"
        ]
        for d in self.drifted:
            lines.append(f"drift: {d.model} {d.feature} {d.method}={d.value:.3g} (alert {d.threshold:.3g})")
        versions: dict[str, set[str]] = {}
        for p in self.performance:
            versions.setdefault(p.model, set()).add(p.version)
        for p in self.performance:
            name = f"{p.model} v{p.version}" if len(versions[p.model]) > 1 else p.model
            estimate = "-" if math.isnan(p.estimated) else f"{p.estimated:.2f}"
            if not math.isnan(p.estimated) and not math.isnan(p.error):
                estimate += f" ± {p.error:.2f}"
            realized = "-" if math.isnan(p.realized) else f"{p.realized:.2f}"
            lines.append(f"performance: {name} {p.metric} estimated {estimate}, realized {realized}")
        return "\n".join(lines)
