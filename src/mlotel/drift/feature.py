"""One feature's reference: the sketches drift keeps for a feature (or the target).

:class:`FeatureReference` is what :mod:`mlotel.drift.compare` compares and what a
:class:`~mlotel.drift.profile.ReferenceProfile` holds per column; this module also has the
checks that read one back from JSON (shared with the profile's own reader).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from mlotel.drift._json import check_histogram, expect, field, json_number, sketch_from_dict
from mlotel.drift.statistics import align_exponential_histograms, quantile_edges
from mlotel.sketches import ExponentialHistogram, FrequentItems, Moments

__all__ = ["DEFAULT_QUANTILE_BINS", "FeatureReference", "Kind", "ReferenceProfileError", "reference_edges"]

#: Deciles for PSI, JS and Hellinger.
DEFAULT_QUANTILE_BINS = 10

Kind = Literal["numeric", "categorical"]


class ReferenceProfileError(ValueError):
    """A saved reference profile is damaged or incompatible.

    The message starts with the source (file name) and names the problem, e.g.
    ``reference.json: feature 'age': missing field 'sketch'``.
    """


# --------------------------------------------------------------------------------------------
# One feature


class FeatureReference:
    """The reference sketches of one feature (or of the target).

    Numeric (``kind == "numeric"``): :attr:`histogram` (every finite value; NaN in
    ``histogram.missing``, infinities in ``pos_inf``/``neg_inf``), :attr:`moments`, and
    :attr:`quantile_edges`, the interior edges of the reference's equal-mass bins used by PSI,
    JS and Hellinger. Categorical: :attr:`frequent` (top-K counts, ``None``/NaN in
    ``frequent.missing``). The attributes of the other kind are ``None``.

    Treat instances as read-only: profiles share them.
    """

    __slots__ = ("name", "kind", "histogram", "moments", "frequent", "quantile_edges")

    def __init__(
        self,
        name: str,
        kind: Kind,
        *,
        histogram: ExponentialHistogram | None = None,
        moments: Moments | None = None,
        frequent: FrequentItems | None = None,
        quantile_edges: Sequence[float] | np.ndarray | None = None,
        quantile_bins: int = DEFAULT_QUANTILE_BINS,
    ) -> None:
        """``quantile_edges`` defaults to ``quantile_bins`` equal-mass bins of ``histogram``."""
        self.name = str(name)
        self.kind: Kind = kind
        if kind == "numeric":
            if not isinstance(histogram, ExponentialHistogram) or not isinstance(moments, Moments):
                raise TypeError("a numeric FeatureReference needs an ExponentialHistogram and Moments")
            if frequent is not None:
                raise TypeError("a numeric FeatureReference has no frequent items")
            self.histogram, self.moments, self.frequent = histogram, moments, None
            if quantile_edges is None:
                quantile_edges = reference_edges(histogram, quantile_bins)
            edges = np.asarray(quantile_edges, dtype=np.float64)
            if edges.ndim != 1 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
                raise ValueError("quantile_edges must be finite and strictly ascending")
            self.quantile_edges = edges
        elif kind == "categorical":
            if not isinstance(frequent, FrequentItems):
                raise TypeError("a categorical FeatureReference needs FrequentItems")
            if histogram is not None or moments is not None or quantile_edges is not None:
                raise TypeError("a categorical FeatureReference has no histogram, moments or edges")
            self.histogram = self.moments = None
            self.frequent = frequent
            self.quantile_edges = None
        else:
            raise ValueError(f"kind must be 'numeric' or 'categorical', got {kind!r}")

    # -- summary -------------------------------------------------------------------
    @property
    def count(self) -> int:
        """Every value seen: finite, infinite and missing."""
        if self.histogram is not None:
            h = self.histogram
            return h.count + h.missing + h.pos_inf + h.neg_inf
        return self.frequent.total + self.frequent.missing

    @property
    def missing(self) -> int:
        return self.histogram.missing if self.histogram is not None else self.frequent.missing

    @property
    def sketch(self) -> ExponentialHistogram | FrequentItems:
        """The distribution sketch: the histogram (numeric) or the frequent items."""
        return self.histogram if self.histogram is not None else self.frequent

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FeatureReference):
            return NotImplemented
        same_edges = (self.quantile_edges is None and other.quantile_edges is None) or (
            self.quantile_edges is not None
            and other.quantile_edges is not None
            and np.array_equal(self.quantile_edges, other.quantile_edges)
        )
        return (self.name, self.kind, self.histogram, self.moments, self.frequent) == (
            other.name,
            other.kind,
            other.histogram,
            other.moments,
            other.frequent,
        ) and same_edges

    def __repr__(self) -> str:
        return f"FeatureReference({self.name!r}, {self.kind!r}, count={self.count}, missing={self.missing})"

    # -- combination -----------------------------------------------------------------
    def merged(self, other: FeatureReference, quantile_bins: int = DEFAULT_QUANTILE_BINS) -> FeatureReference:
        """A new reference holding both; quantile edges are recomputed from the merged histogram.

        Raises :class:`ValueError` when the names or kinds differ.
        """
        if (self.name, self.kind) != (other.name, other.kind):
            raise ValueError(
                f"cannot merge {self.kind} feature {self.name!r} with {other.kind} feature {other.name!r}"
            )
        if self.kind == "numeric":
            histogram, moments = self.histogram.copy(), self.moments.copy()
            histogram.merge(other.histogram)
            moments.merge(other.moments)
            return FeatureReference(
                self.name, "numeric", histogram=histogram, moments=moments, quantile_bins=quantile_bins
            )
        frequent = self.frequent.copy()
        frequent.merge(other.frequent)
        return FeatureReference(self.name, "categorical", frequent=frequent)

    # -- serialization -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this feature in a saved profile (``docs/drift.md``)."""
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "count": self.count,
            "missing": self.missing,
        }
        if self.kind == "numeric":
            m = self.moments
            d["summary"] = {
                "mean": json_number(m.mean if m.count else math.nan),
                "std": json_number(m.std),
                "min": json_number(m.min if m.count else math.nan),
                "max": json_number(m.max if m.count else math.nan),
            }
            d["quantile_edges"] = [float(e) for e in self.quantile_edges]
            d["moments"] = m.to_dict()
            d["sketch"] = self.histogram.to_dict()
        else:
            f = self.frequent
            d["summary"] = {"distinct_kept": len(f.items()), "other": f.other}
            d["sketch"] = f.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str = "feature") -> FeatureReference:
        """Inverse of :meth:`to_dict`. Raises :class:`ValueError` naming the bad field
        (``summary`` is informational and not read)."""
        obj = expect(d, dict, where)
        name = expect(field(obj, "name", where), str, f"{where}: field 'name'")
        where = f"feature {name!r}" if where == "feature" else f"{where} {name!r}"
        kind = field(obj, "kind", where)
        if kind not in ("numeric", "categorical"):
            raise ValueError(f"{where}: field 'kind' must be 'numeric' or 'categorical', got {kind!r}")
        sketch = expect(field(obj, "sketch", where), dict, f"{where}: field 'sketch'")
        if kind == "numeric":
            histogram = sketch_from_dict(ExponentialHistogram, sketch, f"{where}: sketch")
            moments = sketch_from_dict(
                Moments,
                expect(field(obj, "moments", where), dict, f"{where}: field 'moments'"),
                f"{where}: moments",
            )
            edges = expect(field(obj, "quantile_edges", where), list, f"{where}: field 'quantile_edges'")
            if not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in edges):
                raise ValueError(f"{where}: field 'quantile_edges' must hold numbers")
            check_histogram(histogram, f"{where}: sketch")
            if moments.count != histogram.count:
                raise ValueError(
                    f"{where}: moments count {moments.count} differs from the sketch's {histogram.count}"
                )
            try:
                feature = cls(name, "numeric", histogram=histogram, moments=moments, quantile_edges=edges)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        else:
            frequent = sketch_from_dict(FrequentItems, sketch, f"{where}: sketch")
            if any(c < 0 for _, c in frequent.items()) or frequent.missing < 0:
                raise ValueError(f"{where}: sketch: negative counts")
            feature = cls(name, "categorical", frequent=frequent)
        for key, actual in (("count", feature.count), ("missing", feature.missing)):
            stated = expect(field(obj, key, where), int, f"{where}: field {key!r}")
            if stated != actual:
                raise ValueError(f"{where}: field {key!r} is {stated} but the sketch holds {actual}")
        return feature


def reference_edges(
    histogram: ExponentialHistogram, quantile_bins: int = DEFAULT_QUANTILE_BINS
) -> np.ndarray:
    """Interior edges of ``quantile_bins`` equal-mass bins of ``histogram`` (ties dropped).

    Computed on the same bins drift uses (:func:`align_exponential_histograms`, bounds
    clamped to the observed min/max), so the result depends only on the histogram's state:
    merged shards give the same edges as the whole. Empty for an empty histogram.
    """
    if histogram.count == 0:
        return np.empty(0)
    bins = align_exponential_histograms(histogram, histogram)
    return quantile_edges(bins.bins, bins.reference, quantile_bins)
