"""The topic audit on recorded DescribeConfigs answers: does Kafka forget on time?"""

from __future__ import annotations

from typing import Any

import pytest

from lethe.ops.kafka.topic_audit import (
    CANNOT_VERIFY,
    DAY_MS,
    audit,
    configs_of,
    duration,
    horizons,
    kept_for,
)
from lethe.ops.kafka.topics import ALL_TOPICS, TopicSettings
from lethe.policies import load_shipped, shipped_ids

POLICIES = [load_shipped(policy_id) for policy_id in shipped_ids()]
LIMITS = horizons(POLICIES)
FOREVER = "9223372036854775807"


def entry(value: str, source: str = "DYNAMIC_TOPIC_CONFIG") -> dict[str, Any]:
    # One config as kafka-python 3's describe_configs() returns it.
    return {
        "value": value,
        "read_only": False,
        "config_source": source,
        "is_sensitive": False,
        "synonyms": [],
        "config_type": "STRING",
        "documentation": "",
    }


def answer(topic: str, **configs: str) -> dict[str, Any]:
    named = {key.replace("_", "."): entry(value) for key, value in configs.items()}
    return {"topic": {topic: named}}


# What the embedded Tansu broker answered (recorded): for a topic created with
# configs it echoes them; for one created without, it has nothing to say.
TANSU_CREATED_BY_LETHE = {
    "topic": {
        "x.alarm.images.v1": {
            "cleanup.policy": entry("compact", "DEFAULT_CONFIG"),
            "max.compaction.lag.ms": entry("86400000", "DEFAULT_CONFIG"),
            "delete.retention.ms": entry("3600000", "DEFAULT_CONFIG"),
        }
    }
}
TANSU_CREATED_BARE: dict[str, Any] = {"topic": {"x.alarm.images.v1": {}}}


def verdict(topic: str, recorded: dict[str, Any], name: str | None = None) -> Any:
    return audit(topic, configs_of(recorded, name or topic), LIMITS.get(topic))


def test_each_item_topic_s_horizon_is_its_shortest_due_period() -> None:
    assert LIMITS["alarm.images.v1"].ms == 7 * DAY_MS
    assert LIMITS["alarm.recordings.v1"].ms == 45 * DAY_MS  # service calls
    assert LIMITS["alarm.events.v1"].ms == 3 * 28 * DAY_MS  # arming logs, 3 months
    assert str(LIMITS["alarm.images.v1"]) == (
        "sector-alarm verification-image can be due after 7 days"
    )


def test_the_dead_letter_topic_must_forget_as_fast_as_any_item_topic() -> None:
    assert LIMITS["lethe.dlq.v1"].ms == 7 * DAY_MS


def test_a_topic_created_by_lethe_passes() -> None:
    recorded = TANSU_CREATED_BY_LETHE
    assert verdict("alarm.images.v1", recorded, "x.alarm.images.v1").ok


@pytest.mark.parametrize("recorded", [TANSU_CREATED_BARE, {}])
def test_an_answer_without_entries_cannot_be_verified(recorded: dict[str, Any]) -> None:
    result = verdict("alarm.images.v1", recorded, "x.alarm.images.v1")
    assert not result.verified and result.problems == (CANNOT_VERIFY,)
    assert not result.too_long


def test_an_item_topic_that_is_not_compacted_cannot_take_tombstones() -> None:
    recorded = answer("alarm.images.v1", cleanup_policy="delete", retention_ms=FOREVER)
    problems = verdict("alarm.images.v1", recorded).problems
    assert any("no 'compact'" in p for p in problems)
    assert any("retention.ms is forever" in p for p in problems)


def test_compaction_without_a_bounded_lag_keeps_erased_images_too_long() -> None:
    recorded = answer(
        "alarm.images.v1", cleanup_policy="compact"
    )  # Kafka's default lag
    (problem,) = verdict("alarm.images.v1", recorded).problems
    assert problem == (
        "max.compaction.lag.ms is forever: an erased item's records may stay that "
        "long, but sector-alarm verification-image can be due after 7 days"
    )


