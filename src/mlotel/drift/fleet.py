"""Fleet drift: the current side of a comparison from exported telemetry.

Every replica of a served model exports its feature and prediction sketches
(``ml.feature.value``, ``ml.feature.category.count``, ``ml.feature.missing``,
``ml.prediction.value``, ``ml.prediction.class.count``) as OTLP; a collector gathers them
from the whole fleet, e.g. into files with its ``file`` exporter (mlotel's own data
directory has the same format). :func:`fleet_sketches` reads such files and merges, for one
model, every stream's amount over a time range into one sketch per feature: exponential
histograms merge exactly, counts add. The result is what
:func:`~mlotel.drift.compare_profiles` takes as ``current``.

Time ranges work at export-interval resolution: a cumulative stream's amount over
``(since, until]`` is its last point at or before ``until`` minus its last point at or
before ``since`` (histogram buckets subtract exactly at the later point's scale); a delta
point counts when its end time is in the range.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlotel import _semconv as sc
from mlotel.drift.compare import CurrentSketches
from mlotel.drift.multivariate import ReconstructionErrors
from mlotel.sketches import ExponentialHistogram, FrequentItems
from mlotel.sketches.store import BucketStore, downscale_counts

__all__ = ["FleetData", "fleet_sketches", "is_telemetry", "telemetry_files"]

PREDICTION = "prediction"


@dataclass
class FleetData:
    """What :func:`fleet_sketches` found: ``sketches`` maps each feature (and the target, for
    the predictions) to its merged sketch; the rest describes what was merged."""

    model: str
    versions: list[str]
    sketches: dict[str, ExponentialHistogram | FrequentItems]
    streams: int = 0
    replicas: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    skipped: list[str] = field(default_factory=list)
    #: The rows' reconstruction errors (``ml.multivariate.error``) by multivariate model
    #: fingerprint: count and sum, merged over the streams like the sketches.
    errors: dict[str, ReconstructionErrors] = field(default_factory=dict)
    #: The model's single-output predictions, merged (also in ``sketches`` under ``target``).
    prediction: ExponentialHistogram | FrequentItems | None = None

    def current(self, fingerprint: str | None = None) -> CurrentSketches:
        """The sketches as :func:`~mlotel.drift.compare_profiles`' ``current``, with the
        predictions (compared with a reference's :attr:`~ReferenceProfile.prediction`) and
        the reconstruction errors under the multivariate model ``fingerprint`` when exported."""
        return CurrentSketches(
            self.sketches, prediction=self.prediction, multivariate=self.errors.get(fingerprint or "")
        )


def fleet_sketches(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    target: str | None = None,
    model: str | None = None,
    version: str | None = None,
    since_ns: int | None = None,
    until_ns: int | None = None,
) -> FleetData:
    """Merge the exported sketches of one model over ``(since_ns, until_ns]``.

    ``paths`` are OTLP JSON files or directories (``*.jsonl``, rotated files included). The
    model's single-output predictions are keyed by ``target`` (the reference's target name),
    so they are compared with the reference target. ``model`` may be omitted when the files
    hold one model; ``version`` restricts to one version (default: all versions of the model).

    Raises :class:`ValueError` when the files hold no model, several models and ``model`` is
    not given, or nothing of the model in the range; :class:`FileNotFoundError` for a
    missing path.
    """
    from mlotel.export._telemetry import load_telemetry

    telemetry = load_telemetry(paths)
    names = (sc.FEATURE_VALUE, sc.FEATURE_MISSING, sc.FEATURE_CATEGORY_COUNT, sc.PREDICTION_VALUE)
    series = [s for name in (*names, sc.PREDICTION_CLASS_COUNT) for s in telemetry.series(name)]
    errors = list(telemetry.series(sc.MULTIVARIATE_ERROR))
    models = sorted({str(s.attributes.get(sc.MODEL_NAME)) for s in series if sc.MODEL_NAME in s.attributes})
    if not models:
        raise ValueError("no feature or prediction sketches of any model in the telemetry")
    if model is None:
        if len(models) > 1:
            raise ValueError(f"the telemetry holds several models, choose one with --model: {models}")
        model = models[0]
    elif model not in models:
        raise ValueError(f"no model {model!r} in the telemetry (models: {models})")
    mine = [s for s in series if str(s.attributes.get(sc.MODEL_NAME)) == model]
    if version is not None:
        mine = [s for s in mine if str(s.attributes.get(sc.MODEL_VERSION, "")) == version]
    data = FleetData(model, sorted({str(s.attributes.get(sc.MODEL_VERSION, "")) for s in mine}), {})
    histograms: dict[str, list[ExponentialHistogram]] = {}
    missing: dict[str, float] = {}
    categories: dict[str, dict[str, float]] = {}
    replicas = set()
    for s in mine:
        amount = _amount(s, since_ns, until_ns, data)
        if amount is None:
            continue
        data.streams += 1
        replicas.add(tuple(sorted((k, repr(v)) for k, v in s.resource.items())))
        attrs = s.attributes
        if s.name == sc.FEATURE_VALUE:
            histograms.setdefault(str(attrs.get(sc.FEATURE_NAME)), []).append(amount)
        elif s.name == sc.PREDICTION_VALUE and sc.OUTPUT_NAME not in attrs:
            histograms.setdefault(target or PREDICTION, []).append(amount)
        elif s.name == sc.FEATURE_MISSING:
            name = str(attrs.get(sc.FEATURE_NAME))
            missing[name] = missing.get(name, 0.0) + amount
        elif s.name == sc.FEATURE_CATEGORY_COUNT:
            counts = categories.setdefault(str(attrs.get(sc.FEATURE_NAME)), {})
            key = str(attrs.get(sc.FEATURE_CATEGORY))
            counts[key] = counts.get(key, 0.0) + amount
        elif s.name == sc.PREDICTION_CLASS_COUNT and sc.OUTPUT_NAME not in attrs:
            counts = categories.setdefault(target or PREDICTION, {})
            key = str(attrs.get(sc.PREDICTION_CLASS))
            counts[key] = counts.get(key, 0.0) + amount
    for s in errors:
        if str(s.attributes.get(sc.MODEL_NAME)) != model or (
            version is not None and str(s.attributes.get(sc.MODEL_VERSION, "")) != version
        ):
            continue
        amount = _amount(s, since_ns, until_ns, data)
        if amount is None or not amount.count:
            continue
        fingerprint = str(s.attributes.get(sc.MULTIVARIATE_MODEL, ""))
        part = ReconstructionErrors(fingerprint, int(amount.count), float(amount.sum))
        known = data.errors.get(fingerprint)
        data.errors[fingerprint] = part if known is None else known.merged(part)
    data.replicas = len(replicas)
    for name, parts in histograms.items():
        merged = parts[0].copy()
        for part in parts[1:]:
            merged.merge(part)
        merged.missing += int(round(missing.get(name, 0.0)))
        data.sketches[name] = merged
    for name, counts in categories.items():
        data.sketches[name] = _frequent(counts, int(round(missing.get(name, 0.0))))
    data.prediction = data.sketches.get(target or PREDICTION)
    if target is None:  # not a column of the reference: kept apart, not reported as a new feature
        data.sketches.pop(PREDICTION, None)
    if not data.sketches and data.prediction is None:
        raise ValueError(f"no feature or prediction sketches of model {model!r} in the time range")
    return data


def is_telemetry(path: str | os.PathLike[str]) -> bool:
    """A ``.jsonl`` file, or a directory holding some (at any depth): exported telemetry."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return any(name.endswith(".jsonl") for _, _, names in os.walk(path) for name in names)
    return path.lower().endswith(".jsonl")


