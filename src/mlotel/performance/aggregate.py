"""Per-interval state of the label-free performance estimate: bounded, mergeable sums.

A batch of predicted probabilities is checked (:func:`probability_scores`), calibrated
with the reference's :class:`~mlotel.performance.calibration.Calibration`, and reduced
by :func:`aggregate` to a :class:`PerformanceAggregate`: per predicted class the row
count and the sums of ``c`` and ``c^2`` (``c`` = the calibrated probability of the
predicted class), and for binary models a histogram over the reference's score bins of
``sum p`` and ``sum (1 - p)`` (``p`` = the calibrated probability of the positive class),
from which the ROC AUC is estimated. Everything is a fixed-size array (``k`` classes,
at most 256 bins) updated with ``np.bincount``; two aggregates merge by adding them,
exactly, so an interval's, a sliding window's and a fleet's estimates come from the same
state.
"""

from __future__ import annotations

import numpy as np

from mlotel.performance.calibration import Calibration

__all__ = ["SUM_TOLERANCE", "NotProbabilities", "PerformanceAggregate", "aggregate", "probability_scores"]

#: Largest ``|row sum - 1|`` a score matrix row may have to count as probabilities.
SUM_TOLERANCE = 1e-3


class NotProbabilities(ValueError):
    """A model output that is not a probability per class (or a positive-class probability)."""


class PerformanceAggregate:
    """Mergeable sums of calibrated probabilities over the rows of some calls.

    ``count[c]``, ``sum_c[c]``, ``sum_c2[c]``: rows predicted as class ``c``, and the sums of
    the calibrated probability of that class and of its square over them. Binary models
    also hold ``positive[b]`` / ``negative[b]``: the sums of ``p`` and ``1 - p`` over the rows
    whose score falls in bin ``b``. ``missing``: rows left out for a missing (NaN) score.
    """

    __slots__ = ("count", "sum_c", "sum_c2", "positive", "negative", "missing")

    def __init__(self, n_classes: int, n_bins: int = 0) -> None:
        self.count = np.zeros(n_classes, dtype=np.int64)
        self.sum_c = np.zeros(n_classes)
        self.sum_c2 = np.zeros(n_classes)
        self.positive = np.zeros(n_bins)
        self.negative = np.zeros(n_bins)
        self.missing = 0

    @property
    def n(self) -> int:
        return int(self.count.sum())

    def merge(self, other: PerformanceAggregate) -> None:
        if other.count.shape != self.count.shape or other.positive.shape != self.positive.shape:
            raise ValueError("cannot merge performance aggregates of different calibrations")
        self.count += other.count
        self.sum_c += other.sum_c
        self.sum_c2 += other.sum_c2
        self.positive += other.positive
        self.negative += other.negative
        self.missing += other.missing

    def copy(self) -> PerformanceAggregate:
        out = PerformanceAggregate(0)
        for name in ("count", "sum_c", "sum_c2", "positive", "negative"):
            setattr(out, name, getattr(self, name).copy())
        out.missing = self.missing
        return out

    def is_empty(self) -> bool:
        return self.n == 0 and self.missing == 0


def probability_scores(values: np.ndarray, calibration: Calibration) -> tuple[np.ndarray, int]:
    """``(scores, missing)``: the rows of ``values`` fit for the estimate, and how many rows
    were left out for a missing (NaN) value.

    ``values`` is a float array: for a binary calibration a 1-D array (or one column) of
    positive-class probabilities, or two columns (``predict_proba``); otherwise ``(n, k)``
    with ``k`` the calibration's classes. The returned scores are 1-D (binary: the
    positive-class column) or ``(n, k)``. Raises :class:`NotProbabilities` when the shape
    does not match the calibration, a value is outside ``[0, 1]``, or a row of a score
    matrix does not sum to 1 (within :data:`SUM_TOLERANCE`).
    """
    k = calibration.n_classes
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 1 and not calibration.binary:
        raise NotProbabilities(f"one score per row, but the reference calibrates {k} classes")
    if values.ndim == 2 and values.shape[1] != k:
        raise NotProbabilities(f"{values.shape[1]} score columns, but the reference calibrates {k} classes")
    if values.ndim not in (1, 2):
        raise NotProbabilities(f"outputs of shape {values.shape} are not class probabilities")
    present = ~np.isnan(values) if values.ndim == 1 else ~np.isnan(values).any(axis=1)
    missing = int(present.size - np.count_nonzero(present))
    if missing:
        values = values[present]
    if values.size:
        low, high = float(values.min()), float(values.max())
        if not (low >= 0.0 and high <= 1.0):  # also catches infinities
            raise NotProbabilities(f"scores outside [0, 1] (seen {low:.4g} .. {high:.4g})")
        if values.ndim == 2:
            worst = float(np.abs(values.sum(axis=1) - 1.0).max())
            if worst > SUM_TOLERANCE:
                raise NotProbabilities(f"score rows do not sum to 1 (off by up to {worst:.3g})")
    if calibration.binary and values.ndim == 2:
        values = values[:, 1]
    return values, missing


def aggregate(calibration: Calibration, scores: np.ndarray, missing: int = 0) -> PerformanceAggregate:
    """The :class:`PerformanceAggregate` of a batch of checked scores (see :func:`probability_scores`)."""
    k = calibration.n_classes
    out = PerformanceAggregate(k, calibration.n_bins)
    out.missing = missing
    if scores.shape[0] == 0:
        return out
    p = calibration.calibrate(scores)
    if calibration.binary:
        predicted = (scores > 0.5).astype(np.intp)
        c = np.where(predicted == 1, p, 1.0 - p)
        bins = np.searchsorted(calibration.edges, scores, side="right")
        out.positive = np.bincount(bins, weights=p, minlength=calibration.n_bins).astype(np.float64)
        out.negative = np.bincount(bins, weights=1.0 - p, minlength=calibration.n_bins).astype(np.float64)
    else:
        predicted = scores.argmax(axis=1)
        c = p[np.arange(p.shape[0]), predicted]
    out.count = np.bincount(predicted, minlength=k).astype(np.int64)
    out.sum_c = np.bincount(predicted, weights=c, minlength=k).astype(np.float64)
    out.sum_c2 = np.bincount(predicted, weights=c * c, minlength=k).astype(np.float64)
    return out
