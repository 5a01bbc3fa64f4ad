"""TLS on loopback for tests: a throwaway CA and server certificate, and OTLP receivers behind TLS.

:func:`make_certificates` writes ``ca.pem``, ``server.pem`` and ``server.key`` (a CA and a
server certificate it signed, valid for ``127.0.0.1`` and ``localhost``).
:class:`TLSGrpcReceiver` is an :class:`~tests.otlp_receiver.OTLPReceiver` on a TLS port
that also records each request's metadata; :class:`HTTPSReceiver` accepts OTLP/HTTP
protobuf requests over HTTPS and records paths, headers and decoded requests.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from tests.otlp_receiver import LOOPBACK, OTLPReceiver, _LogsServicer, _MetricsServicer, _TraceServicer


def make_certificates(folder: Path) -> dict[str, Path]:
    """Write a CA and a server certificate for 127.0.0.1/localhost; return their paths."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mlotel test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


class _Metadata(grpc.ServerInterceptor):
    def __init__(self, sink: list[dict[str, str]]) -> None:
        self._sink = sink

    def intercept_service(self, continuation, handler_call_details):
        self._sink.append(dict(handler_call_details.invocation_metadata))
        return continuation(handler_call_details)


class TLSGrpcReceiver(OTLPReceiver):
    """The test receiver on a TLS port; :attr:`metadata` holds each call's metadata."""

    def __init__(self, certificates: dict[str, Path]) -> None:
        super().__init__()
        self._certificates = certificates
        self.metadata: list[dict[str, str]] = []

    def start(self) -> TLSGrpcReceiver:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4), interceptors=[_Metadata(self.metadata)]
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceServicer(self), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsServicer(self), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsServicer(self), server)
        credentials = grpc.ssl_server_credentials(
            [(self._certificates["key"].read_bytes(), self._certificates["cert"].read_bytes())]
        )
        self._port = server.add_secure_port(f"{LOOPBACK}:0", credentials)
        server.start()
        self._server = server
        return self

    @property
    def endpoint(self) -> str:
        return f"https://{self.address}"


_REQUESTS = {
    "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse),
    "/v1/metrics": (
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
    "/v1/logs": (logs_service_pb2.ExportLogsServiceRequest, logs_service_pb2.ExportLogsServiceResponse),
}


class HTTPSReceiver:
    """OTLP/HTTP (protobuf) over HTTPS on 127.0.0.1; records ``(path, headers, request)``."""

    def __init__(self, certificates: dict[str, Path]) -> None:
        self.received: list[tuple[str, dict[str, str], object]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request_type, response_type = _REQUESTS.get(self.path, (None, None))
                if request_type is None:
                    self.send_error(404)
                    return
                received.append(
                    (
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        request_type.FromString(body),
                    )
                )
                payload = response_type().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # quiet
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificates["cert"], certificates["key"])
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HTTPSReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def endpoint(self) -> str:
        return f"https://{LOOPBACK}:{self._server.server_address[1]}"
