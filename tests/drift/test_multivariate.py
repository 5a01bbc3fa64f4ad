"""Multivariate (PCA reconstruction) drift: a correlation flip that no marginal shows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlotel.cli import main
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
    assert model.features == ("x1", "x2", "x3")  # numeric only, categorical left out
    assert model.components.shape == (2, 3)  # x1/x2 share one direction: 2 explain >= 95%
    assert model.explained >= 0.95
    assert np.allclose(model.components @ model.components.T, np.eye(2))
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
    x = _data(50, 6)[["x1", "x2", "x3"]].to_numpy()
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
    row = np.array([[np.nan, np.nan, np.nan], [np.inf, model.mean[1], model.mean[2]]])
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
