"""ExponentialHistogram: bucketing, downscaling, merging, estimates, serialization."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlotel.sketches import BucketStore, ExponentialHistogram, map_to_index
from mlotel.sketches.store import downscale_counts


def _reference_store(magnitudes: np.ndarray, scale: int) -> BucketStore:
    store = BucketStore()
    if magnitudes.size:
        store.add(map_to_index(magnitudes, scale))
    return store


def _fits(values: np.ndarray, scale: int, max_size: int) -> bool:
    pos, neg = values[values > 0], -values[values < 0]
    return all(m.size == 0 or np.ptp(map_to_index(m, scale)) + 1 <= max_size for m in (pos, neg))


def _exact_sum(values: np.ndarray) -> float:
    try:
        return math.fsum(values.tolist())
    except OverflowError:
        return math.inf


def _close_sums(a: float, b: float, magnitude: float = 0.0, n: int = 1) -> bool:
    # Different summation orders may overflow differently; compare finite sums only. Floating
    # addition can cancel (1 + MAX - MAX): allow the rounding of n terms of size <= magnitude.
    if not (math.isfinite(a) and math.isfinite(b)):
        return True
    rounding = n * magnitude * 2.0**-52 if math.isfinite(magnitude) else 0.0
    return a == pytest.approx(b, rel=1e-9, abs=max(1e-300, rounding))


def assert_matches_reference(h: ExponentialHistogram, values: np.ndarray) -> None:
    finite = values[np.isfinite(values)]
    # The scale is the largest one (<= max_scale) at which both signs fit.
    assert _fits(finite, h.scale, h.max_size)
    assert h.scale == h.max_scale or not _fits(finite, h.scale + 1, h.max_size)
    assert h.positive == _reference_store(finite[finite > 0], h.scale)
    assert h.negative == _reference_store(-finite[finite < 0], h.scale)
    assert h.zero_count == int(np.count_nonzero(finite == 0))
    assert h.count == finite.size
    assert h.positive.total + h.negative.total + h.zero_count == h.count
    if finite.size:
        assert h.min == finite.min() and h.max == finite.max()
        assert _close_sums(h.sum, _exact_sum(finite), float(np.abs(finite).max()), finite.size)
    assert len(h.positive) <= h.max_size and len(h.negative) <= h.max_size


def _datasets() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 5_000
    return {
        "lognormal": rng.lognormal(0, 1, n),
        "normal": rng.normal(0, 1, n),
        "uniform": rng.uniform(0, 1, n),
        "relu": np.maximum(rng.normal(size=n), 0),
        "poisson": rng.poisson(3, n).astype(float),
        "negative": -rng.lognormal(2, 3, n),
        "tight": rng.uniform(1000, 1001, n),
        "constant": np.full(n, 3.7),
        "signs": rng.choice([-1.0, 1.0, 0.0, -0.0], n),
        "wide": np.exp(rng.uniform(-700, 700, n)) * rng.choice([-1, 1], n),
        "subnormal": rng.integers(1, 1 << 52, n, dtype=np.int64).view(np.float64),
        "powers": np.ldexp(1.0, rng.integers(-30, 30, n)),
        "zero_heavy": np.where(rng.random(n) < 0.9, 0.0, rng.normal(5, 1, n)),
        "bimodal": np.concatenate([rng.normal(-50, 1, n // 2), rng.lognormal(3, 0.1, n // 2)]),
    }


DATASETS = _datasets()


@pytest.mark.parametrize("name", sorted(DATASETS))
@pytest.mark.parametrize("max_size", [160, 20, 2])
def test_buckets_equal_exact_mapping(name: str, max_size: int) -> None:
    values = DATASETS[name]
    h = ExponentialHistogram(max_size=max_size)
    h.update(values)
    assert_matches_reference(h, values)


@pytest.mark.parametrize("max_scale", [20, 8, 0, -5])
def test_max_scale_caps_scale(max_scale: int) -> None:
    h = ExponentialHistogram(max_scale=max_scale)
    values = DATASETS["constant"]
    h.update(values)
    assert h.scale == max_scale
    assert_matches_reference(h, values)


def test_incremental_updates_equal_single_update() -> None:
    values = DATASETS["bimodal"]
    whole = ExponentialHistogram(max_size=40)
    whole.update(values)
    parts = ExponentialHistogram(max_size=40)
    for chunk in np.array_split(values, 37):
        parts.update(chunk)
    _assert_same(parts, whole)


def _assert_same(a: ExponentialHistogram, b: ExponentialHistogram) -> None:
    assert (a.scale, a.zero_count, a.count, a.min, a.max) == (b.scale, b.zero_count, b.count, b.min, b.max)
    assert a.positive == b.positive and a.negative == b.negative
    assert (a.missing, a.pos_inf, a.neg_inf) == (b.missing, b.pos_inf, b.neg_inf)
    magnitude = max(abs(a.min), abs(a.max)) if a.count else 0.0
    assert _close_sums(a.sum, b.sum, magnitude, a.count)


def test_nan_none_and_infinities_are_counted_apart() -> None:
    h = ExponentialHistogram()
    h.update(np.array([1.0, np.nan, np.inf, -np.inf, np.inf, -2.0, 0.0]))
    h.update(np.array([None, 3.0, None], dtype=object))
    h.update([True, False])
    assert (h.missing, h.pos_inf, h.neg_inf) == (3, 2, 1)
    assert h.count == 6 and h.zero_count == 2
    assert (h.min, h.max, h.sum) == (-2.0, 3.0, 3.0)
    assert h.positive.total == 3 and h.negative.total == 1
    only_missing = ExponentialHistogram()
    only_missing.update(np.array([np.nan, np.inf]))
    assert only_missing.count == 0 and only_missing.min == math.inf
    assert math.isnan(only_missing.quantile(0.5))


def test_sum_overflow_is_not_mistaken_for_infinity() -> None:
    h = ExponentialHistogram()
    h.update(np.array([1.7e308, 1.7e308, 1.0]))
    assert h.count == 3 and h.pos_inf == 0 and h.sum == math.inf


def test_rejects_strings() -> None:
    with pytest.raises(TypeError):
        ExponentialHistogram().update(np.array(["a", "b"]))


def test_million_updates_do_not_grow_state() -> None:
    rng = np.random.default_rng(3)
    h = ExponentialHistogram()
    for _ in range(100):
        h.update(rng.lognormal(rng.uniform(-20, 20), 5, 10_000) * rng.choice([-1, 1], 10_000))
    assert h.count == 1_000_000
    assert h.positive.counts.size <= 160 and h.negative.counts.size <= 160
    assert h.positive.total + h.negative.total == 1_000_000


# -- downscaling --------------------------------------------------------------------
@pytest.mark.parametrize("by", [1, 2, 3, 7, 22])
def test_store_downscale_matches_lower_scale_mapping(by: int) -> None:
    values = DATASETS["wide"]
    values = np.abs(values[values != 0])
    store = _reference_store(values, 12)
    store.downscale(by)
    assert store == _reference_store(values, 12 - by)


def test_store_downscale_far_beyond_range() -> None:
    store = BucketStore(-1000, np.ones(2000, dtype=np.int64))
    store.downscale(45)
    assert (store.offset, store.counts.tolist()) == (-1, [1000, 1000])
    store = BucketStore(5, np.arange(1, 40))
    store.downscale(3)
    expected = np.bincount((np.arange(5, 44) >> 3), weights=np.arange(1, 40)).astype(int)
    assert (store.offset, store.counts.tolist()) == (0, expected.tolist())


def test_downscale_counts_handles_negative_offsets() -> None:
    offset, counts = downscale_counts(-5, np.array([1, 2, 3, 4, 5, 6, 7], dtype=np.int64), 2)
    assert offset == -2 and counts.tolist() == [1, 2 + 3 + 4 + 5, 6 + 7]


# -- merge properties ----------------------------------------------------------------
finite_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.integers(-5, 5).map(float),
    st.sampled_from([0.0, -0.0, 1.0, 2.0, 0.5, 1e-310, -1e-310]),
)
value_lists = st.lists(
    st.one_of(finite_floats, st.sampled_from([math.nan, math.inf, -math.inf])), max_size=60
)


def _sketch(values: list[float], max_size: int) -> ExponentialHistogram:
    h = ExponentialHistogram(max_size=max_size)
    h.update(np.array(values, dtype=np.float64))
    return h


def _merged(*hs: ExponentialHistogram) -> ExponentialHistogram:
    out = hs[0].copy()
    for h in hs[1:]:
        out.merge(h)
    return out


@settings(max_examples=150, deadline=None)
@given(value_lists, value_lists, value_lists, st.sampled_from([2, 3, 8, 160]))
def test_merge_is_exact_commutative_and_associative(a, b, c, max_size) -> None:
    ha, hb, hc = (_sketch(v, max_size) for v in (a, b, c))
    whole = _sketch(a + b + c, max_size)
    assert_matches_reference(whole, np.array(a + b + c, dtype=np.float64))
    _assert_same(_merged(ha, hb, hc), whole)
    _assert_same(_merged(hc, hb, ha), whole)
    left = _merged(_merged(ha, hb), hc)
    right = _merged(ha, _merged(hb, hc))
    _assert_same(left, right)
    _assert_same(_merged(ha, hb), _merged(hb, ha))


@settings(max_examples=60, deadline=None)
@given(value_lists, st.sampled_from([2, 5, 160]))
def test_round_trip_to_dict(values, max_size) -> None:
    h = _sketch(values, max_size)
    d = json.loads(json.dumps(h.to_dict(), allow_nan=False))
    back = ExponentialHistogram.from_dict(d)
    assert back == h


def test_merge_leaves_other_unchanged_and_handles_empty() -> None:
    a, b = _sketch([1.0, 2.0], 160), _sketch([-1e9, 3.0], 4)
    snapshot = b.copy()
    a.merge(b)
    assert b == snapshot
    empty = ExponentialHistogram()
    a2 = a.copy()
    a2.merge(empty)
    assert a2 == a
    empty.merge(a)
    _assert_same(empty, a)


def test_from_dict_rejects_other_versions() -> None:
    d = ExponentialHistogram().to_dict()
    d["version"] = 99
    with pytest.raises(ValueError):
        ExponentialHistogram.from_dict(d)


# -- estimates -----------------------------------------------------------------------
QUANTILE_SETS = ["lognormal", "normal", "zero_heavy", "bimodal", "constant", "negative", "wide", "poisson"]


@pytest.mark.parametrize("name", QUANTILE_SETS)
@pytest.mark.parametrize("max_size", [160, 32])
def test_quantiles_within_relative_error(name: str, max_size: int) -> None:
    values = DATASETS[name]
    h = ExponentialHistogram(max_size=max_size)
    h.update(values)
    qs = np.linspace(0, 1, 101)
    exact = np.quantile(values, qs, method="lower")
    est = h.quantile(qs)
    bound = h.relative_error * (1 + 1e-9)
    assert np.all(np.abs(est - exact) <= bound * np.abs(exact)), (h.scale, h.relative_error)
    assert h.quantile(0.0) == values.min() and h.quantile(1.0) == values.max()
    assert isinstance(h.quantile(0.5), float)


def test_relative_error_formula() -> None:
    h = ExponentialHistogram()
    h.update(np.array([1.0, 1e6]))
    base = 2 ** (2.0**-h.scale)
    assert h.relative_error == pytest.approx((base - 1) / (base + 1))


@pytest.mark.parametrize("name", ["lognormal", "normal", "zero_heavy", "bimodal", "negative"])
def test_cdf_within_one_bucket(name: str) -> None:
    values = np.sort(DATASETS[name])
    h = ExponentialHistogram()
    h.update(values)
    base = h.base
    xs = np.concatenate([np.quantile(values, np.linspace(0, 1, 57)), [0.0, -1e-3, 1e-3]])
    est = h.cdf(xs)

    def ecdf(t):
        return np.searchsorted(values, t, side="right") / values.size

    lo = np.where(xs > 0, ecdf(xs / base), ecdf(xs * base))
    hi = np.where(xs > 0, ecdf(xs * base), ecdf(xs / base))
    assert np.all(est >= lo - 1e-12) and np.all(est <= hi + 1e-12)
    assert h.cdf(values.max()) == 1.0 and h.cdf(values.min() - 1) == 0.0
    assert h.cdf(0.0) == pytest.approx(ecdf(0.0))


def test_bucket_bounds_and_counts_ascending() -> None:
    h = ExponentialHistogram(max_size=20)
    values = DATASETS["signs"] * 3 + DATASETS["normal"]
    h.update(values)
    lower, upper, counts = h.bucket_bounds_and_counts()
    assert counts.sum() == h.count
    assert np.all(lower <= upper) and np.all(np.diff(upper) > 0)
    # Random data sits nowhere near a boundary, so plain comparisons give exact counts.
    for lo, up, c in zip(lower, upper, counts):
        if lo == up == 0:
            assert c == np.count_nonzero(values == 0)
        elif lo > 0:
            assert c == np.count_nonzero((values > lo) & (values <= up))
        else:
            assert c == np.count_nonzero((values >= lo) & (values < up))


# -- from_otlp -------------------------------------------------------------------------------

_OTLP_DATASETS = ["lognormal", "negative", "signs", "zero_heavy", "bimodal", "wide", "subnormal", "constant"]


def _otlp_point(h: ExponentialHistogram):
    from mlotel.export._aggregates import exponential_point

    return exponential_point({"k": "v"}, h, 1, 2)


def _proto_point(h: ExponentialHistogram):
    """The point as the OTLP exporters put it on the wire (the SDK's own encoder)."""
    from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        Metric,
        MetricsData,
        ResourceMetrics,
        ScopeMetrics,
    )
    from opentelemetry.sdk.metrics.export import ExponentialHistogram as ExpData
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    data = ExpData([_otlp_point(h)], AggregationTemporality.CUMULATIVE)
    metric = Metric(name="m", description="", unit="1", data=data)
    scope = ScopeMetrics(InstrumentationScope("t"), [metric], None)
    request = encode_metrics(MetricsData([ResourceMetrics(Resource({}), [scope], None)]))
    return request.resource_metrics[0].scope_metrics[0].metrics[0].exponential_histogram.data_points[0]


