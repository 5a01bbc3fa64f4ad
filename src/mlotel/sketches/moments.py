"""Streaming count / mean / variance / min / max with exact parallel merging."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlotel.sketches._convert import _sum, as_float64, from_json_float, json_float

__all__ = ["Moments"]

_FORMAT_VERSION = 1


class Moments:
    """Count, mean, ``m2`` (sum of squared deviations), min and max of finite values.

    A batch is reduced with a two-pass mean/deviation computation and folded in with
    Chan et al.'s pairwise update, which is numerically stable (no ``sum(x**2)``
    cancellation) and order-independent up to float rounding.  Non-finite inputs
    (NaN, None, +-inf) are ignored.  ``variance`` is the population variance
    (``ddof=0``, as ``numpy.var``); ``sample_variance`` uses ``ddof=1``.
    """

    __slots__ = ("count", "mean", "m2", "min", "max")

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.min = math.inf
        self.max = -math.inf

    def copy(self) -> Moments:
        new = Moments.__new__(Moments)
        new.count, new.mean, new.m2, new.min, new.max = self.count, self.mean, self.m2, self.min, self.max
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Moments):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__)

    def __repr__(self) -> str:
        return f"Moments(count={self.count}, mean={self.mean}, variance={self.variance}, min={self.min}, max={self.max})"

    @property
    def variance(self) -> float:
        return self.m2 / self.count if self.count else math.nan

    @property
    def sample_variance(self) -> float:
        return self.m2 / (self.count - 1) if self.count > 1 else math.nan

    @property
    def std(self) -> float:
        return math.sqrt(self.variance) if self.count else math.nan

    def update(self, values: Any) -> None:
        x = as_float64(values)
        if x.size == 0:
            return
        total = _sum(x)
        if not math.isfinite(total):
            x = x[np.isfinite(x)]
            if x.size == 0:
                return
            total = _sum(x)
        self._add_finite(x, total, float(x.min()), float(x.max()))

    def _add_finite(self, x: np.ndarray, total: float, lo: float, hi: float) -> None:
        """Fold in finite float64 values whose sum/min/max are already known."""
        n = x.size
        mean = total / n
        if not math.isfinite(mean):  # the sum overflowed: fall back to a scaled mean
            mean = float(np.mean(x / n)) * n if n else 0.0
        dev = x - mean
        # Two-pass: deviations from the (pairwise-summed) batch mean; einsum rather than
        # BLAS dot, which wakes threads.  The mean's rounding adds n * (mean error)**2,
        # negligible (relative eps**2 * (mean / std)**2).
        m2 = float(np.einsum("i,i->", dev, dev))
        self._combine(n, mean, m2, lo, hi)

    def _combine(self, n: int, mean: float, m2: float, lo: float, hi: float) -> None:
        if n == 0:
            return
        if self.count == 0:
            self.count, self.mean, self.m2 = n, mean, m2
        else:
            total = self.count + n
            delta = mean - self.mean
            self.mean += delta * (n / total)
            self.m2 += m2 + delta * delta * (self.count * (n / total))
            self.count = total
        if lo < self.min:
            self.min = lo
        if hi > self.max:
            self.max = hi

    def merge(self, other: Moments) -> None:
        if not isinstance(other, Moments):
            raise TypeError(f"cannot merge {type(other).__name__} into Moments")
        self._combine(other.count, other.mean, other.m2, other.min, other.max)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": _FORMAT_VERSION,
            "count": self.count,
            "mean": json_float(self.mean),
            "m2": json_float(self.m2),
            "min": json_float(self.min),
            "max": json_float(self.max),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Moments:
        if d.get("version") != _FORMAT_VERSION:
            raise ValueError(f"unsupported Moments format version {d.get('version')!r}")
        m = cls()
        m.count = int(d["count"])
        m.mean = from_json_float(d["mean"])
        m.m2 = from_json_float(d["m2"])
        m.min = from_json_float(d["min"])
        m.max = from_json_float(d["max"])
        return m
