"""GPU metrics: quietly absent without NVML or CUDA; checked against NVML and torch where a GPU exists."""

from __future__ import annotations

import logging
import textwrap

import numpy as np
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import mlotel
from mlotel import _semconv as sc
from mlotel import resources
from mlotel.resources._gpu import GpuMetrics
from tests.apps import run_app

GPU_METRICS = (
    sc.HW_GPU_UTILIZATION,
    sc.HW_GPU_MEMORY_USAGE,
    sc.HW_GPU_MEMORY_LIMIT,
    sc.HW_GPU_MEMORY_UTILIZATION,
)


def nvml_or_none():
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml if pynvml.nvmlDeviceGetCount() > 0 else None
    except Exception:
        return None


def collect(reader) -> dict:
    data = reader.get_metrics_data()
    if data is None:
        return {}
    return {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}


@pytest.mark.skipif(nvml_or_none() is not None, reason="a GPU is present: the no-GPU path does not apply")
def test_without_a_gpu_nothing_is_registered_and_one_debug_line_says_why(caplog):
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    with caplog.at_level(logging.DEBUG, logger="mlotel"):
        assert resources.enable(provider, process=False) == ()
    assert [r.levelno for r in caplog.records if "hw.gpu" in r.getMessage()] == [logging.DEBUG]
    assert not set(collect(reader)) & set(GPU_METRICS)
    provider.shutdown()


@pytest.mark.skipif(nvml_or_none() is not None, reason="a GPU is present: the no-GPU path does not apply")
def test_gpu_callbacks_observe_nothing_when_nvml_fails():
    pynvml = pytest.importorskip("pynvml")
    gpu = GpuMetrics(pynvml)
    assert gpu.devices() == []
    assert list(gpu.utilization(None)) == [] and list(gpu.memory_limit(None)) == []


def test_nvml_metrics_match_nvml_per_device():
    nvml = nvml_or_none()
    if nvml is None:
        pytest.skip("no usable NVML/GPU here (pynvml.nvmlInit() failed or found no device)")
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    assert "gpu" in resources.enable(provider, process=False)
    metrics = collect(reader)
    limits = {p.attributes[sc.HW_ID]: p for p in metrics[sc.HW_GPU_MEMORY_LIMIT].data.data_points}
    assert len(limits) == nvml.nvmlDeviceGetCount()
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        uuid = nvml.nvmlDeviceGetUUID(handle)
        uuid = uuid.decode() if isinstance(uuid, bytes) else uuid
        point = limits[uuid]
        assert point.value == nvml.nvmlDeviceGetMemoryInfo(handle).total
        assert point.attributes[sc.HW_TYPE] == "gpu" and point.attributes[sc.HW_NAME] == f"gpu{index}"
    assert metrics[sc.HW_GPU_MEMORY_LIMIT].unit == "By"
    for p in metrics[sc.HW_GPU_UTILIZATION].data.data_points:
        assert 0.0 <= p.value <= 1.0 and p.attributes[sc.HW_GPU_TASK] == "general"
    for p in metrics[sc.HW_GPU_MEMORY_UTILIZATION].data.data_points:
        assert 0.0 <= p.value <= 1.0
    provider.shutdown()


def test_mlotel_never_imports_torch():
    code = textwrap.dedent(
        """
        import sys
        import mlotel
        from mlotel import resources

        @mlotel.monitor(model="m", track_outcomes=True)
        def predict(x):
            return x

        predict([[1.0]])
        resources.enable(mlotel._runtime.active().providers.meter_provider)
        assert "torch" not in sys.modules, "mlotel imported torch"
        """
    )
    run_app(code, {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none",
                   "OTEL_LOGS_EXPORTER": "none"})  # fmt: skip


def test_cpu_only_torch_adds_no_cuda_hook(telemetry):
    torch = pytest.importorskip("torch")
    if torch.version.cuda is not None:
        pytest.skip("a CUDA build of torch: see test_cuda_peak_memory_per_call")

    @mlotel.monitor(model="m")
    def predict(x):
        return torch.as_tensor(x) * 2

    predict(np.ones((2, 2), dtype=np.float32))
    assert sc.PREDICTION_GPU_MEMORY_PEAK not in telemetry.collect()


def test_cuda_peak_memory_per_call(telemetry):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device for torch here")
    torch.cuda.init()
    mib = 1 << 20

    @mlotel.monitor(model="gpu")
    def predict(n_bytes):
        block = torch.empty(n_bytes, dtype=torch.uint8, device="cuda")
        return int(block.numel())

    baseline = torch.cuda.memory_allocated()  # tensors other tests left alive count in every peak
    predict(64 * mib)
    predict(4 * mib)
    (point,) = telemetry.collect()[sc.PREDICTION_GPU_MEMORY_PEAK].data.data_points
    assert point.count == 2
    assert point.max >= 64 * mib  # the first call's own block
    assert point.min < baseline + 16 * mib  # the peak was reset between calls
    assert point.attributes[sc.HW_ID].startswith(("GPU-", "cuda:"))
    nvml = nvml_or_none()
    if nvml is not None:  # the same hw.id as the device's hw.gpu.* metrics
        uuids = set()
        for index in range(nvml.nvmlDeviceGetCount()):
            uuid = nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(index))
            uuids.add(uuid.decode() if isinstance(uuid, bytes) else uuid)
        assert point.attributes[sc.HW_ID] in uuids

    @mlotel.monitor(model="gpu-off", cuda_memory=False)
    def predict_off(n_bytes):
        return int(torch.empty(n_bytes, dtype=torch.uint8, device="cuda").numel())

    predict_off(mib)
    peaks = telemetry.collect()[sc.PREDICTION_GPU_MEMORY_PEAK].data.data_points
    assert {p.attributes[sc.MODEL_NAME] for p in peaks} == {"gpu"}
