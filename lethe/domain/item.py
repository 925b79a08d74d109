"""The item lifecycle: one event-sourced stream per alarm event, image or recording."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from lethe.domain import identity
from lethe.domain.errors import (
    DueBeforeCapturedError,
    ErasureAlreadyOrderedError,
    ItemAlreadyErasedError,
    ItemHeldError,
    ItemRestrictedError,
    NoSuchHoldError,
    NoSuchRestrictionError,
    NotConfirmedError,
    NotDueError,
    OrderRecalledError,
    UnknownOrderError,
    UnknownRecallError,
)


class ItemState(StrEnum):
    WAITING = "waiting"  # the clock has not started (e.g. relationship not ended)
    SCHEDULED = "scheduled"
    ERASURE_ORDERED = "erasure-ordered"
    ERASURE_FAILED = "erasure-failed"
    # A hold or restriction came after the order went out: a recall is on its way
    # to the stores, and their answer (RECALLED or TOO_LATE) decides.
    RECALL_SENT = "recall-sent"
    ERASED = "erased"


class ErasureCause(StrEnum):
    RETENTION_EXPIRED = "RETENTION_EXPIRED"
    SUBJECT_ERASURE = "SUBJECT_ERASURE"
    ARRIVED_EXPIRED = "ARRIVED_EXPIRED"


class Outcome(StrEnum):
    DELETED = "DELETED"
    NOT_FOUND = "NOT_FOUND"
    FAILED = "FAILED"
    # A store's answers to a recall: kept (the order was not carried out), or
    # the order was carried out already (the bytes are gone).
    RECALLED = "RECALLED"
    TOO_LATE = "TOO_LATE"


RECALL_ANSWERS = (Outcome.RECALLED, Outcome.TOO_LATE)
# A store's answer to a replay is dated by its own clock: one a little behind
# Lethe's still answers the replay, not the order before it.
REPLAY_ANSWER_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Source:
    """Where a record was read: the audit trail's answer to 'where did it come from'."""

    topic: str
    partition: int
    offset: int


