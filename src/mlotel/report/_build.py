"""``build_report``: telemetry files in, one HTML file and a :class:`ReportSummary` out."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlotel.export._telemetry import Telemetry, load_telemetry
from mlotel.report._analysis import QUANTILES, ModelData, analyze, performance_lines
from mlotel.report._figures import require_plotly
from mlotel.report._histograms import explicit_quantile
from mlotel.report._page import render_page
from mlotel.report._sensitivity import load_sensitivity
from mlotel.report._series import add_values, total
from mlotel.report._summary import ModelSummary, ReportSummary

__all__ = ["build_report", "load_reference"]

_logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


def load_reference(path: PathLike) -> tuple[Any, str | None]:
    """Load a reference profile saved by ``ReferenceProfile.save``.

    Returns ``(profile, None)``, or ``(None, reason)`` when drift profiles are not available in
    this mlotel (the report then has no reference section). Raises :class:`FileNotFoundError`
    for a missing file and :class:`ValueError` for a damaged one.
    """
    if not Path(path).exists():
        raise FileNotFoundError(path)
    try:
        from mlotel.drift.profile import ReferenceProfile
    except ImportError as exc:
        return (
            None,
            f"reference profile {os.fspath(path)!r} not used: cannot import mlotel.drift.profile ({exc})",
        )
    return ReferenceProfile.load(path), None


def build_report(
    path: PathLike | Iterable[PathLike],
    out_html: PathLike = "report.html",
    reference: PathLike | Any | None = None,
    sensitivity: PathLike | Any | None = None,
) -> ReportSummary:
    """Write a self-contained HTML report of the OTLP/JSON telemetry at ``path``.

    Args:
        path: an mlotel data directory (``traces.jsonl``, ``metrics.jsonl``, ``logs.jsonl`` and
            their rotated backups), an OTLP/JSON lines file (e.g. a Collector ``file``
            exporter's), or several of these.
        out_html: the file to write (its folder is created).
        reference: a saved reference profile (path) or a ``ReferenceProfile``; its feature
            distributions are drawn under the serving ones.
        sensitivity: a sensitivity report (``mlotel sensitivity -o`` file, its dict, or a
            ``SensitivityReport``), drawn as a "Sensitivity" section. With it, ``path`` may be
            an empty list (a report of the sensitivity alone).

    Returns:
        The headline numbers (:class:`ReportSummary`).

    Raises:
        ImportError: plotly is not installed (``pip install 'mlotel[report]'``).
        FileNotFoundError: ``path``, the reference or the sensitivity file does not exist.
        ValueError: a line is JSON but not OTLP, the reference profile is damaged, or the
            sensitivity file is not a sensitivity report.
    """
    require_plotly()
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    sensitivity_report = None if sensitivity is None else load_sensitivity(sensitivity)
    telemetry = load_telemetry(paths)
    notes = []
    profile, ref_name = None, None
    if reference is not None:
        if isinstance(reference, (str, os.PathLike)):
            ref_name = os.fspath(reference)
            profile, why = load_reference(reference)
            if why:
                _logger.warning("%s", why)
                notes.append(why)
        else:
            profile, ref_name = reference, "(in memory)"
    models, loose_faults = analyze(telemetry, profile)
    notes += _lineage_notes(profile, models)
    page = render_page(
        models,
        loose_faults,
        sources=[os.fspath(p) for p in paths],
        time_range=_time_range(telemetry),
        reference=ref_name,
        notes=notes,
        sensitivity=sensitivity_report,
    )
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return _summary(out, models, telemetry)


def _lineage_notes(profile: Any, models: Any) -> list[str]:
    """The reference's lineage (served predictions?) and a feedback-loop note per model that
    served its rows itself (docs/drift.md, Feedback loops)."""
    lineage = getattr(profile, "lineage", None)
    if lineage is None:
        return []
    notes = [f"Reference lineage: {lineage.describe()}."]
    for name in sorted({m.model for m in models}):
        ratio = lineage.served_ratio(name)
        if ratio > 0:
            notes.append(
                f"Feedback loop: {100 * ratio:.1f}% of the reference rows are predictions model {name!r} "
                "served itself; its drift against this reference is hidden (docs/drift.md, Feedback loops)."
            )
    return notes


def _time_range(telemetry: Telemetry) -> tuple[float, float] | None:
    times = [s.start_ns for s in telemetry.spans] + [s.end_ns for s in telemetry.spans]
    for series_list in telemetry.metrics.values():
        for s in series_list:
            times += [p.time_ns for p in s.points]
    times = [t for t in times if t > 0]
    return (min(times) / 1e9, max(times) / 1e9) if times else None


def _model_summary(m: ModelData) -> ModelSummary:
    q = m.quantiles
    return ModelSummary(
        model=m.model,
        version=m.version,
        calls=round(m.calls),
        errors=round(m.errors),
        error_rate=m.error_rate,
        p50=q.get(0.5, math.nan),
        p95=q.get(0.95, math.nan),
        p99=q.get(0.99, math.nan),
        rows=None if m.rows is None else round(m.rows),
        drifted=tuple(m.drifted),
        performance=tuple(performance_lines(m)),
    )


def _summary(out: Path, models: list[ModelData], telemetry: Telemetry) -> ReportSummary:
    calls = sum(m.calls for m in models)
    errors = sum(m.errors for m in models)
    quantiles = _overall_quantiles(models, telemetry)
    per_model = [_model_summary(m) for m in models]
    return ReportSummary(
        path=out,
        calls=round(calls),
        errors=round(errors),
        error_rate=errors / calls if calls else math.nan,
        p50=quantiles[0.5],
        p95=quantiles[0.95],
        p99=quantiles[0.99],
        drifted=tuple(d for m in models for d in m.drifted),
        models=tuple(per_model),
        performance=tuple(p for m in per_model for p in m.performance),
    )


def _overall_quantiles(models: list[ModelData], telemetry: Telemetry) -> dict[float, float]:
    if len(models) == 1:
        return {q: models[0].quantiles.get(q, math.nan) for q in QUANTILES}
    totals = [t for t in (total(s) for s in telemetry.series("ml.prediction.duration")) if t is not None]
    if totals:
        h = add_values(totals)
        return {q: explicit_quantile(q, h.bounds, h.counts, h.vmin, h.vmax) for q in QUANTILES}
    seconds = sorted((s.end_ns - s.start_ns) / 1e9 for s in telemetry.spans)
    if not seconds:
        return dict.fromkeys(QUANTILES, math.nan)
    return {q: seconds[max(math.ceil(q * len(seconds)) - 1, 0)] for q in QUANTILES}
