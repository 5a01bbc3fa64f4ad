"""Resource metrics: the process (CPU, memory, threads) and its GPUs, beside the model's own telemetry.

See docs/resources.md. :func:`enable` registers observable instruments on an SDK
``MeterProvider``: the metric reader calls them at each collection, so mlotel runs no
sampling thread, and every value is read in the process that reports it (a forked
worker reports itself). Names follow the OpenTelemetry semantic conventions
(``process.*``, ``hw.gpu.*``).

* Process metrics need ``psutil`` (``pip install 'mlotel[resources]'``).
* GPU metrics need ``nvidia-ml-py`` (``pip install 'mlotel[gpu]'``) and an NVIDIA driver.

Whatever is missing is skipped quietly, with one debug log line.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from mlotel import _semconv as sc
from mlotel.resources._gpu import GpuMetrics, load_nvml
from mlotel.resources._process import ProcessMetrics
from mlotel.resources._torch import CudaPeakMemory, cuda_torch
from mlotel.version import __version__

__all__ = ["CudaPeakMemory", "ENV_VAR", "cuda_torch", "enable", "enabled_groups", "setting"]

_logger = logging.getLogger("mlotel")
ENV_VAR = "MLOTEL_RESOURCE_METRICS"
_lock = threading.Lock()
_enabled: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = weakref.WeakKeyDictionary()


def setting(explicit: bool | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Whether resource metrics are on: ``explicit`` if given, else ``MLOTEL_RESOURCE_METRICS``, else on.

    Raises ``TypeError`` for a non-bool ``explicit`` and ``ValueError`` for a variable that
    is not ``true`` or ``false`` (case-insensitive), naming it. "On" enables what is
    installed: without psutil (and NVML) :func:`enable` registers nothing.
    """
    if explicit is not None:
        if not isinstance(explicit, bool):
            raise TypeError(f"resource_metrics must be a bool, got {explicit!r}")
        return explicit
    env = os.environ if env is None else env
    raw = (env.get(ENV_VAR) or "").strip().lower()
    if not raw:
        return True
    if raw not in ("true", "false"):
        raise ValueError(f"{ENV_VAR} must be true or false, got {env.get(ENV_VAR)!r}")
    return raw == "true"


def _system_metrics_instrumented() -> bool:
    # opentelemetry-instrument with the system-metrics instrumentor already reports process.*.
    module = sys.modules.get("opentelemetry.instrumentation.system_metrics")
    if module is None:
        return False
    try:
        return bool(getattr(module.SystemMetricsInstrumentor(), "_is_instrumented_by_opentelemetry", False))
    except Exception:
        return False


def enable(meter_provider: Any, *, process: bool = True, gpu: bool = True) -> tuple[str, ...]:
    """Register the process and GPU instruments on ``meter_provider`` (meter ``mlotel``).

    Idempotent per provider: a second call returns what the first enabled. Returns the
    groups enabled, among ``"process"`` (psutil installed, and the OpenTelemetry
    system-metrics instrumentor not already reporting them) and ``"gpu"`` (NVML usable
    and at least one device). Never raises for a missing library or device.
    """
    with _lock:
        try:
            done = _enabled.get(meter_provider)
        except TypeError:  # not weak-referenceable: no memory of it
            done = None
        if done is not None:
            return done
        meter = meter_provider.get_meter(sc.SCOPE_NAME, __version__, schema_url=sc.SCHEMA_URL)
        groups: list[str] = []
        if process:
            if importlib.util.find_spec("psutil") is None:
                _logger.debug(
                    "mlotel: psutil is not installed; no process.* metrics (pip install 'mlotel[resources]')"
                )
            elif _system_metrics_instrumented():
                _logger.debug(
                    "mlotel: the system-metrics instrumentor already reports process.*; not adding ours"
                )
            else:
                import psutil

                ProcessMetrics(psutil).register(meter)
                groups.append("process")
        if gpu:
            nvml = load_nvml()
            if nvml is not None:
                GpuMetrics(nvml).register(meter)
                groups.append("gpu")
        result = tuple(groups)
        with contextlib.suppress(TypeError):  # not weak-referenceable: nothing remembered
            _enabled[meter_provider] = result
        return result


def enabled_groups(meter_provider: Any) -> tuple[str, ...]:
    """What :func:`enable` registered on ``meter_provider`` (empty when it was not called)."""
    try:
        return _enabled.get(meter_provider, ())
    except TypeError:
        return ()
