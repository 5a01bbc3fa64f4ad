"""Pre-fork servers (gunicorn, uWSGI): workers forked from a parent that imported mlotel.

Through a real collector (rotel). Three set-ups:

- ``parent``: the parent configured mlotel, exported (so its connections exist) and keeps
  a thread busy in monitored calls while it forks 4 workers with ``os.fork()``;
- ``post_fork``: the parent only imported and decorated; each worker calls
  ``mlotel.configure()`` first (gunicorn's ``post_fork`` hook, the recommended set-up);
- ``both``: the parent configured and the workers configure again.

Each worker must export under its own ``service.instance.id``, with counts that are
exactly its own calls (never the parent's again), on fresh connections (no export
fails), and must not deadlock on a lock a parent thread held at fork time.
"""

from __future__ import annotations

import os
import textwrap
from collections import Counter

import pytest

from tests.apps import run_app
from tests.otlp_receiver import attrs_to_dict

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

CALLS = [40, 55, 70, 85]  # per worker; worker w sends batches of w + 1 rows

APP = textwrap.dedent(
    """
    import os, sys, threading, time
    import mlotel
    from mlotel import _runtime

    def configure():
        mlotel.configure(service_name="prefork", endpoint=ENDPOINT, protocol=PROTOCOL, export_interval=60)

    @mlotel.monitor(model="m")
    def predict(X):
        return [sum(row) for row in X]

    def instance_id():
        return _runtime.active().providers.tracer_provider.resource.attributes["service.instance.id"]

    parent_calls = 0
    stop = threading.Event()
    if MODE in ("parent", "both"):
        configure()
        for _ in range(3):
            predict([[1.0, 2.0]] * 9)
        parent_calls = 3
        mlotel.force_flush()  # the parent has exported: its connections exist before the fork

        def busy():  # a parent thread inside mlotel while workers are forked: locks may be held
            global parent_calls
            while not stop.is_set():
                predict([[3.0, 4.0]] * 9)
                parent_calls += 1

        thread = threading.Thread(target=busy, daemon=True)
        thread.start()
        time.sleep(0.05)

    workers = {}
    for w, calls in enumerate(CALLS):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                if MODE in ("post_fork", "both"):
                    configure()
                for i in range(calls):
                    predict([[float(i), float(w)]] * (w + 1))
                # One write(2) below PIPE_BUF: workers' lines never interleave on the shared pipe.
                os.write(1, f"WORKER {w} {instance_id()}\\n".encode())
                mlotel.shutdown()
                code = 0
            finally:
                os._exit(code)
        workers[pid] = w

    deadline = time.monotonic() + 60  # a deadlocked worker fails the test instead of hanging it
    while workers and time.monotonic() < deadline:
        for pid in list(workers):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                assert status == 0, f"worker {workers[pid]} exited with status {status}"
                del workers[pid]
        time.sleep(0.01)
    if workers:
        for pid in workers:
            os.kill(pid, 9)
        sys.exit(f"workers did not finish: {sorted(workers.values())}")
    stop.set()
    if MODE != "post_fork":
        thread.join()
        print("PARENT", instance_id(), parent_calls, flush=True)
        mlotel.shutdown()
    """
)


def _latest_by_instance(receiver, name: str) -> dict[str, list]:
    latest: dict[str, list] = {}
    for metric in receiver.metrics(name):
        latest[metric.resource["service.instance.id"]] = list(metric.data_points)
    return latest


@pytest.mark.parametrize(
    ("mode", "protocol"),
    [("parent", "grpc"), ("parent", "http/protobuf"), ("post_fork", "grpc"), ("both", "http/protobuf")],
)
def test_forked_workers_export_their_own_identity_and_counts(collector, mode, protocol):
    endpoint = collector.grpc_endpoint if protocol == "grpc" else collector.http_endpoint
    code = f"ENDPOINT = {endpoint!r}\nPROTOCOL = {protocol!r}\nMODE = {mode!r}\nCALLS = {CALLS!r}\n" + APP
    out = run_app(code, {}, timeout=120).stdout

    expected: dict[str, tuple[int, int]] = {}  # instance id -> (calls, rows per call)
    for line in out.splitlines():
        if line.startswith("WORKER"):
            _, w, instance = line.split()
            expected[instance] = (CALLS[int(w)], int(w) + 1)
        elif line.startswith("PARENT"):
            _, instance, calls = line.split()
            expected[instance] = (int(calls), 9)
    assert len(expected) == len(CALLS) + (mode != "post_fork")  # every process its own id
    receiver = collector.receiver

    def complete(r) -> bool:
        latest = _latest_by_instance(r, "ml.prediction.duration")
        return all(
            sum(p.count for p in latest.get(instance, [])) == calls
            for instance, (calls, _) in expected.items()
        )

    receiver.wait_for(complete, timeout=20)
    durations = _latest_by_instance(receiver, "ml.prediction.duration")
    assert set(durations) == set(expected)  # no process reported under another's id
    batches = _latest_by_instance(receiver, "ml.prediction.batch.size")
    features = _latest_by_instance(receiver, "ml.feature.value")
    for instance, (calls, rows) in expected.items():
        assert sum(p.count for p in durations[instance]) == calls
        assert sum(p.sum for p in batches[instance]) == calls * rows
        by_feature = {attrs_to_dict(p.attributes)["ml.feature.name"]: p.count for p in features[instance]}
        assert by_feature == {"f0": calls * rows, "f1": calls * rows}

    def spans_by_instance(r):
        found = Counter(s.resource["service.instance.id"] for s in r.spans())
        return found if found == Counter({i: c for i, (c, _) in expected.items()}) else None

    receiver.wait_for(spans_by_instance, timeout=20)  # exactly each process's own spans
    # Fresh connections per worker: no export failed anywhere.
    assert receiver.metrics("mlotel.export.dropped.count") == []


def test_a_forked_worker_gets_its_own_exporter_and_leaves_the_parents_alone():
    """After fork an exporter is rebuilt on first use (a parent's HTTP keep-alive socket or gRPC
    channel shared by several processes corrupts or loses requests); the parent's is not closed."""
    from mlotel.export._setup import GuardedExporter

    built = []

    class Recording:
        def __init__(self):
            self.pid, self.shut = os.getpid(), False
            built.append(self)

        def export(self, batch):
            return None

        def shutdown(self):
            self.shut = True

    exporter = GuardedExporter("traces", Recording)
    parent_inner = exporter._inner
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        ok = 1
        try:
            exporter.export([])
            fresh = exporter._inner
            exporter.shutdown()
            ok = int(
                fresh is not parent_inner
                and fresh.pid == os.getpid()
                and fresh.shut
                and not parent_inner.shut
            )
        finally:
            os.write(write, bytes([ok]))
            os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"\x01"
    os.waitpid(pid, 0)
    assert not parent_inner.shut and exporter._inner is parent_inner
