"""collector-config/grafana-dashboard.json: well-formed, every panel queries Prometheus, every
metric and label it names is what Prometheus's OTLP translation makes of mlotel's contract,
and every PromQL query parses in a real Prometheus (and promtool) where one is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlotel import _semconv as sc
from tests.collector_config import prometheus_names as pn
from tests.collector_config.conftest import CONFIG_DIR, MIN_PROMETHEUS, version_tuple

DASHBOARD = json.loads((CONFIG_DIR / "grafana-dashboard.json").read_text())
SEMCONV_DOC = Path(__file__).resolve().parents[2] / "docs" / "semantic-conventions.md"
GRAFANA_GLOBALS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
KINDS = {
    "Histogram": pn.HISTOGRAM,
    "ExponentialHistogram": pn.EXPONENTIAL_HISTOGRAM,
    "Counter": pn.COUNTER,
    "UpDownCounter": pn.NON_MONOTONIC_COUNTER,
    "Gauge": pn.GAUGE,
}
# Announced for the drift module (not yet in docs/semantic-conventions.md): name, instrument, unit.
DRIFT_METRICS = [
    ("ml.feature.drift", "Gauge", "1"),
    ("ml.prediction.drift", "Gauge", "1"),
    ("ml.drift.alert.count", "Counter", "{alert}"),
]
DRIFT_ATTRIBUTES = ["ml.drift.method"]


def contract_metrics() -> list[tuple[str, str, str]]:
    """(name, instrument, unit) of every metric in the contract's Metrics table, plus the drift metrics."""
    rows = re.findall(r"^\| `([a-z.]+)` \| (\w+)[^|]*\| `([^`]*)` \|", SEMCONV_DOC.read_text(), re.M)
    assert len(rows) >= 8, "metrics table of docs/semantic-conventions.md not found"
    names = {name for name, _, _ in rows}
    return rows + [m for m in DRIFT_METRICS if m[0] not in names]


def prometheus_series() -> dict[str, str]:
    """{Prometheus series name: its OTLP metric} for the whole contract."""
    out = {}
    for name, instrument, unit in contract_metrics():
        for series in pn.series_names(name, unit, KINDS[instrument]):
            out[series] = name
    return out


def prometheus_labels() -> set[str]:
    attributes = [
        v for k, v in vars(sc).items() if k.isupper() and isinstance(v, str) and "." in v and "/" not in v
    ]
    return {pn.label_name(a) for a in attributes + DRIFT_ATTRIBUTES} | {"le"}


def data_panels() -> list[dict[str, Any]]:
    panels = []
    for panel in DASHBOARD["panels"]:
        panels.extend(panel.get("panels", []))  # panels inside collapsed rows
        if panel["type"] != "row":
            panels.append(panel)
    return panels


def queries() -> list[tuple[str, str]]:
    """(id, PromQL with Grafana variables) of every target, then of every query variable's selector."""
    out = [(f"{p['title']} [{t['refId']}]", t["expr"]) for p in data_panels() for t in p["targets"]]
    for variable in DASHBOARD["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+), *(\w+)\)", variable["definition"])
            assert match, variable["definition"]
            out.append((f"variable {variable['name']}", match.group(1)))
    return out


def template_variables() -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in DASHBOARD["templating"]["list"]}


