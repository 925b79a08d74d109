"""Issue 15, part 6 on PostgreSQL and the broker: erasure survives a restore.

Images are ingested with their files in the reference eraser's folder; the
folder is copied (the backup); the images are erased (DELETED); the copy is
restored, and the files are back. `lethe erasures since` lists the erasures
confirmed after the backup; `lethe erasures replay` records a replay of each,
which the relay sends as orders (same ids, marked as replays, signed); the
eraser, whose journal had answered those orders already, deletes the files
again. The audit shows each replay and the store's answer; verify passes.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lethe.consumers.codec import Catalogue
from lethe.domain import identity
from lethe.domain.item import Item, ItemState
from lethe.ops.cli.main import main
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.relay import ORDERS_TOPIC
from tests.integration.test_erasure_e2e import (
    World,
    image_bytes,
    lethe_settings,
    records_for,
)

pytestmark = pytest.mark.integration

IMAGES = ("img-r1", "img-r2", "img-r3")
STORE = "images"


@pytest.fixture
def world(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> Iterator[World]:
    env = lethe_settings(pg_schema_env, broker, topic_name)
    running = World(env, tmp_path / "image-store")
    yield running
    running.close()


def lethe(world: World, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=world.env, catch_exceptions=False)


def replays_answered(world: World, item_id: str) -> int:
    history = world.consuming.app.events.get(identity.item_id(item_id))
    return sum(isinstance(e, Item.ReplayAnswered) for e in history)


def test_a_restored_store_forgets_again_and_the_audit_shows_the_replay(
    world: World, tmp_path: Path
) -> None:
    root = world.root
    captured = datetime.now(UTC).replace(microsecond=0) - timedelta(days=8)
    paths = {}
    for item_id in IMAGES:
        content, sha = image_bytes(item_id)
        paths[item_id] = world.publish_image(item_id, content, sha, captured=captured)
    backup = tmp_path / "backup"
    shutil.copytree(root, backup)
    backup_taken = datetime.now(UTC)

    assert world.sweep(datetime.now(UTC)).ordered == len(IMAGES)
    assert world.relay.relay_pending() == len(IMAGES)
    for item_id in IMAGES:
        world.answer_until(item_id, ItemState.ERASED)
    world.relay.relay_pending()  # the tombstones
    assert not any(p.exists() for p in paths.values())

    # The store is restored from the copy: its files are back (its journal on
    # disk with them; the running eraser still remembers its answers).
    shutil.rmtree(root)
    shutil.copytree(backup, root)
    assert all(p.exists() for p in paths.values())

    since = lethe(
        world, "erasures", "since", backup_taken.isoformat(), "--store", STORE
    )
    assert since.exit_code == 0, since.output
    for item_id in IMAGES:
        [row] = [line for line in since.output.splitlines() if item_id in line]
        assert "verification-image" in row and "DELETED" in row and row.endswith("-")
    assert f"{len(IMAGES)} erasures confirmed after" in since.output

    replay = lethe(
        world,
        "erasures",
        "replay",
        "--since",
        backup_taken.isoformat(),
        "--store",
        STORE,
    )
    assert replay.exit_code == 0, replay.output
    assert f"replayed  {len(IMAGES)}  img-r1, img-r2, img-r3" in replay.output
    assert "recorded and relayed" in replay.output

    deadline = time.monotonic() + 60
    while any(p.exists() for p in paths.values()) or not all(
        replays_answered(world, i) == 1 for i in IMAGES
    ):
        assert time.monotonic() < deadline, "the replayed files never went"
        world.eraser.run_once(timeout_ms=200)
        world.consuming.loop.run_once(timeout_ms=200)
    assert not any(p.exists() for p in paths.values())

    # On the wire: the same order id, marked as a replay for this store.
    catalogue = Catalogue.shipped()
    orders = [
        catalogue.decode_as(r.value, "ErasureOrder")
        for r in records_for(world, ORDERS_TOPIC, "img-r1", 2)
    ]
    first, again = orders
    assert again["order_id"] == first["order_id"]
    assert (first["replay"], again["replay"]["store"]) == (None, STORE)

    audit = lethe(world, "audit", "item", "img-r1")
    assert audit.exit_code == 0, audit.output
    assert (
        "ErasureReplayed" in audit.output and "replayed (#1) to images" in audit.output
    )
    assert "ReplayAnswered" in audit.output
    assert "images: DELETED; replay #1" in audit.output
    listed = lethe(world, "erasures", "since", backup_taken.isoformat())
    assert listed.output.count(" DELETED") >= 2 * len(IMAGES)  # outcome + answer
    verify = lethe(world, "audit", "verify", "--now", datetime.now(UTC).isoformat())
    assert verify.exit_code == 0, verify.output
    # The item is erased once: one Erased, the replay's answer apart.
    assert world.get("img-r1").state == ItemState.ERASED
