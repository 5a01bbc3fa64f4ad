"""Reference profiles past one process: one process vs Dask vs Spark (and whylogs on Spark).

    python benchmarks/distributed.py [--rows 20000000] [--data DIR] [--engines local,dask,spark,whylogs]

Writes ``--rows`` x 20 columns (12 numeric: normal, lognormal, integer; 8 categorical with
5 to 500 distinct strings) as Parquet files under ``--data`` (kept between runs when the
row count matches), then profiles them:

* ``local``: ``mlotel profile DIR`` (the chunked Parquet reader, one process);
* ``dask``: ``mlotel.build_reference(dd.read_parquet(files))`` on a ``LocalCluster`` of
  2 worker processes x 1 thread;
* ``spark``: ``mlotel.build_reference(spark.read.parquet(files))`` on ``local[2]``;
* ``whylogs``: whylogs' Spark integration (``collect_dataset_profile_view``) on ``local[2]``,
  with the interpreter ``$WHYLOGS_PYTHON`` (default ``/tmp/wl-venv/bin/python``, a side venv:
  ``pip install 'whylogs[spark]' 'pyspark<4' 'pandas<3' 'numpy<2'``, as whylogs 1.6 needs
  them); skipped, saying why, when it cannot run.

Each engine runs in its own process, so its peak driver memory (``VmHWM`` of the Python
driver, reset at start; Spark's JVM is reported apart) is its own. Times exclude engine start-up (cluster or
SparkSession), which is reported separately. Reported: rows/s, the ratio to one process,
and that ratio for mlotel on Spark against whylogs on Spark.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

# This file's name is also a package's (dask's ``distributed``): keep its folder off the path.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

N_NUMERIC, N_CATEGORICAL = 12, 8
VOCAB_SIZES = (5, 12, 30, 60, 100, 200, 350, 500)
ROWS_PER_FILE = 1_000_000


def write_dataset(root: str, rows: int, seed: int = 1) -> list[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    stamp = os.path.join(root, f"_ROWS_{rows}")
    files = []
    n_files = max(4, -(-rows // ROWS_PER_FILE))
    per_file = -(-rows // n_files)
    if os.path.exists(stamp):
        return sorted(os.path.join(root, f) for f in os.listdir(root) if f.endswith(".parquet"))
    os.makedirs(root, exist_ok=True)
    for f in os.listdir(root):
        os.remove(os.path.join(root, f))
    rng = np.random.default_rng(seed)
    vocabularies = [np.array([f"v{k}_{i}" for i in range(size)]) for k, size in enumerate(VOCAB_SIZES)]
    for i in range(n_files):
        n = min(per_file, rows - i * per_file)
        columns = {}
        for j in range(N_NUMERIC):
            if j < 6:
                columns[f"num{j}"] = rng.normal(j, 1.0 + j, n)
            elif j < 9:
                columns[f"num{j}"] = rng.lognormal(0, 1.0, n)
            else:
                columns[f"num{j}"] = rng.integers(0, 10 ** (j - 7), n)
        for k, vocab in enumerate(vocabularies):
            weights = 1.0 / np.arange(1, vocab.size + 1)
            columns[f"cat{k}"] = pa.array(vocab[rng.choice(vocab.size, n, p=weights / weights.sum())])
        path = os.path.join(root, f"part-{i:04d}.parquet")
        pq.write_table(pa.table(columns), path, row_group_size=250_000)
        files.append(path)
    open(stamp, "w").close()
    return files


# --------------------------------------------------------------------------------------------
# One engine, in its own process


def run_engine(engine: str, files: list[str]) -> dict:
    categorical = [f"cat{k}" for k in range(N_CATEGORICAL)]
    out: dict = {"engine": engine}
    if engine == "local":
        from mlotel.cli._profile import profile_file

        t0 = time.perf_counter()
        profile = profile_file(os.path.join(os.path.dirname(files[0]), "*.parquet"), categorical=categorical)
        out["seconds"] = time.perf_counter() - t0
        out["startup"] = 0.0
        out["rows"] = profile.n_rows
    elif engine == "dask":
        import dask.dataframe as dd
        from distributed import Client, LocalCluster

        import mlotel

        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        out["startup"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        profile = mlotel.build_reference(dd.read_parquet(files), categorical=categorical)
        out["seconds"] = time.perf_counter() - t0
        out["rows"] = profile.n_rows
        client.close()
        cluster.close()
    elif engine == "spark":
        import mlotel
        from mlotel.engines import _spark

        t0 = time.perf_counter()
        spark = _local_spark()
        out["startup"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        profile = mlotel.build_reference(spark.read.parquet(*files), categorical=categorical)
        out["seconds"] = time.perf_counter() - t0
        out["rows"] = profile.n_rows
        out["jvm_rss_mib"] = _jvm_rss()
        del _spark
    elif engine == "whylogs":
        from whylogs.api.pyspark.experimental import collect_dataset_profile_view

        t0 = time.perf_counter()
        spark = _local_spark()
        out["startup"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        view = collect_dataset_profile_view(input_df=spark.read.parquet(*files))
        out["seconds"] = time.perf_counter() - t0
        out["rows"] = int(view.get_column("num0").get_metric("counts").n.value)
        out["jvm_rss_mib"] = _jvm_rss()
    out["driver_peak_rss_mib"] = _peak_rss_mib()
    return out


def _reset_peak_rss() -> None:
    """Forget the peak RSS inherited from the parent at fork (Linux copies it), so the peak is
    this engine's own."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_mib() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _local_spark():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _jvm_rss() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    java = [c for c in psutil.Process().children(recursive=True) if "java" in c.name()]
    return sum(c.memory_info().rss for c in java) / 2**20 if java else None


