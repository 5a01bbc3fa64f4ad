"""``mlotel report`` shows multivariate drift (``ml.multivariate.drift`` and its bounds, alerts)
and the performance estimate against the realized values (``ml.performance.*``).

The telemetry is real: two monitored models write the embedded OTLP/JSON files (one metric
export per ``force_flush``); the expected numbers are read back from those files with
:func:`mlotel.export._telemetry.load_telemetry` and, for the realized and estimated values,
computed here with scikit-learn and :mod:`mlotel.performance`.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

import mlotel
from mlotel import _semconv as sc
from mlotel.export._telemetry import load_telemetry
from mlotel.report import DriftedFeature, PerformanceLine, build_report
from tests.drift.test_online_multivariate import frame
from tests.mlotel_fixtures import forget_runtime
from tests.report.otlp_lines import gauge_line, write_lines

pytest.importorskip("plotly")
pytest.importorskip("sklearn")

CHUNK = 35  # rows per call of the classifier (2 calls per collection)
SERVED = 350  # rows before this one train the model (200) and build the reference (150)
PARTS = 3  # collections of the classifier


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Serve both models into one data directory; returns (data dir, truth)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mlotel.performance import aggregate, estimate

    data_dir = tmp_path_factory.mktemp("served") / "mlotel-data"
    forget_runtime()
    mlotel.configure(data_dir=str(data_dir), export_interval=600)  # exports on force_flush only
    try:
        # Multivariate: the correlation of x0 and x1 flips; every marginal stays the same.
        multivariate_ref = mlotel.build_reference(frame(5000, 1), multivariate=True)

        @mlotel.monitor(model="mv", version="1", reference=multivariate_ref, drift_window=2)
        def predict_mv(X):
            return X["x0"].to_numpy()

        for part in (frame(2000, 2), frame(2000, 3, sign=-1.0), frame(2000, 4, sign=-1.0)):
            for start in range(0, len(part), 500):
                predict_mv(part.iloc[start : start + 500])
            mlotel.force_flush()

        # Performance: a classifier with a calibrated reference; outcomes come back per call.
        data = load_breast_cancer()
        X, y = data.data[:, :8], data.target
        order = np.random.default_rng(0).permutation(len(y))
        X, y = X[order], y[order]
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:200], y[:200])
        performance_ref = mlotel.build_reference(
            X[200:SERVED], target=y[200:SERVED], predictions=model.predict_proba(X[200:SERVED])[:, 1],
            performance_estimate=True,
        )  # fmt: skip

        @mlotel.monitor(model="cancer", version="2", reference=performance_ref, track_outcomes=True,
                        task="classification")  # fmt: skip
        def predict(X):
            return model.predict_proba(X)[:, 1]

        served_rows = slice(SERVED, SERVED + PARTS * CHUNK * 2)
        for part in range(PARTS):
            for call in range(2):
                start = SERVED + (2 * part + call) * CHUNK
                rows = slice(start, start + CHUNK)
                with mlotel.prediction_context() as handle:
                    predict(X[rows])
                mlotel.record_outcome(handle.prediction_id, y[rows].tolist())
            mlotel.force_flush()
    finally:
        mlotel.shutdown()
        forget_runtime()

    # The sliding window (10 intervals by default) holds every row served.
    Xs, ys = X[served_rows], y[served_rows]
    predicted = model.predict(Xs)
    calibration = performance_ref.performance
    estimates = {
        e.metric: e for e in estimate(calibration, aggregate(calibration, model.predict_proba(Xs)[:, 1]))
    }
    realized = {
        "accuracy": accuracy_score(ys, predicted),
        "precision": precision_score(ys, predicted),
        "recall": recall_score(ys, predicted),
        "f1": f1_score(ys, predicted),
    }
    return data_dir, {"estimates": estimates, "realized": realized}


@pytest.fixture(scope="module")
def report(served, tmp_path_factory):
    """The report of the served telemetry: (summary, HTML page)."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    summary = build_report(served[0], out)
    return summary, out.read_text(encoding="utf-8")


def _latest(telemetry, name: str, model: str, **match: str) -> tuple[float, list[float]]:
    """The last point (by time) of gauge ``name`` of ``model`` whose attributes match, and all
    its values in time order."""
    pts = []
    for s in telemetry.series(name):
        a = s.attributes
        if a.get(sc.MODEL_NAME) == model and all(a.get(k) == v for k, v in match.items()):
            pts += [(p.time_ns, float(p.value)) for p in s.points]
    pts.sort()
    return (pts[-1][1] if pts else math.nan), [v for _, v in pts]


