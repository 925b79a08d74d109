"""Does a Kafka broker answer? One ApiVersions request, for /readyz.

A client of kafka-python's takes seconds to start and keeps retrying in the
background; a readiness probe needs a yes or no within a timeout. ApiVersions
(v0) is the request every Kafka client sends first, answered before any SASL
handshake, so a broker that answers it correctly is up and speaks Kafka: an
open port alone could be anything.
"""

from __future__ import annotations

import socket
import ssl
import struct

from lethe.ops.kafka.settings import KafkaClientSettings

API_VERSIONS = 18
CORRELATION_ID = 0x1E7E
CLIENT_ID = b"lethe-probe"


class BrokerUnreachable(Exception):
    """No bootstrap server answered; the message says what each did."""


def broker_answers(kafka: KafkaClientSettings, timeout_s: float = 2.0) -> str:
    """The first bootstrap server that answers (host:port), or BrokerUnreachable."""
    problems = []
    for address in kafka.bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            _ask(host.strip("[]"), int(port), kafka, timeout_s)
            return address.strip()
        except (OSError, ValueError) as error:
            problems.append(f"{address.strip()}: {error or type(error).__name__}")
    raise BrokerUnreachable("; ".join(problems))


def _ask(host: str, port: int, kafka: KafkaClientSettings, timeout_s: float) -> None:
    with socket.create_connection((host, port), timeout=timeout_s) as raw:
        raw.settimeout(timeout_s)
        conn: socket.socket = raw
        if kafka.security_protocol in ("SSL", "SASL_SSL"):
            context = ssl.create_default_context(cafile=kafka.ssl_cafile)
            conn = context.wrap_socket(raw, server_hostname=host)
        conn.sendall(_request())
        size = struct.unpack(">i", _read(conn, 4))[0]
        if not 6 <= size <= 1 << 20:
            raise ValueError(f"not a Kafka answer (frame of {size} bytes)")
        correlation, error_code = struct.unpack(">ih", _read(conn, 6))
        if correlation != CORRELATION_ID:
            raise ValueError("not a Kafka answer (wrong correlation id)")
        if error_code != 0:
            raise ValueError(f"ApiVersions answered error code {error_code}")


def _request() -> bytes:
    header = struct.pack(">hhih", API_VERSIONS, 0, CORRELATION_ID, len(CLIENT_ID))
    body = header + CLIENT_ID
    return struct.pack(">i", len(body)) + body


def _read(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ValueError("the connection closed before an answer")
        data += chunk
    return data
