"""Does a topic's configuration let Kafka keep records longer than the policies allow?

Pure functions over DescribeConfigs answers, so they are tested on recorded
answers (the embedded broker answers DescribeConfigs with no entries at all).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lethe.consumers.deadletter import DLQ_TOPIC
from lethe.consumers.records import (
    EVENT_CATEGORIES,
    IMAGE_CATEGORIES,
    RECORDING_CATEGORIES,
)
from lethe.domain.calendar import Period
from lethe.domain.policy import Policy, Term

DAY_MS = 86_400_000
FOREVER = 2**63 - 1  # Kafka's "never": retention.ms -1, the default compaction lag
KAFKA_RETENTION_DEFAULT = 7 * DAY_MS
KAFKA_SEGMENT_DEFAULT = 7 * DAY_MS  # segment.ms: a segment is deleted once closed
# Shortest length of each calendar unit: a horizon must never be overstated.
UNIT_MS = {"days": DAY_MS, "months": 28 * DAY_MS, "years": 365 * DAY_MS}
# The categories each item topic may carry (the consumers refuse any other).
ITEM_CATEGORIES: dict[str, tuple[str, ...]] = {
    "alarm.events.v1": EVENT_CATEGORIES,
    "alarm.images.v1": IMAGE_CATEGORIES,
    "alarm.recordings.v1": RECORDING_CATEGORIES,
}
CANNOT_VERIFY = "cannot verify: the broker describes no configuration for it"
# The shred ledger (lethe/ops/kafka/shred_ledger.py): it must never forget.
LEDGER_TOPIC = "lethe.shredded-subjects.v1"


@dataclass(frozen=True)
class Horizon:
    """The shortest time after which some item on a topic may be due for erasure."""

    ms: int
    category: str
    policy: str

    def __str__(self) -> str:
        return f"{self.policy} {self.category} can be due after {duration(self.ms)}"


@dataclass(frozen=True)
class Verdict:
    topic: str
    problems: tuple[str, ...] = ()
    verified: bool = True

    @property
    def ok(self) -> bool:
        return self.verified and not self.problems

    @property
    def too_long(self) -> bool:
        """Verified, and found to keep records longer than a policy allows."""
        return self.verified and bool(self.problems)


def horizons(policies: Iterable[Policy]) -> dict[str, Horizon]:
    """Per contract topic that carries items (and the dead-letter topic, which
    holds copies of rejected items): the shortest positive due period.

    A period of zero ("erase on arrival") is left out: no retention setting can
    meet it, and Lethe's tombstone follows such an item within one sweep.
    """
    found: dict[str, Horizon] = {}
    policies = list(policies)
    for topic, categories in ITEM_CATEGORIES.items():
        candidates = [
            Horizon(ms, category, policy.id)
            for policy in policies
            for category in categories
            if category in policy.rules
            for ms in _term_lengths(policy, category)
            if ms > 0
        ]
        if candidates:
            found[topic] = min(candidates, key=lambda h: h.ms)
    if found:
        found[DLQ_TOPIC] = min(found.values(), key=lambda h: h.ms)
    return found


def _term_lengths(policy: Policy, category: str) -> list[int]:
    rule = policy.rules[category]
    return [_length(term) for term in (*rule.terms, *(rule.police_terms or ()))]


def _length(term: Term) -> int:
    if term.period is not None:
        return _period_ms(term.period)
    return (term.full_accounting_years or 0) * UNIT_MS["years"]


def _period_ms(period: Period) -> int:
    return period.amount * UNIT_MS[period.unit]


def audit(
    topic: str, configs: Mapping[str, str] | None, horizon: Horizon | None
) -> Verdict:
    """The problems with one existing topic's configs, against its horizon."""
    if not configs:
        return Verdict(topic, (CANNOT_VERIFY,), verified=False)
    policy = {p.strip() for p in configs.get("cleanup.policy", "delete").split(",")}
    retention = kept_by_age(configs)
    lag = _ms(configs.get("max.compaction.lag.ms"), FOREVER)
    if topic == LEDGER_TOPIC:
        return Verdict(topic, tuple(_ledger_forgets(policy, retention)))
    problems: list[str] = []
    if topic in ITEM_CATEGORIES and "compact" not in policy:
        problems.append(
            "cleanup.policy has no 'compact': Lethe's tombstones cannot erase records"
        )
    if horizon is not None:
        problems += _beyond_horizon(policy, retention, lag, horizon)
    elif "delete" in policy and retention == FOREVER:
        problems.append("retention.ms is -1: Kafka keeps every record forever")
    return Verdict(topic, tuple(problems))


