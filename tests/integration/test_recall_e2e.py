"""Issue 11, part 2 on PostgreSQL and the broker: a late hold recalls an order.

Items are ordered and relayed, the eraser has not run yet; a hold for one of
them comes in on the commands topic. Lethe records it and relays a recall; the
eraser, reading the order and its recall together, keeps the file and answers
RECALLED; no tombstone goes out. And the TOO_LATE case: the eraser deleted
before the hold came; its answer is recorded, and the tombstone follows.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lethe.consumers.codec import Catalogue
from lethe.domain.item import ItemState
from lethe.ops.kafka.relay import ORDERS_TOPIC
from tests.integration.test_erasure_e2e import (
    IMAGES,
    World,
    image_bytes,
    records_for,
)
from tests.integration.test_erasure_e2e import pg_world as pg_world  # noqa: F401
from tests.support.ingest import producer_for

pytestmark = pytest.mark.integration


def ordered_and_relayed(world: World, *item_ids: str) -> dict[str, Path]:
    paths = {}
    for item_id in item_ids:
        content, sha = image_bytes(item_id)
        paths[item_id] = world.publish_image(item_id, content, sha)
    captured = max(world.get(i).captured_at for i in item_ids)
    assert world.sweep(captured + timedelta(days=7)).ordered == len(item_ids)
    assert world.relay.relay_pending() == len(item_ids)  # orders only, no tombstone
    return paths


def kinds_on_orders_topic(world: World, item_id: str, at_least: int) -> list[str]:
    catalogue = Catalogue.shipped()
    records = records_for(world, ORDERS_TOPIC, item_id, at_least)
    return [catalogue.decode(r.value)[0] for r in records]


def values_on_item_topic(world: World, item_id: str, at_least: int) -> list[object]:
    return [r.value is None for r in records_for(world, IMAGES, item_id, at_least)]


def test_a_late_hold_on_the_commands_topic_recalls_and_the_file_is_kept(
    pg_world: World,
) -> None:
    world = pg_world
    paths = ordered_and_relayed(world, "img-keep", "img-go")
    with producer_for(world.env) as producer:
        producer.send_command(
            "cmd-late-hold",
            "PLACE_HOLD",
            "sector-alarm",
            item_id="img-keep",
            reason="police case: evidence",
            case_ref="POL-77",
            requested_by="officer-1",
            requested_at=datetime.now(UTC),
        )
        producer.flush()
    world.consuming.run_until(lambda: world.get("img-keep").is_held)
    assert world.get("img-keep").state == ItemState.RECALL_SENT
    assert world.relay.relay_pending() == 1  # the recall
    assert kinds_on_orders_topic(world, "img-keep", 2) == [
        "ErasureOrder",
        "ErasureRecall",
    ]

    world.answer_until("img-keep", ItemState.SCHEDULED)  # RECALLED
    world.answer_until("img-go", ItemState.ERASED)
    world.relay.relay_pending()
    kept = world.get("img-keep")
    assert kept.order is None and kept.is_held
    assert list(kept.recall_answers.values()) == ["RECALLED"]
    assert paths["img-keep"].exists()
    assert not paths["img-go"].exists()
    # The kept item's record has no tombstone; the erased one's has.
    assert values_on_item_topic(world, "img-go", 2) == [False, True]
    assert values_on_item_topic(world, "img-keep", 1) == [False]
    # Nothing more comes for the kept item: the sweeper leaves a held item be.
    assert world.sweep(kept.captured_at + timedelta(days=8)).ordered == 0
    assert world.sweep(kept.captured_at + timedelta(days=8)).reissued == 0


def test_a_hold_after_the_store_deleted_is_answered_too_late(
    pg_world: World,
) -> None:
    world = pg_world
    paths = ordered_and_relayed(world, "img-late")
    # The store deletes and answers; before Lethe reads the answer, a hold.
    while paths["img-late"].exists():
        world.eraser.run_once(timeout_ms=200)
    app = world.consuming.app
    app.place_hold("img-late", "POL-78", "too late", "officer-2", datetime.now(UTC))
    assert world.relay.relay_pending() == 1  # the recall
    deadline = time.monotonic() + 60
    while not world.get("img-late").recall_answers:  # DELETED, then TOO_LATE
        assert time.monotonic() < deadline, "no answer to the recall"
        world.eraser.run_once(timeout_ms=200)
        world.consuming.loop.run_once(timeout_ms=200)
    late = world.get("img-late")
    assert late.state == ItemState.ERASED and late.order is not None
    assert late.recall_answers == {late.order["order_id"]: "TOO_LATE"}
    world.relay.relay_pending()
    assert values_on_item_topic(world, "img-late", 2) == [False, True]
