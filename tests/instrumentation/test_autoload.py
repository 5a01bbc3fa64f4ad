"""``opentelemetry-instrument`` discovery, dependency checks, and export through a real collector."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression

from mlotel import _semconv as sc
from mlotel.instrumentation import FRAMEWORKS, _identity
from mlotel.instrumentation._base import FrameworkInstrumentor
from tests.otlp_receiver import attrs_to_dict

ABSENT = textwrap.dedent(
    """
    from mlotel.instrumentation._base import FrameworkInstrumentor

    class AbsentInstrumentor(FrameworkInstrumentor):
        framework = "absent"
        _instruments = ("mlotel-test-absent-framework >= 1",)
        _hook_module = "mlotel_test_absent_framework"
        _hooked = False

        def _patch(self, patcher):
            raise AssertionError("never patched")
    """
)

SCRIPT = textwrap.dedent(
    """
    import mlotel_fake_instrumentation
    import xgboost.sklearn
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    LogisticRegression(C=0.5, max_iter=300).fit(X, y).predict(X)
    absent = mlotel_fake_instrumentation.AbsentInstrumentor
    print("absent loaded:", absent._instance is not None, absent().is_instrumented_by_opentelemetry)
    print("xgboost patched:", type(xgboost.sklearn.XGBModel.__dict__["predict"]).__name__ == "_Patched")
    """
)


def _fake_distribution(root: Path) -> None:
    """A distribution whose instrumentor's framework is not installed, as opentelemetry-instrument finds it."""
    (root / "mlotel_fake_instrumentation.py").write_text(ABSENT)
    info = root / "mlotel_test_fake-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mlotel-test-fake\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[opentelemetry_instrumentor]\nabsent = mlotel_fake_instrumentation:AbsentInstrumentor\n"
    )


def test_opentelemetry_instrument_discovers_and_exports_through_a_collector(collector, tmp_path):
    _fake_distribution(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        PYTHONPATH=str(tmp_path),
        OTEL_SERVICE_NAME="iris-app",
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.grpc_endpoint,
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="xgboost",
        MLOTEL_DATA_DIR=str(tmp_path / "data"),
    )
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    proc = subprocess.run(
        [str(launcher), sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    # The fake framework was loaded, found missing and skipped quietly; xgboost was disabled.
    assert "absent loaded: True False" in proc.stdout, proc.stdout
    assert "xgboost patched: False" in proc.stdout, proc.stdout
    assert "Traceback" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr

    receiver = collector.receiver
    (span,) = receiver.wait_for_spans(name="predict LogisticRegression")
    assert span.resource["service.name"] == "iris-app"
    assert span.attributes[sc.MODEL_FRAMEWORK] == "sklearn"
    assert span.attributes[sc.BATCH_SIZE] == 150
    # Hashed in another process, the same configuration gives the same hash.
    expected = _identity.params_hash(
        {
            "class": "LogisticRegression",
            "params": LogisticRegression(C=0.5, max_iter=300).get_params(deep=True),
        }
    )
    assert span.attributes[sc.MODEL_PARAMS_HASH] == expected
    (metric,) = receiver.wait_for_metrics("ml.feature.value")[-1:]
    names = {attrs_to_dict(p.attributes)[sc.FEATURE_NAME] for p in metric.data_points}
    assert names == {"sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"}
    for point in metric.data_points:
        assert attrs_to_dict(point.attributes)[sc.MODEL_PARAMS_HASH] == expected


def test_entry_points_name_every_framework():
    from importlib.metadata import entry_points

    found = {
        ep.name: ep.value
        for ep in entry_points(group="opentelemetry_instrumentor")
        if ep.value.startswith("mlotel.")
    }
    assert found == FRAMEWORKS
    for value in found.values():
        module, _, name = value.partition(":")
        cls = getattr(__import__(module, fromlist=[name]), name)
        assert issubclass(cls, FrameworkInstrumentor) and cls.framework == module.rsplit(".", 1)[1]


class _Absent(FrameworkInstrumentor):
    framework = "absent"
    _instruments = ("mlotel-test-absent-framework >= 1", "another-absent-framework")
    _hook_module = "mlotel_test_absent_framework"
    _hooked = False


class _TooOld(FrameworkInstrumentor):
    framework = "too-old"
    _instruments = ("numpy >= 999",)
    _hook_module = "numpy"
    _hooked = False


class _AnyOf(FrameworkInstrumentor):
    framework = "any-of"
    _instruments = ("mlotel-test-absent-framework >= 1", "numpy >= 1")
    _hook_module = "mlotel_test_absent_framework"
    _hooked = False


@pytest.mark.parametrize("skip_dep_check", [False, True])
def test_own_dependency_check_runs_even_when_told_to_skip(caplog, skip_dep_check):
    """The auto-loader passes skip_dep_check=True after checking the distribution; we check the framework."""
    with caplog.at_level(logging.DEBUG, logger="mlotel.instrumentation"):
        _Absent().instrument(skip_dep_check=skip_dep_check)
        _TooOld().instrument(skip_dep_check=skip_dep_check)
    assert not _Absent().is_instrumented_by_opentelemetry
    assert not _TooOld().is_instrumented_by_opentelemetry
    levels = {r.levelname for r in caplog.records if "absent" in r.getMessage()}
    assert levels == {"DEBUG"}  # missing: quiet
    assert any(
        r.levelname == "ERROR" and "numpy" in r.getMessage() for r in caplog.records
    )  # wrong version: loud
    _AnyOf().instrument(skip_dep_check=skip_dep_check)  # one of several distributions suffices
    assert _AnyOf().is_instrumented_by_opentelemetry
    _AnyOf().uninstrument()


def test_instrument_imports_no_framework():
    code = (
        "import sys, mlotel.instrumentation as i; done = i.instrument(); "
        "print(sorted(done), [m for m in ('sklearn', 'torch', 'xgboost', 'lightgbm', 'transformers', 'onnxruntime') "
        "if m in sys.modules])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{sorted(FRAMEWORKS)} []"
