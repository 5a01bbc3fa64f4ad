"""Fixtures for the collector-config/ tests: rotel started from an env file, an OTLP/HTTP capture
server, and a real Prometheus (Debian's ``prometheus`` package) to parse the dashboard's PromQL.

Everything listens on 127.0.0.1 on ports chosen free at start, so tests never clash.
"""

from __future__ import annotations

import gzip
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.otlp_receiver import LOOPBACK, free_ports

T = TypeVar("T")

CONFIG_DIR = Path(__file__).resolve().parents[2] / "collector-config"

_ENV_LINE = re.compile(r"^([A-Z_][A-Z0-9_]*)=(.*)$")


def parse_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of ``path`` (blank lines and ``#`` comments skipped), in file order.

    Raises ``ValueError`` naming the line for anything else or for a repeated key.
    """
    env: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if match is None:
            raise ValueError(f"{path.name}:{number}: not KEY=value: {raw!r}")
        key, value = match.groups()
        if key in env:
            raise ValueError(f"{path.name}:{number}: {key} set twice")
        env[key] = value
    return env


def rebase_url(url: str, base: str) -> str:
    """``url`` with the scheme and host:port of ``base``, keeping its own path (and query)."""
    parts, target = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2):
            return True
    except OSError:
        return False


class EnvFileRotel:
    """``rotel-agent start`` configured only by environment variables (those of an env file).

    The file's listen addresses are replaced by free 127.0.0.1 ports and its pid and log
    files by files under ``workdir``; every other variable is passed on unchanged, after
    ``overrides``. Output (rotel logs to stdout in the foreground) goes to :attr:`log_path`.
    """

    def __init__(self, binary: Path, env: Mapping[str, str], workdir: Path, startup_timeout: float = 10.0):
        self.binary = binary
        self.grpc_port, self.http_port = free_ports(2)
        self.env = dict(env)
        self.env.update(
            ROTEL_OTLP_GRPC_ENDPOINT=f"{LOOPBACK}:{self.grpc_port}",
            ROTEL_OTLP_HTTP_ENDPOINT=f"{LOOPBACK}:{self.http_port}",
            ROTEL_PID_FILE=str(workdir / "rotel.pid"),
            ROTEL_LOG_FILE=str(workdir / "rotel-daemon.log"),
        )
        self.log_path = workdir / "rotel.log"
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def grpc_endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    def start(self) -> EnvFileRotel:
        """Launch and return once both ports accept connections; ``RuntimeError`` (with the log) if not."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROTEL_")}
        env.update(self.env, NO_COLOR="1")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "start"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + self.startup_timeout
        pending = [self.grpc_port, self.http_port]
        while pending:
            if self.process.poll() is not None:
                raise RuntimeError(f"rotel exited with {self.process.returncode}:\n{self.log_text()}")
            if _accepts_connections(pending[0]):
                pending.pop(0)
            elif time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"rotel not listening on port {pending[0]}:\n{self.log_text()}")
            else:
                time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (rotel flushes its batches), then SIGKILL after ``timeout`` s; idempotent."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, predicate: Callable[[str], bool], timeout: float = 15.0) -> str:
        """Block until ``predicate(log text)`` holds and return the text; ``AssertionError`` with the log tail if not."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"rotel log did not show what was expected in {timeout:g}s:\n{text[-4000:]}"
                )
            time.sleep(0.05)


@pytest.fixture
def rotel_from_env(rotel_binary: Path, tmp_path: Path) -> Iterator[Callable[..., EnvFileRotel]]:
    """``start(env_file_name, **overrides) -> EnvFileRotel``: rotel running on one of collector-config's env files.

    ``overrides`` replace variables of the file (e.g. exporter endpoints pointed at test
    receivers). A start that loses a freshly chosen port to another process is retried.
    """
    started: list[EnvFileRotel] = []

    def start(name: str, **overrides: str) -> EnvFileRotel:
        env = parse_env_file(CONFIG_DIR / name)
        env.update(overrides)
        for attempt in range(3):
            workdir = tmp_path / f"rotel-{len(started)}-{attempt}"
            workdir.mkdir()
            rotel = EnvFileRotel(rotel_binary, env, workdir)
            try:
                rotel.start()
            except RuntimeError:
                if attempt == 2 or "address already in use" not in rotel.log_text().lower():
                    raise
                continue
            started.append(rotel)
            return rotel
        raise AssertionError("unreachable")

    yield start
    for rotel in started:
        rotel.stop()


# -- OTLP/HTTP capture ---------------------------------------------------------------

_REQUEST_TYPES = {
    "/v1/traces": ExportTraceServiceRequest,
    "/v1/metrics": ExportMetricsServiceRequest,
    "/v1/logs": ExportLogsServiceRequest,
}


@dataclass(frozen=True)
class CapturedRequest:
    """One OTLP/HTTP POST: its path, headers (names lower-cased) and the decoded ``Export*ServiceRequest``."""

    path: str
    headers: dict[str, str]
    message: Any


class OTLPHTTPCapture:
    """An OTLP/HTTP (protobuf) endpoint on 127.0.0.1 that accepts any path ending in /v1/<signal>.

    It stands in for Prometheus's /api/v1/otlp and Loki's /otlp receivers: it records the
    path, headers and decoded body of every POST (gzip bodies inflated) and answers with
    an empty success response.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._requests: list[CapturedRequest] = []
        capture = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                kind = next((t for suffix, t in _REQUEST_TYPES.items() if self.path.endswith(suffix)), None)
                if kind is None:
                    self.send_error(404)
                    return
                message = kind.FromString(body)
                with capture._lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    capture._requests.append(CapturedRequest(self.path, headers, message))
                    capture._lock.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
                pass

        self._server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def requests(self) -> list[CapturedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for(self, predicate: Callable[[list[CapturedRequest]], T], timeout: float = 15.0) -> T:
        """Block until ``predicate(requests)`` is truthy and return it; ``AssertionError`` listing the paths if not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                result = predicate(list(self._requests))
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    paths = [r.path for r in self._requests]
                    raise AssertionError(
                        f"{self.url}: condition not met in {timeout:g}s; got POSTs to {paths}"
                    )
                self._lock.wait(min(remaining, 0.1))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def otlp_http_capture() -> Iterator[Callable[[], OTLPHTTPCapture]]:
    """``make() -> OTLPHTTPCapture``; every capture made is closed at teardown."""
    made: list[OTLPHTTPCapture] = []

    def make() -> OTLPHTTPCapture:
        made.append(OTLPHTTPCapture())
        return made[-1]

    yield make
    for capture in made:
        capture.close()


# -- Prometheus --------------------------------------------------------------------


class PrometheusServer:
    """A throwaway Prometheus on 127.0.0.1 with an empty TSDB and native histograms enabled."""

    def __init__(self, binary: str, workdir: Path) -> None:
        (port,) = free_ports(1)
        self.url = f"http://{LOOPBACK}:{port}"
        config = workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\n")
        self.log_path = workdir / "prometheus.log"
        self.command = [
            binary,
            f"--config.file={config}",
            f"--web.listen-address={LOOPBACK}:{port}",
            f"--storage.tsdb.path={workdir / 'data'}",
            "--enable-feature=native-histograms",
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"prometheus not ready after {timeout:g}s:\n{self.log_tail()}")
            time.sleep(0.1)

    def query(self, expr: str) -> dict[str, Any]:
        """POST ``expr`` to /api/v1/query; the decoded JSON answer, whether success or error."""
        data = urllib.parse.urlencode({"query": expr}).encode()
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/query", data=data, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:  # 400 bad_data, 422 execution, 503 timeout...
            return json.load(error)

    def version(self) -> str:
        with urllib.request.urlopen(f"{self.url}/api/v1/status/buildinfo", timeout=5) as response:
            return json.load(response)["data"]["version"]

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="session")
def prometheus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A started :class:`PrometheusServer`; skips if no ``prometheus`` binary is on PATH."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip(
            "prometheus not installed (CI: apt-get install -y prometheus) -- PromQL parse check skipped"
        )
    server = PrometheusServer(binary, tmp_path_factory.mktemp("prometheus"))
    try:
        server.wait_ready()
        version = server.version()
        if version_tuple(version) < MIN_PROMETHEUS:
            pytest.skip(f"prometheus {version} predates native-histogram PromQL (needs >= 2.40)")
        yield server
    finally:
        server.stop()


# histogram_sum/histogram_count and native-histogram histogram_quantile arrived in 2.40.
MIN_PROMETHEUS = (2, 40)


def version_tuple(version: str) -> tuple[int, ...]:
    """``"2.42.0+ds"`` -> ``(2, 42, 0)``."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3])
