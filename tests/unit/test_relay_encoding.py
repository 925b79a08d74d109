"""The relay's compiled writer for plain orders: the generic path's bytes, and
every misfit still refused (by the generic path, which it hands them to)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lethe.consumers.codec import Catalogue
from lethe.ops.kafka.relay_encoding import Misfit, compile_writer
from lethe.ops.kafka.relay_records import PLAIN_ORDER_SCHEMA, _encode_plain

SCHEMA = json.loads(
    (resources.files("lethe.schemas") / PLAIN_ORDER_SCHEMA).read_text("utf-8")
)
REASONS = ["RETENTION_EXPIRED", "SUBJECT_ERASURE", "ARRIVED_EXPIRED"]


def generic(order: dict[str, Any]) -> bytes:
    catalogue = Catalogue.shipped()
    return catalogue.encode_as(
        "ErasureOrder", order, catalogue.writer_fingerprint(SCHEMA)
    )


def compiled() -> Any:
    writer = compile_writer(SCHEMA, Catalogue.shipped().writer_fingerprint(SCHEMA))
    assert writer is not None
    return writer


def an_order(**changes: Any) -> dict[str, Any]:
    order = {
        "order_id": "erase/2d5c/retention",
        "item_id": "img-1",
        "source_topic": "alarm.images.v1",
        "category": "verification-image",
        "blob_uri": "file:///b/img-1",
        "sha256": "0" * 64,
        "reason": "RETENTION_EXPIRED",
        "rule": "sector-alarm/verification-image@1",
        "due_at": datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
        "ordered_at": datetime(2026, 3, 10, 0, 0, 0, 123456, tzinfo=UTC),
        "attempt": 1,
    }
    return {**order, **changes}


instants = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-11, minutes=-30))]
    ),
)
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
orders = st.fixed_dictionaries(
    {
        "order_id": texts,
        "item_id": texts,
        "source_topic": texts,
        "category": texts,
        "blob_uri": st.none() | texts,
        "sha256": st.none() | texts,
        "reason": st.sampled_from(REASONS),
        "rule": texts,
        "due_at": st.none() | instants,
        "ordered_at": instants,
        "attempt": st.integers(-(2**31), 2**31 - 1),
    }
)


@settings(max_examples=500, deadline=None)
@given(orders)
def test_the_compiled_writer_writes_the_generic_paths_bytes(
    order: dict[str, Any],
) -> None:
    assert compiled()(order) == generic(order)


@pytest.mark.parametrize(
    "changes",
    [
        {"ordered_at": datetime(2026, 3, 10)},  # naive
        {"due_at": datetime(2026, 3, 9)},  # naive, in the union
        {"reason": "BECAUSE"},
        {"attempt": 2**31},
        {"attempt": True},
        {"attempt": "1"},
        {"item_id": None},
        {"item_id": b"img-1"},
        {"blob_uri": 7},
        {"rule": "\ud800"},  # a lone surrogate: no UTF-8 for it
        {"extra": "field"},
    ],
    ids=repr,
)
def test_a_misfit_is_not_encoded_by_it_and_the_relay_still_refuses_it(
    changes: dict[str, Any],
) -> None:
    order = an_order(**changes)
    with pytest.raises(Misfit):
        compiled()(order)
    with pytest.raises(ValueError, match="ErasureOrder"):
        _encode_plain(Catalogue.shipped(), order)


def test_a_missing_field_is_refused_too() -> None:
    order = an_order()
    del order["ordered_at"]
    with pytest.raises(Misfit):
        compiled()(order)
    with pytest.raises(ValueError, match="ErasureOrder"):
        _encode_plain(Catalogue.shipped(), order)


def test_a_missing_field_with_a_default_goes_to_the_generic_path() -> None:
    order = an_order()
    del order["attempt"]  # defaulted to 1 by the schema
    assert _encode_plain(Catalogue.shipped(), order) == generic(an_order())


def test_a_schema_it_does_not_compile_is_left_to_the_generic_path() -> None:
    with_a_map = {**SCHEMA, "fields": [{"name": "m", "type": {"type": "map"}}]}
    assert compile_writer(with_a_map, b"\x00" * 8) is None
