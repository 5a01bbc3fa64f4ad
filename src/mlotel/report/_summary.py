"""The numbers a report states, as plain records (for ``mlotel demo``'s terminal summary and tests)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DriftedFeature", "ModelSummary", "ReportSummary"]


@dataclass(frozen=True)
class DriftedFeature:
    """A feature (or output) whose drift is at or above its alert level.

    ``value`` is the latest drift value (NaN if only an alert record names it without one);
    ``threshold`` the alert level it was compared with (NaN when unknown).
    """

    model: str
    version: str
    feature: str
    method: str
    value: float
    threshold: float


@dataclass(frozen=True)
class ModelSummary:
    """One model version. Latency quantiles are in seconds (NaN without calls); ``rows`` is
    None when no batch size was recorded."""

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


@dataclass(frozen=True)
class ReportSummary:
    """What :func:`mlotel.report.build_report` wrote and the headline numbers over all models.

    ``p50``/``p95``/``p99`` (seconds) are estimated from the merged ``ml.prediction.duration``
    histograms of all models (spans when there are no metrics); NaN without calls.
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
        return "\n".join(lines)
