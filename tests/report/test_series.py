"""Per-interval amounts from exported points, time bins, and histogram arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlotel.export._telemetry import HistValue, Point, Series, load_telemetry
from mlotel.report._histograms import explicit_quantile
from mlotel.report._series import Interval, TimeGrid, add_values, intervals, total
from mlotel.sketches import ExponentialHistogram
from tests.report.otlp_lines import attrs, exponential_line, write_lines

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


def _json_point(values: np.ndarray, start_s: int, time_s: int, **attributes) -> dict:
    """The OTLP/JSON point a file exporter writes for the sketch of ``values`` (encoded here
    field by field, independently of the report's reader)."""
    h = ExponentialHistogram()
    h.update(values)
    return {
        "attributes": attrs(**attributes),
        "startTimeUnixNano": str(start_s * S),
        "timeUnixNano": str(time_s * S),
        "count": str(h.count),
        "sum": h.sum,
        "scale": h.scale,
        "zeroCount": str(h.zero_count),
        "positive": {"offset": int(h.positive.offset), "bucketCounts": [str(c) for c in h.positive.counts]},
        "negative": {"offset": int(h.negative.offset), "bucketCounts": [str(c) for c in h.negative.counts]},
        "min": h.min,
        "max": h.max,
    }


def test_exponential_totals_merge_replicas_and_restarts_exactly(tmp_path):
    # Replica 1 exports cumulative points, restarts at 25 s and exports again; replica 2 (another
    # resource) exports once. The feature's total is the sketch of every value, bucket for bucket.
    rng = np.random.default_rng(0)
    a1, a2, b1 = rng.normal(0, 3, 400), rng.lognormal(2, 2, 300), np.append(rng.normal(-5, 1, 200), [0.0] * 7)
    c = rng.lognormal(-9, 1, 100)
    replica2 = {"attributes": [{"key": "service.instance.id", "value": {"stringValue": "r2"}}]}
    name = {"ml_feature_name": "age"}
    path = write_lines(tmp_path / "metrics.jsonl", [
        exponential_line("ml.feature.value", [_json_point(a1, 1, 10, **name)]),
        exponential_line("ml.feature.value", [_json_point(np.concatenate([a1, a2]), 1, 20, **name)]),
        exponential_line("ml.feature.value", [_json_point(np.concatenate([a1, a2]), 1, 20, **name)]),  # twice
        exponential_line("ml.feature.value", [_json_point(b1, 25, 30, **name)]),
        exponential_line("ml.feature.value", [_json_point(c, 2, 12, **name)], resource=replica2),
    ])  # fmt: skip
    series = load_telemetry(path).series("ml.feature.value")
    assert len(series) == 2
    merged = add_values([total(s) for s in series])
    union = ExponentialHistogram()
    union.update(np.concatenate([a1, a2, b1, c]))
    assert merged.count == union.count and (merged.min, merged.max) == (union.min, union.max)
    assert merged.sum == pytest.approx(union.sum)
    at_union_size = ExponentialHistogram(max_size=union.max_size)
    at_union_size.merge(merged)  # the report keeps more buckets: the same data, at most finer
    assert at_union_size.scale == union.scale and at_union_size.zero_count == union.zero_count == 7
    assert at_union_size.positive == union.positive and at_union_size.negative == union.negative
    # Totals leave the points they read unchanged.
    assert [p.value.count for s in series for p in s.points] == [400, 700, 700, 207, 100]
