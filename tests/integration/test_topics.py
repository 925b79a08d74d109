"""`lethe topics ensure` on the real broker: create what is missing, audit the rest."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from lethe.ops.cli.main import main
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.topic_audit import configs_of
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
    assert [line.split()[0] for line in _verdicts(first.output)] == ["created"] * 9
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        assert {prefix + t for t in ALL_TOPICS} <= set(admin.list_topics())
    finally:
        admin.close()
    again = CliRunner().invoke(main, ["topics", "ensure"], env=env)
    assert again.exit_code == 0, again.output
    assert [line.split()[0] for line in _verdicts(again.output)] == ["ok"] * 9


def _verdicts(output: str) -> list[str]:
    """One line a topic; the indented line under it says how long it keeps."""
    return [line for line in output.splitlines() if not line.startswith(" ")]


def test_ensure_creates_the_copies_short_lived_and_says_how_long_they_keep_ids(
    broker: EmbeddedBroker, topic_name: Callable[..., str]
) -> None:
    prefix = topic_name("topics") + "."
    env = {"LETHE_KAFKA_BOOTSTRAP": broker.bootstrap, "LETHE_TOPIC_PREFIX": prefix}
    result = CliRunner().invoke(main, ["topics", "ensure"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    expected = {
        "lethe.commands.v1": "keeps subject ids and free text (reasons): at most 7",
        "customer.lifecycle.v1": "keeps subject ids (the key and the value): at most 7",
        "lethe.dlq.v1": "keeps copies of rejected records, subject ids included: at",
    }
    day = str(86_400_000)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        for topic, says in expected.items():
            (at,) = [n for n, line in enumerate(lines) if f"{prefix}{topic} " in line]
            assert "retention.ms=518400000 segment.ms=86400000" in lines[at]
            assert says in lines[at + 1]
            # As the broker holds them, not only as Lethe asked.
            described = configs_of(_described(admin, prefix + topic), prefix + topic)
            assert described is not None, "the broker described no configs"
            assert (described["retention.ms"], described["segment.ms"]) == (
                str(6 * int(day)),
                day,
            )
            assert described["cleanup.policy"] == "delete"
    finally:
        admin.close()


def _described(admin: KafkaAdminClient, name: str) -> Any:
    resource = ConfigResource(ConfigResourceType.TOPIC, name)
    return admin.describe_configs([resource], config_filter="all")


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
