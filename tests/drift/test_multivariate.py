"""Multivariate (PCA reconstruction) drift: a correlation flip that no marginal shows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlotel.cli import main
from mlotel.data import read_input
from mlotel.drift import ReferenceBuilder, ReferenceProfile, build_reference, profile_current
from mlotel.drift.multivariate import (
    METHOD,
    NAME,
    MultivariateModel,
    ReconstructionErrors,
    RowSample,
    fit_model,
)

UNIVARIATE = ("psi", "js", "hellinger", "ks", "wasserstein", "chi2")


def _data(n: int, seed: int, sign: float = 1.0) -> pd.DataFrame:
    """x2 = sign * x1 + noise: flipping ``sign`` keeps every marginal (x1 is symmetric)."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": sign * x1 + 0.3 * rng.normal(size=n),
            "x3": rng.normal(2.0, 3.0, n),
            "color": rng.choice(np.array(["a", "b", "c"]), n).astype(object),
        }
    )


@pytest.fixture(scope="module")
def reference() -> ReferenceProfile:
    return build_reference(_data(20_000, 1), categorical=["color"], multivariate=True)


def _row(report) -> object:
    (row,) = [r for r in report.results if r.feature == NAME]
    return row


def test_model_shape_and_bounds(reference):
    model = reference.multivariate
    assert isinstance(model, MultivariateModel)
    assert model.features == ("x1", "x2", "x3", "color")  # numeric, then categorical
    assert model.categories == {"color": ("a", "b", "c")}  # one indicator column each
    assert model.width == 6
    # x1/x2 share one direction, the three indicators sum to 1: 4 of 6 explain >= 95%
    assert model.components.shape == (4, 6)
    assert model.explained >= 0.95
    assert np.allclose(model.components @ model.components.T, np.eye(4))
    assert model.lower < model.error_mean < model.upper
    assert model.n_rows == model.n_seen == 20_000


def test_correlation_flip_alerts_only_multivariate(reference):
    current = profile_current(_data(5000, 2, sign=-1.0), reference)
    report = reference.compare(current)
    univariate = [r for r in report.results if r.method in UNIVARIATE]
    assert univariate and all(r.verdict == "ok" for r in univariate)
    row = _row(report)
    assert (row.method, row.verdict) == (METHOD, "alert")
    assert row.value > 2  # current mean error / reference mean error
    assert row.n_current == 5000 and row.n_reference == 20_000


def test_unchanged_data_does_not_alert(reference):
    for seed in (3, 4, 5):
        row = _row(reference.compare(profile_current(_data(5000, seed), reference)))
        assert row.verdict == "ok"
        assert 0.9 < row.value < 1.1


def test_errors_are_vectorized_norms(reference):
    model = reference.multivariate
    frame = read_input(_data(50, 6), categorical=["color"])
    x = model.encode(frame.columns, frame.n_rows)
    assert x.shape == (50, 6) and np.array_equal(x[:, :3], _data(50, 6)[["x1", "x2", "x3"]].to_numpy())
    assert np.all(x[:, 3:].sum(axis=1) == 1)  # one indicator per row (a, b or c)
    z = (x - model.mean) / model.std
    want = [np.linalg.norm(row - model.components.T @ (model.components @ row)) for row in z]
    assert np.allclose(model.errors(x), want)


def test_save_load_round_trip(reference, tmp_path):
    reference.save(tmp_path / "ref.json")
    loaded = ReferenceProfile.load(tmp_path / "ref.json")
    assert loaded == reference
    assert loaded.multivariate.fingerprint == reference.multivariate.fingerprint
    current = profile_current(_data(3000, 7, sign=-1.0), loaded)
    assert reference.compare(current).to_dict() == loaded.compare(current).to_dict()
    # The current profile keeps its errors through JSON too.
    current.save(tmp_path / "cur.json")
    assert ReferenceProfile.load(tmp_path / "cur.json").multivariate == current.multivariate


