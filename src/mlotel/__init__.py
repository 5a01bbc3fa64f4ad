"""mlotel: OpenTelemetry for machine-learning models.

Quick start::

    import mlotel

    @mlotel.monitor(model="fraud", version="3")
    def predict(X):
        return model.predict(X)

Every call gives a span, latency and batch-size metrics, and the distribution of each
input feature and of the predictions as OTLP exponential histograms. With no OTLP
endpoint configured, telemetry goes to local OTLP JSON files (``./mlotel-data``).
See docs/ for the telemetry contract and every option.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry.instrumentation.utils import suppress_instrumentation

from mlotel import _config, _runtime
from mlotel.drift import ReferenceProfile, ReferenceProfileError, build_reference, profile_current
from mlotel.instrumentation import instrument, register_model, uninstrument
from mlotel.monitor import monitor
from mlotel.outcomes import PredictionHandle, current_prediction_id, prediction_context, record_outcome
from mlotel.version import __version__

__all__ = [
    "PredictionHandle",
    "ReferenceProfile",
    "ReferenceProfileError",
    "__version__",
    "build_reference",
    "configure",
    "current_prediction_id",
    "destination",
    "force_flush",
    "instrument",
    "monitor",
    "prediction_context",
    "profile_current",
    "record_outcome",
    "register_model",
    "shutdown",
    "suppress_instrumentation",
    "uninstrument",
]


def configure(
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
    tracer_provider: Any = None,
    meter_provider: Any = None,
    logger_provider: Any = None,
    **unknown: Any,
) -> None:
    """Configure where and how mlotel exports. Optional: the first monitored call configures from the environment.

    Explicit arguments win over the standard ``OTEL_*`` variables. Arguments and
    variables are validated now; a mistake raises ``TypeError`` or ``ValueError``
    naming it.

    Args:
        service_name: ``service.name`` (else ``OTEL_SERVICE_NAME``).
        endpoint: OTLP endpoint, e.g. ``"http://localhost:4317"`` (else ``OTEL_EXPORTER_OTLP_*ENDPOINT``;
            with neither, telemetry goes to local OTLP JSON files).
        protocol: ``"grpc"`` (default) or ``"http/protobuf"`` (else ``OTEL_EXPORTER_OTLP_PROTOCOL``).
        headers: OTLP headers as a dict or ``"k=v,k2=v2"`` (else ``OTEL_EXPORTER_OTLP_HEADERS``).
        resource_attributes: extra resource attributes (merged over ``OTEL_RESOURCE_ATTRIBUTES``).
        export_interval: seconds between metric exports (else ``OTEL_METRIC_EXPORT_INTERVAL`` ms; 60 s).
        export_timeout: seconds one export may take, retries included (default 10 s).
        shutdown_timeout: the most seconds ``shutdown()``/exit waits for pending telemetry (default 5 s).
        data_dir: folder for the embedded default's files (else ``MLOTEL_DATA_DIR``; ``./mlotel-data``).
        disabled: turn mlotel off (else ``OTEL_SDK_DISABLED``).
        resource_metrics: process (and GPU) metrics next to the model's (else
            ``MLOTEL_RESOURCE_METRICS``; default on, with what is installed: psutil, nvidia-ml-py).
        tracer_provider, meter_provider, logger_provider: use these providers instead of the
            global ones (as ``BaseInstrumentor.instrument(tracer_provider=...)`` does); mlotel
            neither installs nor shuts them down. mlotel's metrics attach to an SDK meter
            provider's readers.

    If the application (or ``opentelemetry-instrument``) already installed SDK providers,
    mlotel uses them and these export settings do not apply to them.

    Example::

        mlotel.configure(service_name="fraud-api", endpoint="http://collector:4317")
    """
    if unknown:
        accepted = ", ".join(
            sorted(
                (_config.resolve.__kwdefaults__.keys() - {"env"})
                | {"tracer_provider", "meter_provider", "logger_provider"}
            )
        )
        raise TypeError(
            f"configure() got unknown argument(s) {', '.join(sorted(unknown))}; accepted: {accepted}"
        )
    config = _config.resolve(
        service_name=service_name,
        endpoint=endpoint,
        protocol=protocol,
        headers=headers,
        resource_attributes=resource_attributes,
        export_interval=export_interval,
        export_timeout=export_timeout,
        shutdown_timeout=shutdown_timeout,
        data_dir=data_dir,
        disabled=disabled,
        resource_metrics=resource_metrics,
    )
    explicit = {
        name: provider
        for name, provider in (
            ("tracer_provider", tracer_provider),
            ("meter_provider", meter_provider),
            ("logger_provider", logger_provider),
        )
        if provider is not None
    }
    _runtime.configure(config, explicit)


def destination() -> str:
    """Where telemetry goes, in words (e.g. ``traces -> /srv/mlotel-data/traces.jsonl; ...``).

    Resolves the configuration from the environment if nothing configured mlotel yet.
    """
    runtime = _runtime.active()
    if runtime is None or not runtime.enabled:
        return "nowhere: mlotel is disabled"
    return runtime.providers.destination


def force_flush(timeout: float | None = None) -> bool:
    """Export all pending telemetry now; wait at most ``timeout`` seconds (default: the shutdown timeout).

    Returns False when the wait timed out.
    """
    return _runtime.force_flush(timeout)


def shutdown() -> None:
    """Flush and stop what mlotel set up; bounded by ``shutdown_timeout``. Also runs at interpreter exit.

    Monitored calls after shutdown run unmonitored.
    """
    _runtime.shutdown()
