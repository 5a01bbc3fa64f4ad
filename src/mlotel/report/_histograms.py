"""Explicit-bucket histogram arithmetic on OTLP data points (latency).

It works on counts only, never on raw values, so answers carry the bucket resolution:
:func:`explicit_quantile` returns a value inside the bucket that holds the requested rank (linear
interpolation within it, the bucket clamped to the observed ``[min, max]`` when known), as
Prometheus' ``histogram_quantile`` does; its error is at most that bucket's width.

Exponential histograms are read into :class:`mlotel.sketches.ExponentialHistogram`
(:meth:`~mlotel.sketches.ExponentialHistogram.from_otlp`), which merges them exactly and
estimates their quantiles and CDF.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["explicit_quantile", "rebucket"]


def explicit_quantile(
    q: float,
    bounds: Sequence[float] | np.ndarray,
    counts: Sequence[float] | np.ndarray,
    vmin: float = math.nan,
    vmax: float = math.nan,
) -> float:
    """Estimate quantile ``q`` (in ``(0, 1]``) of an explicit-bucket histogram.

    Bucket ``i`` holds values in ``(bounds[i-1], bounds[i]]``; the first is ``(-inf, bounds[0]]``
    and the last ``(bounds[-1], +inf)``. The rank ``q * total`` is located in its bucket and
    interpolated linearly inside it. Open ends are closed by ``vmin``/``vmax`` when given (finite),
    otherwise the first bucket starts at ``min(0, bounds[0])`` and the last ends at ``bounds[-1]``
    (an underestimate). Returns NaN for an empty histogram. ``counts`` may be fractional.

    Raises:
        ValueError: ``q`` is outside ``(0, 1]`` or ``len(counts) != len(bounds) + 1``.
    """
    if not 0.0 < q <= 1.0:
        raise ValueError(f"quantile level must be in (0, 1], got {q!r}")
    c = np.asarray(counts, dtype=np.float64)
    b = np.asarray(bounds, dtype=np.float64)
    if c.size != b.size + 1:
        raise ValueError(f"{c.size} bucket counts for {b.size} bounds (expected {b.size + 1})")
    total = float(c.sum())
    if not total > 0:
        return math.nan
    cum = np.cumsum(c)
    rank = q * total
    # First bucket whose cumulative count reaches the rank; skip empty buckets at equality.
    i = int(np.searchsorted(cum, rank * (1 - 1e-12), side="left"))
    i = min(i, c.size - 1)
    while c[i] <= 0 and i < c.size - 1:
        i += 1
    has_min, has_max = math.isfinite(vmin), math.isfinite(vmax)
    lo = b[i - 1] if i > 0 else (vmin if has_min else min(0.0, b[0]) if b.size else 0.0)
    hi = b[i] if i < b.size else (vmax if has_max else b[-1] if b.size else lo)
    if has_min:
        lo = max(lo, vmin)
        hi = max(hi, vmin)
    if has_max:
        hi = min(hi, vmax)
        lo = min(lo, vmax)
    before = cum[i - 1] if i > 0 else 0.0
    frac = min(max((rank - before) / c[i], 0.0), 1.0)
    return float(lo + (hi - lo) * frac)


def rebucket(bounds: np.ndarray, counts: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Counts of histogram ``(bounds, counts)`` moved onto ``target`` bounds: each source bucket
    goes whole to the target bucket holding its upper bound (its lower bound for the overflow
    bucket). Exact when ``target`` is a subset of ``bounds``; otherwise off by at most one target
    bucket per source bucket. Used only to merge series whose bounds differ."""
    if np.array_equal(bounds, target):
        return counts
    edges = np.append(bounds, bounds[-1] if bounds.size else 0.0)
    where = np.searchsorted(target, edges, side="left")
    out = np.zeros(target.size + 1, dtype=np.float64)
    np.add.at(out, where, counts)
    return out
