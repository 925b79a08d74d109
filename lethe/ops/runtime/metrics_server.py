"""`lethe run`'s own small HTTP server: /metrics, /healthz, /readyz.

`lethe run` has no web application, and the probes must answer while its main
thread is busy with a batch: a daemon thread with the standard library's
threading server does it. Off unless LETHE_METRICS_PORT is set.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from lethe.domain.application import Lethe
from lethe.ops.runtime.metrics import HealthCache, Metrics, StoreCollector
from lethe.ops.runtime.probes import Readiness, health_reader
from lethe.ops.settings import Settings, SettingsError

log = structlog.get_logger("lethe.metrics")


def observe(app: Lethe, settings: Settings, metrics: Metrics) -> Readiness:
    """Register the store's gauges beside `metrics`; the readiness they feed."""
    cache = HealthCache(health_reader(app, settings))
    metrics.registry.register(StoreCollector(cache))
    return Readiness(settings, cache)


def start_metrics(
    app: Lethe, settings: Settings, metrics: Metrics
) -> MetricsServer | None:
    """Serve on LETHE_METRICS_HOST:LETHE_METRICS_PORT; None when the port is 0."""
    if not settings.metrics_port:
        return None
    readiness = observe(app, settings, metrics)
    host, port = settings.metrics_host, settings.metrics_port
    try:
        server = MetricsServer(host, port, metrics.registry, readiness)
    except OSError as error:
        raise SettingsError(
            f"LETHE_METRICS_PORT={port}: cannot listen on {host}:{port}"
            f" ({error.strerror or error}); choose a free port, or 0 for none"
        ) from None
    return server.start()


class MetricsServer:
    def __init__(
        self, host: str, port: int, registry: CollectorRegistry, readiness: Readiness
    ) -> None:
        handler = _handler(registry, readiness)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="lethe-metrics", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> MetricsServer:
        self.thread.start()
        log.info("metrics listening", port=self.port)
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(
    registry: CollectorRegistry, readiness: Readiness
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._send(200, b"alive\n")
            elif path == "/readyz":
                problems = readiness.problems()
                body = "\n".join(problems or ["ready"]) + "\n"
                self._send(503 if problems else 200, body.encode())
            else:
                self._send(404, b"not found: /metrics, /healthz, /readyz\n")

        def _send(
            self, code: int, body: bytes, kind: str = "text/plain; charset=utf-8"
        ) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return None  # a scrape every 15 s is not worth a log line

    return Handler