@pytest.mark.parametrize("name", _OTLP_DATASETS)
@pytest.mark.parametrize("max_size", [160, 20])
def test_from_otlp_round_trips_sdk_proto_and_json_points(name: str, max_size: int) -> None:
    from google.protobuf.json_format import MessageToDict

    h = ExponentialHistogram(max_size=max_size)
    h.update(DATASETS[name])
    pb = _proto_point(h)
    as_json = json.loads(json.dumps(MessageToDict(pb)))  # 64-bit counts as strings, defaults omitted
    for point in (_otlp_point(h), pb, as_json):
        back = ExponentialHistogram.from_otlp(point, max_size=max_size)
        assert back == h, type(point)  # buckets, scale, counts, min, max and sum, exactly


def test_from_otlp_of_an_empty_sketch_is_empty() -> None:
    assert ExponentialHistogram.from_otlp(_otlp_point(ExponentialHistogram())) == ExponentialHistogram()
    assert ExponentialHistogram.from_otlp({"sum": 0.0}) == ExponentialHistogram()
    assert math.isnan(ExponentialHistogram.from_otlp({}).sum)  # an unset sum is unknown, not 0


def test_merged_decoded_replicas_equal_the_sketch_of_all_data() -> None:
    rng = np.random.default_rng(11)
    parts = [rng.normal(0, 1, 500), rng.lognormal(3, 2, 700), np.zeros(40), -rng.lognormal(-8, 1, 90)]
    decoded = [ExponentialHistogram.from_otlp(_otlp_point(_sketch(p.tolist(), 160))) for p in parts]
    _assert_same(_merged(*decoded), _sketch(np.concatenate(parts).tolist(), 160))


