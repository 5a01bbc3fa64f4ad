"""The `mlotel` console script: --version, --help, subcommands listed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import mlotel
from mlotel.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"mlotel {mlotel.__version__}"


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("profile", "drift", "report", "demo"):
        assert command in out


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "usage: mlotel" in capsys.readouterr().out


def test_console_script_is_installed():
    script = shutil.which("mlotel") or str(__import__("pathlib").Path(sys.executable).with_name("mlotel"))
    proc = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"mlotel {mlotel.__version__}"
