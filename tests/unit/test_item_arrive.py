"""`Item.arrive`, ingest's lean constructor, makes what `Item(...)` makes: the
same stored bytes, the same state, the same refusal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lethe.domain.application import Lethe
from lethe.domain.errors import DueBeforeCapturedError
from lethe.domain.item import Item
from lethe.policies import load_shipped
from tests.support.fakes import FakeSubjectVault

APP = Lethe(
    env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
    policies={"sector-alarm": load_shipped("sector-alarm")},
    vault=FakeSubjectVault(),
)
text = st.text(max_size=40)
instant = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.just(UTC),
)
facts = st.fixed_dictionaries(
    {
        "item_ref": text,
        "kind": text,
        "source_topic": text,
        "source_partition": st.integers(0, 2**31 - 1),
        "source_offset": st.integers(0, 2**63 - 1),
        "controller": text,
        "category": text,
        "subject_ref": text,
        "captured_at": instant,
        "police_relevant": st.booleans(),
        "blob_uri": st.none() | text,
        "sha256": st.none() | text,
        "legal_basis": st.none() | text,
        "content_digest": text,
        "ingested_at": instant,
        "due_at": st.none() | instant,
        "rule": text,
        "policy": text,
    }
)


@contextmanager
def clock(at: datetime) -> Iterator[None]:
    # Both paths stamp the event with create_timestamp(); pin it to compare bytes.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Item.Ingested, "create_timestamp", staticmethod(lambda: at))
        yield


def built(make: Any, fields: dict[str, Any], at: datetime) -> Item | type:
    with clock(at):
        try:
            return make(**fields)  # type: ignore[no-any-return]
        except DueBeforeCapturedError:
            return DueBeforeCapturedError


@given(facts, instant)
def test_arrive_stores_the_bytes_and_state_the_generic_constructor_makes(
    fields: dict[str, Any], at: datetime
) -> None:
    generic, lean = built(Item, fields, at), built(Item.arrive, fields, at)
    if generic is DueBeforeCapturedError or lean is DueBeforeCapturedError:
        assert generic is lean  # refused by both, or by neither
        return
    assert isinstance(generic, Item) and isinstance(lean, Item)
    [expected], [event] = generic.pending_events, lean.pending_events
    assert type(event) is type(expected)
    stored, wanted = (
        APP.mapper.to_stored_event(event),
        APP.mapper.to_stored_event(expected),
    )
    assert (stored.topic, stored.state) == (wanted.topic, wanted.state)
    assert (stored.originator_id, stored.originator_version) == (
        wanted.originator_id,
        wanted.originator_version,
    )
    assert {k: v for k, v in vars(lean).items() if k != "_pending_events"} == {
        k: v for k, v in vars(generic).items() if k != "_pending_events"
    }


def test_arrive_refuses_a_due_before_capture_and_records_nothing() -> None:
    captured = datetime(2026, 3, 25, 11, 0, tzinfo=UTC)
    fields = dict(
        item_ref="img-1", kind="verification-image", source_topic="t",
        source_partition=0, source_offset=0, controller="sector-alarm",
        category="verification-image", subject_ref="ps:1", captured_at=captured,
        police_relevant=False, blob_uri=None, sha256=None, legal_basis=None,
        content_digest="d", ingested_at=captured, due_at=captured - timedelta(1),
        rule="r", policy="p",
    )  # fmt: skip
    with pytest.raises(DueBeforeCapturedError):
        Item.arrive(**fields)