def substitute(expr: str) -> str:
    """``expr`` as Grafana sends it with every variable at "All" (regex .*) and 5m rate windows."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in GRAFANA_GLOBALS:
            return GRAFANA_GLOBALS[name]
        variable = template_variables().get(name)
        assert variable is not None and variable["type"] == "query", f"undefined variable ${name}"
        return variable.get("allValue") or variable["current"]["value"]

    return VARIABLE.sub(value, expr)


def all_exprs() -> list[str]:
    return [expr for _, expr in queries()]


# -- structure -------------------------------------------------------------------------


def test_naming_port_matches_the_upstream_examples():
    # Examples from otlptranslator's doc comments (metric_namer.go, unit_namer.go).
    assert (
        pn.metric_name("http.server.request.duration", "s", pn.HISTOGRAM)
        == "http_server_request_duration_seconds"
    )
    assert pn.metric_name("requests.count", "1", pn.COUNTER) == "requests_count_total"
    assert pn.metric_name("memory.usage", "By", pn.GAUGE) == "memory_usage_bytes"
    assert pn.metric_name("disk.io", "By/s", pn.GAUGE) == "disk_io_bytes_per_second"
    assert pn.metric_name("cpu.utilization", "1", pn.GAUGE) == "cpu_utilization_ratio"
    assert pn.metric_name("x.count", "{thing}", pn.COUNTER) == "x_count_total"


def test_mapping_of_the_contract_to_prometheus_names():
    names = {name: pn.metric_name(name, unit, KINDS[kind]) for name, kind, unit in contract_metrics()}
    assert names["ml.prediction.duration"] == "ml_prediction_duration_seconds"
    assert names["ml.prediction.batch.size"] == "ml_prediction_batch_size"
    assert names["ml.feature.value"] == "ml_feature_value"
    assert names["ml.prediction.value"] == "ml_prediction_value"
    assert names["ml.feature.missing"] == "ml_feature_missing_total"
    assert names["mlotel.fault.count"] == "mlotel_fault_count_total"
    assert names["ml.feature.drift"] == "ml_feature_drift_ratio"
    assert names["ml.drift.alert.count"] == "ml_drift_alert_count_total"
    # The README's mapping table states the name of every metric the dashboard plots.
    readme = (CONFIG_DIR / "README.md").read_text()
    for otlp in dashboard_metrics():
        prom = names[otlp]
        assert re.search(rf"`{re.escape(otlp)}`.*`{re.escape(prom)}", readme), (
            f"README lacks {otlp} -> {prom}"
        )


def test_dashboard_metadata_and_template_variables():
    assert DASHBOARD["uid"] and DASHBOARD["title"]
    variables = template_variables()
    assert (
        variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    )
    for name in ("model", "version"):
        assert (
            variables[name]["type"] == "query"
            and variables[name]["includeAll"]
            and variables[name]["allValue"] == ".*"
        )
    assert "ml_model_name" in variables["model"]["definition"]
    assert "ml_model_version" in variables["version"]["definition"]
    every_panel = DASHBOARD["panels"] + [p for row in DASHBOARD["panels"] for p in row.get("panels", [])]
    ids = [p["id"] for p in every_panel]
    assert len(set(ids)) == len(ids), "panel ids must be unique"


def test_every_panel_has_a_prometheus_datasource_and_targets():
    panels = data_panels()
    assert len(panels) >= 12
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target.get("datasource", panel["datasource"]) == panel["datasource"]
        # Every panel filters by model (faults may come from outside any model call, so not by version).
        assert all('ml_model_name=~"$model"' in t["expr"] for t in panel["targets"]), panel["title"]


def dashboard_metrics() -> set[str]:
    """The OTLP names of the contract metrics the dashboard's queries use."""
    series = prometheus_series()
    tokens = {t for expr in all_exprs() for t in re.findall(r"\b(?:ml|mlotel)_[a-z0-9_]+\b", expr)}
    return {series[t] for t in tokens if t in series}


def test_queries_name_only_metrics_and_labels_of_the_contract():
    series, labels = prometheus_series(), prometheus_labels()
    for query_id, expr in queries():
        for token in re.findall(r"\b(?:ml|mlotel|error)_[a-z0-9_]+\b", expr):
            assert token in series or token in labels, f"{query_id}: {token!r} is no contract metric or label"
    # Everything the dashboard promises is plotted.
    assert dashboard_metrics() >= {
        "ml.prediction.duration",
        "ml.prediction.batch.size",
        "ml.feature.value",
        "ml.prediction.value",
        "ml.feature.missing",
        "ml.feature.category.count",
        "ml.prediction.class.count",
        "mlotel.fault.count",
        "ml.feature.drift",
        "ml.prediction.drift",
        "ml.drift.alert.count",
    }


def _exprs_of(title_word: str) -> list[str]:
    return [t["expr"] for p in data_panels() if title_word in p["title"] for t in p["targets"]]


