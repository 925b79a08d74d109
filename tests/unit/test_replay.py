"""Issue 15, part 6: replaying a confirmed erasure for a store restored from a
backup. A replay carries the original order id, is numbered, changes nothing
of the item's erasure, is refused for what was never confirmed, and is kept
back by a hold or restriction (holds win). The store's answer to it is
recorded as the replay's, never taken for the order's."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lethe.domain.errors import NotConfirmedError
from lethe.domain.item import Item, ItemState, Outcome
from tests.unit.test_item_lifecycle import DAY, IMAGE_DUE, new_item, ordered

SINCE = IMAGE_DUE - DAY
CONFIRMED = IMAGE_DUE + timedelta(hours=1)
REPLAYED = IMAGE_DUE + 10 * DAY


def erased(
    store: str = "media", outcome: Outcome = Outcome.DELETED
) -> tuple[Item, str]:
    item = ordered(new_item())
    assert item.order is not None
    order_id = item.order["order_id"]
    assert item.confirm_erasure(order_id, store, outcome, None, CONFIRMED)
    item.collect_events()
    return item, order_id


@pytest.mark.parametrize("outcome", [Outcome.DELETED, Outcome.NOT_FOUND])
def test_a_confirmed_erasure_is_replayed_under_its_order_id(outcome: Outcome) -> None:
    item, order_id = erased(outcome=outcome)
    assert item.replay_erasure(order_id, "media", SINCE, REPLAYED, []) == []
    [event] = item.collect_events()
    assert isinstance(event, Item.ErasureReplayed)
    assert (event.order_id, event.number, event.store, event.since, event.at) == (
        order_id,
        1,
        "media",
        SINCE,
        REPLAYED,
    )
    # Not a second order: the item stays erased, its order the same.
    assert item.state == ItemState.ERASED
    assert item.order is not None and item.order["order_id"] == order_id


def test_replays_are_numbered() -> None:
    item, order_id = erased()
    item.replay_erasure(order_id, "media", SINCE, REPLAYED, [])
    item.replay_erasure(order_id, "media", SINCE, REPLAYED + DAY, [])
    assert [e.number for e in item.collect_events()] == [1, 2]


def test_only_what_a_store_confirmed_is_replayed() -> None:
    unconfirmed = ordered(new_item())
    assert unconfirmed.order is not None
    with pytest.raises(NotConfirmedError, match="never confirmed"):
        unconfirmed.replay_erasure(
            unconfirmed.order["order_id"], "media", SINCE, REPLAYED, []
        )
    item, order_id = erased(store="media")
    with pytest.raises(NotConfirmedError, match="store recordings never confirmed"):
        item.replay_erasure(order_id, "recordings", SINCE, REPLAYED, [])
    assert item.collect_events() == []


def test_a_failed_answer_is_not_an_erasure_to_replay() -> None:
    item = ordered(new_item())
    assert item.order is not None
    order_id = item.order["order_id"]
    item.confirm_erasure(order_id, "media", Outcome.FAILED, "disk", CONFIRMED)
    with pytest.raises(NotConfirmedError):
        item.replay_erasure(order_id, "media", SINCE, REPLAYED, [])


def test_a_hold_on_the_subject_keeps_the_replay_back_and_nothing_is_recorded() -> None:
    item, order_id = erased()
    marks = ["hold:POL-7"]
    assert item.replay_erasure(order_id, "media", SINCE, REPLAYED, marks) == marks
    assert item.collect_events() == []


def test_a_hold_on_the_item_keeps_the_replay_back() -> None:
    # A late hold whose store answered TOO_LATE: erased, and held.
    item = ordered(new_item())
    assert item.order is not None
    order_id = item.order["order_id"]
    item.place_hold("POL-1", "evidence", "officer", CONFIRMED)
    item.confirm_erasure(order_id, "media", Outcome.TOO_LATE, None, CONFIRMED)
    assert item.state == ItemState.ERASED
    assert item.replay_erasure(order_id, "media", SINCE, REPLAYED, []) == ["hold:POL-1"]


def test_the_stores_answer_to_a_replay_is_the_replays() -> None:
    item, order_id = erased()
    item.replay_erasure(order_id, "media", SINCE, REPLAYED, [])
    item.collect_events()
    # The original's answer, redelivered (dated before the replay): not it.
    assert not item.confirm_erasure(order_id, "media", Outcome.DELETED, None, CONFIRMED)
    assert item.collect_events() == []
    later = REPLAYED + timedelta(seconds=3)
    assert item.confirm_erasure(order_id, "media", Outcome.DELETED, None, later)
    [answer] = item.collect_events()
    assert isinstance(answer, Item.ReplayAnswered)
    assert (answer.number, answer.store, answer.outcome) == (1, "media", "DELETED")
    # Redelivered: nothing new.
    assert not item.confirm_erasure(order_id, "media", Outcome.DELETED, None, later)
    assert item.collect_events() == []
    assert item.state == ItemState.ERASED


def test_an_answer_a_little_before_the_replay_by_the_stores_clock_counts() -> None:
    item, order_id = erased()
    item.replay_erasure(order_id, "media", SINCE, REPLAYED, [])
    item.collect_events()
    behind = REPLAYED - timedelta(minutes=1)  # the store's clock is a minute behind
    assert item.confirm_erasure(order_id, "media", Outcome.NOT_FOUND, None, behind)
    assert [type(e).__name__ for e in item.collect_events()] == ["ReplayAnswered"]


def test_a_withheld_replay_is_recorded_once_and_closes_it() -> None:
    item, order_id = erased()
    item.replay_erasure(order_id, "media", SINCE, REPLAYED, [])
    item.collect_events()
    assert item.withhold_replay(order_id, 1, ["hold:POL-9"], REPLAYED)
    assert not item.withhold_replay(order_id, 1, ["hold:POL-9"], REPLAYED)
    [event] = item.collect_events()
    assert isinstance(event, Item.ReplayWithheld)
    # Never sent, so an answer after it is not the replay's.
    later = REPLAYED + DAY
    assert not item.confirm_erasure(order_id, "media", Outcome.DELETED, None, later)


def test_an_erased_items_replays_survive_reconstruction_from_its_events() -> None:
    item = ordered(new_item())
    assert item.order is not None
    order_id = item.order["order_id"]
    item.confirm_erasure(order_id, "media", Outcome.DELETED, None, CONFIRMED)
    item.replay_erasure(order_id, "media", SINCE, REPLAYED, [])
    events = item.collect_events()
    rebuilt = None
    for e in events:
        rebuilt = e.mutate(rebuilt)
    assert isinstance(rebuilt, Item)
    assert rebuilt.confirmed_by(order_id) == ["media"]
    rebuilt.replay_erasure(order_id, "media", SINCE, REPLAYED + DAY, [])
    assert [e.number for e in rebuilt.collect_events()] == [2]


# (replay, answer-after-replay, answer-before-replay, withhold) in any order.
STEPS = st.lists(
    st.sampled_from(["replay", "answer", "stale", "withhold"]), max_size=20
)


@given(STEPS)
def test_replays_never_change_the_erasure_and_each_is_answered_at_most_once(
    steps: list[str],
) -> None:
    item, order_id = erased()
    at = REPLAYED
    answered: list[int] = []
    for step in steps:
        at += timedelta(hours=1)
        if step == "replay":
            assert item.replay_erasure(order_id, "media", SINCE, at, []) == []
        elif step == "answer":
            item.confirm_erasure(order_id, "media", Outcome.DELETED, None, at)
        elif step == "stale":
            item.confirm_erasure(order_id, "media", Outcome.DELETED, None, CONFIRMED)
        else:
            item.withhold_replay(
                order_id,
                getattr(item, "replay_count", {}).get(order_id, 0),
                ["hold:X"],
                at,
            )
        for e in item.collect_events():
            if isinstance(e, Item.ReplayAnswered):
                answered.append(e.number)
        assert item.state == ItemState.ERASED
        assert item.order is not None and item.order["order_id"] == order_id
    assert len(answered) == len(set(answered))
    replays = steps.count("replay")
    assert all(1 <= n <= replays for n in answered)
