"""``SensitivityReport``: JSON round trip, versioned format, the plain-text table."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mlotel.sensitivity import FORMAT, FORMAT_VERSION, SensitivityReport, analyze


@pytest.fixture(scope="module")
def report() -> SensitivityReport:
    rng = np.random.default_rng(5)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=500),
            "unused": rng.normal(size=500),
            "color": rng.choice(np.array(["red", "blue"]), 500),
        }
    )

    def proba(d: pd.DataFrame) -> np.ndarray:  # a callable returning class probabilities
        p = 1 / (1 + np.exp(-(2 * d["x"].to_numpy() + (d["color"] == "red").to_numpy())))
        return np.column_stack([1 - p, p])

    return analyze(proba, X, grid=5)


def test_a_callable_returning_probabilities_is_a_classifier(report):
    assert report.task == "classification" and report.outputs == ("class 1",)
    assert report.ranking() == ["x", "color", "unused"]
    assert report.feature("x").label_change_rate > 0.1
    assert np.isnan(report.feature("unused").interaction)
    with pytest.raises(KeyError):
        report.feature("nope")


def test_json_round_trip(report, tmp_path):
    path = tmp_path / "s.json"
    report.save(path)
    d = json.loads(path.read_text())
    assert d["format"] == FORMAT == "mlotel.sensitivity_report" and d["format_version"] == FORMAT_VERSION == 1
    assert d["created_by"].startswith("mlotel ")
    assert [f["name"] for f in d["features"]] == report.ranking()
    assert d["features"][2]["interaction"] is None  # NaN is written as null
    loaded = SensitivityReport.load(path)
    assert loaded.to_dict() == report.to_dict()
    assert math.isnan(loaded.feature("unused").interaction)
    assert loaded.feature("color").grid == report.feature("color").grid
    assert not list(tmp_path.glob("*.tmp*"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "mlotel.reference_profile"}, "not an mlotel sensitivity report"),
        ({"format_version": 2}, "format_version 2 is not supported"),
        ({"format_version": None}, "format_version missing is not supported"),
        ({"features": {}}, "field 'features' must be an array"),
    ],
)
def test_load_refuses_other_files(report, tmp_path, change, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(report.to_dict() | change))
    with pytest.raises(ValueError, match=f"bad.json: {message}"):
        SensitivityReport.load(path)


def test_load_names_damaged_fields(report, tmp_path):
    d = report.to_dict()
    del d["features"][0]["mean_abs_change"]
    with pytest.raises(ValueError, match="feature 'x': missing field 'mean_abs_change'"):
        SensitivityReport.from_dict(d, "s.json")
    d = report.to_dict()
    d["features"][0]["pd_range"] = "big"
    with pytest.raises(ValueError, match="expected a number or null, got 'big'"):
        SensitivityReport.from_dict(d)
    (tmp_path / "t.json").write_text("{not json")
    with pytest.raises(ValueError, match="t.json: not JSON"):
        SensitivityReport.load(tmp_path / "t.json")


def test_table_lists_features_in_rank_order(report):
    lines = report.table().splitlines()
    assert lines[0].startswith("sensitivity of proba (call: class 1)")
    assert lines[1].split() == ["rank", "feature", "kind", "mean", "|Δ|", "p95", "|Δ|", "label", "Δ",
                                "PD", "range", "interaction", "missing"]  # fmt: skip
    assert [line.split()[1] for line in lines[2:]] == ["x", "color", "unused"]
    unused = lines[4].split()
    assert unused[3:6] == ["0", "0", "0.0%"] and unused[-2] == "–"  # no effect, no interaction share
    assert len(report.table(limit=1).splitlines()) == 3
    assert str(report) == report.table()
