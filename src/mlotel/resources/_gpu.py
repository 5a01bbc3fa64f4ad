"""GPU metrics per device (OpenTelemetry ``hw.gpu.*`` semantic conventions) read through NVML.

``nvidia-ml-py`` (import name ``pynvml``) is optional. NVML is initialised on the first
observation in each process (a forked worker initialises its own); when the library or
the driver is missing, or no device is found, the instruments observe nothing and one
debug line says why.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation

from mlotel import _faults
from mlotel import _semconv as sc

_logger = logging.getLogger("mlotel")


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class GpuMetrics:
    """The callbacks of the ``hw.gpu.*`` instruments, over NVML devices found lazily per pid."""

    def __init__(self, nvml: Any) -> None:
        self._nvml = nvml
        self._pid: int | None = None
        self._devices: list[tuple[Any, dict[str, str]]] = []

    def devices(self) -> list[tuple[Any, dict[str, str]]]:
        """``[(handle, attributes)]`` of this process's NVML devices; empty when NVML is unusable."""
        pid = os.getpid()
        if pid == self._pid:
            return self._devices
        self._pid = pid
        self._devices = []
        nvml = self._nvml
        try:
            nvml.nvmlInit()
            driver = _text(nvml.nvmlSystemGetDriverVersion())
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                attributes = {
                    sc.HW_ID: _text(nvml.nvmlDeviceGetUUID(handle)),
                    sc.HW_NAME: f"gpu{index}",
                    sc.HW_MODEL: _text(nvml.nvmlDeviceGetName(handle)),
                    sc.HW_TYPE: "gpu",
                    sc.HW_VENDOR: "NVIDIA",
                    sc.HW_DRIVER_VERSION: driver,
                }
                self._devices.append((handle, attributes))
        except Exception as exc:
            _logger.debug("mlotel: NVML unavailable, no hw.gpu.* metrics: %s", exc)
            self._devices = []
        return self._devices

    def register(self, meter: Any) -> None:
        meter.create_observable_gauge(
            sc.HW_GPU_UTILIZATION,
            [self.utilization],
            unit="1",
            description="Fraction of time spent in a specific task.",
        )
        meter.create_observable_up_down_counter(
            sc.HW_GPU_MEMORY_USAGE, [self.memory_usage], unit="By", description="GPU memory used."
        )
        meter.create_observable_up_down_counter(
            sc.HW_GPU_MEMORY_LIMIT, [self.memory_limit], unit="By", description="Size of the GPU memory."
        )
        meter.create_observable_gauge(
            sc.HW_GPU_MEMORY_UTILIZATION,
            [self.memory_utilization],
            unit="1",
            description="Fraction of GPU memory used.",
        )

    def utilization(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._each(
            lambda h: self._nvml.nvmlDeviceGetUtilizationRates(h).gpu / 100.0, {sc.HW_GPU_TASK: "general"}
        )

    def memory_usage(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._each(lambda h: self._nvml.nvmlDeviceGetMemoryInfo(h).used)

    def memory_limit(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._each(lambda h: self._nvml.nvmlDeviceGetMemoryInfo(h).total)

    def memory_utilization(self, options: CallbackOptions) -> Iterable[Observation]:
        def fraction(handle: Any) -> float:
            info = self._nvml.nvmlDeviceGetMemoryInfo(handle)
            return info.used / info.total if info.total else 0.0

        return self._each(fraction)

    def _each(self, read: Any, extra: dict[str, str] | None = None) -> Iterable[Observation]:
        out = []
        for handle, attributes in self.devices():
            try:
                out.append(Observation(read(handle), {**attributes, **extra} if extra else attributes))
            except Exception as exc:  # one device failing (e.g. lost) must not hide the others
                _faults.record_fault("resources", exc)
        return out


def load_nvml() -> Any | None:
    """The ``pynvml`` module when it imports and NVML initialises here; else None (one debug line)."""
    try:
        import pynvml
    except ImportError:
        _logger.debug(
            "mlotel: nvidia-ml-py is not installed; no hw.gpu.* metrics (pip install 'mlotel[gpu]')"
        )
        return None
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
    except Exception as exc:
        _logger.debug("mlotel: NVML did not initialise (%s); no hw.gpu.* metrics", exc)
        return None
    if count == 0:
        _logger.debug("mlotel: NVML found no GPU; no hw.gpu.* metrics")
        return None
    return pynvml
