"""Audit checks across streams: an item against its subject (issue 11, part 8).

The per-stream checks (audit_verify.py) read one stream's events alone, so the
log can be verified in parts. These need an item's and its subject's events in
log order together, so they run as a pass of their own over the few topics
they read, beside the parts:

- ORDERED_WHILE_SUBJECT_HELD / _RESTRICTED: an order that left (was not
  withheld by the relay afterwards) while the item's subject had a hold or a
  restriction on, earlier in the log.
- ERASED_WHILE_HELD / _RESTRICTED: a store erased the item while a hold or
  restriction on it or its subject, placed before its order, was still on. A
  mark placed after the order is a late one: it recalled the order, and the
  store's answer decides (a TOO_LATE erasure is no violation; one after a
  RECALLED is audit_verify's ERASED_DESPITE_RECALL).
- RELEASE_BEFORE_HOLD: a release or lifting dated before the hold or
  restriction it ends.
- ERASED_AFTER_RESUME: a subject erasure ordered for an item captured after the
  relationship resumed, past the request that ordered it.
- REQUEST_ANSWERED_LATE: a request answered (every item it covers confirmed
  erased, or kept by law or under a hold or restriction: the disposal report's
  tally, audit_report_requests.py) at or after its deadline, extended or not;
  REQUEST_UNANSWERED for one whose orders were made and that is still not
  answered when its deadline passed. (A request whose orders were never made
  is audit_verify's REQUEST_UNANSWERED: its subject's stream alone tells.)
  The tally keeps one small record per request and per live item.
- REPLAYED_WHILE_SUBJECT_HELD / _RESTRICTED: a replay (`lethe erasures
  replay`) that left (was not withheld by the relay afterwards) while the
  item's subject had a hold or restriction on: holds win over replays too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from lethe.domain import identity
from lethe.domain.application import Lethe
from lethe.domain.item import ErasureCause, Item
from lethe.domain.subject import Subject
from lethe.projections.audit_replay import replay
from lethe.projections.audit_report_items import Note
from lethe.projections.audit_report_requests import Request, RequestTally
from lethe.projections.audit_verify import (
    REQUEST_ANSWERED_LATE,
    REQUEST_RULE,
    REQUEST_UNANSWERED,
    VerifyLimits,
    VerifyResult,
    Violation,
)

ORDERED_WHILE_SUBJECT_HELD = "ORDERED_WHILE_SUBJECT_HELD"
ORDERED_WHILE_SUBJECT_RESTRICTED = "ORDERED_WHILE_SUBJECT_RESTRICTED"
ERASED_WHILE_HELD = "ERASED_WHILE_HELD"
ERASED_WHILE_RESTRICTED = "ERASED_WHILE_RESTRICTED"
RELEASE_BEFORE_HOLD = "RELEASE_BEFORE_HOLD"
ERASED_AFTER_RESUME = "ERASED_AFTER_RESUME"
REPLAYED_WHILE_SUBJECT_HELD = "REPLAYED_WHILE_SUBJECT_HELD"
REPLAYED_WHILE_SUBJECT_RESTRICTED = "REPLAYED_WHILE_SUBJECT_RESTRICTED"
HOLD_RULE = "a hold or restriction stops every erasure (issue 11)"
RESUME_RULE = "a request covers what the subject had, not a resumed relationship"

ACROSS: tuple[type, ...] = (
    Item.Ingested,
    Item.HoldPlaced,
    Item.HoldReleased,
    Item.Restricted,
    Item.RestrictionLifted,
    Item.ErasureOrdered,
    Item.ErasureWithheld,
    Item.RecallAnswered,
    Item.Erased,
    Item.ErasureReplayed,
    Item.ReplayWithheld,
    Subject.HoldPlaced,
    Subject.HoldReleased,
    Subject.Restricted,
    Subject.RestrictionLifted,
    Subject.ErasureRequested,
    Subject.RelationshipResumed,
    # What a request's answer needs beyond the above (audit_report_requests.py).
    Subject.Registered,
    Subject.RequestExtended,
    Subject.ErasureCarriedOut,
    Item.KeptForLegalObligation,
)
EVER = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


@dataclass
class Marks:
    """Holds and restrictions in force on one stream: name -> when placed."""

    holds: dict[str, datetime] = field(default_factory=dict)
    restrictions: dict[str, datetime] = field(default_factory=dict)


@dataclass
class SubjectTrack:
    marks: Marks = field(default_factory=Marks)
    requested: datetime | None = None  # the latest erasure request
    resumed: datetime | None = None  # the relationship resumed after it


@dataclass
class ItemTrack:
    ref: str
    rule: str
    subject: UUID
    captured: datetime
    marks: Marks = field(default_factory=Marks)
    # Violations of an order, kept until we know it left (not withheld after).
    pending: list[Violation] = field(default_factory=list)
    # The marks on the item and its subject when its live order was made.
    at_order: set[tuple[str, str, str]] = field(default_factory=set)


class AcrossVerifier:
    """Fed in log order with the events of ACROSS; `finish` gives the result."""

    def __init__(self, limits: VerifyLimits) -> None:
        self.limits = limits
        self.items: dict[UUID, ItemTrack] = {}
        self.subjects: dict[UUID, SubjectTrack] = {}
        self.result = VerifyResult()
        # Every request in the log followed to its answer, the report's way.
        self.notes: dict[UUID, Note] = {}
        self.requests = RequestTally(*EVER, self.notes)
        # A replay's violations, kept until we know it left: (item, number).
        self.replays: dict[tuple[UUID, int], list[Violation]] = {}
        self._handlers: dict[type, Any] = {
            Item.Ingested: self._ingested,
            Item.HoldPlaced: lambda e: self._place(self._item_marks(e), "holds", e),
            Item.HoldReleased: lambda e: self._end(
                self._item_marks(e), "holds", e.case_ref, e, self._ref(e)
            ),
            Item.Restricted: lambda e: self._place(
                self._item_marks(e), "restrictions", e
            ),
            Item.RestrictionLifted: lambda e: self._end(
                self._item_marks(e), "restrictions", e.ticket, e, self._ref(e)
            ),
            Item.ErasureOrdered: self._ordered,
            Item.ErasureWithheld: self._withheld,
            Item.RecallAnswered: self._recall_answered,
            Item.Erased: self._erased,
            Item.ErasureReplayed: self._replayed,
            Item.ReplayWithheld: lambda e: self.replays.pop(
                (e.originator_id, e.number), None
            ),
            Subject.HoldPlaced: lambda e: self._place(
                self._subject(e).marks, "holds", e
            ),
            Subject.HoldReleased: lambda e: self._end(
                self._subject(e).marks, "holds", e.case_ref, e, "subject"
            ),
            Subject.Restricted: lambda e: self._place(
                self._subject(e).marks, "restrictions", e
            ),
            Subject.RestrictionLifted: lambda e: self._end(
                self._subject(e).marks, "restrictions", e.ticket, e, "subject"
            ),
            Subject.ErasureRequested: self._requested,
            Subject.RelationshipResumed: self._resumed,
        }

    def apply(self, event: Any) -> None:
        self.requests.apply(event)  # first: it reads the item's note
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)
        if type(event) is Item.Erased:
            self.notes.pop(event.originator_id, None)

    def finish(self) -> VerifyResult:
        for track in self.items.values():
            self._flush(track)
        for request in self.requests.requests:
            self._judge(request)
        for violations in self.replays.values():
            for violation in violations:
                self._violate(violation)
        return self.result

    def _judge(self, request: Request) -> None:
        deadline, answered = request.deadline, request.answered
        seen: dict[str, datetime | None] = {
            "requested": request.received,
            "answer_due": deadline,
        }
        # In time strictly before the deadline: the instant its last day ends.
        if answered is not None and answered >= deadline:
            seen["answered"] = answered
            name = REQUEST_ANSWERED_LATE
        elif answered is None and request.orders_made and deadline < self.limits.now:
            name = REQUEST_UNANSWERED
        else:
            return
        self._violate(Violation(name, request.request_id, REQUEST_RULE, deadline, seen))

    # -- items -------------------------------------------------------------------

    def _ingested(self, e: Any) -> None:
        self.items[e.originator_id] = ItemTrack(
            e.item_ref, e.rule, identity.subject_id(e.subject_ref), e.captured_at
        )
        self.notes[e.originator_id] = Note(
            e.item_ref, e.controller, e.category, e.subject_ref, e.ingested_at, e.due_at
        )

    def _ref(self, e: Any) -> str:
        track = self.items.get(e.originator_id)
        return track.ref if track else str(e.originator_id)

    def _item_marks(self, e: Any) -> Marks:
        track = self.items.get(e.originator_id)
        return track.marks if track else Marks()

    def _ordered(self, e: Any) -> None:
        track = self.items.get(e.originator_id)
        if track is None:
            return
        self._flush(track)  # an earlier order was not withheld: it left
        track.at_order = self._on(track)
        subject = self.subjects.get(track.subject)
        if subject is None:
            return
        seen = {"ordered": e.at}
        if subject.marks.holds:
            track.pending.append(
                self._violation(ORDERED_WHILE_SUBJECT_HELD, track, e.at, seen)
            )
        if subject.marks.restrictions:
            track.pending.append(
                self._violation(ORDERED_WHILE_SUBJECT_RESTRICTED, track, e.at, seen)
            )
        resumed = subject.resumed
        if (
            e.cause == ErasureCause.SUBJECT_ERASURE
            and resumed is not None
            and track.captured > resumed
        ):
            seen = {"ordered": e.at, "resumed": resumed, "captured": track.captured}
            track.pending.append(
                self._violation(ERASED_AFTER_RESUME, track, e.at, seen, RESUME_RULE)
            )

    def _withheld(self, e: Any) -> None:
        track = self.items.get(e.originator_id)
        if track is not None:
            track.pending.clear()  # the order never left Lethe
            track.at_order = set()

    def _recall_answered(self, e: Any) -> None:
        track = self.items.get(e.originator_id)
        if track is not None and e.outcome == "RECALLED":
            track.at_order = set()  # kept: that order is void

    def _erased(self, e: Any) -> None:
        track = self.items.pop(e.originator_id, None)
        if track is None:
            return
        self._flush(track)
        still = self._on(track) & track.at_order
        seen = {"erased": e.at}
        if any(kind == "holds" for _, kind, _ in still):
            self._violate(self._violation(ERASED_WHILE_HELD, track, e.at, seen))
        if any(kind == "restrictions" for _, kind, _ in still):
            self._violate(self._violation(ERASED_WHILE_RESTRICTED, track, e.at, seen))

    def _replayed(self, e: Any) -> None:
        subject = self.subjects.get(identity.subject_id(e.subject_ref))
        if subject is None:
            return
        held = ItemTrack(e.item_ref, "", identity.subject_id(e.subject_ref), e.at)
        seen = {"replayed": e.at}
        found = []
        if subject.marks.holds:
            found.append(self._violation(REPLAYED_WHILE_SUBJECT_HELD, held, e.at, seen))
        if subject.marks.restrictions:
            found.append(
                self._violation(REPLAYED_WHILE_SUBJECT_RESTRICTED, held, e.at, seen)
            )
        if found:
            self.replays[e.originator_id, e.number] = found

    def _on(self, track: ItemTrack) -> set[tuple[str, str, str]]:
        """The marks on the item and on its subject now: (whose, kind, name)."""
        subject = self.subjects.get(track.subject) or SubjectTrack()
        return {
            (whose, kind, name)
            for whose, marks in (("item", track.marks), ("subject", subject.marks))
            for kind in ("holds", "restrictions")
            for name in getattr(marks, kind)
        }

    def _flush(self, track: ItemTrack) -> None:
        for violation in track.pending:
            self._violate(violation)
        track.pending.clear()

    # -- subjects ----------------------------------------------------------------

    def _subject(self, e: Any) -> SubjectTrack:
        return self.subjects.setdefault(e.originator_id, SubjectTrack())

    def _requested(self, e: Any) -> None:
        subject = self._subject(e)
        subject.requested, subject.resumed = e.requested_at, None

    def _resumed(self, e: Any) -> None:
        subject = self._subject(e)
        if subject.requested is not None:
            subject.resumed = e.resumed_at

    # -- marks -------------------------------------------------------------------

    @staticmethod
    def _place(marks: Marks, kind: str, e: Any) -> None:
        name = e.case_ref if kind == "holds" else e.ticket
        getattr(marks, kind).setdefault(name, e.at)

    def _end(self, marks: Marks, kind: str, name: str, e: Any, whose: str) -> None:
        placed = getattr(marks, kind).pop(name, None)
        if placed is not None and e.at < placed:
            self._violate(
                Violation(
                    RELEASE_BEFORE_HOLD,
                    f"{whose} {name}",
                    HOLD_RULE,
                    e.at,
                    {"placed": placed, "released": e.at},
                )
            )

    # -- recording ---------------------------------------------------------------

    @staticmethod
    def _violation(
        name: str,
        track: ItemTrack,
        instant: datetime,
        instants: dict[str, datetime | None],
        rule: str = HOLD_RULE,
    ) -> Violation:
        return Violation(name, track.ref, rule, instant, instants)

    def _violate(self, violation: Violation) -> None:
        limits = self.limits
        if limits.since is not None and violation.instant < limits.since:
            return
        if limits.until is not None and violation.instant > limits.until:
            return
        self.result.counts[violation.name] += 1
        if self.result.counts[violation.name] <= limits.keep:
            self.result.violations.append(violation)


def verify_across(
    app: Lethe, limits: VerifyLimits, page_size: int = 5000
) -> VerifyResult:
    """The cross-stream checks over the whole log, as of `limits.now`."""
    verifier = AcrossVerifier(limits)
    for event in replay(app, page_size, classes=ACROSS):
        verifier.apply(event)
    return verifier.finish()
