"""No subject id leaves in a log line or a Kafka header (issue 13, part 3).

Real flows on PostgreSQL and the embedded broker, with Lethe's JSON log
captured: ingest, a record keyed by a customer id, dead letters, holds with
reasons, refused reasons, a subject erased and its orders relayed. Then every
log line and every header of the dead-letter and order topics is read back and
scanned for the subject ids used: zero hits.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from lethe.consumers.codec import Catalogue
from lethe.consumers.deadletter import REASON
from lethe.consumers.shown import digest
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import ORDERS_TOPIC, Relay
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.support.consuming import one_partition_fixtures
from tests.support.ingest import (
    SHA,
    Consuming,
    metadata,
    producer_for,
)
from tests.support.leaks import captured_log, headers_of, hits

pytestmark = pytest.mark.integration

IMAGES, EVENTS = "alarm.images.v1", "alarm.events.v1"
LIFECYCLE, COMMANDS, DLQ = "customer.lifecycle.v1", "lethe.commands.v1", "lethe.dlq.v1"
# Short and long, one a word that occurs in Lethe's own messages ("case").
SUBJECT = "cust-4711"
KEYED_BY_CUSTOMER = "ola.nordmann@example.no"
SHORT = "case"
NATIONAL_ID = "12057312345"
SECRETS = (SUBJECT, KEYED_BY_CUSTOMER, SHORT, NATIONAL_ID)


env, consuming = one_partition_fixtures("leak")


def _image(item_id: str, subject: str) -> dict[str, object]:
    return {
        "item_id": item_id,
        "alarm_item_id": None,
        "blob_uri": f"s3://arc-media/{item_id}.jpg",
        "sha256": SHA,
        "content_type": "image/jpeg",
        "size_bytes": 1000,
        "metadata": asdict(metadata(subject, "verification-image")),
    }


def _command(producer: object, command_id: str, kind: str, **fields: object) -> None:
    now = datetime.now(UTC) - timedelta(seconds=1)
    producer.send_command(  # type: ignore[attr-defined]
        command_id, kind, "sector-alarm", requested_by="staff-7", requested_at=now,
        **fields,
    )  # fmt: skip


def _send_the_flows(env: dict[str, str]) -> None:
    with producer_for(env) as producer:
        for n, subject in enumerate((SUBJECT, SHORT, KEYED_BY_CUSTOMER)):
            producer.send(IMAGES, _image(f"img-{n}", subject))
        # A pipeline mistake: an image keyed by the customer id, not the item id.
        _, data = producer.encode(IMAGES, _image("img-9", KEYED_BY_CUSTOMER))
        producer.send_encoded(IMAGES, KEYED_BY_CUSTOMER.encode(), data)
        # A lifecycle record keyed by someone else's id.
        _, data = producer.encode(
            LIFECYCLE,
            {
                "subject_id": SUBJECT,
                "controller": "sector-alarm",
                "kind": "RELATIONSHIP_ENDED",
                "occurred_at": datetime.now(UTC) - timedelta(days=1),
            },
        )
        producer.send_encoded(LIFECYCLE, SHORT.encode(), data)
        producer.flush()
        _command(producer, "c1", "PLACE_HOLD", item_id="img-0", case_ref="POL-1",
                 reason="kept while the insurer looks at it")  # fmt: skip
        _command(producer, "c2", "PLACE_HOLD", subject_id=SUBJECT, case_ref="POL-2",
                 reason=f"asked by {SUBJECT} himself")  # fmt: skip
        _command(producer, "c3", "RESTRICT", subject_id=SHORT, case_ref="R-1",
                 reason=f"fnr {NATIONAL_ID} disputes the log")  # fmt: skip
        _command(producer, "c4", "PLACE_HOLD", item_id=KEYED_BY_CUSTOMER,
                 case_ref="POL-3", reason="an item id that is a customer")  # fmt: skip
        _command(producer, "c5", "RELEASE_HOLD", subject_id=SHORT, case_ref="P-404",
                 reason="no such hold")  # fmt: skip
        _command(producer, "c6", "ERASE_SUBJECT", subject_id=SHORT,
                 case_ref="ZD-1", reason="customer asked by letter")  # fmt: skip
        _command(producer, "c7", "ERASE_SUBJECT", subject_id=KEYED_BY_CUSTOMER,
                 reason="customer asked by phone")  # fmt: skip


def _relay_orders(env: dict[str, str], orders_topic: str) -> int:
    runtime = build_runtime(Settings.from_env(env))
    kafka = KafkaClientSettings.from_mapping(env)
    producer = RdKafkaProducer(kafka.rdkafka_producer_config())
    try:
        runtime.catch_up()  # orders the erased subjects' items
        relay = Relay(
            runtime.app,
            producer,
            Catalogue.shipped(),
            orders_topic=orders_topic,
        )
        return relay.relay_pending()
    finally:
        producer.close()
        runtime.app.close()


def test_no_subject_id_in_any_log_line_or_header(
    env: dict[str, str], consuming: Consuming
) -> None:
    bootstrap = env["LETHE_KAFKA_BOOTSTRAP"]
    with captured_log() as log:
        _send_the_flows(env)
        consuming.take_through(IMAGES, 3)
        consuming.take_through(LIFECYCLE, 0)
        consuming.take_through(COMMANDS, 6)
        orders = _relay_orders(env, consuming.name(ORDERS_TOPIC))
    letters = headers_of(bootstrap, consuming.name(DLQ), at_least=6)
    sent = headers_of(bootstrap, consuming.name(ORDERS_TOPIC), at_least=orders)
    lines = log.lines()

    # The flows ran: things were taken, refused and relayed, all of it logged.
    reasons = [text for where, text in letters if where.endswith(REASON)]
    assert len(reasons) == 6, reasons
    assert any("the subject's own id" in r for r in reasons)
    assert any("national identity number" in r for r in reasons)
    assert any(f"no item '{digest(KEYED_BY_CUSTOMER)}'" in r for r in reasons)
    assert orders >= 2 and len(sent) >= orders
    logged = [json.loads(line) for _where, line in lines]
    assert sum(e["event"] == "dead letter" for e in logged) == 6
    assert any(e["event"] == "change" for e in logged)
    assert {"partitions assigned", "batch taken"} <= {e["event"] for e in logged}
    # A tracked item id is shown as itself; a customer id as its digest only.
    assert any(e.get("key") == digest(KEYED_BY_CUSTOMER) for e in logged)

    assert hits([*lines, *letters, *sent], SECRETS) == []
    assert max(len(line) for _where, line in lines) <= 1000