def test_summary_has_the_multivariate_alert(served, report):
    data_dir, _ = served
    telemetry = load_telemetry(data_dir)
    window = {sc.DRIFT_METHOD: "reconstruction", sc.DRIFT_WINDOW: "sliding"}
    value, values = _latest(telemetry, sc.MULTIVARIATE_DRIFT, "mv", **window)
    upper, _ = _latest(telemetry, sc.MULTIVARIATE_DRIFT_UPPER, "mv", **window)
    assert len(values) >= 3 and values[0] < 1.2 and value > 2 > upper  # unchanged, then drifted
    alerts = [r for r in telemetry.logs if r.body.startswith("drift alert: model 'mv' multivariate")]
    assert len(alerts) == 1 and sc.FEATURE_NAME not in alerts[0].attributes

    summary, _ = report
    expected = DriftedFeature("mv", "1", "multivariate", "reconstruction", value, upper)
    mv = next(m for m in summary.models if m.model == "mv")
    assert mv.drifted == (expected,)  # no univariate feature drifted: the marginals are the same
    assert expected in summary.drifted
    assert mv.performance == ()
    assert "drift: mv multivariate reconstruction=" in summary.format()


def test_summary_has_the_performance_lines(served, report):
    data_dir, truth = served
    telemetry = load_telemetry(data_dir)
    summary, _ = report
    cancer = next(m for m in summary.models if m.model == "cancer")
    assert [p.metric for p in cancer.performance] == ["accuracy", "precision", "recall", "f1", "roc_auc"]
    assert summary.performance == cancer.performance
    assert all(d.feature != "multivariate" for d in cancer.drifted)  # no multivariate reference
    sliding = {sc.PERFORMANCE_WINDOW: "sliding"}
    for line in cancer.performance:
        assert (line.model, line.version) == ("cancer", "2")
        metric = {sc.PERFORMANCE_METRIC: line.metric, **sliding}
        estimated, series = _latest(telemetry, sc.PERFORMANCE_ESTIMATED, "cancer", **metric)
        error, _ = _latest(telemetry, sc.PERFORMANCE_ESTIMATED_ERROR, "cancer", **metric)
        realized, _ = _latest(telemetry, sc.PERFORMANCE_REALIZED, "cancer", **metric)
        assert len(series) >= PARTS  # one per flush (and the final one at shutdown)
        assert line == PerformanceLine("cancer", "2", line.metric, estimated, error, line.realized)
        # ... which are the estimate of every row served, and sklearn's metric of the outcomes.
        assert line.estimated == pytest.approx(truth["estimates"][line.metric].value, rel=1e-9)
        assert line.error == pytest.approx(truth["estimates"][line.metric].error, rel=1e-9)
        if line.metric == "roc_auc":  # not realized: the outcome cache keeps the class, not the score
            assert math.isnan(line.realized) and math.isnan(realized)
        else:
            assert line.realized == realized == pytest.approx(truth["realized"][line.metric])
    (accuracy,) = [p for p in cancer.performance if p.metric == "accuracy"]
    assert (
        f"performance: cancer accuracy estimated {accuracy.estimated:.2f} ± {accuracy.error:.2f}, "
        f"realized {accuracy.realized:.2f}"
    ) in summary.format().splitlines()
    assert "performance: cancer roc_auc estimated" in summary.format()
    assert "realized -" in summary.format()  # roc_auc


