"""Mergeable sketches summarising feature and prediction distributions.

* :class:`ExponentialHistogram` -- OTLP base-2 exponential histogram (exact mapping,
  automatic downscaling, exact merges, quantiles with a stated relative error).
* :class:`FrequentItems` -- bounded top-k categorical counts (Misra-Gries).
* :class:`Moments` -- count/mean/variance/min/max with stable parallel merging.
* :class:`NumericProfile` / :class:`CategoricalProfile` -- what is kept per feature.
"""

from mlotel.sketches.exponential import ExponentialHistogram
from mlotel.sketches.frequent import FrequentItems
from mlotel.sketches.mapping import MAX_SCALE, MIN_SCALE, lower_boundary, map_to_index
from mlotel.sketches.moments import Moments
from mlotel.sketches.profile import CategoricalProfile, NumericProfile
from mlotel.sketches.store import BucketStore

__all__ = [
    "MAX_SCALE",
    "MIN_SCALE",
    "BucketStore",
    "CategoricalProfile",
    "ExponentialHistogram",
    "FrequentItems",
    "Moments",
    "NumericProfile",
    "lower_boundary",
    "map_to_index",
]
