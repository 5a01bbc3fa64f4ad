"""compare_features / compare_profiles: the one reference-versus-current comparison.

Statistics are checked against scipy on the raw data; the online case uses the sketches the
monitor keeps (160-bucket histograms, small-k frequent items fed in many small batches).
"""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from mlotel.drift import (
    SEVERITY,
    DriftReport,
    DriftResult,
    FeatureKindMismatch,
    ReferenceProfile,
    ThresholdPolicy,
    build_reference,
    compare_features,
    compare_profiles,
)
from mlotel.drift.compare import resolvable_categories
from mlotel.drift.statistics import OTHER, align_exponential_histograms, compare_numeric
from mlotel.sketches import CategoricalProfile, ExponentialHistogram, FrequentItems, NumericProfile

NUMERIC_METHODS = ["psi", "js", "hellinger", "ks", "wasserstein"]
CATEGORICAL_METHODS = ["chi2", "js", "psi"]


def _hist(values, max_size=160):
    h = ExponentialHistogram(max_size=max_size)
    h.update(values)
    return h


def _frequent(values, k, batches=1):
    f = FrequentItems(k=k)
    for part in np.array_split(np.asarray(values, dtype=object), batches):
        f.update(part)
    return f


@pytest.fixture(scope="module")
def reference_data():
    rng = np.random.default_rng(11)
    return {
        "x": rng.lognormal(0, 0.5, 5000),
        "c": rng.choice(np.array(list("abcd")), 5000, p=[0.4, 0.3, 0.2, 0.1]),
    }


@pytest.fixture(scope="module")
def reference(reference_data):
    return build_reference(reference_data)


# --------------------------------------------------------------------------------------------
# Numeric


def test_numeric_against_an_online_histogram_matches_raw_statistics(reference, reference_data):
    rng = np.random.default_rng(12)
    current = rng.lognormal(0.05, 0.5, 4000)
    h = _hist(current)  # coarser than the reference: aligned at the online scale
    assert h.scale < reference.features["x"].histogram.scale
    results = {r.method: r for r in compare_features(reference.features["x"], h)}
    assert list(results) == NUMERIC_METHODS
    ref_raw = reference_data["x"]
    ks = stats.ks_2samp(ref_raw, current)
    assert results["ks"].value == pytest.approx(ks.statistic, abs=0.02)
    assert results["ks"].value <= ks.statistic + 1e-12  # binning only lowers D
    w = stats.wasserstein_distance(ref_raw, current) / ref_raw.std()
    assert results["wasserstein"].value == pytest.approx(w, abs=0.02)
    # PSI on the reference's stored deciles, against exact raw counts on those bins.
    edges = reference.features["x"].quantile_edges
    p = np.bincount(np.searchsorted(edges, ref_raw, side="left"), minlength=10) / ref_raw.size
    q = np.bincount(np.searchsorted(edges, current, side="left"), minlength=10) / current.size
    eps = 1e-4
    ps, qs = (p + eps) / (1 + 10 * eps), (q + eps) / (1 + 10 * eps)
    assert results["psi"].value == pytest.approx(
        float(np.sum((qs - ps) * np.log(qs / ps))), rel=0.1, abs=2e-3
    )
    for r in results.values():
        assert (r.feature, r.n_reference, r.n_current) == ("x", 5000, 4000)


def test_compare_features_is_compare_numeric_on_aligned_bins(reference):
    """One implementation: the stored edges and the exact reference std are what is used."""
    feature = reference.features["x"]
    h = _hist(np.random.default_rng(3).lognormal(0.3, 0.5, 3000))
    bins = align_exponential_histograms(feature.histogram, h)
    expected = compare_numeric(
        "x",
        bins.bins,
        bins.reference,
        bins.current,
        reference_std=feature.moments.std,
        psi_edges=feature.quantile_edges,
    )
    assert compare_features(feature, h) == expected


def test_numeric_no_false_alarm_and_clear_alarm(reference):
    rng = np.random.default_rng(5)
    same = compare_features(reference.features["x"], _hist(rng.lognormal(0, 0.5, 5000)))
    assert all(r.verdict in ("ok", "warn") for r in same if r.method != "ks")
    assert all(r.verdict != "alert" for r in same if r.method != "ks")
    shifted = compare_features(
        reference.features["x"], _hist(rng.lognormal(0.25, 0.5, 5000))
    )  # 0.5 sd in log
    assert {r.verdict for r in shifted} == {"alert"}


def test_numeric_current_forms_agree(reference):
    values = np.random.default_rng(8).lognormal(0, 0.5, 2000)
    profile = NumericProfile(max_size=160)
    profile.update(values)
    current_ref = build_reference({"x": values}, max_size=160).features["x"]
    expected = compare_features(reference.features["x"], _hist(values))
    assert compare_features(reference.features["x"], profile) == expected
    assert compare_features(reference.features["x"], current_ref) == expected


