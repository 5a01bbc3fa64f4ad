"""Mistakes in mlotel's own API fail loudly at configure/decoration time."""

from __future__ import annotations

import pytest

import mlotel
from mlotel import _config


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"protocol": "udp"}, ValueError, "protocol must be one of grpc, http/protobuf"),
        ({"endpoint": "localhost:4317"}, ValueError, "endpoint must be a URL"),
        ({"endpoint": "http://host:notaport"}, ValueError, "malformed port"),
        ({"endpoint": 4317}, TypeError, "endpoint must be a non-empty str"),
        ({"headers": "novalue"}, ValueError, "key=value"),
        ({"headers": {"a": 1}}, TypeError, "headers must be"),
        ({"export_interval": 0}, ValueError, "export_interval must be a positive"),
        ({"shutdown_timeout": "5"}, ValueError, "shutdown_timeout"),
        ({"service_name": ""}, TypeError, "service_name"),
        ({"disabled": "yes"}, TypeError, "disabled must be a bool"),
        ({"endpiont": "http://x:1"}, TypeError, r"unknown argument\(s\) endpiont; accepted: .*endpoint"),
    ],
)
def test_configure_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        mlotel.configure(**kwargs)


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"}, "OTEL_EXPORTER_OTLP_PROTOCOL must be one of"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"}, "OTEL_EXPORTER_OTLP_ENDPOINT must be a URL"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "nope"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        ({"OTEL_EXPORTER_OTLP_HEADERS": "a"}, "OTEL_EXPORTER_OTLP_HEADERS"),
        ({"OTEL_METRIC_EXPORT_INTERVAL": "soon"}, "OTEL_METRIC_EXPORT_INTERVAL"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER must be one of"),
        ({"OTEL_TRACES_SAMPLER_ARG": "2"}, r"OTEL_TRACES_SAMPLER_ARG must be in \[0, 1\]"),
        ({"OTEL_METRICS_EXPORTER": "prometheus"}, "OTEL_METRICS_EXPORTER must be one of"),
    ],
)
def test_bad_environment_variables_are_named(env, match):
    with pytest.raises(ValueError, match=match):
        _config.resolve(env=env)


def test_explicit_arguments_win_over_the_environment():
    env = {
        "OTEL_SERVICE_NAME": "from-env",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_METRIC_EXPORT_INTERVAL": "5000",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=prod,team=risk",
    }
    config = _config.resolve(
        service_name="explicit", endpoint="http://explicit:4318", protocol="http/protobuf", env=env
    )
    assert config.service_name == "explicit"
    assert config.endpoints["traces"] == "http://explicit:4318/v1/traces"
    assert config.endpoints["metrics"] == "http://explicit:4318/v1/metrics"
    assert config.protocols == {
        "traces": "http/protobuf",
        "metrics": "http/protobuf",
        "logs": "http/protobuf",
    }
    assert config.export_interval == 5.0
    assert config.resource_attributes == {"deployment.environment": "prod", "team": "risk"}


def test_environment_alone():
    config = _config.resolve(
        env={"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://m:4317", "OTEL_TRACES_EXPORTER": "none"}
    )
    # Endpoint from the environment: the OTLP exporter reads it itself.
    assert config.exporters == {"traces": "none", "metrics": "otlp", "logs": "file"}
    assert config.endpoints["metrics"] is None


def test_embedded_default_when_nothing_is_configured():
    config = _config.resolve(env={})
    assert config.exporters == {"traces": "file", "metrics": "file", "logs": "file"}
    assert config.data_dir == "mlotel-data"
    assert _config.resolve(env={"MLOTEL_DATA_DIR": "/tmp/x"}).data_dir == "/tmp/x"
    assert config.shutdown_timeout == 5.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"modle": "x"}, TypeError, r"unknown option\(s\) modle; accepted: model"),
        ({"model": ""}, TypeError, "model must be a non-empty str"),
        ({"features": "amount"}, TypeError, "features must be a list of str"),
        ({"categorical": [1]}, TypeError, "every item of categorical"),
        ({"sample_rate": 0}, ValueError, r"sample_rate must be a number in \(0, 1\]"),
        ({"max_features": 0}, ValueError, "max_features"),
        ({"sketch_inputs": "no"}, TypeError, "sketch_inputs must be a bool"),
        ({"reference": 42}, TypeError, "reference must be a path"),
    ],
)
def test_monitor_rejects_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        mlotel.monitor(**kwargs)


def test_monitor_rejects_an_input_arg_that_is_not_a_parameter():
    with pytest.raises(ValueError, match="input_arg='X' is not a parameter"):

        @mlotel.monitor(input_arg="X")
        def predict(features):
            return features


def test_version_may_be_an_int():
    @mlotel.monitor(version=3)
    def predict(X):
        return X

    assert predict(1) == 1
