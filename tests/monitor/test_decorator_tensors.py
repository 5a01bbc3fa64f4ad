"""@mlotel.monitor on torch tensors (CPU): the call is untouched, the distributions exact.

CUDA: tests/monitor/test_decorator_cuda.py. The readers themselves: tests/data/test_read_tensors.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlotel
from mlotel import _semconv as sc
from tests.monitor.tensor_support import assert_no_fault, by, host, sketched

torch = pytest.importorskip("torch")


@pytest.fixture
def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))


def monitored(model, **options):
    """A decorated predict function; ``returned`` holds what the undecorated body returned."""
    returned = []

    @mlotel.monitor(model="net", **options)
    def predict(x):
        out = model(x)
        returned.append(out)
        return out

    return predict, returned


def test_grad_mode_call_returns_the_same_tensor_and_is_sketched(telemetry, net):
    x = torch.randn(200, 6, requires_grad=True)
    predict, returned = monitored(net)  # no torch.no_grad(): the output requires grad
    out = predict(x)
    assert out is returned[0]
    assert out.requires_grad and out.grad_fn is not None and x.requires_grad and x.grad is None
    assert torch.equal(out, net(x))
    out.sum().backward()  # the graph still works
    assert x.grad is not None
    sketched(telemetry.collect(), host(x), host(out))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_model(telemetry, net, dtype):
    model = net.to(getattr(torch, dtype))
    x = torch.randn(128, 6).to(getattr(torch, dtype))
    predict, returned = monitored(model)
    out = predict(x)
    assert out is returned[0] and out.dtype == getattr(torch, dtype)
    sketched(telemetry.collect(), host(x), host(out))


def test_non_contiguous_inputs(telemetry, net):
    base = torch.randn(6, 90, requires_grad=True)
    transposed = base.T  # 90 x 6, column-major
    wide = torch.randn(90, 12)
    sliced = wide[:, ::2]  # 90 x 6, strided
    predict, returned = monitored(net)
    outs = [predict(transposed), predict(sliced)]
    assert all(o is r for o, r in zip(outs, returned, strict=True))
    assert not transposed.is_contiguous() and not sliced.is_contiguous()
    features = np.concatenate([host(transposed), host(sliced)])
    sketched(telemetry.collect(), features, np.concatenate([host(o) for o in outs]))


def test_class_ids_are_counted_as_classes(telemetry, net):
    x = torch.randn(300, 6)

    @mlotel.monitor(model="net")
    def classify(x):
        with torch.no_grad():
            return net(x).argmax(dim=1)

    labels = classify(x)
    assert labels.dtype == torch.int64
    metrics = telemetry.collect()
    assert_no_fault(metrics)
    counts = {k: p.value for k, p in by(metrics[sc.PREDICTION_CLASS_COUNT], sc.PREDICTION_CLASS).items()}
    expected = np.bincount(labels.numpy(), minlength=3)
    assert counts == {str(k): int(v) for k, v in enumerate(expected) if v}
    assert sc.PREDICTION_VALUE not in metrics


def test_inference_mode_inside_the_call(telemetry, net):
    predict_calls = []

    @mlotel.monitor(model="net")
    def predict(x):
        with torch.inference_mode():
            out = net(x)
        predict_calls.append(out)
        return out

    x = torch.randn(64, 6)
    out = predict(x)
    assert out is predict_calls[0] and out.is_inference()
    sketched(telemetry.collect(), host(x), host(out))


def test_sampled_out_calls_read_nothing_and_sampled_rows_match(telemetry, net):
    class Counting(torch.Tensor):
        """Counts every read of the tensor's values (.detach() is where mlotel's reading starts)."""

        reads = 0

        def detach(self):
            type(self).reads += 1
            return super().detach()

    predict, _ = monitored(net, sample_rate=0.25)
    rows = torch.randn(400, 6)
    for row in rows:
        predict(row[None, :].as_subclass(Counting))  # one-row calls: each sampled in or out whole
    metrics = telemetry.collect()
    assert_no_fault(metrics)
    inputs = by(metrics[sc.FEATURE_VALUE], sc.FEATURE_NAME)
    outputs = by(metrics[sc.PREDICTION_VALUE], sc.OUTPUT_NAME)
    kept = inputs["f0"].count
    assert 50 < kept < 150  # ~100 expected
    # Input and output (also a Counting: torch ops keep the subclass) are read once each,
    # by the calls sampled in only; the outputs sketched are those of the same rows.
    assert Counting.reads == 2 * kept
    assert all(p.count == kept for p in (*inputs.values(), *outputs.values()))
    assert metrics[sc.PREDICTION_DURATION].data.data_points[0].count == 400


def test_sampled_rows_are_the_same_for_inputs_and_outputs(telemetry):
    @mlotel.monitor(model="id", sample_rate=0.5)
    def predict(x):
        return x[:, 0] * 1.0  # the prediction of a row is its first feature

    x = torch.randn(2000, 2, requires_grad=True)
    for chunk in x.split(100):
        predict(chunk)
    metrics = telemetry.collect()
    f0 = by(metrics[sc.FEATURE_VALUE], sc.FEATURE_NAME)["f0"]
    (prediction,) = metrics[sc.PREDICTION_VALUE].data.data_points
    assert 800 < f0.count < 1200
    assert (prediction.count, prediction.sum, prediction.min, prediction.max) == (
        f0.count,
        pytest.approx(f0.sum, rel=1e-12),
        f0.min,
        f0.max,
    )
