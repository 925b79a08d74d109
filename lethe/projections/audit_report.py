"""The monthly disposal report: what was erased, how late, holds, requests, overdue.

One streaming replay, like verification (which it runs alongside for the
overdue figures). Every figure is a count, a duration, a category or a
reference a DPO needs (item ref, case, ticket, request id): no subject
identifier, pseudonym or blob URI ever reaches the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lethe.domain.application import Lethe
from lethe.domain.errors import BadCommandError
from lethe.domain.item import Item
from lethe.domain.reconcile import SUBJECT_HOLD_PREFIX
from lethe.domain.subject import Subject
from lethe.projections.audit_replay import RELEVANT, replay_positioned
from lethe.projections.audit_report_items import ItemTally
from lethe.projections.audit_report_requests import RequestTally
from lethe.projections.audit_report_seal import mark as seal_mark
from lethe.projections.audit_verify import (
    DEFAULT_SLACK,
    ORDER_UNCONFIRMED,
    ORDERED_LATE,
    OVERDUE_WITHOUT_ORDER,
    REQUEST_UNANSWERED,
    Track,
    Verifier,
    VerifyLimits,
    Violation,
)
from lethe.projections.dead_letters import DeadLetterCounts, dead_letters_between
from lethe.projections.store import SqlViews

OPEN_AT_END = (OVERDUE_WITHOUT_ORDER, ORDER_UNCONFIRMED, REQUEST_UNANSWERED)
# Beyond what verification reads: who a request's subject is (by pseudonym,
# kept inside the replay), what law keeps, and withheld re-sends.
REPORT_EVENTS: tuple[type, ...] = (
    *RELEVANT,
    Subject.Registered,
    Subject.RequestExtended,
    Item.KeptForLegalObligation,
    Item.ReissueWithheld,
)


@dataclass
class Report:
    month: str
    zone: str
    start: datetime
    end: datetime
    generated_at: datetime
    items: ItemTally
    requests: RequestTally
    events: int = 0
    erased: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (category, store, outcome): DELETED and NOT_FOUND apart, per store.
    by_store: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # Every category of the policies in force, so a category with none shows 0.
    categories: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()  # id@version of each policy in force
    controllers: tuple[tuple[str, str, str], ...] = ()  # (id, name, policy ref)
    holds: Counter[str] = field(default_factory=Counter)
    open_at_end: Counter[str] = field(default_factory=Counter)
    violations_in_month: Counter[str] = field(default_factory=Counter)
    overdue_items: list[dict[str, Any]] = field(default_factory=list)
    # Records set aside on the dead-letter topic in the month, from Lethe's
    # PII-free note of each (projections/dead_letters.py), not from the topic.
    dead_letters: DeadLetterCounts = field(
        default_factory=lambda: DeadLetterCounts(Counter())
    )

    def document(self) -> dict[str, Any]:
        # Requests as of when the report is made: an answer after the month's
        # end still answers a request received in it, and one still open is
        # judged overdue (or not) now.
        each = self.requests.each(self.generated_at)
        answered = [r for r in each if r["answered"] is not None]
        items = self.items
        return {
            "month": self.month,
            "zone": self.zone,
            "start": self.start,
            "end": self.end,
            "generated_at": self.generated_at,
            # A month not over when the report was made: its figures will change.
            "partial": self.generated_at < self.end,
            "events_replayed": self.events,
            # Filled with the SHA-256 of the written report (audit_report_seal.py).
            "integrity": seal_mark(),
            "controllers": self._controllers(),
            "erased": [
                {"category": c, "cause": k, "items": n}
                for (c, k), n in sorted(self.erased.items())
            ],
            "erased_total": sum(self.erased.values()),
            "policies": list(self.policies),
            "policy_changes_applied": dict(sorted(items.policy_changes.items())),
            "erased_by_category": self._by_category(),
            "erased_by_store": [
                {"category": c, "store": st, "outcome": o, "items": n}
                for (c, st, o), n in sorted(self.by_store.items())
            ],
            "due_to_confirmed_erasure": items.due_to_erased.summary(),
            "delays_by_category": items.delays(self.categories),
            "late_after_s": items.late_after.total_seconds(),
            "clocks_disagree": items.clocks_disagree,
            "tombstones_sent": items.tombstones,
            "dead_letters": self._dead_letters(),
            "holds": dict(sorted(self.holds.items())),
            **self.requests.holds_document(),
            "requests": {
                "received": len(each),
                "answered": len(answered),
                "answered_on_time": sum(1 for r in answered if r["on_time"]),
                "answered_late": sum(1 for r in answered if not r["on_time"]),
                "open": len(each) - len(answered),
                "overdue": sum(
                    1 for r in each if r["answered"] is None and r["days_late"]
                ),
                "each": each,
            },
            "open_at_month_end": dict(sorted(self.open_at_end.items())),
            "violations_in_month": dict(sorted(self.violations_in_month.items())),
            "overdue_items": self.overdue_items,
        }

    def _controllers(self) -> list[dict[str, Any]]:
        erased = self.items.by_controller
        requests = Counter(r.controller for r in self.requests.requests)
        return [
            {
                "controller": controller,
                "name": name,
                "policy": ref,
                "deleted": erased[(controller, "DELETED")],
                "not_found": erased[(controller, "NOT_FOUND")],
                "requests": requests[controller],
            }
            for controller, name, ref in self.controllers
        ]

    def _dead_letters(self) -> dict[str, Any]:
        dead = self.dead_letters
        return {
            "total": dead.total,
            "by_reason": dict(sorted(dead.by_reason().items())),
            "by_topic": dict(sorted(dead.by_topic().items())),
            "by_reason_and_topic": [
                {"reason_code": code, "topic": topic, "letters": n}
                for (code, topic), n in sorted(dead.cells.items())
            ],
        }

    def _by_category(self) -> list[dict[str, Any]]:
        outcomes: dict[str, Counter[str]] = {c: Counter() for c in self.categories}
        for (category, _store, outcome), n in self.by_store.items():
            outcomes.setdefault(category, Counter())[outcome] += n
        return [
            {
                "category": category,
                "deleted": counts["DELETED"],
                "not_found": counts["NOT_FOUND"],
            }
            for category, counts in sorted(outcomes.items())
        ]


def month_bounds(month: str, zone: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of YYYY-MM, local in `zone`."""
    year, number = (int(part) for part in month.split("-"))
    tz = ZoneInfo(zone)
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=tz)
    return start, end


