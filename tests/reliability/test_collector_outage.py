"""A collector that is down from the start, goes down mid-run and comes back (a real rotel).

One application lives through all of it (:class:`SteppedApp`): predictions keep running,
the span queue stays within its bound, every span is either delivered or counted in
``mlotel.export.dropped.count``, cumulative metrics lose nothing, and telemetry resumes
as soon as the collector is back.
"""

from __future__ import annotations

import textwrap

from tests.otlp_receiver import attrs_to_dict
from tests.reliability._apps import SteppedApp

QUEUE = 256  # OTEL_BSP_MAX_QUEUE_SIZE: small, so the queue-full path is exercised quickly
CALLS = {"down1": 600, "up1": 150, "down2": 400, "up2": 120}
RACE_SLACK = 4  # spans the SDK's queue-full check can count twice (see the first assertion)

APP = textwrap.dedent(
    """
    import collections, time
    import mlotel
    from mlotel import _runtime
    from mlotel.export import _setup

    mlotel.configure(service_name="outage", endpoint=ENDPOINT, export_interval=0.2, export_timeout=0.5)
    dropped = collections.Counter()
    count = _setup._drop_sink
    def spy(signal, error_type, n):  # the app's own tally of what mlotel counts
        dropped[signal] += n
        dropped[signal, error_type] += n
        count(signal, error_type, n)
    _setup.set_drop_sink(spy)
    queue = _runtime.active().providers.tracer_provider._active_span_processor._span_processors[0]
    queue = queue._batch_processor._queue
    longest = 0

    def serve(phase, n):
        global longest
        predict = mlotel.monitor(model=phase)(lambda X: [sum(r) for r in X])
        for i in range(n):
            predict([[float(i), 1.0]])
            longest = max(longest, len(queue))

    def all_failed(total, timeout=30, metrics=False):
        deadline = time.monotonic() + timeout
        while (dropped["traces"] < total or (metrics and not dropped["metrics"])) and time.monotonic() < deadline:
            time.sleep(0.02)

    serve("down1", CALLS["down1"])
    all_failed(CALLS["down1"])
    step("down1", traces=dropped["traces"], longest=longest)
    serve("up1", CALLS["up1"])
    mlotel.force_flush()
    step("up1", traces=dropped["traces"])
    serve("down2", CALLS["down2"])
    all_failed(CALLS["down1"] + CALLS["down2"], metrics=True)  # a metric export fails every ~0.7 s
    step("down2", traces=dropped["traces"], metrics=dropped["metrics"], longest=longest)
    serve("up2", CALLS["up2"])
    mlotel.shutdown()
    print("FINAL", dropped["traces"], dropped["metrics"], longest, flush=True)
    """
)


