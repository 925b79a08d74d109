"""The disposal report's requests and holds: what each request did, holds in force.

A request's `ErasureCarriedOut` is recorded when its orders are made, at once;
it says nothing of whether the stores erased. So each order is followed to its
confirmation, and a request is answered (art. 12(3): the subject can be told
what was done) at the first instant every item it covers is settled: confirmed
erased (DELETED or NOT_FOUND), kept by law (`KeptForLegalObligation`), or kept
under a legal hold (art. 17(3)(e)) or a restriction (art. 18): waiting on one
when the orders were made, or its order withheld or recalled for a hold. That
instant is judged against the deadline, extensions included; it stays the
answer when a hold is released later and the item then goes. `audit verify`
judges requests with this same tally (audit_across.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from lethe.domain import free_text
from lethe.domain.item import ErasureCause, Item
from lethe.domain.reconcile import SUBJECT_HOLD_PREFIX
from lethe.domain.subject import Subject
from lethe.projections.audit_report_items import Note


@dataclass
class Request:
    request_id: str
    ticket: str | None
    controller: str
    received: datetime
    answer_due: datetime
    extended_to: datetime | None = None
    orders_made: datetime | None = None  # ErasureCarriedOut: the orders, at once
    held: int = 0  # held when the orders were made, and not ordered since
    ordered: int = 0
    erased: int = 0
    kept: int = 0
    kept_until: datetime | None = None
    last_confirmed: datetime | None = None
    pending: set[UUID] = field(default_factory=set)
    orders_expected: int = 0  # ErasureCarriedOut's count of orders made
    orders_seen: int = 0  # ErasureOrdered events for it (they may come first)
    answered: datetime | None = None  # the first instant all was settled

    @property
    def deadline(self) -> datetime:
        return self.extended_to or self.answer_due


@dataclass
class Hold:
    case: str
    on: str  # "subject" or "item"
    item_ref: str | None
    since: datetime
    by: str
    released: datetime | None = None
    released_by: str | None = None


class RequestTally:
    """Requests received in [start, end) and every hold, followed to `now`."""

    def __init__(self, start: datetime, end: datetime, notes: dict[UUID, Note]) -> None:
        self.start, self.end, self.notes = start, end, notes
        self.subjects: dict[UUID, tuple[str, str]] = {}  # id -> (ref, controller)
        self.latest: dict[str, Request] = {}  # subject_ref -> its latest request
        self.requests: list[Request] = []
        self.holds: dict[tuple[UUID, str], Hold] = {}

    def apply(self, e: Any) -> None:
        handler = _HANDLERS.get(type(e))
        if handler is not None:
            handler(self, e)

    def _registered(self, e: Any) -> None:
        self.subjects[e.originator_id] = (e.subject_ref, e.controller)

    def _requested(self, e: Any) -> None:
        subject_ref, controller = self.subjects.get(e.originator_id, ("", ""))
        # The ticket ref is sealed free text (issue 13): a report of many
        # subjects says it is there; `lethe audit subject` opens it.
        ticket = free_text.masked(e.ticket)
        request = Request(
            e.request_id, ticket, controller, e.requested_at, e.answer_due_at
        )
        self.latest[subject_ref] = request
        if self.start <= e.requested_at < self.end:
            self.requests.append(request)

    def _request_of(self, subject_id: UUID, request_id: str) -> Request | None:
        subject_ref, _ = self.subjects.get(subject_id, ("", ""))
        request = self.latest.get(subject_ref)
        return request if request and request.request_id == request_id else None

    def _extended(self, e: Any) -> None:
        if (request := self._request_of(e.originator_id, e.request_id)) is not None:
            request.extended_to = e.extended_due_at

    def _carried_out(self, e: Any) -> None:
        if (request := self._request_of(e.originator_id, e.request_id)) is not None:
            request.orders_made = e.at
            request.held = e.waiting_on_holds
            request.orders_expected = e.ordered
            _settle(request, e.at)

    def _kept(self, e: Any) -> None:
        note = self.notes.get(e.originator_id)
        request = self.latest.get(note.subject_ref) if note else None
        if note is None or request is None or request.request_id != e.request_id:
            return
        request.kept += 1
        if note.due is not None:
            request.kept_until = max(request.kept_until or note.due, note.due)

    def _ordered(self, e: Any) -> None:
        note = self.notes.get(e.originator_id)
        if note is None or e.cause != ErasureCause.SUBJECT_ERASURE:
            return
        request = self.latest.get(note.subject_ref)
        if request is None or e.originator_id in request.pending:
            return
        request.ordered += 1
        request.orders_seen += 1
        request.pending.add(e.originator_id)
        if request.orders_made is not None and request.held:
            request.held -= 1  # a held item, ordered once its hold went

    def _withheld(self, e: Any) -> None:
        # The relay kept the order back, or the store kept the item on a recall:
        # a hold came first, and the item is kept under it.
        note = self.notes.get(e.originator_id)
        request = self.latest.get(note.subject_ref) if note else None
        if request is not None and e.originator_id in request.pending:
            request.pending.discard(e.originator_id)
            request.ordered -= 1
            request.held += 1
            _settle(request, e.at)

    def _recall_answered(self, e: Any) -> None:
        if e.outcome == "RECALLED":
            self._withheld(e)

    def _erased(self, e: Any) -> None:
        note = self.notes.get(e.originator_id)
        request = self.latest.get(note.subject_ref) if note else None
        if request is None or e.originator_id not in request.pending:
            return
        request.pending.discard(e.originator_id)
        request.erased += 1
        request.last_confirmed = max(request.last_confirmed or e.at, e.at)
        _settle(request, e.at)

    # -- holds -----------------------------------------------------------------------

    def _hold_placed(self, e: Any) -> None:
        if e.case_ref.startswith(SUBJECT_HOLD_PREFIX):
            return  # a subject's hold mirrored onto its items: listed once, as its own
        on_item = type(e) is Item.HoldPlaced
        note = self.notes.get(e.originator_id) if on_item else None
        self.holds[(e.originator_id, e.case_ref)] = Hold(
            e.case_ref,
            "item" if on_item else "subject",
            note.item_ref if note else None,
            e.at,
            e.by,
        )

    def _hold_released(self, e: Any) -> None:
        hold = self.holds.get((e.originator_id, e.case_ref))
        if hold is not None and hold.released is None:
            hold.released, hold.released_by = e.at, e.by

    # -- output ----------------------------------------------------------------------

    def each(self, now: datetime) -> list[dict[str, Any]]:
        return [_document(r, now) for r in sorted(self.requests, key=_received)]

    def holds_document(self) -> dict[str, list[dict[str, Any]]]:
        in_force, released = [], []
        for hold in sorted(self.holds.values(), key=lambda h: (h.since, h.case)):
            if hold.since >= self.end:
                continue
            row = {
                "case": hold.case,
                "on": hold.on,
                "item": hold.item_ref,
                "since": hold.since,
                "by": hold.by,
                "released": hold.released,
                "released_by": hold.released_by,
            }
            if hold.released is None or hold.released >= self.end:
                in_force.append(row)
            if hold.released is not None and self.start <= hold.released < self.end:
                released.append(row)
        return {"in_force_at_month_end": in_force, "released_in_month": released}


def _received(request: Request) -> datetime:
    return request.received


def _settle(r: Request, at: datetime) -> None:
    """Latch the answer the first time every item of the request is settled."""
    if r.answered is not None or r.orders_made is None:
        return
    if r.pending or r.orders_seen < r.orders_expected:
        return  # an order still unconfirmed, or not yet read
    r.answered = max(at, r.orders_made, r.last_confirmed or at)


def outcome(r: Request) -> str:
    if r.orders_made is None:
        return "open"
    if r.answered is None:
        return "awaiting_confirmation"
    if r.erased or r.pending:  # pending: ordered after the answer, its hold gone
        return "erased_some_kept" if r.kept or r.held else "erased"
    if r.held:
        return "kept_under_hold"
    return "kept_by_law" if r.kept else "nothing_to_erase"


def answered_at(r: Request) -> datetime | None:
    """When the subject could be answered: every item erased or kept with a reason."""
    return r.answered


def _document(r: Request, now: datetime) -> dict[str, Any]:
    answered = answered_at(r)
    late_s = ((answered or now) - r.deadline).total_seconds()
    return {
        "request_id": r.request_id,
        "ticket": r.ticket,
        "controller": r.controller,
        "received": r.received,
        "answer_due": r.answer_due,
        "extended_to": r.extended_to,
        "orders_made": r.orders_made,
        "answered": answered,
        "outcome": outcome(r),
        "items_erased": r.erased,
        "items_awaiting_confirmation": len(r.pending),
        "items_kept_by_law": r.kept,
        "kept_until": r.kept_until,
        "items_held": r.held,
        # Whole days past the deadline, counting a begun day; None when in time.
        # A deadline is the instant its last day ends: in time strictly before.
        # Days late count a begun day; None when in time (or open, in time).
        "days_late": max(1, math.ceil(late_s / 86400)) if late_s >= 0 else None,
        "on_time": False if late_s >= 0 else (True if answered else None),
    }


_HANDLERS: dict[type, Any] = {
    Subject.Registered: RequestTally._registered,
    Subject.ErasureRequested: RequestTally._requested,
    Subject.RequestExtended: RequestTally._extended,
    Subject.ErasureCarriedOut: RequestTally._carried_out,
    Subject.HoldPlaced: RequestTally._hold_placed,
    Subject.HoldReleased: RequestTally._hold_released,
    Item.HoldPlaced: RequestTally._hold_placed,
    Item.HoldReleased: RequestTally._hold_released,
    Item.KeptForLegalObligation: RequestTally._kept,
    Item.ErasureOrdered: RequestTally._ordered,
    Item.ErasureWithheld: RequestTally._withheld,
    Item.RecallAnswered: RequestTally._recall_answered,
    Item.Erased: RequestTally._erased,
}
