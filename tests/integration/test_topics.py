"""`lethe topics ensure` on the real broker: create what is missing, audit the rest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from kafka import KafkaAdminClient

from lethe.ops.cli.main import main
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.topics import ALL_TOPICS
from lethe.ops.runtime.run import RunConfig, check_topics
from lethe.ops.settings import Settings

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


def _create_bare(bootstrap: str, name: str) -> None:
    """A topic with the broker's defaults, as auto-creation would make it."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics(
            {name: {"num_partitions": 1, "replication_factor": -1, "configs": {}}}
        )
    finally:
        admin.close()


def test_ensure_exits_non_zero_when_it_cannot_verify_a_config(
    broker: EmbeddedBroker, topic_name: Callable[..., str]
) -> None:
    prefix = topic_name("topics") + "."
    _create_bare(broker.bootstrap, prefix + "alarm.events.v1")
    env = {"LETHE_KAFKA_BOOTSTRAP": broker.bootstrap, "LETHE_TOPIC_PREFIX": prefix}
    result = CliRunner().invoke(main, ["topics", "ensure"], env=env)
    assert result.exit_code == 4, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("UNVERIFIED")]
    assert prefix + "alarm.events.v1" in line and "cannot verify" in line


def _run_env(broker: EmbeddedBroker, prefix: str, tmp_path: Path) -> dict[str, str]:
    return {
        "LETHE_KAFKA_BOOTSTRAP": broker.bootstrap,
        "LETHE_TOPIC_PREFIX": prefix,
        "LETHE_SQLITE_PATH": str(tmp_path / "lethe.db"),
    }


def test_run_refuses_item_topics_that_do_not_exist_and_creates_none(
    broker: EmbeddedBroker, topic_name: Callable[..., str], tmp_path: Path
) -> None:
    prefix = topic_name("run") + "."
    env = _run_env(broker, prefix, tmp_path)
    result = CliRunner().invoke(main, ["run"], env=env)
    assert result.exit_code == 2
    assert result.output.startswith(f"lethe: topic {prefix}alarm.events.v1 does not")
    assert len(result.output.splitlines()) == 1
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        assert not [t for t in admin.list_topics() if t.startswith(prefix)]
    finally:
        admin.close()


def test_run_refuses_an_item_topic_not_seen_compacted_unless_told_to_go_on(
    broker: EmbeddedBroker, topic_name: Callable[..., str], tmp_path: Path
) -> None:
    prefix = topic_name("run") + "."
    env = _run_env(broker, prefix, tmp_path)
    assert CliRunner().invoke(main, ["topics", "ensure"], env=env).exit_code == 0
    images = prefix + "alarm.images.v1"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:  # recreated with the broker's defaults: not compacted
        admin.delete_topics([images])
    finally:
        admin.close()
    _create_bare(broker.bootstrap, images)
    result = CliRunner().invoke(main, ["run"], env=env)
    assert result.exit_code == 2, result.output
    assert f"{images}: cannot verify that it is compacted" in result.output
    assert "LETHE_ALLOW_UNCOMPACTED_ITEM_TOPICS=true" in result.output

    config = RunConfig.from_env(
        Settings.from_env({**env, "LETHE_ALLOW_UNCOMPACTED_ITEM_TOPICS": "true"})
    )
    check_topics(config)  # allowed: a warning, no refusal
