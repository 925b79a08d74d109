"""A real uvicorn server on a free port, a real JWKS over HTTP, and a small client."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from lethe.domain.application import IngestRecord, Lethe
from lethe.ops.access.roles import Role
from lethe.ops.access.tokens import TokenStore
from lethe.projections.store import SqlViews
from tests.support.subjects import used, used_in


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread; yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), (
            "uvicorn did not start"
        )
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(30)


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.content_type = headers.get("Content-Type", "")
        is_json = "json" in self.content_type
        self.json: Any = json.loads(body) if body and is_json else None
        self.text = body.decode("utf-8", "replace")


def call(
    base: str,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    if isinstance(body, dict):
        used_in(body)  # a request about a subject names it in its body
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path, data=data, method=method, headers=headers or {}
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())


class Issuer:
    """An OpenID Connect issuer's signing key, its JWKS served over real HTTP."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:8]
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = json.dumps(
            {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}
        ).encode()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.url + "/realms/arc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def jwks_url(self) -> str:
        return self.url + "/jwks.json"

    def env(self, role_map: str) -> dict[str, str]:
        """The LETHE_OIDC_* settings that trust this issuer, audience `lethe`."""
        return {
            "LETHE_OIDC_ISSUER": self.issuer,
            "LETHE_OIDC_AUDIENCE": "lethe",
            "LETHE_OIDC_JWKS_URL": self.jwks_url,
            "LETHE_OIDC_ROLE_MAP": role_map,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        jwks = self.jwks

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self.send_response(200 if self.path == "/jwks.json" else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(jwks if self.path == "/jwks.json" else b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def token(self, audience: str = "lethe", key: Any = None, **claims: Any) -> str:
        now = datetime.now(UTC)
        body = {
            "iss": self.issuer,
            "aud": audience,
            "sub": "user-1",
            "iat": now,
            "exp": now + timedelta(minutes=5),
            **claims,
        }
        return jwt.encode(
            body, key or self.key, algorithm="RS256", headers={"kid": self.kid}
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ingest_one(
    app: Lethe, item_ref: str, subject_id: str, category: str, kind: str = "event"
) -> None:
    captured = datetime.now(UTC) - timedelta(minutes=5)
    used(subject_id)
    record = IngestRecord(
        item_ref=item_ref,
        kind=kind,
        source_topic="alarm.events",
        source_partition=0,
        source_offset=abs(hash(item_ref)) % 10**9,
        controller="sector-alarm",
        category=category,
        subject_id=subject_id,
        captured_at=captured,
        content=item_ref.encode(),
    )
    app.ingest([record], datetime.now(UTC))


def token_per_role(views: SqlViews) -> dict[Role, str]:
    """One API token for each role, named after it (`token:support`, ...)."""
    tokens = TokenStore(views)
    now = datetime.now(UTC)
    return {
        role: tokens.create(role.value, frozenset({role}), "test", now, None)
        for role in Role
    }
