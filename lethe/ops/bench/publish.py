"""The workload on the wire: a national ARC's day, as Avro records via the broker."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lethe.consumers.codec import Catalogue
from lethe.consumers.records import KIND_BY_TOPIC
from lethe.ops.demo.workload import DayShape, synthetic_day
from lethe.ops.kafka.produce import LetheProducer, encode
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.topics import TopicSettings

OSLO = ZoneInfo("Europe/Oslo")
ITEMS_PER_CUSTOMER = 3.5  # a day yields ~3.7 (armings, alarms, images, calls)


@dataclass(frozen=True)
class Published:
    """What is on the topics: records per contract topic."""

    topics: TopicSettings
    counts: dict[str, int]
    seconds: float

    @property
    def items(self) -> int:
        return sum(n for t, n in self.counts.items() if KIND_BY_TOPIC[t].is_item)

    @property
    def records(self) -> int:
        return sum(self.counts.values())


def bench_shape(items: int, seed: int = 11) -> DayShape:
    """A day of about `items` items, with the trickle of holds and erasure requests."""
    return DayShape(
        customers=max(1, int(items / ITEMS_PER_CUSTOMER)),
        police_hold_probability=0.05,
        erasure_request_probability=0.001,
        seed=seed,
    )


def yesterday() -> datetime:
    """Local midnight of yesterday: every record captured in the past."""
    today = datetime.now(OSLO).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1)


Encoded = tuple[str, bytes, bytes]  # contract topic, key, value


def encode_day(items: int) -> list[Encoded]:
    """A synthetic day until `items` items (its changes too), Avro-encoded."""
    catalogue, out, sent_items = Catalogue.shipped(), [], 0
    for record in synthetic_day(yesterday(), bench_shape(items)):
        is_item = KIND_BY_TOPIC[record.topic].is_item
        if is_item and sent_items >= items:
            continue  # the day's tail of items; its changes still go
        out.append((record.topic, *encode(catalogue, record.topic, record.value)))
        sent_items += is_item
    return out


def send(
    kafka: KafkaClientSettings, topics: TopicSettings, encoded: list[Encoded]
) -> Published:
    """Send encoded records and wait for every acknowledgement."""
    started = time.perf_counter()
    with LetheProducer(kafka, topics) as producer:
        for topic, key, value in encoded:
            producer.send_encoded(topic, key, value)
    counts = Counter(topic for topic, _, _ in encoded)
    return Published(topics, dict(counts), time.perf_counter() - started)
