"""Lethe's Kafka topics: their deployed names, the configs they need, and an audit.

Kafka is a store too. An item's record (subject id included) must leave Kafka
within the policy's horizon: item topics are compacted so Lethe's tombstones
take effect, with `max.compaction.lag.ms` bounded so compaction actually runs;
the dead-letter topic, which holds copies of rejected items, is deleted by age.
The shred ledger is the one topic that must never forget: compacted, kept for ever.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import TopicAlreadyExistsError

from lethe.consumers.deadletter import DLQ_TOPIC
from lethe.consumers.records import KINDS, Kind
from lethe.domain.policy import Policy
from lethe.ops.kafka.relay import ORDERS_TOPIC
from lethe.ops.kafka.shred_ledger import SHRED_LEDGER_TOPIC
from lethe.ops.kafka.topic_audit import (
    ITEM_CATEGORIES,
    LEDGER_TOPIC,
    Verdict,
    audit,
    configs_of,
    horizons,
    kept_for,
)

DAY_MS = 86_400_000
COMMANDS_TOPIC, LIFECYCLE_TOPIC = "lethe.commands.v1", "customer.lifecycle.v1"
INBOUND = tuple(kind.topic for kind in KINDS)
ALL_TOPICS = (*INBOUND, ORDERS_TOPIC, DLQ_TOPIC, SHRED_LEDGER_TOPIC)


class TopicSettingsError(ValueError):
    """A LETHE_TOPIC_* variable that cannot be used; the message names it."""


@dataclass(frozen=True)
class TopicSettings:
    """Names and configs of Lethe's topics (LETHE_TOPIC_* variables)."""

    prefix: str = ""  # e.g. "staging." in front of every contract name
    partitions: int = 6
    replication_factor: int = -1  # the broker's default
    max_compaction_lag_ms: int = DAY_MS
    delete_retention_ms: int = 3_600_000  # how long a tombstone stays readable
    # Topics deleted by age keep a record up to retention.ms + segment.ms (Kafka
    # deletes whole closed segments): short segments keep that sum honest. Six
    # days + one: a record outlives a 5-day Easter outage of Lethe (or of the
    # eraser: orders are re-sent anyway) and an erased subject's id goes from
    # every copy within 7 days, within the shortest item horizon (images).
    segment_ms: int = DAY_MS
    commands_retention_ms: int = 6 * DAY_MS  # subject ids, free text
    lifecycle_retention_ms: int = 6 * DAY_MS  # keyed by subject id
    dlq_retention_ms: int = 6 * DAY_MS  # copies of rejected items and changes
    erasures_retention_ms: int = 6 * DAY_MS  # item ids and blob URIs, no subject
    inbound_retention_ms: int = 14 * DAY_MS  # confirmations: no subject id

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TopicSettings:
        values: dict[str, object] = {}
        for name, default in cls.__dataclass_fields__.items():
            key = f"LETHE_TOPIC_{name.upper()}"
            raw = env.get(key, "").strip()
            if raw and isinstance(default.default, int):
                values[name] = _integer(key, raw)
            elif raw:
                values[name] = raw
        return cls(**values)  # type: ignore[arg-type]

    def name(self, contract_topic: str) -> str:
        return self.prefix + contract_topic

    def inbound_kinds(self) -> dict[str, Kind]:
        """Deployed topic name -> the kind of record it carries."""
        return {self.name(kind.topic): kind for kind in KINDS}

    def configs(self, contract_topic: str) -> dict[str, str]:
        """The topic configs Lethe creates a topic with."""
        if contract_topic in ITEM_CATEGORIES:
            return {
                # Compaction makes the tombstone Lethe sends on erasure delete
                # every earlier record of the item, within the compaction lag.
                "cleanup.policy": "compact",
                "max.compaction.lag.ms": str(self.max_compaction_lag_ms),
                "delete.retention.ms": str(self.delete_retention_ms),
            }
        if contract_topic == SHRED_LEDGER_TOPIC:
            # Kept for ever, one record a subject: a restore of Lethe's database
            # from any backup, however old, must find every shred since.
            return {"cleanup.policy": "compact", "retention.ms": "-1"}
        retention = {
            ORDERS_TOPIC: self.erasures_retention_ms,
            DLQ_TOPIC: self.dlq_retention_ms,
            COMMANDS_TOPIC: self.commands_retention_ms,
            LIFECYCLE_TOPIC: self.lifecycle_retention_ms,
        }.get(contract_topic, self.inbound_retention_ms)
        return {
            "cleanup.policy": "delete",
            "retention.ms": str(retention),
            "segment.ms": str(self.segment_ms),
        }


