"""The relay and replays (issue 15, part 6): an ErasureReplayed goes out as the
order it repeats, same order id, marked as a replay for its store; the gate
keeps back a replay recorded after a hold on its subject (ReplayWithheld), as
it keeps back orders; the app records nothing for a held subject."""

from __future__ import annotations

from datetime import timedelta

from lethe.consumers.codec import Catalogue
from lethe.domain.item import Outcome
from lethe.ops.kafka.relay import Relay
from lethe.ops.runtime.bootstrap import Runtime
from tests.unit.test_relay import TakingProducer
from tests.unit.test_relay_gate import CONTROLLER, DUE, ITEMS, events_of
from tests.unit.test_relay_gate import runtime as runtime  # noqa: F401 (fixture)

ORDERS = "lethe.erasures.v1"
LATER = DUE + timedelta(hours=1)
SINCE = DUE - timedelta(days=1)
REPLAYED = DUE + timedelta(days=2)


def erased(runtime: Runtime) -> tuple[Relay, TakingProducer, dict[str, str]]:
    """Every item ordered, sent, erased by `media`, its tombstone sent."""
    runtime.sweeper.sweep(DUE)
    producer = TakingProducer()
    relay = Relay(runtime.app, producer, Catalogue.shipped(), clock=lambda: DUE)
    relay.relay_pending()
    orders = {}
    for ref in ITEMS:
        order = runtime.app.get_item(ref).order
        assert order is not None
        orders[ref] = order["order_id"]
        runtime.app.confirm_erasure(
            ref, order["order_id"], "media", Outcome.DELETED, None, LATER
        )
    relay.relay_pending()
    return relay, producer, orders


def test_a_replay_goes_out_as_its_order_marked_for_its_store(
    runtime: Runtime,
) -> None:
    relay, producer, orders = erased(runtime)
    before = len(producer.values)
    held = runtime.app.replay_erasures(
        [("img-0", orders["img-0"])], "media", SINCE, REPLAYED
    )
    assert held == [[]]
    relay.relay_pending()
    [(topic, value)] = producer.values[before:]
    name, order = Catalogue.shipped().decode(value or b"")
    assert (topic, name, order["order_id"], order["item_id"]) == (
        ORDERS,
        "ErasureOrder",
        orders["img-0"],
        "img-0",
    )
    assert order["replay"] == {"number": 1, "store": "media", "since": SINCE}
    assert order["ordered_at"] == REPLAYED
    assert events_of(runtime, "img-0")[-1] == "ErasureReplayed"


def test_a_held_subject_gets_no_replay_recorded(runtime: Runtime) -> None:
    relay, producer, orders = erased(runtime)
    app = runtime.app
    app.place_subject_hold(CONTROLLER, "cust-1", "case-9", "police", "officer", LATER)
    held = app.replay_erasures([("img-1", orders["img-1"])], "media", SINCE, REPLAYED)
    assert held == [["hold:case-9"]]
    assert "ErasureReplayed" not in events_of(runtime, "img-1")


def test_a_replay_recorded_after_a_hold_in_the_log_is_withheld_by_the_gate(
    runtime: Runtime,
) -> None:
    relay, producer, orders = erased(runtime)
    app = runtime.app
    app.place_subject_hold(CONTROLLER, "cust-1", "case-9", "police", "officer", LATER)
    # A replay written by a process that had not seen the hold yet.
    item = app.get_item("img-2")
    assert item.replay_erasure(orders["img-2"], "media", SINCE, REPLAYED, []) == []
    app.save(item)
    before = len(producer.values)
    relay.relay_pending()
    assert producer.values[before:] == []
    assert events_of(runtime, "img-2")[-2:] == ["ErasureReplayed", "ReplayWithheld"]
    # Withheld: an answer after it is not the replay's, and nothing changes.
    item = app.get_item("img-2")
    assert not item.confirm_erasure(
        orders["img-2"], "media", Outcome.DELETED, None, REPLAYED
    )
