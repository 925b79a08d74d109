"""The schedule's saves: bounded by aggregates and by bytes, subjects last."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lethe.projections.chunks import pending_bytes, save_chunks


@dataclass
class Event:
    reason: str


@dataclass
class Changed:
    pending_events: list[Any] = field(default_factory=list)


def changed(size: int) -> Changed:
    return Changed([Event("x" * size)])


def test_fifty_items_with_a_long_reason_are_saved_in_several_chunks() -> None:
    items = [changed(800_000) for _ in range(50)]
    chunks = save_chunks(items, most=1000, most_bytes=4_000_000)
    assert [len(c) for c in chunks] == [4] * 12 + [2]
    assert sum(chunks, []) == items


@given(
    sizes=st.lists(st.integers(0, 5_000), max_size=60),
    most=st.integers(1, 10),
    most_bytes=st.integers(1, 20_000),
)
def test_no_chunk_is_over_its_limits_unless_one_aggregate_is(
    sizes: list[int], most: int, most_bytes: int
) -> None:
    items = [changed(size) for size in sizes]
    chunks = save_chunks(items, most, most_bytes)
    assert sum(chunks, []) == items  # nothing lost, nothing doubled, in order
    for chunk in chunks:
        assert len(chunk) <= most
        total = sum(pending_bytes(a) for a in chunk)
        assert total <= most_bytes or len(chunk) == 1
