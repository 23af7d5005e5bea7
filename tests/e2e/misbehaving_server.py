"""A loopback inference server that fails on purpose, for the remote engine's fault tests.

It speaks just enough HTTP/1.1 to answer `POST /v1/completions` with streamed server-sent
events the way vLLM or llama-server do, or to fail in one of the ways real servers and
networks fail. The fault is switched while it runs (`server.fault = HEALTHY`), and it counts
what it received, so that tests can see retries and how much of a huge answer was read.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HEALTHY = "healthy"
HTTP_500 = "http_500"
RATE_LIMITED = "rate_limited"  # HTTP 429 with Retry-After
TRUNCATED = "truncated"  # a stream that stops mid-answer: the connection closes
MALFORMED = "malformed"  # events that are not the JSON an OpenAI server sends
HUGE = "huge"  # one event of HUGE_BYTES
HUGE_ERROR = "huge_error"  # HTTP 500 with a body of HUGE_BYTES
SILENT = "silent"  # accepts the connection and reads the request, never answers
FAULTS = (HTTP_500, RATE_LIMITED, TRUNCATED, MALFORMED, HUGE, HUGE_ERROR, SILENT)

HEALTHY_PIECES = (" +", " b")
HUGE_BYTES = 10 * 1024 * 1024
MALFORMED_EVENTS = ('{"choices": [{"text": " +"}]}', '{"choices": 5}', "{not json")
_BLOCK = 64 * 1024


def _event(payload: str) -> bytes:
    """One server-sent event as one HTTP chunk."""
    data = f"data: {payload}\n\n".encode()
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join([*lines, "Connection: close", "", ""])).encode()


STREAM_HEAD = _head("200 OK", {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"})


class MisbehavingServer:
    """Serves `fault` (HEALTHY or one of FAULTS) at `url`; TLS where a context is given."""

    def __init__(self, fault: str = HEALTHY, tls: ssl.SSLContext | None = None) -> None:
        self.fault = fault
        self.retry_after = 5
        self.malformed_events = MALFORMED_EVENTS
        self.requests = 0  # HTTP requests read
        self.last_request_at = 0.0  # time.monotonic() of the last one
        self.connections = 0  # TCP connections accepted (TLS handshakes included)
        self.bytes_sent = 0  # of HUGE answers
        self._tls = tls
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        port = self._listener.getsockname()[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def settings(self, remote_timeout: int) -> dict[str, object]:
        """fimble settings that send completions here."""
        return {"engine": "openai", "remoteUrl": self.url, "remoteTimeout": remote_timeout}

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError, ssl.SSLError), contextlib.closing(connection):
            connection.settimeout(10)
            if self._tls is not None:
                connection = self._tls.wrap_socket(connection, server_side=True)
            if not _read_request(connection):
                return
            with self._lock:
                self.requests += 1
                self.last_request_at = time.monotonic()
            self._answer(connection, self.fault)

    def _answer(self, connection: socket.socket, fault: str) -> None:
        if fault == HTTP_500:
            # A fresh id each time, as many servers add: the message must not change with it.
            body = b'{"error": "CUDA error: out of memory", "id": %d}' % self.requests
            head = {"Content-Type": "application/json", "Content-Length": str(len(body))}
            connection.sendall(_head("500 Internal Server Error", head) + body)
        elif fault == RATE_LIMITED:
            head = {"Retry-After": str(self.retry_after), "Content-Length": "0"}
            connection.sendall(_head("429 Too Many Requests", head))
        elif fault == SILENT:
            self._stop.wait()
        elif fault == HUGE:
            opening = b'data: {"choices": [{"text": "'
            connection.sendall(STREAM_HEAD + f"{len(opening) + HUGE_BYTES:x}\r\n".encode())
            self._send_huge(connection, opening)
            connection.sendall(b"\r\n" + _event('"}]}') + b"0\r\n\r\n")
        elif fault == HUGE_ERROR:
            head = {"Content-Type": "text/plain", "Content-Length": str(HUGE_BYTES)}
            self._send_huge(connection, _head("500 Internal Server Error", head))
        else:
            events = self.malformed_events if fault == MALFORMED else tuple(_events(fault))
            connection.sendall(STREAM_HEAD + b"".join(map(_event, events)))
            if fault != TRUNCATED:
                connection.sendall(b"0\r\n\r\n")

    def _send_huge(self, connection: socket.socket, opening: bytes) -> None:
        """`opening`, then HUGE_BYTES in blocks (small ones: the sender's memory stays low)."""
        connection.sendall(opening)
        block = b"a" * _BLOCK
        for _ in range(HUGE_BYTES // _BLOCK):
            connection.sendall(block)  # raises once the client has closed the connection
            self.bytes_sent += _BLOCK


def _events(fault: str) -> Iterator[str]:
    pieces = HEALTHY_PIECES[:1] if fault == TRUNCATED else HEALTHY_PIECES
    for piece in pieces:
        yield json.dumps({"choices": [{"text": piece, "finish_reason": None}]})
    if fault != TRUNCATED:
        yield json.dumps({"choices": [{"text": "", "finish_reason": "stop"}]})
        yield "[DONE]"


def _read_request(connection: socket.socket) -> bool:
    """Read one request (head and Content-Length body); False if the client went away."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            return False
        received += chunk
    head, body = received.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return False
        body += chunk
    return True


def tls_context(directory: Path, host: str, trusted_by: Path | None = None) -> ssl.SSLContext:
    """A server context with a fresh certificate for `host`; its CA certificate is written to
    `trusted_by` where given. Made with `cryptography`, else the openssl command; the test
    is skipped where neither is available."""
    try:
        cert_pem, key_pem, ca_pem = _certificate_cryptography(host)
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor openssl is installed")
        cert_pem, key_pem, ca_pem = _certificate_openssl(directory, host)
    (directory / "server.pem").write_bytes(cert_pem)
    (directory / "server.key").write_bytes(key_pem)
    if trusted_by is not None:
        trusted_by.write_bytes(ca_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    return context


def _certificate_cryptography(host: str) -> tuple[bytes, bytes, bytes]:
    """(leaf certificate, its key, CA certificate) in PEM: a CA signs a leaf for `host`."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def certificate(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: str
    ) -> x509.CertificateBuilder:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        issuer_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        certificate("fimble test CA", ca_key, "fimble test CA")
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    try:
        alt: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alt = x509.DNSName(host)
    leaf = (
        certificate(host, key, "fimble test CA")
        .add_extension(x509.SubjectAlternativeName([alt]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return leaf.public_bytes(pem), key_pem, ca.public_bytes(pem)


def _certificate_openssl(directory: Path, host: str) -> tuple[bytes, bytes, bytes]:
    """The same with the openssl command: a self-signed certificate (its own CA)."""
    kind = "IP" if host.replace(".", "").isdigit() else "DNS"
    cert, key = directory / "openssl.pem", directory / "openssl.key"
    key_type = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    subject = ["-subj", f"/CN={host}", "-addext", f"subjectAltName={kind}:{host}"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        ["openssl", "req", "-x509", *key_type, "-days", "1", *subject, *files],
        check=True,
        capture_output=True,
    )
    return cert.read_bytes(), key.read_bytes(), cert.read_bytes()
