"""Peak CUDA memory of each monitored call, from PyTorch's caching allocator.

Used only when the application itself imported a CUDA build of torch: mlotel never
imports torch, and never initialises CUDA (a call made before CUDA is initialised
records nothing), so a pre-fork server's parent is left alone.

PyTorch keeps one peak per device for the whole process. The hook records
``torch.cuda.max_memory_allocated()`` of the current device after each call and then
resets the peak (``reset_peak_memory_stats``), so each value is the peak since the
previous monitored call ended (or since the model's first call began): the call's own
peak when calls do not overlap; with concurrent calls on one device, the peak of
their union. This resets the peak that ``torch.cuda.max_memory_allocated`` reports to
the application too: turn it off with ``cuda_memory=False`` if you read it yourself.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from mlotel import _semconv as sc
from mlotel.sketches import ExponentialHistogram


def cuda_torch() -> Any | None:
    """The ``torch`` module when the application imported a CUDA build of it; else None. Never imports torch."""
    torch = sys.modules.get("torch")
    if torch is None or getattr(getattr(torch, "version", None), "cuda", None) is None:
        return None
    cuda = getattr(torch, "cuda", None)
    if cuda is None or not hasattr(cuda, "max_memory_allocated"):
        return None
    return torch


class CudaPeakMemory:
    """Hook: record the current device's peak allocated CUDA memory per call into ``ml.prediction.gpu.memory.peak``."""

    def __init__(self, torch: Any, registry: Any, attributes: dict[str, Any], max_buckets: int = 160) -> None:
        self._cuda = torch.cuda
        self._attributes = attributes
        self._instrument = registry.instrument(
            sc.PREDICTION_GPU_MEMORY_PEAK,
            "exponential_histogram",
            "By",
            "Peak CUDA memory allocated by PyTorch on the current device during a monitored call.",
            new_state=lambda: ExponentialHistogram(max_size=max_buckets),
        )
        self._series: dict[int, Any] = {}
        if self._cuda.is_initialized():
            self._cuda.reset_peak_memory_stats()

    def __call__(
        self, span: Any, model_input: Any, result: Any, error: Any, args: tuple, kwargs: Any
    ) -> None:
        cuda = self._cuda
        if not cuda.is_initialized():
            return
        device = cuda.current_device()
        peak = cuda.max_memory_allocated(device)
        cuda.reset_peak_memory_stats(device)
        self._series_for(device).update(np.array([float(peak)]))

    def _series_for(self, device: int) -> Any:
        series = self._series.get(device)
        if series is None:
            series = self._series[device] = self._instrument.series(
                {**self._attributes, sc.HW_ID: _device_id(self._cuda, device)}
            )
        return series


def _device_id(cuda: Any, device: int) -> str:
    """NVML's UUID form (``GPU-...``), as on the ``hw.gpu.*`` metrics, when torch knows it; else ``cuda:N``."""
    try:
        uuid = cuda.get_device_properties(device).uuid
        return f"GPU-{uuid}"
    except Exception:
        return f"cuda:{device}"
