"""Mergeable base-2 exponential histogram with the OTLP bucket layout."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from mlotel.sketches._convert import _sum, as_float64, from_json_float, json_float
from mlotel.sketches._kernel import bucket_mixed, bucket_same_sign, bucket_same_sign_zeros
from mlotel.sketches.mapping import (
    MAX_SCALE,
    MIN_SCALE,
    float_bits,
    index_of_bits,
    lower_boundary,
)
from mlotel.sketches.store import BucketStore

__all__ = ["ExponentialHistogram"]

_FORMAT_VERSION = 1
_SIGN_BIT = 1 << 63
# A sum of values below this in magnitude, times their number, cannot overflow.
_SUM_SAFE = 1e307
# Longest piece of a batch sketched in one go (see update()).
_PIECE = 1 << 17
_MIN_NORMAL_BITS = 1 << 52  # bits of 2**-1022


class ExponentialHistogram:
    """OTLP-compatible exponential histogram of finite values.

    Bucket ``i`` of the positive store counts values in ``(base**i, base**(i+1)]``
    with ``base = 2 ** (2 ** -scale)``; the negative store does the same for ``|v|``
    of negative values; ``zero_count`` counts exact zeros (either sign).  The scale
    starts at ``max_scale`` and is lowered only as far as needed for each store to
    span at most ``max_size`` buckets, as in the OpenTelemetry SDK's
    ``ExponentialBucketHistogramAggregation``.  Consequently the state (scale and
    buckets) depends only on the multiset of values seen, so merging is exact,
    associative and commutative (``sum`` up to float rounding).

    NaN and ``None`` are counted in ``missing``; ``+inf``/``-inf`` in ``pos_inf`` /
    ``neg_inf``; none of them enter buckets, ``count``, ``sum``, ``min`` or ``max``.
    ``min``/``max`` are ``+inf``/``-inf`` while ``count == 0``.

    Error guarantee: :meth:`quantile` returns a value within relative error
    :attr:`relative_error` ``= (base - 1) / (base + 1)`` of the exact order statistic
    (for magnitudes >= 2**-1022; all subnormals share one bucket, as in OTel).

    Not thread-safe: callers serialize access.
    """

    __slots__ = (
        "max_size",
        "max_scale",
        "scale",
        "zero_count",
        "positive",
        "negative",
        "count",
        "sum",
        "min",
        "max",
        "missing",
        "pos_inf",
        "neg_inf",
    )

    def __init__(self, max_size: int = 160, max_scale: int = MAX_SCALE) -> None:
        if int(max_size) < 2:
            raise ValueError("max_size must be >= 2")
        if not MIN_SCALE <= int(max_scale) <= MAX_SCALE:
            raise ValueError(f"max_scale must be in [{MIN_SCALE}, {MAX_SCALE}]")
        self.max_size = int(max_size)
        self.max_scale = int(max_scale)
        self.clear()

    # -- state -------------------------------------------------------------------
    def clear(self) -> None:
        self.scale = self.max_scale
        self.zero_count = 0
        self.positive = BucketStore()
        self.negative = BucketStore()
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.missing = 0
        self.pos_inf = 0
        self.neg_inf = 0

    def copy(self) -> ExponentialHistogram:
        new = ExponentialHistogram.__new__(ExponentialHistogram)
        for name in self.__slots__:
            setattr(new, name, getattr(self, name))
        new.positive = self.positive.copy()
        new.negative = self.negative.copy()
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExponentialHistogram):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __repr__(self) -> str:
        return (
            f"ExponentialHistogram(scale={self.scale}, count={self.count}, zero_count={self.zero_count}, "
            f"positive={self.positive!r}, negative={self.negative!r}, min={self.min}, max={self.max})"
        )

    @property
    def relative_error(self) -> float:
        """Quantile relative-error bound at the current scale: ``(base-1)/(base+1)``."""
        base = 2.0 ** (2.0**-self.scale)
        return (base - 1.0) / (base + 1.0)

    @property
    def base(self) -> float:
        return 2.0 ** (2.0**-self.scale)

    # -- updates -----------------------------------------------------------------
    def update(self, values: Any) -> None:
        """Add a batch of values (any real/bool array-like; NaN/None -> ``missing``)."""
        for piece, total, lo, hi in self._finite_pieces(as_float64(values)):
            self._add_finite(piece, total, lo, hi)

    def _finite_pieces(self, x: np.ndarray) -> Iterator[tuple[np.ndarray, float, float, float]]:
        """``(values, sum, min, max)`` of the finite values of ``x``, in pieces; NaN and
        infinities are counted on the way.

        A long batch goes in pieces of at most ``_PIECE`` values, each taken through all
        its passes while it is in the CPU cache; the state after the pieces is the state
        after the whole batch (updates are order-free), ``sum`` up to rounding.
        """
        n = x.size
        step = -(-n // -(-n // _PIECE)) if n > _PIECE else n
        for start in range(0, n, max(step, 1)):
            piece = x[start : start + step]
            # min/max first: they are NaN or infinite exactly when a value is, and they
            # bound the sum, which then needs no overflow guard (a few microseconds).
            lo, hi = float(np.minimum.reduce(piece)), float(np.maximum.reduce(piece))
            if math.isfinite(lo) and math.isfinite(hi) and max(-lo, hi) * piece.size < _SUM_SAFE:
                yield piece, float(np.add.reduce(piece)), lo, hi
                continue
            total = _sum(piece)
            if not math.isfinite(total):
                piece = self._take_non_finite(piece)
                if piece.size == 0:
                    continue
                total = _sum(piece)
            yield piece, total, float(np.minimum.reduce(piece)), float(np.maximum.reduce(piece))

    def _take_non_finite(self, x: np.ndarray) -> np.ndarray:
        """Count NaN/inf in ``x``; return the finite values."""
        finite = np.isfinite(x)
        n_finite = int(np.count_nonzero(finite))
        if n_finite == x.size:  # the sum merely overflowed
            return x
        n_nan = int(np.count_nonzero(np.isnan(x)))
        n_pos = int(np.count_nonzero(x == math.inf))
        self.missing += n_nan
        self.pos_inf += n_pos
        self.neg_inf += x.size - n_finite - n_nan - n_pos
        return x[finite]

    def _add_finite(self, x: np.ndarray, total: float, lo: float, hi: float) -> None:
        """Add finite float64 values with precomputed ``sum``, ``min`` and ``max``."""
        n = x.size
        if lo > 0.0 or hi < 0.0:  # one sign, no zeros: the common fast path
            negative = hi < 0.0
            bits = (float_bits(-hi), float_bits(-lo)) if negative else (float_bits(lo), float_bits(hi))
            scale = self._fit_scale(None if negative else bits, bits if negative else None)
            self._rescale(scale)
            store = self.negative if negative else self.positive
            store.add_counts(*bucket_same_sign(x, negative, *bits, scale))
        elif lo == 0.0 and hi == 0.0:
            self.zero_count += n
        elif self._add_unfiltered(x, lo, hi):
            pass
        else:
            # Mostly zeros, or a rare case the kernels decline.  One O(n) partition
            # separates the signs (cheaper than two gathers); zeros, when present, are
            # dropped with flatnonzero+take, which beats boolean-mask indexing ~5x on
            # unpredictable masks.
            pos = neg = None
            if lo < 0.0 and hi > 0.0:
                k = int(np.count_nonzero(x < 0.0))
                y = np.partition(x, k)
                neg, rest = y[:k], y[k:]
            elif lo < 0.0:
                neg, rest = x.take(np.flatnonzero(x < 0.0)), x[:0]
            else:
                rest = x
            pos_bits = None
            if hi > 0.0:
                pos_lo = float(rest.min())
                if pos_lo > 0.0:
                    pos = rest
                else:
                    pos = rest.take(np.flatnonzero(rest > 0.0))
                    pos_lo = float(pos.min())
                pos_bits = (float_bits(pos_lo), float_bits(hi))
            neg_bits = None if neg is None else (float_bits(-float(neg.max())), float_bits(-lo))
            scale = self._fit_scale(pos_bits, neg_bits)
            self._rescale(scale)
            if pos is not None:
                self.positive.add_counts(*bucket_same_sign(pos, False, *pos_bits, scale))
            if neg is not None:
                self.negative.add_counts(*bucket_same_sign(neg, True, *neg_bits, scale))
            self.zero_count += n - (0 if pos is None else pos.size) - (0 if neg is None else neg.size)
        self.count += n
        self.sum += total
        if lo < self.min:
            self.min = lo
        if hi > self.max:
            self.max = hi

    def _add_unfiltered(self, x: np.ndarray, lo: float, hi: float) -> bool:
        """Bucket ``x`` (both signs, or one sign plus zeros) in one key pass."""
        if lo < 0.0 < hi:
            return self._add_mixed(x, lo, hi)
        return not _mostly_zeros(x) and self._add_with_zeros(x, lo, hi)

    def _add_with_zeros(self, x: np.ndarray, lo: float, hi: float) -> bool:
        """Bucket ``x`` (one sign plus zeros, ``lo == 0 < hi`` or ``lo < 0 == hi``)
        without filtering the zeros; ``False`` (nothing changed) if the kernel declines."""
        negative = hi == 0.0
        # In bits - 1 zeros wrap out of the way (see _add_mixed).
        minus_one = np.subtract(x.view(np.uint64), np.uint64(1))
        if negative:
            low = int(np.minimum.reduce(minus_one.view(np.int64))) + _SIGN_BIT + 1
            bits = (low, float_bits(-lo))
        else:
            bits = (int(np.minimum.reduce(minus_one)) + 1, float_bits(hi))
        scale = self._fit_scale(None if negative else bits, bits if negative else None)
        out = bucket_same_sign_zeros(x, negative, *bits, scale, minus_one)
        if out is None:
            return False
        self._rescale(scale)
        (self.negative if negative else self.positive).add_counts(*out[0])
        self.zero_count += out[1]
        return True

    def _add_mixed(self, x: np.ndarray, lo: float, hi: float) -> bool:
        """Bucket ``x`` (both signs, ``lo < 0 < hi``, maybe zeros) without separating
        the signs; ``False`` (nothing changed) in the rare cases the kernel declines."""
        bits = x.view(np.uint64)
        # As unsigned ints the smallest bits are the smallest positive magnitude, as
        # signed ints the smallest are 2**63 below the smallest negative magnitude;
        # +0.0 / -0.0 show up as 0 in either.  In bits - 1 zeros wrap out of the way.
        pos_lo = int(np.minimum.reduce(bits))
        neg_lo = int(np.minimum.reduce(bits.view(np.int64))) + _SIGN_BIT
        minus_one = None
        if pos_lo == 0 or neg_lo == 0:
            minus_one = np.subtract(bits, np.uint64(1))
            pos_lo = int(np.minimum.reduce(minus_one)) + 1
            neg_lo = int(np.minimum.reduce(minus_one.view(np.int64))) + _SIGN_BIT + 1
        if self.scale > 0 and min(pos_lo, neg_lo) < _MIN_NORMAL_BITS:
            return False  # subnormals: the sign-split path clamps them
        pos_bits, neg_bits = (pos_lo, float_bits(hi)), (neg_lo, float_bits(-lo))
        scale = self._fit_scale(pos_bits, neg_bits)
        counts = bucket_mixed(x, pos_bits, neg_bits, scale, minus_one)
        if counts is None:
            return False
        self._rescale(scale)
        self.positive.add_counts(*counts[0])
        self.negative.add_counts(*counts[1])
        self.zero_count += counts[2]
        return True

    def _fit_scale(self, pos_bits: tuple[int, int] | None, neg_bits: tuple[int, int] | None) -> int:
        """Largest scale <= current at which state plus the new magnitudes fit."""
        scale = self.scale
        if (
            (pos_bits or neg_bits)
            and _within(self.positive, pos_bits, scale)
            and _within(self.negative, neg_bits, scale)
        ):
            return scale  # the usual case: no occupied range grows (the state fits already)
        ranges = []
        for store, bits in ((self.positive, pos_bits), (self.negative, neg_bits)):
            lo_hi = store.index_range
            if bits is not None:
                new = (index_of_bits(bits[0], scale), index_of_bits(bits[1], scale))
                lo_hi = new if lo_hi is None else (min(lo_hi[0], new[0]), max(lo_hi[1], new[1]))
            if lo_hi is not None:
                ranges.append(lo_hi)
        return scale - _downscale_needed(ranges, self.max_size)

    def _rescale(self, scale: int) -> None:
        if scale < self.scale:
            self.positive.downscale(self.scale - scale)
            self.negative.downscale(self.scale - scale)
            self.scale = scale

    def merge(self, other: ExponentialHistogram) -> None:
        """Add ``other`` into ``self`` (exact at any pair of scales; ``other`` unchanged)."""
        if not isinstance(other, ExponentialHistogram):
            raise TypeError(f"cannot merge {type(other).__name__} into ExponentialHistogram")
        if not (other.positive.is_empty() and other.negative.is_empty()):
            scale = min(self.scale, other.scale)
            k = [self.scale - scale, other.scale - scale]
            ranges = []
            for mine, theirs in ((self.positive, other.positive), (self.negative, other.negative)):
                spans = [
                    (r[0] >> d, r[1] >> d)
                    for r, d in ((mine.index_range, k[0]), (theirs.index_range, k[1]))
                    if r is not None
                ]
                if spans:
                    ranges.append((min(s[0] for s in spans), max(s[1] for s in spans)))
            scale -= _downscale_needed(ranges, self.max_size)
            self._rescale(scale)
            for mine, theirs in ((self.positive, other.positive), (self.negative, other.negative)):
                if not theirs.is_empty():
                    theirs = theirs.copy()
                    theirs.downscale(other.scale - scale)
                    mine.merge(theirs)
        self.zero_count += other.zero_count
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.missing += other.missing
        self.pos_inf += other.pos_inf
        self.neg_inf += other.neg_inf

    # -- estimates -----------------------------------------------------------------
    def bucket_bounds_and_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lower, upper, counts)`` of every bucket in ascending value order:
        negative buckets ``[-base**(i+1), -base**i)``, the zero bucket ``[0, 0]`` (only
        when ``zero_count > 0``), then positive buckets ``(base**i, base**(i+1)]``."""
        lowers, uppers, counts = [], [], []
        neg = self.negative
        if not neg.is_empty():
            idx = np.arange(neg.offset + neg.counts.size - 1, neg.offset - 1, -1)
            lowers.append(-lower_boundary(idx + 1, self.scale))
            uppers.append(-lower_boundary(idx, self.scale))
            counts.append(neg.counts[::-1])
        if self.zero_count:
            lowers.append(np.zeros(1))
            uppers.append(np.zeros(1))
            counts.append(np.array([self.zero_count], dtype=np.int64))
        pos = self.positive
        if not pos.is_empty():
            idx = np.arange(pos.offset, pos.offset + pos.counts.size)
            lowers.append(lower_boundary(idx, self.scale))
            uppers.append(lower_boundary(idx + 1, self.scale))
            counts.append(pos.counts)
        if not counts:
            empty = np.zeros(0)
            return empty, empty.copy(), np.zeros(0, dtype=np.int64)
        with np.errstate(over="ignore"):
            return np.concatenate(lowers), np.concatenate(uppers), np.concatenate(counts)

    def quantile(self, q: float | np.ndarray) -> float | np.ndarray:
        """Estimate of the order statistic ``x[floor(q * (count - 1))]`` of the finite
        values (numpy ``method="lower"``), within :attr:`relative_error` of it (exact for
        ``q = 0`` and ``q = 1``).

        Each bucket is represented by the point ``2*L*U/(L+U)`` that minimizes the
        worst relative error over ``(L, U]``; the result is clamped to ``[min, max]``.
        NaN when the histogram holds no finite values.
        """
        qs = np.asarray(q, dtype=np.float64)
        if np.any((qs < 0) | (qs > 1)):
            raise ValueError("quantile levels must be in [0, 1]")
        if self.count == 0:
            out = np.full(qs.shape, math.nan)
        else:
            lower, upper, counts = self.bucket_bounds_and_counts()
            with np.errstate(over="ignore", invalid="ignore"):
                factor = 2.0 * self.base / (1.0 + self.base)
                mag = np.minimum(np.abs(lower), np.abs(upper))  # base**i of the bucket
                rep = np.where(lower < 0, -mag * factor, mag * factor)
                rep = np.where((lower == 0) & (upper == 0), 0.0, rep)
            cum = np.cumsum(counts)
            rank = np.floor(qs * (self.count - 1)).astype(np.int64)
            pos = np.searchsorted(cum, rank, side="right")
            out = np.clip(rep[pos], self.min, self.max)
            # The extreme order statistics are known exactly.
            out = np.where(rank <= 0, self.min, np.where(rank >= self.count - 1, self.max, out))
        return float(out) if out.ndim == 0 else out

    def cdf(self, x: float | np.ndarray) -> float | np.ndarray:
        """Estimate of ``P(X <= x)`` over the finite values.

        Guarantee: for ``x > 0`` the result lies in ``[F(x / base), F(x * base)]`` and
        for ``x < 0`` in ``[F(x * base), F(x / base)]`` where ``F`` is the exact empirical
        CDF; at ``x == 0`` it is exact.  Inside the bucket holding ``x`` the mass is
        interpolated log-linearly.
        """
        xs = np.asarray(x, dtype=np.float64)
        if self.count == 0:
            out = np.full(xs.shape, math.nan)
            return float(out) if out.ndim == 0 else out
        lower, upper, counts = self.bucket_bounds_and_counts()
        cum = np.concatenate(([0], np.cumsum(counts)))
        flat = xs.ravel()
        # Bucket holding each x: buckets are (L, U] for positives, [L, U) for negatives.
        pos_side = np.searchsorted(upper, flat, side="left")
        neg_side = np.searchsorted(upper, flat, side="right")
        b = np.where(flat > 0, pos_side, neg_side)
        b = np.minimum(b, counts.size - 1)
        lo_b, up_b = lower[b], upper[b]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_base = math.log(self.base)
            frac_pos = np.log(flat / lo_b) / log_base
            frac_neg = np.log(lo_b / flat) / log_base
            frac = np.where(flat > 0, frac_pos, frac_neg)
        frac = np.where((lo_b == 0) & (up_b == 0), 1.0, frac)
        frac = np.clip(np.nan_to_num(frac, nan=1.0), 0.0, 1.0)
        inside = (flat >= lo_b) & (flat <= up_b)
        below = cum[b] + np.where(inside, frac * counts[b], np.where(flat > up_b, counts[b], 0))
        est = below / self.count
        est = np.where(flat < self.min, 0.0, np.where(flat >= self.max, 1.0, est))
        out = est.reshape(xs.shape)
        return float(out) if out.ndim == 0 else out

    # -- serialization -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, versioned representation (non-finite floats as strings)."""
        return {
            "version": _FORMAT_VERSION,
            "max_size": self.max_size,
            "max_scale": self.max_scale,
            "scale": self.scale,
            "zero_count": self.zero_count,
            "positive": {"offset": self.positive.offset, "counts": self.positive.counts.tolist()},
            "negative": {"offset": self.negative.offset, "counts": self.negative.counts.tolist()},
            "count": self.count,
            "sum": json_float(self.sum),
            "min": json_float(self.min),
            "max": json_float(self.max),
            "missing": self.missing,
            "pos_inf": self.pos_inf,
            "neg_inf": self.neg_inf,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExponentialHistogram:
        version = d.get("version")
        if version != _FORMAT_VERSION:
            raise ValueError(f"unsupported ExponentialHistogram format version {version!r}")
        h = cls(max_size=d["max_size"], max_scale=d["max_scale"])
        h.scale = int(d["scale"])
        if not MIN_SCALE <= h.scale <= h.max_scale:
            raise ValueError(f"scale {h.scale} out of range")
        h.zero_count = int(d["zero_count"])
        h.positive = BucketStore(d["positive"]["offset"], d["positive"]["counts"])
        h.negative = BucketStore(d["negative"]["offset"], d["negative"]["counts"])
        if max(len(h.positive), len(h.negative)) > h.max_size:
            raise ValueError("bucket store larger than max_size")
        h.count = int(d["count"])
        h.sum = from_json_float(d["sum"])
        h.min = from_json_float(d["min"])
        h.max = from_json_float(d["max"])
        h.missing = int(d["missing"])
        h.pos_inf = int(d["pos_inf"])
        h.neg_inf = int(d["neg_inf"])
        return h

    @classmethod
    def from_otlp(
        cls, point: Any, *, max_size: int = 160, max_scale: int = MAX_SCALE
    ) -> ExponentialHistogram:
        """Rebuild a sketch from an OTLP exponential-histogram data point.

        ``point`` is the OTel SDK's ``ExponentialHistogramDataPoint``, the protobuf
        ``ExponentialHistogramDataPoint`` or its OTLP/JSON object (a dict, camelCase or
        snake_case keys, 64-bit integers as strings or numbers, omitted fields at their
        defaults).  The buckets are taken at the point's scale, lowered only as far as
        ``max_scale`` and ``max_size`` require, so for points exported from sketches with
        the same ``max_size``/``max_scale`` the result equals the exporting sketch (``sum``
        included) and merging decoded points of several replicas gives exactly the sketch
        of all their data.  A point without buckets says nothing about scale: the sketch
        keeps ``max_scale``, as a fresh one does.

        ``count`` is recomputed from the buckets (the sketch's invariant); ``zero_threshold``
        is ignored (the zero bucket is taken as exact zeros).  An unset ``sum`` becomes NaN;
        an unset ``min``/``max`` becomes the outer bound of the outermost occupied bucket
        (0 for the zero bucket), so estimates stay within the buckets' resolution.

        Example::

            >>> from mlotel.export._aggregates import exponential_point
            >>> h = ExponentialHistogram()
            >>> h.update([0.5, 1.0, 3.0])
            >>> ExponentialHistogram.from_otlp(exponential_point({}, h, 0, 0)) == h
            True

        Raises:
            ValueError: the point's scale is below ``MIN_SCALE``.
        """
        scale, zero_count, stores, total, lo, hi = _otlp_fields(point)
        h = cls(max_size=max_size, max_scale=max_scale)
        if scale < MIN_SCALE:
            raise ValueError(f"scale {scale} below the minimum {MIN_SCALE}")
        h.positive, h.negative = (BucketStore(offset, counts) for offset, counts in stores)
        if not (h.positive.is_empty() and h.negative.is_empty()):  # else the scale means nothing
            h.scale = scale
            h._rescale(min(scale, h.max_scale))
        h._rescale(h._fit_scale(None, None))
        h.zero_count = zero_count
        h.count = zero_count + h.positive.total + h.negative.total
        h.sum = total
        if h.count:
            lower, upper, _ = h.bucket_bounds_and_counts()
            h.min = float(lower[0]) if lo is None else lo
            h.max = float(upper[-1]) if hi is None else hi
        return h


def _mostly_zeros(x: np.ndarray) -> bool:
    """Whether a sample of ``x`` is over 1/4 zeros.  Then filtering the zeros out is
    faster than counting them on one bincount slot, where each increment waits for
    the previous one."""
    sample = x[:: max(1, x.size >> 10)]
    return 4 * int(np.count_nonzero(sample == 0.0)) > sample.size


def _within(store: BucketStore, bits: tuple[int, int] | None, scale: int) -> bool:
    """Whether magnitudes with IEEE bits in ``bits`` all map into ``store``'s occupied
    buckets at ``scale`` (trivially, when there are none)."""
    if bits is None:
        return True
    bounds = store.bits_bounds(scale)
    return bounds is not None and bounds[0] <= bits[0] and bits[1] <= bounds[1]


def _downscale_needed(ranges: list[tuple[int, int]], max_size: int) -> int:
    """Smallest ``k`` with every ``(lo >> k, hi >> k)`` spanning <= ``max_size`` buckets."""
    k = 0
    for lo, hi in ranges:
        while (hi >> k) - (lo >> k) + 1 > max_size:
            k += 1
    return k


def _otlp_fields(
    point: Any,
) -> tuple[int, int, list[tuple[int, list[int]]], float, float | None, float | None]:
    """``(scale, zero_count, [(offset, counts)] * 2, sum, min, max)`` of an OTLP point;
    ``min``/``max`` are None when the point leaves them unset."""
    if isinstance(point, dict):  # OTLP/JSON: camelCase (or snake_case) keys, defaults omitted
        stores = []
        for side in ("positive", "negative"):
            b = point.get(side) or {}
            counts = b.get("bucketCounts", b.get("bucket_counts", []))
            stores.append((int(b.get("offset", 0)), [int(c) for c in counts]))
        opt = {k: (None if point.get(k) is None else float(point[k])) for k in ("sum", "min", "max")}
        scale, zero_count = (
            int(point.get("scale", 0)),
            int(point.get("zeroCount", point.get("zero_count", 0))),
        )
    else:
        opt = {k: float(getattr(point, k)) if _is_set(point, k) else None for k in ("sum", "min", "max")}
        stores = [
            (int(b.offset), [int(c) for c in b.bucket_counts]) for b in (point.positive, point.negative)
        ]
        scale, zero_count = int(point.scale), int(point.zero_count)
    total = math.nan if opt["sum"] is None else opt["sum"]
    return scale, zero_count, stores, total, opt["min"], opt["max"]


def _is_set(message: Any, name: str) -> bool:
    """False only for a protobuf ``optional`` field left unset (SDK points set every field)."""
    has_field = getattr(message, "HasField", None)
    if has_field is None:
        return True
    try:
        return bool(has_field(name))
    except ValueError:  # not an optional field in this proto version: always present
        return True
