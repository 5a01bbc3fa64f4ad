"""``mlotel report`` end to end: real telemetry from a monitored sklearn model, checked against
numbers computed here directly from the raw OTLP/JSON lines."""

from __future__ import annotations

import json
import math
import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from mlotel.cli import main
from mlotel.report import build_report
from tests.apps import run_app
from tests.report.otlp_lines import gauge_line, log_line, write_lines

pytest.importorskip("plotly")
pytest.importorskip("sklearn")

APP = textwrap.dedent(
    """
    import time
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    import mlotel

    rng = np.random.default_rng(7)
    train = pd.DataFrame({"age": rng.normal(40, 10, 400), "income": rng.lognormal(10, 1, 400)})
    clf = LogisticRegression().fit(train, (train.age > 40).astype(int))

    @mlotel.monitor(model="churn", version="2")
    def predict(df):
        if len(df) == 3:
            raise ValueError("three rows are not allowed")
        if len(df) == 5:
            raise KeyError("five")
        return clf.predict_proba(df[["age", "income"]])[:, 1]

    t0 = time.perf_counter()
    for i in range(300):
        n = int(rng.integers(1, 12))
        df = pd.DataFrame({"age": rng.normal(45, 10, n), "income": rng.lognormal(10, 1, n),
                           "city": rng.choice(["paris", "lyon", "nice", "rome"], n)})
        try:
            predict(df)
        except (ValueError, KeyError):
            pass
        time.sleep(max(0.0, t0 + (i + 1) * 0.005 - time.perf_counter()))  # ~1.5 s in all
    """
)


def _run(tmp: Path, temporality: str) -> Path:
    data = tmp / "data"
    env = {"MLOTEL_DATA_DIR": str(data), "OTEL_METRIC_EXPORT_INTERVAL": "200"}
    if temporality == "delta":
        env["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"] = "delta"
    run_app(APP, env, timeout=120)
    return data


@pytest.fixture(scope="module", params=["cumulative", "delta"])
def telemetry_dir(request, tmp_path_factory) -> Path:
    return _run(tmp_path_factory.mktemp(request.param), request.param)


# -- independent truth from the raw lines ---------------------------------------------------------


def _kv(attributes):
    out = {}
    for a in attributes:
        (value,) = a["value"].values()
        out[a["key"]] = value
    return out


def _raw_spans(data: Path) -> list[dict]:
    spans = []
    for line in (data / "traces.jsonl").read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                spans += [s | {"attrs": _kv(s.get("attributes", []))} for s in ss["spans"]]
    return spans


def _raw_duration_buckets(data: Path) -> tuple[list[float], np.ndarray, float, float]:
    """Total bucket counts of ml.prediction.duration over all series: the last point of each
    cumulative series, or the sum of all delta points."""
    last: dict[str, dict] = {}
    summed: dict[str, np.ndarray] = {}
    bounds, vmin, vmax = None, math.inf, -math.inf
    for line in (data / "metrics.jsonl").read_text().splitlines():
        for rm in json.loads(line)["resourceMetrics"]:
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    if m["name"] != "ml.prediction.duration":
                        continue
                    delta = m["histogram"]["aggregationTemporality"] == 1
                    for p in m["histogram"]["dataPoints"]:
                        key = json.dumps(p["attributes"], sort_keys=True)
                        bounds = p["explicitBounds"]
                        counts = np.array([int(c) for c in p["bucketCounts"]])
                        vmin, vmax = min(vmin, p["min"]), max(vmax, p["max"])
                        if delta:
                            summed[key] = summed.get(key, 0) + counts
                        else:
                            last[key] = counts
    totals = sum(summed.values()) if summed else sum(last.values())
    return bounds, totals, vmin, vmax


