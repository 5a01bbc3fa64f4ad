"""Drift thresholds, verdicts and the public :class:`DriftResult` record.

Two kinds of methods are judged differently:

* distances (``psi``, ``js``, ``hellinger``, ``wasserstein``) are effect sizes: a value at or
  above the ``*_alert`` threshold is an ``"alert"``, at or above ``*_warn`` (when set) a ``"warn"``;
* tests (``ks``, ``chi2``) are judged on their p-value: below ``*_p_alert`` is an ``"alert"``,
  below ``*_p_warn`` (when set) a ``"warn"``.

No verdict is given (``"insufficient"``) while either sample holds fewer than ``min_samples``
observations (tests) or ``min_samples_distance`` observations (distances), or when the
statistic is undefined (NaN). Distances need the larger sample: on two samples of the *same*
distribution their expected value decays only like ``1 / n`` (PSI) or ``1 / sqrt(n)`` (the
others), and at ``n = 100`` it sits at the default alert levels (see ``docs/drift.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CHI2",
    "DISTANCE_METHODS",
    "HELLINGER",
    "JS",
    "KS",
    "METHODS",
    "PSI",
    "TEST_METHODS",
    "WASSERSTEIN",
    "DriftResult",
    "ThresholdPolicy",
    "Thresholds",
    "Verdict",
    "resolve_thresholds",
    "verdict",
]

Verdict = Literal["ok", "warn", "alert", "insufficient"]

PSI = "psi"
JS = "js"
HELLINGER = "hellinger"
WASSERSTEIN = "wasserstein"
KS = "ks"
CHI2 = "chi2"

#: Methods whose value is an effect size compared against thresholds from above.
DISTANCE_METHODS: tuple[str, ...] = (PSI, JS, HELLINGER, WASSERSTEIN)
#: Methods judged on their p-value.
TEST_METHODS: tuple[str, ...] = (KS, CHI2)
METHODS: tuple[str, ...] = DISTANCE_METHODS + TEST_METHODS


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown drift method {method!r}; expected one of {list(METHODS)}")


def _check_number(name: str, value: object, *, low: float, high: float, open_low: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if math.isnan(value) or value < low or (open_low and value == low) or value > high:
        bound = f"({low}, {high}]" if open_low else f"[{low}, {high}]"
        raise ValueError(f"{name} must be in {bound}, got {value!r}")


@dataclass(frozen=True)
class Thresholds:
    """Per-method warn/alert thresholds and the minimum sample sizes for a verdict.

    Distance thresholds must be ``> 0`` (``math.inf`` disables the level) with ``warn <= alert``.
    p-value thresholds must lie in ``[0, 1]`` (``0`` disables the level) with ``warn >= alert``.
    A ``*_warn`` of ``None`` means the method has no warn level. ``min_samples`` (tests) and
    ``min_samples_distance`` (distances) apply to both the reference and the current sample.
    """

    psi_warn: float | None = 0.1
    psi_alert: float = 0.2
    js_warn: float | None = None
    js_alert: float = 0.1
    hellinger_warn: float | None = None
    hellinger_alert: float = 0.1
    wasserstein_warn: float | None = None
    wasserstein_alert: float = 0.1
    ks_p_warn: float | None = None
    ks_p_alert: float = 0.05
    chi2_p_warn: float | None = None
    chi2_p_alert: float = 0.05
    min_samples: int = 100
    min_samples_distance: int = 1000

    def __post_init__(self) -> None:
        for method in DISTANCE_METHODS:
            warn, alert = self.levels(method)
            _check_number(f"{method}_alert", alert, low=0.0, high=math.inf, open_low=True)
            if warn is not None:
                _check_number(f"{method}_warn", warn, low=0.0, high=math.inf, open_low=True)
                if warn > alert:
                    raise ValueError(f"{method}_warn ({warn}) must be <= {method}_alert ({alert})")
        for method in TEST_METHODS:
            warn, alert = self.levels(method)
            _check_number(f"{method}_p_alert", alert, low=0.0, high=1.0)
            if warn is not None:
                _check_number(f"{method}_p_warn", warn, low=0.0, high=1.0)
                if warn < alert:
                    raise ValueError(
                        f"{method}_p_warn ({warn}) must be >= {method}_p_alert ({alert}): "
                        "a smaller p-value is stronger evidence of drift"
                    )
        for name in ("min_samples", "min_samples_distance"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")

    def levels(self, method: str) -> tuple[float | None, float]:
        """Return ``(warn, alert)`` for ``method`` (p-value levels for test methods)."""
        _check_method(method)
        prefix = f"{method}_p" if method in TEST_METHODS else method
        return getattr(self, f"{prefix}_warn"), getattr(self, f"{prefix}_alert")

    def alert_threshold(self, method: str) -> float:
        """The alert level of ``method``: a value threshold, or a p-value level for tests."""
        return self.levels(method)[1]

    def with_overrides(self, overrides: Thresholds | Mapping[str, object]) -> Thresholds:
        """Return a copy with ``overrides`` applied.

        A :class:`Thresholds` replaces this one entirely; a mapping replaces only the fields it
        names. Unknown field names raise :class:`ValueError` listing the valid ones.
        """
        if isinstance(overrides, Thresholds):
            return overrides
        if not isinstance(overrides, Mapping):
            raise TypeError(f"overrides must be a Thresholds or a mapping, got {type(overrides).__name__}")
        valid = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - valid)
        if unknown:
            raise ValueError(f"unknown threshold setting(s) {unknown}; valid: {sorted(valid)}")
        return replace(self, **overrides)


DEFAULT_THRESHOLDS = Thresholds()

FeatureOverride = Thresholds | Mapping[str, object]


@dataclass(frozen=True)
class ThresholdPolicy:
    """Thresholds for one model: a model-wide default plus per-feature overrides.

    A feature override is either a full :class:`Thresholds` or a partial mapping applied on top
    of ``default``. Overrides are resolved (and validated) at construction.
    """

    default: Thresholds = DEFAULT_THRESHOLDS
    features: Mapping[str, FeatureOverride] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.default, Thresholds):
            raise TypeError(f"default must be a Thresholds, got {type(self.default).__name__}")
        resolved = {}
        for feature, override in self.features.items():
            try:
                resolved[feature] = self.default.with_overrides(override)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"thresholds for feature {feature!r}: {exc}") from None
        object.__setattr__(self, "features", MappingProxyType(resolved))

    def for_feature(self, feature: str) -> Thresholds:
        """The thresholds that apply to ``feature``."""
        return self.features.get(feature, self.default)  # type: ignore[return-value]


def resolve_thresholds(
    thresholds: Thresholds | ThresholdPolicy | Mapping[str, object] | None, feature: str
) -> Thresholds:
    """Resolve any accepted threshold configuration to the :class:`Thresholds` of ``feature``.

    ``None`` means the defaults; a mapping is a partial override of the defaults.
    """
    if thresholds is None:
        return DEFAULT_THRESHOLDS
    if isinstance(thresholds, Thresholds):
        return thresholds
    if isinstance(thresholds, ThresholdPolicy):
        return thresholds.for_feature(feature)
    return DEFAULT_THRESHOLDS.with_overrides(thresholds)


def verdict(
    method: str,
    value: float | None,
    p_value: float | None,
    n_ref: float,
    n_cur: float,
    thresholds: Thresholds | None = None,
) -> Verdict:
    """Judge one statistic.

    Returns ``"insufficient"`` when ``min(n_ref, n_cur)`` is below ``min_samples`` (tests) or
    ``min_samples_distance`` (distances), or when the judged quantity (``value`` for distances, ``p_value`` for tests) is missing or NaN.
    Otherwise distances alert when ``value >= alert`` and warn when ``value >= warn``; tests
    alert when ``p_value < p_alert`` and warn when ``p_value < p_warn``.
    """
    t = thresholds if thresholds is not None else DEFAULT_THRESHOLDS
    warn, alert = t.levels(method)
    is_test = method in TEST_METHODS
    if min(n_ref, n_cur) < (t.min_samples if is_test else t.min_samples_distance):
        return "insufficient"
    if is_test:
        if p_value is None or math.isnan(p_value):
            return "insufficient"
        if p_value < alert:
            return "alert"
        if warn is not None and p_value < warn:
            return "warn"
        return "ok"
    if value is None or math.isnan(value):
        return "insufficient"
    if value >= alert:
        return "alert"
    if warn is not None and value >= warn:
        return "warn"
    return "ok"


@dataclass(frozen=True)
class DriftResult:
    """The outcome of one drift method on one feature.

    ``threshold`` is the method's alert level (a p-value level for ``ks``/``chi2``);
    ``p_value`` is ``None`` for distances.
    """

    feature: str
    method: str
    value: float
    p_value: float | None
    verdict: Verdict
    threshold: float
    n_reference: int
    n_current: int
