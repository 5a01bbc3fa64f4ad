"""From exported points to what happened in each interval, and onto one time axis.

A cumulative stream re-exports its running total every interval; the difference of consecutive
points is what happened between their timestamps. A stream restarts (process restart, SDK reset)
when its start time changes or a count goes down; the first point after a restart is itself the
amount since the new start. Delta points already are per interval (``[start, time]``).

:class:`TimeGrid` puts intervals of any number of streams (several processes exporting out of
phase, at different periods) on one set of equal bins: an interval's amount is spread over the
bins it overlaps in proportion to the overlap, i.e. assuming a constant rate inside the interval.
Totals over bins therefore equal totals over intervals exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlotel.export._telemetry import HistValue, Series
from mlotel.sketches import ExponentialHistogram

__all__ = ["Interval", "TimeGrid", "intervals", "total"]


@dataclass(frozen=True)
class Interval:
    """What a stream added between ``start_ns`` and ``end_ns`` (a float or a :class:`HistValue`)."""

    start_ns: int
    end_ns: int
    value: Any


def _minus(later: Any, earlier: Any) -> Any | None:
    if isinstance(later, HistValue):
        return later.minus(earlier)
    if isinstance(later, ExponentialHistogram):
        return None  # never needed per interval: feature distributions use totals
    diff = later - earlier
    return diff if diff >= 0 else None


def intervals(series: Series) -> list[Interval]:
    """Per-interval amounts of a sum or explicit-histogram series, oldest first.

    Cumulative points are differenced within a stream (same start time, no count going down);
    a duplicate point (same time and start, e.g. the same file read twice) is skipped. Gauges
    are not additive: use their points directly.
    """
    out: list[Interval] = []
    prev = None
    for point in series.points:
        if not series.cumulative:
            out.append(Interval(point.start_ns, point.time_ns, point.value))
            continue
        if prev is not None and point.start_ns == prev.start_ns and point.time_ns == prev.time_ns:
            continue
        diff = None
        if prev is not None and point.start_ns == prev.start_ns:
            diff = _minus(point.value, prev.value)
        if diff is None:  # first point, or a restart: everything since the (new) start
            out.append(Interval(point.start_ns, point.time_ns, point.value))
        else:
            out.append(Interval(prev.time_ns, point.time_ns, diff))
        prev = point
    return out


def total(series: Series) -> Any:
    """The series' amount over all time: the last point of each cumulative stream, summed over
    restarts; the sum of all delta points. None when the series has no points."""
    points = series.points
    if not points:
        return None
    if series.cumulative:
        lasts = []
        for i, point in enumerate(points):
            nxt = points[i + 1] if i + 1 < len(points) else None
            if nxt is None or nxt.start_ns != point.start_ns or _restarted(nxt.value, point.value):
                lasts.append(point.value)
        values = lasts
    else:
        values = [p.value for p in points]
    return add_values(values)


def _restarted(later: Any, earlier: Any) -> bool:
    if isinstance(later, ExponentialHistogram):
        return later.count < earlier.count
    return _minus(later, earlier) is None


def add_values(values: Sequence[Any]) -> Any:
    """Sum floats, :class:`HistValue` (onto the first one's bounds) or exponential histograms."""
    from mlotel.report._histograms import rebucket

    first = values[0]
    if isinstance(first, ExponentialHistogram):
        acc = first.copy()  # the points stay as read
        for v in values[1:]:
            acc.merge(v)
        return acc
    if isinstance(first, HistValue):
        counts = np.zeros_like(first.counts, dtype=np.float64)
        count = acc_sum = 0.0
        vmins, vmaxs = [], []
        for v in values:
            counts += rebucket(v.bounds, v.counts, first.bounds)
            count += v.count
            acc_sum += v.total
            vmins.append(v.vmin)
            vmaxs.append(v.vmax)
        vmin = min(vmins) if all(math.isfinite(x) for x in vmins) else math.nan
        vmax = max(vmaxs) if all(math.isfinite(x) for x in vmaxs) else math.nan
        return HistValue(count, acc_sum, first.bounds, counts, vmin, vmax)
    return float(sum(values))


class TimeGrid:
    """Equal-width time bins covering a set of intervals.

    The width is the median interval length (the export interval), widened so there are at
    most ``max_bins`` bins; bin edges are aligned on the earliest interval end so that, for a
    single process, bins coincide with export intervals.
    """

    def __init__(self, spans: Iterable[tuple[int, int]], max_bins: int = 240) -> None:
        pairs = [(s / 1e9, e / 1e9) for s, e in spans if e > 0]
        if not pairs:
            raise ValueError("no intervals to place on a time grid")
        lengths = np.array([e - s for s, e in pairs if s > 0 and e > s])
        width = float(np.median(lengths)) if lengths.size else 1.0
        self._typical = width
        starts = np.array([self._start(s, e) for s, e in pairs])
        ends = np.array([e for _, e in pairs])
        lo, hi = float(starts.min()), float(ends.max())
        width = max(width, (hi - lo) / max_bins, 1e-3)
        anchor = float(ends.min())
        first = anchor - math.ceil((anchor - lo) / width - 1e-9) * width
        n = max(1, math.ceil((hi - first) / width - 1e-9))
        if first + n * width < hi:
            n += 1
        self.width = width
        self.edges = first + width * np.arange(n + 1)
        self.lo, self.hi = lo, hi

    def _start(self, start: float, end: float) -> float:
        # A stream's first point may carry no usable start (0, or equal to its time, as when the
        # start is taken at the first collection): assume it covers one typical interval.
        return start if 0 < start < end else end - self._typical

    @property
    def size(self) -> int:
        return self.edges.size - 1

    def bin_ends(self) -> np.ndarray:
        """End time (epoch seconds) of every bin, the last one clipped to the data's end."""
        return np.minimum(self.edges[1:], self.hi)

    def durations(self) -> np.ndarray:
        """Seconds of every bin that lie within the data's time range (divide by these for rates:
        the first and last bins are usually partial)."""
        return np.clip(np.minimum(self.edges[1:], self.hi) - np.maximum(self.edges[:-1], self.lo), 1e-9, None)

    def spread(self, items: Iterable[Interval], vector) -> np.ndarray:
        """Sum ``vector(interval.value)`` (a 1-D array, same length for all) into the bins.

        Returns an array of shape ``(bins, len(vector))``; each interval contributes in
        proportion to its overlap with each bin. An interval without a usable start is taken
        to cover one typical interval before its end.
        """
        out: np.ndarray | None = None
        edges = self.edges
        for item in items:
            vec = np.asarray(vector(item.value), dtype=np.float64)
            if out is None:
                out = np.zeros((self.size, vec.size))
            end = item.end_ns / 1e9
            start = max(self._start(item.start_ns / 1e9, end), edges[0])
            j0 = max(int(np.searchsorted(edges, start, side="right")) - 1, 0)
            j1 = min(int(np.searchsorted(edges, end, side="left")) - 1, self.size - 1)
            length = end - start
            for j in range(j0, j1 + 1):
                overlap = min(end, edges[j + 1]) - max(start, edges[j])
                if overlap > 0:
                    out[j] += vec * (overlap / length)
        if out is None:
            return np.zeros((self.size, 0))
        return out
