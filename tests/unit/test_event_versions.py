"""Stores written by version 1 of `Ingested` and `ErasureOrdered` still read right.

Version 1 scheduled a new item with a separate `Scheduled` event, and its
orders carried neither the item's ref nor its source partition. The stored
histories here are the events a version-2 item makes, turned back into
version 1 the way the old code wrote them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lethe.domain.application import Lethe
from lethe.domain.item import Item, ItemState
from lethe.policies import load_shipped
from lethe.projections.decode import fast_decoder
from tests.support import T0, ingest_record
from tests.support.fakes import FakeSubjectVault
from tests.support.versions import as_version_1

POLICY = load_shipped("sector-alarm")


@pytest.fixture
def app(tmp_path: Path) -> Lethe:
    env = {
        "PERSISTENCE_MODULE": "lethe.projections.store:LetheSQLiteFactory",
        "SQLITE_DBNAME": str(tmp_path / "lethe.db"),
    }
    return Lethe(env=env, policies={"sector-alarm": POLICY}, vault=FakeSubjectVault())


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