@pytest.mark.parametrize("max_size, max_scale", [(20, 20), (160, 3), (2, 0)])
def test_from_otlp_lowers_the_scale_only_as_far_as_the_limits_require(max_size, max_scale) -> None:
    values = np.concatenate([DATASETS["bimodal"], DATASETS["zero_heavy"]])
    fine = ExponentialHistogram(max_size=160)
    fine.update(values)
    coarse = ExponentialHistogram(max_size=max_size, max_scale=max_scale)
    coarse.update(values)
    back = ExponentialHistogram.from_otlp(_otlp_point(fine), max_size=max_size, max_scale=max_scale)
    _assert_same(back, coarse)  # the state depends on the data only, however it arrived


def test_from_otlp_without_sum_min_max_uses_the_bucket_bounds() -> None:
    from opentelemetry.proto.metrics.v1 import metrics_pb2

    h = ExponentialHistogram(max_size=20)
    h.update(DATASETS["bimodal"])
    pb = _proto_point(h)
    bare = metrics_pb2.ExponentialHistogramDataPoint(
        count=pb.count, scale=pb.scale, zero_count=pb.zero_count, positive=pb.positive, negative=pb.negative
    )
    back = ExponentialHistogram.from_otlp(bare, max_size=20)
    assert math.isnan(back.sum)
    assert back.positive == h.positive and back.negative == h.negative and back.count == h.count
    lower, upper, _ = h.bucket_bounds_and_counts()
    assert (back.min, back.max) == (lower[0], upper[-1])
    assert back.min <= h.min and back.max >= h.max
    np.testing.assert_array_equal(
        back.quantile(np.linspace(0.01, 0.99, 9)), h.quantile(np.linspace(0.01, 0.99, 9))
    )


