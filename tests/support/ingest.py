"""Test support for Kafka in: LETHE_* settings, an in-process consumer, readers."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eventsourcing.utils import get_topic
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from lethe.consumers.batch import tracking_name
from lethe.domain.application import Lethe
from lethe.domain.item import Item
from lethe.ops.kafka.offsets import BrokerOffsets
from lethe.ops.kafka.produce import LetheProducer, Metadata
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.signing import public_raw, write_key_pair
from lethe.ops.kafka.topics import TopicSettings, ensure
from lethe.ops.runtime.bootstrap import build_app, shipped_policies
from lethe.ops.runtime.run import RunConfig, build_loop
from lethe.ops.runtime.signers import SignerStore
from lethe.ops.settings import Settings
from lethe.projections.store import SqlViews
from tests.support.postgres import OUTSIDE_KEYS
from tests.support.signing import TEST_KEYRING, TRIAL_SIGNATORIES
from tests.support.subjects import used, used_in

INGESTED = get_topic(Item.Ingested)
SHA = "ab" * 32


def signing_key_file() -> str:
    """A fresh Lethe signing key outside any store (its .pub beside it)."""
    path = Path(tempfile.mkdtemp(prefix="lethe-key-")) / "lethe-signing.key"
    write_key_pair(path)
    return str(path)


_REGISTERED: set[tuple[str, ...]] = set()
# What names a store: each test has its own file, database or schema.
_STORE_NAMES = (
    "LETHE_STORE",
    "LETHE_SQLITE_PATH",
    "LETHE_POSTGRES_DBNAME",
    "LETHE_POSTGRES_SCHEMA",
)


def register_trial_signers(env: dict[str, str]) -> None:
    """The trial keys registered with the store of `env` (once each, and once
    per test process: a race test must not wait for a store to open)."""
    store = tuple(env.get(name, "") for name in _STORE_NAMES)
    if store in _REGISTERED:
        return
    app = build_app(Settings.from_env(env))
    try:
        store = SignerStore(SqlViews(app.process_recorder))
        known = {info.signatory.key_id for info in store.list()}
        for trial in TRIAL_SIGNATORIES:
            if trial.key_id not in known:
                raw = public_raw(trial.public_key)
                store.add(trial.name, trial.role, raw, "tests", datetime.now(UTC))
    finally:
        app.close()
    _REGISTERED.add(store)


def lethe_env(
    store_env: dict[str, str], bootstrap: str, prefix: str, group: str
) -> dict[str, str]:
    """LETHE_* variables for conftest's eventsourcing settings of one store."""
    if store_env["PERSISTENCE_MODULE"].endswith("postgres"):
        env = {
            "LETHE_STORE": "postgres",
            "LETHE_POSTGRES_DBNAME": store_env["POSTGRES_DBNAME"],
            "LETHE_POSTGRES_HOST": store_env["POSTGRES_HOST"],
            "LETHE_POSTGRES_PORT": store_env["POSTGRES_PORT"],
            "LETHE_POSTGRES_USER": store_env["POSTGRES_USER"],
            "LETHE_POSTGRES_SCHEMA": store_env.get("POSTGRES_SCHEMA", ""),
            **OUTSIDE_KEYS,
        }
    else:
        env = {"LETHE_STORE": "sqlite", "LETHE_SQLITE_PATH": store_env["SQLITE_DBNAME"]}
    return {
        **env,
        "LETHE_KAFKA_BOOTSTRAP": bootstrap,
        "LETHE_TOPIC_PREFIX": prefix,
        "LETHE_GROUP_ID": group,
        "LETHE_SWEEP_INTERVAL_S": "1",
        "LETHE_SIGNING_KEY_FILE": signing_key_file(),
    }


def create_topics(env: dict[str, str]) -> TopicSettings:
    kafka = KafkaClientSettings.from_mapping(env)
    topics = TopicSettings.from_env(env)
    admin = KafkaAdminClient(**kafka.admin_config())
    try:
        ensure(admin, topics, shipped_policies().values())
    finally:
        admin.close()
    return topics


