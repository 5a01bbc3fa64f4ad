"""examples/distributed_reference.py runs as written (Dask: 2 worker processes) and finds the drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "distributed_reference.py"


def test_distributed_reference_example_on_dask(tmp_path):
    pytest.importorskip("distributed", reason="dask is not installed (pip install 'mlotel[dask]')")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE), "--engine", "dask", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "same sketches as one process: True" in proc.stdout
    assert "amount   alert" in proc.stdout and "overall: alert" in proc.stdout
    assert (tmp_path / "out" / "reference.json").is_file()