def telemetry_files(path: str | os.PathLike[str]) -> list[str]:
    """The OTLP JSON files under ``path`` to read, each once: mlotel data directories (their
    ``metrics.jsonl`` with its rotated backups) and any other ``*.jsonl`` file (a collector's
    file exporter output), without listing a rotated backup of a file listed too."""
    from mlotel.export.otlp_json import signal_files

    path = os.fspath(path)
    if not os.path.isdir(path):
        return [path]
    found = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(path)
        for name in names
        if name.endswith(".jsonl")
    )
    backups = {os.fspath(b) for f in found for b in signal_files(f)[:-1]}
    return [f for f in found if f not in backups]


def _frequent(counts: dict[str, float], missing: int) -> FrequentItems:
    """Exported top-K counts (``__other__`` the tail) as a :class:`FrequentItems`."""
    other = int(round(counts.pop(FrequentItems.OTHER, 0.0)))
    items = [[key, int(round(c))] for key, c in counts.items() if round(c) > 0]
    total = sum(c for _, c in items) + other
    return FrequentItems.from_dict(
        {
            "version": 1,
            "k": max(len(items), 1),
            "max_key_length": max([len(k) for k, _ in items] + [128]),
            "items": items,
            "total": total,
            "missing": missing,
        }
    )


# --------------------------------------------------------------------------------------------
# One stream over a time range


