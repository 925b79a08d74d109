"""Ordering erasures from item histories, without rebuilding every item.

Most items a sweep orders have a plain history: they arrived (`Ingested`) and
were perhaps scheduled again (`Scheduled`, `Rescheduled`). Such an item holds
nothing, restricts nothing, was never ordered, recalled or kept for a legal
obligation, so of every refusal `Item.order_erasure` makes only "not due" can
apply, and the order's fields are the last schedule's and the arrival's. For
those histories the order is built from the events directly (rebuilding the
item through eventsourcing's generic path was ~40 % of ordering's CPU). Any
other event in the history, and the `Item` itself decides, as before:
tests/unit/test_lean_order.py checks over random lifecycles that both ways
order and refuse alike and store the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lethe.domain import identity
from lethe.domain.errors import NotDueError
from lethe.domain.item import ErasureCause, Item, erasure_ordered

# The events after which an item is still "plain": each only sets the schedule.
_SCHEDULES = (Item.Scheduled, Item.Rescheduled)


def order_erasure(history: Sequence[Any], cause: ErasureCause, at: datetime) -> Any:
    """The `ErasureOrdered` that `Item.order_erasure(cause, at)` records for the
    item with this history (in version order); raises what it raises."""
    plain = _plain(history)
    if plain is None:
        item = project(history)
        item.order_erasure(cause, at)
        (ordered,) = item.collect_events()
        return ordered
    return _order_plain(history, plain, cause, at)


def order_due_erasure(history: Sequence[Any], at: datetime) -> Any:
    """The sweeper's order (`Item.order_due_erasure`), from the item's history."""
    plain = _plain(history)
    if plain is None:
        item = project(history)
        item.order_due_erasure(at)
        (ordered,) = item.collect_events()
        return ordered
    arrived = history[0]
    due_at = plain[0]
    arrived_expired = due_at is not None and due_at <= arrived.ingested_at
    cause = (
        ErasureCause.ARRIVED_EXPIRED
        if arrived_expired
        else ErasureCause.RETENTION_EXPIRED
    )
    return _order_plain(history, plain, cause, at)


def project(history: Sequence[Any]) -> Any:
    """The aggregate these events make (eventsourcing's project_aggregate checks a
    runtime Protocol on every event, which costs more than the mutation)."""
    aggregate = None
    for event in history:
        aggregate = event.mutate(aggregate)
    return aggregate


def _plain(history: Sequence[Any]) -> tuple[datetime | None, str, str] | None:
    """(due_at, rule, policy) of a plain history; None for any other."""
    if not history or type(history[0]) is not Item.Ingested:
        return None
    first = history[0]
    schedule = (first.due_at, first.rule, first.policy)
    for event in history[1:]:
        if type(event) not in _SCHEDULES:
            return None
        schedule = (event.due_at, event.rule, event.policy)
    return schedule


def _order_plain(
    history: Sequence[Any],
    plain: tuple[datetime | None, str, str],
    cause: ErasureCause,
    at: datetime,
) -> Any:
    arrived, last = history[0], history[-1]
    due_at, rule, policy = plain
    # Not held, not restricted, not ordered, not kept by law: a subject's request
    # goes early; anything else waits for the due instant (Item.order_erasure).
    early = cause == ErasureCause.SUBJECT_ERASURE
    if not early and (due_at is None or due_at > at):
        raise NotDueError(arrived.item_ref, due_at, at)
    # Never recalled: the order's id is named by the cause alone.
    order_id = identity.order_id(arrived.item_ref, cause.value, arrived.content_digest)
    return erasure_ordered(
        arrived.originator_id,
        last.originator_version + 1,
        {
            "order_id": order_id,
            "cause": cause.value,
            "rule": rule,
            "policy": policy,
            "due_at": due_at,
            "item_ref": arrived.item_ref,
            "source_topic": arrived.source_topic,
            "source_partition": arrived.source_partition,
            "category": arrived.category,
            "blob_uri": arrived.blob_uri,
            "sha256": arrived.sha256,
            "at": at,
            "subject_ref": arrived.subject_ref,
        },
    )
