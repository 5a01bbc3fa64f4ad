"""Drift statistics computed from sketches, never from raw data.

Numeric features are compared as two histograms over a *common* set of bins. Bins are given
either as ascending edges ``e_0 < ... < e_k`` or as ``(lower, upper)`` arrays with
``lower[i] <= upper[i] <= lower[i + 1]``; gaps between bins hold no mass and zero-width bins are
point masses (e.g. an exponential histogram's zero bucket). Where a statistic needs positions
inside a bin (CDF interpolation, Wasserstein, standard deviation) mass is assumed uniform within
the bin. Categorical features are compared as ``category -> count`` mappings.

Notation: ``p`` are reference proportions, ``q`` current proportions, ``n``/``m`` the reference
and current sample sizes. Error bounds versus the same statistic on the raw data:

* KS: ``0 <= D_exact - D_binned <= max_i min(p_i, q_i) <= max bucket mass``.
* Wasserstein-1: ``|W_binned - W_exact| <= sum_i width_i * (p_i + q_i)``.
* PSI / JS / Hellinger are exact on the bins they are computed on; they are functions of the
  binning, not estimates of a continuous quantity.

See ``docs/drift.md`` for formulas, smoothing and defaults.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from mlotel.drift.thresholds import (
    CHI2,
    HELLINGER,
    JS,
    KS,
    PSI,
    WASSERSTEIN,
    DriftResult,
    ThresholdPolicy,
    Thresholds,
    resolve_thresholds,
    verdict,
)

__all__ = [
    "EPSILON",
    "OTHER",
    "UNSEEN",
    "Chi2Result",
    "CommonBins",
    "DriftResult",
    "KSResult",
    "align_exponential_histograms",
    "binned_cdf",
    "binned_quantile",
    "binned_std",
    "categorical_counts",
    "chi2_sf",
    "chi_square_test",
    "compare_categorical",
    "compare_numeric",
    "gammaincc",
    "hellinger_distance",
    "js_distance",
    "kolmogorov_sf",
    "ks_from_cdfs",
    "ks_pvalue",
    "ks_test",
    "normed_wasserstein",
    "psi",
    "quantile_bin_psi",
    "quantile_edges",
    "wasserstein",
]

#: Additive smoothing of proportions for PSI (and chi-square goodness of fit): every
#: proportion becomes ``(p + EPSILON) / (1 + k * EPSILON)`` over ``k`` bins.
EPSILON = 1e-4
#: Category holding everything a top-K sketch did not track.
OTHER = "__other__"
#: Category holding current values the reference never tracked.
UNSEEN = "__unseen__"

Bins = np.ndarray | Sequence[float] | tuple[Any, Any]
ThresholdsLike = Thresholds | ThresholdPolicy | Mapping[str, object] | None


# --------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class CommonBins:
    """Two histograms on the same bins: ``lower``/``upper`` bounds and both count arrays."""

    lower: np.ndarray
    upper: np.ndarray
    reference: np.ndarray
    current: np.ndarray

    @property
    def bins(self) -> tuple[np.ndarray, np.ndarray]:
        return self.lower, self.upper


def _counts(counts: Any, name: str = "counts") -> np.ndarray:
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return arr


def _pair(reference: Any, current: Any) -> tuple[np.ndarray, np.ndarray]:
    ref, cur = _counts(reference, "reference counts"), _counts(current, "current counts")
    if ref.shape != cur.shape:
        raise ValueError(f"reference and current counts differ in length: {ref.size} != {cur.size}")
    return ref, cur


def _bounds(bins: Bins, k: int | None = None, *, finite: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Normalise ``bins`` (edges or a ``(lower, upper)`` pair) to validated bound arrays."""
    if isinstance(bins, tuple) and len(bins) == 2 and np.ndim(bins[0]) == 1:
        lower = np.asarray(bins[0], dtype=np.float64)
        upper = np.asarray(bins[1], dtype=np.float64)
        if lower.shape != upper.shape:
            raise ValueError("lower and upper bounds differ in length")
    else:
        edges = np.asarray(bins, dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2:
            raise ValueError("bin edges must be a 1-D array of at least 2 values")
        if np.any(np.diff(edges) <= 0):
            raise ValueError("bin edges must be strictly ascending")
        lower, upper = edges[:-1], edges[1:]
    if np.any(np.isnan(lower)) or np.any(np.isnan(upper)):
        raise ValueError("bin bounds must not be NaN")
    if finite and not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        raise ValueError("bin bounds must be finite for this statistic")
    if np.any(upper < lower) or np.any(lower[1:] < upper[:-1]):
        raise ValueError("bins must satisfy lower[i] <= upper[i] <= lower[i + 1]")
    if k is not None and lower.size != k:
        raise ValueError(f"{lower.size} bins but {k} counts")
    return lower, upper


def _proportions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total > 0 else np.full_like(counts, np.nan)


def _smooth(p: np.ndarray, epsilon: float) -> np.ndarray:
    return (p + epsilon) / (1.0 + p.size * epsilon)


# --------------------------------------------------------------------------------------------
# Histogram helpers (uniform mass within a bin)


def binned_cdf(bins: Bins, counts: Any, x: Any) -> np.ndarray:
    """CDF ``P(X <= x)`` of a histogram, linear within each bin, evaluated at ``x``.

    Exact at every bin bound; inside a bin the error is at most that bin's mass.
    Returns NaN everywhere for an empty histogram.
    """
    c = _counts(counts)
    lower, upper = _bounds(bins, c.size)
    x = np.asarray(x, dtype=np.float64)
    total = c.sum()
    if total <= 0:
        return np.full(x.shape, np.nan)
    cum = np.concatenate(([0.0], np.cumsum(c)))
    # Bins with upper <= x are wholly included; bin i (first with upper > x) partially.
    i = np.searchsorted(upper, x, side="right")
    j = np.minimum(i, c.size - 1)
    width = upper[j] - lower[j]
    frac = np.clip(np.divide(x - lower[j], width, out=np.zeros_like(x), where=width > 0), 0.0, 1.0)
    partial = np.where(i < c.size, c[j] * frac, 0.0)
    return np.clip((cum[i] + partial) / total, 0.0, 1.0)


def binned_quantile(bins: Bins, counts: Any, q: Any) -> np.ndarray:
    """Quantile of a histogram at probabilities ``q`` (inverse of :func:`binned_cdf`).

    The result lies in the bin holding the ``q``-quantile, so its rank error is at most that
    bin's mass. Returns NaN for an empty histogram.
    """
    c = _counts(counts)
    lower, upper = _bounds(bins, c.size)
    q = np.asarray(q, dtype=np.float64)
    if np.any((q < 0) | (q > 1)):
        raise ValueError("quantile probabilities must lie in [0, 1]")
    total = c.sum()
    if total <= 0:
        return np.full(q.shape, np.nan)
    cum = np.cumsum(c)
    nonempty = np.flatnonzero(c > 0)
    target = q * total
    # First bin whose cumulative count reaches the target, never an empty one.
    i = np.searchsorted(cum, target, side="left")
    i = np.clip(i, nonempty[0], nonempty[-1])
    i = nonempty[np.searchsorted(nonempty, i, side="left")]
    before = cum[i] - c[i]
    frac = np.clip((target - before) / c[i], 0.0, 1.0)
    return lower[i] + frac * (upper[i] - lower[i])


def binned_std(bins: Bins, counts: Any) -> float:
    """Standard deviation of a histogram with uniform mass within each bin.

    Differs from the raw-data standard deviation by at most the widest non-empty bin's width
    (pairing each value with a point of its own bin moves it by at most that). NaN if empty.
    """
    c = _counts(counts)
    lower, upper = _bounds(bins, c.size)
    total = c.sum()
    if total <= 0:
        return math.nan
    p = c / total
    mid, width = (lower + upper) / 2.0, upper - lower
    mean = float(np.dot(p, mid))
    var = float(np.dot(p, (mid - mean) ** 2 + width**2 / 12.0))
    return math.sqrt(max(var, 0.0))


def quantile_edges(bins: Bins, counts: Any, n_bins: int = 10) -> np.ndarray:
    """Interior edges of ``n_bins`` equal-mass bins of a histogram (duplicates dropped).

    These are the reference quantile bins of :func:`quantile_bin_psi`: the bins are
    ``(-inf, e_1], (e_1, e_2], ..., (e_last, inf)``.
    """
    if n_bins < 2:
        raise ValueError("n_bins must be >= 2")
    edges = binned_quantile(bins, counts, np.arange(1, n_bins) / n_bins)
    return np.unique(edges[np.isfinite(edges)])


# --------------------------------------------------------------------------------------------
# Distances on common bins (or categories)


def psi(reference_counts: Any, current_counts: Any, *, epsilon: float = EPSILON) -> float:
    """Population stability index ``sum_i (q_i - p_i) * ln(q_i / p_i)`` on common bins.

    Both proportion vectors are smoothed as ``(p + epsilon) / (1 + k * epsilon)`` so empty bins
    stay finite; with the default ``epsilon = 1e-4`` one bin contributes at most
    ``ln(1 / epsilon) ~= 9.2``. NaN if either side is empty.
    """
    ref, cur = _pair(reference_counts, current_counts)
    return _psi(_proportions(ref), _proportions(cur), epsilon)


def _psi(p: np.ndarray, q: np.ndarray, epsilon: float) -> float:
    if not (epsilon > 0):
        raise ValueError("epsilon must be > 0")
    if p.size == 0 or np.isnan(p).any() or np.isnan(q).any():
        return math.nan
    p, q = _smooth(p, epsilon), _smooth(q, epsilon)
    return float(np.sum((q - p) * np.log(q / p)))


def quantile_bin_psi(
    current_cdf_at_edges: Any,
    reference_cdf_at_edges: Any | None = None,
    *,
    epsilon: float = EPSILON,
) -> float:
    """PSI on the reference's quantile bins, from CDF values at the interior bin edges.

    With interior edges ``e_1 < ... < e_{k-1}`` (e.g. from :func:`quantile_edges`, or stored in
    the reference profile) the bin proportions are ``diff([0, F(e_1), ..., F(e_{k-1}), 1])``.
    ``current_cdf_at_edges`` is the current sketch's CDF at the edges; the reference side
    defaults to the ideal ``j / k`` and should be given when ties made the bins unequal.
    """
    cur_f = np.asarray(current_cdf_at_edges, dtype=np.float64)
    k = cur_f.size + 1
    ref_f = (
        np.arange(1, k) / k if reference_cdf_at_edges is None else np.asarray(reference_cdf_at_edges, float)
    )
    if ref_f.shape != cur_f.shape:
        raise ValueError("reference and current CDF values differ in length")
    for f in (ref_f, cur_f):
        if np.any(np.isnan(f)):
            return math.nan
        if np.any((f < 0) | (f > 1)) or np.any(np.diff(f) < 0):
            raise ValueError("CDF values must be non-decreasing within [0, 1]")
    p = np.diff(np.concatenate(([0.0], ref_f, [1.0])))
    q = np.diff(np.concatenate(([0.0], cur_f, [1.0])))
    return _psi(p, q, epsilon)


def js_distance(reference_counts: Any, current_counts: Any) -> float:
    """Jensen-Shannon distance, base 2: ``sqrt(JSD)`` in ``[0, 1]``.

    ``JSD = (KL(p || m) + KL(q || m)) / 2`` with ``m = (p + q) / 2`` and ``0 * log 0 = 0``, so no
    smoothing is needed. Equals ``scipy.spatial.distance.jensenshannon(p, q, base=2)``.
    """
    ref, cur = _pair(reference_counts, current_counts)
    return _js(_proportions(ref), _proportions(cur))


def _js(p: np.ndarray, q: np.ndarray) -> float:
    if p.size == 0 or np.isnan(p).any() or np.isnan(q).any():
        return math.nan
    m = (p + q) / 2.0
    jsd = (_kl_bits(p, m) + _kl_bits(q, m)) / 2.0
    return math.sqrt(min(max(jsd, 0.0), 1.0))


def _kl_bits(a: np.ndarray, b: np.ndarray) -> float:
    nz = a > 0  # b >= a / 2 > 0 wherever a > 0
    return float(np.sum(a[nz] * np.log2(a[nz] / b[nz])))


def hellinger_distance(reference_counts: Any, current_counts: Any) -> float:
    """Hellinger distance ``sqrt(1 - sum_i sqrt(p_i * q_i))`` in ``[0, 1]``."""
    ref, cur = _pair(reference_counts, current_counts)
    return _hellinger(_proportions(ref), _proportions(cur))


def _hellinger(p: np.ndarray, q: np.ndarray) -> float:
    if p.size == 0 or np.isnan(p).any() or np.isnan(q).any():
        return math.nan
    bc = float(np.sum(np.sqrt(p * q)))
    return math.sqrt(max(1.0 - bc, 0.0))


# --------------------------------------------------------------------------------------------
# Kolmogorov-Smirnov


class KSResult(NamedTuple):
    """KS statistic ``D``, its asymptotic p-value, and ``max_error``: ``0 <= D_exact - D <= max_error``."""

    statistic: float
    p_value: float
    max_error: float


def kolmogorov_sf(x: float) -> float:
    """Survival function of the Kolmogorov distribution, ``P(K > x)``.

    Uses ``2 * sum_k (-1)^(k-1) exp(-2 k^2 x^2)`` for ``x >= 1`` and the Jacobi-theta form
    ``1 - sqrt(2 pi) / x * sum_k exp(-(2k-1)^2 pi^2 / (8 x^2))`` below, each converging to double
    precision within a few terms.
    """
    if math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    if x >= 1.0:
        total, k = 0.0, 1
        while True:
            term = math.exp(-2.0 * k * k * x * x)
            total += term if k % 2 else -term
            if term < 1e-17 * max(total, 1e-300) or k > 100:
                break
            k += 1
        return min(max(2.0 * total, 0.0), 1.0)
    total, k = 0.0, 1
    c = math.pi**2 / (8.0 * x * x)
    while True:
        term = math.exp(-((2 * k - 1) ** 2) * c)
        total += term
        if term < 1e-17 * max(total, 1e-300) or k > 100:
            break
        k += 1
    return min(max(1.0 - math.sqrt(2.0 * math.pi) / x * total, 0.0), 1.0)


def ks_pvalue(statistic: float, n_ref: float, n_cur: float) -> float:
    """Asymptotic two-sided p-value of the two-sample KS statistic.

    Effective size ``n_e = n m / (n + m)``; ``P(D >= d) ~= P(K > lambda)`` with Vrbik's (2018)
    small-sample correction ``lambda = x + 1 / (6 sqrt(n_e)) + (x - 1) / (4 n_e)``,
    ``x = sqrt(n_e) d``. This tracks the one-sample exact law ``scipy.stats.kstwo(n_e)`` (what
    ``ks_2samp(method="asymp")`` uses) within 3e-4 for ``n_e >= 50`` and 3e-5 for ``n_e >= 1000``.
    """
    if n_ref <= 0 or n_cur <= 0 or math.isnan(statistic):
        return math.nan
    ne = n_ref * n_cur / (n_ref + n_cur)
    sn = math.sqrt(ne)
    x = sn * statistic
    return kolmogorov_sf(x + 1.0 / (6.0 * sn) + (x - 1.0) / (4.0 * ne))


def ks_from_cdfs(reference_cdf: Any, current_cdf: Any, n_ref: float, n_cur: float) -> KSResult:
    """KS test from two CDFs evaluated at the same points (the union of both sketches' edges).

    ``D = max |F(x) - G(x)|`` over the points. ``max_error`` is NaN: it needs the bin masses,
    see :func:`ks_test`.
    """
    f = np.asarray(reference_cdf, dtype=np.float64)
    g = np.asarray(current_cdf, dtype=np.float64)
    if f.shape != g.shape:
        raise ValueError("CDF arrays differ in shape")
    d = float(np.max(np.abs(f - g))) if f.size else 0.0
    return KSResult(d, ks_pvalue(d, n_ref, n_cur), math.nan)


def ks_test(reference_counts: Any, current_counts: Any) -> KSResult:
    """Two-sample KS test on common bins (ordered by position).

    ``D = max_j |F(e_j) - G(e_j)|`` over the bin bounds. The binned CDFs are exact there, and
    inside bin ``i`` neither CDF moves by more than its own mass, hence
    ``0 <= D_exact - D <= max_i min(p_i, q_i) <= max bucket mass`` (reported as ``max_error``).
    Binning can only lower ``D``, so the p-value is conservative.
    """
    ref, cur = _pair(reference_counts, current_counts)
    n, m = ref.sum(), cur.sum()
    if n <= 0 or m <= 0:
        return KSResult(math.nan, math.nan, math.nan)
    p, q = ref / n, cur / m
    d = float(np.max(np.abs(np.cumsum(p) - np.cumsum(q))))
    return KSResult(d, ks_pvalue(d, n, m), float(np.max(np.minimum(p, q))))


# --------------------------------------------------------------------------------------------
# Wasserstein-1


def wasserstein(bins: Bins, reference_counts: Any, current_counts: Any) -> float:
    """Wasserstein-1 distance ``integral |F(x) - G(x)| dx`` with uniform mass within bins.

    ``F - G`` is then linear inside each bin and constant across gaps, so the integral is
    computed exactly. Versus the raw data:
    ``|W - W_exact| <= sum_i (upper_i - lower_i) * (p_i + q_i)``. NaN if either side is empty.
    """
    ref, cur = _pair(reference_counts, current_counts)
    lower, upper = _bounds(bins, ref.size)
    n, m = ref.sum(), cur.sum()
    if n <= 0 or m <= 0:
        return math.nan
    diff = np.cumsum(ref / n - cur / m)  # F - G at each bin's upper bound
    before = np.concatenate(([0.0], diff[:-1]))  # ... and at its lower bound
    width = upper - lower
    a, b = np.abs(before), np.abs(diff)
    same_sign = before * diff >= 0
    # Where F - G crosses zero inside the bin, |linear| integrates to w (a^2 + b^2) / (2 (a + b)).
    denom = np.where(same_sign, 1.0, a + b)
    inside = np.where(same_sign, width * (a + b) / 2.0, width * (a * a + b * b) / (2.0 * denom))
    gaps = (lower[1:] - upper[:-1]) * np.abs(diff[:-1])
    return float(inside.sum() + gaps.sum())


def normed_wasserstein(
    bins: Bins, reference_counts: Any, current_counts: Any, *, reference_std: float | None = None
) -> float:
    """:func:`wasserstein` divided by the reference standard deviation.

    ``reference_std`` defaults to :func:`binned_std` of the reference; pass the exact one (e.g.
    from a moments sketch) when known. A zero standard deviation yields ``inf`` if the
    distance is positive and ``0.0`` otherwise.
    """
    w = wasserstein(bins, reference_counts, current_counts)
    std = binned_std(bins, reference_counts) if reference_std is None else float(reference_std)
    if math.isnan(w) or math.isnan(std):
        return math.nan
    if std < 0:
        raise ValueError("reference_std must be >= 0")
    if std == 0:
        return math.inf if w > 0 else 0.0
    return w / std


# --------------------------------------------------------------------------------------------
# Chi-square and the regularized incomplete gamma function


def gammaincc(a: float, x: float) -> float:
    """Regularized upper incomplete gamma ``Q(a, x) = Gamma(a, x) / Gamma(a)``.

    Series for ``P`` when ``x < a + 1``, Lentz continued fraction for ``Q`` otherwise
    (Numerical Recipes 6.2); relative accuracy ~1e-14 where ``Q`` is not in deep underflow.
    """
    if a <= 0:
        raise ValueError("a must be > 0")
    if math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    log_prefactor = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:
        term = total = 1.0 / a
        ap = a
        for _ in range(10_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return min(max(1.0 - total * math.exp(log_prefactor), 0.0), 1.0)
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return min(max(math.exp(log_prefactor) * h, 0.0), 1.0)


def chi2_sf(statistic: float, df: float) -> float:
    """Chi-square survival function ``P(X > statistic) = Q(df / 2, statistic / 2)``."""
    if df <= 0:
        raise ValueError("df must be > 0")
    return gammaincc(df / 2.0, statistic / 2.0)


class Chi2Result(NamedTuple):
    statistic: float
    p_value: float
    df: int


def categorical_counts(
    reference: Mapping[Hashable, float],
    current: Mapping[Hashable, float],
    *,
    pool_unseen: bool = False,
) -> tuple[list[Hashable], np.ndarray, np.ndarray]:
    """Put two ``category -> count`` mappings on common categories.

    Categories are the reference's (including :data:`OTHER` if present), in its order. Current
    categories the reference does not hold go to :data:`UNSEEN` (reference count 0), or into
    :data:`OTHER` with ``pool_unseen=True`` (use that when the reference's top-K tail is large,
    since a tail value the reference saw but did not track also looks unseen). Categories
    empty on both sides are dropped. Returns ``(labels, reference_counts, current_counts)``.
    """
    labels: list[Hashable] = list(reference)
    if OTHER not in reference:
        labels.append(OTHER)
    labels.append(UNSEEN)
    index = {label: i for i, label in enumerate(labels)}
    ref = _counts([reference.get(label, 0.0) for label in labels], "reference counts")
    cur = np.zeros(len(labels))
    for label, count in current.items():
        if label not in reference and (label != OTHER and not pool_unseen):
            label = UNSEEN
        elif label not in reference:
            label = OTHER
        cur[index[label]] += count
    _counts(cur, "current counts")
    # Categories empty on both sides carry no information (and no degree of freedom).
    keep = np.flatnonzero((ref > 0) | (cur > 0))
    return [labels[i] for i in keep], ref[keep], cur[keep]


def chi_square_test(
    reference_counts: Any,
    current_counts: Any,
    *,
    reference_is_sample: bool = True,
    epsilon: float = EPSILON,
) -> Chi2Result:
    """Chi-square test of current versus reference category counts (common categories).

    ``reference_is_sample=True`` (default): test of homogeneity of the two samples,
    ``sum_{s,i} (O_si - E_si)^2 / E_si`` with ``E_si = n_s (R_i + C_i) / (n + m)``; this is
    ``scipy.stats.chi2_contingency(..., correction=False)`` and accounts for the reference's own
    sampling noise. ``False``: goodness of fit of the current counts to the reference
    proportions smoothed with ``epsilon`` (as :func:`psi`), ``sum_i (C_i - m p_i)^2 / (m p_i)``;
    this is ``scipy.stats.chisquare`` and is only calibrated when ``n >> m``.
    Categories empty on both sides are dropped; ``df = k - 1`` over the remaining ``k``.
    """
    ref, cur = _pair(reference_counts, current_counts)
    keep = (ref > 0) | (cur > 0)
    ref, cur = ref[keep], cur[keep]
    n, m = ref.sum(), cur.sum()
    if n <= 0 or m <= 0:
        return Chi2Result(math.nan, math.nan, 0)
    df = ref.size - 1
    if df < 1:
        return Chi2Result(0.0, 1.0, 0)
    if reference_is_sample:
        pooled = (ref + cur) / (n + m)
        stat = float(
            np.sum((ref - n * pooled) ** 2 / (n * pooled)) + np.sum((cur - m * pooled) ** 2 / (m * pooled))
        )
    else:
        expected = m * _smooth(ref / n, epsilon)
        stat = float(np.sum((cur - expected) ** 2 / expected))
    return Chi2Result(stat, chi2_sf(stat, df), df)


# --------------------------------------------------------------------------------------------
# Feature-level comparisons


def compare_numeric(
    feature: str,
    bins: Bins,
    reference_counts: Any,
    current_counts: Any,
    *,
    reference_std: float | None = None,
    psi_edges: Any | None = None,
    n_quantile_bins: int = 10,
    thresholds: ThresholdsLike = None,
) -> list[DriftResult]:
    """All numeric drift methods for one feature: PSI, JS, Hellinger, KS, Wasserstein.

    PSI, JS and Hellinger are computed on the reference's quantile bins (``psi_edges``, the
    interior edges stored in the reference profile, or ``n_quantile_bins`` equal-mass bins of
    the binned reference), with both sides' masses taken from the binned CDFs. Coarse
    equal-mass bins keep these distances free of the small-sample bias they have on fine bins
    (roughly ``k / (8 n)`` in ``H^2`` over ``k`` sparse bins). KS and Wasserstein use the full
    resolution of ``bins``.
    """
    ref, cur = _pair(reference_counts, current_counts)
    lower, upper = _bounds(bins, ref.size)
    t = resolve_thresholds(thresholds, feature)
    n, m = float(ref.sum()), float(cur.sum())

    if psi_edges is None:
        edges = quantile_edges((lower, upper), ref, n_quantile_bins) if n > 0 else np.empty(0)
    else:
        edges = np.unique(np.asarray(psi_edges, dtype=np.float64))
    if n > 0 and m > 0:
        f = binned_cdf((lower, upper), ref, edges)
        g = binned_cdf((lower, upper), cur, edges)
        p = np.diff(np.concatenate(([0.0], f, [1.0])))
        q = np.diff(np.concatenate(([0.0], g, [1.0])))
        psi_value = quantile_bin_psi(g, f)
    else:
        p = q = np.full(edges.size + 1, np.nan)
        psi_value = math.nan
    ks = ks_test(ref, cur)
    values = {
        PSI: (psi_value, None),
        JS: (_js(p, q), None),
        HELLINGER: (_hellinger(p, q), None),
        KS: (ks.statistic, ks.p_value),
        WASSERSTEIN: (normed_wasserstein((lower, upper), ref, cur, reference_std=reference_std), None),
    }
    return [_result(feature, method, v, pv, n, m, t) for method, (v, pv) in values.items()]


def compare_categorical(
    feature: str,
    reference: Mapping[Hashable, float],
    current: Mapping[Hashable, float],
    *,
    reference_is_sample: bool = True,
    pool_unseen: bool = False,
    epsilon: float = EPSILON,
    thresholds: ThresholdsLike = None,
) -> list[DriftResult]:
    """All categorical drift methods for one feature: chi-square, JS and PSI over categories.

    Categories are aligned by :func:`categorical_counts` (unseen values form their own
    :data:`UNSEEN` category).
    """
    _, ref, cur = categorical_counts(reference, current, pool_unseen=pool_unseen)
    t = resolve_thresholds(thresholds, feature)
    n, m = float(ref.sum()), float(cur.sum())
    chi = chi_square_test(ref, cur, reference_is_sample=reference_is_sample, epsilon=epsilon)
    p, q = _proportions(ref), _proportions(cur)
    values = {
        CHI2: (chi.statistic, chi.p_value),
        JS: (_js(p, q), None),
        PSI: (_psi(p, q, epsilon), None),
    }
    return [_result(feature, method, v, pv, n, m, t) for method, (v, pv) in values.items()]


def _result(
    feature: str, method: str, value: float, p_value: float | None, n: float, m: float, t: Thresholds
) -> DriftResult:
    return DriftResult(
        feature=feature,
        method=method,
        value=float(value),
        p_value=None if p_value is None else float(p_value),
        verdict=verdict(method, value, p_value, n, m, t),
        threshold=t.alert_threshold(method),
        n_reference=int(round(n)),
        n_current=int(round(m)),
    )


# --------------------------------------------------------------------------------------------
# Exponential histograms -> common bins


def align_exponential_histograms(reference: Any, current: Any) -> CommonBins:
    """Put two base-2 exponential histograms on common bins.

    The finer histogram is downscaled to the coarser scale (bucket index ``i >> k``, exact
    since a bucket at scale ``s`` nests in bucket ``i >> k`` at scale ``s - k``). Only buckets
    non-empty on either side are returned, ordered by value: negative buckets
    ``[-base^(i+1), -base^i)``, the zero bucket ``[-zero_threshold, zero_threshold]`` and positive
    buckets ``(base^i, base^(i+1)]`` with ``base = 2 ** 2 ** -scale``. The outermost bounds are
    clamped to the observed ``min``/``max`` of both histograms when those are finite. Missing
    values and infinities (``missing``, ``pos_inf``, ``neg_inf``) are not part of either
    distribution.
    """
    scale = min(int(reference.scale), int(current.scale))
    sides = []
    for h in (reference, current):
        shift = int(h.scale) - scale
        sides.append(
            (
                _downscaled(h.negative, shift),
                float(getattr(h, "zero_count", 0)),
                _downscaled(h.positive, shift),
            )
        )
    neg_idx = np.union1d(sides[0][0][0], sides[1][0][0])[::-1]  # most negative values first
    pos_idx = np.union1d(sides[0][2][0], sides[1][2][0])
    has_zero = sides[0][1] > 0 or sides[1][1] > 0
    zt = max(float(getattr(h, "zero_threshold", 0.0) or 0.0) for h in (reference, current))

    counts = []
    for neg, zero, pos in sides:
        parts = [_spread(neg, neg_idx)]
        if has_zero:
            parts.append(np.array([zero]))
        parts.append(_spread(pos, pos_idx))
        counts.append(np.concatenate(parts))

    with np.errstate(over="ignore"):
        lower = np.concatenate(
            (
                -_boundary(neg_idx + 1, scale),
                [-zt if zt else 0.0] if has_zero else [],
                _boundary(pos_idx, scale),
            )
        )
        upper = np.concatenate(
            (
                -_boundary(neg_idx, scale),
                [zt] if has_zero else [],
                _boundary(pos_idx + 1, scale),
            )
        )
    lo = [float(v) for v in (getattr(reference, "min", None), getattr(current, "min", None)) if _finite(v)]
    hi = [float(v) for v in (getattr(reference, "max", None), getattr(current, "max", None)) if _finite(v)]
    if lo:
        lower, upper = np.maximum(lower, min(lo)), np.maximum(upper, min(lo))
    if hi:
        lower, upper = np.minimum(lower, max(hi)), np.minimum(upper, max(hi))
    return CommonBins(lower, upper, counts[0], counts[1])


def _downscaled(store: Any, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-empty ``(indices, counts)`` of a bucket store after merging ``2**shift`` buckets."""
    c = np.asarray(getattr(store, "counts", ()), dtype=np.float64).ravel()
    if c.size == 0:
        return np.empty(0, np.int64), np.empty(0)
    idx = int(store.offset) + np.arange(c.size, dtype=np.int64)
    nz = c > 0
    idx, c = idx[nz] >> shift, c[nz]  # arithmetic shift: floor(i / 2**shift), also for i < 0
    uniq, inverse = np.unique(idx, return_inverse=True)
    return uniq, np.bincount(inverse, weights=c, minlength=uniq.size)


def _spread(side: tuple[np.ndarray, np.ndarray], indices: np.ndarray) -> np.ndarray:
    idx, c = side
    out = np.zeros(indices.size)
    if idx.size:
        order = np.argsort(indices)
        out[order[np.searchsorted(indices[order], idx)]] = c
    return out


def _boundary(index: np.ndarray, scale: int) -> np.ndarray:
    """``base ** index`` for ``base = 2 ** 2 ** -scale``; exact for ``scale <= 0``."""
    index = np.asarray(index, dtype=np.int64)
    if scale <= 0:
        return np.ldexp(1.0, index << -scale)
    return np.exp2(index / float(1 << scale))


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False
