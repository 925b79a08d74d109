"""Dead letters: a rejected record as it came, with its origin and reason in headers.

Beside the sentence (`lethe.reason`) each letter carries a code from the fixed
catalogue (`lethe.reason-code`, reasons.py). Once Kafka has taken a batch's
letters, a `Kept` (if given) notes each one without its contents: the topic
deletes letters after days, the disposal report counts them by month.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from lethe.consumers.checks import Delivered
from lethe.consumers.reasons import ReasonCode

DLQ_TOPIC = "lethe.dlq.v1"
SOURCE_TOPIC = "lethe.source.topic"
SOURCE_PARTITION = "lethe.source.partition"
SOURCE_OFFSET = "lethe.source.offset"
REASON = "lethe.reason"
REASON_CODE = "lethe.reason-code"
REJECTED_AT = "lethe.rejected-at"
SEND_TIMEOUT_S = 60.0
MAX_REASON = 1000  # characters: a reason is a sentence, not a dump


class Producer(Protocol):
    """What dead letters need of kafka-python's KafkaProducer."""

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any: ...

    def flush(self, timeout: float | None = None) -> None: ...


# What is noted of a letter: (source topic, partition, offset, reason code,
# rejected at). Plain values: projections/dead_letters.py keeps them.
Noted = tuple[str, int, int, str, datetime]


class Kept(Protocol):
    """Where the PII-free facts of the letters Kafka took are noted."""

    def note(self, letters: Sequence[Noted]) -> None: ...


class DeadLetterError(RuntimeError):
    """Kafka did not take a dead letter: the batch must not be recorded as taken."""


@dataclass(frozen=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str:
        return dict(self.headers)[name].decode("utf-8")

    def noted(self) -> Noted:
        """Its origin, code and instant: no key, value or reason sentence."""
        return (
            self.header(SOURCE_TOPIC),
            int(self.header(SOURCE_PARTITION)),
            int(self.header(SOURCE_OFFSET)),
            self.header(REASON_CODE),
            datetime.fromisoformat(self.header(REJECTED_AT)),
        )


def dead_letter(
    record: Delivered, reason: str, at: datetime, code: ReasonCode
) -> DeadLetter:
    """The record's key and value unchanged; the reason must hold no personal data."""
    headers = {
        SOURCE_TOPIC: record.topic,
        SOURCE_PARTITION: str(record.partition),
        SOURCE_OFFSET: str(record.offset),
        REASON: _one_line(reason),
        REASON_CODE: code.value,
        REJECTED_AT: at.isoformat(timespec="milliseconds"),
    }
    return DeadLetter(
        key=None if record.key is None else bytes(record.key),
        value=None if record.value is None else bytes(record.value),
        headers=[(name, text.encode("utf-8")) for name, text in headers.items()],
    )


def _one_line(reason: str) -> str:
    text = " ".join(reason.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


class DeadLetters:
    """Sends dead letters; `flush` returns only once Kafka has taken every one.

    The loop flushes BEFORE it commits the tracking position of the batch the
    letters came from: a crash in between sends a letter twice, never loses one.
    """

    def __init__(
        self, producer: Producer, topic: str = DLQ_TOPIC, kept: Kept | None = None
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.kept = kept
        self._pending: list[Any] = []
        self._letters: list[DeadLetter] = []

    def send(self, letter: DeadLetter) -> None:
        future = self.producer.send(
            self.topic, value=letter.value, key=letter.key, headers=letter.headers
        )
        self._pending.append(future)
        self._letters.append(letter)

    def flush(self) -> int:
        """Wait for every letter sent since the last flush; how many there were.

        Noted in `kept` only once Kafka took them all, and before the batch's
        save: a crash in between notes them again, which the note ignores.
        """
        if not self._pending:
            return 0
        pending, self._pending = self._pending, []
        letters, self._letters = self._letters, []
        self.producer.flush()
        for future in pending:
            # A failed send is a failure, not poison: stop rather than record
            # a batch whose rejects never reached the dead-letter topic.
            try:
                future.get(timeout=SEND_TIMEOUT_S)
            except Exception as error:
                raise DeadLetterError(
                    f"the dead-letter topic {self.topic} did not take a record: "
                    f"{type(error).__name__}"
                ) from error
        if self.kept is not None:
            self.kept.note([letter.noted() for letter in letters])
        return len(pending)