class ReportBuilder:
    """Tallies one month while a Verifier judges the invariants over the same events."""

    def __init__(self, report: Report, limits: VerifyLimits) -> None:
        self.report = report
        self.verifier = Verifier(limits)
        self.verifier.on_erased = self._erased
        self.verifier.on_violation = self._violation

    def in_month(self, at: datetime) -> bool:
        return self.report.start <= at < self.report.end

    def apply(self, e: Any, position: int = 0) -> None:
        report = self.report
        report.items.missed.clear()
        self.verifier.apply(e, position)  # first: it names an order ORDERED_LATE
        report.requests.apply(e)  # before the items: it reads their notes
        report.items.apply(e, position)
        kind = type(e)
        if kind in (Item.HoldPlaced, Item.HoldReleased) and self.in_month(e.at):
            if not e.case_ref.startswith(SUBJECT_HOLD_PREFIX):  # mirrors: counted once
                report.holds[f"item_{_verb(kind)}"] += 1
        elif kind in (Subject.HoldPlaced, Subject.HoldReleased) and self.in_month(e.at):
            report.holds[f"subject_{_verb(kind)}"] += 1

    def _erased(self, t: Track, e: Any) -> None:
        if not self.in_month(e.at):
            return
        self.report.erased[(t.category, t.cause or "NO_ORDER")] += 1
        self.report.by_store[(t.category, e.store, e.outcome)] += 1

    def finish(self) -> Report:
        self.report.events = self.verifier.finish().events
        self._unanswered_with_orders()
        return self.report

    def _unanswered_with_orders(self) -> None:
        """REQUEST_UNANSWERED for a request whose orders were made: the
        Verifier names only those never carried out (its stream alone tells);
        the tally knows whether the orders answered it (audit_across.py does
        the same for `audit verify`)."""
        report = self.report
        judged = min(report.end, report.generated_at)
        for request in report.requests.latest.values():
            if (
                request.orders_made is not None
                and request.answered is None
                and request.deadline < judged
            ):
                report.open_at_end[REQUEST_UNANSWERED] += 1

    def _violation(self, v: Violation) -> None:
        report = self.report
        if v.name == ORDERED_LATE:
            report.items.missed.add(v.item)
        if v.name in OPEN_AT_END:
            report.open_at_end[v.name] += 1
            if v.name == OVERDUE_WITHOUT_ORDER and len(report.overdue_items) < 50:
                report.overdue_items.append(
                    {"item": v.item, "rule": v.rule, "overdue_since": v.instant}
                )
        elif v.instant >= report.start:
            report.violations_in_month[v.name] += 1


def _verb(kind: type) -> str:
    return "placed" if kind.__name__ == "HoldPlaced" else "released"


def controller_name(source: str) -> str:
    """The controller's name as its policy's source names it ("Sector Alarm AS")."""
    return source.split(",")[0].strip()


@dataclass(frozen=True)
class ReportClock:
    now: datetime
    sweep_interval: timedelta
    confirm_timeout: timedelta
    slack: timedelta = DEFAULT_SLACK


def build_report(
    app: Lethe,
    month: str,
    zone: str,
    clock: ReportClock,
    relayed_up_to: int,
    page_size: int = 5000,
) -> Report:
    """The disposal report of `month`; open items are judged at its end (or now).

    `relayed_up_to`: the relay's position, so only orders it sent count as
    tombstones sent.
    """
    now = clock.now
    start, end = month_bounds(month, zone)
    if start > now:
        raise BadCommandError(
            f"{month} has not begun in {zone}; a disposal report is of a month"
            " that has (the current one is marked partial)"
        )
    limits = VerifyLimits(
        min(end, now),
        clock.sweep_interval,
        clock.confirm_timeout,
        until=end,
        keep=0,
        slack=clock.slack,
    )
    policies = sorted(app.policies.values(), key=lambda p: p.id)
    items = ItemTally(start, end, clock.sweep_interval + clock.slack, relayed_up_to)
    report = Report(
        month,
        zone,
        start,
        end,
        now,
        items=items,
        requests=RequestTally(start, end, items.notes),
        categories=tuple(sorted({c for p in policies for c in p.rules})),
        policies=tuple(p.ref for p in policies),
        controllers=tuple((p.id, controller_name(p.source), p.ref) for p in policies),
        dead_letters=dead_letters_between(SqlViews(app.process_recorder), start, end),
    )
    builder = ReportBuilder(report, limits)
    for position, event in replay_positioned(app, page_size, classes=REPORT_EVENTS):
        builder.apply(event, position)
    return builder.finish()
