"""PyTorch on a CUDA device (runs only where one exists): the model's tensors stay where they are,
its result is untouched, and the features are still sketched from a single host copy."""

from __future__ import annotations

import numpy as np
import pytest

import mlotel
from mlotel import _semconv as sc
from mlotel.instrumentation import instrument, uninstrument

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def test_cuda_module_is_monitored_and_untouched(telemetry):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)).cuda().eval()
    x = torch.randn(256, 4, device="cuda")
    expected = net(x)  # before instrumentation
    instrument("torch", tracer_provider=telemetry.tracer_provider)
    try:
        with torch.inference_mode():
            out = net(x)
        assert out.device.type == "cuda" and x.device.type == "cuda"
        torch.testing.assert_close(out, expected.detach())
    finally:
        uninstrument("torch")
    metrics = telemetry.collect()
    (span,) = [s for s in telemetry.spans() if s.name.startswith("forward")]
    assert span.attributes[sc.BATCH_SIZE] == 256
    values = {p.attributes[sc.FEATURE_NAME]: p for p in metrics[sc.FEATURE_VALUE].data.data_points}
    assert len(values) == 4 and all(p.count == 256 for p in values.values())
    host = x.cpu().numpy()
    for j, point in enumerate(sorted(values.values(), key=lambda p: p.attributes[sc.FEATURE_NAME])):
        assert point.sum == pytest.approx(float(host[:, j].astype(np.float64).sum()), rel=1e-6)


def test_decorated_cuda_call_records_peak_memory(telemetry):
    @mlotel.monitor(model="cuda-net")
    def predict(x):
        return (x @ x.T).sum(dim=1)

    x = torch.randn(512, 64, device="cuda")
    result = predict(x)
    assert result.device.type == "cuda"
    metrics = telemetry.collect()
    assert metrics[sc.PREDICTION_DURATION].data.data_points[0].count == 1
    peak = metrics.get("ml.prediction.gpu.memory.peak")
    assert peak is not None and peak.data.data_points[0].count == 1 and peak.data.data_points[0].max > 0
