"""Build a reference profile on Dask or Spark, and check a day of data against it.

    python examples/distributed_reference.py [--engine dask|spark] [--out distributed-artifacts]

Writes a small Parquet "lake" (training data in four files, and one day of scoring data whose
``amount`` has drifted), then:

1. profiles the training files on the engine: each partition is sketched where it lives and
   the partial profiles are merged (docs/distributed.md), and saves ``reference.json``;
2. checks the result against the same profile built in this one process (identical);
3. profiles the day's data with ``mlotel.profile_current`` on the engine and prints the
   drift report (``amount`` alerts).

Dask runs on a ``LocalCluster`` of 2 worker processes; Spark on ``local[2]`` (needs Java).
The command line does the same with ``mlotel profile lake/train -o reference.json --engine
spark`` and ``mlotel drift reference.json lake/today --engine spark``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import mlotel


def write_lake(root: Path) -> None:
    rng = np.random.default_rng(0)
    for name, files, shift in (("train", 4, 0.0), ("today", 1, 0.6)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(files):
            n = 20_000
            pd.DataFrame(
                {
                    "amount": rng.lognormal(3 + shift, 1.0, n),
                    "age": rng.integers(18, 90, n),
                    "country": rng.choice(["fr", "de", "it", "es"], n, p=[0.4, 0.3, 0.2, 0.1]),
                    "fraud": rng.random(n) < 0.03,
                }
            ).to_parquet(root / name / f"part-{i}.parquet", index=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("dask", "spark"), default="dask")
    parser.add_argument("--out", default="distributed-artifacts")
    args = parser.parse_args()
    out = Path(args.out)
    write_lake(out / "lake")
    train, today = str(out / "lake" / "train"), str(out / "lake" / "today")

    if args.engine == "dask":
        import dask.dataframe as dd
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
        read = dd.read_parquet
    else:
        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # executors need mlotel too
        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        read = spark.read.parquet

    reference = mlotel.build_reference(read(train), categorical=["country"], target="fraud")
    reference.save(out / "reference.json")
    local = mlotel.build_reference(pd.read_parquet(train), categorical=["country"], target="fraud")

    def buckets(f):  # what merges exactly: bucket counts and top-K (sums only up to rounding)
        if f.kind == "categorical":
            return f.frequent.to_dict()
        h = f.histogram
        return (h.scale, h.count, h.zero_count, h.positive, h.negative, h.min, h.max, h.missing)

    same = [buckets(f) for f in reference.columns().values()] == [
        buckets(f) for f in local.columns().values()
    ]
    print(f"{args.engine}: profiled {reference.n_rows:,} rows; same sketches as one process: {same}")

    report = reference.compare(mlotel.profile_current(read(today), reference))
    for feature, verdict in report.feature_verdicts().items():
        print(f"  {feature:<8} {verdict}")
    print(f"overall: {report.verdict}")

    if args.engine == "dask":
        client.close()
        cluster.close()
    else:
        spark.stop()


if __name__ == "__main__":
    main()
