"""What a batch refuses: dead letters with their log line, and records set aside.

A record refused by the contract or the domain goes to the dead letters; one
the event store refuses on save goes there too and is set aside, with its
tracking position committed (lethe/consumers/refused.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from eventsourcing.persistence import Tracking

from lethe.consumers import refused, shown
from lethe.consumers.checks import Delivered
from lethe.consumers.deadletter import DeadLetters, dead_letter
from lethe.consumers.reasons import ReasonCode
from lethe.consumers.refused import SetAsideRow
from lethe.consumers.slices import Taken
from lethe.domain.application import Lethe

ORDER_ID_HEADER = "lethe.order-id"  # the relay's: on every tombstone Lethe sends

log = structlog.get_logger("lethe.consumers")


def _sent_by_lethe(record: Delivered) -> bool:
    headers = getattr(record, "headers", None) or ()
    return any(name == ORDER_ID_HEADER for name, _value in headers)


class Rejects:
    def __init__(
        self, app: Lethe, dead: DeadLetters, set_aside_row: SetAsideRow | None
    ) -> None:
        self.app = app
        self.dead = dead
        self.set_aside_row = set_aside_row

    def send(
        self,
        record: Delivered,
        reason: str,
        now: datetime,
        taken: Taken,
        code: ReasonCode,
    ) -> None:
        """A dead letter (flushed by the caller before it commits) and a line."""
        self.dead.send(dead_letter(record, reason, now, code))
        taken.dead += 1
        where: dict[str, Any] = {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
        }
        where.update(self._shown_key(record.key))
        log.warning("dead letter", **where, reason=reason, code=code.value)

    def set_aside(
        self,
        record: Delivered,
        tracking_name: str,
        error: Exception,
        personal: Sequence[str | None],
        now: datetime,
        taken: Taken,
    ) -> None:
        """A dead letter, then the record's tracking position with the row that
        `lethe status` shows: refused once, never delivered again. A crash in
        between sends the letter twice, as for any dead letter."""
        why = refused.reason(error, personal)
        self.send(record, why, now, taken, ReasonCode.STORE_REFUSED)
        self.dead.flush()
        rows: list[tuple[str, Sequence[Any]]] = []
        if self.set_aside_row is not None:
            where = refused.place(tracking_name, record.offset)
            rows.append(self.set_aside_row(where, why, now))
        tracking = Tracking(tracking_name, record.offset)
        self.app.record(tracking=tracking, statements=rows)

    def tombstone(self, record: Delivered, now: datetime, taken: Taken) -> None:
        """Lethe's own tombstones pass; anyone else's goes to the dead letters.

        Only Lethe erases: a producer's tombstone would make Kafka forget an item
        Lethe still keeps (a held one too) with nothing in the history to say so.
        """
        if _sent_by_lethe(record) or self._ordered(record.key):
            return
        self.send(
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
