"""The disposal report's item figures: delays per category, why late, tombstones.

Fed the same events as the Verifier, in log order. Per live item it keeps a
few facts (no subject id, no blob): its controller, category, when it was due
and arrived, the last release after its due time, and its open order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from lethe.domain.item import ErasureCause, Item
from lethe.projections.audit_report_durations import Durations

ON_TIME = "on_time"
ARRIVED_LATE = "arrived_late"
HELD = "held"
RESTRICTED = "restricted"
MISSED_BY_SWEEP = "missed_by_sweep"
NO_SWEEP = "no_sweep"


@dataclass
class Note:
    """What the report remembers of one live item."""

    item_ref: str
    controller: str
    category: str
    subject_ref: str
    ingested: datetime
    due: datetime | None = None
    held_until: datetime | None = None  # the last hold released after due
    restricted_until: datetime | None = None
    ordered: datetime | None = None
    cause: str = ""
    tombstones: int = 0  # sent in the month for the order still open


@dataclass
class ItemTally:
    """Figures of one month [start, end): every instant judged by its own clock."""

    start: datetime
    end: datetime
    late_after: timedelta  # the sweep interval plus the slack
    relayed_up_to: int  # the relay's log position when the report was made
    notes: dict[UUID, Note] = field(default_factory=dict)
    due_to_order: dict[str, Durations] = field(default_factory=dict)
    order_to_erased: dict[str, Durations] = field(default_factory=dict)
    due_to_erased: Durations = field(default_factory=Durations)
    late_reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    tombstones: int = 0
    # A confirmation stamped before its own order or due time: two clocks
    # disagree (a store's and Lethe's). Counted, never folded into the
    # durations as zero: that was the "p50 0.0 min" beside ORDERED_LATE, when
    # the demo's eraser stamped its wall clock on orders of a simulated future.
    clocks_disagree: int = 0
    by_controller: Counter[tuple[str, str]] = field(default_factory=Counter)
    policy_changes: Counter[str] = field(default_factory=Counter)
    missed: set[str] = field(default_factory=set)  # refs verify just named late

    def in_month(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def apply(self, e: Any, position: int) -> None:
        handler = _HANDLERS.get(type(e))
        if handler is not None:
            handler(self, e, position)

    # -- handlers ------------------------------------------------------------------

    def _ingested(self, e: Any, _position: int) -> None:
        self.notes[e.originator_id] = Note(
            e.item_ref, e.controller, e.category, e.subject_ref, e.ingested_at, e.due_at
        )

    def _scheduled(self, e: Any, _position: int) -> None:
        note = self.notes.get(e.originator_id)
        if note is None:
            return
        if (
            note.due is not None
            and e.due_at is not None
            and note.due < e.due_at <= e.at
        ):
            # A release restarting the clock (due at max(due, release)): the
            # rule's due time stands, so the hold shows as the delay it caused.
            return
        note.due = e.due_at

    def _policy_applied(self, e: Any, _position: int) -> None:
        if (note := self.notes.get(e.originator_id)) is not None:
            note.due = e.due_at

    def _rescheduled(self, e: Any, _position: int) -> None:
        self._policy_applied(e, _position)
        if self.in_month(e.at):
            self.policy_changes[e.policy] += 1

    def _released(self, e: Any, _position: int) -> None:
        note = self.notes.get(e.originator_id)
        if note is not None and note.due is not None and e.at > note.due:
            if type(e) is Item.HoldReleased:
                note.held_until = e.at
            else:
                note.restricted_until = e.at

    def _ordered(self, e: Any, position: int) -> None:
        note = self.notes.get(e.originator_id)
        if note is None:
            return
        note.ordered, note.cause, note.tombstones = e.at, e.cause, 0
        self._tombstone(note, e.at, position)
        if not self.in_month(e.at) or e.cause == ErasureCause.SUBJECT_ERASURE:
            return  # a subject's request is not due by a rule
        if note.due is not None:
            delay = (e.at - note.due).total_seconds()
            _durations(self.due_to_order, note.category).add(delay)
        reason = self._why(note, e.at)
        self.late_reasons[(note.category, reason)] += 1

    def _why(self, note: Note, at: datetime) -> str:
        """Why an order came later than a sweep interval after its due time."""
        if note.due is None or at - note.due <= self.late_after:
            return ON_TIME
        if note.ingested > note.due:
            return ARRIVED_LATE
        if note.held_until is not None and at - note.held_until <= self.late_after:
            return HELD
        if (
            note.restricted_until is not None
            and at - note.restricted_until <= self.late_after
        ):
            return RESTRICTED
        return MISSED_BY_SWEEP if note.item_ref in self.missed else NO_SWEEP

    def _reissued(self, e: Any, position: int) -> None:
        if (note := self.notes.get(e.originator_id)) is not None:
            self._tombstone(note, e.at, position)

    def _tombstone(self, note: Note, at: datetime, position: int) -> None:
        # Sent if the relay had passed it when the report was made; withheld
        # ones are taken back below (the relay records the withholding).
        if self.in_month(at) and position <= self.relayed_up_to:
            note.tombstones += 1
            self.tombstones += 1

    def _withheld(self, e: Any, _position: int) -> None:
        note = self.notes.get(e.originator_id)
        if note is None or not note.tombstones:
            return
        note.tombstones -= 1
        self.tombstones -= 1
        if type(e) is Item.ErasureWithheld:
            note.ordered, note.cause = None, ""

    def _erased(self, e: Any, _position: int) -> None:
        note = self.notes.pop(e.originator_id, None)
        if note is None or not self.in_month(e.at):
            return
        self.by_controller[(note.controller, e.outcome)] += 1
        if note.ordered is None:
            return
        took = (e.at - note.ordered).total_seconds()
        if took < 0:
            self.clocks_disagree += 1
        else:
            _durations(self.order_to_erased, note.category).add(took)
        if note.cause != ErasureCause.SUBJECT_ERASURE and note.due is not None:
            # From the rule's due time to the store's word, whatever held it up.
            self.due_to_erased.add(max((e.at - note.due).total_seconds(), 0.0))

    # -- output --------------------------------------------------------------------

    def delays(self, categories: tuple[str, ...]) -> list[dict[str, Any]]:
        """Per category (zeros included): due → order and order → confirmation."""
        rows = []
        for category in sorted(
            {*categories, *self.due_to_order, *self.order_to_erased}
        ):
            reasons = {
                reason: n
                for (c, reason), n in sorted(self.late_reasons.items())
                if c == category
            }
            rows.append(
                {
                    "category": category,
                    "due_to_order": _summary(self.due_to_order, category),
                    "order_to_confirmation": _summary(self.order_to_erased, category),
                    "orders_by_reason": reasons,
                }
            )
        return rows


def _durations(table: dict[str, Durations], category: str) -> Durations:
    return table.setdefault(category, Durations())


def _summary(table: dict[str, Durations], category: str) -> dict[str, Any]:
    return table.get(category, Durations()).summary()


_HANDLERS: dict[type, Any] = {
    Item.Ingested: ItemTally._ingested,
    Item.Scheduled: ItemTally._scheduled,
    Item.Rescheduled: ItemTally._rescheduled,
    Item.HoldReleased: ItemTally._released,
    Item.RestrictionLifted: ItemTally._released,
    Item.ErasureOrdered: ItemTally._ordered,
    Item.ErasureReissued: ItemTally._reissued,
    Item.ErasureWithheld: ItemTally._withheld,
    Item.ReissueWithheld: ItemTally._withheld,
    Item.Erased: ItemTally._erased,
}
