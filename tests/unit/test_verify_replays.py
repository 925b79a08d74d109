"""Audit verify and replays (issue 15, part 6). A replay is not a second order
and not a second erasure: a history with replays and their answers verifies
clean, however many. A replay of an item not erased is REPLAYED_UNERASED; one
that left while its subject was held is REPLAYED_WHILE_SUBJECT_HELD, unless the
relay withheld it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lethe.domain.item import Item, Outcome
from lethe.projections.audit_across import (
    REPLAYED_WHILE_SUBJECT_HELD,
    REPLAYED_WHILE_SUBJECT_RESTRICTED,
)
from lethe.projections.audit_timeline import item_document
from lethe.projections.audit_verify import REPLAYED_UNERASED
from tests.unit.test_audit_recall import names
from tests.unit.test_item_lifecycle import (
    DAY,
    IMAGE_DUE,
    new_item,
    new_subject,
    ordered,
)

LATER = IMAGE_DUE + DAY
SINCE = IMAGE_DUE - DAY


def erased_and_replayed(replays: int = 1) -> tuple[Item, str, list[Any]]:
    item = ordered(new_item())
    assert item.order is not None
    order_id = item.order["order_id"]
    item.confirm_erasure(order_id, "media", Outcome.DELETED, None, LATER)
    for n in range(replays):
        at = LATER + (n + 1) * DAY
        item.replay_erasure(order_id, "media", SINCE, at, [])
        item.confirm_erasure(order_id, "media", Outcome.DELETED, None, at)
    return item, order_id, list(item.collect_events())


def test_replays_and_their_answers_are_a_valid_history() -> None:
    _, order_id, events = erased_and_replayed(replays=3)
    assert [type(e).__name__ for e in events].count("ReplayAnswered") == 3
    assert names(events) == set()


def test_the_timeline_shows_each_replay_and_the_stores_answer() -> None:
    _, order_id, events = erased_and_replayed(replays=1)
    doc = item_document(events)
    rows = doc["timeline"]
    assert [r["event"] for r in rows][-2:] == ["ErasureReplayed", "ReplayAnswered"]
    assert rows[-2]["details"] == (
        f"order {order_id} replayed (#1) to media, restored:"
        f" erasures confirmed after {SINCE.isoformat()}"
    )
    assert rows[-1]["details"] == f"media: DELETED; replay #1 of order {order_id}"
    [replay] = doc["erasure"]["replays"]
    assert (replay["number"], replay["answer"]["outcome"]) == (1, "DELETED")
    # Still one order and one confirmation: the replay is neither.
    assert doc["erasure"]["ordered"]["order_id"] == order_id
    assert len(doc["erasure"]["confirmations"]) == 1


def test_a_replay_of_an_item_not_erased_is_named() -> None:
    item = ordered(new_item())
    assert item.order is not None
    events = list(item.collect_events())
    # Not something the domain lets happen: a hand-made event, as a forged or
    # buggy history would hold.
    events.append(
        Item.ErasureReplayed(
            originator_id=item.id,
            originator_version=item.version + 1,
            timestamp=LATER,
            order_id=item.order["order_id"],
            number=1,
            store="media",
            since=SINCE,
            item_ref=item.item_ref,
            subject_ref=item.subject_ref,
            at=LATER,
        )
    )
    assert REPLAYED_UNERASED in names(events)


def subject_held() -> list[Any]:
    subject = new_subject()
    subject.place_hold("POL-5", "evidence", "officer", LATER)
    subject.restrict("T-5", "art. 18", "dpo", LATER)
    return list(subject.collect_events())


def test_a_replay_that_left_while_its_subject_was_held_is_named() -> None:
    item, order_id, events = erased_and_replayed(replays=0)
    replay_at = LATER + timedelta(days=2)
    item.replay_erasure(order_id, "media", SINCE, replay_at, [])
    history = events + subject_held() + list(item.collect_events())
    assert {REPLAYED_WHILE_SUBJECT_HELD, REPLAYED_WHILE_SUBJECT_RESTRICTED} <= names(
        history
    )


def test_a_replay_the_relay_withheld_is_no_violation() -> None:
    item, order_id, events = erased_and_replayed(replays=0)
    replay_at = LATER + timedelta(days=2)
    item.replay_erasure(order_id, "media", SINCE, replay_at, [])
    item.withhold_replay(order_id, 1, ["hold:POL-5"], replay_at)
    history = events + subject_held() + list(item.collect_events())
    assert names(history) == set()
