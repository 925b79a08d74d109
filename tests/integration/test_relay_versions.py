"""The relay sends an order of any event version to the item's own partition,
and keeps back an order of any version whose subject was held first.

A version-2 ErasureOrdered carries the item's ref and source partition; a
version-1 one does not, and the relay reads them from the item's Ingested.
Version 3 carries the subject's pseudonym for the gate; older orders have
their subject looked up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from lethe.consumers.codec import Catalogue
from lethe.domain.application import Lethe
from lethe.domain.item import Item, Outcome
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import Relay
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record
from tests.support.ingest import read_topic
from tests.support.versions import as_version_1

pytestmark = pytest.mark.integration

PARTITION = 2  # murmur2 sends neither key here (both go to 0)


def ordered_item(app: Lethe, ref: str, topic: str) -> Item:
    record = dataclasses.replace(
        ingest_record(ref, "verification-image", "cust-1"),
        source_topic=topic,
        source_partition=PARTITION,
    )
    item = app.new_item(record, T0)
    assert item.due_at is not None
    item.order_due_erasure(item.due_at + timedelta(days=1))
    return item


def topics(
    kafka: KafkaClientSettings, topic_name: Callable[..., str]
) -> tuple[str, str]:
    """An item topic of 3 partitions and an orders topic, both new."""
    images, orders = topic_name("images"), topic_name("erasures")
    admin = KafkaAdminClient(**kafka.admin_config())
    try:
        admin.create_topics([NewTopic(images, 3, 1), NewTopic(orders, 1, 1)])
    finally:
        admin.close()
    return images, orders


def test_orders_of_both_versions_reach_the_items_partition(
    kafka: KafkaClientSettings, topic_name: Callable[..., str], tmp_path: Path
) -> None:
    images, orders = topics(kafka, topic_name)
    app = build_runtime(
        Settings.from_env({"LETHE_SQLITE_PATH": str(tmp_path / "lethe.db")})
    ).app
    old = ordered_item(app, "img-old", images)
    app.process_recorder.insert_events(as_version_1(app, old))
    app.save(ordered_item(app, "img-current", images))

    producer = RdKafkaProducer(kafka.rdkafka_producer_config())
    try:
        relay = Relay(app, producer, Catalogue.shipped(), orders_topic=orders)
        assert relay.relay_pending() == 2  # the orders
        for ref in ("img-old", "img-current"):  # the store erases both
            order = app.get_item(ref).order
            assert order is not None
            app.confirm_erasure(
                ref, order["order_id"], "media", Outcome.DELETED, None, T0
            )
        assert relay.relay_pending() == 2  # their tombstones
    finally:
        producer.close()

    tombstones = read_topic(kafka.bootstrap, images, 2, settle=0.5)
    assert sorted((t.key, t.partition, t.value) for t in tombstones) == [
        (b"img-current", PARTITION, None),
        (b"img-old", PARTITION, None),
    ]
    sent = read_topic(kafka.bootstrap, orders, 2, settle=0.5)
    catalogue = Catalogue.shipped()
    values = [catalogue.decode_as(r.value, "ErasureOrder") for r in sent]
    assert sorted(v["item_id"] for v in values) == ["img-current", "img-old"]
    assert {v["source_topic"] for v in values} == {images}


def test_the_gate_keeps_back_orders_of_every_version_under_a_subject_hold(
    kafka: KafkaClientSettings, topic_name: Callable[..., str], tmp_path: Path
) -> None:
    images, orders = topics(kafka, topic_name)
    app = build_runtime(
        Settings.from_env({"LETHE_SQLITE_PATH": str(tmp_path / "lethe.db")})
    ).app
    # The hold is in the log before either order; the items do not know it yet
    # (the schedule process has not mirrored it), so only the gate stands.
    app.place_subject_hold("sector-alarm", "cust-1", "POL-7", "police", "o", T0)
    old = ordered_item(app, "img-old", images)
    app.process_recorder.insert_events(as_version_1(app, old))
    current = ordered_item(app, "img-current", images)
    ordered = [e for e in current.pending_events if isinstance(e, Item.ErasureOrdered)]
    assert ordered[0].subject_ref is not None  # version 3: the gate needs no lookup
    app.save(current)

    producer = RdKafkaProducer(kafka.rdkafka_producer_config())
    try:
        relay = Relay(app, producer, Catalogue.shipped(), orders_topic=orders)
        relay.relay_pending()
    finally:
        producer.close()

    assert read_topic(kafka.bootstrap, orders, 0, settle=0.5) == []
    for ref in ("img-old", "img-current"):
        item_id = app.get_item(ref).id
        last = list(app.repository.event_store.get(item_id))[-1]
        assert isinstance(last, Item.ErasureWithheld), (ref, type(last).__name__)
