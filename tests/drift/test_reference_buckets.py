"""Histogram sizes per feature in reference profiles: ``build_reference(max_size=...)`` and
``mlotel profile --max-buckets``."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mlotel.cli import main
from mlotel.drift import ReferenceProfile, build_reference
from mlotel.drift.profile import ReferenceBuilder, profile_current
from mlotel.sketches import ExponentialHistogram


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 5_000
    return pd.DataFrame(
        {
            "income": rng.normal(size=n),  # ~20 octaves: the scale follows the size
            "age": rng.normal(size=n),
            "city": rng.choice(["a", "b"], n),
        }
    )


def _scale(values: np.ndarray, size: int) -> int:
    h = ExponentialHistogram(max_size=size)
    h.update(values)
    return h.scale


def test_per_feature_sizes(frame):
    profile = build_reference(frame, max_size={"income": 8192, "*": 256})
    income, age = profile.features["income"].histogram, profile.features["age"].histogram
    assert (income.max_size, age.max_size) == (8192, 256)
    assert income.scale == _scale(frame["income"].to_numpy(), 8192)
    assert age.scale == _scale(frame["age"].to_numpy(), 256) < income.scale
    # Without "*" the others keep the reference default (2048); an int sizes every column.
    profile = build_reference(frame, max_size={"income": 512})
    assert profile.features["age"].histogram.max_size == 2048
    assert profile.features["income"].histogram.max_size == 512
    profile = build_reference(frame, max_size=640)
    assert {f.histogram.max_size for f in profile.features.values() if f.histogram is not None} == {640}


def test_sizes_survive_save_load_partial_profiles_and_profile_current(frame, tmp_path):
    sizes = {"income": 4096, "*": 320}
    profile = build_reference(frame, max_size=sizes)
    path = tmp_path / "ref.json"
    profile.save(path)
    loaded = ReferenceProfile.load(path)
    assert loaded.features["income"].histogram.max_size == 4096
    assert loaded.features["age"].histogram.max_size == 320
    # Partial profiles (distributed engines) carry the mapping in their options.
    a, b = ReferenceBuilder(max_size=sizes), ReferenceBuilder(max_size=sizes)
    a.update(frame.iloc[:2000])
    b.update(frame.iloc[2000:])
    merged = ReferenceBuilder.from_bytes(a.to_bytes())
    merged.merge(ReferenceBuilder.from_bytes(b.to_bytes()))
    assert merged.options()["max_size"] == sizes
    got, want = merged.build().features["income"].histogram, profile.features["income"].histogram
    assert (got.max_size, got.scale, got.positive, got.negative) == (
        want.max_size,
        want.scale,
        want.positive,
        want.negative,
    )
    # The current data is profiled at each feature's reference size.
    current = profile_current(frame, loaded)
    assert current.features["income"].histogram.max_size == 4096
    assert current.features["age"].histogram.max_size == 320


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ({"income": 4}, ValueError, r"max_size\['income'\] must be an int in \[8, 16384\]"),
        (100_000, ValueError, r"max_size must be an int in \[8, 16384\]"),
        ("2048", TypeError, "max_size must be an int or a mapping"),
        ({1: 64}, TypeError, "every key must be a feature name"),
    ],
)
def test_bad_sizes_are_rejected_before_any_data_is_read(value, error, match):
    with pytest.raises(error, match=match):
        ReferenceBuilder(max_size=value)


def test_cli_max_buckets(frame, tmp_path, capsys):
    csv = tmp_path / "train.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "ref.json"
    code = main(["profile", str(csv), "-o", str(out), "--max-buckets", "320", "--max-buckets", "income=640"])
    assert code == 0, capsys.readouterr().err
    profile = ReferenceProfile.load(out)
    assert profile.features["income"].histogram.max_size == 640
    assert profile.features["age"].histogram.max_size == 320
    assert profile.features["income"].histogram.scale == _scale(frame["income"].to_numpy(), 640)
    # Comma-separated works the same; a bare number alone sizes every column.
    code = main(["profile", str(csv), "-o", str(out), "--max-buckets", "1024,age=8192"])
    assert code == 0
    profile = ReferenceProfile.load(out)
    assert (profile.features["income"].histogram.max_size, profile.features["age"].histogram.max_size) == (
        1024,
        8192,
    )
    assert main(["profile", str(csv), "-o", str(out), "--max-buckets", "512"]) == 0
    assert ReferenceProfile.load(out).features["age"].histogram.max_size == 512
    capsys.readouterr()


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("income=4", r"--max-buckets\['income'\] must be an int in \[8, 16384\]"),
        ("income=many", "expected N or COLUMN=N"),
        ("=64", "empty column name"),
        ("99999", r"must be an int in \[8, 16384\]"),
    ],
)
def test_cli_rejects_bad_max_buckets(spec, match, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["profile", "x.csv", "-o", str(tmp_path / "r.json"), "--max-buckets", spec])
    assert exc.value.code == 2
    assert re.search(match, capsys.readouterr().err)


def test_cli_drift_profiles_the_current_file_at_the_reference_sizes(frame, tmp_path, capsys, monkeypatch):
    from mlotel.cli import _drift

    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    ref = tmp_path / "ref.json"
    assert main(["profile", str(csv), "-o", str(ref), "--max-buckets", "320,income=1024"]) == 0
    current = []
    profile_file = _drift.profile_file

    def spy(*args, **kwargs):
        current.append(profile_file(*args, **kwargs))
        return current[-1]

    monkeypatch.setattr(_drift, "profile_file", spy)
    assert main(["drift", str(ref), str(csv), "--format", "json"]) == 0
    (profile,) = current
    sizes = {name: f.histogram.max_size for name, f in profile.features.items() if f.histogram is not None}
    assert sizes == {"income": 1024, "age": 320}
    assert profile.features["income"].histogram.scale == _scale(frame["income"].to_numpy(), 1024)
    capsys.readouterr()
