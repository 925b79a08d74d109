"""Forgetting end to end: Kafka in, sweep, relay, the reference eraser, confirmed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from kafka import KafkaConsumer, KafkaProducer
from kafka.partitioner.default import murmur2

from lethe.consumers.codec import Catalogue
from lethe.domain import identity
from lethe.domain.application import IngestRecord
from lethe.domain.item import Item, ItemState
from lethe.ops.cli.main import main
from lethe.ops.eraser.files import CONFIRMATIONS_TOPIC, EraserLoop, FileEraser
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.produce import Metadata
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import ORDER_ID_HEADER, ORDERS_TOPIC, Relay
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
from tests.support.ingest import (
    Consuming,
    create_topics,
    lethe_env,
    producer_for,
    read_topic,
)
from tests.support.signing import (
    lethe_key_of,
    signing_as_lethe,
    signing_as_store,
    store_key_file,
)

pytestmark = pytest.mark.integration

IMAGES = "alarm.images.v1"
SUBJECT = "cust-e2e-0001"
CONFIRM_TIMEOUT_S = 1.0


@pytest.fixture(params=["postgres", "sqlite"])
def store_env(
    request: pytest.FixtureRequest, sqlite_env: dict[str, str]
) -> dict[str, str]:
    if request.param == "sqlite":
        return sqlite_env
    return request.getfixturevalue("pg_schema_env")


def lethe_settings(
    store_env: dict[str, str], broker: EmbeddedBroker, topic_name: Callable[..., str]
) -> dict[str, str]:
    settings = lethe_env(
        store_env, broker.bootstrap, topic_name("erase") + ".", topic_name("group")
    )
    settings["LETHE_TOPIC_PARTITIONS"] = "2"
    settings["LETHE_CONFIRM_TIMEOUT_S"] = str(CONFIRM_TIMEOUT_S)
    create_topics(settings)
    return settings


class World:
    """Lethe (consumers, schedule, sweeper, relay) and one image store's eraser."""

    def __init__(self, env: dict[str, str], root: Path) -> None:
        self.env, self.root = env, root
        self.consuming = Consuming(env)
        self.runtime: Runtime = build_runtime(Settings.from_env(env))
        self.topics = TopicSettings.from_env(env)
        kafka = KafkaClientSettings.from_mapping(env)
        self.producer = signing_as_store(  # the eraser's
            env, KafkaProducer(**kafka.producer_config()), "images"
        )
        self.relay_producer = signing_as_lethe(
            env, RdKafkaProducer(kafka.rdkafka_producer_config())
        )
        self.relay = Relay(
            self.runtime.app,
            self.relay_producer,
            Catalogue.shipped(),
            orders_topic=self.topics.name(ORDERS_TOPIC),
        )
        self.eraser_consumer = KafkaConsumer(
            **kafka.consumer_config(f"eraser-{self.topics.prefix}")
        )
        self.eraser_consumer.subscribe([self.topics.name(ORDERS_TOPIC)])
        self.eraser = EraserLoop(
            self.eraser_consumer,
            self.producer,
            Catalogue.shipped(),
            FileEraser(root, "images"),
            self.topics.name(CONFIRMATIONS_TOPIC),
            lethe_key=lethe_key_of(env),
        )

    def publish_image(
        self,
        item_id: str,
        content: bytes,
        sha: str,
        police: bool = False,
        captured: datetime | None = None,
    ) -> Path:
        path = self.root / "images" / f"{item_id}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        captured = captured or datetime.now(UTC) - timedelta(minutes=1)
        meta = Metadata(
            "sector-alarm",
            "verification-image",
            SUBJECT,
            captured,
            police_relevant=police,
        )
        value = {
            "item_id": item_id,
            "alarm_item_id": None,
            "blob_uri": path.as_uri(),
            "sha256": sha,
            "content_type": "image/jpeg",
            "size_bytes": len(content),
            "metadata": asdict(meta),
        }
        with producer_for(self.env) as producer:
            key, data = producer.encode(IMAGES, value)
            # Not where a murmur2 partitioner would put it: a pipeline on librdkafka
            # (CRC32) does that, and the tombstone must follow the record anyway.
            partition = 1 - (murmur2(key) & 0x7FFFFFFF) % 2
            topic = self.topics.name(IMAGES)
            producer.producer.send(topic, key=key, value=data, partition=partition)
        self.consuming.run_until(lambda: self.item(item_id) is not None)
        return path

    def item(self, item_id: str) -> Item | None:
        return self.consuming.app.find_item(item_id)

    def get(self, item_id: str) -> Item:
        return self.consuming.app.get_item(item_id)

    def sweep(self, now: datetime) -> Any:
        self.runtime.catch_up()
        report = self.runtime.sweeper.sweep(now)
        self.runtime.catch_up()
        return report

    def erase_and_confirm(
        self, item_id: str, state: ItemState, orders: int = 1
    ) -> None:
        """Relay; the eraser answers; Lethe takes answers until the item is `state`;
        relay again (an erasure's tombstone goes out after the store's answer)."""
        assert self.relay.relay_pending() == orders
        self.answer_until(item_id, state)
        self.relay.relay_pending()

    def answer_until(self, item_id: str, state: ItemState) -> None:
        deadline = time.monotonic() + 60
        while not self._in(item_id, state):
            assert time.monotonic() < deadline, f"{item_id} never became {state}"
            self.eraser.run_once(timeout_ms=200)
            self.consuming.loop.run_once(timeout_ms=200)

    def _in(self, item_id: str, state: ItemState) -> bool:
        item = self.item(item_id)
        return item is not None and item.state == state

    def close(self) -> None:
        self.consuming.close()
        self.eraser_consumer.close(autocommit=False)
        self.relay_producer.close()
        self.producer.close()


