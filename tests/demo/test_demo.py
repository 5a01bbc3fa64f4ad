"""``mlotel demo`` run as a user runs it: a fresh process, local files or a real collector."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlotel import _semconv as sc
from mlotel.demo import _model
from mlotel.export.otlp_json import read_otlp_json
from tests.otlp_receiver import attrs_to_dict

SPAN = f"predict {_model.MODEL_NAME}"
NUMBER = r"(\d[\d,]*)"
UNSHIFTED = set(_model.FEATURES) - {_model.SHIFTED_FEATURE}


def _demo(data_dir: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "MLOTEL_"))}
    full.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "mlotel.cli", "demo", "--duration", "3", "--data-dir", str(data_dir)],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _drift_lines(stdout: str) -> dict[str, dict[str, float]]:
    """``{subject: {method: value}}`` from the summary's drift lines."""
    block = stdout.split("  drift      ", 1)[1].split("  quality", 1)[0].split("  report", 1)[0]
    out = {}
    for line in block.splitlines():
        subject, methods = line.strip().split(": ", 1)
        out[subject] = {m.split()[0]: float(m.split()[1]) for m in methods.split(", ")}
    return out


def _points(data_dir: Path, metric: str):
    """``(attributes, point)`` of every data point of ``metric`` in the metrics files, in file order."""
    for line in read_otlp_json(data_dir, "metrics"):
        for rm in line["resourceMetrics"]:
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    if m["name"] != metric:
                        continue
                    data = next(v for k, v in m.items() if isinstance(v, dict) and "dataPoints" in v)
                    for p in data["dataPoints"]:
                        attrs = {a["key"]: next(iter(a["value"].values())) for a in p.get("attributes", [])}
                        yield attrs, p


def test_demo_writes_files_report_and_an_honest_summary(tmp_path):
    data = tmp_path / "data"
    proc = _demo(data)
    out = proc.stdout

    for name in ("traces.jsonl", "metrics.jsonl", "logs.jsonl", "reference.json", "report.html"):
        assert (data / name).is_file(), name
    assert f"report     {(data / 'report.html').resolve()}" in out

    # What the clients counted (the truth) against what the telemetry says.
    done = re.search(rf"done +{NUMBER} calls \({NUMBER} rows\), {NUMBER} failed", out)
    sent, sent_rows, failed = (_int(g) for g in done.groups())
    calls = re.search(rf"calls +{NUMBER} \(the clients sent {NUMBER}\), {NUMBER} errors \(([\d.]+)%\)", out)
    assert calls, out
    assert _int(calls.group(1)) == _int(calls.group(2)) == sent > 0
    assert _int(calls.group(3)) == failed
    assert 0 < float(calls.group(4)) < 10
    assert float(calls.group(4)) == pytest.approx(100 * failed / sent, abs=0.006)

    # Independently of the report code: one span per call, one ERROR span per failed call.
    spans = [
        s
        for line in read_otlp_json(data, "traces")
        for rs in line["resourceSpans"]
        for ss in rs["scopeSpans"]
        for s in ss["spans"]
        if s["name"] == SPAN
    ]
    assert len(spans) == sent
    assert sum(s.get("status", {}).get("code") == 2 for s in spans) == failed
    # Cumulative temporality: the last export of the one batch-size series holds the total.
    *_, (_, last) = _points(data, sc.PREDICTION_BATCH_SIZE)
    assert int(last["count"]) == sent and float(last["sum"]) == sent_rows

    latency = re.search(r"latency +p50 ([\d.]+) ms, p95 ([\d.]+) ms, p99 ([\d.]+) ms", out)
    p50, p95, p99 = (float(g) for g in latency.groups())
    assert 0 < p50 <= p95 <= p99
    assert p50 >= 1.0  # the simulated lookup alone has a median of 3 ms

    # Drift: the shifted feature and the new category are flagged, no unshifted feature is.
    drifted = _drift_lines(out)
    assert _model.SHIFTED_FEATURE in drifted, out
    assert drifted[_model.SHIFTED_FEATURE]["psi"] >= 0.2
    assert _model.CATEGORICAL in drifted, out
    assert not UNSHIFTED & set(drifted), out
    # ... and only after the traffic changed: the first interval's PSI is low, the last high.
    psi = [
        float(p["asDouble"])
        for attrs, p in _points(data, sc.FEATURE_DRIFT)
        if attrs[sc.FEATURE_NAME] == _model.SHIFTED_FEATURE
        and attrs[sc.DRIFT_METHOD] == "psi"
        and attrs[sc.DRIFT_WINDOW] == "interval"
    ]
    assert len(psi) >= 3, psi
    assert psi[0] < 0.1 < 0.2 <= psi[-1], psi
    # The join bug: 'worst area' alone is unchanged (not flagged above), but the multivariate
    # model sees that it no longer goes with 'mean radius'.
    assert _model.DECOUPLED_FEATURE in UNSHIFTED
    assert drifted["multivariate"]["reconstruction"] > 1.1, out
    # Label-free accuracy estimate next to the accuracy of the reported labels.
    quality = re.search(r"quality +accuracy: estimated ([\d.]+) \+/- ([\d.]+) .*realized ([\d.]+)", out)
    assert quality, out
    estimated, error, realized = (float(g) for g in quality.groups())
    assert 0.5 < estimated <= 1 and 0 < error < 0.2 and 0.5 < realized <= 1


def test_demo_with_an_otlp_endpoint_sends_everything_to_the_collector(collector, tmp_path):
    data = tmp_path / "data"
    proc = _demo(data, OTEL_EXPORTER_OTLP_ENDPOINT=collector.grpc_endpoint, OTEL_SERVICE_NAME="demo-e2e")
    out = proc.stdout
    assert "report     skipped: telemetry went to" in out, out
    assert not list(data.glob("*.jsonl")) and not (data / "report.html").exists()
    done = re.search(rf"done +{NUMBER} calls \({NUMBER} rows\), {NUMBER} failed", out)
    sent, _, failed = (_int(g) for g in done.groups())
    assert sent > 0 and failed > 0

    receiver = collector.receiver
    spans = receiver.wait_for_spans(SPAN, count=sent)
    assert len(spans) == sent
    assert spans[0].resource["service.name"] == "demo-e2e"
    assert sum(s.attributes.get(sc.ERROR_TYPE) == "ValueError" for s in spans) == failed

    def total_calls(r):
        metric = r.latest_metric(sc.PREDICTION_DURATION)
        return metric and sum(p.count for p in metric.data_points) == sent

    receiver.wait_for(total_calls)
    drift = receiver.wait_for_metrics(
        sc.FEATURE_DRIFT,
        where=lambda m: any(
            attrs_to_dict(p.attributes)[sc.FEATURE_NAME] == _model.SHIFTED_FEATURE for p in m.data_points
        ),
    )
    assert drift[0].kind == "gauge"
    alerts = receiver.wait_for_logs(
        where=lambda r: r.attributes.get(sc.FEATURE_NAME) == _model.SHIFTED_FEATURE
    )
    assert "drift alert" in alerts[0].body
