"""What needs a person's attention.

Overdue items, unanswered orders, request deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import overload

from lethe.projections.schedule_rows import ms
from lethe.projections.store import SqlViews

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Attention:
    item_ref: str
    category: str
    what: str
    since: datetime


@dataclass(frozen=True)
class RequestDeadline:
    request_id: str
    requested_at: datetime
    answer_due_at: datetime
    carried_out_at: datetime | None

    @property
    def late(self) -> bool:
        answered = self.carried_out_at or datetime.max.replace(tzinfo=UTC)
        return answered > self.answer_due_at


@dataclass(frozen=True)
class Status:
    states: dict[str, int]
    overdue: list[Attention]
    unconfirmed: list[Attention]
    failed: list[Attention]
    requests: list[RequestDeadline]


@overload
def _instant(value: int) -> datetime: ...
@overload
def _instant(value: int | None) -> datetime | None: ...
def _instant(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def read_status(
    views: SqlViews,
    now: datetime,
    sweep_interval_s: float,
    confirm_timeout_s: float,
    warning_days: int,
    limit: int = 50,
) -> Status:
    now_ms = ms(now) or 0
    states = dict(
        views.query("SELECT state, COUNT(*) FROM lethe_schedule GROUP BY state")
    )
    overdue = views.query(
        "SELECT item_ref, category, due_at FROM lethe_schedule"
        " WHERE state = 'scheduled'"
        " AND due_at < ? AND holds = 0 AND restrictions = 0 ORDER BY due_at LIMIT ?",
        (now_ms - int(sweep_interval_s * 1000), limit),
    )
    unconfirmed = views.query(
        "SELECT item_ref, category, ordered_at FROM lethe_schedule"
        " WHERE state = 'erasure-ordered'"
        " AND ordered_at < ? ORDER BY ordered_at LIMIT ?",
        (now_ms - int(confirm_timeout_s * 1000), limit),
    )
    failed = views.query(
        "SELECT item_ref, category, ordered_at FROM lethe_schedule"
        " WHERE state = 'erasure-failed'"
        " ORDER BY ordered_at LIMIT ?",
        (limit,),
    )
    requests = views.query(
        "SELECT request_id, requested_at, answer_due_at, carried_out_at"
        " FROM lethe_requests"
        " WHERE (carried_out_at IS NULL AND answer_due_at < ?)"
        " OR carried_out_at > answer_due_at"
        " ORDER BY answer_due_at LIMIT ?",
        (now_ms + warning_days * DAY_MS, limit),
    )
    return Status(
        states={str(k): int(v) for k, v in states.items()},
        overdue=[
            Attention(r, c, "due, not yet ordered", _instant(t)) for r, c, t in overdue
        ],
        unconfirmed=[
            Attention(r, c, "ordered, not confirmed", _instant(t))
            for r, c, t in unconfirmed
        ],
        failed=[
            Attention(r, c, "a store reported FAILED", _instant(t))
            for r, c, t in failed
        ],
        requests=[
            RequestDeadline(rid, _instant(a), _instant(d), _instant(c))
            for rid, a, d, c in requests
        ],
    )
