"""The relay's librdkafka producer against the real broker: acknowledged or not."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.partitioner.default import murmur2

from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.settings import KafkaClientSettings
from tests.support.ingest import read_topic

pytestmark = pytest.mark.integration

PARTITIONS = 3
UNREACHABLE = "127.0.0.1:9"  # discard: nothing listens there


@pytest.fixture
def topic(kafka: KafkaClientSettings, topic_name: Callable[..., str]) -> str:
    name = topic_name("rdkafka")
    admin = KafkaAdminClient(**kafka.admin_config())
    try:
        admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        admin.close()
    return name


@pytest.fixture
def producer(kafka: KafkaClientSettings) -> Iterator[RdKafkaProducer]:
    running = RdKafkaProducer(kafka.rdkafka_producer_config())
    yield running
    running.close()


def test_every_record_is_acknowledged_and_lands_where_kafka_python_puts_it(
    producer: RdKafkaProducer, kafka: KafkaClientSettings, topic: str
) -> None:
    keys = [f"item-{i:03d}".encode() for i in range(200)]
    deliveries = [
        producer.send(topic, value=None, key=key, headers=[("lethe.order-id", key)])
        for key in keys
    ]
    assert producer.flush(timeout=30) == 0
    assert all(d.is_done and not d.failed() for d in deliveries)

    records = read_topic(kafka.bootstrap, topic, len(keys), settle=0.5)
    assert sorted(r.key for r in records) == keys
    for record in records:
        assert record.value is None
        assert dict(record.headers) == {"lethe.order-id": record.key}
        # murmur2 as kafka-python and Java: an item's orders keep their partition.
        assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % PARTITIONS


def test_a_full_local_queue_is_waited_out_not_dropped(
    kafka: KafkaClientSettings, topic: str
) -> None:
    tiny = {**kafka.rdkafka_producer_config(), "queue.buffering.max.messages": 10}
    producer = RdKafkaProducer(tiny)
    try:
        deliveries = [
            producer.send(topic, value=b"v", key=b"k", partition=0) for _ in range(300)
        ]
        assert producer.flush(timeout=30) == 0
    finally:
        producer.close()
    assert all(d.is_done and not d.failed() for d in deliveries)
    assert len(read_topic(kafka.bootstrap, topic, 300, settle=0.5)) == 300


def test_a_partition_the_topic_lacks_fails_the_record(
    producer: RdKafkaProducer, topic: str
) -> None:
    good = producer.send(topic, value=b"v", key=b"k", partition=0)
    # Before the topic's metadata arrives librdkafka queues it, then reports it.
    late = producer.send(topic, value=b"v", key=b"k", partition=PARTITIONS + 4)
    producer.flush(timeout=30)
    # After, produce() itself refuses it.
    early = producer.send(topic, value=b"v", key=b"k", partition=PARTITIONS + 4)
    producer.flush(timeout=30)
    assert good.is_done and not good.failed()
    for bad in (late, early):
        assert bad.is_done and bad.failed()
        assert "Unknown partition" in str(bad.exception)


def test_a_record_unacknowledged_by_the_timeout_is_not_done() -> None:
    settings = KafkaClientSettings(bootstrap=UNREACHABLE)
    producer = RdKafkaProducer(settings.rdkafka_producer_config())
    delivery = producer.send("anything", value=b"v", key=b"k")
    assert producer.flush(timeout=1.0) == 1
    assert not delivery.is_done and not delivery.failed()
    started = time.monotonic()
    producer.close(timeout=0.5)
    assert time.monotonic() - started < 5  # close gives up on what it cannot send
    producer.close()  # and a second close is harmless
