"""The relay's gate: an order preceded in the log by its subject's hold or
restriction never leaves Lethe, and the item's history says it was withheld."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lethe.consumers.codec import Catalogue
from lethe.domain.item import ItemState
from lethe.ops.kafka.relay import Relay
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record
from tests.unit.test_relay import TakingProducer

DUE = T0 + timedelta(days=400)  # every category's retention has run out
CONTROLLER = "sector-alarm"
ITEMS = [f"img-{i}" for i in range(3)]


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    built = build_runtime(
        Settings.from_env({"LETHE_SQLITE_PATH": str(tmp_path / "db")})
    )
    built.app.ingest(
        [ingest_record(ref, "verification-image", "cust-1") for ref in ITEMS], T0
    )
    built.catch_up()
    return built


def events_of(runtime: Runtime, ref: str) -> list[str]:
    item = runtime.app.get_item(ref)
    return [type(e).__name__ for e in runtime.app.repository.event_store.get(item.id)]


def test_an_order_written_after_a_subject_hold_is_withheld(runtime: Runtime) -> None:
    app = runtime.app
    # The hold is in the log, but the schedule has not mirrored it yet.
    app.place_subject_hold(CONTROLLER, "cust-1", "case-9", "police", "officer", DUE)
    assert runtime.sweeper.sweep(DUE).ordered == len(ITEMS)
    producer = TakingProducer()
    relay = Relay(app, producer, Catalogue.shipped(), clock=lambda: DUE)

    assert relay.relay_pending() == len(ITEMS)  # read, and...
    assert producer.keys == []  # ...nothing sent: no tombstone, no order
    for ref in ITEMS:
        assert events_of(runtime, ref)[-2:] == ["ErasureOrdered", "ErasureWithheld"]
        assert app.get_item(ref).state == ItemState.SCHEDULED

    runtime.catch_up()  # the withheld items take their subject's hold
    assert all(app.get_item(ref).is_held for ref in ITEMS)
    assert runtime.sweeper.sweep(DUE + timedelta(hours=1)).ordered == 0
    assert relay.relay_pending() == 0 and producer.keys == []


def test_a_restriction_withholds_and_its_lifting_lets_the_order_go(
    runtime: Runtime,
) -> None:
    app = runtime.app
    app.restrict_subject(CONTROLLER, "cust-1", "T-1", "art. 18", "support", DUE)
    runtime.sweeper.sweep(DUE)
    producer = TakingProducer()
    relay = Relay(app, producer, Catalogue.shipped(), clock=lambda: DUE)
    relay.relay_pending()
    runtime.catch_up()
    assert producer.keys == []

    later = DUE + timedelta(hours=1)
    app.lift_subject_restriction(CONTROLLER, "cust-1", "T-1", "support", later)
    runtime.catch_up()
    assert runtime.sweeper.sweep(later).ordered == len(ITEMS)
    relay.relay_pending()
    # An order each, now that nothing precedes them (tombstones follow the
    # stores' answers).
    assert sorted(producer.keys) == sorted(r.encode() for r in ITEMS)


def test_a_hold_released_before_the_order_does_not_withhold(runtime: Runtime) -> None:
    app = runtime.app
    app.place_subject_hold(CONTROLLER, "cust-1", "case-9", "police", "officer", DUE)
    app.release_subject_hold(CONTROLLER, "cust-1", "case-9", "officer", DUE)
    runtime.sweeper.sweep(DUE)
    producer = TakingProducer()
    Relay(app, producer, Catalogue.shipped()).relay_pending()
    assert len(producer.keys) == len(ITEMS)


def test_a_second_relay_replaying_the_page_withholds_nothing_twice(
    runtime: Runtime,
) -> None:
    app = runtime.app
    app.place_subject_hold(CONTROLLER, "cust-1", "case-9", "police", "officer", DUE)
    runtime.sweeper.sweep(DUE)
    first, second = TakingProducer(), TakingProducer()
    Relay(app, first, Catalogue.shipped()).relay_pending()
    replay = Relay(app, second, Catalogue.shipped())
    replay.relay_page(1000)  # from its own (shared) position: nothing left
    assert first.keys == second.keys == []
    for ref in ITEMS:
        assert events_of(runtime, ref).count("ErasureWithheld") == 1
