"""The support commands' messages, one wording for the local store and the API."""

from __future__ import annotations

from datetime import datetime

from lethe.ops.cli.support import format_instant


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
CARRIED_OUT_BY_RUN = "status    recorded; `lethe run` carries it out"
