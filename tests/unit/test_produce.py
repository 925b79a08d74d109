"""Publishing contract records: JSON lines checked, each line judged on its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lethe.consumers.codec import HEADER_SIZE, Catalogue
from lethe.ops.cli.main import main
from lethe.ops.kafka.produce import JsonLineError, LetheProducer, Metadata, encode_lines
from lethe.ops.kafka.topics import TopicSettings

CATALOGUE = Catalogue.shipped()
CAPTURED = datetime(2026, 3, 25, 11, 0, tzinfo=UTC)


def image_line(**changes: Any) -> str:
    meta = {
        "controller": "sector-alarm",
        "category": "verification-image",
        "subject_id": "cust-1",
        "captured_at": "2026-03-25T12:00:00+01:00",
    }
    meta.update(changes.pop("metadata", {}))
    value = {
        "item_id": "img-1",
        "blob_uri": "s3://m/img-1.jpg",
        "sha256": "ab" * 32,
        "content_type": "image/jpeg",
        "size_bytes": 10,
        "metadata": meta,
    }
    return json.dumps({**value, **changes})


def test_json_lines_become_keyed_single_object_records() -> None:
    ((key, value),) = encode_lines(CATALOGUE, "alarm.images.v1", [image_line(), "  "])
    assert key == b"img-1"
    decoded = CATALOGUE.decode_as(value, "VerificationImage")
    assert decoded["metadata"]["captured_at"].isoformat() == "2026-03-25T11:00:00+00:00"
    assert value[:2] == b"\xc3\x01" and len(value) > HEADER_SIZE


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("{not json", "line 2: not JSON"),
        (
            image_line(metadata={"captured_at": "2026-03-25T12:00:00"}),
            "line 2: metadata.captured_at: '2026-03-25T12:00:00' has no UTC offset",
        ),
        (
            image_line(metadata={"captured_at": "yesterday"}),
            "line 2: metadata.captured_at: 'yesterday' is not an ISO-8601 timestamp",
        ),
        (image_line(colour="red"), "line 2: colour: no such field in the schema"),
        (
            image_line(size_bytes="big"),
            "line 2: lethe.v1.VerificationImage.size_bytes is a str, expected long",
        ),
        (
            image_line(metadata={"subject_id": None}),
            "line 2: lethe.v1.RetentionMetadata.subject_id is missing or null",
        ),
    ],
)
def test_a_line_that_does_not_fit_is_named_with_its_field(line: str, says: str) -> None:
    with pytest.raises(JsonLineError) as caught:
        encode_lines(CATALOGUE, "alarm.images.v1", [image_line(), line])
    assert says in str(caught.value)


def test_only_inbound_topics_take_records() -> None:
    with pytest.raises(ValueError, match="is not an inbound topic"):
        encode_lines(CATALOGUE, "lethe.dlq.v1", [image_line()])


def test_lethe_produce_names_each_refused_line_and_exits_1(tmp_path: Path) -> None:
    lines = tmp_path / "images.jsonl"
    lines.write_text(image_line(sha256="ab") + "\n" + image_line(sha256=5) + "\n")
    env = {"LETHE_KAFKA_BOOTSTRAP": "127.0.0.1:1"}  # never reached: nothing is fit
    result = CliRunner().invoke(
        main, ["produce", "alarm.images.v1", "--json", str(lines)], env=env
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "lethe: line 1 refused: sha256 is not 64 lowercase hex characters "
        "(got 2 characters)",
        "lethe: line 2 refused: lethe.v1.VerificationImage.sha256 is a int, "
        "expected string",
    ]
    assert result.stdout == "sent 0 of 2 records to alarm.images.v1; refused 2\n"


def test_lethe_produce_refuses_a_topic_that_is_not_inbound_in_one_line(
    tmp_path: Path,
) -> None:
    lines = tmp_path / "x.jsonl"
    lines.write_text(image_line() + "\n")
    env = {"LETHE_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    result = CliRunner().invoke(
        main, ["produce", "lethe.dlq.v1", "--json", str(lines)], env=env
    )
    assert result.exit_code == 2
    assert result.output.startswith("lethe: 'lethe.dlq.v1' is not an inbound topic")
    assert len(result.output.splitlines()) == 1


class FakeKafkaProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []
        self.headers: list[list[tuple[str, bytes]] | None] = []

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        self.sent.append((topic, key, value))
        self.headers.append(headers)


def test_the_producer_api_keys_each_record_as_the_contract_says() -> None:
    fake = FakeKafkaProducer()
    producer = LetheProducer(None, TopicSettings(prefix="p."), producer=fake)  # type: ignore[arg-type]
    meta = Metadata("sector-alarm", "arming-log", "cust-9", CAPTURED)
    producer.send_event("ev-1", "CL", meta)
    producer.send_lifecycle("cust-9", "sector-alarm", "LAST_CONTACT", CAPTURED)
    producer.send_command(
        "c-1",
        "ERASE_SUBJECT",
        "sector-alarm",
        reason="asked",
        requested_by="s-1",
        requested_at=CAPTURED,
        subject_id="cust-9",
    )
    producer.send_confirmation("o-1", "ev-1", "store", "DELETED", CAPTURED)
    assert [(topic, key) for topic, key, _ in fake.sent] == [
        ("p.alarm.events.v1", b"ev-1"),
        ("p.customer.lifecycle.v1", b"cust-9"),
        ("p.lethe.commands.v1", b"cust-9"),
        ("p.lethe.erasure-confirmations.v1", b"ev-1"),
    ]


def test_a_line_that_is_not_utf8_is_refused_alone(tmp_path: Path) -> None:
    lines = tmp_path / "images.jsonl"
    lines.write_bytes(b"\xff\xfe{}\n" + image_line(sha256="AB" * 32).encode() + b"\n")
    env = {"LETHE_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    result = CliRunner().invoke(
        main, ["produce", "alarm.images.v1", "--json", str(lines)], env=env
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "lethe: line 1 refused: not UTF-8 (at byte 1)",
        "lethe: line 2 refused: sha256 is not 64 lowercase hex characters "
        "(got 64 characters, some uppercase)",
    ]
