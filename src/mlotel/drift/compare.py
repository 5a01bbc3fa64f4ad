"""Reference-versus-current comparison: the one drift implementation, online and in batch.

:func:`compare_features` compares one feature's reference (a :class:`FeatureReference`
from a :class:`~mlotel.drift.profile.ReferenceProfile`) with the sketch of the current data:
the monitor calls it with the sketches it keeps per export interval, and the batch tool
(``mlotel drift``) with the sketches of a profiled file. :func:`compare_profiles` applies
it to every feature and reports features present on one side only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from mlotel.drift.feature import FeatureReference
from mlotel.drift.multivariate import MultivariateModel, ReconstructionErrors, compare_reconstruction
from mlotel.drift.statistics import OTHER, align_exponential_histograms, compare_categorical, compare_numeric
from mlotel.drift.thresholds import CHI2, DriftResult, ThresholdPolicy, Thresholds, Verdict
from mlotel.sketches import CategoricalProfile, ExponentialHistogram, FrequentItems, NumericProfile

__all__ = [
    "SEVERITY",
    "CurrentSketch",
    "DriftReport",
    "CurrentSketches",
    "FeatureKindMismatch",
    "ProfileLike",
    "compare_features",
    "compare_profiles",
]

#: What :func:`compare_features` accepts as the current side of one feature.
CurrentSketch = ExponentialHistogram | FrequentItems | NumericProfile | CategoricalProfile | FeatureReference
ThresholdsLike = Thresholds | ThresholdPolicy | Mapping[str, object] | None

#: Verdict severity, highest first when sorted descending: alert > warn > ok > insufficient.
SEVERITY: dict[str, int] = {"insufficient": 0, "ok": 1, "warn": 2, "alert": 3}


class CurrentSketches(dict):
    """Current-side sketches by feature name (a mapping :func:`compare_profiles` takes), with
    the served predictions' sketch (compared with the reference's own predictions) and the
    current rows' reconstruction errors for the reference's multivariate model when known
    (e.g. merged from exported ``ml.prediction.value`` / ``ml.multivariate.error``: fleet drift)."""

    def __init__(
        self,
        sketches: Mapping[str, CurrentSketch],
        *,
        prediction: CurrentSketch | None = None,
        multivariate: ReconstructionErrors | None = None,
    ) -> None:
        super().__init__(sketches)
        self.prediction = prediction
        self.multivariate = multivariate


@runtime_checkable
class ProfileLike(Protocol):
    """What :func:`compare_profiles` reads of a profile: a
    :class:`~mlotel.drift.profile.ReferenceProfile` (named by shape, since that module
    imports this one for :meth:`ReferenceProfile.compare`, never the reverse)."""

    target: FeatureReference | None
    multivariate: Any

    def columns(self) -> dict[str, FeatureReference]: ...


class FeatureKindMismatch(TypeError):
    """The reference and current sides of a feature are of different kinds
    (numeric versus categorical), so no drift statistic applies."""


def compare_features(
    reference: FeatureReference,
    current: CurrentSketch,
    thresholds: ThresholdsLike = None,
) -> list[DriftResult]:
    """Drift of one feature: its reference against the current data's sketch.

    Args:
        reference: the feature's entry in a reference profile (``profile.features[name]`` or
            ``profile.target``); its ``name`` labels the results and selects per-feature
            thresholds.
        current: for a numeric reference, an :class:`ExponentialHistogram` at any scale or
            size (e.g. the monitor's 160-bucket histogram of one export interval) or a
            :class:`NumericProfile`; for a categorical reference, a :class:`FrequentItems` of
            any ``k`` or a :class:`CategoricalProfile`. A :class:`FeatureReference` of the
            same kind is also accepted (profile versus profile). Not modified.
        thresholds: a :class:`Thresholds`, a :class:`ThresholdPolicy` (resolved for
            ``reference.name``), a partial mapping of threshold fields, or ``None`` for the
            defaults.

    Returns:
        One :class:`DriftResult` per method: ``psi``, ``js``, ``hellinger``, ``ks``,
        ``wasserstein`` for numeric features (bins aligned at the coarser scale; PSI, JS and
        Hellinger on the reference's stored quantile bins; Wasserstein in reference standard
        deviations), ``chi2``, ``js``, ``psi`` for categorical ones. An empty side gives NaN
        values with verdict ``"insufficient"``, never an exception. Missing values and
        infinities are not part of either distribution.

    Raises:
        FeatureKindMismatch: (a :class:`TypeError`) a numeric reference with a categorical
            current sketch or the reverse.
        TypeError: ``current`` is none of the accepted types.

    Categorical counts are first put on categories both sketches resolve: reference
    categories the current sketch does not track go to ``__other__`` when the current sketch
    has an ``__other__`` tail (a small-``k`` online sketch), and current categories the
    reference does not track go to ``__other__`` when the reference has a tail; otherwise a
    category new to the reference is its own ``__unseen__`` category (and alerts if large).
    """
    if not isinstance(reference, FeatureReference):
        raise TypeError(f"reference must be a FeatureReference, got {type(reference).__name__}")
    sketch = _current_sketch(current)
    if reference.kind == "numeric":
        if not isinstance(sketch, ExponentialHistogram):
            raise FeatureKindMismatch(
                f"feature {reference.name!r}: the reference is numeric but the current sketch is categorical"
            )
        bins = align_exponential_histograms(reference.histogram, sketch)
        return compare_numeric(
            reference.name,
            bins.bins,
            bins.reference,
            bins.current,
            reference_std=reference.moments.std,
            psi_edges=reference.quantile_edges,
            thresholds=thresholds,
        )
    if not isinstance(sketch, FrequentItems):
        raise FeatureKindMismatch(
            f"feature {reference.name!r}: the reference is categorical but the current sketch is numeric"
        )
    ref_counts, cur_counts = resolvable_categories(reference.frequent, sketch)
    results = compare_categorical(reference.name, ref_counts, cur_counts, thresholds=thresholds)
    if reference.frequent.other or sketch.other:
        # Reduced counts are not multinomial samples: the test's p-value is not calibrated.
        results = [replace(r, verdict="insufficient") if r.method == CHI2 else r for r in results]
    return results


def resolvable_categories(
    reference: FrequentItems, current: FrequentItems
) -> tuple[dict[str, float], dict[str, float]]:
    """``(reference, current)`` category counts on categories both sketches resolve.

    A sketch with a non-empty ``__other__`` tail has been reduced (Misra-Gries): each kept
    count is low by up to ``other / (k + 1)``. When the current sketch is reduced, the
    reference counts are reduced to the same depth first (one amount subtracted from every
    count so the reference tail has the current tail's share), which keeps an exact
    reference comparable with a small-``k`` online sketch. Then a category kept by one side
    only goes to ``__other__`` on that side when the other side's tail may hold it; a
    current category the reference never held stays its own category (``__unseen__`` for
    the statistics). Each side's total is preserved.
    """
    ref_items: dict[str, float] = dict(reference.items())
    cur_items: dict[str, float] = dict(current.items())
    ref_tail, cur_tail = float(reference.other), float(current.other)
    seen, seen_all = ref_items, ref_tail > 0
    if cur_tail > 0 and current.total > 0 and reference.total > 0:
        ref_items, ref_tail = _match_reduction(ref_items, ref_tail, reference.total, cur_tail / current.total)
    ref_counts = _fold(ref_items, ref_tail, lambda key: cur_tail > 0 and key not in cur_items)
    cur_counts = _fold(cur_items, cur_tail, lambda key: key not in ref_items and (seen_all or key in seen))
    return ref_counts, cur_counts


def _match_reduction(
    items: dict[str, float], tail: float, total: int, tail_share: float
) -> tuple[dict[str, float], float]:
    """Subtract one amount ``d`` from every count (dropping those that reach 0) so the tail
    holds ``tail_share`` of ``total``: the reference as a Misra-Gries reduction of the same
    depth as the current sketch's would leave it."""
    target = tail_share * total
    if target <= tail or not items:
        return items, tail
    counts = np.sort(np.fromiter(items.values(), dtype=np.float64, count=len(items)))
    # tail + sum(min(c, d)) is increasing and piecewise linear in d: solve on the segment.
    below = np.concatenate(([0.0], np.cumsum(counts)[:-1]))  # sum of the counts under counts[j]
    at = tail + below + counts * (counts.size - np.arange(counts.size))  # value at d = counts[j]
    j = int(np.searchsorted(at, target))
    if j >= counts.size:
        return {}, float(total)
    d = (target - tail - below[j]) / (counts.size - j)
    reduced = {key: c - d for key, c in items.items() if c > d}
    return reduced, float(total) - sum(reduced.values())


def _fold(items: dict[str, float], tail: float, to_other: Callable[[str], bool]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, count in items.items():
        label = OTHER if to_other(key) else key
        out[label] = out.get(label, 0.0) + count
    if tail > 0:
        out[OTHER] = out.get(OTHER, 0.0) + tail
    return out


def _current_sketch(current: Any) -> ExponentialHistogram | FrequentItems:
    if isinstance(current, (ExponentialHistogram, FrequentItems)):
        return current
    if isinstance(current, NumericProfile):
        return current.histogram
    if isinstance(current, CategoricalProfile):
        return current.frequent
    if isinstance(current, FeatureReference):
        return current.sketch
    raise TypeError(
        "current must be an ExponentialHistogram, FrequentItems, NumericProfile, CategoricalProfile "
        f"or FeatureReference, got {type(current).__name__}"
    )


# --------------------------------------------------------------------------------------------
# Whole profiles


@dataclass(frozen=True)
class DriftReport:
    """Drift results of every feature compared, and the features that could not be.

    ``results`` hold one :class:`DriftResult` per (feature, method), in reference order;
    ``missing_features`` are in the reference but not in the current data;
    ``new_features`` are in the current data but not in the reference;
    ``mismatched_features`` are in both with different kinds (numeric vs categorical).
    A reference target absent from the current data is not listed as missing (labels
    often arrive later than features).
    """

    results: tuple[DriftResult, ...]
    missing_features: tuple[str, ...] = ()
    new_features: tuple[str, ...] = ()
    mismatched_features: tuple[str, ...] = ()

    def feature_verdicts(self) -> dict[str, Verdict]:
        """The worst verdict of each compared feature, most severe first (ties by name)."""
        worst: dict[str, Verdict] = {}
        for r in self.results:
            if r.feature not in worst or SEVERITY[r.verdict] > SEVERITY[worst[r.feature]]:
                worst[r.feature] = r.verdict
        return dict(sorted(worst.items(), key=lambda kv: (-SEVERITY[kv[1]], kv[0])))

    @property
    def verdict(self) -> Verdict:
        """The worst verdict over all results (``"insufficient"`` when there are none)."""
        return max((r.verdict for r in self.results), key=SEVERITY.__getitem__, default="insufficient")

    def exceeds(self, level: Literal["alert", "warn"]) -> bool:
        """Whether any result's verdict is at least ``level`` (``"warn"`` includes alerts)."""
        if level not in ("alert", "warn"):
            raise ValueError(f"level must be 'alert' or 'warn', got {level!r}")
        return any(SEVERITY[r.verdict] >= SEVERITY[level] for r in self.results)

    def sorted_results(self) -> list[DriftResult]:
        """Results grouped by feature, features by severity (alert > warn > ok > insufficient)
        then name; within a feature, the most severe method first."""
        rank = {name: i for i, name in enumerate(self.feature_verdicts())}
        return sorted(self.results, key=lambda r: (rank[r.feature], -SEVERITY[r.verdict]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: NaN becomes ``None``, infinities the strings ``"inf"``/``"-inf"``."""
        return {
            "verdict": self.verdict,
            "results": [
                {
                    "feature": r.feature,
                    "method": r.method,
                    "value": _json(r.value),
                    "p_value": _json(r.p_value),
                    "verdict": r.verdict,
                    "threshold": _json(r.threshold),
                    "n_reference": r.n_reference,
                    "n_current": r.n_current,
                }
                for r in self.sorted_results()
            ],
            "missing_features": list(self.missing_features),
            "new_features": list(self.new_features),
            "mismatched_features": list(self.mismatched_features),
        }


def compare_profiles(
    reference: ProfileLike,
    current: ProfileLike | Mapping[str, CurrentSketch],
    thresholds: ThresholdsLike = None,
) -> DriftReport:
    """Compare every reference feature (and the target) present in ``current``.

    ``current`` is a :class:`ReferenceProfile` of the current data (its features and target
    are matched by name) or a mapping of name to any sketch :func:`compare_features`
    accepts. Features on one side only, and kind mismatches, are reported in the
    :class:`DriftReport`, never raised.

    When both the reference and ``current`` hold the model's own predictions
    (``prediction``: :func:`build_reference`/:func:`profile_current` with ``predictions=``,
    or :class:`CurrentSketches`), they are compared too, as feature ``"prediction"``.

    When the reference has a multivariate model, the report ends with one more result,
    feature ``"multivariate"``, method ``"reconstruction"``
    (:func:`mlotel.drift.multivariate.compare_reconstruction`): ``"insufficient"`` unless
    ``current`` is a profile from :func:`profile_current` holding this model's errors.
    """
    if not isinstance(reference, ProfileLike):
        raise TypeError(f"reference must be a ReferenceProfile, got {type(reference).__name__}")
    if isinstance(current, ProfileLike):
        cur = current.columns()
    elif isinstance(current, Mapping):
        cur = dict(current)
    else:
        raise TypeError(f"current must be a ReferenceProfile or a mapping, got {type(current).__name__}")
    target = None if reference.target is None else reference.target.name
    results: list[DriftResult] = []
    missing, mismatched = [], []
    ref_columns = reference.columns()
    for name, feature in ref_columns.items():
        if name not in cur:
            if name != target:
                missing.append(name)
            continue
        try:
            results.extend(compare_features(feature, cur[name], thresholds))
        except FeatureKindMismatch:
            mismatched.append(name)
    own = getattr(reference, "prediction", None)
    served = getattr(current, "prediction", None)
    if own is not None and served is not None:
        try:
            results.extend(compare_features(own, served, thresholds))
        except FeatureKindMismatch:
            mismatched.append(own.name)
    if isinstance(reference.multivariate, MultivariateModel):
        errors = getattr(current, "multivariate", None)
        errors = errors if isinstance(errors, ReconstructionErrors) else None
        results.append(compare_reconstruction(reference.multivariate, errors, thresholds))
    new = [name for name in cur if name not in ref_columns]
    return DriftReport(tuple(results), tuple(missing), tuple(new), tuple(mismatched))


def _json(value: float | None) -> float | str | None:
    if value is None or math.isnan(value):
        return None
    return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")
