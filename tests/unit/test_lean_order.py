"""The lean ordering path (domain/ordering.py) orders and refuses as `Item` does.

The sweeper orders from each item's history without rebuilding the item when
the history is plain (arrived, scheduled again). Over random lifecycles, for
every cause and several instants, it must raise what `Item.order_erasure`
raises, or record an event whose stored bytes are the ones `Item` stores.
"""

from __future__ import annotations

import contextlib
import copy
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import event as seen
from hypothesis import given, settings
from hypothesis import strategies as st

from lethe.domain import ordering
from lethe.domain.application import Lethe
from lethe.domain.errors import LetheError
from lethe.domain.item import ErasureCause, Item, Outcome, erasure_ordered
from lethe.policies import load_shipped
from lethe.projections.decode import fast_decoder
from tests.support import T0
from tests.support.fakes import FakeSubjectVault
from tests.unit.test_item_lifecycle import new_item

POLICY = load_shipped("sector-alarm")
DAY = timedelta(days=1)
APP = Lethe(
    env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
    policies={"sector-alarm": POLICY},
    vault=FakeSubjectVault(),
)
STEP = st.one_of(
    st.tuples(st.just("schedule"), st.one_of(st.none(), st.integers(0, 40))),
    st.tuples(st.just("adopt"), st.one_of(st.none(), st.integers(0, 40))),
    st.tuples(st.sampled_from(["hold", "release", "restrict", "lift"]), st.just(0)),
    st.tuples(st.sampled_from(["keep", "police", "withhold"]), st.just(0)),
    st.tuples(st.just("order"), st.sampled_from(list(ErasureCause))),
    st.tuples(st.just("answer"), st.sampled_from(list(Outcome))),
)


def _stored(events: list[Any]) -> list[Any]:
    """The events as the sweeper reads them: stored, then decoded fast."""
    decode = fast_decoder(APP)
    return [decode(APP.mapper.to_stored_event(e)) for e in events]


def _bytes(event: Any) -> tuple[str, bytes]:
    stored = APP.mapper.to_stored_event(event)
    return stored.topic, stored.state


def _live(item: Item, step: tuple[str, Any], at: datetime) -> None:
    kind, arg = step
    due = None if arg is None or not isinstance(arg, int) else T0 + arg * DAY
    order = item.order or {}
    calls: dict[str, Any] = {
        "schedule": lambda: item.schedule(due, "rule-s", "sector-alarm@1", "b", at),
        "adopt": lambda: item.adopt_policy(due, "rule-a", f"sector-alarm@{arg}", at),
        "hold": lambda: item.place_hold("POL-1", "case", "officer", at),
        "release": lambda: item.release_hold("POL-1", "officer", at),
        "restrict": lambda: item.restrict("T-1", "art. 18", "dpo", at),
        "lift": lambda: item.lift_restriction("T-1", "dpo", at),
        "keep": lambda: item.keep_for_legal_obligation("req-1", at),
        "police": lambda: item.mark_police_relevant("POL-9", "officer", at),
        "withhold": lambda: item.withhold_erasure(
            order.get("order_id", ""),
            getattr(item, "order_version", 0),
            ["hold:x"],
            at,
        ),
        "order": lambda: item.order_erasure(arg, at),
        "answer": lambda: item.confirm_erasure(
            order.get("order_id", ""), "media", arg, None, at
        ),
    }
    with contextlib.suppress(LetheError):  # a refusal: the history goes on
        calls[kind]()


def _by_item(history: list[Any], cause: ErasureCause | None, at: datetime) -> Any:
    rebuilt = ordering.project(history)
    if cause is None:
        rebuilt.order_due_erasure(at)
    else:
        rebuilt.order_erasure(cause, at)
    (ordered,) = rebuilt.collect_events()
    return ordered


def _lean(history: list[Any], cause: ErasureCause | None, at: datetime) -> Any:
    if cause is None:
        return ordering.order_due_erasure(history, at)
    return ordering.order_erasure(history, cause, at)


def _outcome(order: Any) -> tuple[str, Any]:
    try:
        event = order()
    except LetheError as error:
        return "refused", (type(error), str(error))
    return "ordered", event


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(STEP, max_size=8), offsets=st.lists(st.integers(-2, 45)))
def test_the_lean_path_orders_and_refuses_as_the_item_does(
    steps: list[tuple[str, Any]], offsets: list[int]
) -> None:
    item = new_item()
    for n, step in enumerate(steps):
        _live(item, step, T0 + n * timedelta(hours=1))
    history = _stored(item.collect_events())
    seen(f"plain: {ordering._plain(history) is not None}")
    for offset in [*offsets, 8, 400]:
        at = T0 + offset * DAY
        for cause in [*ErasureCause, None]:
            expected = _outcome(lambda: _by_item(history, cause, at))  # noqa: B023
            got = _outcome(lambda: _lean(history, cause, at))  # noqa: B023
            assert expected[0] == got[0], (steps, at, cause)
            if expected[0] == "refused":
                assert expected == got
                continue
            seen(f"ordered, plain: {ordering._plain(history) is not None}")
            # The stored bytes are equal once the timestamps (wall clock) are.
            object.__setattr__(got[1], "timestamp", expected[1].timestamp)
            assert _bytes(got[1]) == _bytes(expected[1])
            assert list(vars(got[1])) == list(vars(expected[1]))


def test_the_direct_event_stores_what_the_event_path_stores() -> None:
    """`erasure_ordered` against eventsourcing's generic `@event` path itself."""
    item = new_item()
    fields = {
        "order_id": "o-1",
        "cause": ErasureCause.RETENTION_EXPIRED.value,
        "rule": item.rule,
        "policy": item.policy,
        "due_at": item.due_at,
        "item_ref": item.item_ref,
        "source_topic": "alarm.images.v1",
        "source_partition": 0,
        "category": item.category,
        "blob_uri": None,
        "sha256": item.sha256,
        "at": T0 + 8 * DAY,
        "subject_ref": item.subject_ref,
    }
    generic = copy.deepcopy(item)
    generic._erasure_ordered(**fields)
    expected = generic.collect_events()[-1]
    direct = erasure_ordered(item.id, 2, fields, timestamp=expected.timestamp)
    assert _bytes(direct) == _bytes(expected)
    assert vars(direct) == vars(expected)
    # And it changes the item as the generic path does.
    direct.mutate(item)
    item.collect_events()
    assert vars(item) == vars(generic)


def test_the_direct_event_names_every_field() -> None:
    with pytest.raises(TypeError, match="ErasureOrdered needs"):
        erasure_ordered(new_item().id, 2, {"order_id": "o-1"})