def test_empty_current_is_insufficient_not_an_error(reference):
    empty = ExponentialHistogram()
    empty.update([np.nan, np.nan])
    results = compare_features(reference.features["x"], empty)
    assert [r.method for r in results] == NUMERIC_METHODS
    assert all(r.verdict == "insufficient" and r.n_current == 0 for r in results)
    both_empty = build_reference({"x": np.array([np.nan, np.nan])}).features["x"]
    assert all(r.verdict == "insufficient" for r in compare_features(both_empty, empty))


def test_thresholds_are_resolved_for_the_feature(reference):
    h = _hist(np.random.default_rng(9).lognormal(0.25, 0.5, 5000))
    policy = ThresholdPolicy(features={"x": {"psi_alert": 50.0, "psi_warn": 40.0}})
    psi = next(r for r in compare_features(reference.features["x"], h, policy) if r.method == "psi")
    assert psi.verdict == "ok" and psi.threshold == 50.0
    few = compare_features(reference.features["x"], h, {"min_samples_distance": 10_000})
    assert next(r for r in few if r.method == "psi").verdict == "insufficient"


# --------------------------------------------------------------------------------------------
# Categorical


def test_categorical_exact_sketches_match_scipy(reference, reference_data):
    rng = np.random.default_rng(13)
    current = rng.choice(np.array(list("abcde")), 3000, p=[0.38, 0.3, 0.2, 0.1, 0.02])
    results = {r.method: r for r in compare_features(reference.features["c"], _frequent(current, k=32))}
    assert list(results) == CATEGORICAL_METHODS
    ref_counts, cur_counts = Counter(reference_data["c"].tolist()), Counter(current.tolist())
    labels = sorted(set(ref_counts) | set(cur_counts))
    table = np.array([[ref_counts[x] for x in labels], [cur_counts[x] for x in labels]])
    chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
    assert results["chi2"].value == pytest.approx(chi2, rel=1e-9)
    assert results["chi2"].p_value == pytest.approx(p_value, rel=1e-6, abs=1e-300)
    assert results["chi2"].verdict == "alert"  # the new category "e"