def _bucket_of_quantile(q, bounds, counts, vmin, vmax) -> tuple[float, float]:
    rank = q * counts.sum()
    i = int(np.argmax(np.cumsum(counts) >= rank))
    lo = vmin if i == 0 else max(bounds[i - 1], vmin)
    hi = vmax if i == len(bounds) else min(bounds[i], vmax)
    return lo, hi


# -- tests --------------------------------------------------------------------------------------


def test_summary_matches_the_raw_telemetry(telemetry_dir, tmp_path):
    out = tmp_path / "r" / "report.html"
    summary = build_report(telemetry_dir, out)

    spans = [s for s in _raw_spans(telemetry_dir) if s["name"] == "predict churn"]
    failed = [s for s in spans if "error.type" in s["attrs"]]
    assert len(spans) == 300
    assert summary.calls == len(spans)
    assert summary.errors == len(failed) > 0
    assert summary.error_rate == pytest.approx(len(failed) / len(spans))
    (model,) = summary.models
    assert (model.model, model.version, model.calls) == ("churn", "2", 300)
    assert model.rows == sum(int(s["attrs"]["ml.batch.size"]) for s in spans)
    assert model.drifted == () and summary.drifted == ()

    bounds, counts, vmin, vmax = _raw_duration_buckets(telemetry_dir)
    assert counts.sum() == len(spans)
    for q, estimate in ((0.5, summary.p50), (0.95, summary.p95), (0.99, summary.p99)):
        lo, hi = _bucket_of_quantile(q, bounds, counts, vmin, vmax)
        assert lo <= estimate <= hi, (q, lo, estimate, hi)
    assert summary.p50 <= summary.p95 <= summary.p99


def test_html_is_self_contained_and_names_model_and_features(telemetry_dir, tmp_path):
    out = tmp_path / "report.html"
    summary = build_report(telemetry_dir, out)
    assert summary.path == out
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=", page), "every script must be inline"
    assert not re.search(r"<link[^>]+href=[\"']https?:", page)
    assert page.count("plotly.js v") == 1, "plotly.js is embedded exactly once"
    for text in (
        "churn v2",
        "age",
        "income",
        "city",
        "ValueError",
        "KeyError",
        "paris",
        "Latency per interval",
    ):
        assert text in page, text
    # The summary row states the same numbers as the returned summary.
    assert f"<td>{summary.calls:,}</td>" in page
    assert f"{summary.error_rate:.2%}" in page


def test_rates_over_time_add_up_to_the_totals(telemetry_dir):
    from mlotel.export._telemetry import load_telemetry
    from mlotel.report._analysis import analyze

    (model,), _ = analyze(load_telemetry(telemetry_dir))
    tl = model.timeline
    assert tl is not None and tl.calls.size >= 5  # ~1.5 s in 200 ms intervals
    assert tl.calls.sum() == pytest.approx(300)
    spans = _raw_spans(telemetry_dir)
    by_type = {}
    for s in spans:
        if "error.type" in s["attrs"]:
            by_type[s["attrs"]["error.type"]] = by_type.get(s["attrs"]["error.type"], 0) + 1
    assert {k: pytest.approx(v.sum()) for k, v in tl.errors.items()} == by_type
    assert tl.rows.sum() == pytest.approx(sum(int(s["attrs"]["ml.batch.size"]) for s in spans))
    # The bins are the export intervals: interior bins are as wide as the interval (200 ms).
    assert np.median(tl.durations) == pytest.approx(0.2, rel=0.25)
    # Feature distributions hold every row of the successful calls; categories are counted exactly.
    rows = sum(int(s["attrs"]["ml.batch.size"]) for s in spans if "error.type" not in s["attrs"])
    assert {f.name: f.serving.count for f in model.features} == {"age": rows, "income": rows}
    (city,) = model.categories
    assert sum(city.serving.values()) == rows and set(city.serving) == {"paris", "lyon", "nice", "rome"}