def _ledger_forgets(policy: set[str], retention: int) -> list[str]:
    """The shred ledger's problems: any config under which it loses a record
    (a restore from an old backup would then bring a shredded key back)."""
    problems = []
    if "compact" not in policy:
        problems.append("cleanup.policy has no 'compact'")
    if "delete" in policy and retention < FOREVER:
        problems.append(f"records are deleted after {duration(retention)}")
    if problems:
        problems.append("the ledger must keep every shred for ever")
    return problems


def _beyond_horizon(
    policy: set[str], retention: int, lag: int, horizon: Horizon
) -> list[str]:
    if "delete" in policy and retention <= horizon.ms:
        return []  # deleted by age before anything on it can be due
    if "compact" in policy:
        if lag <= horizon.ms:
            return []
        return [
            f"max.compaction.lag.ms is {duration(lag)}: an erased item's records "
            f"may stay that long, but {horizon}"
        ]
    if retention >= FOREVER:
        return [f"retention.ms is forever, but {horizon}"]
    return [
        f"retention.ms + segment.ms keep records up to {duration(retention)}, "
        f"but {horizon}"
    ]


def kept_by_age(configs: Mapping[str, str]) -> int:
    """The longest a record stays under deletion by age: retention.ms, plus the
    segment.ms its segment may stay open (Kafka deletes closed segments only)."""
    retention = _ms(configs.get("retention.ms"), KAFKA_RETENTION_DEFAULT)
    segment = _ms(configs.get("segment.ms"), KAFKA_SEGMENT_DEFAULT)
    return FOREVER if FOREVER in (retention, segment) else retention + segment


# What each topic holds of a person (docs/architecture.md, "Personal data").
HOLDS = {
    "customer.lifecycle.v1": "subject ids (the key and the value)",
    "lethe.commands.v1": "subject ids and free text (reasons)",
    "lethe.dlq.v1": "copies of rejected records, subject ids included",
    "lethe.erasures.v1": "item ids and blob URIs, no subject id",
    "lethe.erasure-confirmations.v1": "item ids and stores' answers, no subject id",
    LEDGER_TOPIC: "erased subjects' aggregate ids and when, no subject id",
}


def kept_for(topic: str, configs: Mapping[str, str] | None) -> str:
    """One line: what `topic` holds and how long after an erasure it may still."""
    if not configs:
        return "keeps: unknown (the broker describes no configuration)"
    if topic in ITEM_CATEGORIES:
        lag = _ms(configs.get("max.compaction.lag.ms"), FOREVER)
        tombstone = _ms(configs.get("delete.retention.ms"), DAY_MS)
        return (
            "keeps an erased item's records (subject id included) at most "
            f"{duration(lag)} after Lethe's tombstone (max.compaction.lag.ms), "
            f"the tombstone {duration(tombstone)} more (delete.retention.ms)"
        )
    if topic == LEDGER_TOPIC:
        return f"keeps {HOLDS[topic]}: for ever, one record a subject (compacted)"
    kept = duration(kept_by_age(configs))
    return (
        f"keeps {HOLDS.get(topic, 'records')}: at most {kept} after each is "
        "written (retention.ms + segment.ms); an erasure does not remove them"
    )


def _ms(raw: str | None, default: int) -> int:
    if raw is None or not raw.strip():
        return default
    value = int(raw)
    return FOREVER if value < 0 else value


def duration(ms: int) -> str:
    if ms >= FOREVER:
        return "forever"
    for unit, size in (("day", DAY_MS), ("hour", 3_600_000), ("minute", 60_000)):
        if ms >= size and ms % size == 0:
            count = ms // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{ms} ms"


def configs_of(answer: Mapping[str, Any], topic: str) -> dict[str, str] | None:
    """One topic's config values from kafka-python's describe_configs() answer.

    The answer is {"topic": {name: {key: {"value": ..., ...}}}}; None when the
    broker said nothing about the topic (the embedded broker never does).
    """
    described = answer.get("topic", {}).get(topic)
    if not described:
        return None
    return {
        key: entry["value"]
        for key, entry in described.items()
        if entry.get("value") is not None
    }
