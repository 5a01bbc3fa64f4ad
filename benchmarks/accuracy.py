"""Quantile accuracy and cost of mlotel's exponential histograms per ``max_buckets``, and a
side-by-side with Apache DataSketches' KLL sketch.

    python benchmarks/accuracy.py [--rows 200000] [--reps 7] [--sizes 160,320,640,1280]
                                  [--skip-datasketches]

1. Per typical column and size: the achieved scale, its bound (base - 1) / (base + 1) with
   base = 2 ** 2 ** -scale, and the largest relative error |estimate - exact| / |exact| over
   the quantiles ``QUANTILES`` against numpy's exact order statistics
   (``np.quantile(x, q, method="lower")``, the order statistic ``floor(q * (n - 1))`` the
   bound is stated for); then the cost: update time per value (best of ``--reps``) and
   the size of one exported point in OTLP protobuf (``ExponentialHistogramDataPoint`` with
   the model, version and feature attributes mlotel puts on it).
2. The same columns through ``datasketches.kll_doubles_sketch(k=200)`` (``update(ndarray)``),
   time per value, largest relative value error and largest rank error, and its serialized
   size; ratios to mlotel at 160 buckets measured in the same run. The package is imported
   if installed, else pip-installed once (``--no-deps``: numpy is already here) into
   ``$DATASKETCHES_DIR`` (default ``/tmp/mlotel-bench-datasketches``) and imported from there.

Timings on a shared machine are noisy: read the ratios, and repeat.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mlotel.export._aggregates import exponential_point
from mlotel.sketches import ExponentialHistogram

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999)
ATTRIBUTES = {"ml.model.name": "fraud", "ml.model.version": "3", "ml.feature.name": "income"}
KLL_K = 200


def typical_columns(rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Columns as features usually come: centred, skewed, bounded, heavy-tailed."""
    rng = np.random.default_rng(seed)
    return {
        "normal(0, 1)": rng.normal(0, 1, rows),
        "normal(50, 10)": rng.normal(50, 10, rows),
        "lognormal(0, 1)": rng.lognormal(0, 1, rows),
        "uniform(0, 1)": rng.uniform(0, 1, rows),
        "exponential(1)": rng.exponential(1, rows),
        "student-t(2)": rng.standard_t(2, rows),
        "pareto(1.5)": rng.pareto(1.5, rows) + 1.0,
    }


def best_time(fn: Callable[[], object], reps: int) -> float:
    best = float("inf")
    gc.disable()
    try:
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
    finally:
        gc.enable()
    return best


def relative_errors(estimates: np.ndarray, exact: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(estimates - exact) / np.abs(exact)
    return np.where(exact == 0, np.where(estimates == 0, 0.0, np.inf), err)


def exact_quantiles(x: np.ndarray) -> np.ndarray:
    return np.quantile(x, QUANTILES, method="lower")


def otlp_bytes(sketch: ExponentialHistogram) -> int:
    """Encoded size of the sketch as one OTLP protobuf ExponentialHistogramDataPoint."""
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.metrics.v1 import metrics_pb2 as pb

    p = exponential_point(ATTRIBUTES, sketch, 1_700_000_000_000_000_000, 1_700_000_060_000_000_000)
    point = pb.ExponentialHistogramDataPoint(
        attributes=[KeyValue(key=k, value=AnyValue(string_value=v)) for k, v in ATTRIBUTES.items()],
        start_time_unix_nano=p.start_time_unix_nano,
        time_unix_nano=p.time_unix_nano,
        count=p.count,
        sum=p.sum,
        scale=p.scale,
        zero_count=p.zero_count,
        positive=pb.ExponentialHistogramDataPoint.Buckets(
            offset=p.positive.offset, bucket_counts=p.positive.bucket_counts
        ),
        negative=pb.ExponentialHistogramDataPoint.Buckets(
            offset=p.negative.offset, bucket_counts=p.negative.bucket_counts
        ),
        min=p.min,
        max=p.max,
    )
    # A point sits in its metric's repeated field: one tag byte and a length prefix more.
    size = point.ByteSize()
    return size + 1 + len(_varint(size))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def bench_sizes(columns: dict[str, np.ndarray], sizes: list[int], reps: int) -> dict[str, dict[int, Any]]:
    rows = len(next(iter(columns.values())))
    print(f"[1] mlotel ExponentialHistogram per max_buckets, {rows:,} values per column")
    print(f"    error: max over q in {QUANTILES} of |estimate - exact| / |exact|, exact = "
          "np.quantile(x, q, method='lower')")  # fmt: skip
    print(
        f"    {'column':<16}{'buckets':>8}{'scale':>6}{'bound':>8}{'max err':>9}{'ns/value':>10}{'OTLP B':>8}"
    )
    results: dict[str, dict[int, Any]] = {}
    worst_ratio = 0.0
    for name, x in columns.items():
        exact = exact_quantiles(x)
        results[name] = {}
        for size in sizes:
            h = ExponentialHistogram(max_size=size)
            h.update(x)
            err = float(relative_errors(np.asarray(h.quantile(list(QUANTILES))), exact).max())
            worst_ratio = max(worst_ratio, err / h.relative_error)

            def update(size: int = size, x: np.ndarray = x) -> None:
                ExponentialHistogram(max_size=size).update(x)

            seconds = best_time(update, reps)
            nbytes = otlp_bytes(h)
            results[name][size] = (h.scale, h.relative_error, err, seconds / x.size * 1e9, nbytes)
            print(f"    {name:<16}{size:>8}{h.scale:>6}{h.relative_error:>8.2%}{err:>9.2%}"
                  f"{seconds / x.size * 1e9:>10.2f}{nbytes:>8}")  # fmt: skip
    print(f"    largest measured error / bound: {worst_ratio:.3f} (must be <= 1)")
    return results


def import_datasketches() -> Any:
    """The ``datasketches`` module: installed, or pip-installed once into a side folder."""
    try:
        import datasketches

        return datasketches
    except ImportError:
        pass
    target = os.environ.get("DATASKETCHES_DIR", "/tmp/mlotel-bench-datasketches")
    if not os.path.isdir(os.path.join(target, "datasketches")):
        print(f"    installing datasketches into {target} (pip --target, no dependencies)")
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            target,
            "datasketches",
        ]
        if subprocess.run(cmd, capture_output=True, text=True).returncode != 0:
            return None
    sys.path.insert(0, target)
    try:
        import datasketches

        return datasketches
    except ImportError:
        return None


