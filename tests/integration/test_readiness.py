"""/readyz fails when the broker or the database goes, on `lethe run`'s metrics
server and on `lethe serve`'s application alike; /healthz stays alive."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from psycopg import sql

from lethe.ops.access.settings import AccessSettings
from lethe.ops.http.app import build_app
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.runtime.metrics import Metrics
from lethe.ops.runtime.metrics_server import MetricsServer, observe, start_metrics
from lethe.ops.settings import Settings, SettingsError
from tests.support.http import live_server
from tests.support.ingest import lethe_env
from tests.support.postgres import connect, temporary_database
from tests.support.scrape import Scrape, get

pytestmark = pytest.mark.integration


@contextmanager
def run_server(runtime: Runtime) -> Iterator[str]:
    """The server `lethe run` starts on LETHE_METRICS_PORT, on a free port."""
    metrics = Metrics()
    readiness = observe(runtime.app, runtime.settings, metrics)
    server = MetricsServer("127.0.0.1", 0, metrics.registry, readiness).start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.close()


def test_readyz_fails_when_the_broker_stops(
    tmp_path: Path, topic_name: Callable[..., str]
) -> None:
    with temporary_database() as pg, EmbeddedBroker(log_path=tmp_path / "b.log") as own:
        env = lethe_env(pg, own.bootstrap, topic_name("ready") + ".", topic_name("g"))
        runtime = build_runtime(Settings.from_env(env))
        with run_server(runtime) as base:
            assert get(f"{base}/readyz") == (200, "ready\n")
            own.stop()  # this test's broker, not the session's
            status, body = get(f"{base}/readyz")
            assert status == 503, body
            bootstrap = env["LETHE_KAFKA_BOOTSTRAP"]
            assert body.startswith(f"broker: {bootstrap}: ")
            assert get(f"{base}/healthz") == (200, "alive\n")


def test_readyz_fails_when_the_database_is_dropped_under_it() -> None:
    with temporary_database() as pg:
        env = lethe_env(pg, "127.0.0.1:9", "p.", "g")
        del env["LETHE_KAFKA_BOOTSTRAP"]  # no broker to judge: the store alone
        runtime = build_runtime(Settings.from_env(env))
        with (
            run_server(runtime) as run,
            live_server(build_app(runtime, AccessSettings())) as serve,
        ):
            for base in (run, serve):
                assert get(f"{base}/readyz") == (200, "ready\n")
                assert Scrape.of(base).value("lethe_store_up") == 1
            with connect() as admin:
                drop = sql.SQL("DROP DATABASE {} WITH (FORCE)")
                admin.execute(drop.format(sql.Identifier(pg["POSTGRES_DBNAME"])))
            for base in (run, serve):
                status, body = get(f"{base}/readyz")
                assert status == 503 and body.startswith("store: "), body
                assert pg["POSTGRES_DBNAME"] in body
                assert get(f"{base}/healthz") == (200, "alive\n")


def test_readyz_fails_when_postgres_does_not_answer_on_its_port() -> None:
    with temporary_database() as pg:
        env = lethe_env(pg, "127.0.0.1:9", "p.", "g")
        del env["LETHE_KAFKA_BOOTSTRAP"]
        runtime = build_runtime(Settings.from_env(env))
        nowhere = Settings.from_env({**env, "LETHE_POSTGRES_PORT": "9"})
        runtime.settings = nowhere  # the probe asks where nothing listens
        with run_server(runtime) as base:
            status, body = get(f"{base}/readyz")
            assert status == 503 and "127.0.0.1:9" in body, body


def test_a_metrics_port_in_use_is_refused_in_one_line_naming_it(tmp_path: Path) -> None:
    settings = Settings.from_env({"LETHE_SQLITE_PATH": str(tmp_path / "l.db")})
    runtime = build_runtime(settings)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = Settings.from_env(
            {**(settings.env or {}), "LETHE_METRICS_PORT": str(port)}
        )
        with pytest.raises(SettingsError) as refused:
            start_metrics(runtime.app, busy, Metrics())
    message = str(refused.value)
    assert message.startswith(f"LETHE_METRICS_PORT={port}: cannot listen on ")
    assert "\n" not in message
