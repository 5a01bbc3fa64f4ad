"""Reference profiles: building from every input form, merging, and the saved JSON format."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from mlotel.drift import (
    FeatureReference,
    ReferenceBuilder,
    ReferenceProfile,
    ReferenceProfileError,
    build_reference,
)
from mlotel.drift.feature import reference_edges
from mlotel.drift.profile import FORMAT_VERSION
from mlotel.sketches import ExponentialHistogram, FrequentItems
from tests.drift._profiles import assert_same_profile

N = 3000


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    age = rng.normal(40, 12, N)
    age[rng.random(N) < 0.05] = np.nan
    income = rng.lognormal(10, 1, N)
    income[:3] = [0.0, -5.0, np.inf]
    color = rng.choice(np.array(["red", "green", "blue", "teal"]), N, p=[0.5, 0.3, 0.15, 0.05]).astype(object)
    color[rng.random(N) < 0.02] = None
    label = rng.integers(0, 2, N).astype(float)
    return {"age": age, "income": income, "color": color, "label": label}


# --------------------------------------------------------------------------------------------
# Building


def test_numeric_feature_matches_raw_data(data):
    profile = build_reference(data)
    age = profile.features["age"]
    raw = data["age"]
    finite = raw[np.isfinite(raw)]
    assert age.kind == "numeric"
    assert age.count == N and age.missing == int(np.isnan(raw).sum())
    assert age.moments.count == finite.size
    assert age.moments.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert age.moments.variance == pytest.approx(finite.var(), rel=1e-10)
    assert (age.moments.min, age.moments.max) == (finite.min(), finite.max())
    # The histogram is an independent ExponentialHistogram of the same values.
    h = ExponentialHistogram(max_size=2048)
    h.update(raw)
    assert age.histogram == h
    assert age.histogram.max_size >= 2048
    # Deciles: each edge sits where the raw empirical CDF is close to j/10.
    assert age.quantile_edges.size == 9
    ecdf = np.searchsorted(np.sort(finite), age.quantile_edges, side="right") / finite.size
    np.testing.assert_allclose(ecdf, np.arange(1, 10) / 10, atol=0.01)


def test_infinities_and_signs_are_kept(data):
    income = build_reference(data).features["income"]
    assert income.histogram.pos_inf == 1 and income.histogram.zero_count == 1
    assert income.histogram.negative.total == 1
    assert income.count == N and income.missing == 0
    assert income.moments.count == N - 1  # moments skip the infinity


def test_categorical_feature_matches_raw_counts(data):
    color = build_reference(data).features["color"]
    expected = Counter(v for v in data["color"] if v is not None)
    assert color.kind == "categorical"
    assert dict(color.frequent.items()) == dict(expected)
    assert color.missing == sum(v is None for v in data["color"])
    assert color.count == N and color.frequent.k >= 1024


@pytest.mark.parametrize("form", ["numpy", "pandas", "dict", "records"])
def test_every_input_form_gives_the_same_profile(data, form):
    names = ["age", "income", "label"]
    if form == "numpy":
        obj = np.column_stack([data[n] for n in names])
        profile = build_reference(obj, features=names)
    elif form == "pandas":
        profile = build_reference(pd.DataFrame({n: data[n] for n in names}))
    elif form == "dict":
        profile = build_reference({n: data[n] for n in names})
    else:
        records = [{n: float(data[n][i]) for n in names} for i in range(N)]
        profile = build_reference(records)
    expected = build_reference({n: data[n] for n in names})
    assert list(profile.features) == names
    assert_same_profile(profile, expected)


def test_categorical_and_features_options(data):
    profile = build_reference(data, features=["label", "color"], categorical=["label"])
    assert list(profile.features) == ["label", "color"]
    assert profile.features["label"].kind == "categorical"
    assert dict(profile.features["label"].frequent.items()).keys() == {"0.0", "1.0"}


def test_target_as_column_name(data):
    profile = build_reference(data, target="label")
    assert "label" not in profile.features
    assert profile.target.name == "label" and profile.target.count == N
    assert list(profile.columns())[-1] == "label"
    with_features = build_reference(data, features=["age"], target="label")
    assert list(with_features.features) == ["age"] and with_features.target == profile.target


def test_target_as_values(data):
    features = {"age": data["age"]}
    as_array = build_reference(features, target=data["label"])
    assert as_array.target.name == "target"
    assert as_array.target.histogram == build_reference(data, target="label").target.histogram
    as_series = build_reference(features, target=pd.Series(data["label"], name="y"))
    assert as_series.target.name == "y"
    as_labels = build_reference(features, categorical=["target"], target=list(data["label"].astype(int)))
    assert as_labels.target.kind == "categorical"


def test_target_errors(data):
    with pytest.raises(ValueError, match="target column 'nope' is not in the data"):
        build_reference(data, target="nope")
    with pytest.raises(ValueError, match="target has 5 values but the data has"):
        build_reference({"age": data["age"]}, target=np.zeros(5))


def test_kind_is_fixed_per_column_across_batches():
    builder = ReferenceBuilder()
    builder.update({"a": np.array([np.nan, np.nan]), "b": np.array([1.0, 2.0])})
    builder.update({"a": np.array(["x", None, "y"], dtype=object), "b": np.array([3.0, np.nan, 4.0])})
    builder.update({"a": np.array([np.nan]), "b": np.array([5.0])})  # all missing: any kind fits
    profile = builder.build()
    a = profile.features["a"]
    assert a.kind == "categorical" and a.count == 6 and a.missing == 4
    assert profile.n_rows == 6
    with pytest.raises(ValueError, match="column 'b' was numeric in earlier rows but is categorical"):
        builder.update({"a": np.array(["z"], dtype=object), "b": np.array(["oops"], dtype=object)})
    assert builder.build() == profile  # the failed batch changed nothing


# --------------------------------------------------------------------------------------------
# Merging


def test_merge_of_shards_equals_the_whole(data):
    whole = build_reference(data, target="label")
    cuts = [0, 700, 1900, N]
    shards = [
        build_reference({k: v[a:b] for k, v in data.items()}, target="label") for a, b in zip(cuts, cuts[1:])
    ]
    merged = shards[0].merge(shards[1]).merge(shards[2])
    assert_same_profile(merged, whole)
    # Merging is non-destructive, and in another order gives the same sketches.
    assert shards[0].n_rows == 700
    assert_same_profile(shards[2].merge(shards[0]).merge(shards[1]), whole)


def test_merged_edges_are_recomputed_from_the_merged_histogram(data):
    a = build_reference({"age": data["age"][:1500]})
    b = build_reference({"age": data["age"][1500:] + 30})  # a shifted shard: the edges must move
    merged = a.merge(b).features["age"]
    np.testing.assert_array_equal(merged.quantile_edges, reference_edges(merged.histogram, 10))
    assert not np.array_equal(merged.quantile_edges, a.features["age"].quantile_edges)


def test_merge_rejects_incompatible_profiles(data):
    a = build_reference({"age": data["age"]})
    with pytest.raises(ValueError, match="differ in features"):
        a.merge(build_reference({"income": data["income"]}))
    with pytest.raises(ValueError, match="cannot merge numeric feature 'age' with categorical"):
        a.merge(build_reference({"age": data["color"]}))
    with pytest.raises(ValueError, match="differ in target"):
        a.merge(build_reference({"age": data["age"]}, target=data["label"]))
    with pytest.raises(ValueError, match="quantile_bins differ"):
        a.merge(build_reference({"age": data["age"]}, quantile_bins=5))


# --------------------------------------------------------------------------------------------
# Saving and loading


def test_save_load_round_trip_is_exact(data, tmp_path):
    rng = np.random.default_rng(1)
    profile = build_reference(
        {**data, "empty_num": np.full(N, np.nan), "ids": rng.integers(0, 5000, N).astype(str)},
        target="label",
        top_k=64,  # "ids" overflows k: a reduced sketch with a tail
    )
    assert profile.features["ids"].frequent.other > 0
    path = tmp_path / "reference.json"
    profile.save(path)
    loaded = ReferenceProfile.load(path)
    assert loaded == profile  # every sketch field, sums included
    assert loaded.to_json() == profile.to_json() == path.read_text(encoding="utf-8")
    empty = loaded.features["empty_num"]
    assert empty.count == N and empty.missing == N and empty.quantile_edges.size == 0
    assert math.isinf(empty.histogram.min)


def test_saved_format_is_readable_json(data, tmp_path):
    path = tmp_path / "reference.json"
    build_reference(data, target="label").save(path)
    text = path.read_text(encoding="utf-8")
    d = json.loads(text)
    assert d["format"] == "mlotel.reference_profile" and d["format_version"] == FORMAT_VERSION == 1
    assert d["n_rows"] == N and d["quantile_bins"] == 10
    age = d["features"][0]
    assert age["name"] == "age" and age["kind"] == "numeric"
    assert set(age) >= {"count", "missing", "summary", "quantile_edges", "moments", "sketch"}
    assert age["summary"]["mean"] == pytest.approx(np.nanmean(data["age"]))
    assert d["target"]["name"] == "label"
    # Bucket counts sit on one line each, not one number per line.
    counts_line = next(line for line in text.splitlines() if '"counts": [' in line and "," in line)
    assert counts_line.rstrip().endswith("]") or counts_line.rstrip().endswith("],")
    assert len(text.splitlines()) < 200


@pytest.fixture
def saved(tmp_path, data):
    path = tmp_path / "reference.json"
    build_reference({"age": data["age"], "color": data["color"]}).save(path)
    return path


def _rewrite(path, change):
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))


def _load_error(path) -> str:
    with pytest.raises(ReferenceProfileError) as info:
        ReferenceProfile.load(path)
    return str(info.value)


def test_truncated_file(saved):
    text = saved.read_text()
    saved.write_text(text[: len(text) // 2])
    message = _load_error(saved)
    assert message.startswith("reference.json: not JSON (line ")


def test_empty_and_binary_files(saved):
    saved.write_bytes(b"")
    assert _load_error(saved) == "reference.json: not JSON (line 1: Expecting value)"
    saved.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    assert _load_error(saved).startswith("reference.json: not UTF-8 text")


def test_unsupported_version(saved):
    _rewrite(saved, lambda d: d.update(format_version=7))
    assert _load_error(saved) == "reference.json: format_version 7 is not supported (this mlotel reads 1)"


def test_not_a_profile(saved):
    saved.write_text('{"hello": 1}')
    assert "not an mlotel reference profile" in _load_error(saved)
    saved.write_text("[1, 2]")
    assert _load_error(saved) == "reference.json: profile must be an object, got list"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["features"][0].pop("sketch"), "feature 'age': missing field 'sketch'"),
        (lambda d: d["features"][1].pop("kind"), "feature 'color': missing field 'kind'"),
        (lambda d: d["features"][0]["sketch"].pop("scale"), "feature 'age': sketch: missing field 'scale'"),
        (lambda d: d["features"][0].pop("quantile_edges"), "feature 'age': missing field 'quantile_edges'"),
        (lambda d: d.pop("features"), "missing field 'features'"),
        (lambda d: d.update(n_rows="3000"), "field 'n_rows' must be an integer, got str"),
        (lambda d: d.update(features={}), "field 'features' must be an array, got dict"),
        (lambda d: d["features"][0].update(count=12.5), "feature 'age': field 'count' must be an integer"),
        (
            lambda d: d["features"][0].update(count=1),
            "feature 'age': field 'count' is 1 but the sketch holds 3000",
        ),
        (lambda d: d["features"][0].update(kind="text"), "feature 'age': field 'kind' must be 'numeric' or"),
        (
            lambda d: d["features"][0].update(sketch=[1, 2]),
            "feature 'age': field 'sketch' must be an object, got list",
        ),
        (
            lambda d: d["features"][0].update(quantile_edges=[1, "x"]),
            "field 'quantile_edges' must hold numbers",
        ),
        (
            lambda d: d["features"][0].update(quantile_edges=[3, 2]),
            "quantile_edges must be finite and strictly ascending",
        ),
        (lambda d: d["features"][0]["sketch"]["positive"]["counts"].append(5), "bucket counts add up to"),
        (lambda d: d["features"][0]["moments"].update(count=2), "moments count 2 differs from the sketch's"),
        (lambda d: d["features"][1]["sketch"].update(total=-1), "feature 'color': sketch:"),
        (lambda d: d["features"][0].update(name=3), "field 'name' must be a string, got int"),
    ],
)
def test_damaged_fields_are_named(saved, change, expected):
    _rewrite(saved, change)
    message = _load_error(saved)
    assert message.startswith("reference.json: ")
    assert expected in message


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        ReferenceProfile.load(tmp_path / "absent.json")


def test_feature_reference_validation():
    h = ExponentialHistogram()
    with pytest.raises(TypeError):
        FeatureReference("a", "numeric", frequent=FrequentItems())
    with pytest.raises(ValueError, match="kind must be"):
        FeatureReference("a", "text", histogram=h)
    with pytest.raises(ValueError, match="duplicate feature name"):
        f = FeatureReference("a", "categorical", frequent=FrequentItems())
        ReferenceProfile([f, f])
