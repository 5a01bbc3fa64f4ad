"""Process metrics (OpenTelemetry ``process.*`` semantic conventions) read with psutil.

Observable instruments: the metric reader's own collection calls the callbacks, so no
thread of ours runs. The ``psutil.Process`` is made per pid on first use, so a forked
worker reports itself, not its parent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation

from mlotel import _faults
from mlotel import _semconv as sc

_USER = {sc.CPU_MODE: "user"}
_SYSTEM = {sc.CPU_MODE: "system"}


class ProcessMetrics:
    """The callbacks of the process instruments, over one lazily made ``psutil.Process``."""

    def __init__(self, psutil: Any) -> None:
        self._psutil = psutil
        self._pid: int | None = None
        self._process: Any = None
        self._last: tuple[float, float, float] | None = None  # (wall, user, system) at the last observation

    def process(self) -> Any:
        pid = os.getpid()
        if pid != self._pid:
            self._process = self._psutil.Process(pid)
            self._pid = pid
            self._last = None
        return self._process

    def register(self, meter: Any) -> None:
        meter.create_observable_counter(
            sc.PROCESS_CPU_TIME,
            [self.cpu_time],
            unit="s",
            description="Total CPU seconds broken down by CPU mode.",
        )
        meter.create_observable_gauge(
            sc.PROCESS_CPU_UTILIZATION,
            [self.cpu_utilization],
            unit="1",
            description="CPU time since the last measurement over elapsed time and the CPUs available to the process.",
        )
        meter.create_observable_up_down_counter(
            sc.PROCESS_MEMORY_USAGE,
            [self.memory_usage],
            unit="By",
            description="The amount of physical memory in use.",
        )
        meter.create_observable_up_down_counter(
            sc.PROCESS_MEMORY_VIRTUAL,
            [self.memory_virtual],
            unit="By",
            description="The amount of committed virtual memory.",
        )
        meter.create_observable_up_down_counter(
            sc.PROCESS_THREAD_COUNT,
            [self.thread_count],
            unit="{thread}",
            description="Process threads count.",
        )
        if os.name == "posix":
            meter.create_observable_up_down_counter(
                sc.PROCESS_FILE_DESCRIPTOR_COUNT,
                [self.file_descriptors],
                unit="{file_descriptor}",
                description="Number of UNIX file descriptors in use by the process.",
            )

    # -- callbacks: each returns no observation (and counts a fault) rather than raise --------------
    def cpu_time(self, options: CallbackOptions) -> Iterable[Observation]:
        try:
            times = self.process().cpu_times()
        except Exception as exc:
            _faults.record_fault("resources", exc)
            return []
        return [Observation(times.user, _USER), Observation(times.system, _SYSTEM)]

    def cpu_utilization(self, options: CallbackOptions) -> Iterable[Observation]:
        try:
            process = self.process()
            times = process.cpu_times()
            now = time.time()
            last = self._last or (process.create_time(), 0.0, 0.0)
            self._last = (now, times.user, times.system)
            elapsed = (now - last[0]) * _cpus_available()
        except Exception as exc:
            _faults.record_fault("resources", exc)
            return []
        if elapsed <= 0:
            return []
        return [
            Observation((times.user - last[1]) / elapsed, _USER),
            Observation((times.system - last[2]) / elapsed, _SYSTEM),
        ]

    def memory_usage(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._one(lambda p: p.memory_info().rss)

    def memory_virtual(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._one(lambda p: p.memory_info().vms)

    def thread_count(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._one(lambda p: p.num_threads())

    def file_descriptors(self, options: CallbackOptions) -> Iterable[Observation]:
        return self._one(lambda p: p.num_fds())

    def _one(self, read: Any) -> Iterable[Observation]:
        try:
            return [Observation(read(self.process()))]
        except Exception as exc:
            _faults.record_fault("resources", exc)
            return []


def _cpus_available() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1
