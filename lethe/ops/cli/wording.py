"""The support commands' messages, one wording for the local store and the API."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from lethe.ops.cli.support import format_instant
from lethe.projections.audit_timeline import backdated


def target(item: str | None, controller: str) -> str:
    return f"item {item}" if item else f"the subject ({controller})"


def hold_placed(case_ref: str, on: str, recorded: bool = True) -> str:
    if recorded:
        return f"hold {case_ref} placed on {on}"
    return f"hold {case_ref} is already in force on {on}; nothing new recorded"


def hold_released(case_ref: str, on: str) -> str:
    return f"hold {case_ref} released from {on}"


def restriction_recorded(ticket: str, on: str, recorded: bool = True) -> str:
    if recorded:
        return f"restriction {ticket} recorded on {on}"
    return f"restriction {ticket} is already in force on {on}; nothing new recorded"


def restriction_lifted(ticket: str, on: str) -> str:
    return f"restriction {ticket} lifted from {on}"


def awaiting_approval(approval_id: str) -> str:
    """Four-eyes: nothing is done until a second person approves."""
    return (
        f"approval {approval_id}: nothing done yet; another person approves with "
        f"POST /api/approvals/{approval_id}"
    )


def police_extended(item: str, due_at: datetime | None, rule: str) -> str:
    due = format_instant(due_at) if due_at else "not yet known"
    return f"item {item} now due {due} ({rule})"


def request_recorded(request_id: str) -> str:
    return f"request   {request_id}"


ANSWER_LAW = "(GDPR art. 12(3))"
ANSWERED_ON_CONFIRM = "answered once the stores confirm"
CARRIED_OUT_BY_RUN = "status    recorded; `lethe run` carries it out"


def item_lines(
    view: Mapping[str, Any], recorded: Mapping[str, datetime] | None = None
) -> Iterator[str]:
    """`lethe item`: an item as the store has it, or as the API's look-up gives it
    (the same keys; the API's instants are ISO 8601 text). `recorded`: when each
    hold or restriction was written, by "hold:CASE" or "restriction:TICKET"."""
    marks = recorded or {}
    yield f"item      {view['item_id']} ({view['category']}, {view['controller']})"
    yield f"state     {view['state']}"
    due = _instant(view["due_at"])
    yield f"due       {format_instant(due) if due else 'not yet (clock not started)'}"
    yield f"rule      {view['rule']}  [{view['policy']}]"
    for case_ref, hold in view["holds"].items():
        at = _instant(hold["at"])
        written = _recorded(marks.get("hold:" + case_ref), at)
        yield (
            f"hold      {case_ref}: {hold['reason']}"
            f" (by {hold['by']}, {format_instant(at)}{written})"  # type: ignore[arg-type]
        )
    for ticket, r in view["restrictions"].items():
        written = _recorded(marks.get("restriction:" + ticket), _instant(r["at"]))
        yield f"restricted {ticket}: {r['reason']} (by {r['by']}{written})"
    if view["kept_for_legal_obligation"]:
        yield "kept      by a legal obligation after a subject erasure request"
    yield from _erasure_lines(view)


def _erasure_lines(view: Mapping[str, Any]) -> Iterator[str]:
    order, recall = view["order"], view.get("recall")
    if order:
        at = format_instant(_instant(order["at"]))  # type: ignore[arg-type]
        yield (
            f"order     {order['order_id']} {order['cause']} at {at}, "
            f"attempt {view['attempts']}"
        )
    if recall:
        at = format_instant(_instant(recall["at"]))  # type: ignore[arg-type]
        yield (
            f"recall    order {recall['order_id']} recalled at {at};"
            " awaiting the store's answer"
        )
    for order_id, outcome in (view.get("recall_answers") or {}).items():
        yield f"recalled  order {order_id}: the store answered {outcome}"


def _recorded(when: datetime | None, at: datetime | None) -> str:
    """ "; recorded <when>" for a mark back-dated (--at) by more than a minute."""
    if when is None or at is None or not backdated(when, at):
        return ""
    return f"; recorded {format_instant(when)}"


def _instant(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
