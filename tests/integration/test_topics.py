"""`lethe topics ensure` on the real broker: create what is missing, audit the rest."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner
from kafka import KafkaAdminClient

from lethe.ops.cli.main import main
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.topics import ALL_TOPICS

pytestmark = pytest.mark.integration


def test_ensure_creates_every_topic_then_finds_them_fitting(
    broker: EmbeddedBroker, topic_name: Callable[..., str]
) -> None:
    prefix = topic_name("topics") + "."
    env = {"LETHE_KAFKA_BOOTSTRAP": broker.bootstrap, "LETHE_TOPIC_PREFIX": prefix}
    first = CliRunner().invoke(main, ["topics", "ensure"], env=env)
    assert first.exit_code == 0, first.output
    assert [line.split()[0] for line in first.output.splitlines()] == ["created"] * 8
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        assert {prefix + t for t in ALL_TOPICS} <= set(admin.list_topics())
    finally:
        admin.close()
    again = CliRunner().invoke(main, ["topics", "ensure"], env=env)
    assert again.exit_code == 0, again.output
    assert [line.split()[0] for line in again.output.splitlines()] == ["ok"] * 8


def test_an_existing_topic_that_keeps_images_too_long_is_reported(
    broker: EmbeddedBroker, topic_name: Callable[..., str]
) -> None:
    prefix = topic_name("topics") + "."
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:  # as a pipeline team might have created it: compacted, lag unbounded
        admin.create_topics(
            {
                prefix + "alarm.images.v1": {
                    "num_partitions": 1,
                    "replication_factor": -1,
                    "configs": {
                        "cleanup.policy": "compact",
                        "max.compaction.lag.ms": "9223372036854775807",
                    },
                }
            }
        )
    finally:
        admin.close()
    env = {"LETHE_KAFKA_BOOTSTRAP": broker.bootstrap, "LETHE_TOPIC_PREFIX": prefix}
    result = CliRunner().invoke(main, ["topics", "ensure"], env=env)
    assert result.exit_code == 3
    (finding,) = [line for line in result.output.splitlines() if "TOO LONG" in line]
    assert "alarm.images.v1" in finding and "verification-image" in finding
