"""The bucket mapping against the OTel SDK's own mappings and exact rational arithmetic."""

from __future__ import annotations

import math
import sys
from decimal import Context, Decimal
from fractions import Fraction

import numpy as np
import pytest
from opentelemetry.sdk.metrics._internal.exponential_histogram.mapping.exponent_mapping import (
    ExponentMapping,
)
from opentelemetry.sdk.metrics._internal.exponential_histogram.mapping.logarithm_mapping import (
    LogarithmMapping,
)

from mlotel.sketches import MAX_SCALE, MIN_SCALE, lower_boundary, map_to_index
from mlotel.sketches.mapping import index_of

ALL_SCALES = list(range(MIN_SCALE, MAX_SCALE + 1))


def _sdk_mapping(scale: int):
    return ExponentMapping(scale) if scale <= 0 else LogarithmMapping(scale)


def _probe_values() -> tuple[np.ndarray, np.ndarray]:
    """(values the SDK maps exactly, values hugging powers of two)."""
    rng = np.random.default_rng(20240611)
    tiny = sys.float_info.min
    powers = np.ldexp(1.0, np.arange(-1074, 1024))
    specials = np.array(
        [
            5e-324,
            tiny,
            np.nextafter(tiny, 0),
            np.nextafter(tiny, 1),
            sys.float_info.max,
            np.nextafter(sys.float_info.max, 0),
            1.0,
            1.5,
            math.pi,
            1e-300,
            1e300,
        ]
    )
    subnormals = rng.integers(1, 1 << 52, 200, dtype=np.int64).view(np.float64)
    randoms = np.concatenate(
        [
            rng.lognormal(0, 1, 500),
            rng.lognormal(0, 40, 500),
            rng.uniform(0, 1, 300),
            np.exp(rng.uniform(-700, 700, 300)),
            rng.integers(1, 1 << 62, 500, dtype=np.int64).view(np.float64),  # any bit pattern
        ]
    )
    values = np.concatenate([powers, specials, subnormals, randoms])
    normal_powers = powers[powers >= tiny]
    near = np.concatenate([np.nextafter(normal_powers, np.inf), np.nextafter(normal_powers[1:], 0)])

    def keep(v: np.ndarray) -> np.ndarray:
        return v[np.isfinite(v) & (v > 0)]

    return keep(values), keep(near)


PROBES, NEAR_POWERS = _probe_values()
_LN2 = Decimal(2).ln(Context(prec=90))


def _is_exact(value: float, index: int, scale: int) -> bool:
    """base**index < value <= base**(index + 1), decided with 90-digit logarithms."""
    ctx = Context(prec=90)
    ln_v = Decimal(value).ln(ctx)
    unit = ctx.divide(_LN2, Decimal(2) ** scale)
    return ctx.multiply(Decimal(index), unit) < ln_v <= ctx.multiply(Decimal(index + 1), unit)


@pytest.mark.parametrize("scale", ALL_SCALES)
def test_map_to_index_matches_otel_sdk(scale: int) -> None:
    sdk = _sdk_mapping(scale)
    expected = np.array([sdk.map_to_index(float(v)) for v in PROBES], dtype=np.int64)
    got = map_to_index(PROBES, scale)
    assert got.dtype == np.int64
    mismatch = np.flatnonzero(got != expected)
    assert mismatch.size == 0, (PROBES[mismatch[:5]], got[mismatch[:5]], expected[mismatch[:5]])


