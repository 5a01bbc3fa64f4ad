"""What leaves the process, and how it travels (docs/security.md).

- Feature and prediction values never leave in spans, metric attributes or logs with the
  default options: distinctive numeric markers are searched in the serialized OTLP
  bytes (as text and as IEEE doubles). Categorical values do leave, by design, as
  ``ml.feature.category`` (top-K); selecting features with ``features=`` keeps a column
  out entirely. Payload logging, when enabled, is the one path for values (positive control).
- Attribute values are length-limited; the span status message is capped.
- OTLP over TLS with a CA certificate and an auth header from the standard variables,
  for gRPC and HTTP/protobuf; without the CA the export does not happen.
"""

from __future__ import annotations

import struct
import textwrap

import numpy as np
import pandas as pd
import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

import mlotel
from tests.apps import run_app
from tests.otlp_receiver import attrs_to_dict

pytest.importorskip("cryptography", reason="cryptography makes the test certificates")
from tests.reliability._tls import HTTPSReceiver, TLSGrpcReceiver, make_certificates  # noqa: E402

FEATURE_MARKER = 7133.7133713371  # in the middle of its column: not a min or max
PREDICTION_MARKER = 9876.5432109876
CATEGORY_MARKER = "SECRET-CATEGORY-4242"


def _exported_bytes(telemetry) -> bytes:
    data = telemetry.reader.get_metrics_data()
    return b"".join(
        [
            encode_spans(telemetry.spans()).SerializeToString(),
            encode_metrics(data).SerializeToString(),
            encode_logs(telemetry.logs()).SerializeToString() if telemetry.logs() else b"",
        ]
    )


def _contains(blob: bytes, value: float | str) -> bool:
    if isinstance(value, str):
        return value.encode() in blob
    forms = [repr(value), str(value), f"{value:g}", f"{value:.6f}"]
    return any(f.encode() in blob for f in forms) or struct.pack("<d", value) in blob


def _serve(predict) -> None:
    frame = pd.DataFrame(
        {
            "amount": [1.0, FEATURE_MARKER, 10_000.0],
            "age": [20.0, 30.0, 40.0],
            "country": pd.Categorical(["fr", CATEGORY_MARKER, "de"]),
        }
    )
    predict(frame)
    predict(frame.iloc[[0, 1, 2]])


def _model(frame):
    return np.array([0.5, PREDICTION_MARKER, 20_000.0])


def test_values_never_leave_with_default_options(telemetry):
    _serve(mlotel.monitor(model="private")(_model))
    blob = _exported_bytes(telemetry)
    assert not _contains(blob, FEATURE_MARKER)
    assert not _contains(blob, PREDICTION_MARKER)
    assert telemetry.logs() == []
    # By design: categorical values among the top-K are attribute values.
    categories = telemetry.collect()["ml.feature.category.count"].data.data_points
    assert CATEGORY_MARKER in {p.attributes["ml.feature.category"] for p in categories}


def test_a_column_left_out_of_features_is_never_read(telemetry):
    _serve(mlotel.monitor(model="private", features=["amount", "age"])(_model))
    blob = _exported_bytes(telemetry)
    assert not _contains(blob, CATEGORY_MARKER)
    assert not _contains(blob, FEATURE_MARKER)


def test_payload_logging_is_the_one_opt_in_path_for_values(telemetry):
    _serve(mlotel.monitor(model="private", log_payloads=1.0)(_model))  # the positive control
    blob = _exported_bytes(telemetry)
    assert _contains(blob, FEATURE_MARKER) and _contains(blob, PREDICTION_MARKER)


def test_span_status_message_is_capped(telemetry):
    @mlotel.monitor(model="long-error")
    def predict(X):
        raise ValueError("x" * 100_000)

    with pytest.raises(ValueError):
        predict([[1.0]])
    (span,) = telemetry.spans()
    assert len(span.status.description) <= 256
    assert all(len(v) <= 128 for v in span.attributes.values() if isinstance(v, str))


APP = textwrap.dedent(
    """
    import mlotel

    @mlotel.monitor(model="tls")
    def predict(X):
        return [sum(row) for row in X]

    for i in range(5):
        predict([[float(i), 1.0]])
    """
)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_tls_with_a_ca_certificate_and_auth_header_from_the_environment(tmp_path, protocol):
    certificates = make_certificates(tmp_path)
    receiver = (TLSGrpcReceiver if protocol == "grpc" else HTTPSReceiver)(certificates).start()
    try:
        env = {
            "OTEL_SERVICE_NAME": "tls-app",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_CERTIFICATE": str(certificates["ca"]),
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20s3cr3t,x-tenant=ml",
            # requests lets these override the exporter's CA file (docs/security.md): keep them out.
            "REQUESTS_CA_BUNDLE": "",
            "CURL_CA_BUNDLE": "",
        }
        run_app(APP, env)
        if protocol == "grpc":
            spans = receiver.wait_for_spans(name="predict tls", count=5)
            assert len(spans) == 5 and spans[0].resource["service.name"] == "tls-app"
            assert receiver.metadata and all(
                m.get("authorization") == "Bearer s3cr3t" for m in receiver.metadata
            )
            assert all(m.get("x-tenant") == "ml" for m in receiver.metadata)
        else:
            paths = {path for path, _, _ in receiver.received}
            assert {"/v1/traces", "/v1/metrics"} <= paths
            assert all(h.get("authorization") == "Bearer s3cr3t" for _, h, _ in receiver.received)
            (traces,) = [r for p, _, r in receiver.received if p == "/v1/traces"]
            spans = [s for rs in traces.resource_spans for ss in rs.scope_spans for s in ss.spans]
            assert len(spans) == 5 and all(
                attrs_to_dict(s.attributes)["ml.model.name"] == "tls" for s in spans
            )
    finally:
        receiver.stop()


def test_without_the_ca_certificate_nothing_is_sent(tmp_path):
    certificates = make_certificates(tmp_path)
    receiver = TLSGrpcReceiver(certificates).start()
    try:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "MLOTEL_EXPORT_TIMEOUT": "1000",
            "MLOTEL_SHUTDOWN_TIMEOUT": "2000",
        }
        run_app(APP, env)  # the application is unaffected
        assert receiver.trace_requests() == [] and receiver.metrics_requests() == []
    finally:
        receiver.stop()
