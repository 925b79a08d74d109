"""Shared fixtures: real broker and PostgreSQL, SQLite files, a clean environment."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # kafka-python 3.0 loads its protocol schemas at import through
    # importlib.resources calls deprecated since 3.11: 200 warnings not ours.
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka  # noqa: F401

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.settings import KafkaClientSettings
from tests.support.environment import scrub_persistence_env
from tests.support.postgres import (
    PostgresUnavailable,
    create_schema,
    temporary_database,
)

# Hypothesis times each example: on a shared machine (CI, two cores) a slow
# moment fails a correct test. Throughput lives in the benchmarks, so no test
# is timed: no deadline, no "too slow" health check.
hypothesis_settings.register_profile(
    "lethe", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("lethe")

# The headless Chromium and the console server, for tests/e2e/test_console_*.py.
pytest_plugins = ["tests.support.browser", "tests.support.console"]
pytest_plugins += ["tests.support.leak_scan"]  # the suite's leak scan, issue 13


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # eventsourcing merges os.environ into every Application's settings.
    scrub_persistence_env(monkeypatch)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One Tansu broker for the session, started by the first test that asks."""
    log_path = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log_path) as running:
        yield running


@pytest.fixture(scope="session")
def kafka(broker: EmbeddedBroker) -> KafkaClientSettings:
    """Client settings for the session's broker (group timings it needs included)."""
    return KafkaClientSettings(bootstrap=broker.bootstrap)


@pytest.fixture(scope="session")
def pg_env() -> Iterator[dict[str, str]]:
    """eventsourcing settings for a fresh PostgreSQL database, dropped at the end."""
    try:
        with temporary_database() as env:
            yield env
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def pg_schema_env(pg_env: dict[str, str]) -> dict[str, str]:
    """pg_env with a schema of this test's own: empty tables, no neighbours' rows."""
    return create_schema(pg_env)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    """eventsourcing settings for an SQLite file of this test's own."""
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(tmp_path / "events.sqlite"),
    }


@pytest.fixture
def topic_name() -> Callable[..., str]:
    """Makes unique topic (or group) names: topic_name("alarm.events")."""

    def make(prefix: str = "test") -> str:
        return f"{prefix}.{uuid.uuid4().hex[:12]}"

    return make