def _integer(key: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise TopicSettingsError(f"{key}={raw!r} is not a whole number") from None


# -- ensure: create what is missing, audit what exists ------------------------------


@dataclass(frozen=True)
class Ensured:
    """What `ensure` did about one topic."""

    topic: str  # as deployed
    created: bool
    verdict: Verdict | None = None  # for a topic that existed already

    configs: Mapping[str, str] | None = None  # as described, for one that existed

    def line(self, settings: TopicSettings, contract_topic: str) -> str:
        if self.created:
            configs = " ".join(
                f"{k}={v}" for k, v in settings.configs(contract_topic).items()
            )
            return (
                f"created     {self.topic} (partitions={settings.partitions} {configs})"
            )
        assert self.verdict is not None
        if not self.verdict.verified:
            return f"UNVERIFIED  {self.topic}: {'; '.join(self.verdict.problems)}"
        if self.verdict.ok:
            return f"ok          {self.topic}"
        label = "TOO SHORT" if contract_topic == LEDGER_TOPIC else "TOO LONG "
        return f"{label}   {self.topic}: {'; '.join(self.verdict.problems)}"

    def keeps(self, settings: TopicSettings, contract_topic: str) -> str:
        """How long the topic keeps what it holds, by the configs it has."""
        configs = settings.configs(contract_topic) if self.created else self.configs
        return "            " + kept_for(contract_topic, configs)


def ensure(
    admin: Any, settings: TopicSettings, policies: Iterable[Policy]
) -> dict[str, Ensured]:
    """Create Lethe's missing topics; audit the configs of those that exist."""
    limits = horizons(policies)
    existing = set(admin.list_topics())
    done: dict[str, Ensured] = {}
    for contract_topic in ALL_TOPICS:
        name = settings.name(contract_topic)
        if name not in existing and _create(admin, settings, contract_topic):
            done[contract_topic] = Ensured(name, created=True)
            continue
        configs = configs_of(_describe(admin, name), name)
        verdict = audit(contract_topic, configs, limits.get(contract_topic))
        done[contract_topic] = Ensured(
            name, created=False, verdict=replace(verdict, topic=name), configs=configs
        )
    return done


# -- before consuming: item topics must be compacted ---------------------------------


class ItemTopicError(RuntimeError):
    """An item topic Lethe must not consume: missing, or not seen to be compacted."""


def check_item_topics(admin: Any, settings: TopicSettings, allow: bool) -> list[str]:
    """Raise ItemTopicError unless all Lethe's topics exist and the item topics
    are compacted.

    Without compaction Lethe's tombstones erase nothing, and the records (subject
    ids in clear) stay as long as the topic's retention: Lethe must not pretend
    otherwise. `allow` (LETHE_ALLOW_UNCOMPACTED_ITEM_TOPICS) lets an operator
    run on anyway, e.g. on a broker that cannot describe configs; the problems
    are then returned, for a warning.
    """
    existing = set(admin.list_topics())
    for contract_topic in ALL_TOPICS:
        name = settings.name(contract_topic)
        if name not in existing:
            # Never allowed: subscribing to or producing to a missing topic makes
            # a broker that auto-creates (Tansu does, whatever the client asks)
            # create it with its defaults: an item topic that never compacts.
            raise ItemTopicError(
                f"topic {name} does not exist; create it with `lethe topics ensure`"
            )
    problems: list[str] = []
    for contract_topic in ITEM_CATEGORIES:
        name = settings.name(contract_topic)
        configs = configs_of(_describe(admin, name), name)
        verdict = audit(contract_topic, configs, None)
        compact = "compact" in (configs or {}).get("cleanup.policy", "")
        if not verdict.verified:
            problems.append(f"{name}: cannot verify that it is compacted")
        elif not compact:
            problems.append(f"{name}: cleanup.policy is not compact")
    if problems and not allow:
        raise ItemTopicError(
            f"{'; '.join(problems)}: Lethe's tombstones would not erase its "
            "records. Fix the topic config (`lethe topics ensure` shows it), or "
            "set LETHE_ALLOW_UNCOMPACTED_ITEM_TOPICS=true to run anyway"
        )
    return problems


def _create(admin: Any, settings: TopicSettings, contract_topic: str) -> bool:
    spec = {
        "num_partitions": settings.partitions,
        "replication_factor": settings.replication_factor,
        "configs": settings.configs(contract_topic),
    }
    try:
        admin.create_topics({settings.name(contract_topic): spec})
    except TopicAlreadyExistsError:
        return False  # created meanwhile by someone else: audit it instead
    return True


def _describe(admin: Any, name: str) -> Mapping[str, Any]:
    resource = ConfigResource(ConfigResourceType.TOPIC, name)
    answer: Mapping[str, Any] = admin.describe_configs([resource], config_filter="all")
    return answer