@pytest.mark.parametrize("scale", ALL_SCALES)
def test_neighbours_of_powers_of_two_are_exact(scale: int) -> None:
    # The SDK's LogarithmMapping computes floor(log(v) * 2**s / ln 2) and so misplaces
    # many doubles one ulp above a power of two; we must give the exact index, and
    # differ from the SDK only there, by one bucket.
    sdk = _sdk_mapping(scale)
    got = map_to_index(NEAR_POWERS, scale)
    expected = np.array([sdk.map_to_index(float(v)) for v in NEAR_POWERS], dtype=np.int64)
    mismatch = np.flatnonzero(got != expected)
    if scale <= 0:
        assert mismatch.size == 0
    assert np.all(np.abs(got[mismatch] - expected[mismatch]) == 1)
    checked = np.concatenate([mismatch[:: max(1, mismatch.size // 40)], np.arange(0, NEAR_POWERS.size, 97)])
    for pos in checked.tolist():
        assert _is_exact(float(NEAR_POWERS[pos]), int(got[pos]), scale), NEAR_POWERS[pos]


@pytest.mark.parametrize("scale", [-10, -3, 0, 1, 7, 13, 20])
def test_scalar_index_matches_vectorized(scale: int) -> None:
    sample = PROBES[::7]
    assert [index_of(float(v), scale) for v in sample] == map_to_index(sample, scale).tolist()


def _exact_index(value: float, scale: int) -> int:
    """ceil(log_base(v)) - 1 with exact rational arithmetic (small positive scales)."""
    v = Fraction(value) ** (1 << scale)  # v > base**i  <=>  v**(2**s) > 2**i
    i = math.floor(math.log2(value) * (1 << scale)) - 2
    while Fraction(2) ** (i + 1) < v:
        i += 1
    return i


@pytest.mark.parametrize("scale", [1, 2, 3, 4, 5])
def test_exact_at_bucket_boundaries(scale: int) -> None:
    # Doubles hugging each boundary base**k in a few octaves: a log()-based mapping
    # gets some of these wrong; ours must match exact rational arithmetic.
    idx = np.arange(-3 << scale, 3 << scale)
    near = lower_boundary(idx, scale)
    values = np.concatenate([near, np.nextafter(near, 0), np.nextafter(near, np.inf)])
    values = np.concatenate([values, np.nextafter(values, 0), np.nextafter(values, np.inf)])
    got = map_to_index(values, scale)
    expected = [_exact_index(float(v), scale) for v in values]
    assert got.tolist() == expected


@pytest.mark.parametrize("scale", ALL_SCALES)
def test_lower_boundary(scale: int) -> None:
    idx = np.array([-(1 << max(scale, 0)) * 5, -1, 0, 1, 7, (1 << max(scale, 0)) * 3 + 1])
    if scale < 0:
        idx = idx >> -scale
    got = lower_boundary(idx, scale)
    exact = [2.0 ** (int(i) * 2.0**-scale) for i in idx]
    np.testing.assert_allclose(got, exact, rtol=4e-16)
    assert lower_boundary(0, scale) == 1.0
    # A value just above a boundary maps into the bucket that boundary opens.
    for i in idx.tolist():
        b = lower_boundary(i, scale)
        assert map_to_index(np.array([np.nextafter(b, np.inf) * (1 + 1e-12)]), scale)[0] == i


def test_scale_range_is_checked() -> None:
    with pytest.raises(ValueError):
        map_to_index(np.array([1.0]), 21)
    with pytest.raises(ValueError):
        lower_boundary(0, -11)


@pytest.mark.parametrize("scale", [-10, -3, 0, 1, 3, 7, 12, 20])
def test_lowest_bits_is_the_start_of_each_bucket(scale: int) -> None:
    from mlotel.sketches.mapping import _subnormal_index, index_of_bits, lowest_bits

    first = _subnormal_index(scale)
    last = index_of_bits(0x7FEFFFFFFFFFFFFF, scale)  # the largest double's bucket
    rng = np.random.default_rng(scale + 40)
    indices = [first, first + 1, last, last - 1, 0, 1, -1, *rng.integers(first, last + 1, 200).tolist()]
    for index in indices:
        bits = lowest_bits(index, scale)
        if index <= first:
            assert bits == 1  # every positive double maps at or above it
        elif index > last:
            assert bits > 0x7FEFFFFFFFFFFFFF  # no finite double does
        else:
            assert index_of_bits(bits, scale) == index
            assert index_of_bits(bits - 1, scale) == index - 1