class Item(Aggregate):
    """An item Lethe must forget on time.

    Holds references and facts, never personal data.
    """

    @staticmethod
    def create_id(item_ref: str) -> UUID:
        return identity.item_id(item_ref)

    if TYPE_CHECKING:
        # The events `@event("Name")` below creates at runtime, declared for the type
        # checker only: eventsourcing builds them from the method signatures, which
        # mypy cannot see. Runtime is untouched, so the stored topics stay
        # `lethe.domain.item:Item.<Name>`; tests/unit/test_event_declarations.py
        # fails when a declaration here and the method it stands for differ.
        class Scheduled(Aggregate.Event):
            due_at: datetime | None
            rule: str
            policy: str
            basis: str
            at: datetime

        class Rescheduled(Aggregate.Event):
            policy: str
            rule: str
            due_at: datetime | None
            previous_due_at: datetime | None
            at: datetime

        class PoliceFlagged(Aggregate.Event):
            case_ref: str
            by: str
            at: datetime

        class HoldPlaced(Aggregate.Event):
            case_ref: str
            reason: str
            by: str
            at: datetime

        class HoldReleased(Aggregate.Event):
            case_ref: str
            by: str
            at: datetime

        class Restricted(Aggregate.Event):
            ticket: str
            reason: str
            by: str
            at: datetime

        class RestrictionLifted(Aggregate.Event):
            ticket: str
            by: str
            at: datetime

        class KeptForLegalObligation(Aggregate.Event):
            request_id: str
            at: datetime

        class ErasureReissued(Aggregate.Event):
            order_id: str
            attempt: int
            at: datetime

        class Erased(Aggregate.Event):
            order_id: str
            store: str
            outcome: str
            at: datetime

        class ErasureFailed(Aggregate.Event):
            order_id: str
            store: str
            detail: str | None
            at: datetime

        class ErasureWithheld(Aggregate.Event):
            order_id: str
            held_by: list[str]
            at: datetime

        class ReissueWithheld(Aggregate.Event):
            order_id: str
            attempt: int
            held_by: list[str]
            at: datetime

        class ErasureRecalled(Aggregate.Event):
            order_id: str
            order_version: int
            held_by: list[str]
            at: datetime

        class RecallAnswered(Aggregate.Event):
            order_id: str
            store: str
            outcome: str
            detail: str | None
            at: datetime

        class ArrivedAgain(Aggregate.Event):
            source_topic: str
            source_partition: int
            source_offset: int
            at: datetime

        class ErasureReplayed(Aggregate.Event):
            order_id: str
            number: int
            store: str
            since: datetime
            item_ref: str
            subject_ref: str
            at: datetime

        class ReplayWithheld(Aggregate.Event):
            order_id: str
            number: int
            held_by: list[str]
            at: datetime

        class ReplayAnswered(Aggregate.Event):
            order_id: str
            number: int
            store: str
            outcome: str
            detail: str | None
            at: datetime

    class Ingested(Aggregate.Created):
        """The item as it arrived, with its first schedule.

        Version 1 stored the first schedule as a separate `Scheduled` event, which
        still follows every version-1 `Ingested` in old stores. One event per new
        item halves what ingest encodes and writes.
        """

        class_version = 2
        item_ref: str
        kind: str
        source_topic: str
        source_partition: int
        source_offset: int
        controller: str
        category: str
        subject_ref: str
        captured_at: datetime
        police_relevant: bool
        blob_uri: str | None
        sha256: str | None
        legal_basis: str | None
        content_digest: str
        ingested_at: datetime
        due_at: datetime | None
        rule: str
        policy: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Not scheduled yet: the version-1 Scheduled event that follows does it.
            state.update(due_at=None, rule="", policy="")

    @event(Ingested)
    def __init__(
        self,
        item_ref: str,
        kind: str,
        source_topic: str,
        source_partition: int,
        source_offset: int,
        controller: str,
        category: str,
        subject_ref: str,
        captured_at: datetime,
        police_relevant: bool,
        blob_uri: str | None,
        sha256: str | None,
        legal_basis: str | None,
        content_digest: str,
        ingested_at: datetime,
        due_at: datetime | None,
        rule: str,
        policy: str,
    ) -> None:
        if due_at is not None and due_at < captured_at:
            raise DueBeforeCapturedError(item_ref, due_at, captured_at)
        self.item_ref = item_ref
        self.kind = kind
        self.source = Source(source_topic, source_partition, source_offset)
        self.controller = controller
        self.category = category
        self.subject_ref = subject_ref
        self.captured_at = captured_at
        self.police_relevant = police_relevant
        self.blob_uri = blob_uri
        self.sha256 = sha256
        self.legal_basis = legal_basis
        self.content_digest = content_digest
        self.ingested_at = ingested_at
        self.state = ItemState.WAITING if due_at is None else ItemState.SCHEDULED
        self.due_at = due_at
        self.rule = rule
        self.policy = policy
        self.holds: dict[str, dict[str, Any]] = {}
        self.restrictions: dict[str, dict[str, Any]] = {}
        self.kept_for_legal_obligation = False
        self.order: dict[str, Any] | None = None
        self.attempts = 0
        # When the last hold or restriction went: the clock restarts no earlier.
        self.released_at: datetime | None = None
        # The recalls still out, by order id: an order's recall waits for its own
        # answer even after a later order (a copy that came back) went out, and
        # that later order can be recalled too. The answers stores gave to
        # recalls, by order id; the orders a store kept (RECALLED), counted so
        # that an order made after a recall gets an id the stores never saw.
        self.recalls_out: dict[str, dict[str, Any]] = {}
        self.recall_answers: dict[str, str] = {}
        self.recalled_orders: set[str] = set()

    @classmethod
    def arrive(cls, **facts: Any) -> Item:
        """As `Item(**facts)`, built directly: the same `Ingested` event (so the
        same stored bytes, tests/unit/test_item_arrive.py) and the same state,
        without eventsourcing's generic constructor, which filters every
        argument against three signatures per item (~40 % of making an item).
        `facts` are exactly `__init__`'s parameters, all given."""
        originator_id = cls.create_id(facts["item_ref"])
        timestamp = cls.Ingested.create_timestamp()
        created = cls.Ingested(
            originator_topic=_ITEM_TOPIC,
            originator_id=originator_id,
            originator_version=cls.INITIAL_VERSION,
            timestamp=timestamp,
            **facts,
        )
        item = cls.__new__(cls)
        item.__base_init__(originator_id, cls.INITIAL_VERSION, timestamp)
        item.__init__(**facts)  # type: ignore[misc]  # the body; raises as Item() does
        created.apply(item)
        item.pending_events.append(created)
        return item

    # -- schedule ----------------------------------------------------------------

    def schedule(
        self, due_at: datetime | None, rule: str, policy: str, basis: str, at: datetime
    ) -> bool:
        """Record a (new) due instant; returns False when nothing changed."""
        if self.order is not None:
            return False  # an ordered erasure is not un-ordered by a new schedule
        if due_at is not None and due_at < self.captured_at:
            raise DueBeforeCapturedError(self.item_ref, due_at, self.captured_at)
        if (due_at, rule, policy) == (self.due_at, self.rule, self.policy) and (
            self.state != ItemState.WAITING or due_at is None
        ):
            return False
        self._scheduled(due_at=due_at, rule=rule, policy=policy, basis=basis, at=at)
        return True

    @event("Scheduled")
    def _scheduled(
        self, due_at: datetime | None, rule: str, policy: str, basis: str, at: datetime
    ) -> None:
        self.due_at, self.rule, self.policy = due_at, rule, policy
        self.state = ItemState.WAITING if due_at is None else ItemState.SCHEDULED

    def adopt_policy(
        self, due_at: datetime | None, rule: str, policy: str, at: datetime
    ) -> bool:
        """Move to a new version of its policy (`lethe policy apply`); False when
        already under it or past rescheduling (ordered or erased)."""
        if self.order is not None or self.policy == policy:
            return False
        if due_at is not None and due_at < self.captured_at:
            raise DueBeforeCapturedError(self.item_ref, due_at, self.captured_at)
        self._rescheduled(
            policy=policy, rule=rule, due_at=due_at, previous_due_at=self.due_at, at=at
        )
        return True

    @event("Rescheduled")
    def _rescheduled(
        self,
        policy: str,
        rule: str,
        due_at: datetime | None,
        previous_due_at: datetime | None,
        at: datetime,
    ) -> None:
        self.due_at, self.rule, self.policy = due_at, rule, policy
        self.state = ItemState.WAITING if due_at is None else ItemState.SCHEDULED

    def mark_police_relevant(self, case_ref: str, by: str, at: datetime) -> None:
        self._ensure_not_erased()
        self._police_flagged(case_ref=case_ref, by=by, at=at)
        self._recall_if_out(f"police:{case_ref}", at)

    @event("PoliceFlagged")
    def _police_flagged(self, case_ref: str, by: str, at: datetime) -> None:
        self.police_relevant = True

    # -- holds and restrictions ----------------------------------------------------

    def place_hold(self, case_ref: str, reason: str, by: str, at: datetime) -> bool:
        if case_ref in self.holds:
            return False
        self._ensure_not_erased()
        self._hold_placed(case_ref=case_ref, reason=reason, by=by, at=at)
        self._recall_if_out(f"hold:{case_ref}", at)
        return True

    @event("HoldPlaced")
    def _hold_placed(self, case_ref: str, reason: str, by: str, at: datetime) -> None:
        self.holds[case_ref] = {"reason": reason, "by": by, "at": at}

    def release_hold(self, case_ref: str, by: str, at: datetime) -> None:
        if case_ref not in self.holds:
            raise NoSuchHoldError(f"item {self.item_ref}", case_ref)
        self._hold_released(case_ref=case_ref, by=by, at=at)
        self._order_kept_copy(at)

    @event("HoldReleased")
    def _hold_released(self, case_ref: str, by: str, at: datetime) -> None:
        del self.holds[case_ref]
        self._note_release(at)

    def restrict(self, ticket: str, reason: str, by: str, at: datetime) -> bool:
        if ticket in self.restrictions:
            return False
        self._ensure_not_erased()
        self._restricted(ticket=ticket, reason=reason, by=by, at=at)
        self._recall_if_out(f"restriction:{ticket}", at)
        return True

    @event("Restricted")
    def _restricted(self, ticket: str, reason: str, by: str, at: datetime) -> None:
        self.restrictions[ticket] = {"reason": reason, "by": by, "at": at}

    def lift_restriction(self, ticket: str, by: str, at: datetime) -> None:
        if ticket not in self.restrictions:
            raise NoSuchRestrictionError(f"item {self.item_ref}", ticket)
        self._restriction_lifted(ticket=ticket, by=by, at=at)
        self._order_kept_copy(at)

    @event("RestrictionLifted")
    def _restriction_lifted(self, ticket: str, by: str, at: datetime) -> None:
        del self.restrictions[ticket]
        self._note_release(at)

    def _note_release(self, at: datetime) -> None:
        if not self.holds and not self.restrictions:
            self.released_at = at

    def keep_for_legal_obligation(self, request_id: str, at: datetime) -> bool:
        """A subject asked to be forgotten, but law keeps this item until it is due.

        Processing other than storage stops; unlike an art. 18 restriction this does
        not stop the erasure at the normal due time.
        """
        if self.kept_for_legal_obligation or self.order is not None:
            return False
        self._kept_for_legal_obligation(request_id=request_id, at=at)
        return True

    @event("KeptForLegalObligation")
    def _kept_for_legal_obligation(self, request_id: str, at: datetime) -> None:
        self.kept_for_legal_obligation = True

    # -- erasure -------------------------------------------------------------------

    @property
    def is_held(self) -> bool:
        return bool(self.holds)

    @property
    def is_restricted(self) -> bool:
        return bool(self.restrictions)

    def is_due(self, at: datetime) -> bool:
        return self.due_at is not None and self.due_at <= at

    def order_erasure(self, cause: ErasureCause, at: datetime) -> str:
        """Order this item's erasure, once; the domain refuses every forbidden case."""
        self._ensure_not_ordered()
        if self.holds:
            raise ItemHeldError(self.item_ref, sorted(self.holds))
        if self.restrictions:
            raise ItemRestrictedError(self.item_ref, sorted(self.restrictions))
        # Only a subject's request goes before the due instant, and not for an item
        # the law keeps until then.
        kept = self.kept_for_legal_obligation
        early = cause == ErasureCause.SUBJECT_ERASURE and not kept
        if not early and not self.is_due(at):
            raise NotDueError(self.item_ref, self.due_at, at)
        # After a recall the stores know the old id as kept: a new order is new.
        recalled = len(self.recalled_orders)
        named = cause.value if not recalled else f"{cause.value}@recall-{recalled}"
        order_id = identity.order_id(self.item_ref, named, self.content_digest)
        ordered = erasure_ordered(
            self.id,
            self.version + 1,
            {
                "order_id": order_id,
                "cause": cause.value,
                "rule": self.rule,
                "policy": self.policy,
                "due_at": self.due_at,
                "item_ref": self.item_ref,
                "source_topic": self.source.topic,
                "source_partition": self.source.partition,
                "category": self.category,
                "blob_uri": self.blob_uri,
                "sha256": self.sha256,
                "at": at,
                "subject_ref": self.subject_ref,
            },
        )
        # What trigger_event does after building the event, minus its argument
        # binding (a fifth of ordering's CPU): the event's own apply mutates.
        ordered.mutate(self)
        self._pending_events.append(ordered)
        return order_id

    def order_due_erasure(self, at: datetime) -> str:
        """The sweeper's order: an item that arrived already past due says so."""
        arrived_expired = self.due_at is not None and self.due_at <= self.ingested_at
        cause = (
            ErasureCause.ARRIVED_EXPIRED
            if arrived_expired
            else ErasureCause.RETENTION_EXPIRED
        )
        return self.order_erasure(cause, at)

    class ErasureOrdered(Aggregate.Event):
        """An order to erase the item, with what the relay needs to send it.

        Version 2 carries the item's ref and source partition, so the relay sends
        the tombstone without reading `Ingested` back; version 1 has neither, and
        the relay reads them from `Ingested` for such an order. Version 3 carries
        the subject's pseudonym, so the relay's gate finds the subject's holds
        without looking the item up; older orders are looked up.
        """

        class_version = 3
        order_id: str
        cause: str
        rule: str
        policy: str
        due_at: datetime | None
        item_ref: str | None
        source_topic: str
        source_partition: int | None
        category: str
        blob_uri: str | None
        sha256: str | None
        at: datetime
        subject_ref: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(item_ref=None, source_partition=None)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state.update(subject_ref=None)

    @event(ErasureOrdered)
    def _erasure_ordered(
        self,
        order_id: str,
        cause: str,
        rule: str,
        policy: str,
        due_at: datetime | None,
        item_ref: str | None,
        source_topic: str,
        source_partition: int | None,
        category: str,
        blob_uri: str | None,
        sha256: str | None,
        at: datetime,
        subject_ref: str | None,
    ) -> None:
        # The version names this order among equal ids: a withheld order made
        # again later carries the same id (item and cause) but a new version.
        self.order = {"order_id": order_id, "cause": cause, "at": at}
        self.order_version = self.version + 1
        self.attempts = 1
        self.state = ItemState.ERASURE_ORDERED

    def withhold_erasure(
        self, order_id: str, ordered_version: int, held_by: list[str], at: datetime
    ) -> bool:
        """The relay kept this order back: a hold or restriction preceded it in the
        log (`held_by` names them). Nothing left Lethe, so nothing is recalled: the
        item is back on its schedule, and the marks' copies keep it there.

        Returns False when this order was already withheld (a relay's replay).
        """
        order = self.order
        if order is None or getattr(self, "order_version", None) != ordered_version:
            return False
        if order["order_id"] != order_id or self.state not in (
            ItemState.ERASURE_ORDERED,
            ItemState.RECALL_SENT,  # a late mark's recall, now moot: never sent
        ):
            return False
        self._erasure_withheld(order_id=order_id, held_by=held_by, at=at)
        return True

    @event("ErasureWithheld")
    def _erasure_withheld(
        self, order_id: str, held_by: list[str], at: datetime
    ) -> None:
        self._back_on_schedule()

    @property
    def recall(self) -> dict[str, Any] | None:
        """The recall out for the live order, if any."""
        if self.order is None:
            return None
        return self.recalls_out.get(self.order["order_id"])

    def _drop_recall(self, order_id: str) -> None:
        # A new dict, not a pop: state built by an event's apply is not shared.
        self.recalls_out = {k: v for k, v in self.recalls_out.items() if k != order_id}

    def _back_on_schedule(self) -> None:
        """The order is void (withheld, or kept by a store): the clock decides."""
        if self.order is not None:  # a withheld order's recall was never sent
            self._drop_recall(self.order["order_id"])
        self.order = None
        self.attempts = 0
        self.state = ItemState.WAITING if self.due_at is None else ItemState.SCHEDULED

    def withhold_reissue(
        self, order_id: str, attempt: int, held_by: list[str], at: datetime
    ) -> bool:
        """The relay kept a re-sent order back: a hold or restriction preceded it.

        The first order went out, so the item stays ordered; the history says
        this attempt never left. False when already recorded (a relay's replay).
        """
        if self.order is None or self.order["order_id"] != order_id:
            return False
        withheld: set[int] = getattr(self, "withheld_attempts", set())
        if attempt in withheld:
            return False
        self._reissue_withheld(
            order_id=order_id, attempt=attempt, held_by=held_by, at=at
        )
        return True

    @event("ReissueWithheld")
    def _reissue_withheld(
        self, order_id: str, attempt: int, held_by: list[str], at: datetime
    ) -> None:
        self.withheld_attempts = {*getattr(self, "withheld_attempts", set()), attempt}

    def erase_again(
        self, source_topic: str, source_partition: int, source_offset: int, at: datetime
    ) -> bool:
        """A record of this erased item arrived again (republished, restored): order
        it erased once more, under a new order id (named by where the record was
        read, so a replay of the same record orders nothing twice), so the relay
        sends a fresh tombstone and the stores delete bytes that came back too.

        Returns False when the item is not erased (its order is still out: a
        reissue sends the tombstone again) or this record was already answered.
        """
        if self.state != ItemState.ERASED or self.order is None:
            return False
        where = f"{source_topic}:{source_partition}:{source_offset}"
        if self._copy_order_id(where) == self.order["order_id"]:
            return False
        self._arrived_again(
            source_topic=source_topic,
            source_partition=source_partition,
            source_offset=source_offset,
            at=at,
        )
        if self.holds or self.restrictions:
            # A late hold whose store answered TOO_LATE: the hold wins over the
            # copy too. The history names its arrival; the order waits for the
            # last release (_order_kept_copy).
            return True
        self._order_copy(where, at)
        return True

    def _copy_order_id(self, where: str) -> str:
        assert self.order is not None
        return identity.order_id(
            self.item_ref, f"{self.order['cause']}@{where}", self.content_digest
        )

    def _order_copy(self, where: str, at: datetime) -> None:
        """Order the copy read at `where` erased, under its own order id."""
        assert self.order is not None
        topic, partition, _offset = where.rsplit(":", 2)  # topic names have no ":"
        self._erasure_ordered(
            order_id=self._copy_order_id(where),
            cause=self.order["cause"],
            rule=self.rule,
            policy=self.policy,
            due_at=self.due_at,
            item_ref=self.item_ref,
            source_topic=topic,
            source_partition=int(partition),
            category=self.category,
            blob_uri=self.blob_uri,
            sha256=self.sha256,
            at=at,
            subject_ref=self.subject_ref,
        )

    def _order_kept_copy(self, at: datetime) -> None:
        """After the last release: a copy that came back while held goes now."""
        where = getattr(self, "copy_back", None)
        if self.holds or self.restrictions or where is None:
            return
        if self.state != ItemState.ERASED or self.order is None:
            return
        if self._copy_order_id(where) != self.order["order_id"]:
            self._order_copy(where, at)

    @event("ArrivedAgain")
    def _arrived_again(
        self, source_topic: str, source_partition: int, source_offset: int, at: datetime
    ) -> None:
        # The latest copy back: ordered at once, or at the last release if held.
        self.copy_back = f"{source_topic}:{source_partition}:{source_offset}"

    # -- replay: a store restored from a backup forgets again ----------------------

    def replay_erasure(
        self, order_id: str, store: str, since: datetime, at: datetime, marks: list[str]
    ) -> list[str]:
        """Send an order `store` confirmed (DELETED or NOT_FOUND) again, as a
        replay: same order id, a new replay number, for that store only. Not a
        second order: the item's state and its erasure stay as they are.

        Holds win: with a hold or restriction on the item, or `marks` (the
        subject's) on, nothing is recorded and the marks are returned.
        """
        if store not in self.confirmed_by(order_id):
            raise NotConfirmedError(self.item_ref, order_id, store)
        held = sorted(
            [f"hold:{case}" for case in self.holds]
            + [f"restriction:{ticket}" for ticket in self.restrictions]
            + list(marks)
        )
        if held:
            return held
        number = getattr(self, "replay_count", {}).get(order_id, 0) + 1
        # The item's ref and its subject's pseudonym, so the relay and the audit
        # judge the replay against its subject's holds without the item's history.
        self._erasure_replayed(
            order_id=order_id,
            number=number,
            store=store,
            since=since,
            item_ref=self.item_ref,
            subject_ref=self.subject_ref,
            at=at,
        )
        return []

    def confirmed_by(self, order_id: str) -> list[str]:
        """The stores that confirmed `order_id` erased (DELETED or NOT_FOUND)."""
        confirmed: dict[str, list[str]] = getattr(self, "confirmed", {})
        return confirmed.get(order_id, [])

    @event("ErasureReplayed")
    def _erasure_replayed(
        self,
        order_id: str,
        number: int,
        store: str,
        since: datetime,
        item_ref: str,
        subject_ref: str,
        at: datetime,
    ) -> None:
        counts = getattr(self, "replay_count", {})
        self.replay_count = {**counts, order_id: number}
        out = getattr(self, "replays_out", {})
        for_order = {**out.get(order_id, {}), store: {"number": number, "at": at}}
        self.replays_out = {**out, order_id: for_order}

    def withhold_replay(
        self, order_id: str, number: int, held_by: list[str], at: datetime
    ) -> bool:
        """The relay kept a replay back: a mark on the subject preceded it in the
        log. False when already recorded (a relay's replay of its page)."""
        pending = self._replay_out(order_id, number)
        if pending is None:
            return False
        self._replay_withheld(order_id=order_id, number=number, held_by=held_by, at=at)
        return True

    @event("ReplayWithheld")
    def _replay_withheld(
        self, order_id: str, number: int, held_by: list[str], at: datetime
    ) -> None:
        self._close_replay(order_id, number)

    def _replay_out(self, order_id: str, number: int) -> str | None:
        """The store a replay still waits on, if it is out."""
        out: dict[str, dict[str, Any]] = getattr(self, "replays_out", {})
        for store, pending in out.get(order_id, {}).items():
            if pending["number"] == number:
                return store
        return None

    def _close_replay(self, order_id: str, number: int) -> None:
        out = getattr(self, "replays_out", {})
        left = {
            store: pending
            for store, pending in out.get(order_id, {}).items()
            if pending["number"] != number
        }
        self.replays_out = {**out, order_id: left}

    def _answer_replay(
        self,
        order_id: str,
        store: str,
        outcome: Outcome,
        detail: str | None,
        at: datetime,
    ) -> bool | None:
        """The store's answer to a replay out for it; None when none is out (the
        answer is to the order itself, or a redelivered one)."""
        out: dict[str, dict[str, Any]] = getattr(self, "replays_out", {})
        pending = out.get(order_id, {}).get(store)
        # The original order's answer, redelivered, was given before the replay.
        if pending is None or at < pending["at"] - REPLAY_ANSWER_SKEW:
            return None
        self._replay_answered(
            order_id=order_id,
            number=pending["number"],
            store=store,
            outcome=outcome.value,
            detail=detail,
            at=at,
        )
        return True

    @event("ReplayAnswered")
    def _replay_answered(
        self,
        order_id: str,
        number: int,
        store: str,
        outcome: str,
        detail: str | None,
        at: datetime,
    ) -> None:
        self._close_replay(order_id, number)

    def reissue_erasure(self, at: datetime) -> int:
        """Send the same order again (unconfirmed or failed); returns the attempt."""
        if self.order is None:
            raise NotDueError(self.item_ref, self.due_at, at)
        if self.state == ItemState.ERASED:
            raise ItemAlreadyErasedError(self.item_ref)
        if self.recall is not None:
            raise OrderRecalledError(self.item_ref, self.order["order_id"])
        self._erasure_reissued(
            order_id=self.order["order_id"], attempt=self.attempts + 1, at=at
        )
        return self.attempts

    @event("ErasureReissued")
    def _erasure_reissued(self, order_id: str, attempt: int, at: datetime) -> None:
        self.attempts = attempt
        self.state = ItemState.ERASURE_ORDERED

    def confirm_erasure(
        self,
        order_id: str,
        store: str,
        outcome: Outcome,
        detail: str | None,
        at: datetime,
    ) -> bool:
        """A store answered an order or a recall; False for a duplicate answer."""
        if outcome in RECALL_ANSWERS:
            return self._answer_recall(order_id, store, outcome, detail, at)
        replayed = self._answer_replay(order_id, store, outcome, detail, at)
        if replayed is not None:
            return replayed
        if order_id in self.recalled_orders:
            # The store kept it (RECALLED), yet says it erased it after all: the
            # bytes are gone, and the history must say so (audit verify names it).
            if outcome == Outcome.FAILED or self.state == ItemState.ERASED:
                return False
            self._erased(order_id=order_id, store=store, outcome=outcome.value, at=at)
            return True
        if self.order is None or self.order["order_id"] != order_id:
            if self.confirmed_by(order_id):
                return False  # an earlier order's answer (a replay's), redelivered
            raise UnknownOrderError(self.item_ref, order_id)
        if self.state == ItemState.ERASED:
            return (
                False  # a second store's or a redelivered confirmation changes nothing
            )
        if outcome == Outcome.FAILED:
            self._erasure_failed(order_id=order_id, store=store, detail=detail, at=at)
        else:
            self._erased(order_id=order_id, store=store, outcome=outcome.value, at=at)
        return True

    @event("Erased")
    def _erased(self, order_id: str, store: str, outcome: str, at: datetime) -> None:
        self.state = ItemState.ERASED
        confirmed = getattr(self, "confirmed", {})
        stores = [*confirmed.get(order_id, []), store]
        self.confirmed = {**confirmed, order_id: stores}

    @event("ErasureFailed")
    def _erasure_failed(
        self, order_id: str, store: str, detail: str | None, at: datetime
    ) -> None:
        if self.recall is None:  # a recall out waits for its own answer
            self.state = ItemState.ERASURE_FAILED

    # -- recall: a hold or restriction that came after the order -------------------

    def _recall_if_out(self, mark: str, at: datetime) -> None:
        """Recall the live order, once: the store may not have carried it out."""
        if self.order is None or self.recall is not None:
            return
        if self.state not in (ItemState.ERASURE_ORDERED, ItemState.ERASURE_FAILED):
            return
        self._erasure_recalled(
            order_id=self.order["order_id"],
            order_version=self.order_version,
            held_by=[mark],
            at=at,
        )

    @event("ErasureRecalled")
    def _erasure_recalled(
        self, order_id: str, order_version: int, held_by: list[str], at: datetime
    ) -> None:
        self.recalls_out = {
            **self.recalls_out,
            order_id: {"order_id": order_id, "at": at},
        }
        self.state = ItemState.RECALL_SENT

    def _answer_recall(
        self,
        order_id: str,
        store: str,
        outcome: Outcome,
        detail: str | None,
        at: datetime,
    ) -> bool:
        if order_id not in self.recalls_out:
            if order_id in self.recall_answers:
                return False  # a redelivered (or a second store's) answer
            raise UnknownRecallError(self.item_ref, order_id)
        # Whether a store already confirmed this very order: a later order's
        # state (a copy's, out now) says nothing about the bytes this one named.
        erased_before = bool(self.confirmed_by(order_id))
        self._recall_answered(
            order_id=order_id, store=store, outcome=outcome.value, detail=detail, at=at
        )
        if outcome == Outcome.TOO_LATE and not erased_before:
            # The store carried the order out before the recall reached it and
            # says so only now: the bytes are gone.
            self._erased(
                order_id=order_id, store=store, outcome=Outcome.DELETED.value, at=at
            )
        return True

    @event("RecallAnswered")
    def _recall_answered(
        self, order_id: str, store: str, outcome: str, detail: str | None, at: datetime
    ) -> None:
        self._drop_recall(order_id)
        self.recall_answers = {**self.recall_answers, order_id: outcome}
        live = self.order is not None and self.order["order_id"] == order_id
        if outcome == Outcome.RECALLED and live and self.state != ItemState.ERASED:
            # Kept: the order is void, and the item is back on its schedule,
            # where its holds and restrictions keep it.
            self.recalled_orders = {*self.recalled_orders, order_id}
            self._back_on_schedule()

    def _ensure_not_erased(self) -> None:
        if self.state == ItemState.ERASED:
            raise ItemAlreadyErasedError(self.item_ref)

    def _ensure_not_ordered(self) -> None:
        if self.order is not None:
            raise ErasureAlreadyOrderedError(self.item_ref, self.order["order_id"])