def test_older_files_without_multivariate_still_load(tmp_path):
    plain = build_reference(_data(2000, 8), categorical=["color"])
    assert "multivariate" not in plain.to_dict()
    plain.save(tmp_path / "old.json")
    loaded = ReferenceProfile.load(tmp_path / "old.json")
    assert loaded.multivariate is None
    assert all(r.feature != NAME for r in loaded.compare(profile_current(_data(2000, 9), loaded)).results)


def test_missing_values_are_imputed_with_the_mean(reference):
    model = reference.multivariate
    row = np.array([[np.nan] * 6, [np.inf, *model.mean[1:]]])
    assert np.allclose(model.errors(row), 0.0)  # every value at the mean: nothing to reconstruct
    data = _data(5000, 10)
    data.loc[::10, "x2"] = np.nan
    ref = build_reference(data, categorical=["color"], multivariate=True)
    assert np.all(np.isfinite(ref.multivariate.mean)) and np.all(np.isfinite(ref.multivariate.components))
    current = _data(5000, 11)
    current.loc[::10, "x2"] = np.nan
    assert _row(ref.compare(profile_current(current, ref))).verdict == "ok"


def test_sample_memory_is_bounded():
    builder = ReferenceBuilder(multivariate=True, max_rows=1000)
    rng = np.random.default_rng(12)
    for _ in range(20):
        builder.update({"a": rng.normal(size=5000), "b": rng.normal(size=5000)})
    assert builder._sample.rows.shape == (1000, 2)
    assert builder._sample.n_seen == 100_000
    profile = builder.build()
    assert (profile.multivariate.n_rows, profile.multivariate.n_seen) == (1000, 100_000)


def test_reservoir_is_uniform_and_merges_uniformly():
    sample = RowSample(["i", "j"], max_rows=2000, seed=1)
    for start in range(0, 100_000, 7_000):
        idx = np.arange(start, min(start + 7_000, 100_000), dtype=float)
        sample.update(np.column_stack([idx, idx]))
    assert sample.rows.shape == (2000, 2)
    assert len(np.unique(sample.rows[:, 0])) == 2000
    assert abs(sample.rows[:, 0].mean() - 50_000) < 3 * 28_868 / np.sqrt(2000)
    other = RowSample(["i", "j"], max_rows=2000, seed=2)
    other.update(np.full((300_000, 2), -1.0))
    sample.merge(other)
    assert sample.rows.shape == (2000, 2) and sample.n_seen == 400_000
    assert abs((sample.rows[:, 0] < 0).mean() - 0.75) < 0.05


def test_builder_state_merges_and_round_trips(reference):
    data = _data(20_000, 1)
    parts = [ReferenceBuilder(categorical=["color"], multivariate=True) for _ in range(3)]
    for part, chunk in zip(parts, np.array_split(np.arange(20_000), 3)):
        part.update(data.iloc[chunk])
    merged = ReferenceBuilder.from_bytes(parts[0].to_bytes())
    for part in parts[1:]:
        merged.merge(ReferenceBuilder.from_bytes(part.to_bytes()))
    built = merged.build()
    assert built.multivariate.n_seen == 20_000
    flipped = profile_current(_data(5000, 2, sign=-1.0), built)
    assert _row(built.compare(flipped)).verdict == "alert"


def test_profiles_with_a_model_do_not_merge_but_current_errors_do(reference):
    with pytest.raises(ValueError, match="do not merge"):
        reference.merge(reference)
    a = profile_current(_data(1000, 13), reference)
    b = profile_current(_data(2000, 14), reference)
    merged = a.merge(b).multivariate
    assert isinstance(merged, ReconstructionErrors) and merged.count == 3000
    assert merged.total == pytest.approx(a.multivariate.total + b.multivariate.total)