def _amount(series: Any, since_ns: int | None, until_ns: int | None, data: FleetData) -> Any:
    """What ``series`` added in ``(since_ns, until_ns]``, or None when nothing."""
    points = [p for p in series.points if until_ns is None or p.time_ns <= until_ns]
    if not series.cumulative:
        values = [p.value for p in points if since_ns is None or p.time_ns > since_ns]
        _seen(data, [p for p in points if since_ns is None or p.time_ns > since_ns])
        return _add(values) if values else None
    amounts = []
    for segment in _segments(points):
        last = segment[-1]
        if since_ns is not None and last.time_ns <= since_ns:
            continue
        before = [p for p in segment if since_ns is not None and p.time_ns <= since_ns]
        value = last.value if not before else _minus(last.value, before[-1].value)
        if value is not None:
            amounts.append(value)
            _seen(data, [before[-1] if before else last, last])
    return _add(amounts) if amounts else None


def _seen(data: FleetData, points: list[Any]) -> None:
    for p in points:
        start = p.start_ns or p.time_ns
        data.first_ns = start if data.first_ns is None else min(data.first_ns, start)
        data.last_ns = p.time_ns if data.last_ns is None else max(data.last_ns, p.time_ns)


def _segments(points: list[Any]) -> list[list[Any]]:
    """Cumulative points split where the stream restarted (new start time or a count going down)."""
    segments: list[list[Any]] = []
    for p in points:
        prev = segments[-1][-1] if segments else None
        if prev is None or p.start_ns != prev.start_ns or _count(p.value) < _count(prev.value):
            segments.append([p])
        else:
            segments[-1].append(p)
    return segments


def _count(value: Any) -> float:
    return float(value.count) if isinstance(value, ExponentialHistogram) else float(value)


def _add(values: list[Any]) -> Any:
    if isinstance(values[0], ExponentialHistogram):
        out = values[0].copy()
        for v in values[1:]:
            out.merge(v)
        return out
    return float(sum(values))


def _minus(later: Any, earlier: Any) -> Any:
    """``later - earlier`` for two cumulative points of one stream (None if not a predecessor)."""
    if not isinstance(later, ExponentialHistogram):
        return later - earlier if later >= earlier else None
    if earlier.scale < later.scale:
        return None
    out = later.copy()
    for side in ("positive", "negative"):
        mine, theirs = getattr(later, side), getattr(earlier, side)
        if theirs.is_empty():
            continue
        offset, counts = downscale_counts(theirs.offset, theirs.counts, earlier.scale - later.scale)
        start = offset - mine.offset
        if start < 0 or start + counts.size > mine.counts.size:
            return None
        diff = mine.counts.copy()
        diff[start : start + counts.size] -= counts
        if np.any(diff < 0):
            return None
        setattr(out, side, BucketStore(mine.offset, diff))
    out.zero_count -= earlier.zero_count
    out.count -= earlier.count
    out.sum -= earlier.sum
    out.missing -= earlier.missing
    out.pos_inf -= earlier.pos_inf
    out.neg_inf -= earlier.neg_inf
    if out.count == 0:
        out.min, out.max = float("inf"), float("-inf")
    return out
