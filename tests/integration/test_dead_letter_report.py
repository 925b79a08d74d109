"""Dead letters in the disposal report: counted per reason code and source topic,
checked against the letters the dead-letter topic really holds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from kafka import KafkaProducer

from lethe.consumers.deadletter import REASON_CODE, SOURCE_TOPIC
from lethe.consumers.reasons import ReasonCode
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.runtime.report import disposal_report
from lethe.projections.audit_report_html import render_html
from tests.support.ingest import (
    SHA,
    Consuming,
    metadata,
    one_partition_env,
    producer_for,
    read_topic,
)

pytestmark = pytest.mark.integration

IMAGES, COMMANDS, DLQ = "alarm.images.v1", "lethe.commands.v1", "lethe.dlq.v1"
SUBJECT = "cust-dead-7"
ZONE = "Europe/Oslo"


@pytest.fixture
def env(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
) -> dict[str, str]:
    return one_partition_env(
        pg_schema_env, broker.bootstrap, topic_name("dlr") + ".", topic_name("g")
    )


@pytest.fixture
def consuming(env: dict[str, str]) -> Iterator[Consuming]:
    running = Consuming(env)
    yield running
    running.close()


def send_bad_records(env: dict[str, str], consuming: Consuming) -> None:
    """Images 0..3 (two refused) and commands 0..1 (both refused)."""
    with producer_for(env) as producer:
        for item_id in ("img-1", "img\x00-2", "img-3"):  # a NUL: refused
            producer.send_image(
                item_id,
                metadata(SUBJECT, "verification-image"),
                blob_uri="s3://arc-media/x.jpg",
                sha256=SHA,
                content_type="image/jpeg",
                size_bytes=1000,
            )
        for n in range(2):  # no such hold to release: the domain refuses
            producer.send_command(
                f"cmd-{n}",
                "RELEASE_HOLD",
                "sector-alarm",
                reason="case closed",
                requested_by="support-1",
                requested_at=datetime.now(UTC) - timedelta(seconds=1),
                subject_id=SUBJECT,
                case_ref=f"POL-{n}",
            )
    raw = KafkaProducer(bootstrap_servers=env["LETHE_KAFKA_BOOTSTRAP"])
    raw.send(consuming.name(IMAGES), key=b"img-4", value=b"not avro at all")
    raw.flush()
    raw.close()


def test_the_report_counts_what_went_to_the_dead_letter_topic(
    env: dict[str, str], consuming: Consuming
) -> None:
    send_bad_records(env, consuming)
    consuming.take_through(IMAGES, 3)
    consuming.take_through(COMMANDS, 1)
    letters = read_topic(env["LETHE_KAFKA_BOOTSTRAP"], consuming.name(DLQ), 4)
    sent = Counter(
        (dict(r.headers)[REASON_CODE].decode(), dict(r.headers)[SOURCE_TOPIC].decode())
        for r in letters
    )
    images, commands = consuming.name(IMAGES), consuming.name(COMMANDS)
    assert sent == {
        (ReasonCode.BAD_TEXT.value, images): 1,
        (ReasonCode.NOT_AVRO.value, images): 1,
        (ReasonCode.REFUSED.value, commands): 2,
    }

    now = datetime.now(UTC)
    month = now.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m")
    runtime = build_runtime(consuming.config.settings)
    try:
        doc = disposal_report(runtime, month, ZONE, now).document()
        rows = runtime.views.query("SELECT * FROM lethe_dead_letters")
    finally:
        runtime.app.close()
    dead = doc["dead_letters"]
    assert dead["total"] == len(letters) == 4
    cells = {(r["reason_code"], r["topic"]): r["letters"]
             for r in dead["by_reason_and_topic"]}  # fmt: skip
    assert cells == sent
    assert dead["by_topic"] == {images: 2, commands: 2}
    assert dead["by_reason"] == {"BAD_TEXT": 1, "NOT_AVRO": 1, "REFUSED": 2}
    # The note holds the origin, the code and the instant: no key, no contents.
    assert len(rows) == 4 and SUBJECT not in repr(rows) and "img" not in repr(rows)
    html = render_html(doc, "no")
    assert "Records set aside (dead letters): 4" in html
    assert "avvist (intet slikt hold, ordre eller forespørsel)" in html