def test_insufficient_without_current_errors_or_with_another_model(reference):
    plain = build_reference(_data(3000, 15), categorical=["color"])
    row = _row(reference.compare(plain))
    assert row.verdict == "insufficient" and np.isnan(row.value)
    other = build_reference(_data(3000, 16), categorical=["color"], multivariate=True)
    row = _row(reference.compare(profile_current(_data(3000, 17), other)))
    assert row.verdict == "insufficient"


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2 numeric features"):
        build_reference({"a": np.arange(10.0), "c": np.array(["x"] * 10, dtype=object)}, multivariate=True)
    with pytest.raises(ValueError, match="variance"):
        build_reference({"a": np.arange(10.0), "b": np.arange(10.0)}, multivariate=True, variance=1.5)
    with pytest.raises(ValueError, match="at least 2 rows"):
        fit_model(RowSample(["a", "b"]))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("mv")
    _data(20_000, 1).to_csv(d / "train.csv", index=False)
    _data(5000, 2).to_csv(d / "same.csv", index=False)
    _data(5000, 2, sign=-1.0).to_csv(d / "flipped.csv", index=False)
    args = ["profile", str(d / "train.csv"), "-o", str(d / "ref.json"), "--categorical", "color"]
    assert main([*args, "--multivariate", "--chunk-rows", "3000"]) == 0
    return d


def _drift(capsys, files, current, *options):
    code = main(["drift", str(files / "ref.json"), str(files / current), *options])
    return code, capsys.readouterr().out


def test_cli_json_shows_the_multivariate_row_and_fails_on_alert(files, capsys):
    code, out = _drift(capsys, files, "flipped.csv", "--format", "json", "--fail-on", "alert")
    assert code == 1
    results = json.loads(out)["results"]
    (row,) = [r for r in results if r["feature"] == NAME]
    assert (row["method"], row["verdict"], row["n_current"]) == (METHOD, "alert", 5000)
    assert all(r["verdict"] == "ok" for r in results if r["feature"] != NAME)
    code, out = _drift(capsys, files, "same.csv", "--format", "json", "--fail-on", "alert")
    assert code == 0
    (row,) = [r for r in json.loads(out)["results"] if r["feature"] == NAME]
    assert row["verdict"] == "ok"


def test_cli_table_shows_the_reconstruction_column(files, capsys):
    code, out = _drift(capsys, files, "flipped.csv", "--fail-on", "alert")
    assert code == 1
    header, first = out.splitlines()[:2]
    assert header.split()[-1] == "reconstruction"
    assert first.split()[:2] == [NAME, "alert"] and first.endswith("!")


# --------------------------------------------------------------------------------------------
# Categorical features in the model


def _linked(n: int, seed: int, flip: bool = False) -> pd.DataFrame:
    """Colour and x move together (x ~ +2 for "a", -2 for "b"); ``flip`` swaps the link, so
    both marginals stay the same and only the joint distribution changes."""
    rng = np.random.default_rng(seed)
    color = rng.choice(np.array(["a", "b"], dtype=object), n)
    sign = np.where(color == "a", 1.0, -1.0) * (-1.0 if flip else 1.0)
    return pd.DataFrame({"x": 2 * sign + rng.normal(size=n), "y": rng.normal(size=n), "color": color})


def test_categorical_numeric_link_flip_alerts_only_multivariate():
    reference = build_reference(_linked(20_000, 30), categorical=["color"], multivariate=True)
    assert set(reference.multivariate.categories["color"]) == {"a", "b"}
    # p-value levels over the 3 features, as mlotel drift's default Bonferroni adjustment
    levels = {"ks_p_alert": 0.05 / 3, "chi2_p_alert": 0.05 / 3}
    flipped = reference.compare(profile_current(_linked(5000, 43, flip=True), reference), levels)
    assert all(r.verdict == "ok" for r in flipped.results if r.method in UNIVARIATE)
    assert _row(flipped).verdict == "alert" and _row(flipped).value > 2
    same = reference.compare(profile_current(_linked(5000, 32), reference))
    assert _row(same).verdict == "ok"


