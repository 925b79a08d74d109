"""Issue 11, part 7: a record of an erased item that arrives again is tombstoned
and ordered erased again, under an order id of its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from lethe.consumers.codec import Catalogue
from lethe.domain.item import ItemState, Outcome
from lethe.ops.kafka.relay import Relay
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record
from tests.unit.test_relay import TakingProducer

DUE = T0 + timedelta(days=400)
RECORD = ingest_record("img-1", "verification-image", "cust-1", offset=7)


@pytest.fixture
def erased(tmp_path: Path) -> Runtime:
    runtime = build_runtime(
        Settings.from_env({"LETHE_SQLITE_PATH": str(tmp_path / "db")})
    )
    runtime.app.ingest([RECORD], T0)
    runtime.catch_up()
    runtime.sweeper.sweep(DUE)
    Relay(runtime.app, TakingProducer(), Catalogue.shipped()).relay_pending()
    item = runtime.app.get_item("img-1")
    assert item.order is not None
    runtime.app.confirm_erasure(
        "img-1", item.order["order_id"], "media", Outcome.DELETED, None, DUE
    )
    return runtime


@pytest.mark.parametrize("content", [None, b"other bytes"], ids=["same", "conflict"])
def test_a_record_arriving_after_erasure_gets_a_new_tombstone_and_order(
    erased: Runtime, content: bytes | None
) -> None:
    app = erased.app
    first_order = app.get_item("img-1").order
    assert first_order is not None
    again = replace(RECORD, source_offset=99, content=content or RECORD.content)
    app.ingest([again], DUE + timedelta(days=1))
    item = app.get_item("img-1")
    assert item.state == ItemState.ERASURE_ORDERED
    assert item.order is not None
    assert item.order["order_id"] != first_order["order_id"]
    producer = TakingProducer()
    relay = Relay(app, producer, Catalogue.shipped())
    # The first erasure's tombstone (its DELETED was not relayed yet), the new order.
    assert relay.relay_pending() == 2
    assert [t for t, _k in producer.sent] == ["alarm.images.v1", "lethe.erasures.v1"]
    # Tombstones follow a store's answer: the new order's too.
    new_order = item.order["order_id"]
    app.confirm_erasure("img-1", new_order, "media", Outcome.NOT_FOUND, None, DUE)
    assert relay.relay_pending() == 1
    assert producer.sent[-1] == ("alarm.images.v1", b"img-1")


def test_the_same_record_again_orders_nothing_twice(erased: Runtime) -> None:
    app = erased.app
    again = replace(RECORD, source_offset=99)
    app.ingest([again], DUE + timedelta(days=1))
    version = app.get_item("img-1").version
    app.ingest([again, again], DUE + timedelta(days=2))
    assert app.get_item("img-1").version == version


def test_the_new_order_is_confirmed_like_the_first(erased: Runtime) -> None:
    app = erased.app
    app.ingest([replace(RECORD, source_offset=99)], DUE + timedelta(days=1))
    order = app.get_item("img-1").order
    assert order is not None
    app.confirm_erasure(
        "img-1", order["order_id"], "media", Outcome.NOT_FOUND, None, DUE
    )
    assert app.get_item("img-1").state == ItemState.ERASED
