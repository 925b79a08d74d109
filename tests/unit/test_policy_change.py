"""A new policy version: the what-if's arithmetic, and adopting it on an item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lethe.domain.errors import BadCommandError
from lethe.domain.item import ErasureCause, Item
from lethe.domain.policy import ItemFacts, Policy
from lethe.domain.policy_change import (
    LiveItem,
    adopt,
    is_newer,
    read_new_version,
    what_if,
)
from lethe.domain.reconcile import first_due
from lethe.policies import load_shipped

CURRENT = load_shipped("sector-alarm")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CATEGORIES = ("verification-image", "arming-log", "alarm-call-recording")


def new_version(
    image_days: int, arming_months: int, version: str = "2026-12-01.1"
) -> str:
    return f"""
policy = "sector-alarm"
version = "{version}"
zone = "Europe/Oslo"
source = "Sector Alarm AS, test"
[rules.verification-image]
due = "captured + {image_days} days"
police_due = "captured + 30 days"
[rules.arming-log]
due = "captured + {arming_months} months"
[rules.alarm-call-recording]
due = "captured + 12 months"
legal_obligation = true
"""


def item(ref: str, category: str, captured: datetime, police: bool = False) -> Item:
    due = first_due(CURRENT, category, captured, police)
    return Item(
        item_ref=ref, kind="k", source_topic="t", source_partition=0,
        source_offset=0, controller="sector-alarm", category=category,
        subject_ref="s", captured_at=captured, police_relevant=police,
        blob_uri=None, sha256=None, legal_basis=None, content_digest="d",
        ingested_at=captured, due_at=due.at, rule=due.rule, policy=due.policy,
    )  # fmt: skip


def live(i: Item) -> LiveItem:
    facts = ItemFacts(captured_at=i.captured_at, police_relevant=i.police_relevant)
    return LiveItem(
        i.item_ref, i.category, facts, i.due_at, i.is_held or i.is_restricted,
        i.released_at,
    )  # fmt: skip


def policy_of(text: str) -> Policy:
    return read_new_version(text, "new.toml", CURRENT)


items_strategy = st.lists(
    st.tuples(
        st.sampled_from(CATEGORIES),
        st.integers(min_value=0, max_value=400 * 24),  # hours before NOW
        st.booleans(),  # police-relevant
        st.sampled_from(["none", "held", "released"]),
    ),
    min_size=1,
    max_size=30,
)


def build(specs: list[tuple[str, int, bool, str]]) -> list[Item]:
    made = []
    for n, (category, hours, police, mark) in enumerate(specs):
        i = item(f"i-{n}", category, NOW - timedelta(hours=hours), police)
        if mark != "none":
            i.place_hold("POL-1", "case", "ola", NOW - timedelta(hours=hours))
        if mark == "released":
            i.release_hold("POL-1", "ola", NOW - timedelta(hours=hours // 2))
        made.append(i)
    return made


@settings(max_examples=60, deadline=None)
@given(items_strategy, st.integers(1, 60), st.integers(1, 12))
def test_applying_a_version_then_asking_what_if_of_it_moves_nothing(
    specs: list[tuple[str, int, bool, str]], days: int, months: int
) -> None:
    policy = policy_of(new_version(days, months))
    items = build(specs)
    for i in items:
        assert adopt(i, ItemFacts(i.captured_at, i.police_relevant), policy, NOW)
        assert i.policy == policy.ref
    moves = what_if([live(i) for i in items], policy, NOW)
    for m in moves.values():
        assert m.counts["earlier"] == m.counts["later"] == m.due_at_once == 0
    assert sum(m.counts["unchanged"] for m in moves.values()) == len(items)
    # And a second apply changes nothing: the items are under it already.
    assert not any(adopt(i, ItemFacts(i.captured_at), policy, NOW) for i in items)


@settings(max_examples=60, deadline=None)
@given(items_strategy, st.integers(1, 60), st.integers(1, 12))
def test_what_if_counts_each_item_once_by_the_sign_of_its_move(
    specs: list[tuple[str, int, bool, str]], days: int, months: int
) -> None:
    policy = policy_of(new_version(days, months))
    items = build(specs)
    moves = what_if([live(i) for i in items], policy, NOW)
    before = {i.item_ref: i.due_at for i in items}
    for i in items:
        adopt(i, ItemFacts(i.captured_at, i.police_relevant), policy, NOW)
    earlier = sum(1 for i in items if i.due_at < before[i.item_ref])
    later = sum(1 for i in items if i.due_at > before[i.item_ref])
    at_once = sum(
        1 for i in items
        if i.due_at <= NOW < before[i.item_ref] and not i.is_held
    )  # fmt: skip
    assert sum(m.counts["earlier"] for m in moves.values()) == earlier
    assert sum(m.counts["later"] for m in moves.values()) == later
    assert sum(m.due_at_once for m in moves.values()) == at_once


def test_a_held_item_moves_but_stays_held_and_an_ordered_one_does_not_move() -> None:
    policy = policy_of(new_version(1, 3))
    held = item("h", "verification-image", NOW - timedelta(days=3))
    held.place_hold("POL-1", "case", "ola", NOW - timedelta(days=2))
    assert adopt(held, ItemFacts(held.captured_at), policy, NOW)
    assert held.is_held and held.due_at == held.captured_at + timedelta(days=1)
    ordered = item("o", "verification-image", NOW - timedelta(days=10))
    ordered.order_erasure(ErasureCause.RETENTION_EXPIRED, NOW)
    assert not adopt(ordered, ItemFacts(ordered.captured_at), policy, NOW)
    assert ordered.policy == CURRENT.ref


def test_a_police_flagged_image_keeps_its_thirty_days_under_the_new_version() -> None:
    flagged = item("p", "verification-image", NOW - timedelta(days=3), police=True)
    adopt(
        flagged, ItemFacts(flagged.captured_at, True), policy_of(new_version(1, 3)), NOW
    )
    assert flagged.due_at == flagged.captured_at + timedelta(days=30)


def test_a_version_not_newer_or_malformed_is_refused_in_one_line() -> None:
    with pytest.raises(BadCommandError, match="is not newer than sector-alarm@"):
        read_new_version(new_version(7, 3, CURRENT.version), "same.toml", CURRENT)
    with pytest.raises(BadCommandError, match="^bad.toml: version: 'x'"):
        read_new_version(new_version(7, 3, "x"), "bad.toml", CURRENT)
    assert is_newer(policy_of(new_version(7, 3, "2024-10-25.3")), CURRENT)