def test_outage_from_start_and_mid_run_then_recovery(collector):
    receiver = collector.receiver
    collector.stop()  # down before the application starts
    app = SteppedApp(
        f"ENDPOINT = {collector.grpc_endpoint!r}\nCALLS = {CALLS!r}\n" + APP,
        {"OTEL_BSP_MAX_QUEUE_SIZE": str(QUEUE), "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "64"},
    )
    try:
        down1 = app.wait_step("down1")
        # Every span of the outage is accounted for; the queue never grew past its bound.
        # The SDK's batch processor checks "queue full" and appends in two steps: when its
        # worker takes a batch in between, a span is reported dropped (counted) and still
        # queued, then counted again when its export fails. Rare; a few at most.
        assert CALLS["down1"] <= int(down1["traces"]) <= CALLS["down1"] + RACE_SLACK
        assert int(down1["longest"]) <= QUEUE
        collector.start()
        app.go()

        up1 = app.wait_step("up1")
        receiver.wait_for_spans(
            name="predict up1", count=CALLS["up1"] - (int(up1["traces"]) - CALLS["down1"]), timeout=20
        )  # resumed
        collector.stop()  # down mid-run
        app.go()

        down2 = app.wait_step("down2")
        # Every span of the second outage is counted (the collector refuses connections:
        # nothing of it can have arrived).
        assert CALLS["down2"] <= int(down2["traces"]) - int(up1["traces"]) <= CALLS["down2"] + RACE_SLACK
        assert int(down2["metrics"]) > 0  # failed metric exports are counted too (their points)
        collector.start()
        app.go()
        final = app.finish().split("FINAL")[1].split()
    finally:
        app.kill()
    dropped_traces = int(final[0])
    assert int(final[2]) <= QUEUE

    spans = receiver.spans()
    by_phase = {phase: sum(1 for s in spans if s.name == f"predict {phase}") for phase in CALLS}
    assert by_phase["down1"] == by_phase["down2"] == 0
    # While the collector is up, every span arrives or is counted: an export that times
    # out right after the collector came back is counted although the collector may have
    # taken it (OTLP delivery is at least once), so delivered + counted >= calls, and the
    # count never exceeds what the phase sent.
    dropped_in = {"up1": int(up1["traces"]) - CALLS["down1"], "up2": dropped_traces - int(down2["traces"])}
    for phase, lost in dropped_in.items():
        assert 0 <= lost <= CALLS[phase]
        assert by_phase[phase] + lost >= CALLS[phase]

    # Cumulative metrics lose nothing during an outage: every call of every phase is counted.
    duration = receiver.latest_metric("ml.prediction.duration")
    counts = {attrs_to_dict(p.attributes)["ml.model.name"]: p.count for p in duration.data_points}
    assert counts == CALLS

    # The drop counter itself reached the backend once the collector was back.
    dropped = receiver.latest_metric("mlotel.export.dropped.count")
    assert dropped.unit == "{item}"
    exported = {}
    for point in dropped.data_points:
        attributes = attrs_to_dict(point.attributes)
        exported[attributes["mlotel.signal"]] = exported.get(attributes["mlotel.signal"], 0) + point.as_int
    assert exported["traces"] == dropped_traces
    assert exported["metrics"] > 0


HUNG_APP = textwrap.dedent(
    """
    import collections, socket, time
    import mlotel
    from mlotel import _runtime
    from mlotel.export import _setup

    hole = socket.socket()  # accepts connections (the kernel's backlog) and never answers: a hung collector
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    mlotel.configure(endpoint=f"http://127.0.0.1:{hole.getsockname()[1]}", export_timeout=1.0,
                     shutdown_timeout=1.0, export_interval=60)
    dropped = collections.Counter()
    count = _setup._drop_sink
    def spy(signal, error_type, n):
        dropped[signal, error_type] += n
        count(signal, error_type, n)
    _setup.set_drop_sink(spy)
    processor = _runtime.active().providers.tracer_provider._active_span_processor._span_processors[0]
    queue = processor._batch_processor._queue

    @mlotel.monitor(model="m")
    def predict(X):
        return X

    longest = 0
    for i in range(CALLS):
        predict([[float(i)]])
        longest = max(longest, len(queue))
    started = time.monotonic()
    mlotel.shutdown()
    print("RESULT", dropped["traces", "queue_full"], longest, time.monotonic() - started, flush=True)
    """
)


def test_hung_collector_keeps_the_queue_bounded_and_counts_what_it_drops():
    from tests.apps import run_app

    calls, queue, batch = 3000, 128, 32
    proc = run_app(
        f"CALLS = {calls}\n" + HUNG_APP,
        {"OTEL_BSP_MAX_QUEUE_SIZE": str(queue), "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": str(batch)},
    )
    queue_full, longest, shutdown_seconds = proc.stdout.split("RESULT")[1].split()
    assert int(longest) <= queue
    # The worker is stuck on one batch for the export timeout: the rest overflows and is counted.
    assert int(queue_full) >= calls - queue - 2 * batch
    assert float(shutdown_seconds) < 10  # bounded by shutdown_timeout (1 s) plus scheduling slack
