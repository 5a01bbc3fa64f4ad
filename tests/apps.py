"""Run a small user application in a subprocess, as a user would (real globals, real exit)."""

from __future__ import annotations

import os
import subprocess
import sys


def run_app(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -c code`` with ``env`` over a copy of this environment minus ``OTEL_*``; assert it succeeded."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    full_env.update(env)
    proc = subprocess.run(
        [sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, proc.stderr
    return proc
