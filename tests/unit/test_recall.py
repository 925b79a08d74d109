"""Issue 11, part 2: a hold, restriction or police flag after an order is recorded
and recalls the order; the stores' RECALLED and TOO_LATE answers decide."""

from __future__ import annotations

from typing import Any

import pytest

from lethe.domain.errors import (
    ItemAlreadyErasedError,
    OrderRecalledError,
    UnknownRecallError,
)
from lethe.domain.item import Item, ItemState, Outcome
from lethe.domain.reconcile import apply_subject
from tests.unit.test_item_lifecycle import (
    DAY,
    IMAGE_DUE,
    POLICY,
    event_names,
    new_item,
    new_subject,
    ordered,
)

LATER = IMAGE_DUE + DAY


def sent() -> tuple[Item, str]:
    item = ordered(new_item())
    assert item.order is not None
    item.collect_events()
    return item, item.order["order_id"]


def answer(item: Item, order_id: str, outcome: Outcome, at: Any = LATER) -> bool:
    return item.confirm_erasure(order_id, "media", outcome, None, at)


@pytest.mark.parametrize(
    ("late", "mark"),
    [
        (lambda i: i.place_hold("POL-1", "evidence", "officer", LATER), "hold:POL-1"),
        (lambda i: i.restrict("T-1", "art. 18", "dpo", LATER), "restriction:T-1"),
        (
            lambda i: i.mark_police_relevant("POL-2", "officer", LATER),
            "police:POL-2",
        ),
    ],
    ids=["hold", "restriction", "police-extension"],
)
def test_a_mark_after_the_order_is_recorded_and_recalls_it(
    late: Any, mark: str
) -> None:
    item, order_id = sent()
    late(item)
    events = item.collect_events()
    assert [type(e).__name__ for e in events][-1] == "ErasureRecalled"
    recall = events[-1]
    assert (recall.order_id, recall.held_by) == (order_id, [mark])
    assert item.state == ItemState.RECALL_SENT


def test_a_second_late_mark_sends_no_second_recall() -> None:
    item, _ = sent()
    item.place_hold("POL-1", "evidence", "officer", LATER)
    item.collect_events()
    item.restrict("T-1", "art. 18", "dpo", LATER)
    assert event_names(item) == ["Restricted"]


def test_recalled_puts_the_item_back_on_its_schedule_and_stays_held() -> None:
    item, order_id = sent()
    item.place_hold("POL-1", "evidence", "officer", LATER)
    assert answer(item, order_id, Outcome.RECALLED)
    assert item.order is None and item.state == ItemState.SCHEDULED
    assert item.is_held
    assert answer(item, order_id, Outcome.RECALLED) is False  # redelivered


def test_after_recall_and_release_the_new_order_has_an_id_the_stores_never_saw() -> (
    None
):
    item, order_id = sent()
    item.place_hold("POL-1", "evidence", "officer", LATER)
    answer(item, order_id, Outcome.RECALLED)
    item.release_hold("POL-1", "officer", LATER + DAY)
    new_id = item.order_due_erasure(LATER + DAY)
    assert new_id != order_id
    assert answer(item, new_id, Outcome.DELETED)
    assert item.state == ItemState.ERASED


def test_too_late_after_deleted_is_recorded_and_the_item_stays_erased() -> None:
    item, order_id = sent()
    item.place_hold("POL-1", "evidence", "officer", LATER)
    answer(item, order_id, Outcome.DELETED)  # on its way before the recall came
    item.collect_events()
    assert answer(item, order_id, Outcome.TOO_LATE)
    assert event_names(item) == ["RecallAnswered"]
    assert item.state == ItemState.ERASED


def test_too_late_alone_means_the_bytes_are_gone() -> None:
    item, order_id = sent()
    item.place_hold("POL-1", "evidence", "officer", LATER)
    item.collect_events()
    assert answer(item, order_id, Outcome.TOO_LATE)
    assert event_names(item) == ["RecallAnswered", "Erased"]
    assert item.state == ItemState.ERASED


def test_deleted_after_recalled_is_recorded_as_the_fact_it_is() -> None:
    item, order_id = sent()
    item.place_hold("POL-1", "evidence", "officer", LATER)
    answer(item, order_id, Outcome.RECALLED)
    item.collect_events()
    assert answer(item, order_id, Outcome.DELETED)
    assert event_names(item) == ["Erased"]  # audit verify names it
    assert item.state == ItemState.ERASED


def test_a_recall_answer_without_a_recall_is_refused() -> None:
    item, order_id = sent()
    with pytest.raises(UnknownRecallError, match=order_id):
        answer(item, order_id, Outcome.RECALLED)
    assert event_names(item) == []


