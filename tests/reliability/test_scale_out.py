"""Scale-out by simulation: 8 replicas serve disjoint shards of one dataset through one collector.

A backend that merges the replicas' exported exponential histograms the standard way
(align every point to the smallest scale, ``index >> (scale - common)``, add the bucket
counts, lower the scale further only while a side spans more than its maximum number of
buckets) must obtain exactly the sketch of the whole dataset, and fleet-wide drift
computed from the merged sketches must equal drift computed on the whole data.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from collections import defaultdict

from mlotel.drift import build_reference, compare_features
from mlotel.sketches import ExponentialHistogram
from tests.otlp_receiver import attrs_to_dict

REPLICAS, ROWS, MAX_BUCKETS = 8, 40_000, 160

DATASET = textwrap.dedent(
    """
    import numpy as np

    def dataset(seed=7, shift=0.0):
        rng = np.random.default_rng(seed)
        return np.column_stack([
            rng.lognormal(shift, 1.0, ROWS),            # positive, wide range
            rng.normal(-5.0 + shift, 3.0, ROWS),        # both signs
            rng.integers(-3, 4, ROWS).astype(float),    # zeros, few values
        ])
    """
)

REPLICA = textwrap.dedent(
    """
    import mlotel
    mlotel.configure(service_name="fleet", endpoint=ENDPOINT, export_interval=60)

    @mlotel.monitor(model="fleet")
    def predict(X):
        return X[:, 0] * 2.0

    shard = dataset()[REPLICA::REPLICAS]  # disjoint shards: row i goes to replica i % REPLICAS
    sizes, i, k = [1, 7, 64, 300, 1, 1], 0, 0
    while i < len(shard):
        predict(shard[i : i + sizes[k % len(sizes)]])
        i += sizes[k % len(sizes)]
        k += 1
    mlotel.shutdown()
    """
)


def backend_merge(points, max_size: int = MAX_BUCKETS) -> ExponentialHistogram:
    """Merge OTLP exponential-histogram points as a backend does; return the result as a sketch."""
    scale = min(p.scale for p in points)
    sides = {"positive": defaultdict(int), "negative": defaultdict(int)}
    for p in points:
        for side, acc in sides.items():
            buckets = getattr(p, side)
            for k, count in enumerate(buckets.bucket_counts):
                if count:
                    acc[(buckets.offset + k) >> (p.scale - scale)] += count

    def span(acc) -> int:
        return max(acc) - min(acc) + 1 if acc else 0

    while any(span(acc) > max_size for acc in sides.values()):
        scale -= 1
        for side, acc in list(sides.items()):
            coarser = defaultdict(int)
            for index, count in acc.items():
                coarser[index >> 1] += count
            sides[side] = coarser

    def dense(acc) -> dict:
        if not acc:
            return {"offset": 0, "counts": []}
        lo, hi = min(acc), max(acc)
        return {"offset": lo, "counts": [acc.get(i, 0) for i in range(lo, hi + 1)]}

    return ExponentialHistogram.from_dict(
        {
            "version": 1,
            "max_size": max_size,
            "max_scale": 20,
            "scale": scale,
            "zero_count": sum(p.zero_count for p in points),
            "positive": dense(sides["positive"]),
            "negative": dense(sides["negative"]),
            "count": sum(p.count for p in points),
            "sum": math.fsum(p.sum for p in points),
            "min": min(p.min for p in points),
            "max": max(p.max for p in points),
            "missing": 0,
            "pos_inf": 0,
            "neg_inf": 0,
        }
    )


def _same_sketch(merged: ExponentialHistogram, truth: ExponentialHistogram) -> None:
    assert (merged.count, merged.zero_count, merged.scale) == (truth.count, truth.zero_count, truth.scale)
    for side in ("positive", "negative"):
        ours, theirs = getattr(merged, side), getattr(truth, side)
        assert list(ours.counts) == list(theirs.counts)
        if len(theirs.counts):
            assert ours.offset == theirs.offset
    assert (merged.min, merged.max) == (truth.min, truth.max)
    assert math.isclose(merged.sum, truth.sum, rel_tol=1e-9, abs_tol=1e-6)


def test_merged_replica_sketches_equal_the_whole_dataset_and_its_drift(collector):
    namespace: dict = {"ROWS": ROWS}
    exec(DATASET, namespace)
    whole = namespace["dataset"]()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"ROWS, REPLICA, REPLICAS, ENDPOINT = {ROWS}, {r}, {REPLICAS}, {collector.grpc_endpoint!r}\n"
                + DATASET
                + REPLICA,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in range(REPLICAS)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    receiver = collector.receiver

    def latest_points(name: str) -> dict[str, list]:
        """{series key: [one point per replica]} from each replica's latest export of ``name``."""
        by_replica = {}
        for metric in receiver.metrics(name):
            by_replica[metric.resource["service.instance.id"]] = metric.data_points
        out = defaultdict(list)
        for data_points in by_replica.values():
            for p in data_points:
                attributes = attrs_to_dict(p.attributes)
                out[attributes.get("ml.feature.name", attributes.get("ml.output.name", ""))].append(p)
        return out if len(by_replica) == REPLICAS else {}

    def complete(r):
        found = latest_points("ml.feature.value")
        return found and all(sum(p.count for p in found[f"f{j}"]) == ROWS for j in range(3))

    receiver.wait_for(complete, timeout=30)
    features = latest_points("ml.feature.value")
    train = namespace["dataset"](seed=11, shift=0.3)  # the reference: shifted training data
    reference = build_reference(train)
    for j in range(3):
        name = f"f{j}"
        assert len(features[name]) == REPLICAS
        merged = backend_merge(features[name])
        truth = ExponentialHistogram(max_size=MAX_BUCKETS)
        truth.update(whole[:, j])
        _same_sketch(merged, truth)
        fleet = compare_features(reference.features[name], merged)
        central = compare_features(reference.features[name], truth)
        assert [(r.method, r.verdict, r.n_current) for r in fleet] == [
            (r.method, r.verdict, r.n_current) for r in central
        ]
        assert all(math.isclose(a.value, b.value, rel_tol=1e-12) for a, b in zip(fleet, central, strict=True))
        assert any(r.verdict != "ok" for r in fleet) or j == 2  # the shift is visible fleet-wide

    predictions = latest_points("ml.prediction.value")[""]
    truth = ExponentialHistogram(max_size=MAX_BUCKETS)
    truth.update(whole[:, 0] * 2.0)
    _same_sketch(backend_merge(predictions), truth)