# --------------------------------------------------------------------------------------------
# The driver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "mlotel-bench-lake"))
    parser.add_argument("--engines", default="local,dask,spark,whylogs")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _reset_peak_rss()
        files = json.loads(sys.stdin.read())
        print("RESULT " + json.dumps(run_engine(args.worker, files)), flush=True)
        return
    t0 = time.perf_counter()
    files = write_dataset(args.data, args.rows)
    print(
        f"data: {args.rows:,} rows x 20 columns in {len(files)} Parquet files under {args.data} "
        f"({sum(os.path.getsize(f) for f in files) / 2**20:.0f} MiB, ready in {time.perf_counter() - t0:.1f} s)"
    )
    results = {}
    for engine in args.engines.split(","):
        python = sys.executable
        if engine == "whylogs":
            python = os.environ.get("WHYLOGS_PYTHON", "/tmp/wl-venv/bin/python")
            if not os.path.exists(python):
                print(
                    f"whylogs: skipped ({python} does not exist: create a venv with whylogs[spark] and pyspark)"
                )
                continue
        env = dict(os.environ, PYSPARK_PYTHON=python)
        proc = subprocess.run(
            [python, __file__, "--worker", engine],
            input=json.dumps(files),
            capture_output=True,
            text=True,
            env=env,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(f"{engine}: skipped (failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode})")
            continue
        results[engine] = json.loads(lines[-1][len("RESULT ") :])
    base = results.get("local")
    print(
        f"\n{'engine':<10}{'rows/s':>14}{'x one process':>15}{'seconds':>10}{'start-up s':>12}{'driver peak MiB':>17}{'JVM MiB':>10}"
    )
    for engine, r in results.items():
        rate = r["rows"] / r["seconds"]
        ratio = f"{rate / (base['rows'] / base['seconds']):.2f}" if base else "-"
        jvm = r.get("jvm_rss_mib")
        print(
            f"{engine:<10}{rate:>14,.0f}{ratio:>15}{r['seconds']:>10.1f}{r['startup']:>12.1f}"
            f"{r['driver_peak_rss_mib']:>17.0f}{(f'{jvm:.0f}' if jvm else '-'):>10}"
        )
    if "spark" in results and "whylogs" in results:
        ratio = results["whylogs"]["seconds"] / results["spark"]["seconds"]
        print(f"\nmlotel on Spark / whylogs on Spark: {ratio:.1f}x faster (goal >= 20x)")
    for engine in ("dask", "spark"):
        if engine in results and base:
            r = results[engine]
            speedup = (r["rows"] / r["seconds"]) / (base["rows"] / base["seconds"])
            print(f"{engine} on 2 workers / one process: {speedup:.2f}x (goal >= 1.6x)")


if __name__ == "__main__":
    main()
