"""The schedule's tables and the row change each lifecycle event makes to them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, overload

from lethe.domain.item import ErasureCause, Item
from lethe.domain.subject import Subject
from lethe.projections import row_updates
from lethe.projections.row_updates import RowUpdate
from lethe.projections.store import Statement

DDL = [
    "CREATE TABLE IF NOT EXISTS lethe_schedule ("
    " item_id TEXT PRIMARY KEY, item_ref TEXT NOT NULL, subject_ref TEXT NOT NULL,"
    " controller TEXT NOT NULL, category TEXT NOT NULL, source_topic TEXT NOT NULL,"
    " state TEXT NOT NULL, captured_at BIGINT NOT NULL, ingested_at BIGINT NOT NULL,"
    " due_at BIGINT, rule TEXT, holds INTEGER NOT NULL DEFAULT 0,"
    " restrictions INTEGER NOT NULL DEFAULT 0, cause TEXT, ordered_at BIGINT,"
    " attempts INTEGER NOT NULL DEFAULT 0, closed_at BIGINT)",
    # The sweeper pages by (due_at, item_ref): the index holds both, so a page
    # is a range of it. It replaces lethe_schedule_due (state, due_at), which
    # it also serves; a store made before gets it on its next start.
    "CREATE INDEX IF NOT EXISTS lethe_schedule_due_ref"
    " ON lethe_schedule (state, due_at, item_ref)",
    "DROP INDEX IF EXISTS lethe_schedule_due",
    "CREATE INDEX IF NOT EXISTS lethe_schedule_subject ON lethe_schedule (subject_ref)",
    # For the sweeper's paged look for unconfirmed orders to send again.
    "CREATE INDEX IF NOT EXISTS lethe_schedule_ordered"
    " ON lethe_schedule (state, ordered_at, item_ref)",
    "CREATE TABLE IF NOT EXISTS lethe_subjects (subject_ref TEXT PRIMARY KEY,"
    " subject_id TEXT NOT NULL UNIQUE, controller TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS lethe_requests ("
    " request_id TEXT PRIMARY KEY, subject_ref TEXT NOT NULL,"
    " requested_at BIGINT NOT NULL, answer_due_at BIGINT NOT NULL,"
    " carried_out_at BIGINT)",
    # Beside lethe_requests rather than new columns in it: a store made before
    # extensions existed needs no migration. Keyed by subject and request.
    "CREATE TABLE IF NOT EXISTS lethe_request_extensions ("
    " subject_ref TEXT NOT NULL, request_id TEXT NOT NULL,"
    " extended_due_at BIGINT NOT NULL, told_on TEXT NOT NULL,"
    " PRIMARY KEY (subject_ref, request_id))",
]

ITEMS_OF_SUBJECT = (
    "SELECT item_ref FROM lethe_schedule WHERE subject_ref = ? AND state <> 'erased'"
)
ANSWERED_NOT_SHREDDED = (
    "SELECT DISTINCT r.subject_ref FROM lethe_requests r"
    " LEFT JOIN lethe_shredded_subjects k ON k.subject_ref = r.subject_ref"
    " WHERE r.carried_out_at IS NOT NULL AND k.subject_ref IS NULL"
)


@overload
def ms(instant: datetime) -> int: ...
@overload
def ms(instant: None) -> None: ...
@overload
def ms(instant: datetime | None) -> int | None: ...
def ms(instant: datetime | None) -> int | None:
    return None if instant is None else int(instant.timestamp() * 1000)


def statements_for(event: Any) -> list[Statement]:
    handler = _HANDLERS.get(type(event))
    return handler(event) if handler else []


def _ingested(e: Any) -> list[Statement]:
    # A version-1 Ingested arrives upcast with no schedule (due_at None, rule "");
    # its Scheduled event follows.
    return [
        (
            "INSERT INTO lethe_schedule (item_id, item_ref, subject_ref, controller,"
            " category, source_topic, state, captured_at, ingested_at, due_at, rule)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (item_id) DO NOTHING",
            (
                str(e.originator_id),
                e.item_ref,
                e.subject_ref,
                e.controller,
                e.category,
                e.source_topic,
                _schedule_state(e.due_at),
                ms(e.captured_at),
                ms(e.ingested_at),
                ms(e.due_at),
                e.rule or None,
            ),
        )
    ]


def _schedule_state(due_at: datetime | None) -> str:
    return "waiting" if due_at is None else "scheduled"


def _item_update(assignments: str, *values: Any) -> Any:
    # Registered: on PostgreSQL a run of it may go as one statement (row_updates).
    sql = row_updates.register(RowUpdate("lethe_schedule", assignments)).sql

    def handler(e: Any) -> list[Statement]:
        params = [v(e) if callable(v) else v for v in values]
        return [(sql, (*params, str(e.originator_id)))]

    return handler


def _scheduled(e: Any) -> list[Statement]:
    return [
        (
            "UPDATE lethe_schedule SET due_at = ?, rule = ?, state = ?"
            " WHERE item_id = ? AND state IN ('waiting', 'scheduled')",
            (ms(e.due_at), e.rule, _schedule_state(e.due_at), str(e.originator_id)),
        )
    ]


def _registered(e: Any) -> list[Statement]:
    return [
        (
            "INSERT INTO lethe_subjects (subject_ref, subject_id, controller)"
            " VALUES (?, ?, ?) ON CONFLICT (subject_ref) DO NOTHING",
            (e.subject_ref, str(e.originator_id), e.controller),
        )
    ]


def _erasure_requested(e: Any) -> list[Statement]:
    return [
        (
            "INSERT INTO lethe_requests"
            " (request_id, subject_ref, requested_at, answer_due_at)"
            " SELECT ?, subject_ref, ?, ? FROM lethe_subjects WHERE subject_id = ?"
            " ON CONFLICT (request_id) DO NOTHING",
            (
                e.request_id,
                ms(e.requested_at),
                ms(e.answer_due_at),
                str(e.originator_id),
            ),
        )
    ]


_SUBJECT_REF_OF = "(SELECT subject_ref FROM lethe_subjects WHERE subject_id = ?)"


def _carried_out(e: Any) -> list[Statement]:
    return [
        (
            "UPDATE lethe_requests SET carried_out_at = ?"
            f" WHERE request_id = ? AND subject_ref = {_SUBJECT_REF_OF}",
            (ms(e.at), e.request_id, str(e.originator_id)),
        )
    ]


def _extended(e: Any) -> list[Statement]:
    return [
        (
            "INSERT INTO lethe_request_extensions"
            " (subject_ref, request_id, extended_due_at, told_on)"
            " SELECT subject_ref, ?, ?, ? FROM lethe_subjects WHERE subject_id = ?"
            " ON CONFLICT (subject_ref, request_id) DO NOTHING",
            (e.request_id, ms(e.extended_due_at), e.told_on, str(e.originator_id)),
        )
    ]


def _recall_answered(e: Any) -> list[Statement]:
    if e.outcome != "RECALLED":
        return []  # TOO_LATE: the Erased event that goes with it closes the row
    return [
        (
            "UPDATE lethe_schedule SET"
            " state = CASE WHEN due_at IS NULL THEN 'waiting' ELSE 'scheduled' END,"
            " cause = NULL, ordered_at = NULL, attempts = 0"
            " WHERE item_id = ? AND state <> 'erased'",
            (str(e.originator_id),),
        )
    ]


_HANDLERS: dict[type, Any] = {
    Item.Ingested: _ingested,
    Item.Scheduled: _scheduled,
    Item.Rescheduled: _scheduled,  # a new policy version: the same row change
    Item.HoldPlaced: _item_update("holds = holds + 1"),
    Item.HoldReleased: _item_update("holds = holds - 1"),
    Item.Restricted: _item_update("restrictions = restrictions + 1"),
    Item.RestrictionLifted: _item_update("restrictions = restrictions - 1"),
    Item.ErasureOrdered: _item_update(
        "state = 'erasure-ordered', cause = ?, ordered_at = ?, attempts = 1",
        lambda e: e.cause,
        lambda e: ms(e.at),
    ),
    Item.ErasureReissued: _item_update(
        "state = 'erasure-ordered', ordered_at = ?, attempts = ?",
        lambda e: ms(e.at),
        lambda e: e.attempt,
    ),
    Item.ErasureWithheld: _item_update(
        "state = CASE WHEN due_at IS NULL THEN 'waiting' ELSE 'scheduled' END,"
        " cause = NULL, ordered_at = NULL, attempts = 0"
    ),
    Item.ErasureRecalled: _item_update("state = 'recall-sent'"),
    Item.RecallAnswered: lambda e: _recall_answered(e),
    Item.Erased: _item_update("state = 'erased', closed_at = ?", lambda e: ms(e.at)),
    # A recall out waits for its answer: a failure of the order is not re-sent.
    Item.ErasureFailed: lambda e: [
        (
            "UPDATE lethe_schedule SET state = 'erasure-failed'"
            " WHERE item_id = ? AND state <> 'recall-sent'",
            (str(e.originator_id),),
        )
    ],
    Subject.Registered: _registered,
    Subject.ErasureRequested: _erasure_requested,
    Subject.ErasureCarriedOut: _carried_out,
    Subject.RequestExtended: _extended,
}


def answer_counts(items: Iterable[Item]) -> tuple[int, int, int]:
    """Counts, in this order: ordered for erasure, kept by a legal obligation,
    waiting on a hold or restriction.
    """
    ordered = kept = waiting = 0
    for item in items:
        if (
            item.order is not None
            and item.order["cause"] == ErasureCause.SUBJECT_ERASURE
        ):
            ordered += 1
        elif item.kept_for_legal_obligation:
            kept += 1
        elif item.order is None:
            waiting += 1
    return ordered, kept, waiting
