"""Histogram arithmetic on OTLP data points: explicit-bucket quantiles and exponential-histogram
merging and densities.

Both work on counts only, never on raw values, so their answers carry the bucket resolution:

* :func:`explicit_quantile` returns a value inside the bucket that holds the requested rank
  (linear interpolation within it, the bucket clamped to the observed ``[min, max]`` when known),
  as Prometheus' ``histogram_quantile`` does. Its error is at most that bucket's width.
* :class:`ExpHistogram` merges exactly (OTLP scale alignment: index ``i`` at scale ``s`` is index
  ``i >> k`` at scale ``s - k``), so densities of merged series are those of the union of the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["ExpHistogram", "explicit_quantile", "rebucket"]


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


@dataclass
class ExpHistogram:
    """An OTLP exponential histogram's buckets in sparse form.

    ``positive`` and ``negative`` map bucket index to count: index ``i`` at ``scale`` holds
    ``|x|`` in ``(base**i, base**(i+1)]`` with ``base = 2 ** 2 ** -scale``. ``zero_count`` holds
    exact zeros (and values within the zero threshold). ``vmin``/``vmax`` are NaN when unknown.
    """

    scale: int
    zero_count: float
    positive: dict[int, float]
    negative: dict[int, float]
    count: float
    total: float = 0.0
    vmin: float = math.nan
    vmax: float = math.nan

    @classmethod
    def empty(cls) -> ExpHistogram:
        return cls(scale=20, zero_count=0.0, positive={}, negative={}, count=0.0)

    @classmethod
    def from_buckets(
        cls,
        scale: int,
        zero_count: float,
        positive: tuple[int, Sequence[float]],
        negative: tuple[int, Sequence[float]],
        *,
        total: float = 0.0,
        vmin: float = math.nan,
        vmax: float = math.nan,
    ) -> ExpHistogram:
        """From OTLP-style ``(offset, counts)`` bucket ranges; ``count`` is recomputed from them."""
        pos = {positive[0] + i: float(c) for i, c in enumerate(positive[1]) if c}
        neg = {negative[0] + i: float(c) for i, c in enumerate(negative[1]) if c}
        count = float(zero_count) + sum(pos.values()) + sum(neg.values())
        return cls(int(scale), float(zero_count), pos, neg, count, float(total), vmin, vmax)

    def downscaled(self, scale: int) -> ExpHistogram:
        """This histogram at a scale ``<= self.scale`` (exact: buckets merge pairwise)."""
        k = self.scale - scale
        if k < 0:
            raise ValueError(f"cannot upscale from {self.scale} to {scale}")
        if k == 0:
            return ExpHistogram(self.scale, self.zero_count, dict(self.positive), dict(self.negative),
                                self.count, self.total, self.vmin, self.vmax)  # fmt: skip

        def shift(store: dict[int, float]) -> dict[int, float]:
            out: dict[int, float] = {}
            for i, c in store.items():
                j = i >> k
                out[j] = out.get(j, 0.0) + c
            return out

        return ExpHistogram(scale, self.zero_count, shift(self.positive), shift(self.negative),
                            self.count, self.total, self.vmin, self.vmax)  # fmt: skip

    def merged(self, other: ExpHistogram) -> ExpHistogram:
        """The histogram of both (at the smaller scale); neither input changes."""
        if not other.count:
            return self.downscaled(self.scale)
        if not self.count:
            return other.downscaled(other.scale)
        scale = min(self.scale, other.scale)
        a, b = self.downscaled(scale), other.downscaled(scale)
        for store, add in ((a.positive, b.positive), (a.negative, b.negative)):
            for i, c in add.items():
                store[i] = store.get(i, 0.0) + c
        a.zero_count += b.zero_count
        a.count += b.count
        a.total += b.total
        a.vmin = (
            float(np.nanmin([a.vmin, b.vmin]))
            if not (math.isnan(a.vmin) and math.isnan(b.vmin))
            else math.nan
        )
        a.vmax = (
            float(np.nanmax([a.vmax, b.vmax]))
            if not (math.isnan(a.vmax) and math.isnan(b.vmax))
            else math.nan
        )
        return a

    def buckets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lower, upper, counts)`` of every bucket between the lowest and highest non-empty
        one (empty ones included, so the result tiles the covered range), ascending by value,
        excluding the zero bucket."""
        base_log2 = 2.0**-self.scale
        parts = []
        if self.negative:
            idx = np.arange(max(self.negative), min(self.negative) - 1, -1)
            counts = np.array([self.negative.get(int(i), 0.0) for i in idx])
            with np.errstate(over="ignore"):
                parts.append((-np.exp2((idx + 1) * base_log2), -np.exp2(idx * base_log2), counts))
        if self.positive:
            idx = np.arange(min(self.positive), max(self.positive) + 1)
            counts = np.array([self.positive.get(int(i), 0.0) for i in idx])
            with np.errstate(over="ignore"):
                parts.append((np.exp2(idx * base_log2), np.exp2((idx + 1) * base_log2), counts))
        if not parts:
            e = np.zeros(0)
            return e, e.copy(), e.copy()
        return tuple(np.concatenate(p) for p in zip(*parts))  # type: ignore[return-value]

    def span_buckets(self, lo_q: float = 0.005, hi_q: float = 0.995) -> int:
        """Number of buckets between those holding the ``lo_q`` and ``hi_q`` quantiles."""
        lower, _, counts = self.buckets()
        if not counts.size or not counts.sum():
            return 0
        cum = np.cumsum(counts) / counts.sum()
        first = int(np.searchsorted(cum, lo_q, side="left"))
        last = int(np.searchsorted(cum, hi_q, side="left"))
        return min(last, lower.size - 1) - first + 1

    def quantile(self, q: float) -> float:
        """Value at quantile ``q`` of the bucketed data (zeros included), interpolated linearly
        inside its bucket; NaN when empty."""
        lower, upper, counts = self.buckets()
        if self.zero_count:
            k = int(np.searchsorted(upper, 0.0, side="right"))
            lower = np.insert(lower, k, 0.0)
            upper = np.insert(upper, k, 0.0)
            counts = np.insert(counts, k, self.zero_count)
        total = counts.sum()
        if not total:
            return math.nan
        cum = np.cumsum(counts)
        rank = q * total
        i = min(int(np.searchsorted(cum, rank, side="left")), counts.size - 1)
        before = cum[i - 1] if i else 0.0
        frac = (rank - before) / counts[i] if counts[i] else 0.0
        value = float(lower[i] + (upper[i] - lower[i]) * min(max(frac, 0.0), 1.0))
        if math.isfinite(self.vmin):
            value = max(value, self.vmin)
        if math.isfinite(self.vmax):
            value = min(value, self.vmax)
        return value
