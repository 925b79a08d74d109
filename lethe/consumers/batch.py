"""One partition's share of a poll, taken into the event store in one transaction.

Order within a batch: read every record (poison becomes a dead letter), flush
the dead letters, then save the events with the partition's last offset as the
tracking position. A crash before the save re-reads the batch from the recorded
position: the events are written once, a dead letter at worst twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError, Tracking

from lethe.consumers import shown
from lethe.consumers.changes import Change
from lethe.consumers.checks import Contract, Delivered, redact
from lethe.consumers.codec import PoisonRecord
from lethe.consumers.deadletter import DeadLetters, dead_letter
from lethe.consumers.reasons import ReasonCode
from lethe.consumers.records import Kind, read
from lethe.domain.application import IngestRecord, Lethe
from lethe.domain.errors import ConflictingRedeliveryError, LetheError
from lethe.domain.policy import PolicyError

ATTEMPTS = 3  # a conflicting write by another process is retried this often
# Records saved in one transaction at most. Larger saves gain nothing (the cost is
# per item) and psycopg's pipeline mode has hung sending one INSERT of ~5,000
# items' events (PostgreSQL waiting in ClientRead, the client in sync()).
MAX_PER_SAVE = 1000
# And about this many bytes of records: one INSERT carries a slice's events.
MAX_BYTES_PER_SAVE = 4_000_000
ORDER_ID_HEADER = "lethe.order-id"  # the relay's: on every tombstone Lethe sends

log = structlog.get_logger("lethe.consumers")


def _sent_by_lethe(record: Delivered) -> bool:
    headers = getattr(record, "headers", None) or ()
    return any(name == ORDER_ID_HEADER for name, _value in headers)


def tracking_name(topic: str, partition: int, epoch: int = 0) -> str:
    """The tracking row of a partition; a resumed partition starts a new epoch
    (its offsets start again below those tracked before)."""
    base = f"kafka:{topic}:{partition}"
    return base if epoch == 0 else f"{base}#{epoch}"


@dataclass
class Taken:
    """What one batch did: counts only, never contents."""

    new: int = 0
    duplicates: int = 0
    changes: int = 0
    dead: int = 0

    def __iadd__(self, other: Taken) -> Taken:
        self.new += other.new
        self.duplicates += other.duplicates
        self.changes += other.changes
        self.dead += other.dead
        return self


def slices(
    records: Sequence[Delivered], most: int, most_bytes: int
) -> list[Sequence[Delivered]]:
    """Consecutive runs of at most `most` records and about `most_bytes` of
    values (a record larger than that goes alone)."""
    found: list[Sequence[Delivered]] = []
    start, size = 0, 0
    for index, record in enumerate(records):
        grows = len(record.value or b"") + len(record.key or b"")
        if index > start and (index - start >= most or size + grows > most_bytes):
            found.append(records[start:index])
            start, size = index, 0
        size += grows
    if start < len(records):
        found.append(records[start:])
    return found


class BatchTaker:
    def __init__(
        self,
        app: Lethe,
        dead_letters: DeadLetters,
        contract: Contract,
        clock: Callable[[], datetime],
        max_per_save: int = MAX_PER_SAVE,
    ) -> None:
        self.app = app
        self.dead = dead_letters
        self.contract = contract
        self.clock = clock
        self.max_per_save = max_per_save

    def take(self, kind: Kind, records: Sequence[Delivered], epoch: int = 0) -> Taken:
        """Take one partition's records (in offset order), exactly once.

        Each slice of at most `max_per_save` records commits with its own last
        offset, so a crash between slices resumes after the last one saved.
        """
        total = Taken()
        for chunk in slices(records, self.max_per_save, MAX_BYTES_PER_SAVE):
            total += self._take_slice(kind, chunk, epoch)
        return total

    def _take_slice(
        self, kind: Kind, records: Sequence[Delivered], epoch: int
    ) -> Taken:
        first = records[0]
        name = tracking_name(first.topic, first.partition, epoch)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return self._take(kind, records, name)
            except IntegrityError:
                # Another process wrote first: a member that took this partition
                # over in a rebalance, or a projection changing the same item.
                records = self._untaken(name, records)
                if not records:
                    log.info(
                        "batch already taken",
                        topic=first.topic,
                        partition=first.partition,
                    )
                    return Taken()
                if attempt == ATTEMPTS:
                    raise
                log.warning(
                    "conflicting write, retrying batch",
                    topic=first.topic,
                    partition=first.partition,
                    attempt=attempt,
                )
        raise AssertionError("unreachable")

    def _take(self, kind: Kind, records: Sequence[Delivered], name: str) -> Taken:
        if kind.is_item:
            return self._take_items(kind, records, name)
        return self._take_changes(kind, records, name)

    def _untaken(self, name: str, records: Sequence[Delivered]) -> list[Delivered]:
        last = self.app.process_recorder.max_tracking_id(name)
        return [r for r in records if last is None or r.offset > last]

    # -- items ----------------------------------------------------------------------

    def _take_items(self, kind: Kind, records: Sequence[Delivered], name: str) -> Taken:
        now, taken = self.clock(), Taken()
        good: list[IngestRecord] = []
        for record in records:
            if record.value is None:
                self._tombstone(kind, record, now, taken)
                continue
            try:
                good.append(read(kind, record, self.contract, now))
            except PoisonRecord as poison:
                self._reject(kind, record, poison.reason, now, taken, poison.code)
        self.dead.flush()
        by_offset = {record.offset: record for record in records}

        def refuse(conflicts: list[IngestRecord]) -> None:
            for conflict in conflicts:
                reason = str(ConflictingRedeliveryError(conflict.item_ref))
                self._reject(
                    kind,
                    by_offset[conflict.source_offset],
                    reason,
                    now,
                    taken,
                    ReasonCode.CONFLICTING_REDELIVERY,
                )
            self.dead.flush()

        tracking = Tracking(name, records[-1].offset)
        result = self.app.ingest_refusing(good, now, tracking, refuse)
        taken.new, taken.duplicates = len(result.new), len(result.duplicates)
        return taken

    def _tombstone(
        self, kind: Kind, record: Delivered, now: datetime, taken: Taken
    ) -> None:
        """Lethe's own tombstones pass; anyone else's goes to the dead letters.

        Only Lethe erases: a producer's tombstone would make Kafka forget an item
        Lethe still keeps (a held one too) with nothing in the history to say so.
        """
        if _sent_by_lethe(record) or self._ordered(record.key):
            return
        self._reject(
            kind,
            record,
            "a tombstone (null value) on an inbound topic: only Lethe erases "
            "items; ask for an erasure with a lethe.commands.v1 command",
            now,
            taken,
            ReasonCode.FOREIGN_TOMBSTONE,
        )

    def _ordered(self, key: bytes | None) -> bool:
        # Tansu drops the headers of a tombstone, so ask the history as well.
        if key is None:
            return False
        item = self.app.find_item(bytes(key).decode("utf-8", "replace"))
        return item is not None and item.order is not None

    # -- lifecycle, commands, confirmations ------------------------------------------

    def _take_changes(
        self, kind: Kind, records: Sequence[Delivered], name: str
    ) -> Taken:
        now, taken = self.clock(), Taken()
        pending: dict[Any, Any] = {}
        for record in records:
            try:
                change = read(kind, record, self.contract, now)
            except PoisonRecord as poison:
                self._reject(kind, record, poison.reason, now, taken, poison.code)
                continue
            changed = self._apply(kind, change, record, now, taken, bool(pending))
            if changed is None or any(a.id in pending for a in changed):
                # Refused, or a second change to one aggregate, while earlier
                # changes wait: it was judged on the stored state (a release
                # of a hold placed in this batch would find no hold), so save
                # what came before and make it again on top.
                self._commit(pending, name, record.offset - 1)
                pending = {}
                changed = self._apply(kind, change, record, now, taken) or []
            pending.update((aggregate.id, aggregate) for aggregate in changed)
            taken.changes += bool(changed)
        self._commit(pending, name, records[-1].offset)
        return taken

    def _apply(
        self,
        kind: Kind,
        change: Change,
        record: Delivered,
        now: datetime,
        taken: Taken,
        may_retry: bool = False,
    ) -> list[Any] | None:
        """The aggregates the change made; on a refusal, [] once it went to the
        dead letters, or None (nothing sent) when `may_retry`."""
        with self.app.deferring_saves() as changed:
            try:
                change.apply(self.app, now)
            except (LetheError, PolicyError) as refusal:
                if may_retry:
                    return None
                # The domain said no (no such hold, unknown order): the sender
                # must act, and the loop goes on.
                reason = redact(str(refusal), self._personal(change))
                self._reject(kind, record, reason, now, taken, ReasonCode.REFUSED)
                return []
        log.info(
            "change",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            change=change.describe(),
        )
        return changed

    def _commit(self, pending: dict[Any, Any], name: str, offset: int) -> None:
        self.dead.flush()
        self.app.record(*pending.values(), tracking=Tracking(name, offset))

    def _reject(
        self,
        kind: Kind,
        record: Delivered,
        reason: str,
        now: datetime,
        taken: Taken,
        code: ReasonCode,
    ) -> None:
        self.dead.send(dead_letter(record, reason, now, code))
        taken.dead += 1
        where: dict[str, Any] = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
        }
        where.update(self._shown_key(record.key))
        log.warning("dead letter", **where, reason=reason, code=code.value)

    def _shown_key(self, key: bytes | None) -> dict[str, str]:
        """The key as a log may show it: an item id the store tracks as itself,
        anything else (a subject id, or a customer id where an item id belongs)
        as a digest. Known to the store, not shaped like one: a pipeline that
        keys by customer id makes ids of any shape."""
        if key is None:
            return {}
        text = bytes(key).decode("utf-8", "replace")
        if self.app.find_item(text) is not None:
            return {"item_id": text}
        return {"key": shown.digest(text)}

    def _personal(self, change: Change) -> list[str | None]:
        """The fields of a change a refusal must not quote: its subject id, and
        an item ref the store does not track (it may be a customer id)."""
        item_ref: str | None = getattr(change, "item_ref", None)
        tracked = item_ref is not None and self.app.find_item(item_ref) is not None
        return [getattr(change, "subject_id", None), None if tracked else item_ref]