def test_new_category_alerts(reference):
    rng = np.random.default_rng(14)
    current = rng.choice(np.array(list("abcd")), 5000, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    current[:1000] = "new"
    results = compare_features(reference.features["c"], _frequent(current, k=32))
    assert {r.verdict for r in results} == {"alert"}


def _zipf(rng, n_categories, n, alpha=1.1):
    p = 1.0 / np.arange(1, n_categories + 1) ** alpha
    cats = np.array([f"c{i}" for i in range(n_categories)])
    return rng.choice(cats, n, p=p / p.sum())


def test_small_k_online_sketch_gives_no_false_alarm():
    """The online sketch drops categories (k=32 over 60): its counts are Misra-Gries lower
    bounds. Without matching the reference's reduction every window alerted (measured)."""
    rng = np.random.default_rng(15)
    reference = build_reference({"c": _zipf(rng, 60, 20_000)}).features["c"]
    for _ in range(10):
        online = _frequent(_zipf(rng, 60, 5000), k=32, batches=100)
        assert online.other > 0.2 * online.total
        results = {r.method: r for r in compare_features(reference, online)}
        assert results["js"].verdict == "ok" and results["psi"].verdict == "ok"
        assert results["chi2"].verdict == "insufficient"  # reduced counts: no calibrated test


def test_small_k_online_sketch_still_sees_a_new_category():
    rng = np.random.default_rng(16)
    reference = build_reference({"c": _zipf(rng, 60, 20_000)}).features["c"]
    values = _zipf(rng, 60, 5000).astype(object)
    values[::5] = "brand-new"
    results = {r.method: r for r in compare_features(reference, _frequent(values, k=32, batches=100))}
    assert results["js"].verdict == "alert" and results["psi"].verdict == "alert"


def test_resolvable_categories_preserve_totals():
    ref = _frequent(["a"] * 50 + ["b"] * 30 + ["c"] * 20, k=10)
    cur = _frequent(["a"] * 10 + ["b"] * 6 + ["c"] * 3 + ["d"] * 1 + list("efgh"), k=3)
    assert cur.other > 0
    r, c = resolvable_categories(ref, cur)
    assert sum(r.values()) == pytest.approx(ref.total) and sum(c.values()) == pytest.approx(cur.total)
    assert OTHER in r and OTHER in c
    # Exact sketches pass through unchanged.
    exact = _frequent(list("aab"), k=10)
    assert resolvable_categories(exact, exact) == ({"a": 2, "b": 1}, {"a": 2, "b": 1})


def test_categorical_current_forms_agree(reference):
    values = np.random.default_rng(17).choice(np.array(list("abcd")), 2000)
    profile = CategoricalProfile(k=32)
    profile.update(values)
    expected = compare_features(reference.features["c"], _frequent(values, k=32))
    assert compare_features(reference.features["c"], profile) == expected


# --------------------------------------------------------------------------------------------
# Errors, whole profiles and reports


def test_kind_mismatch_and_bad_types(reference):
    with pytest.raises(FeatureKindMismatch, match="feature 'x': the reference is numeric"):
        compare_features(reference.features["x"], FrequentItems())
    with pytest.raises(FeatureKindMismatch, match="feature 'c': the reference is categorical"):
        compare_features(reference.features["c"], ExponentialHistogram())
    with pytest.raises(TypeError, match="current must be"):
        compare_features(reference.features["x"], np.arange(3.0))
    assert issubclass(FeatureKindMismatch, TypeError)


def test_compare_profiles_reports_missing_new_and_mismatched(reference_data):
    rng = np.random.default_rng(18)
    reference = build_reference(
        {**reference_data, "gone": rng.normal(size=5000)}, target=rng.normal(size=5000)
    )
    current = build_reference(
        {"x": rng.lognormal(0, 0.5, 5000), "c": rng.normal(size=5000), "extra": rng.normal(size=5000)}
    )
    report = reference.compare(current)
    assert isinstance(report, DriftReport)
    assert report.missing_features == ("gone",)  # the absent target is not "missing"
    assert report.new_features == ("extra",)
    assert report.mismatched_features == ("c",)
    assert {r.feature for r in report.results} == {"x"}


def test_compare_profiles_accepts_a_mapping_of_online_sketches(reference, reference_data):
    rng = np.random.default_rng(19)
    sketches = {
        "x": _hist(rng.lognormal(0, 0.5, 3000)),
        "c": _frequent(rng.choice(np.array(list("abcd")), 3000), 32),
    }
    report = compare_profiles(reference, sketches)
    assert [r.feature for r in report.results] == ["x"] * 5 + ["c"] * 3
    assert report.missing_features == report.new_features == ()


def test_target_is_compared_by_name():
    rng = np.random.default_rng(20)
    reference = build_reference({"a": rng.normal(size=3000)}, target=pd_series(rng.normal(size=3000), "y"))
    current = build_reference({"a": rng.normal(size=3000), "y": rng.normal(1.0, 1.0, size=3000)})
    report = reference.compare(current)
    assert report.feature_verdicts()["y"] == "alert"
    # "a" has the same distribution (KS alone may alert at its 5% false-alarm rate).
    assert all(r.verdict == "ok" for r in report.results if r.feature == "a" and r.method != "ks")
    assert report.new_features == ()


def pd_series(values, name):
    import pandas as pd

    return pd.Series(values, name=name)


def _result(feature, method, verdict, value=0.5):
    return DriftResult(feature, method, value, None, verdict, 0.2, 1000, 1000)


def test_report_ordering_levels_and_json():
    report = DriftReport(
        (
            _result("calm", "psi", "ok"),
            _result("few", "psi", "insufficient", math.nan),
            _result("hot", "psi", "warn"),
            _result("hot", "js", "alert", math.inf),
            _result("b_warm", "psi", "warn"),
            _result("a_warm", "psi", "warn"),
        ),
        missing_features=("m",),
        new_features=("n",),
    )
    assert list(report.feature_verdicts().items()) == [
        ("hot", "alert"),
        ("a_warm", "warn"),
        ("b_warm", "warn"),
        ("calm", "ok"),
        ("few", "insufficient"),
    ]
    assert [(r.feature, r.method) for r in report.sorted_results()][:2] == [("hot", "js"), ("hot", "psi")]
    assert report.verdict == "alert" and report.exceeds("alert") and report.exceeds("warn")
    assert SEVERITY["alert"] > SEVERITY["warn"] > SEVERITY["ok"] > SEVERITY["insufficient"]
    d = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert d["results"][0]["value"] == "inf"
    assert next(r for r in d["results"] if r["feature"] == "few")["value"] is None
    assert (d["missing_features"], d["new_features"]) == (["m"], ["n"])
    calm = DriftReport((_result("calm", "psi", "ok"),))
    assert not calm.exceeds("warn") and calm.verdict == "ok"
    assert DriftReport(()).verdict == "insufficient"
    with pytest.raises(ValueError):
        calm.exceeds("ok")


def test_profile_compare_after_save_and_load(reference, tmp_path):
    path = tmp_path / "r.json"
    reference.save(path)
    h = _hist(np.random.default_rng(21).lognormal(0, 0.5, 2000))
    assert compare_features(ReferenceProfile.load(path).features["x"], h) == compare_features(
        reference.features["x"], h
    )
