"""Audit checks across streams: an item against its subject (issue 11, part 8).

The per-stream checks (audit_verify.py) read one stream's events alone, so the
log can be verified in parts. These need an item's and its subject's events in
log order together: a part reads its own streams and the subject events of
every stream (SUBJECT_EVENTS, a small share of the log), and `verify_whole`
feeds both kinds of check from that one replay. A subject's own violations
(a release before its hold) are named by the part its stream falls in only.

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
  That answer is the first instant all of a subject's items are settled, and
  they fall in many parts: each part records the changes its own items (and
  its own subjects) make to the tally, positioned (`VerifyResult.requests`),
  and `judge_requests` replays them all in log order into one tally once the
  parts are merged: exactly one pass's answer.
- REPLAYED_WHILE_SUBJECT_HELD / _RESTRICTED: a replay (`lethe erasures
  replay`) that left (was not withheld by the relay afterwards) while the
  item's subject had a hold or restriction on: holds win over replays too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from lethe.domain import identity
from lethe.domain.application import Lethe
from lethe.domain.item import ErasureCause, Item
from lethe.domain.subject import Subject
from lethe.domain.sweep import Sweep
from lethe.projections.audit_replay import (
    IN_EVERY_PART,
    RELEVANT,
    Part,
    owns,
    replay,
    replay_dated,
)
from lethe.projections.audit_report_items import Note
from lethe.projections.audit_report_requests import Request, RequestTally
from lethe.projections.audit_verify import (
    REQUEST_ANSWERED_LATE,
    REQUEST_RULE,
    REQUEST_UNANSWERED,
    Verifier,
    VerifyLimits,
    VerifyResult,
    Violation,
    merge,
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

# The subject events the checks read. A part of the streams (audit_verify's
# `Part`) reads these of every subject, so that its items meet their subjects.
SUBJECT_EVENTS: tuple[type, ...] = (
    Subject.HoldPlaced,
    Subject.HoldReleased,
    Subject.Restricted,
    Subject.RestrictionLifted,
    Subject.ErasureRequested,
    Subject.RelationshipResumed,
)
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
    *SUBJECT_EVENTS,
    # What a request's answer needs beyond the above (audit_report_requests.py).
    Subject.Registered,
    Subject.RequestExtended,
    Subject.ErasureCarriedOut,
)
EVER = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
# A change to the request tally, at its place in the log: (position, what,
# stream id's int, fields). `what` names the tally's handler it replays into.
# `what` names the tally's handler it replays into; the fields are those the
# handler reads of the event, the stream id given as its int.
Change = tuple[int, str, SimpleNamespace]
HOLDS, RESTRICTIONS = "holds", "restrictions"
NOTHING: frozenset[tuple[str, str, str]] = frozenset()


class Marks:
    """Holds and restrictions in force on one stream: name -> when placed (each
    dict made at its first mark: most items never get one)."""

    __slots__ = (HOLDS, RESTRICTIONS)

    def __init__(self) -> None:
        self.holds: dict[str, datetime] | None = None
        self.restrictions: dict[str, datetime] | None = None


@dataclass
class SubjectTrack:
    marks: Marks = field(default_factory=Marks)
    requested: datetime | None = None  # the latest erasure request
    resumed: datetime | None = None  # the relationship resumed after it


class ItemTrack:
    """What the checks keep of one live item: a few slots, the empties shared."""

    __slots__ = ("ref", "subject", "captured", "marks", "pending", "at_order")

    def __init__(self, ref: str, subject: str, captured: datetime) -> None:
        self.ref = ref
        self.subject = subject  # the subject's ref, interned: one copy per subject
        self.captured = captured
        self.marks: Marks | None = None
        # Violations of an order, kept until we know it left (not withheld after).
        self.pending: tuple[Violation, ...] = ()
        # The marks on the item and its subject when its live order was made.
        self.at_order = NOTHING


class AcrossVerifier:
    """Fed in log order with the events of ACROSS; `finish` gives the result.

    `apply(event, own=False)` takes a subject event of a stream judged
    elsewhere: it keeps the subject's marks for this verifier's items, and
    leaves what is wrong with the subject's own stream to the verifier that
    owns it, so that parts merged count it once.
    """

    def __init__(self, limits: VerifyLimits) -> None:
        self.limits = limits
        # By the stream id's int (as audit_verify's tracks).
        self.items: dict[int, ItemTrack] = {}
        self.subjects: dict[int, SubjectTrack] = {}
        self.result = VerifyResult()
        self._own = True
        self._position = 0
        # Items ordered for a subject erasure and not yet erased: only their
        # withholdings and erasures change a request's tally.
        self._for_request: set[int] = set()
        # A replay's violations, kept until we know it left: (item, number).
        self.replays: dict[tuple[int, int], tuple[Violation, ...]] = {}
        self._handlers: dict[type, Any] = {
            Item.Ingested: self._ingested,
            Item.HoldPlaced: lambda e: self._place(self._item_marks(e), HOLDS, e),
            Item.HoldReleased: lambda e: self._end(
                self._item_marks(e), HOLDS, e.case_ref, e, self._ref(e)
            ),
            Item.Restricted: lambda e: self._place(
                self._item_marks(e), RESTRICTIONS, e
            ),
            Item.RestrictionLifted: lambda e: self._end(
                self._item_marks(e), RESTRICTIONS, e.ticket, e, self._ref(e)
            ),
            Item.ErasureOrdered: self._ordered,
            Item.ErasureWithheld: self._withheld,
            Item.RecallAnswered: self._recall_answered,
            Item.Erased: self._erased,
            Item.ErasureReplayed: self._replayed,
            Item.ReplayWithheld: lambda e: self.replays.pop(
                (e.originator_id.int, e.number), None
            ),
            Subject.HoldPlaced: lambda e: self._place(self._subject(e).marks, HOLDS, e),
            Subject.HoldReleased: lambda e: self._end(
                self._subject(e).marks, HOLDS, e.case_ref, e, "subject"
            ),
            Subject.Restricted: lambda e: self._place(
                self._subject(e).marks, RESTRICTIONS, e
            ),
            Subject.RestrictionLifted: lambda e: self._end(
                self._subject(e).marks, RESTRICTIONS, e.ticket, e, "subject"
            ),
            Subject.ErasureRequested: self._requested,
            Subject.RelationshipResumed: self._resumed,
            Subject.Registered: lambda e: self._change(
                "registered", e, subject_ref=e.subject_ref, controller=e.controller
            ),
            Subject.RequestExtended: lambda e: self._change(
                "extended",
                e,
                request_id=e.request_id,
                extended_due_at=e.extended_due_at,
            ),
            Subject.ErasureCarriedOut: lambda e: self._change(
                "carried_out",
                e,
                request_id=e.request_id,
                at=e.at,
                waiting_on_holds=e.waiting_on_holds,
                ordered=e.ordered,
            ),
        }

    def apply(self, event: Any, own: bool = True, position: int = 0) -> None:
        """Take `event`, found at `position` in the log (the order in which
        `judge_requests` replays the parts' changes to the requests)."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            self._own, self._position = own, position
            handler(event)

    def finish(self) -> VerifyResult:
        """The result, its requests not yet judged: see `judge_requests`."""
        for track in self.items.values():
            self._flush(track)
        for violations in self.replays.values():
            for violation in violations:
                self._violate(violation)
        self.replays.clear()
        return self.result

    def _change(self, what: str, e: Any, **fields: Any) -> None:
        """Record a change to the request tally; a subject's, by its own part."""
        if self._own:
            change = SimpleNamespace(originator_id=e.originator_id.int, **fields)
            self.result.requests.append((self._position, what, change))

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
        self.items[e.originator_id.int] = ItemTrack(
            e.item_ref, sys.intern(e.subject_ref), e.captured_at
        )

    def _ref(self, e: Any) -> str:
        track = self.items.get(e.originator_id.int)
        return track.ref if track else str(e.originator_id)

    def _item_marks(self, e: Any) -> Marks:
        track = self.items.get(e.originator_id.int)
        if track is None:
            return Marks()
        if track.marks is None:
            track.marks = Marks()
        return track.marks

    def _subject_of(self, track: ItemTrack) -> SubjectTrack | None:
        # The subject's stream id costs a uuid5: only worth it once any subject
        # has a track at all.
        if not self.subjects:
            return None
        return self.subjects.get(identity.subject_id(track.subject).int)

    def _ordered(self, e: Any) -> None:
        track = self.items.get(e.originator_id.int)
        if track is None:
            return
        self._flush(track)  # an earlier order was not withheld: it left
        if e.cause == ErasureCause.SUBJECT_ERASURE:
            self._for_request.add(e.originator_id.int)
            self._change(
                "ordered",
                e,
                cause=e.cause,
                item_ref=track.ref,
                subject_ref=track.subject,
                at=e.at,
            )
        subject = self._subject_of(track)
        track.at_order = self._on(track, subject)
        if subject is None:
            return
        seen = {"ordered": e.at}
        pending = []
        if subject.marks.holds:
            pending.append(
                self._violation(ORDERED_WHILE_SUBJECT_HELD, track, e.at, seen)
            )
        if subject.marks.restrictions:
            pending.append(
                self._violation(ORDERED_WHILE_SUBJECT_RESTRICTED, track, e.at, seen)
            )
        resumed = subject.resumed
        if (
            e.cause == ErasureCause.SUBJECT_ERASURE
            and resumed is not None
            and track.captured > resumed
        ):
            seen = {"ordered": e.at, "resumed": resumed, "captured": track.captured}
            pending.append(
                self._violation(ERASED_AFTER_RESUME, track, e.at, seen, RESUME_RULE)
            )
        track.pending = tuple(pending)

    def _withheld(self, e: Any) -> None:
        track = self.items.get(e.originator_id.int)
        if track is not None:
            track.pending = ()  # the order never left Lethe
            track.at_order = NOTHING
            self._settling("withheld", e)

    def _recall_answered(self, e: Any) -> None:
        track = self.items.get(e.originator_id.int)
        if track is not None and e.outcome == "RECALLED":
            track.at_order = NOTHING  # kept: that order is void
            self._settling("withheld", e)  # the tally's way: kept under a hold

    def _erased(self, e: Any) -> None:
        track = self.items.pop(e.originator_id.int, None)  # nothing more to judge
        if track is None:
            return
        self._settling("erased", e)
        self._for_request.discard(e.originator_id.int)
        self._flush(track)
        if not track.at_order:
            return
        still = self._on(track, self._subject_of(track)) & track.at_order
        seen = {"erased": e.at}
        if any(kind == HOLDS for _, kind, _ in still):
            self._violate(self._violation(ERASED_WHILE_HELD, track, e.at, seen))
        if any(kind == RESTRICTIONS for _, kind, _ in still):
            self._violate(self._violation(ERASED_WHILE_RESTRICTED, track, e.at, seen))

    def _settling(self, what: str, e: Any) -> None:
        """A change that may settle an item of a request: only if it was
        ordered for one (the tally follows no other)."""
        if e.originator_id.int in self._for_request:
            self._change(what, e, at=e.at)

    def _replayed(self, e: Any) -> None:
        if not self.subjects:
            return
        subject = self.subjects.get(identity.subject_id(e.subject_ref).int)
        if subject is None:
            return
        seen = {"replayed": e.at}
        found = [
            Violation(name, e.item_ref, HOLD_RULE, e.at, seen)
            for name, on in (
                (REPLAYED_WHILE_SUBJECT_HELD, subject.marks.holds),
                (REPLAYED_WHILE_SUBJECT_RESTRICTED, subject.marks.restrictions),
            )
            if on
        ]
        if found:
            self.replays[e.originator_id.int, e.number] = tuple(found)

    @staticmethod
    def _on(
        track: ItemTrack, subject: SubjectTrack | None
    ) -> frozenset[tuple[str, str, str]]:
        """The marks on the item and on its subject now: (whose, kind, name)."""
        on = [
            (whose, kind, name)
            for whose, marks in (
                ("item", track.marks),
                ("subject", subject.marks if subject else None),
            )
            if marks is not None
            for kind, names in (
                (HOLDS, marks.holds),
                (RESTRICTIONS, marks.restrictions),
            )
            if names
            for name in names
        ]
        return frozenset(on) if on else NOTHING

    def _flush(self, track: ItemTrack) -> None:
        for violation in track.pending:
            self._violate(violation)
        track.pending = ()

    # -- subjects ----------------------------------------------------------------

    def _subject(self, e: Any) -> SubjectTrack:
        return self.subjects.setdefault(e.originator_id.int, SubjectTrack())

    def _requested(self, e: Any) -> None:
        subject = self._subject(e)
        subject.requested, subject.resumed = e.requested_at, None
        self._change(
            "requested",
            e,
            request_id=e.request_id,
            ticket=e.ticket,
            requested_at=e.requested_at,
            answer_due_at=e.answer_due_at,
        )

    def _resumed(self, e: Any) -> None:
        subject = self._subject(e)
        if subject.requested is not None:
            subject.resumed = e.resumed_at

    # -- marks -------------------------------------------------------------------

    @staticmethod
    def _place(marks: Marks, kind: str, e: Any) -> None:
        names = getattr(marks, kind)
        if names is None:
            names = {}
            setattr(marks, kind, names)
        names.setdefault(e.case_ref if kind == HOLDS else e.ticket, e.at)

    def _end(self, marks: Marks, kind: str, name: str, e: Any, whose: str) -> None:
        names = getattr(marks, kind)
        placed = names.pop(name, None) if names else None
        if placed is not None and e.at < placed and self._own:
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
    for position, event in enumerate(replay(app, page_size, classes=ACROSS), 1):
        verifier.apply(event, position=position)
    return judged([verifier.finish()], limits)


class MergedTally(RequestTally):
    """The disposal report's tally, fed the parts' changes instead of events."""

    def __init__(self) -> None:
        super().__init__(*EVER, {})

    def replay(self, changes: Iterable[Change]) -> None:
        """Every change in log order, as one pass would have read its event."""
        for _, what, e in sorted(changes, key=_position):
            if what == "ordered":  # the note the tally reads of the item
                self.notes.setdefault(
                    e.originator_id, Note(e.item_ref, "", "", e.subject_ref, e.at)
                )
            getattr(self, "_" + what)(e)
            if what == "erased":  # as one pass forgets an erased item's note
                self.notes.pop(e.originator_id, None)


def _position(change: Change) -> int:
    return change[0]


def judge_requests(changes: Iterable[Change], limits: VerifyLimits) -> VerifyResult:
    """REQUEST_ANSWERED_LATE / REQUEST_UNANSWERED of the requests `changes`
    (every part's, merged) follow to their answers."""
    tally, judge = MergedTally(), AcrossVerifier(limits)
    tally.replay(changes)
    for request in tally.requests:
        judge._judge(request)
    return judge.result


def judged(parts: list[VerifyResult], limits: VerifyLimits) -> VerifyResult:
    """The parts' results merged, with their requests judged (once)."""
    changes = [change for part in parts for change in part.requests]
    result = merge([*parts, judge_requests(changes, limits)], limits.keep)
    result.requests = []  # judged: nothing left to merge
    return result


# Every class either kind of check reads, with the datetimes they read of it
# (the only values `verify_whole` revives), and the classes every part reads.
AT = ("at",)
DATES: dict[type, tuple[str, ...]] = {
    Item.Ingested: ("captured_at", "ingested_at", "due_at"),
    Item.Scheduled: ("due_at", "at"),
    Item.Rescheduled: ("due_at", "at"),
    Item.HoldPlaced: AT,
    Item.HoldReleased: AT,
    Item.Restricted: AT,
    Item.RestrictionLifted: AT,
    Item.ErasureOrdered: AT,
    Item.ErasureWithheld: AT,  # when a request's item is kept under a hold
    Item.RecallAnswered: AT,
    Item.ErasureReissued: (),
    Item.Erased: AT,
    Item.ErasureFailed: (),
    Item.ErasureReplayed: AT,
    Item.ReplayWithheld: (),
    Subject.Registered: (),
    Subject.RequestExtended: ("extended_due_at",),
    Subject.HoldPlaced: AT,
    Subject.HoldReleased: AT,
    Subject.Restricted: AT,
    Subject.RestrictionLifted: AT,
    Subject.ErasureRequested: ("requested_at", "answer_due_at"),
    Subject.ErasureCarriedOut: AT,
    Subject.RelationshipResumed: ("resumed_at",),
    Sweep.Recorded: ("started_at", "finished_at"),
}
SHARED: tuple[type, ...] = IN_EVERY_PART + SUBJECT_EVENTS
_STREAMS = frozenset(RELEVANT)  # what the per-stream checks count and judge
_SUBJECTS = frozenset(SUBJECT_EVENTS)


def verify_whole(
    app: Lethe,
    limits: VerifyLimits,
    progress: Callable[[int], None] | None = None,
    page_size: int = 5000,
    part: Part | None = None,
) -> VerifyResult:
    """Every check, within streams and across them, in one replay of the log
    (or of `part`'s streams and every subject's SUBJECT_EVENTS), as of
    `limits.now`. The results of all parts merged (`judged`) are those of
    no part; a part's leaves its requests to that merge."""
    streams, across = Verifier(limits), AcrossVerifier(limits)
    replayed = replay_dated(app, DATES, page_size, progress, part, SHARED)
    for position, event in replayed:
        kind = type(event)
        if kind in _SUBJECTS and not owns(part, event.originator_id):
            across.apply(event, False, position)  # another part's, for our items
            continue
        if kind in _STREAMS:
            streams.apply(event, position)
        across.apply(event, True, position)
    found = [streams.finish(), across.finish()]
    return merge(found, limits.keep) if part is not None else judged(found, limits)
