"""The shred ledger: which subjects' keys Lethe destroyed, kept outside its database.

A restore of Lethe's own database from a backup taken before a shred brings
the wrapped key back. The ledger is what a restored Lethe reads to destroy it
again (lethe/ops/runtime/ledger.py), so it lives where the backup is not: a
compacted Kafka topic with infinite retention, one record a subject.

A record names the subject by its aggregate id (a UUID5 of the subject ref,
itself a keyed HMAC of controller and subject id): no subject id, no
controller, nothing computable from a subject id without the pseudonym key.
Its value is that id and when the erasure was carried out.

Written reliably the way orders are (relay.py): `LedgerRelay` follows the event
log from a tracking position of its own, sends a record for every
`Subject.ErasureCarriedOut` (the event the shred follows, on every start until
it is done), waits for every acknowledgement, and only then moves its
position. A kill anywhere before that sends the page again on restart; the
key is the subject's id, so a repeat is one more version of the same key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.utils import get_topic
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from lethe.domain.application import Lethe
from lethe.domain.subject import Subject
from lethe.ops import logging as lethe_logging
from lethe.projections.decode import fast_decoder

SHRED_LEDGER_TOPIC = "lethe.shredded-subjects.v1"
TRACKING_NAME = "lethe-shred-ledger"
CARRIED_OUT = get_topic(Subject.ErasureCarriedOut)
READ_TIMEOUT_S = 120.0  # with no record before the end: the ledger is unreadable
POLL_MS = 200

log = lethe_logging.get_logger(__name__)


class LedgerError(RuntimeError):
    """The ledger could not be written, or read to its end."""


@dataclass(frozen=True)
class LedgerRecord:
    key: bytes
    value: bytes


def record_for(subject_id: UUID, erased_at: datetime) -> LedgerRecord:
    """The ledger record of one erased subject (its aggregate id and the instant)."""
    value = {"subject": str(subject_id), "erased_at": _iso(erased_at)}
    return LedgerRecord(str(subject_id).encode(), json.dumps(value).encode())


def subject_of(key: bytes | None, value: bytes | None) -> UUID:
    """The subject a ledger record names; LedgerError for one that is not ours."""
    try:
        named = UUID((key or b"").decode())
        body = json.loads(value or b"")
        if UUID(body["subject"]) != named:
            raise ValueError("key and value name different subjects")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise LedgerError(f"a ledger record is not a shred record: {error}") from None
    return named


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


class LedgerRelay:
    """Sends a ledger record for every erasure carried out in the log, at least once."""

    def __init__(
        self,
        app: Lethe,
        producer: Any,
        topic: str = SHRED_LEDGER_TOPIC,
        *,
        page_size: int = 1000,
        send_timeout_s: float = 60.0,
    ) -> None:
        self.app = app
        self.producer = producer
        self.topic = topic
        self.page_size = page_size
        self.send_timeout_s = send_timeout_s
        self._decode = fast_decoder(app)
        self._read_to = 0  # the log is read this far (in memory: see relay.py)

    @property
    def position(self) -> int:
        return self.app.process_recorder.max_tracking_id(TRACKING_NAME) or 0

    def relay_pending(self, limit: int | None = None) -> int:
        """Send every ledger record not yet sent; how many erasures they cover."""
        total = 0
        while limit is None or total < limit:
            sent = self.relay_page()
            if sent == 0:
                break
            total += sent
        return total

    def relay_page(self) -> int:
        recorder = self.app.process_recorder
        head = recorder.max_notification_id() or 0
        notifications = recorder.select_notifications(
            max(self.position, self._read_to) + 1,
            self.page_size,
            stop=head,
            topics=[CARRIED_OUT],
        )
        if notifications:
            events = [self._decode(n) for n in notifications]
            self._send([record_for(e.originator_id, e.at) for e in events])
            self._advance(notifications[-1].id)
            log.info("shred ledger written", records=len(events))
        if len(notifications) < self.page_size:
            self._read_to = head
        return len(notifications)

    def _send(self, records: Sequence[LedgerRecord]) -> None:
        futures = [
            self.producer.send(self.topic, value=r.value, key=r.key) for r in records
        ]
        self.producer.flush(timeout=self.send_timeout_s)
        failed = [f for f in futures if not f.is_done or f.failed()]
        if failed:
            first = failed[0].exception if failed[0].is_done else "not acknowledged"
            raise LedgerError(
                f"{len(failed)} of {len(futures)} shred ledger records not sent "
                f"to {self.topic}: {first}"
            )

    def _advance(self, notification_id: int) -> None:
        try:
            self.app.process_recorder.insert_tracking(
                Tracking(TRACKING_NAME, notification_id)
            )
        except IntegrityError:
            # Another relay recorded it first, having sent the same records.
            log.warning("shred ledger position already past", position=notification_id)


@dataclass(frozen=True)
class LedgerRead:
    subjects: frozenset[UUID]
    records: int  # records read (a subject may have several until compaction)


def read_ledger(
    consumer_config: Mapping[str, Any],
    topic: str = SHRED_LEDGER_TOPIC,
    timeout_s: float = READ_TIMEOUT_S,
) -> LedgerRead:
    """Every subject the ledger names, read from its first record to its last.

    LedgerError when the topic is missing, the broker does not answer, or no
    record comes for `timeout_s` before the end: a start must not take a part
    for all.
    """
    config = {**consumer_config, "group_id": None, "enable_auto_commit": False}
    try:
        consumer = KafkaConsumer(**config)
    except KafkaError as error:
        raise LedgerError(f"the broker does not answer: {error}") from None
    try:
        return _read_all(consumer, topic, timeout_s)
    except KafkaError as error:
        raise LedgerError(f"{topic} could not be read: {error}") from None
    finally:
        consumer.close(autocommit=False)


def _read_all(consumer: KafkaConsumer, topic: str, timeout_s: float) -> LedgerRead:
    # Asked of all topics first: asking for a missing one by name makes a broker
    # that auto-creates (the embedded one does) create it, uncompacted.
    partitions = (
        consumer.partitions_for_topic(topic) if topic in consumer.topics() else None
    )
    if not partitions:
        raise LedgerError(
            f"topic {topic} does not exist; create it with `lethe topics ensure`"
        )
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)
    ends = consumer.end_offsets(assigned)
    subjects: set[UUID] = set()
    records = 0
    for batch in _until_end(consumer, ends, timeout_s, topic):
        for record in batch:
            try:
                subjects.add(subject_of(record.key, record.value))
            except LedgerError as error:
                where = f"{record.topic}:{record.partition} offset {record.offset}"
                raise LedgerError(f"{where}: {error}") from None
            records += 1
    return LedgerRead(frozenset(subjects), records)


def _until_end(
    consumer: KafkaConsumer,
    ends: Mapping[TopicPartition, int],
    stall_s: float,
    topic: str,
) -> Iterator[list[Any]]:
    """Record batches until every partition is past its end offset and a poll
    brings nothing more (the embedded broker's end offset is the last batch's
    base offset + 1, so the rest of that batch may still be on its way).
    LedgerError when `stall_s` pass with no record before the end."""
    deadline = time.monotonic() + stall_s
    while True:
        if time.monotonic() > deadline:
            raise LedgerError(
                f"{topic} stopped before its end: nothing came for {stall_s:g} s"
            )
        polled = consumer.poll(timeout_ms=POLL_MS)
        if polled:  # a ledger of millions reads for minutes: only a stall fails
            deadline = time.monotonic() + stall_s
        yield from polled.values()
        reached = all(consumer.position(tp) >= end for tp, end in ends.items())
        if reached and not polled:
            return
