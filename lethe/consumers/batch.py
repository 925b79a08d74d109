"""One partition's share of a poll, taken into the event store in one transaction.

Order within a batch: read every record (poison becomes a dead letter), flush
the dead letters, then save the events with the partition's last offset as the
tracking position. A crash before the save re-reads the batch from the recorded
position: the events are written once, a dead letter at worst twice. A record
the store refuses on save is set aside (lethe/consumers/refused.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError, Tracking

from lethe.consumers.changes import Change
from lethe.consumers.checks import Contract, Delivered, redact
from lethe.consumers.codec import PoisonRecord
from lethe.consumers.deadletter import DeadLetters
from lethe.consumers.reasons import ReasonCode
from lethe.consumers.records import Kind, read
from lethe.consumers.refused import PER_RECORD, SetAsideRow, halving
from lethe.consumers.rejects import ORDER_ID_HEADER as ORDER_ID_HEADER  # re-exported
from lethe.consumers.rejects import Rejects
from lethe.consumers.slices import Taken, slices, tracking_name
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

log = structlog.get_logger("lethe.consumers")


@dataclass
class _Group:
    """Changes made on top of each other, to be saved in one transaction."""

    pending: dict[Any, Any] = field(default_factory=dict)
    made: list[tuple[Delivered, Change]] = field(default_factory=list)


# A record as read: None where it went to the dead letters (or is Lethe's own
# tombstone), which only moves the tracking position.
_Read = tuple[Delivered, IngestRecord | None]


class BatchTaker:
    def __init__(
        self,
        app: Lethe,
        dead_letters: DeadLetters,
        contract: Contract,
        clock: Callable[[], datetime],
        max_per_save: int = MAX_PER_SAVE,
        set_aside_row: SetAsideRow | None = None,
    ) -> None:
        self.app = app
        self.dead = dead_letters
        self.contract = contract
        self.clock = clock
        self.max_per_save = max_per_save
        # The row `lethe status` shows for a record set aside (the projections'
        # table, handed in by ops); without it the dead letter alone says so.
        self.rejects = Rejects(app, dead_letters, set_aside_row)

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
        found: list[_Read] = []
        for record in records:
            good = None
            if record.value is None:
                self.rejects.tombstone(record, now, taken)
            else:
                try:
                    good = read(kind, record, self.contract, now)
                except PoisonRecord as poison:
                    self.rejects.send(record, poison.reason, now, taken, poison.code)
            found.append((record, good))
        self.dead.flush()
        refuse = self._refuser(records, now, taken)

        def save(part: Sequence[_Read]) -> None:
            good = [ingest for _record, ingest in part if ingest is not None]
            tracking = Tracking(name, part[-1][0].offset)
            result = self.app.ingest_refusing(good, now, tracking, refuse)
            taken.new += len(result.new)
            taken.duplicates += len(result.duplicates)

        def set_aside(part: _Read, error: Exception) -> None:
            record, ingest = part
            if ingest is None:
                raise error  # only a tracking position was refused: not this record
            personal = [ingest.subject_id, ingest.item_ref]
            self.rejects.set_aside(record, name, error, personal, now, taken)

        halving(found, save, set_aside)
        return taken

    def _refuser(
        self, records: Sequence[Delivered], now: datetime, taken: Taken
    ) -> Callable[[list[IngestRecord]], None]:
        """Conflicting copies to the dead letters, each once however often a
        refused save is tried again in halves."""
        by_offset = {record.offset: record for record in records}
        sent: set[int] = set()

        def refuse(conflicts: list[IngestRecord]) -> None:
            for conflict in conflicts:
                if conflict.source_offset in sent:
                    continue
                sent.add(conflict.source_offset)
                reason = str(ConflictingRedeliveryError(conflict.item_ref))
                self.rejects.send(
                    by_offset[conflict.source_offset],
                    reason,
                    now,
                    taken,
                    ReasonCode.CONFLICTING_REDELIVERY,
                )
            self.dead.flush()

        return refuse

    # -- lifecycle, commands, confirmations ------------------------------------------

    def _take_changes(
        self, kind: Kind, records: Sequence[Delivered], name: str
    ) -> Taken:
        now, taken = self.clock(), Taken()
        group = _Group()
        for record in records:
            try:
                change = read(kind, record, self.contract, now)
            except PoisonRecord as poison:
                self.rejects.send(record, poison.reason, now, taken, poison.code)
                continue
            changed = self._apply(change, record, now, taken, bool(group.pending))
            if changed is None or any(a.id in group.pending for a in changed):
                # Refused, or a second change to one aggregate, while earlier
                # changes wait: it was judged on the stored state (a release
                # of a hold placed in this batch would find no hold), so save
                # what came before and make it again on top.
                self._commit(group, name, record.offset - 1, now, taken)
                group = _Group()
                changed = self._apply(change, record, now, taken) or []
            if changed:
                group.pending.update((aggregate.id, aggregate) for aggregate in changed)
                group.made.append((record, change))
                taken.changes += 1
        self._commit(group, name, records[-1].offset, now, taken)
        return taken

    def _apply(
        self,
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
                self.rejects.send(record, reason, now, taken, ReasonCode.REFUSED)
                return []
        log.info(
            "change",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            change=change.describe(),
        )
        return changed

    def _commit(
        self,
        group: _Group,
        name: str,
        offset: int,
        now: datetime,
        taken: Taken,
    ) -> None:
        self.dead.flush()
        try:
            self.app.record(*group.pending.values(), tracking=Tracking(name, offset))
        except PER_RECORD:
            if not group.made:
                raise  # only a tracking position was refused: no record to blame
            self._commit_one_by_one(group, name, offset, now, taken)

    def _commit_one_by_one(
        self,
        group: _Group,
        name: str,
        offset: int,
        now: datetime,
        taken: Taken,
    ) -> None:
        """The store refused the group's save: make each change again on its own
        (the failed save left nothing behind), so only the one it refuses is set
        aside and the others are taken."""
        for record, change in group.made:
            taken.changes -= 1  # counted when first made; again once saved
            changed = self._apply(change, record, now, taken) or []
            self.dead.flush()
            try:
                self.app.record(*changed, tracking=Tracking(name, record.offset))
            except PER_RECORD as error:
                personal = self._personal(change)
                self.rejects.set_aside(record, name, error, personal, now, taken)
                continue
            taken.changes += bool(changed)
        if group.made[-1][0].offset < offset:
            self.app.record(tracking=Tracking(name, offset))

    def _personal(self, change: Change) -> list[str | None]:
        """The fields of a change a refusal must not quote: its subject id, and
        an item ref the store does not track (it may be a customer id)."""
        item_ref: str | None = getattr(change, "item_ref", None)
        tracked = item_ref is not None and self.app.find_item(item_ref) is not None
        return [getattr(change, "subject_id", None), None if tracked else item_ref]