def test_html_has_the_new_figures(report):
    summary, page = report
    assert page.count("plotly.js v") == 1
    titles = _plotly_titles(page)
    assert titles.count("Multivariate drift: reconstruction error / reference (UTC)") == 1
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        assert titles.count(f"Performance: {metric}, estimated vs realized (UTC)") == 1
    # Each section in its model's part of the page: the multivariate chart under mv's Drift heading.
    mv_part = page.split('id="model-mv-1"', 1)[1].split('id="model-cancer-2"', 1)[0]
    cancer_part = page.split('id="model-cancer-2"', 1)[1].split('id="model-mv-1"', 1)[0]
    assert "<h3>Drift</h3>" in mv_part and "Multivariate drift: reconstruction" in mv_part
    assert "Performance: accuracy" not in mv_part and "<h3>Performance" not in mv_part
    assert (
        "<h3>Performance: estimated vs realized</h3>" in cancer_part
        and "Multivariate drift:" not in cancer_part
    )
    # The multivariate alert record in the alerts table; the summary row names the drifted row.
    assert "drift alert: model &#x27;mv&#x27; multivariate" in mv_part
    (mv,) = [m for m in summary.models if m.model == "mv"]
    assert f"multivariate (reconstruction {mv.drifted[0].value:.3g})" in page
    # The estimate, band and realized traces of the accuracy chart hold the exported values.
    figure = _figure_json(page, "Performance: accuracy, estimated vs realized (UTC)")
    names = [t.get("name") for t in figure["data"]]
    assert {"estimated (sliding)", "realized (sliding)", "estimate ± error (sliding)"} <= set(names)
    (accuracy,) = [p for p in summary.performance if p.metric == "accuracy"]
    estimated = next(t for t in figure["data"] if t.get("name") == "estimated (sliding)")
    realized = next(t for t in figure["data"] if t.get("name") == "realized (sliding)")
    assert _values(estimated)[-1] == pytest.approx(accuracy.estimated)
    assert _values(realized)[-1] == pytest.approx(accuracy.realized)
    # The band: upper edge then lower edge (filled to it), estimate +/- error.
    band = names.index("estimate ± error (sliding)")
    assert _values(figure["data"][band - 1])[-1] == pytest.approx(accuracy.estimated + accuracy.error)
    assert _values(figure["data"][band])[-1] == pytest.approx(accuracy.estimated - accuracy.error)
    multivariate = _figure_json(page, "Multivariate drift: reconstruction error / reference (UTC)")
    sliding = next(t for t in multivariate["data"] if t.get("name") == "sliding")
    assert _values(sliding)[-1] == pytest.approx(mv.drifted[0].value)
    assert any(t.get("name") == "interval" for t in multivariate["data"])


def test_models_without_the_new_metrics_render_as_before(tmp_path):
    """A file with only feature drift: no multivariate or performance section, empty records."""
    base = {"ml_model_name": "plain", "ml_model_version": "1"}
    lines = write_lines(tmp_path / "metrics.jsonl", [gauge_line("ml.feature.drift", [
        (1_800_000_000_000_000_000, 0.05, base | {"ml_feature_name": "a", "ml_drift_method": "psi",
                                                  "ml_drift_window": "sliding"}),
    ])])  # fmt: skip
    summary = build_report(lines, tmp_path / "r.html")
    (model,) = summary.models
    assert model.performance == () and summary.performance == () and summary.drifted == ()
    assert "performance:" not in summary.format()
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert _plotly_titles(page) == ["Drift over time: psi (UTC)"]
    assert "<h3>Performance" not in page and "accuracy estimated / realized" not in page


def test_multivariate_from_gauges_and_bounds_only(tmp_path):
    """Hand-written gauges: a value below its lower bound is flagged against that bound; a
    value inside its bounds with no alert record is not flagged."""
    t0 = 1_800_000_000_000_000_000

    def points(model: str, values: list[tuple[float, float, float]]):
        out: dict[str, list] = {n: [] for n in ("", ".lower", ".upper")}
        for i, (lo, v, hi) in enumerate(values):
            attributes = {
                "ml_model_name": model,
                "ml_drift_method": "reconstruction",
                "ml_drift_window": "sliding",
            }
            for suffix, x in (("", v), (".lower", lo), (".upper", hi)):
                out[suffix].append((t0 + i * 60_000_000_000, x, attributes))
        return [gauge_line(f"ml.multivariate.drift{suffix}", pts) for suffix, pts in out.items()]

    path = tmp_path / "metrics.jsonl"
    write_lines(path, points("low", [(0.9, 1.0, 1.1), (0.9, 0.5, 1.1)]))
    write_lines(path, points("fine", [(0.9, 3.0, 1.1), (0.8, 1.05, 1.2)]))
    summary = build_report(path, tmp_path / "r.html")
    assert summary.drifted == (DriftedFeature("low", "", "multivariate", "reconstruction", 0.5, 0.9),)


def _figures(page: str) -> list[dict]:
    """Every plotly figure of the page: its data and layout, decoded from the newPlot calls."""
    decoder = json.JSONDecoder()
    out = []
    for match in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', page):
        data, end = decoder.raw_decode(page, match.end())
        layout, _ = decoder.raw_decode(page, page.index("{", end))
        out.append({"data": data, "layout": layout})
    return out


def _plotly_titles(page: str) -> list[str]:
    return [f["layout"].get("title", {}).get("text", "") for f in _figures(page)]


def _figure_json(page: str, title: str) -> dict:
    """The plotly figure (data and layout) whose title is ``title``."""
    for figure in _figures(page):
        if figure["layout"].get("title", {}).get("text") == title:
            return figure
    raise AssertionError(f"no figure titled {title!r}")


def _values(trace: dict) -> list[float]:
    y = trace["y"]
    if isinstance(y, dict):  # plotly >= 6 encodes numpy arrays as typed arrays
        import base64

        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).tolist()
    return [math.nan if v is None else float(v) for v in y]
