"""What needs a person's attention.

Overdue items, unanswered orders, request deadlines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast, overload
from zoneinfo import ZoneInfo

from lethe.domain.deadlines import last_day
from lethe.projections.schedule_rows import ms
from lethe.projections.store import SqlViews

DAY_MS = 86_400_000
# The conditions of each kind of attention, shared by the lists here and the
# counts /metrics exports (lethe.projections.health).
OVERDUE_WHERE = "state = 'scheduled' AND due_at < ? AND holds = 0 AND restrictions = 0"
# A recall out is unconfirmed too: the store has answered neither.
UNCONFIRMED_WHERE = "state IN ('erasure-ordered', 'recall-sent') AND ordered_at < ?"
FAILED_WHERE = "state = 'erasure-failed'"


def overdue_before(now_ms: int, sweep_interval_s: float) -> int:
    """Due before this and still unordered: a sweep should have taken it."""
    return now_ms - int(sweep_interval_s * 1000)


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
    answer_due_at: datetime  # the first month's end (GDPR art. 12(3))
    extended_due_at: datetime | None  # the extension's end, if there is one
    carried_out_at: datetime | None  # when its orders were made (not answered)
    awaiting: int  # items it ordered that no store has confirmed yet
    # Calendar days in the controller's zone from today to the deadline's last
    # day: 0 is "due today", negative "overdue"; None once nothing awaits.
    days_left: int | None
    late: bool  # orders made at or after the deadline, or still open after it

    @property
    def due_at(self) -> datetime:
        return self.extended_due_at or self.answer_due_at


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


UNCONFIRMED = {
    "erasure-ordered": "ordered, not confirmed",
    "recall-sent": "ordered, then recalled: no answer yet",
}


def read_status(
    views: SqlViews,
    now: datetime,
    sweep_interval_s: float,
    confirm_timeout_s: float,
    warning_days: int,
    zones: Mapping[str, ZoneInfo],
    limit: int = 50,
) -> Status:
    """`zones`: each controller's time zone, in which a deadline's days count."""
    now_ms = ms(now) or 0
    states = dict(
        views.query("SELECT state, COUNT(*) FROM lethe_schedule GROUP BY state")
    )
    overdue = views.query(
        "SELECT item_ref, category, due_at FROM lethe_schedule"
        f" WHERE {OVERDUE_WHERE} ORDER BY due_at LIMIT ?",
        (overdue_before(now_ms, sweep_interval_s), limit),
    )
    unconfirmed = views.query(
        "SELECT item_ref, category, ordered_at, state FROM lethe_schedule"
        f" WHERE {UNCONFIRMED_WHERE} ORDER BY ordered_at LIMIT ?",
        (now_ms - int(confirm_timeout_s * 1000), limit),
    )
    failed = views.query(
        "SELECT item_ref, category, ordered_at FROM lethe_schedule"
        f" WHERE {FAILED_WHERE} ORDER BY ordered_at LIMIT ?",
        (limit,),
    )
    requests = views.query(REQUESTS, (now_ms + warning_days * DAY_MS, limit))
    return Status(
        states={str(k): int(v) for k, v in states.items()},
        overdue=[
            Attention(r, c, "due, not yet ordered", _instant(t)) for r, c, t in overdue
        ],
        unconfirmed=[
            Attention(r, c, UNCONFIRMED[state], _instant(t))
            for r, c, t, state in unconfirmed
        ],
        failed=[
            Attention(r, c, "a store reported FAILED", _instant(t))
            for r, c, t in failed
        ],
        requests=[_deadline(row, now, zones) for row in requests],
    )


# A request's orders are made at once (`ErasureCarriedOut`), but the subject is
# not answered until the stores confirm: "awaiting" counts the subject's items
# its erasure ordered since the request that no store has confirmed yet. Until
# none awaits, the request stays open here (days left, overdue). When it was
# answered, exactly, is the disposal report's and `audit verify`'s to say: they
# follow every order to its answer and every hold (audit_report_requests.py).
AWAITING = (
    "(SELECT COUNT(*) FROM lethe_schedule s WHERE s.subject_ref = r.subject_ref"
    " AND s.cause = 'SUBJECT_ERASURE' AND s.ordered_at >= r.requested_at"
    " AND s.state IN ('erasure-ordered', 'erasure-failed', 'recall-sent'))"
)
# Keyed by subject and request; the due instant is the extension's when there is
# one. Open: no orders made yet, or some still awaiting confirmation.
REQUEST_ROWS = (
    "SELECT r.request_id, r.subject_ref, r.requested_at, r.answer_due_at,"
    " x.extended_due_at, COALESCE(x.extended_due_at, r.answer_due_at) AS due_at,"
    f" r.carried_out_at, {AWAITING} AS awaiting FROM lethe_requests r"
    " LEFT JOIN lethe_request_extensions x"
    " ON x.subject_ref = r.subject_ref AND x.request_id = r.request_id"
)
OPEN = "(q.carried_out_at IS NULL OR q.awaiting > 0)"
REQUESTS = (
    "SELECT q.request_id, s.controller, q.requested_at, q.answer_due_at,"
    f" q.extended_due_at, q.carried_out_at, q.awaiting FROM ({REQUEST_ROWS}) q"
    " LEFT JOIN lethe_subjects s ON s.subject_ref = q.subject_ref"
    f" WHERE ({OPEN} AND q.due_at < ?) OR q.carried_out_at >= q.due_at"
    " ORDER BY q.due_at LIMIT ?"
)
OPEN_DUE_BETWEEN = (
    f"SELECT COUNT(*) FROM ({REQUEST_ROWS}) q"
    f" WHERE {OPEN} AND q.due_at >= ? AND q.due_at < ?"
)


def _deadline(
    row: tuple[object, ...], now: datetime, zones: Mapping[str, ZoneInfo]
) -> RequestDeadline:
    request_id, controller = row[0], row[1]
    received, first = cast(int, row[2]), cast(int, row[3])
    extended, made = cast(int | None, row[4]), cast(int | None, row[5])
    awaiting = int(cast(int, row[6]))
    due_at = _instant(extended or first)
    orders_made_at = _instant(made)
    still_open = orders_made_at is None or awaiting > 0
    zone = zones.get(str(controller), ZoneInfo("UTC"))
    days_left = None
    if still_open:
        days_left = (last_day(due_at, zone) - now.astimezone(zone).date()).days
    return RequestDeadline(
        request_id=str(request_id),
        requested_at=_instant(received),
        answer_due_at=_instant(first),
        extended_due_at=_instant(extended),
        carried_out_at=orders_made_at,
        awaiting=awaiting,
        days_left=days_left,
        late=(orders_made_at if not still_open and orders_made_at else now) >= due_at,
    )
