"""Zero-code monitoring of a PyTorch model with ``opentelemetry-instrument``.

Nothing below mentions mlotel. Run it as::

    OTEL_SERVICE_NAME=iris-torch \
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 \
    opentelemetry-instrument python examples/torch_opentelemetry_instrument.py

``opentelemetry-instrument`` finds mlotel's instrumentors through their entry points and
instruments every framework installed (here torch, and scikit-learn for the dataset).
Each top-level call of the model gives a span ``forward IrisNet`` with
``ml.model.framework=torch`` and ``ml.model.params.hash``, latency and batch-size metrics,
and sketches of the four input features and three output logits. The Linear/ReLU
submodules give nothing of their own. Without an OTLP endpoint, telemetry goes to
``./mlotel-data`` as OTLP JSON files. To skip a framework:
``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=sklearn``.
"""

from __future__ import annotations

import torch
from sklearn.datasets import load_iris


class IrisNet(torch.nn.Module):
    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU())
        self.head = torch.nn.Linear(hidden, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def main() -> None:
    X, y = load_iris(return_X_y=True)
    features, labels = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    torch.manual_seed(0)
    model = IrisNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(100):  # training calls are top-level calls too: each one is monitored
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(features), labels).backward()
        optimizer.step()

    model.eval()
    with torch.inference_mode():
        for start in range(0, len(features), 25):  # "serving": six batches of 25 rows
            predicted = model(features[start : start + 25]).argmax(dim=1)
            print(f"rows {start}-{start + 24}: {predicted.tolist()}")


if __name__ == "__main__":
    main()
