"""Drift statistics and thresholds, checked against exact statistics on raw data (scipy).

Histograms built with ``numpy.histogram`` stand in for sketches: the statistics only ever see
bins and counts. ``align_exponential_histograms`` is checked against bucket indices computed
here from the raw values, and against real ``ExponentialHistogram``s when the sketches package
is importable.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

from mlotel.drift.statistics import (
    EPSILON,
    OTHER,
    UNSEEN,
    align_exponential_histograms,
    binned_cdf,
    binned_quantile,
    binned_std,
    categorical_counts,
    chi2_sf,
    chi_square_test,
    compare_categorical,
    compare_numeric,
    gammaincc,
    hellinger_distance,
    js_distance,
    kolmogorov_sf,
    ks_from_cdfs,
    ks_pvalue,
    ks_test,
    normed_wasserstein,
    psi,
    quantile_bin_psi,
    quantile_edges,
    wasserstein,
)
from mlotel.drift.thresholds import (
    METHODS,
    DriftResult,
    ThresholdPolicy,
    Thresholds,
    resolve_thresholds,
    verdict,
)

N = 5000
FINE_LINEAR = np.linspace(-12.0, 12.0, 4801)  # width 0.005


def _sample(dist: str, rng: np.random.Generator, n: int = N) -> np.ndarray:
    if dist == "normal":
        return rng.normal(0.0, 1.0, n)
    if dist == "lognormal":
        return rng.lognormal(0.0, 0.6, n)
    if dist == "exponential":
        return rng.exponential(1.0, n)
    if dist == "bimodal":
        return np.where(rng.random(n) < 0.3, rng.normal(-2.0, 0.5, n), rng.normal(1.0, 1.0, n))
    raise AssertionError(dist)


DISTS = ("normal", "lognormal", "exponential", "bimodal")


def _log_edges(lo: float, hi: float, per_octave: int) -> np.ndarray:
    """Log-spaced edges like an exponential histogram at scale log2(per_octave), plus 0."""
    k = np.arange(math.floor(math.log2(lo) * per_octave), math.ceil(math.log2(hi) * per_octave) + 1)
    return np.concatenate(([0.0], 2.0 ** (k / per_octave)))


def _hist(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts, _ = np.histogram(x, edges)
    assert counts.sum() == x.size, "stand-in bins must cover the data"
    return counts


# --------------------------------------------------------------------------------------------
# Special functions


def test_kolmogorov_sf_matches_scipy():
    xs = np.concatenate((np.linspace(0.01, 3.5, 400), [0.0, 1.0, 5.0, 8.0]))
    ours = np.array([kolmogorov_sf(x) for x in xs])
    np.testing.assert_allclose(ours, special.kolmogorov(xs), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("n,m", [(100, 100), (150, 400), (1000, 3000), (5000, 5000), (20000, 7000)])
def test_ks_pvalue_matches_kstwo_with_effective_n(n, m):
    ne = n * m / (n + m)
    d = np.linspace(0.002, 0.4, 300)
    expected = stats.kstwo.sf(d, round(ne))
    ours = np.array([ks_pvalue(x, n, m) for x in d])
    np.testing.assert_allclose(ours, expected, atol=1e-3)


@pytest.mark.parametrize("a", [0.5, 1.0, 2.5, 7.0, 30.0, 250.0])
def test_gammaincc_matches_scipy(a):
    xs = np.concatenate(([0.0, 1e-8], np.linspace(0.01, 4 * a + 40, 300)))
    ours = np.array([gammaincc(a, x) for x in xs])
    expected = special.gammaincc(a, xs)
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-300)


def test_chi2_sf_matches_scipy():
    for df in (1, 2, 3, 9, 40, 199):
        xs = np.linspace(0.0, 3 * df + 30, 120)
        np.testing.assert_allclose(
            [chi2_sf(x, df) for x in xs], stats.chi2.sf(xs, df), rtol=1e-10, atol=1e-300
        )


# --------------------------------------------------------------------------------------------
# Distances on given bins


def test_js_and_hellinger_match_definitions():
    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.integers(0, 50, 30) * (rng.random(30) < 0.7)
        b = rng.integers(0, 50, 30) * (rng.random(30) < 0.7)
        assert js_distance(a, b) == pytest.approx(jensenshannon(a, b, base=2), abs=1e-12)
        p, q = a / a.sum(), b / b.sum()
        expected_h = math.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2))
        assert hellinger_distance(a, b) == pytest.approx(expected_h, abs=1e-12)
    assert js_distance([1, 2, 3], [2, 4, 6]) == 0.0
    assert hellinger_distance([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0, abs=1e-7)
    assert js_distance([5, 0], [0, 5]) == pytest.approx(1.0)
    assert hellinger_distance([5, 0], [0, 5]) == pytest.approx(1.0)
    assert math.isnan(js_distance([0, 0], [1, 2]))


def test_psi_formula_and_smoothing():
    # Hand computation with the documented smoothing (p + eps) / (1 + k eps).
    ref, cur = np.array([50, 30, 20, 0]), np.array([40, 30, 20, 10])
    p = (ref / 100 + EPSILON) / (1 + 4 * EPSILON)
    q = (cur / 100 + EPSILON) / (1 + 4 * EPSILON)
    assert psi(ref, cur) == pytest.approx(float(np.sum((q - p) * np.log(q / p))), rel=1e-12)
    # An emptied bin stays finite: 10% of the mass into an empty bin costs ~0.1 ln(0.1 / 1e-4).
    assert 0.1 * math.log(1e3) < psi(ref, cur) < 0.1 * math.log(1e3) + 0.05
    assert psi([3, 4, 5], [6, 8, 10]) == pytest.approx(0.0, abs=1e-15)
    assert psi(ref, cur) == pytest.approx(psi(cur, ref), rel=1e-12)  # symmetric


def test_binned_cdf_and_quantile():
    bins = (
        np.array([-3.0, -1.0, 0.0, 1.0, 4.0]),
        np.array([-2.0, -0.5, 0.0, 2.0, 8.0]),
    )  # gaps, a point mass
    counts = np.array([10, 10, 20, 40, 20])
    f = binned_cdf(bins, counts, [-5, -2, -1.5, -0.5, -0.1, 0.0, 1.5, 3.0, 6.0, 9.0])
    np.testing.assert_allclose(f, [0, 0.1, 0.1, 0.2, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0])
    q = binned_quantile(bins, counts, [0.0, 0.05, 0.3, 0.6, 0.9, 1.0])
    np.testing.assert_allclose(q, [-3.0, -2.5, 0.0, 1.5, 6.0, 8.0])
    np.testing.assert_allclose(
        binned_cdf(bins, counts, binned_quantile(bins, counts, [0.15, 0.6, 0.95])), [0.15, 0.6, 0.95]
    )
    # Empty bins are never chosen for a quantile.
    assert binned_quantile([0, 1, 2, 3], [5, 0, 5], 0.5) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="lower"):
        binned_cdf((np.array([0.0, 1.0]), np.array([2.0, 3.0])), [1, 1], 0.5)
    with pytest.raises(ValueError, match="ascending"):
        binned_cdf([0.0, 2.0, 1.0], [1, 1], 0.5)


@pytest.mark.parametrize("dist", DISTS)
def test_ks_within_bucket_mass_bound(dist):
    rng = np.random.default_rng(11)
    a, b = _sample(dist, rng), _sample(dist, rng) * 1.05 + 0.05
    exact = stats.ks_2samp(a, b).statistic
    for edges in (FINE_LINEAR, np.linspace(-12.0, 12.0, 49)):  # fine, and coarse (0.5 wide)
        res = ks_test(_hist(a, edges), _hist(b, edges))
        assert 0.0 <= exact - res.statistic <= res.max_error + 1e-12
    fine = ks_test(_hist(a, FINE_LINEAR), _hist(b, FINE_LINEAR))
    assert abs(fine.statistic - exact) < 0.02
    assert fine.p_value == pytest.approx(stats.kstwo.sf(fine.statistic, round(N / 2)), abs=1e-3)


def test_ks_on_log_spaced_bins_and_from_cdfs():
    rng = np.random.default_rng(5)
    a, b = rng.lognormal(0, 1, N), rng.lognormal(0.1, 1.1, 3000)
    edges = _log_edges(min(a.min(), b.min()), max(a.max(), b.max()), 32)
    res = ks_test(_hist(a, edges), _hist(b, edges))
    exact = stats.ks_2samp(a, b).statistic
    assert 0.0 <= exact - res.statistic <= res.max_error + 1e-12 and res.max_error < 0.02
    from_cdfs = ks_from_cdfs(
        binned_cdf(edges, _hist(a, edges), edges), binned_cdf(edges, _hist(b, edges), edges), N, 3000
    )
    assert from_cdfs.statistic == pytest.approx(res.statistic, abs=1e-12)
    assert from_cdfs.p_value == pytest.approx(res.p_value, abs=1e-12)


@pytest.mark.parametrize("dist", DISTS)
def test_normed_wasserstein_vs_scipy(dist):
    rng = np.random.default_rng(17)
    a, b = _sample(dist, rng), _sample(dist, rng) + 0.2
    ca, cb = _hist(a, FINE_LINEAR), _hist(b, FINE_LINEAR)
    exact = stats.wasserstein_distance(a, b)
    width = np.diff(FINE_LINEAR)
    bound = float(np.sum(width * (ca / ca.sum() + cb / cb.sum())))
    assert abs(wasserstein(FINE_LINEAR, ca, cb) - exact) <= bound
    assert normed_wasserstein(FINE_LINEAR, ca, cb) == pytest.approx(exact / a.std(), abs=0.02)
    assert normed_wasserstein(FINE_LINEAR, ca, cb, reference_std=a.std()) == pytest.approx(
        exact / a.std(), abs=0.02
    )
    assert binned_std(FINE_LINEAR, ca) == pytest.approx(a.std(), abs=0.0025)


def test_wasserstein_exact_cases():
    assert wasserstein([0.0, 1.0, 2.0], [1, 0], [0, 1]) == pytest.approx(1.0)
    # A gap of width 1 between the bins: uniform [0,1] vs uniform [2,3] are 2 apart.
    gap = (np.array([0.0, 2.0]), np.array([1.0, 3.0]))
    assert wasserstein(gap, [4, 0], [0, 4]) == pytest.approx(2.0)
    # F - G changes sign inside a bin: [0,1] uniform vs half point mass at 0 (zero-width bin)
    # and half uniform on [0,1]: W = int_0^1 |x - (1/2 + x/2)| dx = 1/4.
    bins = (np.array([0.0, 0.0]), np.array([0.0, 1.0]))
    assert wasserstein(bins, [0, 2], [1, 1]) == pytest.approx(0.25)
    # Point masses at 0 and 1 against uniform on [0, 1]: 1/4 again, through a crossing.
    assert wasserstein(
        (np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 1.0])), [1, 0, 1], [0, 1, 0]
    ) == pytest.approx(0.25)
    assert normed_wasserstein([0, 1, 2], [3, 0], [3, 0]) == 0.0
    assert normed_wasserstein([0, 1, 2], [3, 0], [0, 3], reference_std=0.0) == math.inf


@pytest.mark.parametrize("shift,scale", [(0.3, 1.0), (0.0, 1.4), (0.5, 0.8)])
def test_quantile_bin_psi_js_hellinger_vs_raw_counts(shift, scale):
    """Current masses from a fine binned CDF at the reference deciles vs exact raw counts."""
    rng = np.random.default_rng(23)
    a, b = rng.normal(0, 1, N), rng.normal(shift, scale, N)
    deciles = np.quantile(a, np.arange(1, 10) / 10)
    closed = np.concatenate(([-np.inf], deciles, [np.inf]))
    exact_a, exact_b = _hist(a, closed), _hist(b, closed)
    ca, cb = _hist(a, FINE_LINEAR), _hist(b, FINE_LINEAR)
    got = {r.method: r.value for r in compare_numeric("x", FINE_LINEAR, ca, cb, psi_edges=deciles)}
    assert got["psi"] == pytest.approx(psi(exact_a, exact_b), rel=0.05)
    assert got["js"] == pytest.approx(jensenshannon(exact_a, exact_b, base=2), rel=0.05)
    assert got["hellinger"] == pytest.approx(hellinger_distance(exact_a, exact_b), rel=0.05)
    # quantile_bin_psi directly, with the ideal reference 1/10 per bin.
    g = binned_cdf(FINE_LINEAR, cb, deciles)
    assert quantile_bin_psi(g) == pytest.approx(psi(np.full(10, 1), exact_b), rel=0.05)
    # Edges derived from the binned reference are the raw deciles to within a bin width.
    np.testing.assert_allclose(quantile_edges(FINE_LINEAR, ca, 10), deciles, atol=0.005)


# --------------------------------------------------------------------------------------------
# Categorical


def test_categorical_counts_alignment():
    ref = {"a": 50, "b": 30, OTHER: 20, "never": 0}
    cur = {"a": 40, "z": 7, OTHER: 5, "y": 3, "b": 45}
    labels, r, c = categorical_counts(ref, cur)
    assert labels == ["a", "b", OTHER, UNSEEN]
    np.testing.assert_array_equal(r, [50, 30, 20, 0])
    np.testing.assert_array_equal(c, [40, 45, 5, 10])
    labels, r, c = categorical_counts(ref, cur, pool_unseen=True)
    assert labels == ["a", "b", OTHER]
    np.testing.assert_array_equal(c, [40, 45, 15])
    labels, r, c = categorical_counts({"a": 5, "b": 5}, {"a": 3, OTHER: 2})
    assert labels == ["a", "b", OTHER] and list(r) == [5, 5, 0] and list(c) == [3, 0, 2]


def test_chi_square_vs_scipy():
    rng = np.random.default_rng(29)
    for _ in range(10):
        ref = rng.integers(1, 400, 7).astype(float)
        cur = rng.integers(1, 400, 7).astype(float)
        two = chi_square_test(ref, cur)
        c2, p, dof, _ = stats.chi2_contingency(np.vstack((ref, cur)), correction=False)
        assert two.statistic == pytest.approx(c2, rel=1e-10)
        assert two.p_value == pytest.approx(p, rel=1e-6, abs=1e-12)
        assert two.df == dof == 6
        gof = chi_square_test(ref, cur, reference_is_sample=False)
        expected = cur.sum() * (ref / ref.sum() + EPSILON) / (1 + ref.size * EPSILON)
        sc = stats.chisquare(cur, f_exp=expected)
        assert gof.statistic == pytest.approx(sc.statistic, rel=1e-10)
        assert gof.p_value == pytest.approx(sc.pvalue, rel=1e-6, abs=1e-12)
    # Categories empty on both sides do not count as degrees of freedom.
    assert chi_square_test([5, 0, 5], [4, 0, 6]).df == 1
    assert chi_square_test([5, 0], [5, 0]) == (0.0, 1.0, 0)


def test_categorical_values_vs_definitions():
    ref = {"a": 500, "b": 300, OTHER: 200}
    cur = {"a": 400, "b": 250, "new": 200, OTHER: 150}
    results = {r.method: r for r in compare_categorical("c", ref, cur)}
    r, c = np.array([500, 300, 200, 0]), np.array([400, 250, 150, 200])
    assert results["js"].value == pytest.approx(jensenshannon(r, c, base=2), abs=1e-12)
    assert results["psi"].value == pytest.approx(psi(r, c), abs=1e-12)
    assert results["chi2"].p_value == pytest.approx(stats.chi2_contingency(np.vstack((r, c)))[1], abs=1e-12)
    assert results["chi2"].n_reference == 1000 and results["chi2"].n_current == 1000


# --------------------------------------------------------------------------------------------
# Verdicts on realistic data: no false alarms, clear alarms


def test_no_false_alarm_on_same_distribution():
    """Distances never alert at n = 5000; the tests alert at about their nominal 5% rate.

    A p-value test at level 0.05 *must* fire on ~5% of same-distribution pairs, so that is
    what is asserted: at most 9 of 60 (a Binomial(60, 0.05) exceeds 9 with probability 0.2%).
    """
    ks_alarms = chi_alarms = trials = 0
    for dist in DISTS:
        for seed in range(15):
            rng = np.random.default_rng(1000 + seed)
            a, b = _sample(dist, rng), _sample(dist, rng)
            edges = FINE_LINEAR if dist in ("normal", "bimodal") else _log_edges(1e-4, 1e3, 32)
            for res in compare_numeric(dist, edges, _hist(a, edges), _hist(b, edges)):
                if res.method == "ks":
                    ks_alarms += res.verdict == "alert"
                else:
                    assert res.verdict == "ok", res
            probs = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
            ref = dict(zip("abcdef", rng.multinomial(N, probs), strict=True))
            cur = dict(zip("abcdef", rng.multinomial(N, probs), strict=True))
            for res in compare_categorical("cat", ref, cur):
                if res.method == "chi2":
                    chi_alarms += res.verdict == "alert"
                else:
                    assert res.verdict == "ok", res
            trials += 1
    assert trials == 60
    assert ks_alarms <= 9 and chi_alarms <= 9


@pytest.mark.parametrize("dist", DISTS)
def test_alarm_on_half_std_mean_shift(dist):
    rng = np.random.default_rng(41)
    a = _sample(dist, rng)
    b = _sample(dist, rng) + 0.5 * a.std()
    edges = FINE_LINEAR if dist in ("normal", "bimodal") else _log_edges(1e-4, 1e3, 32)
    results = compare_numeric(dist, edges, _hist(a, edges), _hist(b, edges))
    assert {r.method for r in results} == {"psi", "js", "hellinger", "ks", "wasserstein"}
    for r in results:
        assert r.verdict == "alert", r
    w = next(r for r in results if r.method == "wasserstein")
    assert w.value == pytest.approx(stats.wasserstein_distance(a, b) / a.std(), abs=0.02)
    assert 0.4 < w.value < 0.6


def test_alarm_on_new_category_in_20_percent():
    rng = np.random.default_rng(43)
    probs = np.array([0.4, 0.25, 0.15, 0.1, 0.1])
    ref = dict(zip(["a", "b", "c", "d", OTHER], rng.multinomial(N, probs), strict=True))
    cur = dict(zip(["a", "b", "c", "d", OTHER], rng.multinomial(int(N * 0.8), probs), strict=True))
    cur["brand-new"] = N - sum(cur.values())
    results = {r.method: r for r in compare_categorical("cat", ref, cur)}
    assert all(r.verdict == "alert" for r in results.values()), results
    assert results["chi2"].p_value < 1e-100
    assert results["psi"].value > 1.0 and results["js"].value > 0.3


def test_small_samples_are_insufficient():
    rng = np.random.default_rng(47)
    a, b = rng.normal(0, 1, 500), rng.normal(3, 1, 50)
    results = compare_numeric("x", FINE_LINEAR, _hist(a, FINE_LINEAR), _hist(b, FINE_LINEAR))
    assert {r.verdict for r in results} == {"insufficient"}
    results = compare_numeric(
        "x", FINE_LINEAR, _hist(a, FINE_LINEAR), _hist(b, FINE_LINEAR), thresholds={"min_samples": 50}
    )
    verdicts = {r.method: r.verdict for r in results}
    assert verdicts["ks"] == "alert" and verdicts["psi"] == "insufficient"
    empty = compare_numeric("x", FINE_LINEAR, _hist(a, FINE_LINEAR), np.zeros(FINE_LINEAR.size - 1))
    assert all(r.verdict == "insufficient" and r.n_current == 0 for r in empty)
    assert all(math.isnan(r.value) for r in empty)


# --------------------------------------------------------------------------------------------
# Thresholds


def test_verdict_levels():
    t = Thresholds()
    assert verdict("psi", 0.05, None, 5000, 5000, t) == "ok"
    assert verdict("psi", 0.1, None, 5000, 5000, t) == "warn"
    assert verdict("psi", 0.2, None, 5000, 5000, t) == "alert"
    assert verdict("js", 0.099, None, 5000, 5000, t) == "ok"
    assert verdict("hellinger", 0.1, None, 5000, 5000, t) == "alert"
    assert verdict("wasserstein", math.inf, None, 5000, 5000, t) == "alert"
    assert verdict("ks", 0.3, 0.05, 100, 100, t) == "ok"
    assert verdict("ks", 0.3, 0.0499, 100, 100, t) == "alert"
    assert verdict("chi2", 10.0, 0.04, 99, 1000, t) == "insufficient"
    assert verdict("psi", 0.5, None, 999, 5000, t) == "insufficient"
    assert verdict("psi", math.nan, None, 5000, 5000, t) == "insufficient"
    assert verdict("ks", 0.1, None, 5000, 5000, t) == "insufficient"
    warned = Thresholds(ks_p_warn=0.1)
    assert verdict("ks", 0.1, 0.07, 500, 500, warned) == "warn"
    with pytest.raises(ValueError, match="unknown drift method"):
        verdict("kl", 0.1, None, 500, 500, t)


def test_threshold_validation():
    with pytest.raises(ValueError, match="psi_warn .* must be <= psi_alert"):
        Thresholds(psi_warn=0.3)
    with pytest.raises(ValueError, match="ks_p_alert must be in"):
        Thresholds(ks_p_alert=1.5)
    with pytest.raises(ValueError, match="chi2_p_warn .* must be >= chi2_p_alert"):
        Thresholds(chi2_p_warn=0.01)
    with pytest.raises(ValueError, match="js_alert must be in"):
        Thresholds(js_alert=0.0)
    with pytest.raises(ValueError, match="hellinger_alert must be a number"):
        Thresholds(hellinger_alert="0.1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_samples must be an int"):
        Thresholds(min_samples=0)
    with pytest.raises(ValueError, match="unknown threshold setting.*'psi_alrt'"):
        Thresholds().with_overrides({"psi_alrt": 0.3})
    Thresholds(js_alert=math.inf, ks_p_alert=0.0)  # disabling a level is allowed
    assert set(METHODS) == {"psi", "js", "hellinger", "wasserstein", "ks", "chi2"}


def test_threshold_policy_per_feature():
    model = Thresholds(psi_alert=0.3, psi_warn=0.15)
    policy = ThresholdPolicy(
        default=model,
        features={"age": {"psi_alert": 0.5}, "country": Thresholds(chi2_p_alert=0.001)},
    )
    assert policy.for_feature("income") is model
    assert policy.for_feature("age").psi_alert == 0.5 and policy.for_feature("age").psi_warn == 0.15
    assert policy.for_feature("country") == Thresholds(chi2_p_alert=0.001)
    assert resolve_thresholds(policy, "age").psi_alert == 0.5
    assert resolve_thresholds(None, "x") == Thresholds()
    assert resolve_thresholds({"js_alert": 0.2}, "x").js_alert == 0.2
    with pytest.raises(ValueError, match="feature 'age'.*psi_warn"):
        ThresholdPolicy(features={"age": {"psi_warn": 0.9}})
    results = compare_numeric("age", [0, 1, 2, 3], [500, 500, 500], [500, 500, 500], thresholds=policy)
    assert next(r for r in results if r.method == "psi").threshold == 0.5
    assert all(isinstance(r, DriftResult) for r in results)


# --------------------------------------------------------------------------------------------
# Exponential histograms -> common bins


def _bucket_index(v: np.ndarray, scale: int) -> np.ndarray:
    """Bucket of |v| at ``scale``: i with base^i < |v| <= base^(i+1) (computed via log2)."""
    return (np.ceil(np.log2(np.abs(v)) * 2.0**scale) - 1).astype(np.int64)


def _contract_histogram(values: np.ndarray, scale: int) -> SimpleNamespace:
    """Data shaped as the ExponentialHistogram contract, filled from raw values."""

    def store(v):
        if v.size == 0:
            return SimpleNamespace(offset=0, counts=np.zeros(0, np.int64))
        idx = _bucket_index(v, scale)
        return SimpleNamespace(offset=int(idx.min()), counts=np.bincount(idx - idx.min()))

    return SimpleNamespace(
        scale=scale,
        zero_count=int(np.sum(values == 0)),
        positive=store(values[values > 0]),
        negative=store(values[values < 0]),
        count=values.size,
        min=float(values.min()),
        max=float(values.max()),
    )


def test_align_exponential_histograms_downscales_and_aligns():
    rng = np.random.default_rng(53)
    a = np.concatenate((rng.normal(0, 3, 4000), np.zeros(37)))
    b = rng.normal(1, 2, 3000)
    bins = align_exponential_histograms(_contract_histogram(a, 6), _contract_histogram(b, 4))
    # Ground truth: bucket every raw value at the common (coarser) scale directly.
    for raw, counts in ((a, bins.reference), (b, bins.current)):
        expected = {}
        for v in raw:
            key = (
                ("zero", 0)
                if v == 0
                else ("pos" if v > 0 else "neg", int(_bucket_index(np.array([v]), 4)[0]))
            )
            expected[key] = expected.get(key, 0) + 1
        got = {}
        mids = (bins.lower + bins.upper) / 2
        for mid, lo, c in zip(mids, bins.lower, counts, strict=True):
            if c:
                key = (
                    ("zero", 0)
                    if mid == 0 == lo
                    else ("pos" if mid > 0 else "neg", int(_bucket_index(np.array([mid]), 4)[0]))
                )
                got[key] = got.get(key, 0) + c
        assert got == expected
    assert np.all(bins.lower <= bins.upper) and np.all(bins.upper[:-1] <= bins.lower[1:])
    assert bins.lower[0] == min(a.min(), b.min()) and bins.upper[-1] == max(a.max(), b.max())
    # Bucket bounds contain their raw values: KS from the aligned bins obeys the bound.
    res = ks_test(bins.reference, bins.current)
    exact = stats.ks_2samp(a, b).statistic
    assert 0.0 <= exact - res.statistic <= res.max_error + 1e-12


def _sketches():
    sketches = pytest.importorskip("mlotel.sketches")
    if not hasattr(sketches, "ExponentialHistogram"):
        pytest.skip("mlotel.sketches.ExponentialHistogram is not available")
    return sketches


def test_align_with_real_exponential_histograms():
    sketches = _sketches()
    rng = np.random.default_rng(59)
    a = np.concatenate((rng.lognormal(0, 1, N - 50), np.zeros(50)))
    b = rng.lognormal(0.5, 1, N) - 0.2  # some negatives
    ha, hb = sketches.ExponentialHistogram(max_size=1600), sketches.ExponentialHistogram(max_size=500)
    ha.update(a)
    hb.update(b)
    assert ha.scale >= 5 and hb.scale >= 5, (ha.scale, hb.scale)
    assert ha.scale != hb.scale  # exercises the downscaling
    bins = align_exponential_histograms(ha, hb)
    assert bins.reference.sum() == N and bins.current.sum() == N
    assert np.all(bins.lower <= bins.upper) and np.all(bins.upper[:-1] <= bins.lower[1:])
    # Aligned counts are the raw counts on the aligned buckets.
    np.testing.assert_array_equal(bins.reference, _hist_on(a, bins))
    np.testing.assert_array_equal(bins.current, _hist_on(b, bins))
    res = ks_test(bins.reference, bins.current)
    exact = stats.ks_2samp(a, b)
    assert 0.0 <= exact.statistic - res.statistic <= res.max_error + 1e-12
    assert abs(exact.statistic - res.statistic) < 0.02
    assert res.p_value == pytest.approx(stats.kstwo.sf(res.statistic, round(N / 2)), abs=1e-3)
    w = normed_wasserstein(bins.bins, bins.reference, bins.current, reference_std=a.std())
    assert w == pytest.approx(stats.wasserstein_distance(a, b) / a.std(), abs=0.02)
    # PSI on the reference deciles, current masses from the sketch's own CDF.
    deciles = np.quantile(a, np.arange(1, 10) / 10)
    exact_b = _hist(b, np.concatenate(([-np.inf], deciles, [np.inf])))
    assert quantile_bin_psi(hb.cdf(deciles)) == pytest.approx(psi(np.ones(10), exact_b), rel=0.05)
    got = {
        r.method: r for r in compare_numeric("x", bins.bins, bins.reference, bins.current, psi_edges=deciles)
    }
    exact_a = _hist(a, np.concatenate(([-np.inf], deciles, [np.inf])))
    assert got["psi"].value == pytest.approx(psi(exact_a, exact_b), rel=0.05)
    assert got["js"].value == pytest.approx(jensenshannon(exact_a, exact_b, base=2), rel=0.05)
    assert got["hellinger"].value == pytest.approx(hellinger_distance(exact_a, exact_b), rel=0.05)
    # A log-mean shift of 0.5: every method flags it; PSI (0.15 on the raw deciles) only warns.
    assert got["psi"].verdict == "warn"
    assert all(r.verdict == "alert" for m, r in got.items() if m != "psi"), got


def test_real_sketches_same_distribution_and_new_category():
    sketches = _sketches()
    rng = np.random.default_rng(61)
    ha, hb = sketches.ExponentialHistogram(), sketches.ExponentialHistogram()
    ha.update(rng.gamma(2.0, 1.5, N))
    hb.update(rng.gamma(2.0, 1.5, N))
    bins = align_exponential_histograms(ha, hb)
    for r in compare_numeric("x", bins.bins, bins.reference, bins.current):
        if r.method != "ks":
            assert r.verdict == "ok", r
    labels = np.array(list("abcdef"))
    probs = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04]
    raw_ref = rng.choice(labels, N, p=probs)
    raw_cur = np.where(rng.random(N) < 0.2, "new", rng.choice(labels, N, p=probs))
    fa, fb = sketches.FrequentItems(k=32), sketches.FrequentItems(k=32)
    fa.update(raw_ref)
    fb.update(raw_cur)
    results = {
        r.method: r
        for r in compare_categorical("cat", dict(fa.counts_with_other()), dict(fb.counts_with_other()))
    }
    assert all(r.verdict == "alert" for r in results.values()), results
    # With k above the number of categories the sketch counts are exact: same statistic as raw.
    table = [
        [np.sum(raw_ref == c) for c in [*labels, "new"]],
        [np.sum(raw_cur == c) for c in [*labels, "new"]],
    ]
    assert results["chi2"].value == pytest.approx(
        stats.chi2_contingency(table, correction=False)[0], rel=1e-9
    )


def _hist_on(x: np.ndarray, bins) -> np.ndarray:
    """Raw counts on aligned (lower, upper) bins: ``(l, u]`` above zero, ``[l, u)`` below, points."""
    out = np.zeros(bins.lower.size)
    last = bins.lower.size - 1
    for i, (lo, hi) in enumerate(zip(bins.lower, bins.upper, strict=True)):
        if lo == hi:
            out[i] = np.sum(x == lo)
        elif hi <= 0:  # negative bucket; the top one may be clamped to the maximum
            out[i] = np.sum((x >= lo) & ((x < hi) | ((i == last) & (x == hi))))
        else:  # positive bucket; the first one may be clamped to the minimum
            out[i] = np.sum(((x > lo) | ((i == 0) & (x == lo))) & (x <= hi))
    return out
