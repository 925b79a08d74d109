"""Audit verify and recalls: a recalled item released and erased later is a valid
history; a TOO_LATE erasure after a late hold is no violation; an erasure after
a RECALLED answer is ERASED_DESPITE_RECALL, by name."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lethe.domain.item import Item, Outcome
from lethe.projections.audit_across import AcrossVerifier
from lethe.projections.audit_timeline import item_document
from lethe.projections.audit_verify import (
    ERASED_DESPITE_RECALL,
    Verifier,
    VerifyLimits,
)
from tests.unit.test_item_lifecycle import DAY, IMAGE_DUE, new_item, ordered

LATER = IMAGE_DUE + DAY
NOW = IMAGE_DUE + 90 * DAY
LIMITS = VerifyLimits(NOW, timedelta(minutes=1), timedelta(days=1))


def names(events: list[Any]) -> set[str]:
    """What both passes of `lethe audit verify` name, over one item's history."""
    verifier, across = Verifier(LIMITS), AcrossVerifier(LIMITS)
    for position, event in enumerate(events, start=1):
        verifier.apply(event, position)
        across.apply(event)
    found = verifier.finish().counts | across.finish().counts
    return set(found)


def late_hold() -> tuple[Item, str]:
    item = ordered(new_item())
    assert item.order is not None
    order_id = item.order["order_id"]
    item.place_hold("POL-1", "evidence", "officer", LATER)
    return item, order_id


def history(item: Item) -> list[Any]:
    return list(item.collect_events())


def test_recalled_then_released_and_erased_again_is_a_valid_history() -> None:
    item, order_id = late_hold()
    item.confirm_erasure(order_id, "media", Outcome.RECALLED, None, LATER)
    item.release_hold("POL-1", "officer", LATER + DAY)
    new_id = item.order_due_erasure(LATER + DAY)
    item.confirm_erasure(new_id, "media", Outcome.DELETED, None, LATER + DAY)
    events = history(item)
    assert names(events) == set()
    doc = item_document(events)
    (recall,) = doc["erasure"]["recalls"]
    assert (recall["order_id"], recall["held_by"]) == (order_id, ["hold:POL-1"])
    assert recall["answer"]["outcome"] == "RECALLED"
    assert doc["erasure"]["ordered"]["order_id"] == new_id


def test_too_late_after_a_late_hold_is_no_violation() -> None:
    item, order_id = late_hold()
    item.confirm_erasure(order_id, "media", Outcome.DELETED, None, LATER)
    item.confirm_erasure(order_id, "media", Outcome.TOO_LATE, None, LATER)
    events = history(item)
    assert names(events) == set()
    rows = item_document(events)["timeline"]
    assert [r["event"] for r in rows][-3:] == [
        "ErasureRecalled",
        "Erased",
        "RecallAnswered",
    ]
    assert "TOO_LATE" in rows[-1]["details"]


def test_an_erasure_after_recalled_is_named() -> None:
    item, order_id = late_hold()
    item.confirm_erasure(order_id, "media", Outcome.RECALLED, None, LATER)
    item.confirm_erasure(order_id, "media", Outcome.DELETED, None, LATER + DAY)
    assert names(history(item)) == {ERASED_DESPITE_RECALL}
