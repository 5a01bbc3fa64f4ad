"""Per-interval amounts from exported points, time bins, and histogram arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlotel.report._histograms import ExpHistogram, explicit_quantile
from mlotel.report._series import Interval, TimeGrid, intervals, total
from mlotel.report._telemetry import HistValue, Point, Series
from mlotel.sketches import ExponentialHistogram

S = 1_000_000_000  # ns per second


def _sum_series(points, cumulative=True) -> Series:
    return Series("c", "1", "sum", cumulative, {}, {}, [Point(s, t, v) for s, t, v in points])


def test_cumulative_points_become_deltas_and_restarts_start_over():
    # Stream 1 starts at 0 s, restarts at 25 s (new start time), then a count goes down without
    # a new start (another kind of reset); the duplicate point at 20 s is skipped.
    s = _sum_series([(0, 10 * S, 5.0), (0, 20 * S, 12.0), (0, 20 * S, 12.0), (25 * S, 30 * S, 4.0),
                     (25 * S, 40 * S, 9.0), (25 * S, 50 * S, 2.0)])  # fmt: skip
    got = [(iv.start_ns // S, iv.end_ns // S, iv.value) for iv in intervals(s)]
    assert got == [(0, 10, 5.0), (10, 20, 7.0), (25, 30, 4.0), (30, 40, 5.0), (25, 50, 2.0)]
    assert total(s) == 12.0 + 9.0 + 2.0
    assert sum(iv.value for iv in intervals(s)) == total(s)


def test_delta_points_are_their_own_intervals():
    s = _sum_series([(0, 10 * S, 5.0), (10 * S, 20 * S, 7.0)], cumulative=False)
    assert [(iv.start_ns, iv.value) for iv in intervals(s)] == [(0, 5.0), (10 * S, 7.0)]
    assert total(s) == 12.0


def test_histogram_deltas_subtract_buckets():
    b = np.array([1.0, 2.0])
    a = HistValue(3, 3.0, b, np.array([1.0, 2.0, 0.0]))
    c = HistValue(7, 10.0, b, np.array([1.0, 4.0, 2.0]))
    s = Series("h", "s", "histogram", True, {}, {}, [Point(1, 5 * S, a), Point(1, 6 * S, c)])
    first, second = intervals(s)
    assert second.value.count == 4 and second.value.total == 7.0
    assert second.value.counts.tolist() == [0.0, 2.0, 2.0]
    assert total(s).counts.tolist() == [1.0, 4.0, 2.0]


def test_time_grid_conserves_amounts_across_out_of_phase_streams():
    rng = np.random.default_rng(3)
    items = []
    for phase, period in ((0.0, 10.0), (3.3, 10.0), (1.0, 15.0)):
        t = 1000.0 + phase
        while t < 1200.0:
            items.append(Interval(int(t * S), int((t + period) * S), float(rng.integers(0, 100))))
            t += period
    grid = TimeGrid((iv.start_ns, iv.end_ns) for iv in items)
    binned = grid.spread(items, lambda v: [v])
    assert binned.sum() == pytest.approx(sum(iv.value for iv in items))
    assert grid.width == pytest.approx(10.0)
    assert grid.durations().sum() == pytest.approx(grid.hi - grid.lo)


def test_time_grid_bins_are_the_export_intervals_of_one_process():
    items = [Interval(0, int(10.2 * S), 4.0)]  # a first point without a usable start
    items += [Interval(int((10.2 + 10 * k) * S), int((20.2 + 10 * k) * S), float(k)) for k in range(5)]
    grid = TimeGrid((iv.start_ns, iv.end_ns) for iv in items)
    binned = grid.spread(items, lambda v: [v])[:, 0]
    assert binned.tolist() == pytest.approx([4.0, 0.0, 1.0, 2.0, 3.0, 4.0])
    assert grid.durations() == pytest.approx([10.0] * 6)


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
def test_explicit_quantile_lies_in_the_bucket_of_the_exact_quantile(q):
    rng = np.random.default_rng(int(q * 100))
    x = rng.lognormal(-5, 1, 5000)
    bounds = np.array([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1])
    counts = np.bincount(np.searchsorted(bounds, x, side="left"), minlength=bounds.size + 1)
    exact = np.quantile(x, q, method="inverted_cdf")
    i = int(np.searchsorted(bounds, exact, side="left"))
    lo = bounds[i - 1] if i else x.min()
    hi = bounds[i] if i < bounds.size else x.max()
    est = explicit_quantile(q, bounds, counts, x.min(), x.max())
    assert lo <= est <= hi
    assert math.isnan(explicit_quantile(q, bounds, np.zeros(bounds.size + 1)))
    with pytest.raises(ValueError):
        explicit_quantile(0.0, bounds, counts)


def _from_sketch(h: ExponentialHistogram) -> ExpHistogram:
    d = h.to_dict()
    return ExpHistogram.from_buckets(d["scale"], d["zero_count"], (d["positive"]["offset"], d["positive"]["counts"]),
                                     (d["negative"]["offset"], d["negative"]["counts"]))  # fmt: skip


def test_exponential_merge_equals_the_histogram_of_the_union():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 3, 4000), rng.lognormal(2, 2, 3000)
    ha, hb, hu = (
        ExponentialHistogram(max_size=160),
        ExponentialHistogram(max_size=160),
        ExponentialHistogram(160),
    )
    ha.update(a)
    hb.update(b)
    hu.update(np.concatenate([a, b]))
    merged = _from_sketch(ha).merged(_from_sketch(hb))
    union = _from_sketch(hu)
    scale = min(merged.scale, union.scale)
    m, u = merged.downscaled(scale), union.downscaled(scale)
    assert (m.positive, m.negative, m.zero_count, m.count) == (u.positive, u.negative, u.zero_count, u.count)
    lower, upper, counts = m.buckets()
    assert counts.sum() + m.zero_count == a.size + b.size
    assert np.all(lower[1:] >= upper[:-1] - 1e-12)  # ascending, non-overlapping
    median = m.quantile(0.5)
    exact = np.median(np.concatenate([a, b]))
    assert abs(median - exact) <= abs(exact) * (2**2**-scale - 1) + 1e-9