# What the generic constructor stores as `originator_topic`: the class's topic.
_ITEM_TOPIC = get_topic(Item)

# The fields of ErasureOrdered in the order its dataclass __init__ sets them,
# which is the order the mapper encodes them in (so the stored bytes are equal).
_ORDER_BASE = ("originator_id", "originator_version", "timestamp")
_ORDER_FIELDS = tuple(
    f.name for f in dataclasses.fields(Item.ErasureOrdered) if f.name not in _ORDER_BASE
)


def erasure_ordered(
    originator_id: UUID,
    originator_version: int,
    fields: dict[str, Any],
    timestamp: datetime | None = None,
) -> Any:
    """`Item.ErasureOrdered` as the `@event` path builds it, without binding the
    method's arguments: ordering makes one per item, thousands per sweep.

    `fields` must name every field of the event, no more (the same state, so the
    same stored bytes: tests/unit/test_lean_order.py compares them).
    """
    if fields.keys() != set(_ORDER_FIELDS):
        raise TypeError(f"ErasureOrdered needs {_ORDER_FIELDS}, got {sorted(fields)}")
    cls = Item.ErasureOrdered
    state: dict[str, Any] = {
        "originator_id": originator_id,
        "originator_version": originator_version,
        "timestamp": cls.create_timestamp() if timestamp is None else timestamp,
    }
    for name in _ORDER_FIELDS:
        state[name] = fields[name]
    ordered: Any = object.__new__(cls)
    object.__setattr__(ordered, "__dict__", state)  # a frozen dataclass, as decoded
    return ordered
