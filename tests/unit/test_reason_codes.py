"""The dead letters' reason codes: a fixed catalogue, each with readable labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from lethe.consumers.codec import Catalogue, PoisonRecord
from lethe.consumers.deadletter import (
    REASON,
    REASON_CODE,
    DeadLetterError,
    DeadLetters,
    dead_letter,
)
from lethe.consumers.reasons import ReasonCode
from lethe.projections.audit_report_labels import LABELS, LANGUAGES, label


@dataclass
class Record:
    topic: str = "alarm.images.v1"
    partition: int = 3
    offset: int = 41
    key: bytes | None = b"cust-1"
    value: bytes | None = b"\xc3\x01 not much"


@pytest.mark.parametrize("code", list(ReasonCode))
def test_every_code_has_a_label_in_each_language(code: ReasonCode) -> None:
    assert code.value == code.name  # the header carries the name, never renamed
    for lang in LANGUAGES:
        assert label(code.value, lang) != code.value
    assert len(set(LABELS[code.value])) == 2  # Norwegian is not the English copied


def test_a_dead_letter_carries_its_code_beside_its_reason() -> None:
    at = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    letter = dead_letter(Record(), "header cut short", at, ReasonCode.NOT_AVRO)
    assert letter.header(REASON_CODE) == "NOT_AVRO"
    assert letter.header(REASON) == "header cut short"
    assert (letter.key, letter.value) == (Record.key, Record.value)  # as it came


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"", ReasonCode.NOT_AVRO),
        (b"{}", ReasonCode.NOT_AVRO),
        (b"\xc3\x01\x00", ReasonCode.NOT_AVRO),
        (b"\xc3\x01" + bytes(8) + b"body", ReasonCode.UNKNOWN_SCHEMA),
    ],
)
def test_the_decoder_names_why_it_refused(value: bytes, code: ReasonCode) -> None:
    with pytest.raises(PoisonRecord) as refused:
        Catalogue.shipped().decode(value)
    assert refused.value.code == code


class Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, timeout: float | None = None) -> None:
        if self.error is not None:
            raise self.error


class Producer:
    """Kafka's side of a send, which takes the letter or fails it."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def send(self, topic: str, value: object = None, key: object = None,
             headers: object = None) -> Future:  # fmt: skip
        return Future(self.error)

    def flush(self, timeout: float | None = None) -> None:
        pass


class Notes:
    def __init__(self) -> None:
        self.noted: list[tuple[str, int, int, str, datetime]] = []

    def note(self, letters: list[tuple[str, int, int, str, datetime]]) -> None:
        self.noted += letters


def test_a_letter_is_noted_without_its_contents_once_kafka_took_it() -> None:
    at = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    notes = Notes()
    letters = DeadLetters(Producer(), kept=notes)
    letters.send(dead_letter(Record(), "a reason", at, ReasonCode.BAD_TEXT))
    assert notes.noted == []  # sent, not yet taken
    assert letters.flush() == 1
    assert notes.noted == [("alarm.images.v1", 3, 41, "BAD_TEXT", at)]


def test_a_letter_kafka_did_not_take_is_not_noted() -> None:
    notes = Notes()
    letters = DeadLetters(Producer(TimeoutError("broker gone")), kept=notes)
    at = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    letters.send(dead_letter(Record(), "a reason", at, ReasonCode.NOT_AVRO))
    with pytest.raises(DeadLetterError):
        letters.flush()
    assert notes.noted == []
