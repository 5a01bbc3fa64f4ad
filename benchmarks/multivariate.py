"""Online cost of multivariate (PCA reconstruction) drift, as ratios to baselines measured in
the same run (issue 13).

1 x 30 (one-row calls, numpy input): the per-call cost the reconstruction error adds to a
monitored call = (decorated call with a multivariate reference) - (the same decorated call
with the same reference without the model), against one bare SDK span (``with
tracer.start_as_current_span("x"): pass`` on an SDK TracerProvider with a drop exporter, as
benchmarks/overhead.py). Goal <= 0.3x. Also the direct figure: one flushed input block's
errors and error sketch update, divided by its rows.

10,000 x 30: ``MultivariateModel.errors(X)`` (standardize, project, reconstruct, row norms,
with the missing-value check) and the monitor's whole per-batch work (errors + the
``ml.multivariate.error`` sketch update) against a plain ``X @ components.T``. Goal <= 2x.

Data: 30 features from 8 latent factors plus noise (k = 8 components kept), and a random
full-rank mix of 30 normals (k = 19 kept): the error is the norm of the projection on the
``30 - k`` discarded directions, so its cost relative to ``X @ components.T`` (``k`` wide)
depends on ``k``. Medians of ``--rounds`` rounds, each the best of several repeats: the machine
is shared and noisy.

    python benchmarks/multivariate.py [--calls N] [--rounds K]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("MLOTEL_DATA_DIR", tempfile.mkdtemp(prefix="mlotel-bench-"))

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from overhead import best_per_call, providers  # noqa: E402

import mlotel  # noqa: E402
from mlotel import _runtime  # noqa: E402
from mlotel.monitor._buffer import block_rows  # noqa: E402
from mlotel.sketches import ExponentialHistogram  # noqa: E402

WIDTH = 30


def data(n: int, seed: int, factors: bool = True) -> np.ndarray:
    """8 latent factors + noise (few components kept), or a random full-rank mix of 30
    independent normals (about two thirds kept)."""
    rng = np.random.default_rng(seed)
    if not factors:
        return rng.normal(size=(n, WIDTH)) @ np.random.default_rng(0).normal(size=(WIDTH, WIDTH)) + 5.0
    loadings = np.random.default_rng(0).normal(size=(8, WIDTH))
    return rng.normal(size=(n, 8)) @ loadings + 0.5 * rng.normal(size=(n, WIDTH)) + 10.0


def best_time(func, repeats: int = 20) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def one_row(calls: int, rounds: int, names: list[str], with_model, without_model) -> None:
    rows = data(calls, 2)
    singles = [rows[i : i + 1] for i in range(calls)]
    results: dict[str, list[float]] = {"span": [], "with": [], "without": [], "direct": []}
    model = with_model.multivariate
    block = rows[: block_rows(WIDTH)]
    for _ in range(rounds):
        tp, mp = providers(sampled=True)
        mlotel.configure(tracer_provider=tp, meter_provider=mp)
        tracer = tp.get_tracer("bench")

        def span(tracer=tracer) -> None:
            with tracer.start_as_current_span("x"):
                pass

        @mlotel.monitor(model="with", reference=with_model, features=names)
        def predict_with(X):
            return None

        @mlotel.monitor(model="without", reference=without_model, features=names)
        def predict_without(X):
            return None

        def calls_of(func):
            it = iter(singles)
            return lambda: func(next(it))

        results["span"].append(best_per_call(span, calls, repeats=5))
        # Alternating repeats (with, without, with, ...), best of each: the difference of
        # two noisy figures, so the direct figure below is the cleaner one.
        best = {"with": float("inf"), "without": float("inf")}
        for _ in range(7):
            for key, func in (("with", predict_with), ("without", predict_without)):
                call = calls_of(func)
                start = time.perf_counter()
                for _ in range(calls):
                    call()
                best[key] = min(best[key], (time.perf_counter() - start) / calls)
        results["with"].append(best["with"])
        results["without"].append(best["without"])
        sketch = ExponentialHistogram(max_size=160)

        def direct(sketch=sketch) -> None:
            sketch.update(model.errors(block))

        results["direct"].append(best_time(direct) / block.shape[0])
        mp.shutdown()
        tp.shutdown()
        _runtime._reset_for_tests()
    med = {k: statistics.median(v) for k, v in results.items()}
    delta = statistics.median(w - o for w, o in zip(results["with"], results["without"]))
    print(f"1 x {WIDTH} one-row calls ({calls} calls x {rounds} rounds, medians):")
    print(f"  bare SDK span                          {med['span'] * 1e6:8.2f} us")
    print(f"  monitored call, reference without model {med['without'] * 1e6:8.2f} us")
    print(f"  monitored call, reference with model    {med['with'] * 1e6:8.2f} us")
    print(
        f"  added by the reconstruction error       {delta * 1e6:8.2f} us = {delta / med['span']:.3f}x the span"
    )
    print(
        f"  direct: block of {block.shape[0]} rows (errors + sketch) / rows "
        f"{med['direct'] * 1e6:8.3f} us = {med['direct'] / med['span']:.3f}x the span   (goal <= 0.3x)"
    )


def batch(rounds: int, model, factors: bool) -> None:
    X = data(10_000, 3, factors)
    components = model.components
    sketch = ExponentialHistogram(max_size=160)

    def plain() -> None:
        X @ components.T

    def errors() -> None:
        model.errors(X)

    def online() -> None:
        sketch.update(model.errors(X))

    def old() -> None:  # the first (batch-only) implementation, for comparison
        z = (X - model.mean) / model.std
        z[~np.isfinite(z)] = 0.0
        residual = z - (z @ components.T) @ components
        np.sqrt(np.einsum("ij,ij->i", residual, residual))

    times: dict[str, list[float]] = {"plain": [], "errors": [], "online": [], "old": []}
    for _ in range(rounds):
        for key, func in (("plain", plain), ("errors", errors), ("online", online), ("old", old)):
            times[key].append(best_time(func))
    med = {k: statistics.median(v) for k, v in times.items()}
    ratios = {k: statistics.median(t / p for t, p in zip(times[k], times["plain"])) for k in times}
    print(f"10,000 x {WIDTH} (k = {components.shape[0]} components kept, medians of {rounds} rounds):")
    print(f"  X @ components.T                       {med['plain'] * 1e3:7.3f} ms")
    print(
        f"  model.errors(X)                        {med['errors'] * 1e3:7.3f} ms = {ratios['errors']:.2f}x   (goal <= 2x)"
    )
    print(f"  errors + ml.multivariate.error sketch  {med['online'] * 1e3:7.3f} ms = {ratios['online']:.2f}x")
    print(f"  first implementation (z - z C^T C)    {med['old'] * 1e3:7.3f} ms = {ratios['old']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    names = [f"f{i}" for i in range(WIDTH)]
    train = dict(zip(names, data(50_000, 1).T))
    with_model = mlotel.build_reference(train, multivariate=True)
    without_model = mlotel.build_reference(train)
    print(f"model: {WIDTH} features, k = {with_model.multivariate.components.shape[0]} components")
    one_row(args.calls, args.rounds, names, with_model, without_model)
    batch(args.rounds, with_model.multivariate, True)
    mixed = mlotel.build_reference(dict(zip(names, data(50_000, 1, factors=False).T)), multivariate=True)
    batch(args.rounds, mixed.multivariate, False)


if __name__ == "__main__":
    main()