def test_drift_gauges_and_alerts(telemetry_dir, tmp_path):
    t0 = 1_800_000_000_000_000_000
    base = {"ml_model_name": "churn", "ml_model_version": "2"}
    extra = tmp_path / "drift.jsonl"
    points = []
    for i, (age, income) in enumerate([(0.05, 0.02), (0.15, 0.03), (0.27, 0.04)]):
        t = t0 + i * 60_000_000_000
        for window in ("interval", "sliding"):
            points.append(
                (
                    t,
                    age + (0.01 if window == "interval" else 0.0),
                    base | {"ml_feature_name": "age", "ml_drift_method": "psi", "ml_drift_window": window},
                )
            )
        points.append(
            (
                t,
                income,
                base | {"ml_feature_name": "income", "ml_drift_method": "psi", "ml_drift_window": "sliding"},
            )
        )
        points.append(
            (
                t,
                0.2 * i,
                base | {"ml_feature_name": "city", "ml_drift_method": "chi2", "ml_drift_window": "sliding"},
            )
        )
    write_lines(extra, [
        gauge_line("ml.feature.drift", points),
        log_line(t0 + 120_000_000_000, "drift alert: model 'churn' feature 'city' chi2 p=0.001 < 0.05",
                 ml_feature_name="city", ml_drift_method="chi2", ml_drift_value=0.4, ml_drift_threshold=0.05),
    ])  # fmt: skip
    out = tmp_path / "report.html"
    summary = build_report([telemetry_dir, extra], out)
    drifted = {(d.feature, d.method): d for d in summary.drifted}
    assert set(drifted) == {("age", "psi"), ("city", "chi2")}
    assert drifted["age", "psi"].value == pytest.approx(0.27)  # the sliding window's latest value
    assert drifted["age", "psi"].threshold == 0.2
    assert drifted["city", "chi2"].value == pytest.approx(0.4)
    page = out.read_text(encoding="utf-8")
    assert "Drift over time: psi" in page and "Drift over time: chi2" in page
    assert "feature &#x27;city&#x27; chi2" in page  # the alert record, escaped
    assert "age (psi 0.27)" in page


def test_reference_profile_is_drawn_under_serving(telemetry_dir, tmp_path):
    profile_mod = pytest.importorskip("mlotel.drift.profile")
    rng = np.random.default_rng(1)
    train = {"age": rng.normal(40, 10, 2000), "income": rng.lognormal(10, 1, 2000),
             "city": rng.choice(["paris", "lyon", "nice"], 2000)}  # fmt: skip
    ref_path = tmp_path / "reference.json"
    profile_mod.build_reference(train, categorical=["city"]).save(ref_path)
    out = tmp_path / "report.html"
    assert main(["report", str(telemetry_dir), "-o", str(out), "--reference", str(ref_path)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "reference (n=2,000)" in page  # numeric features, in the legend
    assert "No reference profile given" not in page


def test_cli_prints_the_output_path(telemetry_dir, tmp_path, capsys):
    out = tmp_path / "x" / "r.html"
    assert main(["report", str(telemetry_dir / "traces.jsonl"), str(telemetry_dir / "metrics.jsonl"),
                 "-o", str(out)]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out)
    assert "300 calls" in captured.err
    assert out.exists()


def test_cli_missing_path_is_an_error(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope"), "-o", str(tmp_path / "r.html")]) == 1
    assert "nope" in capsys.readouterr().err


def test_spans_only_file_gives_exact_counts(telemetry_dir, tmp_path):
    summary = build_report(telemetry_dir / "traces.jsonl", tmp_path / "r.html")
    spans = [s for s in _raw_spans(telemetry_dir) if s["name"] == "predict churn"]
    durations = sorted((int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"])) / 1e9 for s in spans)
    assert summary.calls == len(spans)
    assert summary.p50 == durations[math.ceil(0.5 * len(durations)) - 1]


def test_missing_plotly_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly", None)
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(ImportError, match=r"pip install 'mlotel\[report\]'"):
        build_report(tmp_path, tmp_path / "r.html")
