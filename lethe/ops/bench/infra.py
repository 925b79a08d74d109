"""What every figure needs: the broker, fresh databases, settings, topics."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka import KafkaAdminClient
from psycopg import sql

from lethe.consumers.signatures import Signer
from lethe.domain.application import Lethe
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import TRACKING_NAME as RELAY_TRACKING
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.signing import SigningProducer, write_key_pair
from lethe.ops.kafka.topics import TopicSettings, ensure
from lethe.ops.runtime.bootstrap import build_app, shipped_policies
from lethe.ops.runtime.lethe_key import signing_orders
from lethe.ops.settings import Settings

PSEUDONYM_KEY = "5e" * 32  # a fixed bench key: pseudonyms agree across processes
KEK = "6f" * 32  # the bench's key-encryption key, likewise
MAX_POLL_RECORDS = 2000  # per poll: the batch the consume loop saves per partition


@dataclass(frozen=True)
class BenchContext:
    """The broker and the PostgreSQL server a bench run uses."""

    bootstrap: str
    settings: Settings  # PostgreSQL, no database chosen yet

    @property
    def kafka(self) -> KafkaClientSettings:
        return KafkaClientSettings(
            bootstrap=self.bootstrap,
            client_id="lethe-bench",
            max_poll_records=MAX_POLL_RECORDS,
        )

    @contextmanager
    def database(self) -> Iterator[Settings]:
        """A fresh database, dropped afterwards."""
        with fresh_database(self.settings, keep=False) as settings:
            yield settings

    @contextmanager
    def copy_of(self, template: str) -> Iterator[Settings]:
        """A new database copied from `template` (which must have no sessions)."""
        name = f"lethe_bench_{uuid.uuid4().hex[:8]}"
        with admin(self.settings) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        try:
            yield replace(self.settings, postgres_dbname=name)
        finally:
            drop(self.settings, name)

    def topics(self, partitions: int) -> TopicSettings:
        """A fresh set of Lethe's topics under a prefix of their own."""
        topics = TopicSettings(
            prefix=f"bench{uuid.uuid4().hex[:6]}.", partitions=partitions
        )
        return ensure_topics(self.kafka, topics)

    def contract_topics(self) -> TopicSettings:
        """Lethe's topics under their contract names, made if missing.

        The sweep and erasure benches relay to them; nothing auto-creates a
        topic for Lethe (lethe/ops/kafka/settings.py).
        """
        topics = TopicSettings()
        return ensure_topics(self.kafka, topics)

    def env(self, settings: Settings, topics: TopicSettings) -> dict[str, str]:
        """LETHE_* variables for a `lethe run` on this database and these topics."""
        return {
            **store_env(settings),
            "LETHE_SIGNING_KEY_FILE": bench_key_file(),
            "LETHE_KAFKA_BOOTSTRAP": self.bootstrap,
            "LETHE_KAFKA_MAX_POLL_RECORDS": str(MAX_POLL_RECORDS),
            "LETHE_TOPIC_PREFIX": topics.prefix,
            "LETHE_TOPIC_PARTITIONS": str(topics.partitions),
            "LETHE_GROUP_ID": f"bench-{uuid.uuid4().hex[:8]}",
        }


def store_env(settings: Settings) -> dict[str, str]:
    """LETHE_* variables for a process of the bench's own on this database."""
    return {
        "LETHE_STORE": "postgres",
        "LETHE_POSTGRES_HOST": settings.postgres_host,
        "LETHE_POSTGRES_PORT": str(settings.postgres_port),
        "LETHE_POSTGRES_USER": settings.postgres_user,
        "LETHE_POSTGRES_PASSWORD": settings.postgres_password,
        "LETHE_POSTGRES_DBNAME": settings.postgres_dbname,
        "LETHE_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "LETHE_KEK": KEK,
    }


def base_settings() -> Settings:
    """PostgreSQL on LETHE_POSTGRES_* (default 127.0.0.1:5432, user postgres)."""
    env = {k: v for k, v in os.environ.items() if k.startswith("LETHE_POSTGRES_")}
    env |= {
        "LETHE_STORE": "postgres",
        "LETHE_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "LETHE_KEK": KEK,
    }
    return Settings.from_env(env)


@contextmanager
def admin(settings: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        yield conn


@contextmanager
def fresh_database(settings: Settings, keep: bool) -> Iterator[Settings]:
    """A database of the bench's own on the configured server, dropped after."""
    name = f"lethe_bench_{uuid.uuid4().hex[:8]}"
    with admin(settings) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield replace(settings, store="postgres", postgres_dbname=name)
    finally:
        if not keep:
            with admin(settings) as conn:
                drop = sql.SQL("DROP DATABASE {} WITH (FORCE)")
                conn.execute(drop.format(sql.Identifier(name)))


def drop(settings: Settings, name: str) -> None:
    with admin(settings) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def events_table(settings: Settings) -> str:
    """The name eventsourcing gives the application's events table."""
    app = build_app(settings)
    try:
        return str(app.process_recorder.events_table_name)  # type: ignore[attr-defined]
    finally:
        app.close()


def connect(settings: Settings) -> psycopg.Connection:
    """An autocommit connection to the settings' database."""
    return psycopg.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password,
        dbname=settings.postgres_dbname,
        autocommit=True,
    )


class Stopwatch:
    """Wall and CPU seconds of this process since construction."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def split(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


# Orders are signed as `lethe run` signs them, so the relay figures include it;
# a key of the bench's own, since nothing here verifies them.
BENCH_SIGNER = Signer("lethe-bench", Ed25519PrivateKey.generate())


@cache
def bench_key_file() -> str:
    """A signing key for the bench's `lethe run`s, made once per bench."""
    path = Path(tempfile.mkdtemp(prefix="lethe-bench-key-")) / "lethe-signing.key"
    write_key_pair(path)
    return str(path)


def ensure_topics(
    kafka: KafkaClientSettings, topics: TopicSettings | None = None
) -> TopicSettings:
    """Make Lethe's topics (the contract names by default) where missing: the
    relay's producer creates none (lethe/ops/kafka/settings.py)."""
    topics = TopicSettings() if topics is None else topics
    client = KafkaAdminClient(**kafka.admin_config())
    try:
        ensure(client, topics, shipped_policies().values())
    finally:
        client.close()
    return topics


def relay_position(app: Lethe) -> int:
    """How far the relay has sent the log, every record acknowledged."""
    return app.process_recorder.max_tracking_id(RELAY_TRACKING) or 0


def relay_producer(kafka: KafkaClientSettings) -> SigningProducer:
    """The relay's librdkafka producer, signing orders as Lethe does."""
    return signing_orders(
        RdKafkaProducer(kafka.rdkafka_producer_config()), BENCH_SIGNER, TopicSettings()
    )