def test_a_recalled_order_is_not_reissued_and_its_failure_keeps_the_recall() -> None:
    item, order_id = sent()
    item.place_hold("POL-1", "evidence", "officer", LATER)
    answer(item, order_id, Outcome.FAILED)
    assert item.state == ItemState.RECALL_SENT
    with pytest.raises(OrderRecalledError):
        item.reissue_erasure(LATER)


def test_a_hold_on_an_erased_item_is_refused_with_the_reason() -> None:
    item, order_id = sent()
    answer(item, order_id, Outcome.DELETED)
    item.collect_events()
    with pytest.raises(ItemAlreadyErasedError, match="img-1"):
        item.place_hold("POL-1", "evidence", "officer", LATER)
    assert event_names(item) == []


def test_a_late_subject_hold_reaches_an_ordered_item_and_recalls_it() -> None:
    item, order_id = sent()
    subject = new_subject()
    subject.place_hold("POL-9", "police", "officer", LATER)
    assert apply_subject(item, subject, POLICY, "subject-holdplaced", LATER)
    assert event_names(item) == ["HoldPlaced", "ErasureRecalled"]
    assert item.holds and item.state == ItemState.RECALL_SENT
    # Its release reaches it too; the recall's answer is still awaited.
    subject.release_hold("POL-9", "officer", LATER + DAY)
    assert apply_subject(item, subject, POLICY, "subject-holdreleased", LATER + DAY)
    assert not item.holds and item.state == ItemState.RECALL_SENT
    assert item.order is not None and item.order["order_id"] == order_id


def test_a_copy_back_under_a_hold_is_kept_and_ordered_at_the_last_release() -> None:
    item, order_id = sent()
    item.place_hold("POL-1", "evidence", "officer", LATER)
    answer(item, order_id, Outcome.TOO_LATE)  # the store had already deleted it
    assert item.state == ItemState.ERASED
    item.collect_events()
    # The record is republished (a pipeline's replay) while the hold is on.
    assert item.erase_again("alarm.images.v1", 0, 99, LATER + DAY)
    assert event_names(item) == ["ArrivedAgain"]  # recorded; no order past the hold
    assert item.order is not None and item.order["order_id"] == order_id
    item.release_hold("POL-1", "officer", LATER + 2 * DAY)
    assert event_names(item) == ["HoldReleased", "ErasureOrdered"]
    assert item.order["order_id"] != order_id
    # The same record again changes nothing: its copy is already ordered.
    assert not item.erase_again("alarm.images.v1", 0, 99, LATER + 3 * DAY)


def test_a_copy_ordered_while_an_old_recall_is_out_is_recalled_by_a_new_hold() -> None:
    """Recalls are kept by order: the first order's recall, still unanswered,
    does not stop a hold from recalling the copy's order (holds win), and the
    first recall's late answer says nothing about the copy's bytes."""
    item, first = sent()
    item.place_hold("POL-1", "evidence", "officer", LATER)  # recalls the first
    answer(item, first, Outcome.DELETED)  # carried out before the recall came
    item.release_hold("POL-1", "officer", LATER + DAY)
    assert item.erase_again("alarm.images.v1", 0, 99, LATER + DAY)
    assert item.order is not None
    copy = item.order["order_id"]
    assert copy != first and item.state == ItemState.ERASURE_ORDERED
    item.collect_events()
    item.place_hold("POL-2", "evidence", "officer", LATER + 2 * DAY)
    events = item.collect_events()
    assert [type(e).__name__ for e in events] == ["HoldPlaced", "ErasureRecalled"]
    assert events[-1].order_id == copy
    assert item.state == ItemState.RECALL_SENT
    # The first order's recall is answered late: recorded, the copy's recall
    # stays out and the item is not called erased.
    assert answer(item, first, Outcome.TOO_LATE, LATER + 3 * DAY)
    assert event_names(item) == ["RecallAnswered"]
    assert item.state == ItemState.RECALL_SENT and item.recall is not None
    assert answer(item, copy, Outcome.RECALLED, LATER + 3 * DAY)
    assert item.order is None and item.state == ItemState.SCHEDULED
    assert item.is_held


def test_a_late_kept_answer_to_an_old_order_does_not_void_the_live_one() -> None:
    item, first = sent()
    item.place_hold("POL-1", "evidence", "officer", LATER)
    answer(item, first, Outcome.DELETED)
    item.release_hold("POL-1", "officer", LATER + DAY)
    item.erase_again("alarm.images.v1", 0, 99, LATER + DAY)
    assert item.order is not None
    copy = item.order["order_id"]
    item.collect_events()
    # A second store kept the first order's bytes: its answer voids nothing now.
    assert item.confirm_erasure(first, "archive", Outcome.RECALLED, None, LATER)
    assert event_names(item) == ["RecallAnswered"]
    assert item.order is not None and item.order["order_id"] == copy
    assert item.state == ItemState.ERASURE_ORDERED
