"""Per-feature profiles: the sketches kept for one numeric or categorical feature."""

from __future__ import annotations

from typing import Any

import numpy as np

from mlotel.sketches._convert import as_float64
from mlotel.sketches.exponential import ExponentialHistogram
from mlotel.sketches.frequent import FrequentItems
from mlotel.sketches.moments import Moments

__all__ = ["NumericProfile", "CategoricalProfile"]

_FORMAT_VERSION = 1
# Numeric batches at most this long are appended to a small pending buffer (a plain
# list extend) and sketched together once it holds `buffer_size` values or state is
# read: per-call numpy overhead dwarfs the work for single rows.
_SMALL_BATCH = 16


class NumericProfile:
    """Exponential histogram + moments of one numeric feature.

    ``count`` is every value seen (finite, +-inf and missing), ``missing`` the NaN /
    ``None`` values.  Finite values feed both :attr:`histogram` and :attr:`moments`;
    infinities are counted in ``histogram.pos_inf`` / ``neg_inf``.

    Tiny batches (<= 16 values) are buffered, up to ``buffer_size`` (512) values, and
    sketched in one vectorized pass when the buffer fills or when any state is read
    (``histogram``, ``moments``, ``count``, ``merge``, ``to_dict``...), so memory stays
    bounded and results are identical to unbuffered updates (sums up to rounding).
    Not thread-safe: callers serialize access.
    """

    __slots__ = ("_histogram", "_moments", "_pending", "buffer_size")

    def __init__(self, max_size: int = 160, max_scale: int = 20, buffer_size: int = 512) -> None:
        self._histogram = ExponentialHistogram(max_size=max_size, max_scale=max_scale)
        self._moments = Moments()
        self._pending: list[Any] = []
        self.buffer_size = int(buffer_size)

    # -- state -------------------------------------------------------------------
    @property
    def histogram(self) -> ExponentialHistogram:
        if self._pending:
            self.flush()
        return self._histogram

    @property
    def moments(self) -> Moments:
        if self._pending:
            self.flush()
        return self._moments

    @property
    def missing(self) -> int:
        return self.histogram.missing

    @property
    def count(self) -> int:
        h = self.histogram
        return h.count + h.missing + h.pos_inf + h.neg_inf

    def clear(self) -> None:
        self._histogram.clear()
        self._moments.clear()
        self._pending = []

    def copy(self) -> NumericProfile:
        self.flush()
        new = NumericProfile.__new__(NumericProfile)
        new._histogram = self._histogram.copy()
        new._moments = self._moments.copy()
        new._pending = []
        new.buffer_size = self.buffer_size
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NumericProfile):
            return NotImplemented
        return self.histogram == other.histogram and self.moments == other.moments

    def __repr__(self) -> str:
        return f"NumericProfile(count={self.count}, missing={self.missing}, moments={self.moments!r})"

    # -- updates -----------------------------------------------------------------
    def update(self, values: Any) -> None:
        """Add a batch of numeric values (bool/int/float; NaN/None -> missing)."""
        # Hot path for per-request rows: a few attribute reads and one list extend.
        if type(values) is np.ndarray and values.size <= _SMALL_BATCH and values.dtype.kind in "biuf":
            pending = self._pending
            pending += values.tolist() if values.ndim == 1 else values.ravel().tolist()
            if len(pending) >= self.buffer_size:
                self.flush()
            return
        self._update_array(as_float64(values))

    def flush(self) -> None:
        """Sketch any buffered values now."""
        if self._pending:
            x = np.array(self._pending, dtype=np.float64)
            self._pending = []
            self._update_array(x)

    def _update_array(self, x: np.ndarray) -> None:
        for piece, total, lo, hi in self._histogram._finite_pieces(x):
            self._histogram._add_finite(piece, total, lo, hi)
            self._moments._add_finite(piece, total, lo, hi)

    def merge(self, other: NumericProfile) -> None:
        if not isinstance(other, NumericProfile):
            raise TypeError(f"cannot merge {type(other).__name__} into NumericProfile")
        self.flush()
        self._histogram.merge(other.histogram)
        self._moments.merge(other.moments)

    # -- serialization -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": _FORMAT_VERSION,
            "type": "numeric",
            "count": self.count,
            "missing": self.missing,
            "histogram": self.histogram.to_dict(),
            "moments": self.moments.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NumericProfile:
        if d.get("version") != _FORMAT_VERSION or d.get("type") != "numeric":
            raise ValueError("not a version-1 numeric profile")
        p = cls()
        p._histogram = ExponentialHistogram.from_dict(d["histogram"])
        p._moments = Moments.from_dict(d["moments"])
        return p


class CategoricalProfile:
    """Frequent items of one categorical feature.

    ``count`` is every value seen, ``missing`` the ``None``/NaN ones; the rest are in
    :attr:`frequent` (top ``k`` keys plus ``__other__``).
    """

    __slots__ = ("frequent",)

    def __init__(self, k: int = 32, max_key_length: int = 128) -> None:
        self.frequent = FrequentItems(k=k, max_key_length=max_key_length)

    @property
    def count(self) -> int:
        return self.frequent.total + self.frequent.missing

    @property
    def missing(self) -> int:
        return self.frequent.missing

    def clear(self) -> None:
        self.frequent.clear()

    def copy(self) -> CategoricalProfile:
        new = CategoricalProfile.__new__(CategoricalProfile)
        new.frequent = self.frequent.copy()
        return new

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CategoricalProfile):
            return NotImplemented
        return self.frequent == other.frequent

    def __repr__(self) -> str:
        return (
            f"CategoricalProfile(count={self.count}, missing={self.missing}, items={self.frequent.items()})"
        )

    def update(self, values: Any) -> None:
        self.frequent.update(values)

    def merge(self, other: CategoricalProfile) -> None:
        if not isinstance(other, CategoricalProfile):
            raise TypeError(f"cannot merge {type(other).__name__} into CategoricalProfile")
        self.frequent.merge(other.frequent)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": _FORMAT_VERSION,
            "type": "categorical",
            "count": self.count,
            "missing": self.missing,
            "frequent": self.frequent.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CategoricalProfile:
        if d.get("version") != _FORMAT_VERSION or d.get("type") != "categorical":
            raise ValueError("not a version-1 categorical profile")
        p = cls()
        p.frequent = FrequentItems.from_dict(d["frequent"])
        return p
