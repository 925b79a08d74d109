"""Facts about the embedded Tansu broker that Lethe's design depends on."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import (
    ConsumerRebalanceListener,
    KafkaAdminClient,
    KafkaConsumer,
    KafkaProducer,
    TopicPartition,
)
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from lethe.ops.kafka.broker import BrokerStartError, EmbeddedBroker
from lethe.ops.kafka.settings import KafkaClientSettings
from tests.support.kafka_wire import RawClient

pytestmark = pytest.mark.integration

DUPLICATE_SEQUENCE_NUMBER = 46
OUT_OF_ORDER_SEQUENCE_NUMBER = 45


@pytest.fixture
def admin(kafka: KafkaClientSettings) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(**kafka.admin_config())
    yield client
    client.close()


@pytest.fixture
def producer(kafka: KafkaClientSettings) -> Iterator[KafkaProducer]:
    client = KafkaProducer(**kafka.producer_config())
    yield client
    client.close()


@pytest.fixture
def new_topic(
    admin: KafkaAdminClient, topic_name: Callable[..., str]
) -> Callable[..., str]:
    def create(partitions: int = 1, configs: dict[str, str] | None = None) -> str:
        name = topic_name("broker-fact")
        admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs)])
        return name

    return create


def drain(consumer: KafkaConsumer, count: int, timeout: float = 15.0) -> list[Any]:
    """Poll until `count` records came (end offsets trail here: count, not trust)."""
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(records) < count and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    return records


def read_all(kafka: KafkaClientSettings, topic: str, count: int) -> list[Any]:
    """Up to `count` records of partition 0, read without a group."""
    consumer = KafkaConsumer(**kafka.consumer_config())
    consumer.assign([TopicPartition(topic, 0)])
    try:
        return drain(consumer, count)
    finally:
        consumer.close()


def test_records_keep_their_headers(kafka, producer, new_topic):
    topic = new_topic()
    headers = [("lethe.reason", b"no schema"), ("lethe.offset", b"42")]
    producer.send(topic, key=b"item-1", value=b"body", headers=headers).get(10)

    [record] = read_all(kafka, topic, 1)

    assert (record.key, record.value, record.headers) == (b"item-1", b"body", headers)


def test_a_tombstone_arrives_as_none_with_its_key(kafka, producer, new_topic):
    topic = new_topic(configs={"cleanup.policy": "compact"})
    producer.send(topic, key=b"item-1", value=b"body")
    producer.send(topic, key=b"item-1", value=None).get(10)

    records = read_all(kafka, topic, 2)

    # Nothing is compacted away: a consumer sees every version of a key.
    versions = [(r.key, r.value) for r in records]
    assert versions == [(b"item-1", b"body"), (b"item-1", None)]


def test_topics_are_created_with_compaction_configs(admin, new_topic):
    configs = {"cleanup.policy": "compact", "max.compaction.lag.ms": "86400000"}
    topic = new_topic(partitions=4, configs=configs)

    [described] = admin.describe_topics([topic])

    assert len(described["partitions"]) == 4


def test_describe_configs_answers_with_no_entries(admin, new_topic):
    # So the topic-config audit is tested on recorded answers, not on this broker.
    topic = new_topic(configs={"cleanup.policy": "compact"})

    answer = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])

    assert answer == {"topic": {topic: {}}}


def test_two_members_of_a_group_split_four_partitions_and_get_every_record_once(
    kafka, producer, new_topic, topic_name
):
    topic, group = new_topic(partitions=4), topic_name("group")
    members = [_Member(kafka, topic, group) for _ in range(2)]
    for member in members:
        member.start()
    try:
        _wait(lambda: all(m.assignment for m in members), "both members assigned")
        for i in range(200):
            producer.send(topic, key=f"item-{i}".encode(), value=str(i).encode())
        producer.flush()
        _wait(lambda: sum(len(m.values) for m in members) >= 200, "200 records")
    finally:
        for member in members:
            member.stop()

    first, second = (m.assignment for m in members)
    assert first.isdisjoint(second) and len(first | second) == 4
    received = members[0].values + members[1].values
    assert sorted(received) == sorted(str(i).encode() for i in range(200))


def test_a_member_seeks_to_a_recorded_offset_when_assigned(kafka, producer, new_topic):
    topic = new_topic()
    for i in range(10):
        producer.send(topic, value=str(i).encode())
    producer.flush()
    consumer = KafkaConsumer(**kafka.consumer_config(group_id=f"{topic}.seek"))

    class SeekToRecorded(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked: Any) -> None:
            pass

        def on_partitions_assigned(self, assigned: Any) -> None:
            for partition in assigned:
                consumer.seek(partition, 6)  # recorded offset 5, plus one

    consumer.subscribe([topic], listener=SeekToRecorded())
    records = drain(consumer, 4, timeout=20)
    consumer.close()

    assert [r.offset for r in records] == [6, 7, 8, 9]
    assert [r.value for r in records] == [b"6", b"7", b"8", b"9"]


def test_the_idempotent_producer_works(kafka, producer, new_topic):
    topic = new_topic()
    futures = [producer.send(topic, value=str(i).encode()) for i in range(50)]

    offsets = [future.get(10).offset for future in futures]

    # kafka-python silently falls back to non-idempotent on brokers it deems old.
    assert producer.config["enable_idempotence"] is True
    assert offsets == list(range(50))
    assert len(read_all(kafka, topic, 50)) == 50


def test_the_broker_drops_a_resent_batch(kafka, broker, producer, new_topic):
    topic = new_topic()
    raw = RawClient(broker.bootstrap)
    try:
        producer_id = raw.init_producer_id()
        first = raw.produce_sequenced(topic, producer_id, 0, b"order-1")
        resent = raw.produce_sequenced(topic, producer_id, 0, b"order-1")
        gap = raw.produce_sequenced(topic, producer_id, 5, b"order-5")
    finally:
        raw.close()

    assert (first, resent, gap) == (
        0,
        DUPLICATE_SEQUENCE_NUMBER,
        OUT_OF_ORDER_SEQUENCE_NUMBER,
    )
    producer.send(topic, value=b"end").get(10)
    assert [r.value for r in read_all(kafka, topic, 2)] == [b"order-1", b"end"]


def test_settings_from_the_environment_reach_the_broker(broker, new_topic):
    env = {"LETHE_KAFKA_BOOTSTRAP": broker.bootstrap, "LETHE_KAFKA_CLIENT_ID": "env"}
    settings = KafkaClientSettings.from_mapping(env)
    topic = new_topic()
    with_producer = KafkaProducer(**settings.producer_config())
    with_producer.send(topic, value=b"x").get(10)
    with_producer.close()

    assert len(read_all(settings, topic, 1)) == 1


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_the_broker_dies_with_the_process_that_started_it():
    starter = (
        "from lethe.ops.kafka.broker import EmbeddedBroker; import time; "
        "b = EmbeddedBroker().start(); print(b.pid, flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", starter], stdout=subprocess.PIPE, text=True
    )
    broker_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()

    _wait(lambda: not _alive(broker_pid), "the orphaned broker to die", timeout=5)


def test_a_broker_that_cannot_start_fails_with_its_log(tmp_path):
    binary = tmp_path / "broken-broker"
    binary.write_text("#!/bin/sh\necho 'cannot open storage' >&2\nexit 3\n")
    binary.chmod(0o755)

    with pytest.raises(BrokerStartError, match="cannot open storage"):
        EmbeddedBroker(binary=str(binary), log_path=tmp_path / "log").start()


class _Member(threading.Thread):
    """One group member polling in its own thread, as a separate process would."""

    def __init__(self, kafka: KafkaClientSettings, topic: str, group: str) -> None:
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(topic, **kafka.consumer_config(group_id=group))
        self.assignment: set[int] = set()
        self.values: list[bytes] = []
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.is_set():
            for batch in self.consumer.poll(timeout_ms=200).values():
                self.values.extend(r.value for r in batch)
            self.assignment = {tp.partition for tp in self.consumer.assignment()}
        self.consumer.close()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=15)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie is dead; only its exit status waits to be reaped
