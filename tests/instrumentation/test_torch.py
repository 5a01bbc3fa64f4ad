"""PyTorch: the top-level module call only; grad and inference modes untouched."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

from mlotel import _semconv as sc
from mlotel.instrumentation import instrument, uninstrument
from tests.instrumentation.support import features, identity, model_names, series, spans

torch = pytest.importorskip("torch")


class IrisNet(torch.nn.Module):
    def __init__(self, hidden: int = 8):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU())
        self.head = torch.nn.Linear(hidden, 3)
        self.seen_inference_mode = None

    def forward(self, x):
        self.seen_inference_mode = torch.is_inference_mode_enabled()
        return self.head(self.body(x))


@pytest.fixture(scope="module")
def trained():
    X, y = load_iris(return_X_y=True)
    torch.manual_seed(0)
    net = IrisNet()
    xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(30):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        optimizer.step()
    return net, xt


def test_top_level_call_only_and_modes_untouched(telemetry, trained):
    net, xt = trained
    call_before = torch.nn.Module.__dict__["__call__"]
    instrument("torch", tracer_provider=telemetry.tracer_provider)

    logits = net(xt)  # grad mode: the result still carries its graph
    assert logits.requires_grad and logits.grad_fn is not None
    logits.sum().backward()
    with torch.no_grad():
        assert not net(xt).requires_grad
    with torch.inference_mode():
        out = net(xt[:5])
    assert net.seen_inference_mode is True and out.is_inference()

    assert [s.name for s in spans(telemetry)] == ["forward IrisNet"] * 3  # no Sequential/Linear/ReLU spans
    assert model_names(telemetry) == {"IrisNet"}
    first = spans(telemetry)[0]
    assert identity(first)[1] == "torch" and first.attributes[sc.BATCH_SIZE] == len(xt)
    assert identity(first)[2] != identity_of(IrisNet(hidden=9))
    assert identity(first)[2] == identity_of(IrisNet(hidden=8))
    sketched = features(telemetry, "IrisNet")
    assert set(sketched) == {"f0", "f1", "f2", "f3"}
    assert sketched["f0"].count == 2 * len(xt) + 5
    assert sketched["f0"].sum == pytest.approx(2 * float(xt[:, 0].sum()) + float(xt[:5, 0].sum()), rel=1e-6)
    outputs = series(telemetry, sc.PREDICTION_VALUE, sc.OUTPUT_NAME, **{sc.MODEL_NAME: "IrisNet"})
    assert set(outputs) == {"0", "1", "2"}

    net.head(torch.zeros(2, 8))  # a submodule called on its own is a top-level call
    assert spans(telemetry)[-1].name == "forward Linear"

    uninstrument("torch")
    assert torch.nn.Module.__dict__["__call__"] is call_before
    telemetry.span_exporter.clear()
    net(xt)
    assert spans(telemetry) == []


def identity_of(module):
    from mlotel.instrumentation import instrumentor

    return instrumentor("torch").identify(module, "forward").params_hash


def test_tensors_are_read_after_the_call_by_the_shared_reader():
    from mlotel.data._tensors import to_host
    from mlotel.instrumentation.torch import sketchable

    t = torch.arange(12, dtype=torch.float32).reshape(4, 3).requires_grad_()
    assert sketchable(t) is t  # nothing copied before the model runs; mlotel.data reads it later
    array = to_host(t)  # what the sketches get: a view, no copy, on the host
    assert isinstance(array, np.ndarray) and np.shares_memory(array, t.detach().numpy())
    assert t.requires_grad and t.grad_fn is None
    half = to_host(torch.ones(2, 2, dtype=torch.bfloat16))
    assert half.dtype == np.float32 and half.sum() == 4
    images = sketchable(torch.zeros(5, 3, 8, 8))  # more than 2-D: batch size only
    assert images.shape == (5, 0)
    assert sketchable(torch.eye(3).to_sparse()).shape == (3, 0)


def test_grad_mode_and_bfloat16_outputs_are_sketched(telemetry):
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x = torch.randn(64, 4)
    instrument("torch", tracer_provider=telemetry.tracer_provider)
    try:
        out = net(x)  # grad mode: the output requires grad
        half = net.to(torch.bfloat16)(x.bfloat16())
    finally:
        uninstrument("torch")
    assert out.requires_grad and out.grad_fn is not None
    metrics = telemetry.collect()
    assert sc.FAULT_COUNT not in metrics
    host = np.concatenate([out.detach().numpy(), half.detach().float().numpy()]).astype(np.float64)
    outputs = {p.attributes[sc.OUTPUT_NAME]: p for p in metrics[sc.PREDICTION_VALUE].data.data_points}
    assert set(outputs) == {"0", "1"}
    for j in range(2):
        assert outputs[str(j)].count == 128
        assert outputs[str(j)].sum == pytest.approx(float(host[:, j].sum()), rel=1e-9)
