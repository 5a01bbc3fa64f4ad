"""Added cost of sketching a GPU batch with @mlotel.monitor, as ratios to the model call itself.

The model of issue 16: ``Sequential(Linear(64, 256), ReLU, Linear(256, 10))`` in inference
mode on a 512 x 64 float32 batch (512 x 10 out). Baselines and cases, in one process:

  bare             - the model call, then ``torch.cuda.synchronize()`` (the result is ready)
  decorated        - @mlotel.monitor with sketching off (span, latency, batch size)
  sketched         - @mlotel.monitor with inputs and outputs sketched: one host copy of the
                     input and one of the output, 74 sketch updates
  host copies only - ``to_host`` of the input and the output (mlotel.data._tensors), no sketch
  no model         - a decorated function returning a precomputed output: the sketching of
                     the tensors, and of the same values as numpy arrays (the tensor path's
                     own cost is their difference)

Each call ends with a device synchronisation, so a GPU call is timed until its result
exists (a decorated call's copy synchronises anyway). Without a CUDA device the same
runs on CPU tensors and says so; those figures are the CPU path's, not a GPU's.
Best of several repeats; ratios against the bare call measured in the same run.

    python benchmarks/gpu_tensors.py [--calls N] [--repeats R] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import time

import torch
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import mlotel
from mlotel.data._tensors import to_host


class _DropExporter(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


def best_per_call(func, calls: int, repeats: int, sync) -> float:
    """Best-of-``repeats`` seconds per call, each call followed by ``sync()``."""
    for _ in range(max(3, calls // 10)):  # warm-up: kernels, allocator, sketch tables
        func()
        sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            func()
            sync()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None)
    args = parser.parse_args()
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        sync = torch.cuda.synchronize
        print(f"device: {torch.cuda.get_device_name()} (torch {torch.__version__})")
    else:

        def sync() -> None:
            pass

        reason = "requested" if args.device == "cpu" else "no CUDA device here"
        print(
            f"device: CPU ({reason}; CPU tensors, so these are the CPU path's figures, not a GPU's; "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads)"
        )

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    net = net.to(device).eval()
    x = torch.randn(512, 64, device=device)

    def bare(x):
        with torch.inference_mode():
            return net(x)

    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(_DropExporter(), max_queue_size=1 << 16))
    mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
    mlotel.configure(tracer_provider=tp, meter_provider=mp, logger_provider=LoggerProvider())
    decorated = mlotel.monitor(model="plain", sketch_inputs=False, sketch_outputs=False, cuda_memory=False)(
        bare
    )
    sketched = mlotel.monitor(model="sketched", cuda_memory=False)(bare)
    out = bare(x)

    x_host, out_host = x.cpu().numpy(), out.cpu().numpy()

    def copies():
        to_host(x)
        to_host(out)

    # No model: the same sketching fed the tensors, then the same values as numpy arrays.
    tensors_only = mlotel.monitor(model="tensors", cuda_memory=False)(lambda x: out)
    numpy_only = mlotel.monitor(model="numpy", cuda_memory=False)(lambda x: out_host)

    cases = {
        "bare model call": lambda: bare(x),
        "decorated, sketching off": lambda: decorated(x),
        "decorated, inputs + outputs sketched": lambda: sketched(x),
        "host copies only (input + output)": copies,
        "no model: sketching the tensors": lambda: tensors_only(x),
        "no model: sketching numpy copies": lambda: numpy_only(x_host),
    }
    results = {name: best_per_call(fn, args.calls, args.repeats, sync) for name, fn in cases.items()}
    tp.shutdown()
    mp.shutdown()

    base = results["bare model call"]
    print(f"{'case':40s} {'us/call':>9s} {'x bare':>7s}")
    for name, seconds in results.items():
        print(f"{name:40s} {seconds * 1e6:9.1f} {seconds / base:7.2f}")
    sketch_cost = results["decorated, inputs + outputs sketched"] - results["decorated, sketching off"]
    total = results["decorated, inputs + outputs sketched"] - base
    print()
    print(f"sketching added (512x64 in, 512x10 out) / bare call: {sketch_cost / base:5.2f}")
    print(f"everything mlotel adds                  / bare call: {total / base:5.2f}")
    tensor_path = results["no model: sketching the tensors"] / results["no model: sketching numpy copies"]
    print(f"sketching tensors / sketching the same numpy arrays: {tensor_path:5.2f}")


if __name__ == "__main__":
    main()
