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


def test_tensors_reach_numpy_without_a_copy_on_the_host():
    from mlotel.instrumentation.torch import to_host

    t = torch.arange(12, dtype=torch.float32).reshape(4, 3).requires_grad_()
    array = to_host(t)
    assert isinstance(array, np.ndarray) and np.shares_memory(array, t.detach().numpy())
    half = to_host(torch.ones(2, 2, dtype=torch.bfloat16))
    assert half.dtype == np.float32 and half.sum() == 4
    images = to_host(torch.zeros(5, 3, 8, 8))  # more than 2-D: batch size only
    assert images.shape == (5, 0)