def test_a_compaction_lag_beyond_the_shortest_recording_rule_is_reported() -> None:
    recorded = answer(
        "alarm.recordings.v1",
        cleanup_policy="compact",
        max_compaction_lag_ms=str(60 * DAY_MS),
    )
    (problem,) = verdict("alarm.recordings.v1", recorded).problems
    assert "60 days" in problem and "service-call-recording" in problem


def test_a_compaction_lag_within_the_horizon_passes() -> None:
    recorded = answer(
        "alarm.events.v1",
        cleanup_policy="compact",
        max_compaction_lag_ms=str(30 * DAY_MS),
    )
    assert verdict("alarm.events.v1", recorded).ok


def test_deletion_by_age_within_the_horizon_passes_even_with_lazy_compaction() -> None:
    recorded = answer(
        "alarm.images.v1",
        cleanup_policy="compact,delete",
        retention_ms=str(5 * DAY_MS),
        segment_ms=str(DAY_MS),
    )
    assert verdict("alarm.images.v1", recorded).ok


@pytest.mark.parametrize(
    ("retention", "segment", "ok"),
    [
        (str(6 * DAY_MS), str(DAY_MS), True),
        (str(7 * DAY_MS), str(DAY_MS), False),
        (str(14 * DAY_MS), str(DAY_MS), False),
        ("-1", str(DAY_MS), False),
    ],
)
def test_dead_letters_are_deleted_within_the_shortest_horizon(
    retention: str, segment: str, ok: bool
) -> None:
    recorded = answer(
        "lethe.dlq.v1",
        cleanup_policy="delete",
        retention_ms=retention,
        segment_ms=segment,
    )
    assert verdict("lethe.dlq.v1", recorded).ok is ok


def test_a_segment_left_open_counts_toward_how_long_records_stay() -> None:
    # Kafka deletes closed segments only: 1 day of retention in a segment that
    # stays open 7 days (Kafka's default segment.ms) keeps records 8 days.
    recorded = answer("lethe.dlq.v1", cleanup_policy="delete", retention_ms=str(DAY_MS))
    (problem,) = verdict("lethe.dlq.v1", recorded).problems
    assert problem.startswith("retention.ms + segment.ms keep records up to 8 days")


def test_ensure_says_how_long_each_topic_keeps_subject_ids() -> None:
    settings = TopicSettings()
    said = {t: kept_for(t, settings.configs(t)) for t in ALL_TOPICS}
    for topic in ("lethe.commands.v1", "customer.lifecycle.v1", "lethe.dlq.v1"):
        assert "subject ids" in said[topic] and "at most 7 days" in said[topic]
    assert "no subject id" in said["lethe.erasures.v1"]
    assert "at most 1 day after Lethe's tombstone" in said["alarm.images.v1"]
    assert kept_for("lethe.dlq.v1", None).startswith("keeps: unknown")


def test_a_lifecycle_topic_kept_forever_is_reported() -> None:
    recorded = answer(
        "customer.lifecycle.v1", cleanup_policy="delete", retention_ms="-1"
    )
    (problem,) = verdict("customer.lifecycle.v1", recorded).problems
    assert "kept forever" not in problem and "keeps every record forever" in problem


def test_every_topic_lethe_creates_passes_its_own_audit() -> None:
    settings = TopicSettings()
    for topic in ALL_TOPICS:
        recorded = {
            "topic": {topic: {k: entry(v) for k, v in settings.configs(topic).items()}}
        }
        assert verdict(topic, recorded).ok, topic


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (DAY_MS, "1 day"),
        (7 * DAY_MS, "7 days"),
        (3_600_000, "1 hour"),
        (1500, "1500 ms"),
    ],
)
def test_durations_read_as_a_person_writes_them(ms: int, text: str) -> None:
    assert duration(ms) == text


def test_topic_settings_come_from_lethe_topic_variables() -> None:
    settings = TopicSettings.from_env(
        {"LETHE_TOPIC_PREFIX": "staging.", "LETHE_TOPIC_PARTITIONS": "12"}
    )
    assert settings.name("alarm.images.v1") == "staging.alarm.images.v1"
    assert settings.partitions == 12