def bench_datasketches(
    columns: dict[str, np.ndarray], reps: int, size: int = 160, label: str = "[2]"
) -> None:
    """KLL vs mlotel on the same columns: time, value and rank errors, state size."""
    rows = len(next(iter(columns.values())))
    print(
        f"{label} Apache DataSketches KLL (k={KLL_K}) vs mlotel ({size} buckets), {rows:,} values per column"
    )
    ds = import_datasketches()
    if ds is None:
        print("    datasketches not importable and not installable here: skipped")
        return
    try:
        from importlib.metadata import version as dist_version

        version = dist_version("datasketches")
    except Exception:  # metadata missing: the version is only informative
        version = "?"
    print(f"    datasketches {version}; errors: max over q in {QUANTILES}; rank error = "
          "|rank(estimate) - q| against the exact sorted column")  # fmt: skip
    print(f"    {'column':<16}{'KLL ns/v':>9}{'ours ns/v':>10}{'KLL/ours':>9}"
          f"{'KLL rel':>11}{'ours rel':>9}{'KLL rank':>9}{'ours rank':>10}{'KLL B':>7}{'OTLP B':>7}")  # fmt: skip
    ratios = []
    for name, x in columns.items():
        exact = exact_quantiles(x)
        ordered = np.sort(x)

        def kll_update(x: np.ndarray = x) -> Any:
            k = ds.kll_doubles_sketch(KLL_K)
            k.update(x)
            return k

        def ours_update(x: np.ndarray = x) -> ExponentialHistogram:
            h = ExponentialHistogram(max_size=size)
            h.update(x)
            return h

        # Interleaved best-of, so both see the same machine load.
        t_kll = t_ours = float("inf")
        for _ in range(reps):
            t_kll = min(t_kll, best_time(kll_update, 1))
            t_ours = min(t_ours, best_time(ours_update, 1))
        kll, ours = kll_update(), ours_update()
        kll_q = np.array([kll.get_quantile(q) for q in QUANTILES])
        ours_q = np.asarray(ours.quantile(list(QUANTILES)))

        def rank_error(est: np.ndarray, ordered: np.ndarray = ordered) -> float:
            lo = np.searchsorted(ordered, est, side="left") / ordered.size
            hi = np.searchsorted(ordered, est, side="right") / ordered.size
            q = np.asarray(QUANTILES)
            return float(np.maximum(0.0, np.maximum(lo - q, q - hi)).max())

        ratio = t_kll / t_ours
        ratios.append(ratio)
        print(f"    {name:<16}{t_kll / x.size * 1e9:>9.2f}{t_ours / x.size * 1e9:>10.2f}{ratio:>9.2f}"
              f"{_pct(relative_errors(kll_q, exact).max()):>11}{relative_errors(ours_q, exact).max():>9.2%}"
              f"{rank_error(kll_q):>9.3%}{rank_error(ours_q):>10.3%}"
              f"{len(kll.serialize()):>7}{otlp_bytes(ours):>7}")  # fmt: skip
    print(f"    KLL update time / mlotel update time: {min(ratios):.2f} - {max(ratios):.2f} "
          f"(median {float(np.median(ratios)):.2f})")  # fmt: skip


def _pct(x: float) -> str:
    return f"{x:.2%}" if x < 10 else f"{x:.0f}x"  # KLL's error near zero: a multiple, not a %


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--sizes", default="160,320,640,1280")
    parser.add_argument("--skip-datasketches", action="store_true")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}")
    columns = typical_columns(args.rows)
    bench_sizes(columns, [int(s) for s in args.sizes.split(",")], args.reps)
    if not args.skip_datasketches:
        bench_datasketches(columns, args.reps)


if __name__ == "__main__":
    main()
