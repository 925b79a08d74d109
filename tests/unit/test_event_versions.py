"""Stores written by version 1 of `Ingested` and `ErasureOrdered` still read right.

Version 1 scheduled a new item with a separate `Scheduled` event, and its
orders carried neither the item's ref nor its source partition. The stored
histories here are the events a version-2 item makes, turned back into
version 1 the way the old code wrote them.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from lethe.domain.application import Lethe
from lethe.domain.item import Item, ItemState
from lethe.policies import load_shipped
from lethe.projections.decode import fast_decoder
from tests.support import T0, ingest_record
from tests.support.fakes import FakeSubjectVault

POLICY = load_shipped("sector-alarm")


@pytest.fixture
def app(tmp_path: Path) -> Lethe:
    env = {
        "PERSISTENCE_MODULE": "lethe.projections.store:LetheSQLiteFactory",
        "SQLITE_DBNAME": str(tmp_path / "lethe.db"),
    }
    return Lethe(env=env, policies={"sector-alarm": POLICY}, vault=FakeSubjectVault())


def as_version_1(app: Lethe, item: Item) -> list[StoredEvent]:
    """The item's pending events as the version-1 code stored them."""
    events = item.collect_events()
    ingested, ordered = events[0], events[-1]
    stored = [app.mapper.to_stored_event(e) for e in events]
    first = _edit(stored[0], drop=("class_version", "due_at", "rule", "policy"))
    # Version 1's Scheduled event came second, at the ingest instant.
    scheduled = _scheduled_v1(ingested, version=2)
    last = _edit(
        stored[-1],
        drop=("class_version", "item_ref", "source_partition"),
        version=3,
    )
    assert type(ordered).__name__ == "ErasureOrdered"
    return [first, scheduled, last]


def _edit(
    stored: StoredEvent, drop: tuple[str, ...], version: int | None = None
) -> StoredEvent:
    state = json.loads(stored.state)
    for key in drop:
        state.pop(key, None)
    return StoredEvent(
        originator_id=stored.originator_id,
        originator_version=version or stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )


def _scheduled_v1(ingested: Any, version: int) -> StoredEvent:
    def instant(value: Any) -> dict[str, str]:
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}

    state = {
        "timestamp": instant(ingested.timestamp),
        "due_at": instant(ingested.due_at),
        "rule": ingested.rule,
        "policy": ingested.policy,
        "basis": "ingested",
        "at": instant(ingested.ingested_at),
    }
    return StoredEvent(
        originator_id=ingested.originator_id,
        originator_version=version,
        topic="lethe.domain.item:Item.Scheduled",
        state=json.dumps(state).encode(),
    )


def test_a_version_1_history_rebuilds_the_same_item(app: Lethe) -> None:
    new = app.new_item(ingest_record("img-v1", "verification-image", "cust-1"), T0)
    due = new.due_at
    assert due is not None
    new.order_due_erasure(due + timedelta(days=1))
    app.process_recorder.insert_events(as_version_1(app, new))

    old = app.repository.get(new.id)
    assert old.version == 3
    assert (old.state, old.due_at, old.rule, old.policy) == (
        ItemState.ERASURE_ORDERED,
        due,
        new.rule,
        new.policy,
    )
    assert old.order == new.order


def test_a_version_1_order_reads_with_no_ref_or_partition(app: Lethe) -> None:
    new = app.new_item(ingest_record("img-v1", "verification-image", "cust-1"), T0)
    assert new.due_at is not None
    new.order_due_erasure(new.due_at + timedelta(days=1))
    app.process_recorder.insert_events(as_version_1(app, new))

    ordered = app.repository.get(new.id, version=3)
    events = list(app.events.get(new.id))
    order = [e for e in events if isinstance(e, Item.ErasureOrdered)][0]
    assert order.item_ref is None and order.source_partition is None
    first = events[0]
    assert (first.due_at, first.rule, first.policy) == (None, "", "")
    assert ordered.order is not None


def test_the_fast_decoder_upcasts_as_the_mapper_does(app: Lethe) -> None:
    new = app.new_item(ingest_record("img-v1", "verification-image", "cust-1"), T0)
    assert new.due_at is not None
    new.order_due_erasure(new.due_at + timedelta(days=1))
    app.process_recorder.insert_events(as_version_1(app, new))
    current = app.new_item(ingest_record("img-v2", "verification-image", "cust-1"), T0)
    app.save(current)

    fast = fast_decoder(app)
    notifications = app.process_recorder.select_notifications(1, 100)
    assert len(notifications) == 4
    for n in notifications:
        expected = app.mapper.to_domain_event(n)
        assert type(fast(n)) is type(expected)
        assert fast(n).__dict__ == expected.__dict__