def test_category_encoding_is_bounded():
    rng = np.random.default_rng(33)
    n = 20_000
    data = {
        "x": rng.normal(size=n),
        "y": rng.normal(size=n),
        "id": np.array([f"user{i}" for i in range(n)], dtype=object),  # every value < 1%: left out
        "many": rng.choice(np.array([f"c{i:02d}" for i in range(20)], dtype=object), n),
        "few": rng.choice(np.array(["p", "q", "r"], dtype=object), n, p=[0.6, 0.395, 0.005]),
    }
    model = build_reference(data, categorical=["id", "many", "few"], multivariate=True).multivariate
    assert "id" not in model.features and "id" not in model.categories
    assert len(model.categories["many"]) == 8  # the 8 most frequent of 20
    assert model.categories["few"] == ("p", "q")  # "r" holds 0.5% of the rows: "other"
    assert model.width == 2 + 8 + 2
    # Many categorical features: at most 64 indicator columns in all.
    wide = {f"k{j}": rng.choice(np.array(list("abcdefghij"), dtype=object), 5000) for j in range(40)}
    wide.update(x=rng.normal(size=5000), y=rng.normal(size=5000))
    model = build_reference(wide, categorical=list(wide)[:40], multivariate=True).multivariate
    assert sum(len(c) for c in model.categories.values()) <= 64
    assert model.width <= 66


def test_unknown_and_missing_categories():
    reference = build_reference(_linked(5000, 34), categorical=["color"], multivariate=True)
    model = reference.multivariate
    columns = read_input(
        {
            "x": np.array([0.0, 0.0, 0.0]),
            "y": np.zeros(3),
            "color": np.array(["zz", None, "a"], dtype=object),
        },
        categorical=["color"],
    ).columns
    x = model.encode(columns, 3)
    assert model.features == ("x", "y", "color")
    a, b = 2 + model.categories["color"].index("a"), 2 + model.categories["color"].index("b")
    assert x[0, a] == x[0, b] == 0  # a new category: "other", all indicators 0
    assert np.isnan(x[1, a]) and np.isnan(x[1, b])  # missing: imputed at the mean by errors()
    assert x[2, a] == 1 and x[2, b] == 0
    imputed = x[1].copy()
    imputed[[a, b]] = model.mean[[a, b]]
    assert model.errors(x[1:2]) == pytest.approx(model.errors(imputed[None, :]))
    # A categorical feature absent from the data is missing; a numeric one given as text too.
    assert np.isnan(model.encode(read_input({"x": np.zeros(2)}).columns, 2)[:, a]).all()


def test_numeric_only_model_json_has_no_categories_and_old_files_load(tmp_path):
    reference = build_reference(_data(3000, 35)[["x1", "x2", "x3"]], multivariate=True)
    d = reference.to_dict()
    assert "categories" not in d["multivariate"]
    # A file written before categorical encoding (no "categories" field) loads unchanged.
    path = tmp_path / "old.json"
    path.write_text(json.dumps(d))
    assert ReferenceProfile.load(path).multivariate == reference.multivariate


def test_a_feature_named_multivariate_is_rejected_only_with_multivariate():
    data = _data(2000, 36).rename(columns={"x3": NAME})
    with pytest.raises(ValueError, match="clashes with the multivariate drift result"):
        build_reference(data, categorical=["color"], multivariate=True)
    plain = build_reference(data, categorical=["color"])  # no multivariate row: no clash
    assert NAME in plain.features
    # Left out with features=..., the rest is modelled.
    ok = build_reference(data, features=["x1", "x2", "color"], categorical=["color"], multivariate=True)
    assert NAME not in ok.multivariate.features


def test_builder_state_with_categories_merges_and_round_trips():
    data = _linked(6000, 37)
    parts = [ReferenceBuilder(categorical=["color"], multivariate=True) for _ in range(2)]
    for part, chunk in zip(parts, np.array_split(np.arange(6000), 2)):
        part.update(data.iloc[chunk])
    merged = ReferenceBuilder.from_bytes(parts[0].to_bytes())
    merged.merge(ReferenceBuilder.from_bytes(parts[1].to_bytes()))
    one = ReferenceBuilder(categorical=["color"], multivariate=True)
    one.update(data)
    a, b = merged.build().multivariate, one.build().multivariate
    assert a.categories == b.categories and set(a.categories["color"]) == {"a", "b"}
    assert a.error_mean == pytest.approx(b.error_mean, rel=1e-9)  # same rows, another order
