"""Subprocess applications a test steps through: the app prints a line and waits for the test's reply.

Used where the test must change the world between phases of one process's life (stop the
collector, start it again) while the process keeps its providers, queues and threads.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time

# Imported by the app code: ``step("name")`` prints a marker line and waits for the test's go.
PRELUDE = """
import sys as _sys
def step(name, **values):
    print("STEP", name, " ".join(f"{k}={v}" for k, v in values.items()), flush=True)
    _sys.stdin.readline()
"""


class SteppedApp:
    """``python -c PRELUDE + code`` with pipes; :meth:`wait_step` returns the values of a ``step()`` line."""

    def __init__(self, code: str, env: dict[str, str]) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        full_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PRELUDE + code],
            env=full_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self._lines), daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _read(self, stream, out: queue.Queue) -> None:
        for line in stream:
            self.stdout.append(line)
            out.put(line)
        out.put(None)

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.stderr.append(line)

    def wait_step(self, name: str, timeout: float = 60) -> dict[str, str]:
        """Block until the app reaches ``step(name)``; return its ``key=value`` pairs (as strings)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"app did not reach step {name!r}:\n{''.join(self.stderr)[-3000:]}"
                ) from None
            if line is None:
                self.proc.wait()
                raise AssertionError(
                    f"app exited ({self.proc.returncode}) before step {name!r}:\n{''.join(self.stderr)[-3000:]}"
                )
            parts = line.split()
            if parts[:2] == ["STEP", name]:
                return dict(p.split("=", 1) for p in parts[2:])

    def go(self) -> None:
        """Let the app continue past its current step."""
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 60) -> str:
        """Wait for a clean exit; return the whole stdout."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        time.sleep(0.05)  # let the reader threads drain
        assert self.proc.returncode == 0, "".join(self.stderr)[-3000:]
        return "".join(self.stdout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
