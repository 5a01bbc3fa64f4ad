"""``mlotel report --sensitivity``: the Sensitivity section, its charts and table."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from mlotel.cli import main
from mlotel.report import _sensitivity as section
from mlotel.report import build_report
from mlotel.sensitivity import SensitivityReport, analyze
from tests.report.otlp_lines import gauge_line, write_lines

pytest.importorskip("plotly")
sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402

T0 = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def report() -> SensitivityReport:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :12].assign(band=np.where(X["mean radius"] > 14, "large", "small"))
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(pd.get_dummies(X), y)

    def predict(d: pd.DataFrame) -> np.ndarray:  # the categorical column reaches the model encoded
        encoded = pd.get_dummies(d).reindex(columns=model.feature_names_in_, fill_value=False)
        return model.predict_proba(encoded)

    return analyze(predict, X, sample=300, grid=6)


@pytest.fixture()
def saved(report, tmp_path):
    path = tmp_path / "sensitivity.json"
    report.save(path)
    return path


def test_section_charts_and_table_appear_with_telemetry(report, saved, tmp_path):
    data = write_lines(tmp_path / "metrics.jsonl", [gauge_line("ml.feature.drift", [
        (T0, 0.05, {"ml_model_name": "cancer", "ml_feature_name": "mean radius", "ml_drift_method": "psi"}),
    ])])  # fmt: skip
    out = tmp_path / "r.html"
    build_report(data, out, sensitivity=saved)
    page = out.read_text(encoding="utf-8")
    assert page.count("plotly.js v") == 1, "plotly.js is embedded exactly once"
    assert not re.search(r"<script[^>]+src=", page)
    assert '<h2 id="sensitivity">Sensitivity</h2>' in page
    assert "No model telemetry found" not in page and "cancer" in page  # the telemetry is still there
    for title in ("Sensitivity: mean |\\u0394 prediction|", "Entanglement: how much each feature"):
        assert title in page, title
    # Partial dependence for the top 8 features only, most sensitive first.
    drawn = re.findall(r'"text":"([^"]+): partial dependence, ICE band', page)
    assert drawn == report.ranking()[:8]
    assert f"Partial dependence drawn for the top 8 of {len(report.features)} features." in page
    # The table: every feature, in rank order, with its numbers.
    table = page[page.index('<table class="sensitivity">') :]
    rows = re.findall(r'<tr><td>(\d+)</td><td class="l">([^<]+)</td>', table)
    assert [name for _, name in rows] == [n.replace("&", "&amp;") for n in report.ranking()]
    top = report.features[0]
    assert f"<td>{top.mean_abs_change:.3g}</td>" in table


def test_cli_sensitivity_alone(report, saved, tmp_path, capsys):
    out = tmp_path / "alone.html"
    assert main(["report", "--sensitivity", str(saved), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    page = out.read_text(encoding="utf-8")
    assert '<h2 id="sensitivity">Sensitivity</h2>' in page and page.count("plotly.js v") == 1
    assert "No model telemetry found" not in page
    assert report.ranking()[0] in page


def test_cli_needs_a_path_or_sensitivity_and_refuses_other_files(tmp_path, capsys):
    assert main(["report", "-o", str(tmp_path / "r.html")]) == 1
    assert "give a telemetry PATH, or --sensitivity FILE" in capsys.readouterr().err
    other = tmp_path / "reference.json"
    other.write_text(json.dumps({"format": "mlotel.reference_profile", "format_version": 1}))
    assert main(["report", "--sensitivity", str(other), "-o", str(tmp_path / "r.html")]) == 1
    assert "not an mlotel sensitivity report" in capsys.readouterr().err
    assert main(["report", "--sensitivity", str(tmp_path / "none.json"), "-o", str(tmp_path / "r.html")]) == 1
    assert not (tmp_path / "r.html").exists()


def test_figures_hold_the_reports_numbers(report):
    d = report.to_dict()
    bars = section.bars_figure(d)
    shown = list(reversed(bars.data[0].y))  # most sensitive on top
    assert shown == report.ranking()
    np.testing.assert_allclose(list(reversed(bars.data[0].x)), [f.mean_abs_change for f in report.features])
    entangled = section.interaction_figure(d)
    named = dict(zip(entangled.data[0].text, entangled.data[0].y))
    for f in report.features:
        if not np.isnan(f.interaction):
            assert named[f.name] == pytest.approx(f.interaction)
    numeric = next(f for f in d["features"] if f["kind"] == "numeric")
    fig = section.dependence_figure(d, numeric)
    high, low, mean = fig.data  # band top, band bottom (filled to the top), mean curve
    assert list(mean.x) == numeric["grid"] and list(mean.y) == numeric["partial_dependence"][0]
    assert list(low.y) == numeric["band_low"][0] and list(high.y) == numeric["band_high"][0]
    assert low.fill == "tonexty" and mean.name == "P(class 1) mean"
    band = next(f for f in d["features"] if f["kind"] == "categorical")
    (cat,) = section.dependence_figure(d, band).data
    assert list(cat.x) == band["grid"] and cat.error_y.array is not None


def test_load_sensitivity_takes_a_report_a_dict_or_a_path(report, saved):
    assert section.load_sensitivity(report) == section.load_sensitivity(saved) == report.to_dict()
    with pytest.raises(TypeError, match="sensitivity must be a path"):
        section.load_sensitivity(3)
    with pytest.raises(ValueError, match="format_version 9 is not supported"):
        section.load_sensitivity(report.to_dict() | {"format_version": 9})