@pytest.fixture
def world(
    store_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> Iterator[World]:
    env = lethe_settings(store_env, broker, topic_name)
    running = World(env, tmp_path / "image-store")
    yield running
    running.close()


@pytest.fixture
def pg_world(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> Iterator[World]:
    env = lethe_settings(pg_schema_env, broker, topic_name)
    running = World(env, tmp_path / "image-store")
    yield running
    running.close()


def image_bytes(name: str) -> tuple[bytes, str]:
    content = hashlib.sha256(name.encode()).digest() * 16  # synthetic, never real media
    return content, hashlib.sha256(content).hexdigest()


def records_for(
    world: World, contract_topic: str, key: str, at_least: int
) -> list[Any]:
    found = read_topic(
        world.env["LETHE_KAFKA_BOOTSTRAP"],
        world.topics.name(contract_topic),
        at_least=at_least,
        settle=0.5,
    )
    return [r for r in found if r.key == key.encode()]


def orders_for(world: World, item_id: str, at_least: int) -> list[dict[str, Any]]:
    catalogue = Catalogue.shipped()
    records = records_for(world, ORDERS_TOPIC, item_id, at_least)
    return [catalogue.decode_as(r.value, "ErasureOrder") for r in records]


def test_a_verification_image_is_forgotten_after_7_days_and_with_police_after_30(
    world: World,
) -> None:
    plain, plain_sha = image_bytes("plain")
    police, police_sha = image_bytes("police")
    plain_path = world.publish_image("img-plain", plain, plain_sha)
    police_path = world.publish_image("img-police", police, police_sha, police=True)
    captured = world.get("img-plain").captured_at

    assert world.sweep(captured + timedelta(days=6, hours=23)).ordered == 0
    assert world.sweep(captured + timedelta(days=7)).ordered == 1
    assert world.get("img-police").state == ItemState.SCHEDULED
    world.erase_and_confirm("img-plain", ItemState.ERASED)

    assert not plain_path.exists() and police_path.exists()
    [published, *tombstones] = records_for(world, IMAGES, "img-plain", 3)
    assert [t.value for t in tombstones] == [None]
    assert {t.partition for t in tombstones} == {published.partition}
    digest = world.get("img-plain").content_digest
    order_id = identity.order_id("img-plain", "RETENTION_EXPIRED", digest)
    assert [dict(t.headers)[ORDER_ID_HEADER] for t in tombstones] == [order_id.encode()]
    [order] = orders_for(world, "img-plain", 1)
    assert (order["order_id"], order["reason"], order["attempt"]) == (
        order_id,
        "RETENTION_EXPIRED",
        1,
    )
    assert (order["blob_uri"], order["sha256"]) == (plain_path.as_uri(), plain_sha)

    police_captured = world.get("img-police").captured_at
    assert world.sweep(police_captured + timedelta(days=29, hours=23)).ordered == 0
    report = world.sweep(police_captured + timedelta(days=30))
    assert (report.ordered, report.reissued) == (1, 0)
    world.erase_and_confirm("img-police", ItemState.ERASED)
    assert not police_path.exists()
    assert [r.value for r in records_for(world, IMAGES, "img-police", 4)][-1] is None


def test_a_sha256_mismatch_keeps_the_file_and_the_order_is_sent_again(
    pg_world: World,
) -> None:
    world = pg_world
    content, _ = image_bytes("tampered")
    _, expected_sha = image_bytes("original")
    path = world.publish_image("img-odd", content, expected_sha)
    ordered_at = world.get("img-odd").captured_at + timedelta(days=7)
    assert world.sweep(ordered_at).ordered == 1

    world.erase_and_confirm("img-odd", ItemState.ERASURE_FAILED)
    assert path.read_bytes() == content  # nothing deleted

    timeout = timedelta(seconds=CONFIRM_TIMEOUT_S)
    assert world.sweep(ordered_at + timeout / 2).reissued == 0
    assert world.sweep(ordered_at + timeout).reissued == 1
    world.erase_and_confirm("img-odd", ItemState.ERASURE_FAILED)  # the same answer
    first, again = orders_for(world, "img-odd", 2)
    assert (again["order_id"], again["attempt"]) == (first["order_id"], 2)
    assert path.read_bytes() == content

    # The store puts the right bytes back; the next re-send, after a doubled wait,
    # finds them and deletes.
    path.write_bytes(image_bytes("original")[0])
    assert world.sweep(ordered_at + timeout * 2.5).reissued == 0
    assert world.sweep(ordered_at + timeout * 3).reissued == 1
    world.erase_and_confirm("img-odd", ItemState.ERASED)
    assert not path.exists()
    assert [o["attempt"] for o in orders_for(world, "img-odd", 3)] == [1, 2, 3]


def test_lethe_sweep_and_lethe_eraser_as_commands(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    env = lethe_settings(pg_schema_env, broker, topic_name)
    root = tmp_path / "image-store"
    content, sha = image_bytes("cli")
    (root / "images").mkdir(parents=True)
    (root / "images" / "img-cli.jpg").write_bytes(content)
    captured = datetime.now(UTC).replace(microsecond=0) - timedelta(days=8)
    runtime = build_runtime(Settings.from_env(env))
    record = IngestRecord(
        item_ref="img-cli",
        kind="VerificationImage",
        source_topic=TopicSettings.from_env(env).name(IMAGES),
        source_partition=0,
        source_offset=0,
        controller="sector-alarm",
        category="verification-image",
        subject_id=SUBJECT,
        captured_at=captured,
        blob_uri=(root / "images" / "img-cli.jpg").as_uri(),
        sha256=sha,
        content=b"img-cli",
    )
    runtime.app.ingest([record], at=captured + timedelta(minutes=1))

    swept = CliRunner().invoke(main, ["sweep"], env=env)
    assert swept.exit_code == 0, swept.output
    assert "ordered   1" in swept.output and "relayed   1 (orders" in swept.output

    eraser = subprocess.run(
        [sys.executable, "-c", "from lethe.ops.cli.main import main; main()", "eraser",
         "--root", str(root), "--store", "images", "--exit-when-idle", "3",
         "--key", str(store_key_file("images", tmp_path)),
         "--lethe-public-key", env["LETHE_SIGNING_KEY_FILE"] + ".pub"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert eraser.returncode == 0, eraser.stderr
    assert not (root / "images" / "img-cli.jpg").exists()
    catalogue = Catalogue.shipped()
    topic = TopicSettings.from_env(env).name(CONFIRMATIONS_TOPIC)
    [answer] = read_topic(env["LETHE_KAFKA_BOOTSTRAP"], topic, 1)
    confirmation = catalogue.decode_as(answer.value, "ErasureConfirmation")
    assert (confirmation["item_id"], confirmation["outcome"]) == ("img-cli", "DELETED")