def test_from_otlp_rejects_scales_below_the_minimum() -> None:
    with pytest.raises(ValueError, match="scale"):
        ExponentialHistogram.from_otlp({"scale": -11, "positive": {"bucketCounts": ["1"]}})


def test_store_bits_bounds_follow_the_occupied_buckets() -> None:
    from mlotel.sketches.mapping import index_of

    store = BucketStore()
    assert store.bits_bounds(3) is None
    store.add_counts(index_of(1.0, 3), np.array([2, 0, 1]))
    low, high = store.bits_bounds(3)
    assert map_to_index(np.array([low], dtype=np.uint64).view(np.float64), 3)[0] == store.offset
    assert map_to_index(np.array([low - 1], dtype=np.uint64).view(np.float64), 3)[0] == store.offset - 1
    top = store.offset + store.counts.size - 1
    assert map_to_index(np.array([high], dtype=np.uint64).view(np.float64), 3)[0] == top
    assert map_to_index(np.array([high + 1], dtype=np.uint64).view(np.float64), 3)[0] == top + 1
    store.add_counts(top + 5, np.array([1]))  # the range grows: the cached bounds follow
    assert store.bits_bounds(3)[1] > high and store.bits_bounds(3)[0] == low


def test_batches_inside_and_outside_the_occupied_range_keep_the_exact_scale() -> None:
    rng = np.random.default_rng(11)
    whole = ExponentialHistogram(max_size=40)
    parts = ExponentialHistogram(max_size=40)
    batches = [rng.lognormal(0, 1, 5000), rng.lognormal(0, 0.5, 5000), rng.lognormal(0, 3, 5000)]
    scales = []
    for batch in batches:
        before = parts.positive.index_range
        parts.update(batch)
        scales.append(parts.scale)
        if len(scales) == 2:  # inside the first batch's buckets: nothing moved
            assert parts.positive.index_range == before
    assert scales[2] < scales[1] == scales[0]  # the wide third batch forced a downscale
    whole.update(np.concatenate(batches))
    assert (parts.scale, parts.positive) == (whole.scale, whole.positive)
    assert parts.positive == _reference_store(np.concatenate(batches), parts.scale)
