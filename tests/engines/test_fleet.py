"""Fleet drift from exported telemetry: ``mlotel drift reference.json <otlp json files>``.

End to end: 8 replica processes serve disjoint shards through a real collector (rotel); the
collector's output is written as Collector ``file`` exporter lines (rotel has no file
exporter: the test receiver writes what it forwards, with mlotel's OTLP JSON encoding);
``mlotel drift`` on those files reports exactly the drift of one process that served the
whole dataset and wrote its own files.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import mlotel
from mlotel.cli import main
from mlotel.drift.fleet import fleet_sketches
from mlotel.export.otlp_json import from_proto
from mlotel.sketches import ExponentialHistogram

REPLICAS, ROWS = 8, 16_000

DATASET = textwrap.dedent(
    """
    import numpy as np
    import pandas as pd

    def dataset(seed=7, shift=0.0):
        rng = np.random.default_rng(seed)
        return pd.DataFrame({
            "amount": rng.lognormal(shift, 1.0, ROWS),
            "delta": rng.normal(-5.0 + shift, 3.0, ROWS),
            "city": rng.choice(["paris", "lyon", "nice", "lille", "metz"], ROWS,
                               p=[0.4 - shift / 2, 0.3, 0.1 + shift / 2, 0.1, 0.1]),
        })
    """
)

SERVE = textwrap.dedent(
    """
    import mlotel
    mlotel.configure(service_name="fleet", export_interval=60, **CONFIG)

    @mlotel.monitor(model="fleet", version="2", categorical=["city"])
    def predict(X):
        return X["amount"].to_numpy() * 2.0

    rows = dataset()
    shard = rows.iloc[REPLICA::REPLICAS]
    for start in range(0, len(shard), 250):
        predict(shard.iloc[start : start + 250])
    mlotel.shutdown()
    """
)


def _serve(replica: int, replicas: int, config: dict) -> subprocess.Popen:
    code = f"ROWS, REPLICA, REPLICAS, CONFIG = {ROWS}, {replica}, {replicas}, {config!r}\n" + DATASET + SERVE
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _drift_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["drift", *args, "--format", "json", "-q"])
    return code, json.loads(capsys.readouterr().out)


def test_fleet_drift_through_a_collector_equals_one_process(collector, tmp_path, capsys):
    namespace: dict = {"ROWS": ROWS}
    exec(DATASET, namespace)
    reference = mlotel.build_reference(namespace["dataset"](seed=11, shift=0.2), categorical=["city"])
    ref_path = tmp_path / "reference.json"
    reference.save(ref_path)

    procs = [_serve(r, REPLICAS, {"endpoint": collector.grpc_endpoint}) for r in range(REPLICAS)]
    procs.append(_serve(0, 1, {"data_dir": str(tmp_path / "one-process")}))  # all rows, own files
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err

    receiver = collector.receiver

    def all_rows(_):
        seen = {}
        for request in receiver.metrics_requests():
            for rm in request.resource_metrics:
                replica = next(
                    a.value.string_value for a in rm.resource.attributes if a.key == "service.instance.id"
                )
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        if m.name == "ml.feature.value":
                            seen[replica] = max(p.count for p in m.exponential_histogram.data_points)
        return len(seen) == REPLICAS and sum(seen.values()) == ROWS

    receiver.wait_for(all_rows, timeout=30)
    # What a Collector file exporter writes: one OTLP JSON export request per line.
    fleet_dir = tmp_path / "collector-files"
    fleet_dir.mkdir()
    with open(fleet_dir / "otel-metrics.jsonl", "w", encoding="utf-8") as f:
        for request in receiver.metrics_requests():
            f.write(json.dumps(from_proto(request), allow_nan=False) + "\n")

    code_fleet, fleet = _drift_json(capsys, str(ref_path), str(fleet_dir), "--fail-on", "alert")
    code_one, one = _drift_json(capsys, str(ref_path), str(tmp_path / "one-process"), "--fail-on", "alert")
    assert code_fleet == code_one == 1  # the shifted reference is visible in both
    assert fleet["verdict"] == one["verdict"] == "alert"
    assert [(r["feature"], r["method"], r["verdict"], r["n_current"]) for r in fleet["results"]] == [
        (r["feature"], r["method"], r["verdict"], r["n_current"]) for r in one["results"]
    ]
    for a, b in zip(fleet["results"], one["results"], strict=True):
        for key in ("value", "p_value"):
            if isinstance(a[key], float):
                assert math.isclose(a[key], b[key], rel_tol=1e-9, abs_tol=1e-12), (a, b)
    assert {r["feature"] for r in fleet["results"]} == {"amount", "delta", "city"}
    assert all(r["n_current"] == ROWS for r in fleet["results"])


def test_since_subtracts_cumulative_points_exactly(tmp_path):
    mlotel.configure(data_dir=str(tmp_path / "data"), export_interval=3600)
    rng = np.random.default_rng(5)
    first, second = rng.normal(0, 1, 3000), rng.normal(3, 2, 2000)

    @mlotel.monitor(model="ranged", categorical=["c"])
    def predict(X):
        return X["x"].to_numpy()

    predict(pd.DataFrame({"x": first, "c": ["a"] * first.size}))
    mlotel.force_flush()
    time.sleep(0.01)
    middle = time.time_ns()
    time.sleep(0.01)
    predict(pd.DataFrame({"x": second, "c": ["b"] * second.size}))
    mlotel.force_flush()
    mlotel.shutdown()

    everything = fleet_sketches(tmp_path / "data")
    assert everything.sketches["x"].count == 5000
    later = fleet_sketches(tmp_path / "data", since_ns=middle)
    x = later.sketches["x"]
    truth = ExponentialHistogram()
    truth.update(second)
    truth._rescale(x.scale)  # the window is exact at the later point's scale
    assert (x.count, x.positive, x.negative, x.zero_count) == (
        2000,
        truth.positive,
        truth.negative,
        truth.zero_count,
    )
    assert math.isclose(x.sum, second.sum(), rel_tol=1e-9)
    assert later.sketches["c"].items() == [("b", 2000)]
    earlier = fleet_sketches(tmp_path / "data", until_ns=middle)
    assert earlier.sketches["x"].count == 3000 and earlier.sketches["c"].items() == [("a", 3000)]


def test_fleet_needs_a_model_choice_when_several_served(tmp_path, capsys):
    mlotel.configure(data_dir=str(tmp_path / "data"), export_interval=3600)
    rng = np.random.default_rng(9)

    @mlotel.monitor(model="a", version="1")
    def predict_a(X):
        return X[:, 0]

    @mlotel.monitor(model="b", version="7")
    def predict_b(X):
        return X[:, 0]

    X = rng.normal(0, 1, (500, 2))
    predict_a(X)
    predict_b(X + 1)
    mlotel.shutdown()
    reference = mlotel.build_reference({"f0": X[:, 0], "f1": X[:, 1]})
    reference.save(tmp_path / "reference.json")
    args = ["drift", str(tmp_path / "reference.json"), str(tmp_path / "data")]
    assert main(args) == 2
    assert "several models, choose one with --model: ['a', 'b']" in capsys.readouterr().err
    assert main([*args, "--model", "a", "--fail-on", "alert"]) == 0
    assert "fleet: model 'a' (version 1), 1 replica(s)" in capsys.readouterr().err
    assert main([*args, "--model", "b", "--fail-on", "alert"]) == 1  # shifted by one sd
    assert main([*args, "--model", "c"]) == 2
    assert "no model 'c'" in capsys.readouterr().err
    assert main([*args, "--model", "a", "--version", "9"]) == 2


def test_time_options_take_iso_times_and_ages():
    from mlotel.cli._drift import parse_time

    assert parse_time("2026-05-01T12:00Z") == 1777636800 * 10**9
    assert parse_time("2026-05-01T14:00+02:00") == 1777636800 * 10**9
    assert parse_time("2026-05-01T12:00") == 1777636800 * 10**9  # UTC without a zone
    assert abs(parse_time("6h") - (time.time_ns() - 6 * 3600 * 10**9)) < 5 * 10**9
    with pytest.raises(argparse.ArgumentTypeError):
        parse_time("yesterday")


def test_fleet_drift_reports_multivariate_from_exported_errors(tmp_path, capsys):
    """Two replicas export ml.multivariate.error; mlotel drift on their files gives the
    multivariate row of the merged rows, as profile_current of all the rows does."""
    from tests.drift.test_online_multivariate import frame

    train = frame(20_000, 1)
    # The model's own outputs on the reference rows: served outputs are compared with them.
    reference = mlotel.build_reference(train, multivariate=True, predictions=train["x0"].to_numpy())
    reference.save(tmp_path / "reference.json")
    flipped = frame(4000, 3, sign=-1.0)
    for replica, part in enumerate((flipped.iloc[:2500], flipped.iloc[2500:])):
        mlotel.configure(data_dir=str(tmp_path / "data" / f"replica-{replica}"), export_interval=3600)

        @mlotel.monitor(model="m", version="1", reference=reference)
        def predict(X):
            return X["x0"].to_numpy()

        for start in range(0, len(part), 100):
            predict(part.iloc[start : start + 100])
        mlotel.shutdown()

    code, report = _drift_json(capsys, str(tmp_path / "reference.json"), str(tmp_path / "data"))
    rows = {r["feature"]: r for r in report["results"]}
    batch = reference.compare(mlotel.profile_current(flipped, reference))
    (want,) = [r for r in batch.results if r.feature == "multivariate"]
    got = rows["multivariate"]
    assert got["verdict"] == want.verdict == "alert"
    assert got["n_current"] == want.n_current == 4000
    assert got["value"] == pytest.approx(want.value, rel=1e-9)
    assert all(r["verdict"] != "alert" for name, r in rows.items() if name != "multivariate")
    served = [r for r in report["results"] if r["feature"] == "prediction"]
    assert served and served[0]["n_current"] == 4000 and "prediction" not in report["new_features"]
