"""The monthly disposal report: what was erased, how late, holds, requests, overdue.

One streaming replay, like verification (which it runs alongside for the
overdue figures). Every figure is a count, a duration or a category: no
subject identifier, pseudonym or blob URI ever reaches the report.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lethe.domain.application import Lethe
from lethe.domain.errors import BadCommandError
from lethe.domain.item import ErasureCause, Item
from lethe.domain.reconcile import SUBJECT_HOLD_PREFIX
from lethe.domain.subject import Subject
from lethe.projections.audit_replay import replay_positioned
from lethe.projections.audit_report_seal import mark as seal_mark
from lethe.projections.audit_verify import (
    ORDER_UNCONFIRMED,
    OVERDUE_WITHOUT_ORDER,
    REQUEST_UNANSWERED,
    Track,
    Verifier,
    VerifyLimits,
    Violation,
)

OPEN_AT_END = (OVERDUE_WITHOUT_ORDER, ORDER_UNCONFIRMED, REQUEST_UNANSWERED)
# Durations are kept as a log-scale histogram, not a list: a national ARC erases
# ~150 M items a month. Buckets are 0.5 % wide, so p50/p95 are within 0.5 %.
BUCKETS_PER_E = 200


class Durations:
    """Percentiles of many durations in constant memory; the maximum is exact."""

    def __init__(self) -> None:
        self.buckets: Counter[int] = Counter()
        self.count = 0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.buckets[round(math.log1p(seconds) * BUCKETS_PER_E)] += 1
        self.count += 1
        self.max = max(self.max, seconds)

    def percentile(self, p: float) -> float | None:
        """Nearest rank: the smallest bucket holding at least p % of the values."""
        if not self.count:
            return None
        rank, seen = math.ceil(p / 100 * self.count), 0
        for bucket in sorted(self.buckets):
            seen += self.buckets[bucket]
            if seen >= rank:
                return min(math.expm1(bucket / BUCKETS_PER_E), self.max)
        return self.max

    def summary(self) -> dict[str, Any]:
        return {
            "items": self.count,
            "p50_s": _round(self.percentile(50)),
            "p95_s": _round(self.percentile(95)),
            "max_s": _round(self.max if self.count else None),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class Report:
    month: str
    zone: str
    start: datetime
    end: datetime
    generated_at: datetime
    events: int = 0
    erased: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (category, store, outcome): DELETED and NOT_FOUND apart, per store.
    by_store: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # Every category of the policies in force, so a category with none shows 0.
    categories: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()  # id@version of each policy in force
    due_to_erased: Durations = field(default_factory=Durations)
    holds: Counter[str] = field(default_factory=Counter)
    requests: list[dict[str, Any]] = field(default_factory=list)
    open_at_end: Counter[str] = field(default_factory=Counter)
    violations_in_month: Counter[str] = field(default_factory=Counter)
    overdue_items: list[dict[str, Any]] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        answered = [r for r in self.requests if r["answered"] is not None]
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
            "erased": [
                {"category": c, "cause": k, "items": n}
                for (c, k), n in sorted(self.erased.items())
            ],
            "erased_total": sum(self.erased.values()),
            "policies": list(self.policies),
            "erased_by_category": self._by_category(),
            "erased_by_store": [
                {"category": c, "store": st, "outcome": o, "items": n}
                for (c, st, o), n in sorted(self.by_store.items())
            ],
            "due_to_confirmed_erasure": self.due_to_erased.summary(),
            "holds": dict(sorted(self.holds.items())),
            "requests": {
                "received": len(self.requests),
                "answered": len(answered),
                "answered_on_time": sum(1 for r in answered if r["on_time"]),
                "answered_late": sum(1 for r in answered if not r["on_time"]),
                "open": len(self.requests) - len(answered),
                "each": self.requests,
            },
            "open_at_month_end": dict(sorted(self.open_at_end.items())),
            "violations_in_month": dict(sorted(self.violations_in_month.items())),
            "overdue_items": self.overdue_items,
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
        self.requests: dict[str, dict[str, Any]] = {}

    def in_month(self, at: datetime) -> bool:
        return self.report.start <= at < self.report.end

    def apply(self, e: Any, position: int = 0) -> None:
        self.verifier.apply(e, position)
        kind = type(e)
        if kind in (Item.HoldPlaced, Item.HoldReleased) and self.in_month(e.at):
            if not e.case_ref.startswith(SUBJECT_HOLD_PREFIX):  # mirrors: counted once
                self.report.holds[f"item_{_verb(kind)}"] += 1
        elif kind in (Subject.HoldPlaced, Subject.HoldReleased) and self.in_month(e.at):
            self.report.holds[f"subject_{_verb(kind)}"] += 1
        elif kind is Subject.ErasureRequested and self.in_month(e.requested_at):
            self.requests[e.request_id] = {
                "request_id": e.request_id,
                "ticket": e.ticket,
                "received": e.requested_at,
                "answer_due": e.answer_due_at,
                "extended_to": None,
                "answered": None,
                "days_to_answer": None,
                "on_time": None,
            }
        elif kind is Subject.RequestExtended and e.request_id in self.requests:
            self.requests[e.request_id]["extended_to"] = e.extended_due_at
        elif kind is Subject.ErasureCarriedOut and e.request_id in self.requests:
            request = self.requests[e.request_id]
            request["answered"] = e.at
            request["days_to_answer"] = round(
                (e.at - request["received"]).total_seconds() / 86400, 2
            )
            # A deadline is the instant its last day ends: in time strictly before.
            request["on_time"] = e.at < (
                request["extended_to"] or request["answer_due"]
            )

    def _erased(self, t: Track, e: Any) -> None:
        if not self.in_month(e.at):
            return
        self.report.erased[(t.category, t.cause or "NO_ORDER")] += 1
        self.report.by_store[(t.category, e.store, e.outcome)] += 1
        if t.cause != ErasureCause.SUBJECT_ERASURE and t.due is not None:
            self.report.due_to_erased.add((e.at - t.due).total_seconds())

    def finish(self) -> Report:
        report = self.report
        report.events = self.verifier.finish().events
        report.requests = sorted(self.requests.values(), key=lambda r: r["received"])
        return report

    def _violation(self, v: Violation) -> None:
        report = self.report
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


def build_report(
    app: Lethe,
    month: str,
    zone: str,
    now: datetime,
    sweep_interval: timedelta,
    confirm_timeout: timedelta,
    page_size: int = 5000,
) -> Report:
    """The disposal report of `month`; open items are judged at its end (or now)."""
    start, end = month_bounds(month, zone)
    if start > now:
        raise BadCommandError(
            f"{month} has not begun in {zone}; a disposal report is of a month"
            " that has (the current one is marked partial)"
        )
    limits = VerifyLimits(
        min(end, now), sweep_interval, confirm_timeout, until=end, keep=0
    )
    policies = app.policies.values()
    report = Report(
        month,
        zone,
        start,
        end,
        now,
        categories=tuple(sorted({c for p in policies for c in p.rules})),
        policies=tuple(sorted(p.ref for p in policies)),
    )
    builder = ReportBuilder(report, limits)
    for position, event in replay_positioned(app, page_size):
        builder.apply(event, position)
    return builder.finish()
