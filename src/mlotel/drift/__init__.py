"""Drift detection against a training reference, computed from sketches only.

* :mod:`~mlotel.drift.statistics` -- drift statistics on binned data and categories.
* :mod:`~mlotel.drift.thresholds` -- thresholds, verdicts and :class:`DriftResult`.
* :mod:`~mlotel.drift.profile` -- :class:`ReferenceProfile` and :func:`build_reference`.
* :mod:`~mlotel.drift.compare` -- :func:`compare_features`, the one comparison used by the
  online monitor and the batch ``mlotel drift`` tool, and :class:`DriftReport`.
* :mod:`~mlotel.drift.fleet` -- the current side from exported telemetry (fleet drift).
* :mod:`~mlotel.drift.multivariate` -- multivariate drift: a PCA reconstruction-error model
  of the numeric features (``build_reference(..., multivariate=True)``).

Spark and Dask DataFrames are profiled by :mod:`mlotel.engines` (docs/distributed.md).
"""

from mlotel.drift.compare import (
    SEVERITY,
    DriftReport,
    FeatureKindMismatch,
    compare_features,
    compare_profiles,
)
from mlotel.drift.profile import (
    FeatureReference,
    ReferenceBuilder,
    ReferenceProfile,
    ReferenceProfileError,
    build_reference,
    profile_current,
)
from mlotel.drift.thresholds import DriftResult, ThresholdPolicy, Thresholds

__all__ = [
    "SEVERITY",
    "DriftReport",
    "DriftResult",
    "FeatureKindMismatch",
    "FeatureReference",
    "ReferenceBuilder",
    "ReferenceProfile",
    "ReferenceProfileError",
    "ThresholdPolicy",
    "Thresholds",
    "build_reference",
    "compare_features",
    "compare_profiles",
    "profile_current",
]
