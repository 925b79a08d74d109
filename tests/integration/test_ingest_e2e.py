"""Kafka in, end to end: real broker, real stores, every topic, every refusal."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import Tracking

from lethe.consumers.batch import tracking_name
from lethe.domain.item import ErasureCause, ItemState
from lethe.ops.kafka.broker import EmbeddedBroker
from tests.support.ingest import (
    SHA,
    Consuming,
    create_topics,
    ingested,
    lethe_env,
    metadata,
    producer_for,
    read_topic,
)

pytestmark = pytest.mark.integration

SUBJECT = "cust-0042-private"
IMAGES, EVENTS, CALLS = "alarm.images.v1", "alarm.events.v1", "alarm.recordings.v1"
LIFECYCLE, COMMANDS = "customer.lifecycle.v1", "lethe.commands.v1"
CONFIRMATIONS, DLQ = "lethe.erasure-confirmations.v1", "lethe.dlq.v1"


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(
    request: pytest.FixtureRequest, sqlite_env: dict[str, str]
) -> dict[str, str]:
    if request.param == "sqlite":
        return sqlite_env
    return request.getfixturevalue("pg_schema_env")


@pytest.fixture
def env(
    store_env: dict[str, str], broker: EmbeddedBroker, topic_name: Callable[..., str]
) -> dict[str, str]:
    settings = lethe_env(
        store_env, broker.bootstrap, topic_name("e2e") + ".", topic_name("group")
    )
    settings["LETHE_TOPIC_PARTITIONS"] = "1"  # offsets below are those of partition 0
    create_topics(settings)
    return settings


@pytest.fixture
def consuming(env: dict[str, str]) -> Iterator[Consuming]:
    running = Consuming(env)
    yield running
    running.close()


def image(producer, item_id, subject=SUBJECT, **changes):  # type: ignore[no-untyped-def]
    meta = changes.pop("meta", None) or metadata(subject, "verification-image")
    fields = {
        "blob_uri": f"s3://arc-media/{item_id}.jpg",
        "sha256": SHA,
        "content_type": "image/jpeg",
        "size_bytes": 1000,
        **changes,
    }
    return producer.send_image(item_id, meta, **fields)


def test_every_inbound_topic_reaches_the_store(env, consuming) -> None:  # type: ignore[no-untyped-def]
    with producer_for(env) as producer:
        image(producer, "img-1")
        producer.send_event(
            "ev-1", "CL", metadata(SUBJECT, "arming-log", timedelta(days=120))
        )
        for call, line in (("call-1", "ALARM_CENTRAL"), ("call-2", "CUSTOMER_SERVICE")):
            producer.send_recording(
                call,
                metadata(SUBJECT, ""),
                line=line,
                blob_uri=f"s3://calls/{call}",
                sha256=SHA,
                duration_ms=60_000,
            )
        producer.send_lifecycle(
            SUBJECT,
            "sector-alarm",
            "RELATIONSHIP_ENDED",
            datetime.now(UTC) - timedelta(days=1),
        )
    consuming.take_through(IMAGES, 0)
    consuming.take_through(EVENTS, 0)
    consuming.take_through(CALLS, 1)
    consuming.take_through(LIFECYCLE, 0)
    now = datetime.now(UTC)
    order_id = consuming.app.order_erasure("ev-1", ErasureCause.RETENTION_EXPIRED, now)
    with producer_for(env) as producer:
        producer.send_command(
            "cmd-1",
            "PLACE_HOLD",
            "sector-alarm",
            reason="police",
            requested_by="support-7",
            requested_at=now,
            item_id="img-1",
            case_ref="POL-1",
        )
        producer.send_confirmation(order_id, "ev-1", "event-store", "DELETED", now)
    consuming.take_through(COMMANDS, 0)
    consuming.take_through(CONFIRMATIONS, 0)

    app = consuming.app
    assert app.get_item("img-1").holds.keys() == {"POL-1"}
    assert app.get_item("img-1").source.topic == consuming.name(IMAGES)
    assert app.get_item("ev-1").state == ItemState.ERASED
    assert app.get_item("call-1").category == "alarm-call-recording"
    assert app.get_item("call-2").category == "service-call-recording"
    assert app.get_subject("sector-alarm", SUBJECT).relationship_ended_at is not None
    assert ingested(app) == (4, 4)


def unknown_fingerprint(value: bytes) -> bytes:
    return value[:2] + struct.pack("<Q", 0x0123456789ABCDEF) + value[10:]


def test_every_refusal_goes_to_the_dead_letter_topic_with_its_headers(
    env, consuming, broker
) -> None:  # type: ignore[no-untyped-def]
    with producer_for(env) as producer:
        image(producer, "img-ok")  # offset 0, taken
        raw = producer.producer
        topic = consuming.name(IMAGES)
        raw.send(topic, key=b"img-a", value=b'{"item_id": "img-a"}')
        _, good = producer.encode(IMAGES, _image_value("img-b"))
        raw.send(topic, key=b"img-b", value=unknown_fingerprint(good))
        raw.send(topic, key=b"img-b2", value=good[:-3])
        image(producer, "img-c", meta=metadata(SUBJECT, "arming-log"))
        image(
            producer,
            "img-d",
            meta=metadata(SUBJECT, "verification-image", controller="acme"),
        )
        image(
            producer,
            "img-e",
            meta=metadata(SUBJECT, "verification-image", timedelta(hours=-2)),
        )
        image(producer, "img-f", subject="")
        image(producer, "img-g", sha256="ABC")
        image(producer, "img-h", blob_uri="arc-media/img-h.jpg")
        raw.send(
            topic,
            key=b"img-other",
            value=producer.encode(IMAGES, _image_value("img-i"))[1],
        )
        producer.send_lifecycle(SUBJECT, "acme", "LAST_CONTACT", datetime.now(UTC))
    consuming.take_through(IMAGES, 10)
    consuming.take_through(LIFECYCLE, 0)
    with producer_for(env) as producer:
        image(producer, "img-ok", size_bytes=999)  # a different copy, offset 11
        producer.send_command(
            "cmd-9",
            "RELEASE_HOLD",
            "sector-alarm",
            reason="done",
            requested_by="support-7",
            requested_at=datetime.now(UTC),
            item_id="img-ok",
            case_ref="POL-404",
        )
    consuming.take_through(IMAGES, 11)
    consuming.take_through(COMMANDS, 0)

    letters = read_topic(broker.bootstrap, consuming.name(DLQ), at_least=13, settle=1.0)
    reasons = {
        (_h(r, "lethe.source.topic"), int(_h(r, "lethe.source.offset"))): r
        for r in letters
    }
    expected = {
        (IMAGES, 1): "not Avro single-object encoding",
        (IMAGES, 2): "unknown schema fingerprint",
        (IMAGES, 3): "body does not decode",
        (IMAGES, 4): "category 'arming-log' is not allowed for VerificationImage",
        (IMAGES, 5): "unknown controller 'acme'",
        (IMAGES, 6): "in the future",
        (IMAGES, 7): "metadata.subject_id is empty",
        (IMAGES, 8): "sha256 is not 64 lowercase hex",
        (IMAGES, 9): "blob_uri is not a URI with a scheme",
        (IMAGES, 10): "the key is not the record's item_id",
        (IMAGES, 11): "item id img-ok was already ingested with different content",
        (LIFECYCLE, 0): "unknown controller 'acme'",
        (COMMANDS, 0): "has no hold with case reference 'POL-404'",
    }
    assert len(letters) == len(expected)
    for (contract_topic, offset), says in expected.items():
        letter = reasons[(consuming.name(contract_topic), offset)]
        assert says in _h(letter, "lethe.reason")
        assert _h(letter, "lethe.source.partition") == "0"
        datetime.fromisoformat(_h(letter, "lethe.rejected-at"))
        assert SUBJECT not in _h(letter, "lethe.reason")
    # The record as it came: key and value unchanged.
    assert reasons[(consuming.name(IMAGES), 1)].value == b'{"item_id": "img-a"}'
    assert reasons[(consuming.name(IMAGES), 10)].key == b"img-other"
    assert ingested(consuming.app) == (1, 1)


def test_an_identical_redelivery_is_silent(env, consuming, broker) -> None:  # type: ignore[no-untyped-def]
    with producer_for(env) as producer:
        key, value = producer.encode(IMAGES, _image_value("img-r"))
        for _ in range(3):  # a pipeline that retried twice
            producer.send_encoded(IMAGES, key, value)
    consuming.take_through(IMAGES, 2)
    with producer_for(env) as producer:
        producer.send_encoded(IMAGES, key, value)  # and once more, in a later batch
    consuming.take_through(IMAGES, 3)
    assert ingested(consuming.app) == (1, 1)
    assert (
        read_topic(broker.bootstrap, consuming.name(DLQ), at_least=0, timeout=2) == []
    )


def test_consumption_resumes_after_the_recorded_offset(env, consuming) -> None:  # type: ignore[no-untyped-def]
    with producer_for(env) as producer:
        for i in range(10):
            image(producer, f"img-{i}")
    # As if offsets 0..4 had been taken before: the store, not Kafka, decides.
    name = tracking_name(consuming.name(IMAGES), 0)
    consuming.app.record(tracking=Tracking(name, 4))
    consuming.take_through(IMAGES, 9)
    assert ingested(consuming.app) == (5, 5)
    assert consuming.app.find_item("img-4") is None
    consuming.close()

    with producer_for(env) as producer:
        for i in range(10, 15):
            image(producer, f"img-{i}")
    # A new group: Kafka has no committed offset for it, the tracking table has.
    again = Consuming({**env, "LETHE_GROUP_ID": env["LETHE_GROUP_ID"] + "-2"})
    try:
        again.take_through(IMAGES, 14)
        assert ingested(again.app) == (10, 10)
        assert again.app.find_item("img-0") is None
    finally:
        again.close()
    consuming.consumer = (
        again.consumer
    )  # closed already; keep the fixture's close cheap


def _image_value(item_id: str) -> dict:  # type: ignore[type-arg]
    meta = asdict(metadata(SUBJECT, "verification-image"))
    return {
        "item_id": item_id,
        "alarm_item_id": None,
        "blob_uri": f"s3://m/{item_id}",
        "sha256": SHA,
        "content_type": "image/jpeg",
        "size_bytes": 1,
        "metadata": meta,
    }


def _h(record, name: str) -> str:  # type: ignore[no-untyped-def]
    return dict(record.headers)[name].decode("utf-8")
