"""Confidence-based performance estimation (CBPE): expected metrics from calibrated scores alone.

If the reference's calibration still holds (``P(label | score)`` unchanged: covariate
shift moves the scores, not what a score means), each row is correct with probability
``c``, the calibrated probability of its predicted class, and a binary row is positive
with probability ``p``. The expected confusion matrix follows, and from it every metric,
from a :class:`~mlotel.performance.aggregate.PerformanceAggregate`:

* ``accuracy`` = ``sum c / n``;
* binary, with ``TP = sum p`` over predicted positives, ``FP = N1 - TP``,
  ``FN = sum p`` over predicted negatives: ``precision = TP / N1``,
  ``recall = TP / (TP + FN)``, ``f1 = 2 TP / (2 TP + FP + FN)``;
* binary ``roc_auc``: the rows sorted by score, the expected true- and false-positive rates
  are the running sums of ``p`` and ``1 - p``; on the reference's score bins this is
  ``sum_b P_b (N_<b + N_b / 2) / (P N)`` (``P_b``, ``N_b``: the bin's sums of ``p`` and
  ``1 - p``).

Every :class:`Estimate` states its error: ``error = z * standard_error +
calibration_error`` (``z = 1.96``: about 95%), with

* the sampling standard error of the realized metric given the scores (rows independent
  Bernoulli): ``sqrt(sum c (1 - c)) / n`` for accuracy, the delta method for precision,
  recall and F1, Hanley & McNeil's formula with the expected class counts for ROC AUC;
* ``calibration_error``: the reference's cross-fitted expected calibration error
  (:attr:`Calibration.calibration_error`), a bias the sampling error does not cover;
* for ROC AUC also the binning error, at most ``sum_b P_b N_b / (2 P N)`` (pairs within one
  bin are counted as ties).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mlotel.performance.aggregate import PerformanceAggregate
from mlotel.performance.calibration import Calibration

__all__ = ["METRICS", "Z", "Estimate", "estimate"]

#: Metrics estimated, in export order (binary models; multiclass: accuracy only).
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
#: Multiplier of the standard error in the stated error (about a 95% interval).
Z = 1.96


@dataclass(frozen=True)
class Estimate:
    """One estimated metric: ``value``, its stated ``error`` (see the module), the
    ``standard_error`` part of it, and ``n`` the rows it is estimated from."""

    metric: str
    value: float
    error: float
    standard_error: float
    n: int


def estimate(calibration: Calibration, state: PerformanceAggregate, z: float = Z) -> list[Estimate]:
    """Every metric estimable from ``state`` (none when it holds no row); undefined ones
    (e.g. precision without a predicted positive) are left out."""
    n = state.n
    if n == 0:
        return []
    bias = calibration.calibration_error
    out = []

    def add(metric: str, value: float, variance: float, extra: float = 0.0) -> None:
        if math.isfinite(value) and math.isfinite(variance):
            se = math.sqrt(max(variance, 0.0))
            out.append(Estimate(metric, value, z * se + bias + extra, se, n))

    sum_c = float(state.sum_c.sum())
    spread = state.sum_c - state.sum_c2  # sum c (1 - c) = sum p (1 - p), per predicted class
    add("accuracy", sum_c / n, float(spread.sum()) / (n * n))
    if not calibration.binary:
        return out
    n0, n1 = int(state.count[0]), int(state.count[1])
    tp = float(state.sum_c[1])  # sum p over predicted positives
    fn = n0 - float(state.sum_c[0])  # sum p over predicted negatives
    v1, v0 = float(spread[1]), float(spread[0])
    if n1 > 0:
        add("precision", tp / n1, v1 / (n1 * n1))
    positives = tp + fn
    if positives > 0:
        add("recall", tp / positives, (fn * fn * v1 + tp * tp * v0) / positives**4)
    denominator = tp + n1 + fn  # 2 TP + FP + FN
    if denominator > 0:
        add(
            "f1",
            2 * tp / denominator,
            ((2 * (n1 + fn)) ** 2 * v1 + (2 * tp) ** 2 * v0) / denominator**4,
        )
    auc = roc_auc(state.positive, state.negative)
    if auc is not None:
        value, binning = auc
        p, q = float(state.positive.sum()), float(state.negative.sum())
        add("roc_auc", value, _hanley_mcneil(value, p, q), binning)
    return out


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> tuple[float, float] | None:
    """``(AUC, binning error bound)`` from per-bin expected positives and negatives (bins in
    ascending score order), or None when either total is 0."""
    p, q = float(positive.sum()), float(negative.sum())
    if p <= 0 or q <= 0:
        return None
    below = np.cumsum(negative) - negative
    value = float((positive * (below + 0.5 * negative)).sum()) / (p * q)
    return value, float((positive * negative).sum()) / (2 * p * q)


def _hanley_mcneil(auc: float, positives: float, negatives: float) -> float:
    """Hanley & McNeil (1982) variance of an AUC over ``positives`` and ``negatives`` rows."""
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    numerator = auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    return max(numerator, 0.0) / (positives * negatives)
