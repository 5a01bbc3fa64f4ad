"""The OpenTelemetry Collector configurations in collector-config/: they parse, are wired
consistently, use only components of the contrib distribution, and take endpoints and
credentials from the environment.

No Collector binary runs here: each file is checked the way ``otelcol validate`` would
check its structure (every pipeline names defined components, connectors join pipelines),
against the component list of the contrib release in contrib_components.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the Collector configurations")

from tests.collector_config.conftest import CONFIG_DIR  # noqa: E402
from tests.collector_config.contrib_components import MODULES, RELEASE, component_types  # noqa: E402

SECTIONS = ("receivers", "processors", "exporters", "connectors", "extensions")
REQUIRED = {
    "otelcol-gateway.yaml",
    "otelcol-gateway-remotewrite.yaml",
    "otelcol-clickhouse.yaml",
    "otelcol-datadog.yaml",
    "otelcol-debug.yaml",
}
CONFIGS = sorted(p.name for p in CONFIG_DIR.glob("otelcol-*.yaml"))
PIPELINE_ID = re.compile(r"^(traces|metrics|logs)(/[^/\s]+)?$")
# ${env:NAME} or ${env:NAME:-default}: the Collector's env provider syntax.
ENV_PLACEHOLDER = re.compile(r"\$\{env:[A-Z_][A-Z0-9_]*(:-[^}]*)?\}")
ANY_EXPANSION = re.compile(r"\$\{[^}]*\}|\$[A-Za-z_]")
SECRET_KEYS = {"key", "api_key", "password", "token", "secret"}


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((CONFIG_DIR / name).read_text())


def default(value: str) -> str:
    """The default of a ``${env:NAME:-default}`` placeholder (the value itself if it is none)."""
    match = re.fullmatch(r"\$\{env:[A-Z_][A-Z0-9_]*:-([^}]*)\}", value)
    return match.group(1) if match else value


def pipelines(config: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    return config["service"]["pipelines"]


def pipeline(config: dict[str, Any], signal: str) -> dict[str, list[str]]:
    (found,) = [p for name, p in pipelines(config).items() if name.split("/")[0] == signal]
    return found


def walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (dotted path, scalar) of a loaded YAML tree."""
    if isinstance(node, dict):
        return [item for k, v in node.items() for item in walk(v, f"{path}.{k}" if path else str(k))]
    if isinstance(node, list):
        return [item for i, v in enumerate(node) for item in walk(v, f"{path}[{i}]")]
    return [(path, node)]


def test_the_required_configurations_exist():
    assert set(CONFIGS) >= REQUIRED


@pytest.mark.parametrize("name", CONFIGS)
def test_starts_with_a_header_saying_what_it_is_for_and_how_to_run_it(name):
    lines = (CONFIG_DIR / name).read_text().splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    assert header and header[0].startswith(f"# {name} -- "), header[:1]
    text = "\n".join(header)
    assert len(header) >= 8
    assert "What it is for" in text
    assert f"--config={name}" in text  # how to run it


@pytest.mark.parametrize("name", CONFIGS)
def test_pipelines_use_only_components_the_file_defines(name):
    config = load(name)
    assert set(config) <= {*SECTIONS, "service"}, set(config)
    defined = {section: set(config.get(section) or {}) for section in SECTIONS}
    used_as_receiver: set[str] = set()
    used_as_exporter: set[str] = set()
    used_processors: set[str] = set()
    assert pipelines(config)
    for pipe_name, pipe in pipelines(config).items():
        assert PIPELINE_ID.match(pipe_name), pipe_name
        assert set(pipe) <= {"receivers", "processors", "exporters"}, (pipe_name, set(pipe))
        assert pipe.get("receivers") and pipe.get("exporters"), pipe_name
        for receiver in pipe["receivers"]:
            assert receiver in defined["receivers"] | defined["connectors"], (pipe_name, receiver)
        for processor in pipe.get("processors", []):
            assert processor in defined["processors"], (pipe_name, processor)
        for exporter in pipe["exporters"]:
            assert exporter in defined["exporters"] | defined["connectors"], (pipe_name, exporter)
        assert len(set(pipe.get("processors", []))) == len(pipe.get("processors", []))
        used_as_receiver |= set(pipe["receivers"])
        used_as_exporter |= set(pipe["exporters"])
        used_processors |= set(pipe.get("processors", []))
    # A connector is the exporter of one pipeline and the receiver of another.
    for connector in defined["connectors"]:
        assert connector in used_as_exporter and connector in used_as_receiver, connector
    assert set(config["service"].get("extensions", [])) == defined["extensions"]
    # Nothing defined and left unused.
    assert defined["receivers"] <= used_as_receiver
    assert defined["processors"] <= used_processors
    assert defined["exporters"] <= used_as_exporter


@pytest.mark.parametrize("name", CONFIGS)
def test_component_types_belong_to_the_contrib_distribution(name):
    config = load(name)
    known = component_types()
    for section in SECTIONS:
        for component_id in config.get(section) or {}:
            kind = component_id.split("/", 1)[0]
            assert kind in known[section], (
                f"{name}: {section} type {kind!r} is not in otelcol-contrib {RELEASE}"
            )


