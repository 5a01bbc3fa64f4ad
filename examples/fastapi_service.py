"""A FastAPI prediction service: the HTTP server span is the parent of mlotel's predict span.

Needs ``pip install fastapi uvicorn opentelemetry-instrumentation-fastapi scikit-learn``.
Run it as a real server::

    OTEL_SERVICE_NAME=iris-api OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 \\
        python examples/fastapi_service.py            # listens on 127.0.0.1:$PORT (default 8000)

    curl -s localhost:8000/predict -H 'content-type: application/json' -d \\
        '{"flowers": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}'

(or ``uvicorn examples.fastapi_service:app``). Without an OTLP endpoint, telemetry goes to
./mlotel-data as OTLP JSON files. Each request gives a trace: the ``POST /predict`` SERVER
span from opentelemetry-instrumentation-fastapi, with the ``predict iris`` span as its
child (the sync endpoint runs in a worker thread; the context travels with it), plus
mlotel's latency, batch-size and feature/prediction distribution metrics.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from pydantic import BaseModel
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import mlotel

# Set up OpenTelemetry (from the OTEL_* variables) before instrumenting FastAPI, so the
# HTTP spans and mlotel's spans share one tracer provider.
mlotel.configure()

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
iris = load_iris()
model = LogisticRegression(max_iter=500).fit(iris.data, iris.target)
CLASSES = [str(name) for name in iris.target_names]


class Flower(BaseModel):
    sepal_length: float
    sepal_width: float
    petal_length: float
    petal_width: float


class PredictRequest(BaseModel):
    flowers: list[Flower]


class PredictResponse(BaseModel):
    species: list[str]


@mlotel.monitor(model="iris", version="1", class_names=CLASSES)
def predict(rows: list[dict[str, float]]):
    X = [[row[f] for f in FEATURES] for row in rows]
    return model.predict_proba(X)


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield
    mlotel.shutdown()  # export what is pending before the server exits


app = FastAPI(title="iris", lifespan=lifespan)


@app.post("/predict")
def predict_endpoint(request: PredictRequest) -> PredictResponse:
    probabilities = predict([flower.model_dump() for flower in request.flowers])
    return PredictResponse(species=[CLASSES[i] for i in probabilities.argmax(axis=1)])


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


FastAPIInstrumentor.instrument_app(app, excluded_urls="health")


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
