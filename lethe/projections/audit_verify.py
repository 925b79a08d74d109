"""Audit verification: replay the whole log in a stream and check Lethe's invariants.

Memory stays flat however long the history: the replay reads the notification
log page by page, keeps one small record per live item (dropped again once the
item is erased) and one per open subject request, and never holds events.

Every invariant is judged on one stream's own events: an item's checks read
only that item's events (its track is keyed by the item's originator id), and a
request's only its subject's ErasureRequested, RequestExtended and
ErasureCarriedOut (keyed by the subject's originator id and the request id) —
and the sweeps, which every part reads whole. So the log may be verified in
parts of whole streams (`Part`) and the parts' results merged (`merge`): the
same counts as one pass. Here a request is REQUEST_UNANSWERED when no orders
were made by its deadline; whether one whose orders were made was answered in
time (REQUEST_ANSWERED_LATE) needs its items' confirmations, so audit_across.py
judges that.

Late is judged against the recorded sweeps (see audit_sweeps): ORDERED_LATE and
OVERDUE_WITHOUT_ORDER mean a sweep could take the item and finished without
ordering it; SWEEP_MISSED that no sweep came within the interval plus `slack`.
A history without sweep records (written before they were) keeps the older
check: ordered within the interval plus `slack` of falling due.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from sys import intern
from typing import Any
from uuid import UUID

from lethe.domain.application import Lethe
from lethe.domain.item import ErasureCause, Item
from lethe.domain.subject import Subject
from lethe.domain.sweep import Sweep
from lethe.projections.audit_replay import Part, replay_positioned
from lethe.projections.audit_sweeps import SweepJudge

ORDERED_WHILE_HELD = "ORDERED_WHILE_HELD"
ORDERED_WHILE_RESTRICTED = "ORDERED_WHILE_RESTRICTED"
ORDERED_BEFORE_DUE = "ORDERED_BEFORE_DUE"
ORDERED_LATE = "ORDERED_LATE"
OVERDUE_WITHOUT_ORDER = "OVERDUE_WITHOUT_ORDER"
SWEEP_MISSED = "SWEEP_MISSED"
ORDER_UNCONFIRMED = "ORDER_UNCONFIRMED"
ERASED_WITHOUT_ORDER = "ERASED_WITHOUT_ORDER"
# A store answered a recall RECALLED (kept), then erased the item all the same.
ERASED_DESPITE_RECALL = "ERASED_DESPITE_RECALL"
RECALL_RULE = "a recalled order is not carried out (issue 11, part 2)"
# A replay (`lethe erasures replay`) re-sends an erasure a store confirmed, for
# a store restored from a backup. It is neither an order nor an erasure: it
# moves no clock and needs no confirmation. It is wrong only of an item not
# erased (a replay of what was never confirmed gone).
REPLAYED_UNERASED = "REPLAYED_UNERASED"
REPLAY_RULE = "only an erasure a store confirmed is replayed (issue 15, part 6)"
REQUEST_ANSWERED_LATE = "REQUEST_ANSWERED_LATE"
REQUEST_UNANSWERED = "REQUEST_UNANSWERED"
REQUEST_RULE = "GDPR art. 12(3): answer within one month"
_SWEEP = Sweep.Recorded
SWEEP_GAP = "(no sweep)"  # the `item` of a SWEEP_MISSED: a gap, not one item
DEFAULT_SLACK = timedelta(seconds=5)  # a projector cycle, clocks a little apart


class Track:
    """What the replay must remember of one live item; a few slots, no events."""

    __slots__ = (
        "ref",
        "category",
        "rule",
        "due",
        "free",
        "holds",
        "restrictions",
        "ordered",
        "cause",
        "failed",
        "free_pos",
        "epoch",
        "missed",
        "missed_by",
        "kept",
    )

    def __init__(self, ref: str, category: str) -> None:
        self.ref, self.category, self.rule = ref, category, ""
        self.due: datetime | None = None
        self.free: datetime | None = None  # due and neither held nor restricted since
        self.holds = self.restrictions = 0
        self.ordered: datetime | None = None
        self.cause = ""
        self.failed = False
        self.free_pos = 0  # where in the log the event that freed it is
        self.epoch = 0  # bumped whenever `free` changes: older heap entries are void
        self.missed: datetime | None = None  # when the sweep that missed it finished
        self.missed_by: datetime | None = None  # when that sweep started
        self.kept: tuple[str, ...] = ()  # orders a store answered RECALLED


@dataclass(frozen=True)
class Violation:
    name: str
    item: str  # the item id, or the request id for a subject request
    rule: str
    instant: datetime  # when the invariant broke
    instants: dict[str, datetime | None] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyLimits:
    now: datetime
    sweep_interval: timedelta
    confirm_timeout: timedelta
    since: datetime | None = None
    until: datetime | None = None
    keep: int = 1000  # violations listed per name; all are counted
    slack: timedelta = DEFAULT_SLACK  # allowed beyond the interval before "late"


@dataclass
class VerifyResult:
    events: int = 0
    items: int = 0
    violations: list[Violation] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    sweeps: int = 0  # recorded sweeps replayed (every part reads them all)
    live: int = 0  # items still tracked at the end: neither erased nor forgotten
    # A part's changes to the requests' tally, judged once the parts are merged
    # (audit_across.judge_requests): a request's items fall in many parts.
    requests: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.counts


class Verifier:
    """Feeds on events in log order; `finish` judges what is still open at `now`."""

    def __init__(self, limits: VerifyLimits) -> None:
        self.limits = limits
        self.tracks: dict[int, Track] = {}  # by the item id's int
        # Keyed by stream too: a request id is only unique within its subject.
        self.requests: dict[tuple[UUID, str], tuple[datetime, datetime]] = {}
        self.result = VerifyResult()
        # Items free only after `now` need no heap entry (see audit_sweeps).
        self.sweeps = SweepJudge(limits.sweep_interval, limits.slack, limits.now)
        self._suspects: set[Track] = set()  # missed by the last sweep: excusable
        self._position = 0
        self.on_erased: Callable[[Track, Any], None] | None = None
        self.on_violation: Callable[[Violation], None] | None = None
        self._handlers: dict[type, Callable[[Any], None]] = {
            Item.Ingested: self._ingested,
            Item.Scheduled: self._scheduled,
            Item.Rescheduled: self._scheduled,  # a new policy version's due time
            Item.HoldPlaced: self._held,
            Item.HoldReleased: self._released,
            Item.Restricted: self._restricted,
            Item.RestrictionLifted: self._lifted,
            Item.ErasureOrdered: self._ordered,
            Item.ErasureWithheld: self._withheld,
            Item.RecallAnswered: self._recall_answered,
            Item.ErasureFailed: self._failed,
            Item.Erased: self._erased,
            Item.ErasureReplayed: self._replayed,
            Subject.ErasureRequested: self._requested,
            Subject.RequestExtended: self._extended,
            Subject.ErasureCarriedOut: self._carried_out,
            Sweep.Recorded: self._swept,
        }

    def apply(self, event: Any, position: int = 0) -> None:
        """Judge `event`, found at `position` in the log (0: unknown, taken as
        read by every sweep)."""
        self._position = position
        if type(event) is _SWEEP:
            self.result.sweeps += 1  # in every part: not counted as its events
        else:
            self.result.events += 1
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def finish(self) -> VerifyResult:
        now, limits = self.limits.now, self.limits
        self.result.live = len(self.tracks)
        for t in self.tracks.values():
            if t.ordered is None and t.missed is not None:
                self._flag(OVERDUE_WITHOUT_ORDER, t, t.missed, **self._missed(t))
            elif (
                t.ordered is None
                and t.free is not None
                and not (t.holds or t.restrictions)
            ):
                self._overdue(t, now)
            elif t.ordered is not None and t.ordered + limits.confirm_timeout < now:
                self._flag(
                    ORDER_UNCONFIRMED,
                    t,
                    t.ordered + limits.confirm_timeout,
                    ordered=t.ordered,
                    due=t.due,
                )
        for (_, request_id), (requested, answer_due) in self.requests.items():
            if answer_due < now:
                self._violate(
                    Violation(
                        REQUEST_UNANSWERED,
                        request_id,
                        REQUEST_RULE,
                        answer_due,
                        {"requested": requested, "answer_due": answer_due},
                    )
                )
        self._gaps()
        return self.result

    def _overdue(self, t: Track, now: datetime) -> None:
        assert t.free is not None
        if self.sweeps.recorded:
            if self.sweeps.bound(t) < now:
                self.sweeps.check_gap(t, None)
            return
        deadline = self._legacy_deadline(t.free)
        if deadline < now:
            self._flag(OVERDUE_WITHOUT_ORDER, t, deadline, due=t.due, free_from=t.free)

    def _legacy_deadline(self, free: datetime) -> datetime:
        return free + self.limits.sweep_interval + self.limits.slack

    def _gaps(self) -> None:
        rule = (
            f"a sweep every {self.limits.sweep_interval}"
            f" (+ {self.limits.slack} slack) while an item is due"
        )
        for gap, (instant, free) in self.sweeps.gaps.items():
            found = {
                "free_from": free,
                "sweep_finished": gap.after,
                "next_sweep": gap.until,
            }
            self._violate(
                Violation(SWEEP_MISSED, SWEEP_GAP, rule, instant, found), listed=True
            )

    # -- items -----------------------------------------------------------------

    def _ingested(self, e: Any) -> None:
        # Keyed by the id's int, not the UUID: its hash is C's, and the UUID
        # object need not outlive the event. The category and rule are shared
        # by many items: one copy each.
        t = Track(e.item_ref, intern(e.category))
        self.tracks[e.originator_id.int] = t
        self.result.items += 1
        if e.rule:  # version 2 arrives scheduled; version 1's Scheduled follows
            self._schedule(t, e.due_at, e.rule, e.ingested_at)

    def _scheduled(self, e: Any) -> None:
        if (t := self.tracks.get(e.originator_id.int)) is not None:
            self._schedule(t, e.due_at, e.rule, e.at)

    def _schedule(
        self, t: Track, due: datetime | None, rule: str, at: datetime
    ) -> None:
        t.due, t.rule = due, intern(rule) if type(rule) is str else rule
        # An item scheduled into the past is free to go from the moment it is known.
        self._free(t, None if due is None else max(due, at))

    def _free(self, t: Track, free: datetime | None) -> None:
        t.free, t.free_pos, t.epoch = free, self._position, t.epoch + 1
        if free is not None and not (t.holds or t.restrictions):
            self.sweeps.freed(t)

    def _held(self, e: Any) -> None:
        if (t := self.tracks.get(e.originator_id.int)) is not None:
            t.holds += 1
            self._excuse(t)

    def _restricted(self, e: Any) -> None:
        if (t := self.tracks.get(e.originator_id.int)) is not None:
            t.restrictions += 1
            self._excuse(t)

    def _excuse(self, t: Track) -> None:
        # A subject's hold reaches its items' streams at the next schedule run,
        # which comes before the next sweep: a sweep that passed over an item
        # held that way is excused if the item's own hold follows before then.
        if t.missed is not None and t in self._suspects:
            t.missed = t.missed_by = None

    def _released(self, e: Any) -> None:
        if (t := self.tracks.get(e.originator_id.int)) is not None:
            t.holds -= 1
            self._maybe_free(t, e.at)

    def _lifted(self, e: Any) -> None:
        if (t := self.tracks.get(e.originator_id.int)) is not None:
            t.restrictions -= 1
            self._maybe_free(t, e.at)

    def _maybe_free(self, t: Track, at: datetime) -> None:
        # The clock restarts at the release: the item is due at max(due, release).
        if t.free is not None and not (t.holds or t.restrictions):
            self._free(t, max(t.free, at))

    def _ordered(self, e: Any) -> None:
        t = self.tracks.get(e.originator_id.int)
        if t is None:
            return
        at, seen = e.at, dict(ordered=e.at, due=t.due)
        if t.holds:
            self._flag(ORDERED_WHILE_HELD, t, at, **seen)
        if t.restrictions:
            self._flag(ORDERED_WHILE_RESTRICTED, t, at, **seen)
        if e.cause != ErasureCause.SUBJECT_ERASURE and (t.due is None or at < t.due):
            self._flag(ORDERED_BEFORE_DUE, t, at, **seen)
        elif t.missed is not None:
            self._flag(ORDERED_LATE, t, t.missed, **seen, **self._missed(t))
        elif t.free is not None and not (t.holds or t.restrictions):
            self._late(t, at, seen)
        t.ordered, t.cause = at, e.cause

    def _late(self, t: Track, at: datetime, seen: dict[str, datetime | None]) -> None:
        assert t.free is not None
        if self.sweeps.recorded:
            self.sweeps.check_gap(t, at)  # the sweep that ordered it came in time?
        elif at > (deadline := self._legacy_deadline(t.free)):
            self._flag(ORDERED_LATE, t, deadline, **seen, free_from=t.free)

    def _swept(self, e: Any) -> None:
        self._suspects = set()  # the previous sweep's misses now stand
        for t in self.sweeps.swept(e):
            t.missed, t.missed_by = e.finished_at, e.started_at
            self._suspects.add(t)

    @staticmethod
    def _missed(t: Track) -> dict[str, datetime | None]:
        return {"free_from": t.free, "swept": t.missed_by, "sweep_finished": t.missed}

    def _withheld(self, e: Any) -> None:
        # The relay kept the order back (a hold came first): nothing to confirm.
        if (t := self.tracks.get(e.originator_id.int)) is not None:
            t.ordered, t.cause, t.failed = None, "", False

    def _recall_answered(self, e: Any) -> None:
        # Kept (RECALLED): the order is void, and the item waits on its marks
        # and its clock again. TOO_LATE: the Erased event that goes with it acts.
        t = self.tracks.get(e.originator_id.int)
        if t is not None and e.outcome == "RECALLED":
            t.ordered, t.cause, t.failed = None, "", False
            t.kept = (*t.kept, e.order_id)

    def _failed(self, e: Any) -> None:
        if (t := self.tracks.get(e.originator_id.int)) is not None:
            t.failed = True

    def _erased(self, e: Any) -> None:
        t = self.tracks.pop(e.originator_id.int, None)  # erased: nothing left to check
        if t is None:
            return
        t.epoch += 1  # no longer waiting for a sweep
        if e.order_id in t.kept:
            self._violate(
                Violation(
                    ERASED_DESPITE_RECALL, t.ref, RECALL_RULE, e.at, {"erased": e.at}
                )
            )
        elif t.ordered is None:
            self._flag(ERASED_WITHOUT_ORDER, t, e.at, erased=e.at)
        if self.on_erased is not None:
            self.on_erased(t, e)

    def _replayed(self, e: Any) -> None:
        # An erased item's track is gone: a replay that finds one is of an item
        # not erased. Otherwise nothing to judge, and nothing changes.
        if (t := self.tracks.get(e.originator_id.int)) is not None:
            self._violate(
                Violation(
                    REPLAYED_UNERASED, t.ref, REPLAY_RULE, e.at, {"replayed": e.at}
                )
            )

    # -- subject requests ------------------------------------------------------

    def _requested(self, e: Any) -> None:
        self.requests[e.originator_id, e.request_id] = (
            e.requested_at,
            e.answer_due_at,
        )

    def _extended(self, e: Any) -> None:
        key = (e.originator_id, e.request_id)
        if key in self.requests:
            self.requests[key] = (self.requests[key][0], e.extended_due_at)

    def _carried_out(self, e: Any) -> None:
        # The orders are made: whether and when the request is answered needs
        # its items' confirmations, judged across streams (audit_across.py).
        self.requests.pop((e.originator_id, e.request_id), None)

    # -- recording -------------------------------------------------------------

    def _flag(
        self, name: str, t: Track, instant: datetime, **instants: datetime | None
    ) -> None:
        self._violate(Violation(name, t.ref, t.rule, instant, instants))

    def _violate(self, violation: Violation, listed: bool = False) -> None:
        limits = self.limits
        if limits.since is not None and violation.instant < limits.since:
            return
        if limits.until is not None and violation.instant > limits.until:
            return
        self.result.counts[violation.name] += 1
        if self.on_violation is not None:
            self.on_violation(violation)
        # `listed`: always listed (a sweep gap), so that `merge` can tell the
        # same gap found in several parts from two gaps.
        if listed or self.result.counts[violation.name] <= limits.keep:
            self.result.violations.append(violation)


def verify(
    app: Lethe,
    limits: VerifyLimits,
    progress: Callable[[int], None] | None = None,
    page_size: int = 5000,
    part: Part | None = None,
) -> VerifyResult:
    """Replay the whole log (or `part`'s streams of it) and judge every invariant
    as of `limits.now`."""
    verifier = Verifier(limits)
    for position, event in replay_positioned(app, page_size, progress, part):
        verifier.apply(event, position)
    return verifier.finish()


def merge(parts: Iterable[VerifyResult], keep: int) -> VerifyResult:
    """One result from the results of disjoint parts of the streams.

    Events, items and counts add up exactly. The violations are listed by
    instant (then name and item, so that any number of parts lists them alike)
    and capped at `keep` per name, as one pass caps them; when a name has more
    than `keep`, which are listed may differ from one pass (that keeps the
    first in log order), though its count does not.
    """
    merged, found = VerifyResult(), []
    for part in parts:
        merged.events += part.events
        merged.items += part.items
        merged.live += part.live
        merged.sweeps = max(merged.sweeps, part.sweeps)  # each part read them all
        merged.counts.update(part.counts)
        merged.requests += part.requests
        found += part.violations
    found = _one_per_gap(found, merged.counts)
    listed: Counter[str] = Counter()
    for violation in sorted(found, key=lambda v: (v.instant, v.name, v.item)):
        listed[violation.name] += 1
        if listed[violation.name] <= keep:
            merged.violations.append(violation)
    return merged


def _one_per_gap(found: list[Violation], counts: Counter[str]) -> list[Violation]:
    """The violations, each sweep gap once (the earliest instant any part saw)."""
    gaps: dict[tuple[datetime | None, datetime | None], Violation] = {}
    rest = []
    for v in found:
        if v.name != SWEEP_MISSED:
            rest.append(v)
            continue
        key = (v.instants.get("sweep_finished"), v.instants.get("next_sweep"))
        if key not in gaps or v.instant < gaps[key].instant:
            gaps[key] = v
    if gaps:
        counts[SWEEP_MISSED] = len(gaps)
    return rest + list(gaps.values())
