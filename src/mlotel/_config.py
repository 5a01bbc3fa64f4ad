"""Configuration: explicit arguments to :func:`mlotel.configure` over the standard ``OTEL_*`` variables.

Everything is validated here, when ``configure()`` or ``monitor()`` is called, so the
hot path never meets a configuration error. Environment variables follow the
OpenTelemetry SDK specification; the variables mlotel reads itself are listed in
docs/configuration.md.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

PROTOCOLS = ("grpc", "http/protobuf")
SIGNALS = ("traces", "metrics", "logs")
EXPORTER_KINDS = ("otlp", "console", "none")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)

DEFAULT_SHUTDOWN_TIMEOUT = 5.0
DEFAULT_EXPORT_INTERVAL = 60.0
DEFAULT_EXPORT_TIMEOUT = 10.0
DEFAULT_DATA_DIR = "mlotel-data"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


@dataclass(frozen=True)
class Config:
    """The resolved, validated configuration. Build it with :func:`resolve`."""

    service_name: str | None = None
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    #: Per signal: "otlp", "console", "none", or "file" (the embedded default).
    exporters: Mapping[str, str] = field(default_factory=dict)
    #: Per signal OTLP endpoint, None when the exporter reads its own variables.
    endpoints: Mapping[str, str | None] = field(default_factory=dict)
    protocols: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] | None = None
    export_interval: float = DEFAULT_EXPORT_INTERVAL
    export_timeout: float = DEFAULT_EXPORT_TIMEOUT
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    sampler: str | None = None
    sampler_arg: float | None = None
    disabled: bool = False
    data_dir: str = DEFAULT_DATA_DIR
    resource_metrics: bool = True


def _check_str(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{name} must be a non-empty str or None, got {value!r}")
    return value


def _check_positive(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def check_endpoint(name: str, value: str) -> str:
    """Validate an OTLP endpoint URL (``http://host:port`` or ``https://...``)."""
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(
            f"{name} must be a URL such as 'http://localhost:4317' (scheme http or https, with a host), got {value!r}"
        )
    try:
        parsed.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise ValueError(f"{name} has a malformed port: {value!r}") from exc
    return value


def parse_key_values(name: str, value: str) -> dict[str, str]:
    """Parse the W3C-baggage-like ``k1=v1,k2=v2`` form used by OTEL_*_HEADERS and OTEL_RESOURCE_ATTRIBUTES."""
    out: dict[str, str] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        key, sep, val = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{name} must be a comma-separated list of key=value pairs, got {value!r}")
        out[unquote(key.strip())] = unquote(val.strip())
    return out


def _check_headers(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_key_values("headers", value)
    if isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return dict(value)
    raise TypeError(f"headers must be a dict[str, str] or a 'k1=v1,k2=v2' string, got {value!r}")


def _check_protocol(name: str, value: str) -> str:
    if value not in PROTOCOLS:
        raise ValueError(f"{name} must be one of {', '.join(PROTOCOLS)}; got {value!r}")
    return value


def _env_seconds_from_millis(env: Mapping[str, str], var: str) -> float | None:
    raw = env.get(var)
    if raw is None or not raw.strip():
        return None
    try:
        millis = float(raw)
    except ValueError:
        raise ValueError(f"{var} must be a number of milliseconds, got {raw!r}") from None
    if not math.isfinite(millis) or millis <= 0:
        raise ValueError(f"{var} must be a positive number of milliseconds, got {raw!r}")
    return millis / 1000.0


def resolve(
    *,
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | str | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    export_interval: float | None = None,
    export_timeout: float | None = None,
    shutdown_timeout: float | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    disabled: bool | None = None,
    resource_metrics: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Merge explicit arguments (which win) with the environment and validate the result.

    Raises ``TypeError``/``ValueError`` naming the argument or variable at fault.
    """
    env = os.environ if env is None else env

    service_name = _check_str("service_name", service_name) or env.get("OTEL_SERVICE_NAME") or None
    if endpoint is not None:
        check_endpoint("endpoint", _check_str("endpoint", endpoint))
    if protocol is not None:
        _check_protocol("protocol", _check_str("protocol", protocol))
    headers = _check_headers(headers)
    if resource_attributes is not None and not isinstance(resource_attributes, Mapping):
        raise TypeError(f"resource_attributes must be a mapping, got {resource_attributes!r}")
    export_interval = _check_positive("export_interval", export_interval)
    export_timeout = _check_positive("export_timeout", export_timeout)
    shutdown_timeout = _check_positive("shutdown_timeout", shutdown_timeout)
    if data_dir is not None and not isinstance(data_dir, str | os.PathLike):
        raise TypeError(f"data_dir must be a path, got {data_dir!r}")
    if disabled is not None and not isinstance(disabled, bool):
        raise TypeError(f"disabled must be a bool, got {disabled!r}")

    # Validate the standard variables too: a typo there should fail as loudly as a typo in code.
    resource: dict[str, str] = {}
    if env.get("OTEL_RESOURCE_ATTRIBUTES"):
        resource.update(parse_key_values("OTEL_RESOURCE_ATTRIBUTES", env["OTEL_RESOURCE_ATTRIBUTES"]))
    resource.update({str(k): v for k, v in (resource_attributes or {}).items()})
    if env.get("OTEL_EXPORTER_OTLP_HEADERS"):
        parse_key_values("OTEL_EXPORTER_OTLP_HEADERS", env["OTEL_EXPORTER_OTLP_HEADERS"])

    base_protocol = protocol or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "grpc"
    _check_protocol("OTEL_EXPORTER_OTLP_PROTOCOL" if protocol is None else "protocol", base_protocol)
    base_endpoint_env = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if base_endpoint_env:
        check_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", base_endpoint_env)

    exporters: dict[str, str] = {}
    endpoints: dict[str, str | None] = {}
    protocols: dict[str, str] = {}
    for signal in SIGNALS:
        upper = signal.upper()
        kind_var = f"OTEL_{upper}_EXPORTER"
        kind = (env.get(kind_var) or "").strip().lower()
        if kind and kind.split(",")[0].strip() not in EXPORTER_KINDS:
            raise ValueError(f"{kind_var} must be one of {', '.join(EXPORTER_KINDS)}; got {env[kind_var]!r}")
        kind = kind.split(",")[0].strip()
        sig_protocol_var = f"OTEL_EXPORTER_OTLP_{upper}_PROTOCOL"
        sig_protocol = protocol or env.get(sig_protocol_var) or base_protocol
        _check_protocol(sig_protocol_var if protocol is None else "protocol", sig_protocol)
        sig_endpoint_var = f"OTEL_EXPORTER_OTLP_{upper}_ENDPOINT"
        if env.get(sig_endpoint_var):
            check_endpoint(sig_endpoint_var, env[sig_endpoint_var])
        env_has_endpoint = bool(env.get(sig_endpoint_var) or base_endpoint_env)
        if endpoint is not None:
            kind = kind if kind in ("console", "none") else "otlp"
            endpoints[signal] = _signal_url(endpoint, sig_protocol, signal)
        else:
            endpoints[signal] = None  # the OTLP exporter reads OTEL_EXPORTER_OTLP_* itself
            if not kind:
                # The embedded default: no endpoint and no exporter named anywhere -> local files.
                kind = "otlp" if env_has_endpoint else "file"
        exporters[signal] = kind
        protocols[signal] = sig_protocol

    sampler = (env.get("OTEL_TRACES_SAMPLER") or "").strip().lower() or None
    if sampler is not None and sampler not in SAMPLERS:
        raise ValueError(f"OTEL_TRACES_SAMPLER must be one of {', '.join(SAMPLERS)}; got {sampler!r}")
    sampler_arg = None
    if env.get("OTEL_TRACES_SAMPLER_ARG"):
        try:
            sampler_arg = float(env["OTEL_TRACES_SAMPLER_ARG"])
        except ValueError:
            raise ValueError(
                f"OTEL_TRACES_SAMPLER_ARG must be a number in [0, 1], got {env['OTEL_TRACES_SAMPLER_ARG']!r}"
            ) from None
        if not 0.0 <= sampler_arg <= 1.0:
            raise ValueError(f"OTEL_TRACES_SAMPLER_ARG must be in [0, 1], got {sampler_arg}")

    if export_interval is None:
        export_interval = (
            _env_seconds_from_millis(env, "OTEL_METRIC_EXPORT_INTERVAL") or DEFAULT_EXPORT_INTERVAL
        )
    if export_timeout is None:
        export_timeout = _env_seconds_from_millis(env, "MLOTEL_EXPORT_TIMEOUT") or DEFAULT_EXPORT_TIMEOUT
    if shutdown_timeout is None:
        shutdown_timeout = (
            _env_seconds_from_millis(env, "MLOTEL_SHUTDOWN_TIMEOUT") or DEFAULT_SHUTDOWN_TIMEOUT
        )
    if disabled is None:
        disabled = _truthy(env.get("OTEL_SDK_DISABLED"))
    if resource_metrics is not None and not isinstance(resource_metrics, bool):
        raise TypeError(f"resource_metrics must be a bool, got {resource_metrics!r}")
    from mlotel.resources import setting as resource_setting

    resource_metrics = resource_setting(resource_metrics, env)

    return Config(
        service_name=service_name,
        resource_attributes=resource,
        exporters=exporters,
        endpoints=endpoints,
        protocols=protocols,
        headers=headers,
        export_interval=export_interval,
        export_timeout=export_timeout,
        shutdown_timeout=shutdown_timeout,
        sampler=sampler,
        sampler_arg=sampler_arg,
        disabled=disabled,
        data_dir=os.fspath(data_dir)
        if data_dir is not None
        else env.get("MLOTEL_DATA_DIR") or DEFAULT_DATA_DIR,
        resource_metrics=resource_metrics,
    )


def _signal_url(endpoint: str, protocol: str, signal: str) -> str:
    """OTLP/HTTP wants the full per-signal URL; gRPC wants the base endpoint."""
    if protocol == "grpc":
        return endpoint
    return endpoint.rstrip("/") + f"/v1/{signal}"
