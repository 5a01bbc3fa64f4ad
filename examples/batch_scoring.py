"""A batch scoring job gated on drift: score a batch only if it looks like the training data.

    python examples/build_reference.py                        # model-artifacts/{model.pkl,reference.json,holdout.csv}
    python examples/batch_scoring.py model-artifacts/holdout.csv

1. The gate is ``mlotel drift reference.json BATCH --fail-on alert``, called in-process
   through ``mlotel.cli.main`` (no shell): it profiles the batch in chunks and compares every
   feature with the reference (docs/drift.md). On an alert the job stops with exit status 1
   and scores nothing.
2. Otherwise the batch is scored in chunks through ``@mlotel.monitor(reference=...)``, so the
   scoring run reports the same spans, latency, distributions and drift as online serving,
   and the scores are written to ``--out`` (default: ``BATCH`` with ``.scores.csv``).

Exit status: 0 scored, 1 stopped by the drift gate, 2 bad input (as ``mlotel drift``).
Telemetry goes to ./mlotel-data, or to ``OTEL_EXPORTER_OTLP_ENDPOINT`` when set.
"""

from __future__ import annotations

import argparse
import csv
import pickle
import sys
from pathlib import Path

import pandas as pd

import mlotel
from mlotel.cli import main as mlotel_cli

CHUNK_ROWS = 64


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("batch", type=Path, help="the batch to score (.csv)")
    parser.add_argument(
        "--artifacts", type=Path, default=Path("model-artifacts"), help="model.pkl and reference.json"
    )
    parser.add_argument("--out", type=Path, help="scores file (default: BATCH with .scores.csv)")
    args = parser.parse_args(argv)
    reference_path = args.artifacts / "reference.json"
    out = args.out or args.batch.with_suffix(".scores.csv")

    status = mlotel_cli(["drift", str(reference_path), str(args.batch), "--fail-on", "alert"])
    if status != 0:
        verdict = "drift at the alert level" if status == 1 else "the drift check failed"
        print(f"batch_scoring: {verdict}; {args.batch} not scored", file=sys.stderr)
        return status

    with open(args.artifacts / "model.pkl", "rb") as f:
        model = pickle.load(f)  # only load model files you trust
    reference = mlotel.ReferenceProfile.load(reference_path)
    features = list(reference.features)

    @mlotel.monitor(model="diabetes-progression", version="1", operation="score", reference=reference)
    def score(rows: pd.DataFrame):
        return model.predict(rows)

    n = 0
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "progression"])
        for chunk in pd.read_csv(args.batch, chunksize=CHUNK_ROWS):
            for i, value in enumerate(score(chunk[features]), start=n):
                writer.writerow([i, f"{value:.6g}"])
            n += len(chunk)
    mlotel.shutdown()  # export everything before the job ends
    print(f"scored {n} rows -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