@pytest.mark.parametrize("name", CONFIGS)
def test_memory_limiter_first_and_batch_last(name):
    for pipe_name, pipe in pipelines(load(name)).items():
        processors = [p.split("/")[0] for p in pipe.get("processors", [])]
        if "memory_limiter" in processors:
            assert processors[0] == "memory_limiter", (pipe_name, processors)
        if "batch" in processors:
            assert processors[-1] == "batch", (pipe_name, processors)


@pytest.mark.parametrize("name", CONFIGS)
def test_endpoints_and_credentials_come_from_env_placeholders(name):
    text = (CONFIG_DIR / name).read_text()
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        for expansion in ANY_EXPANSION.findall(line):
            assert ENV_PLACEHOLDER.fullmatch(expansion), f"{name}:{number}: {expansion!r} is not ${{env:...}}"
    for path, value in walk(load(name)):
        leaf = path.rsplit(".", 1)[-1]
        if leaf in SECRET_KEYS:
            assert isinstance(value, str) and ENV_PLACEHOLDER.fullmatch(value), (
                f"{name}: {path} is not a placeholder"
            )
            assert ":-" not in value, f"{name}: {path} has a default secret"
        if leaf == "endpoint" and "exporters" in path:
            assert isinstance(value, str) and ENV_PLACEHOLDER.fullmatch(value), f"{name}: {path}={value!r}"


def test_the_contrib_component_list_is_complete_and_unambiguous():
    assert set(MODULES) == set(SECTIONS)
    for section, types in component_types().items():
        assert len(set(MODULES[section])) == len(MODULES[section]), section
        assert len(types) == len(MODULES[section]), section  # no two modules share a type
    assert {"otlp", "memory_limiter", "batch", "health_check"} <= (
        component_types()["receivers"] | component_types()["processors"] | component_types()["extensions"]
    )


# -- what each configuration is for ------------------------------------------------


def test_gateway_keeps_exponential_histograms_native_via_prometheus_otlp():
    config = load("otelcol-gateway.yaml")
    assert set(config["receivers"]["otlp"]["protocols"]) == {"grpc", "http"}
    metrics = pipeline(config, "metrics")
    (exporter,) = metrics["exporters"]
    assert exporter.split("/")[0] == "otlphttp"
    # otlphttp appends /v1/metrics: Prometheus's OTLP receiver is /api/v1/otlp/v1/metrics.
    assert default(config["exporters"][exporter]["endpoint"]).endswith("/api/v1/otlp")
    # Delta from applications is accumulated: Prometheus keeps cumulative series only.
    assert "deltatocumulative" in metrics["processors"]
    (traces,) = pipeline(config, "traces")["exporters"]
    assert traces.split("/")[0] == "otlp" and default(config["exporters"][traces]["endpoint"]).endswith(
        ":4317"
    )
    (logs,) = pipeline(config, "logs")["exporters"]
    # Loki's native OTLP ingestion (not the deprecated loki exporter / push API).
    assert logs.split("/")[0] == "otlphttp" and default(config["exporters"][logs]["endpoint"]).endswith(
        "/otlp"
    )


def test_remotewrite_gateway_writes_native_histograms_with_prometheusremotewrite():
    config = load("otelcol-gateway-remotewrite.yaml")
    metrics = pipeline(config, "metrics")
    assert metrics["exporters"] == ["prometheusremotewrite"]
    assert default(config["exporters"]["prometheusremotewrite"]["endpoint"]).endswith("/api/v1/write")
    # The exporter drops delta data points.
    assert "deltatocumulative" in metrics["processors"]
    header = (CONFIG_DIR / "otelcol-gateway-remotewrite.yaml").read_text()
    assert "--enable-feature=native-histograms" in header


def test_clickhouse_stores_every_signal_and_exponential_histograms():
    config = load("otelcol-clickhouse.yaml")
    for signal in ("traces", "metrics", "logs"):
        assert pipeline(config, signal)["exporters"] == ["clickhouse"]
    exporter = config["exporters"]["clickhouse"]
    assert exporter["metrics_tables"]["exponential_histogram"]["name"]
    assert default(exporter["endpoint"]).startswith(("tcp://", "http://", "https://", "clickhouse://"))


def test_datadog_gets_delta_and_documents_the_temporality_setting():
    config = load("otelcol-datadog.yaml")
    exporter = config["exporters"]["datadog"]
    assert exporter["api"]["key"] == "${env:DD_API_KEY}"
    assert exporter["metrics"]["histograms"]["mode"] == "distributions"
    metrics = pipeline(config, "metrics")
    assert "cumulativetodelta" in metrics["processors"] and metrics["exporters"] == ["datadog"]
    assert (
        "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta"
        in (CONFIG_DIR / "otelcol-datadog.yaml").read_text()
    )
    # APM stats: the connector takes traces in and feeds the metrics pipeline.
    assert "datadog/connector" in pipeline(config, "traces")["exporters"]
    assert "datadog/connector" in metrics["receivers"]


def test_debug_prints_all_signals_in_detail_on_loopback():
    config = load("otelcol-debug.yaml")
    assert config["exporters"]["debug"]["verbosity"] == "detailed"
    for signal in ("traces", "metrics", "logs"):
        assert pipeline(config, signal)["exporters"] == ["debug"]
    for protocol in config["receivers"]["otlp"]["protocols"].values():
        assert default(protocol["endpoint"]).startswith("127.0.0.1:")


def test_config_dir_has_no_unexpected_yaml():
    assert sorted(p.name for p in Path(CONFIG_DIR).glob("*.y*ml")) == CONFIGS
