"""The `env` and `consuming` fixtures of a test module that drives the consumer.

    env, consuming = one_partition_fixtures("poison")

at module level gives `env` (LETHE_* settings on the test's own PostgreSQL
schema, topics of one partition under a fresh prefix, a fresh group) and
`consuming` (the consume loop of `lethe run` on them, closed with its
connections after the test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lethe.ops.kafka.broker import EmbeddedBroker
from tests.support.ingest import Consuming, one_partition_env


def one_partition_fixtures(prefix: str) -> tuple[Any, Any]:
    """(env, consuming) fixtures; `prefix` starts the test's topic names."""

    @pytest.fixture
    def env(
        pg_schema_env: dict[str, str],
        broker: EmbeddedBroker,
        topic_name: Callable[..., str],
    ) -> dict[str, str]:
        return one_partition_env(
            pg_schema_env, broker.bootstrap, topic_name(prefix) + ".", topic_name("g")
        )

    @pytest.fixture
    def consuming(env: dict[str, str]) -> Iterator[Consuming]:
        running = Consuming(env)
        yield running
        running.close()
        running.app.close()  # its connections: PostgreSQL is shared by many tests

    return env, consuming
