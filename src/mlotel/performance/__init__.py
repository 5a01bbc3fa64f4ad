"""Label-free performance estimation of classifiers (confidence-based, CBPE).

* :mod:`~mlotel.performance.calibration` -- the isotonic calibration of the scores, fitted
  on a labelled reference set (``build_reference(..., predictions=scores,
  performance_estimate=True)``) and stored in the reference profile.
* :mod:`~mlotel.performance.aggregate` -- checking outputs are probabilities, and the
  bounded, mergeable per-interval sums of calibrated probabilities.
* :mod:`~mlotel.performance.estimate` -- the expected accuracy, precision, recall, F1 and
  ROC AUC from those sums, each with its stated error.
* :mod:`~mlotel.performance.realized` -- the same metrics from joined outcomes.

The online monitor exports them as ``ml.performance.estimated`` and
``ml.performance.realized`` (docs/performance.md).
"""

from mlotel.performance.aggregate import NotProbabilities, PerformanceAggregate, aggregate, probability_scores
from mlotel.performance.calibration import Calibration, IsotonicMap, fit_calibration, fit_isotonic
from mlotel.performance.estimate import METRICS, Estimate, estimate
from mlotel.performance.realized import RealizedCounts

__all__ = [
    "METRICS",
    "Calibration",
    "Estimate",
    "IsotonicMap",
    "NotProbabilities",
    "PerformanceAggregate",
    "RealizedCounts",
    "aggregate",
    "estimate",
    "fit_calibration",
    "fit_isotonic",
    "probability_scores",
]
