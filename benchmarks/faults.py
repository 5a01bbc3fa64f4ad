"""Prediction latency while the collector is up, down (connection refused) or hung (never answers).

One process, one mlotel configuration exporting OTLP/gRPC to a fixed port; the state of
that port changes between blocks of calls, several times (mid-run outages and
recoveries, starting with the collector down):

  up    - a real collector (rotel, from the test harness) on the port
  down  - nothing listening: connection refused
  hung  - a socket that accepts connections and never answers (exports wait for their timeout)

Each call is timed on its own (perf_counter); the model is a small numpy dot product of
one row x 10 features, sketched by mlotel. Printed: p50/p99 per state and the ratios
down/up and hung/up of the p99 (target <= 1.2), plus the span queue's longest length
(its bound is OTEL_BSP_MAX_QUEUE_SIZE, 2048) and the count of dropped spans.

    python benchmarks/faults.py [--calls N] [--rounds R]
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test harness's collector

import mlotel  # noqa: E402
from mlotel import _runtime  # noqa: E402
from mlotel.export import _setup  # noqa: E402
from tests.conftest import RotelCollector, find_rotel_binary  # noqa: E402
from tests.otlp_receiver import OTLPReceiver, free_ports  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per block")
    parser.add_argument("--rounds", type=int, default=3, help="blocks per state")
    args = parser.parse_args()

    binary = find_rotel_binary()
    if binary is None:
        sys.exit("rotel-agent not found (pip install rotel)")
    grpc_port, http_port = free_ports(2)
    receiver = OTLPReceiver().start()
    collector = RotelCollector(
        binary, receiver, Path(tempfile.mkdtemp()), grpc_port=grpc_port, http_port=http_port
    )

    mlotel.configure(
        service_name="faults-bench",
        endpoint=f"http://127.0.0.1:{grpc_port}",
        export_interval=1.0,
        export_timeout=2.0,
        shutdown_timeout=2.0,
    )
    dropped: collections.Counter = collections.Counter()
    count = _setup._drop_sink

    def tally(signal: str, error_type: str, n: int) -> None:
        dropped[signal, error_type] += n
        count(signal, error_type, n)

    _setup.set_drop_sink(tally)
    processor = _runtime.active().providers.tracer_provider._active_span_processor._span_processors[0]
    queue = processor._batch_processor._queue
    rng = np.random.default_rng(0)
    weights = rng.normal(size=10)
    rows = rng.normal(size=(args.calls, 1, 10))

    @mlotel.monitor(model="bench")
    def predict(X):
        return X @ weights

    hole: socket.socket | None = None

    def enter(state: str) -> None:
        nonlocal hole
        if hole is not None:
            hole.close()
            hole = None
        if collector.running:
            collector.stop()
        if state == "up":
            collector.start()
        elif state == "hung":
            hole = socket.socket()
            hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            hole.bind(("127.0.0.1", grpc_port))
            hole.listen(1024)
        time.sleep(0.3)  # let the exporters notice

    latencies: dict[str, list[float]] = {"up": [], "down": [], "hung": []}
    longest = 0
    for _ in range(200):  # warm-up
        predict(rows[0])
    order = ["down", "up", "hung"] * args.rounds  # down from the start, then outages mid-run
    for state in order:
        enter(state)
        gc.collect()
        samples = latencies[state]
        for X in rows:
            start = time.perf_counter()
            predict(X)
            samples.append(time.perf_counter() - start)
            if len(queue) > longest:
                longest = len(queue)
    enter("up")
    mlotel.shutdown()
    collector.stop()
    receiver.stop()

    print(f"{args.calls} calls x {args.rounds} blocks per state, pid {os.getpid()}")
    print(f"{'state':6} {'p50 us':>8} {'p99 us':>8}")
    for state, samples in latencies.items():
        print(f"{state:6} {percentile(samples, 50) * 1e6:8.1f} {percentile(samples, 99) * 1e6:8.1f}")
    up = percentile(latencies["up"], 99)
    for state in ("down", "hung"):
        ratio = percentile(latencies[state], 99) / up
        print(f"p99 {state}/up: {ratio:.2f} (target <= 1.2)")
    print(f"span queue longest: {longest} (bound {processor._batch_processor._max_queue_size})")
    print("dropped items:", dict(dropped))


if __name__ == "__main__":
    main()