def test_latency_quantiles_and_throughput_per_model_and_version():
    latency = _exprs_of("Latency")
    for q in ("0.5", "0.95", "0.99"):
        (expr,) = [e for e in latency if e.startswith(f"histogram_quantile({q},")]
        assert "ml_prediction_duration_seconds_bucket" in expr
        assert "sum by (le, ml_model_name, ml_model_version)" in expr
    (calls,) = _exprs_of("calls per second")
    assert "rate(ml_prediction_duration_seconds_count" in calls and "ml_model_version" in calls
    (errors,) = _exprs_of("Error rate")
    assert "error_type" in errors.split("/")[0] and 'error_type!=""' in errors


def test_feature_quantiles_come_from_native_histograms():
    feature = [e for e in all_exprs() if "ml_feature_value" in e]
    assert any(
        e.startswith("histogram_quantile(0.5, sum by (ml_feature_name) (rate(ml_feature_value{")
        for e in feature
    )
    for expr in feature + [e for e in all_exprs() if "ml_prediction_value" in e]:
        # Native histograms: no _bucket series, no le label.
        assert "ml_feature_value_bucket" not in expr and "ml_prediction_value_bucket" not in expr
        assert not re.search(r"\ble\b", expr), expr


def test_drift_panels_draw_threshold_lines_at_0_1_and_0_2():
    drift = [
        p
        for p in data_panels()
        if any(re.search(r"ml_(feature|prediction)_drift_ratio", t["expr"]) for t in p["targets"])
    ]
    assert len(drift) == 2
    for panel in drift:
        defaults = panel["fieldConfig"]["defaults"]
        steps = [s["value"] for s in defaults["thresholds"]["steps"]]
        assert steps == [None, 0.1, 0.2], panel["title"]
        assert defaults["custom"]["thresholdsStyle"]["mode"] in ("line", "line+area", "dashed"), panel[
            "title"
        ]


def test_alert_and_fault_counts_are_plotted():
    assert any("increase(ml_drift_alert_count_total" in e for e in all_exprs())
    (faults,) = [e for e in all_exprs() if "mlotel_fault_count_total" in e]
    assert "mlotel_fault_kind" in faults and "error_type" in faults


# -- PromQL parses in a real Prometheus --------------------------------------------


@pytest.fixture(scope="module")
def prometheus(prometheus_server):
    return prometheus_server


@pytest.mark.parametrize(("query_id", "expr"), queries(), ids=[q for q, _ in queries()])
def test_query_parses_in_prometheus(prometheus, query_id, expr):
    answer = prometheus.query(substitute(expr))
    # An empty TSDB answers success with no data; a bad query is errorType "bad_data" (parse error).
    assert answer["status"] == "success" or answer.get("errorType") == "execution", (query_id, answer)


def test_a_broken_query_is_reported_as_a_parse_error(prometheus):
    """The check above can fail: Prometheus rejects malformed PromQL as bad_data."""
    answer = prometheus.query("histogram_quantile(0.5, sum by (ml_feature_name) (rate(ml_feature_value[5m]))")
    assert answer["status"] == "error" and answer["errorType"] == "bad_data"
    assert "parse error" in answer["error"]


def test_promtool_checks_every_query_as_a_recording_rule(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (CI: apt-get install -y prometheus)")
    version = subprocess.run([promtool, "--version"], capture_output=True, text=True, timeout=30)
    found = re.search(r"version (\S+)", version.stdout + version.stderr)
    if found is None or version_tuple(found.group(1)) < MIN_PROMETHEUS:
        pytest.skip(f"promtool {found and found.group(1)} predates native-histogram PromQL (needs >= 2.40)")
    rules = {
        "groups": [
            {
                "name": "mlotel-dashboard",
                "rules": [
                    {"record": f"mlotel_dashboard:query_{i}", "expr": substitute(expr)}
                    for i, expr in enumerate(all_exprs())
                ],
            }
        ]
    }
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(all_exprs())} rules found" in result.stdout + result.stderr
