"""Process metrics: semantic-convention names, values checked against the OS, per-process after fork."""

from __future__ import annotations

import multiprocessing
import os
import threading

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from mlotel import _semconv as sc
from mlotel import resources

psutil = pytest.importorskip("psutil", reason="process metrics need psutil (mlotel[resources])")

TICK = 0.02  # CPU times are counted in clock ticks (10 ms on Linux); allow two


def provider_and_reader():
    reader = InMemoryMetricReader()
    return MeterProvider(metric_readers=[reader]), reader


def collect(reader) -> dict:
    out = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out[metric.name] = (sm.scope.name, metric)
    return out


def by_mode(metric) -> dict[str, float]:
    return {p.attributes[sc.CPU_MODE]: p.value for p in metric.data.data_points}


def burn(seconds: float) -> None:
    end = os.times()
    start = end.user + end.system
    while True:
        t = os.times()
        if t.user + t.system - start >= seconds:
            return


def test_process_metrics_follow_the_conventions_and_the_os():
    provider, reader = provider_and_reader()
    assert resources.enable(provider, gpu=False) == ("process",)
    burn(0.05)
    before = os.times()
    rss_before = psutil.Process().memory_info().rss
    metrics = collect(reader)
    after = os.times()
    rss_after = psutil.Process().memory_info().rss

    scope, cpu = metrics[sc.PROCESS_CPU_TIME]
    assert scope == "mlotel" and cpu.unit == "s" and cpu.data.is_monotonic
    modes = by_mode(cpu)
    assert before.user - TICK <= modes["user"] <= after.user + TICK
    assert before.system - TICK <= modes["system"] <= after.system + TICK

    _, memory = metrics[sc.PROCESS_MEMORY_USAGE]
    (rss,) = memory.data.data_points
    assert memory.unit == "By" and not memory.data.is_monotonic
    assert min(rss_before, rss_after) * 0.9 <= rss.value <= max(rss_before, rss_after) * 1.1
    _, virtual = metrics[sc.PROCESS_MEMORY_VIRTUAL]
    assert virtual.data.data_points[0].value >= rss.value
    _, threads = metrics[sc.PROCESS_THREAD_COUNT]
    assert threads.data.data_points[0].value >= threading.active_count()
    _, fds = metrics[sc.PROCESS_FILE_DESCRIPTOR_COUNT]
    assert fds.data.data_points[0].value == pytest.approx(len(os.listdir("/proc/self/fd")), abs=3)
    _, utilization = metrics[sc.PROCESS_CPU_UTILIZATION]
    assert utilization.unit == "1" and all(0 <= v <= 1.0 for v in by_mode(utilization).values())
    provider.shutdown()


def test_enable_is_idempotent_per_provider():
    provider, reader = provider_and_reader()
    first = resources.enable(provider, gpu=False)
    assert resources.enable(provider, gpu=False) == first
    assert resources.enabled_groups(provider) == first
    points = collect(reader)[sc.PROCESS_MEMORY_USAGE][1].data.data_points
    assert len(points) == 1  # one instrument, not two
    provider.shutdown()


def _child_cpu(reader, queue) -> None:
    queue.put(by_mode(collect(reader)[sc.PROCESS_CPU_TIME][1]))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_reports_itself_not_its_parent():
    provider, reader = provider_and_reader()
    resources.enable(provider, gpu=False)
    burn(0.3)
    parent = by_mode(collect(reader)[sc.PROCESS_CPU_TIME][1])
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_cpu, args=(reader, queue))
    child.start()
    child_modes = queue.get(timeout=30)
    child.join(30)
    # A child's CPU time starts at zero; had it read the parent's process it would be >= 0.3 s.
    assert child_modes["user"] + child_modes["system"] < parent["user"] + parent["system"] - 0.2
    provider.shutdown()


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        (None, {}, True),
        (None, {"MLOTEL_RESOURCE_METRICS": "false"}, False),
        (None, {"MLOTEL_RESOURCE_METRICS": " TRUE "}, True),
        (False, {"MLOTEL_RESOURCE_METRICS": "true"}, False),
    ],
)
def test_setting(explicit, env, expected):
    assert resources.setting(explicit, env) is expected


def test_setting_rejects_bad_values():
    with pytest.raises(ValueError, match="MLOTEL_RESOURCE_METRICS must be true or false, got 'yes'"):
        resources.setting(None, {"MLOTEL_RESOURCE_METRICS": "yes"})
    with pytest.raises(TypeError, match="resource_metrics must be a bool"):
        resources.setting("true", {})
