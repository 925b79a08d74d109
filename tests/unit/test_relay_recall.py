"""The relay and recalls: a late hold's ErasureRecall goes out; a tombstone only
after a store's erasure, never for an order a store kept (RECALLED)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lethe.consumers.codec import Catalogue
from lethe.domain.item import Outcome
from lethe.ops.kafka.relay import Relay
from lethe.ops.runtime.bootstrap import Runtime
from tests.unit.test_relay import TakingProducer
from tests.unit.test_relay_gate import CONTROLLER, DUE, ITEMS, events_of
from tests.unit.test_relay_gate import runtime as runtime  # noqa: F401 (fixture)

ORDERS = "lethe.erasures.v1"
IMAGES = "alarm.images.v1"
LATER = DUE + timedelta(hours=1)


def relayed(runtime: Runtime) -> tuple[Relay, TakingProducer]:
    runtime.sweeper.sweep(DUE)
    producer = TakingProducer()
    relay = Relay(runtime.app, producer, Catalogue.shipped(), clock=lambda: DUE)
    relay.relay_pending()
    return relay, producer


def decoded(producer: TakingProducer) -> list[tuple[str, str | None]]:
    catalogue = Catalogue.shipped()
    return [
        (topic, None if value is None else catalogue.decode(value)[0])
        for topic, value in producer.values
    ]


def answer(runtime: Runtime, ref: str, outcome: Outcome) -> None:
    order = runtime.app.get_item(ref).order
    assert order is not None
    runtime.app.confirm_erasure(ref, order["order_id"], "media", outcome, None, LATER)


def test_orders_go_out_without_tombstones_until_a_store_erases(
    runtime: Runtime,
) -> None:
    relay, producer = relayed(runtime)
    assert decoded(producer) == [(ORDERS, "ErasureOrder")] * len(ITEMS)
    answer(runtime, "img-0", Outcome.DELETED)
    relay.relay_pending()
    assert producer.sent[-1] == (IMAGES, b"img-0")
    assert decoded(producer)[-1] == (IMAGES, None)  # the tombstone


def test_a_late_hold_recalls_and_recalled_sends_no_tombstone(runtime: Runtime) -> None:
    relay, producer = relayed(runtime)
    runtime.app.place_hold("img-0", "POL-1", "evidence", "officer", LATER)
    relay.relay_pending()
    recall = Catalogue.shipped().decode(producer.values[-1][1] or b"")
    order = runtime.app.get_item("img-0").order
    assert order is not None
    assert recall[0] == "ErasureRecall"
    assert (recall[1]["order_id"], recall[1]["held_by"]) == (
        order["order_id"],
        ["hold:POL-1"],
    )
    order_id = order["order_id"]
    runtime.app.confirm_erasure(
        "img-0", order_id, "media", Outcome.RECALLED, None, LATER
    )
    # A broken store that deletes after all: recorded, but no tombstone.
    runtime.app.confirm_erasure(
        "img-0", order_id, "media", Outcome.DELETED, None, LATER
    )
    before = len(producer.sent)
    relay.relay_pending()
    assert producer.sent[before:] == []


def test_too_late_sends_the_tombstone(runtime: Runtime) -> None:
    relay, producer = relayed(runtime)
    runtime.app.place_hold("img-1", "POL-1", "evidence", "officer", LATER)
    answer(runtime, "img-1", Outcome.TOO_LATE)
    relay.relay_pending()
    assert decoded(producer)[-2:] == [(ORDERS, "ErasureRecall"), (IMAGES, None)]


@pytest.mark.parametrize("page", [1000, 1], ids=["same-page", "page-by-page"])
def test_a_recall_of_an_order_the_gate_withholds_is_never_sent(
    runtime: Runtime, page: int
) -> None:
    app = runtime.app
    app.place_subject_hold(CONTROLLER, "cust-1", "case-9", "police", "officer", DUE)
    runtime.sweeper.sweep(DUE)  # ordered before the schedule mirrored the hold
    runtime.schedule.run_until_idle()  # the mirror: a late hold, and a recall
    assert events_of(runtime, "img-0")[-2:] == ["HoldPlaced", "ErasureRecalled"]
    producer = TakingProducer()
    relay = Relay(app, producer, Catalogue.shipped(), clock=lambda: DUE, page_size=page)
    relay.relay_pending()
    assert producer.sent == []  # neither the order nor its recall
    assert events_of(runtime, "img-0")[-1] == "ErasureWithheld"
    assert app.get_item("img-0").recall is None