def metadata(
    subject: str,
    category: str,
    ago: timedelta = timedelta(minutes=5),
    controller: str = "sector-alarm",
) -> Metadata:
    used(subject)
    return Metadata(controller, category, subject, datetime.now(UTC) - ago)


class Consuming:
    """The consume loop of `lethe run`, driven poll by poll from the test."""

    def __init__(self, env: dict[str, str]) -> None:
        register_trial_signers(env)
        self.config = RunConfig.from_env(Settings.from_env(env))
        self.app = build_app(self.config.settings)
        kafka = self.config.kafka
        self.consumer = KafkaConsumer(
            **kafka.consumer_config(self.config.settings.group_id)
        )
        self.producer = KafkaProducer(**kafka.producer_config())
        self.offsets = BrokerOffsets(kafka.consumer_config())
        self.loop = build_loop(
            self.config, self.app, self.consumer, self.producer, offsets=self.offsets
        )
        self.loop.subscribe()

    def name(self, contract_topic: str) -> str:
        return self.config.topics.name(contract_topic)

    def tracked(self, contract_topic: str, partition: int = 0) -> int | None:
        name = tracking_name(self.name(contract_topic), partition)
        return self.app.process_recorder.max_tracking_id(name)

    def run_until(self, done: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "the consumer did not get there in time"
            self.loop.run_once(timeout_ms=200)

    def take_through(
        self, contract_topic: str, offset: int, partition: int = 0
    ) -> None:
        """Poll until the store has taken the topic's records up to `offset`."""

        def done() -> bool:
            tracked = self.tracked(contract_topic, partition)
            return tracked is not None and tracked >= offset

        self.run_until(done)

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.offsets.close()
        self.producer.close()


class _RecordingProducer(LetheProducer):
    """LetheProducer that records the subject id of every value it encodes
    (send, send_command and send_lifecycle all encode), for the leak scan."""

    def encode(
        self, contract_topic: str, value: Mapping[str, Any]
    ) -> tuple[bytes, bytes]:
        used_in(value)
        return super().encode(contract_topic, value)


def producer_for(env: dict[str, str]) -> LetheProducer:
    """A producer signing with the trial keys, registered in the env's store."""
    register_trial_signers(env)
    return _RecordingProducer(
        KafkaClientSettings.from_mapping(env),
        TopicSettings.from_env(env),
        keyring=TEST_KEYRING,
    )


def read_topic(
    bootstrap: str,
    topic: str,
    at_least: int,
    timeout: float = 30.0,
    settle: float = 0.0,
) -> list[Any]:
    """Records of every partition from the beginning: until `at_least` arrived, then
    for `settle` seconds more (the broker's end offsets cannot be trusted)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    partitions = consumer.partitions_for_topic(topic) or {0}
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
    consumer.seek_to_beginning()
    found: list[Any] = []
    deadline = time.monotonic() + timeout
    settled: float | None = None
    while time.monotonic() < (settled or deadline):
        for records in consumer.poll(timeout_ms=200).values():
            found.extend(records)
        if settled is None and len(found) >= at_least:
            settled = time.monotonic() + settle
    consumer.close()
    return found


def ingested(app: Lethe) -> tuple[int, int]:
    """(Item.Ingested events, distinct items) in the store."""
    table = app.process_recorder.events_table_name  # type: ignore[attr-defined]
    rows = SqlViews(app.process_recorder).query(
        f"SELECT COUNT(*) AS events, COUNT(DISTINCT originator_id) AS items"
        f" FROM {table} WHERE topic = ?",
        (INGESTED,),
    )
    return int(rows[0][0]), int(rows[0][1])


def one_partition_env(
    base_env: dict[str, str], bootstrap: str, topic_prefix: str, group: str
) -> dict[str, str]:
    """Lethe's settings for a test of its own: one partition a topic, created."""
    settings = lethe_env(base_env, bootstrap, topic_prefix, group)
    settings["LETHE_TOPIC_PARTITIONS"] = "1"
    create_topics(settings)
    return settings
