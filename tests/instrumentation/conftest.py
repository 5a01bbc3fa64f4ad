"""Every test starts and ends with no framework instrumented."""

from __future__ import annotations

import pytest

import mlotel.instrumentation


@pytest.fixture(autouse=True)
def _uninstrumented():
    mlotel.instrumentation.uninstrument()
    yield
    mlotel.instrumentation.uninstrument()
