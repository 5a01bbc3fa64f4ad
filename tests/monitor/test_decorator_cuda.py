"""@mlotel.monitor on CUDA tensors (runs only where a GPU exists; skips elsewhere).

The decorated call returns the very tensor the model returned, on its device, unmodified;
the exported distributions are exactly those of a host copy; no fault is counted.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlotel
from mlotel import _semconv as sc
from mlotel.data import read_output
from tests.monitor.tensor_support import assert_no_fault, by, host, sketched

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


def gpu_net(width_out: int = 10):
    torch.manual_seed(0)
    return (
        torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, width_out))
        .cuda()
        .eval()
    )


def monitored(net, *, inference: bool, **options):
    """A decorated predict; ``returned`` holds (the tensor returned, a clone of its values)."""
    returned = []

    @mlotel.monitor(model="gpu-net", version="1", **options)
    def predict(x):
        if inference:
            with torch.inference_mode():
                out = net(x)
        else:
            out = net(x)
        returned.append((out, out.detach().clone()))
        return out

    return predict, returned


def check_result(result, returned, device) -> None:
    out, values = returned
    assert result is out and result.device == device
    assert torch.equal(result.detach(), values)


def test_issue_16_inference_mode_batch(telemetry):
    net = gpu_net()
    predict, returned = monitored(net, inference=True)
    x = torch.randn(512, 64, device="cuda")
    x_values = x.clone()
    result = predict(x)
    check_result(result, returned[0], x.device)
    assert torch.equal(x, x_values) and x.device.type == "cuda"
    sketched(telemetry.collect(), host(x), host(result))


def test_grad_mode_output_and_input(telemetry):
    net = gpu_net()
    predict, returned = monitored(net, inference=False)
    x = torch.randn(256, 64, device="cuda", requires_grad=True)
    result = predict(x)
    check_result(result, returned[0], x.device)
    assert result.requires_grad and result.grad_fn is not None
    result.sum().backward()
    assert x.grad is not None and x.grad.device.type == "cuda"
    sketched(telemetry.collect(), host(x), host(result))


def test_bfloat16_and_non_contiguous(telemetry):
    net = gpu_net().to(torch.bfloat16)
    predict, returned = monitored(net, inference=True)
    base = torch.randn(64, 300, device="cuda", dtype=torch.bfloat16)
    x = base.T  # 300 x 64, column-major
    assert not x.is_contiguous()
    result = predict(x)
    check_result(result, returned[0], x.device)
    assert result.dtype == torch.bfloat16
    sketched(telemetry.collect(), host(x), host(result))


def test_many_classes_copy_only_the_best(telemetry):
    net = gpu_net(width_out=1000)
    predict, returned = monitored(net, inference=True)
    x = torch.randn(512, 64, device="cuda")
    result = predict(x)
    check_result(result, returned[0], x.device)
    metrics = telemetry.collect()
    assert_no_fault(metrics)
    expected = read_output(result.cpu().numpy())  # the numpy path on a host copy
    best = expected.columns[0].values
    (point,) = [p for p in metrics[sc.PREDICTION_VALUE].data.data_points]
    assert point.attributes[sc.OUTPUT_NAME] == "max_proba"
    assert point.count == 512 and point.sum == pytest.approx(float(best.sum()), rel=1e-12)
    classes = by(metrics[sc.PREDICTION_CLASS_COUNT], sc.PREDICTION_CLASS)
    assert sum(p.value for p in classes.values()) == 512  # top-K + __other__
    # The device-side best class equals numpy's on the host copy, value for value.
    on_device = read_output(result)
    for got, want in zip(on_device.columns, expected.columns, strict=True):
        assert (got.name, got.categorical) == (want.name, want.categorical)
        np.testing.assert_array_equal(got.values, want.values)


def test_class_ids_on_the_device(telemetry):
    net = gpu_net()

    @mlotel.monitor(model="gpu-net")
    def classify(x):
        with torch.no_grad():
            return net(x).argmax(dim=1)

    labels = classify(torch.randn(512, 64, device="cuda"))
    assert labels.device.type == "cuda"
    metrics = telemetry.collect()
    assert_no_fault(metrics)
    counts = {k: p.value for k, p in by(metrics[sc.PREDICTION_CLASS_COUNT], sc.PREDICTION_CLASS).items()}
    expected = np.bincount(labels.cpu().numpy(), minlength=10)
    assert counts == {str(k): int(v) for k, v in enumerate(expected) if v}


def test_sampled_out_calls_copy_nothing(telemetry):
    class Counting(torch.Tensor):
        reads = 0

        def detach(self):
            type(self).reads += 1
            return super().detach()

    net = gpu_net()

    @mlotel.monitor(model="gpu-net", sample_rate=0.25)
    def predict(x):
        with torch.no_grad():
            return net(x)

    for row in torch.randn(200, 64, device="cuda"):
        predict(row[None, :].as_subclass(Counting))
    metrics = telemetry.collect()
    assert_no_fault(metrics)
    kept = by(metrics[sc.FEATURE_VALUE], sc.FEATURE_NAME)["f0"].count
    assert 0 < kept < 200
    assert Counting.reads == 2 * kept  # input and output of the sampled-in calls only
