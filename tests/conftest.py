"""Shared fixtures: an in-process OTLP receiver and a real OTLP collector (rotel) in front of it.

End-to-end tests export to :attr:`RotelCollector.grpc_endpoint` or
:attr:`RotelCollector.http_endpoint`; rotel decodes the data and forwards it over
OTLP/gRPC to an :class:`otlp_receiver.OTLPReceiver`, where tests assert on it.

Fixtures:

* ``otlp_receiver`` -- a started :class:`OTLPReceiver` (for exporting to it directly).
* ``collector`` -- a started :class:`RotelCollector` forwarding to its own fresh receiver.
* ``collector_factory`` -- ``collector_factory(**kwargs) -> RotelCollector`` for extra or
  customised collectors (kwargs as :class:`RotelCollector`); all are stopped at teardown.
* ``rotel_binary`` -- path of the ``rotel-agent`` executable (skips the test if missing).

When a test fails, the tail of every collector's log and a summary of what each
receiver got are appended to the failure report.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.otlp_receiver import LOOPBACK, OTLPReceiver, free_port, free_ports

__all__ = ["RotelCollector", "find_rotel_binary", "free_port", "free_ports"]

# Batching and retry settings that keep forwarding latency in tests at tens of ms
# rather than rotel's production defaults (200 ms batches, 5 s first retry backoff).
# A flag also given in ``extra_args`` replaces its default here (rotel rejects repeats).
DEFAULT_ROTEL_ARGS: dict[str, str] = {
    "--batch-timeout": "10ms",
    "--otlp-exporter-retry-initial-backoff": "100ms",
    "--otlp-exporter-retry-max-backoff": "1s",
    "--otlp-exporter-retry-max-elapsed-time": "30s",
}


def find_rotel_binary() -> Path | None:
    """Path of the ``rotel-agent`` executable shipped in the ``rotel`` package, or ``None``."""
    spec = importlib.util.find_spec("rotel")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "rotel-agent"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


class RotelCollector:
    """A ``rotel-agent`` process in the foreground that forwards all OTLP it receives to ``receiver``.

    It listens for OTLP/gRPC on :attr:`grpc_endpoint` and OTLP/HTTP on
    :attr:`http_endpoint` (both on 127.0.0.1) and exports over OTLP/gRPC to
    ``receiver.endpoint``. :meth:`stop` and :meth:`start` may be called repeatedly;
    the ports never change, so a stop/start pair simulates a collector outage.
    Output of every run is appended to :attr:`log_path`.
    """

    def __init__(
        self,
        binary: Path,
        receiver: OTLPReceiver,
        workdir: Path,
        *,
        grpc_port: int | None = None,
        http_port: int | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 10.0,
    ) -> None:
        """Prepare (not start) a collector; ports default to free loopback ports chosen now."""
        if grpc_port is None or http_port is None:
            chosen = free_ports(2)
            grpc_port = grpc_port if grpc_port is not None else chosen[0]
            http_port = http_port if http_port is not None else chosen[1]
        self.binary = binary
        self.receiver = receiver
        self.grpc_port = grpc_port
        self.http_port = http_port
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.log_path = workdir / "rotel.log"
        self.pid_path = workdir / "rotel.pid"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def grpc_endpoint(self) -> str:
        """``"http://127.0.0.1:P"`` for OTLP/gRPC exporters."""
        return f"http://{LOOPBACK}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """``"http://127.0.0.1:Q"``; OTLP/HTTP exporters append ``/v1/traces`` etc."""
        return f"http://{LOOPBACK}:{self.http_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        """The full ``rotel-agent`` command line."""
        overridden = {arg.split("=", 1)[0] for arg in self.extra_args if arg.startswith("--")}
        defaults = [
            x for flag, value in DEFAULT_ROTEL_ARGS.items() if flag not in overridden for x in (flag, value)
        ]
        return [
            str(self.binary),
            "start",
            "--otlp-grpc-endpoint",
            f"{LOOPBACK}:{self.grpc_port}",
            "--otlp-http-endpoint",
            f"{LOOPBACK}:{self.http_port}",
            "--exporter",
            "otlp",
            "--otlp-exporter-endpoint",
            self.receiver.endpoint,
            "--otlp-exporter-protocol",
            "grpc",
            "--pid-file",
            str(self.pid_path),
            "--log-file",
            str(self.log_path),
            *defaults,
            *self.extra_args,
        ]

    def start(self) -> RotelCollector:
        """Launch rotel and return once both ports accept connections.

        Raises ``RuntimeError`` (with the log tail) if it is already running, exits
        early (e.g. a port is taken) or is not listening within ``startup_timeout``.
        """
        if self.running:
            raise RuntimeError("collector already running")
        # ROTEL_* variables in the caller's environment would override our flags.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROTEL_")}
        env["NO_COLOR"] = "1"
        with open(self.log_path, "ab") as log:
            log.write(f"--- mlotel tests: {' '.join(self.command())}\n".encode())
            log.flush()
            # In the foreground rotel logs to stdout; --log-file only applies to --daemon.
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_listening(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        pending = [self.grpc_port, self.http_port]
        while pending:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"rotel exited with code {self.process.returncode} during startup:\n{self.log_tail()}"
                )
            if _accepts_connections(pending[0]):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"rotel not listening on {LOOPBACK}:{pending[0]} after {self.startup_timeout:g}s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.01)
        # A failed bind exits within milliseconds; make sure the port we reached is not
        # another process's that rotel collided with.
        try:
            self.process.wait(timeout=0.025)
        except subprocess.TimeoutExpired:
            return
        raise RuntimeError(
            f"rotel exited with code {self.process.returncode} during startup:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 5.0) -> int | None:
        """Stop rotel (SIGTERM, then SIGKILL after ``timeout`` s); idempotent.

        On SIGTERM rotel flushes its pending batches to the receiver before exiting.
        Returns the exit code, or ``None`` if it was not started.
        """
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of :attr:`log_path` (empty if none)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> RotelCollector:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"RotelCollector(grpc={self.grpc_port}, http={self.http_port}, {state})"


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2):
            return True
    except OSError:
        return False


# -- failure diagnostics ------------------------------------------------------------

_DIAGNOSTICS = pytest.StashKey[list[Callable[[], tuple[str, str]]]]()


def _add_diagnostic(request: pytest.FixtureRequest, section: Callable[[], tuple[str, str]]) -> None:
    request.node.stash.setdefault(_DIAGNOSTICS, []).append(section)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[Any]:
    report = yield
    if report.failed and call.when in ("setup", "call"):
        for section in item.stash.get(_DIAGNOSTICS, []):
            report.sections.append(section())
    return report


# -- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def rotel_binary() -> Path:
    """Path of the ``rotel-agent`` executable; skips the test if the rotel package lacks it."""
    binary = find_rotel_binary()
    if binary is None:
        pytest.skip("rotel-agent binary not found (pip install rotel) -- needed for collector tests")
    return binary


@pytest.fixture
def otlp_receiver(request: pytest.FixtureRequest) -> Iterator[OTLPReceiver]:
    """A started :class:`OTLPReceiver` on a free 127.0.0.1 port, stopped at teardown."""
    with OTLPReceiver() as receiver:
        _add_diagnostic(request, lambda: (f"OTLP receiver {receiver.address}", receiver.summary()))
        yield receiver


@pytest.fixture
def collector_factory(
    request: pytest.FixtureRequest, rotel_binary: Path, tmp_path: Path
) -> Iterator[Callable[..., RotelCollector]]:
    """``make(receiver=None, **kwargs) -> RotelCollector``: start a collector (own receiver unless given).

    kwargs are passed to :class:`RotelCollector` (``grpc_port``, ``http_port``,
    ``extra_args``, ``startup_timeout``). Each collector gets its own directory
    under ``tmp_path`` for its pid and log files. Collectors, then the receivers
    made here, are stopped at teardown.
    """
    collectors: list[RotelCollector] = []
    receivers: list[OTLPReceiver] = []

    def make(receiver: OTLPReceiver | None = None, **kwargs: Any) -> RotelCollector:
        if receiver is None:
            receiver = OTLPReceiver().start()
            receivers.append(receiver)
            _add_diagnostic(request, lambda: (f"OTLP receiver {receiver.address}", receiver.summary()))
        workdir = tmp_path / f"rotel-{len(collectors)}"
        workdir.mkdir()
        pick_ports = "grpc_port" not in kwargs and "http_port" not in kwargs
        for attempt in range(3):
            collector = RotelCollector(rotel_binary, receiver, workdir, **kwargs)
            try:
                collector.start()
                break
            except RuntimeError:
                # Freshly picked ports can be taken by another process before rotel binds them.
                if (
                    not pick_ports
                    or attempt == 2
                    or "address already in use" not in collector.log_tail(5).lower()
                ):
                    raise
        collectors.append(collector)
        _add_diagnostic(request, lambda: (f"rotel log tail ({collector.log_path})", collector.log_tail()))
        return collector

    yield make
    for collector in collectors:
        collector.stop()
    for receiver in receivers:
        receiver.stop()


@pytest.fixture
def collector(collector_factory: Callable[..., RotelCollector]) -> RotelCollector:
    """A started :class:`RotelCollector` forwarding to its own fresh receiver (``collector.receiver``)."""
    return collector_factory()
