"""Histories as the version-1 code stored them, for the tests of upcasting."""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.persistence import StoredEvent

from lethe.domain.application import Lethe
from lethe.domain.item import Item


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
        drop=("class_version", "item_ref", "source_partition", "subject_ref"),
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
