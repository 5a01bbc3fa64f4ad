"""Realized performance from joined outcomes: the value the estimate is checked against.

A :class:`RealizedCounts` holds, for the outcomes joined in some interval, the confusion
counts the estimated metrics are computed from (binary: TP, FP, FN, TN of the positive
class; multiclass: correct and total). It merges by addition, like the estimate's
aggregate. ROC AUC is not realized here: it needs each joined row's score, which the
outcome cache does not keep (it keeps the predicted class).
"""

from __future__ import annotations

import numpy as np

__all__ = ["RealizedCounts"]


class RealizedCounts:
    """Confusion counts of joined outcomes: ``[tp, fp, fn, tn]`` (binary) or ``[correct, wrong]``."""

    __slots__ = ("binary", "counts")

    def __init__(self, binary: bool) -> None:
        self.binary = binary
        self.counts = np.zeros(4 if binary else 2, dtype=np.int64)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def add(self, predicted_positive: np.ndarray, actual_positive: np.ndarray, correct: np.ndarray) -> None:
        """Count joined rows: boolean arrays, one value per row (``predicted_positive`` and
        ``actual_positive`` are read for binary models, ``correct`` otherwise)."""
        if self.binary:
            pp, ap = predicted_positive, actual_positive
            self.counts += [
                np.count_nonzero(pp & ap),
                np.count_nonzero(pp & ~ap),
                np.count_nonzero(~pp & ap),
                np.count_nonzero(~pp & ~ap),
            ]
        else:
            hits = int(np.count_nonzero(correct))
            self.counts += [hits, correct.size - hits]

    def merge(self, other: RealizedCounts) -> None:
        self.counts += other.counts

    def copy(self) -> RealizedCounts:
        out = RealizedCounts(self.binary)
        out.counts = self.counts.copy()
        return out

    def metrics(self) -> dict[str, float]:
        """Every metric defined by the counts (accuracy; binary also precision, recall, f1)."""
        n = self.n
        if n == 0:
            return {}
        if not self.binary:
            return {"accuracy": self.counts[0] / n}
        tp, fp, fn, tn = (int(v) for v in self.counts)
        out = {"accuracy": (tp + tn) / n}
        if tp + fp:
            out["precision"] = tp / (tp + fp)
        if tp + fn:
            out["recall"] = tp / (tp + fn)
        if 2 * tp + fp + fn:
            out["f1"] = 2 * tp / (2 * tp + fp + fn)
        return out
