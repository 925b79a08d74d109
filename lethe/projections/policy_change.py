"""`lethe policy what-if` and `apply` over the store: the schedule view, then items.

The what-if is one query over the schedule view (and the subjects whose
lifecycle the rules count from): no item's history is replayed. Apply loads
the live items in chunks, moves each to the new version (the domain decides),
and saves a chunk at a time, so a run cut short leaves whole chunks done and a
re-run finishes the rest: an item already under the version is not moved twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from lethe.domain import identity
from lethe.domain.application import Lethe
from lethe.domain.item import Item
from lethe.domain.policy import Anchor, ItemFacts, Policy
from lethe.domain.policy_change import (
    CategoryMoves,
    LiveItem,
    adopt,
    refuse_dropped_categories,
    what_if,
)
from lethe.domain.reconcile import facts_of
from lethe.domain.subject import Subject
from lethe.projections.bulk import load_aggregates, load_items
from lethe.projections.store import SqlViews

CHUNK = 1000
RETRIES = 5  # a chunk saved while a sweeper or the schedule changed one of its items
LIVE_ROWS = (
    "SELECT item_ref, subject_ref, category, captured_at, due_at, rule,"
    " holds, restrictions FROM lethe_schedule"
    " WHERE controller = ? AND state IN ('waiting', 'scheduled') ORDER BY item_id"
)


def live_categories(views: SqlViews, controller: str) -> set[str]:
    rows = views.query(
        "SELECT DISTINCT category FROM lethe_schedule WHERE controller = ?"
        " AND state IN ('waiting', 'scheduled')",
        (controller,),
    )
    return {r[0] for r in rows}


def plan(
    app: Lethe, views: SqlViews, policy: Policy, now: datetime
) -> dict[str, CategoryMoves]:
    """Per category, how `policy` would move the controller's live items."""
    refuse_dropped_categories(policy, live_categories(views, policy.id))
    rows = views.query(LIVE_ROWS, (policy.id,))
    subjects = _subjects(app, views, policy, rows)
    police = _PoliceRules(app, policy.id)
    return what_if((_live(police, row, subjects) for row in rows), policy, now)


def _needs_subject(policy: Policy, category: str) -> bool:
    rule = policy.rule_for(category)
    anchors = {*rule.anchors(False), *rule.anchors(True)}
    return bool(anchors - {Anchor.CAPTURED})


def _subjects(
    app: Lethe, views: SqlViews, policy: Policy, rows: list[tuple[Any, ...]]
) -> dict[str, Subject]:
    needs = {c: _needs_subject(policy, c) for c in {r[2] for r in rows}}
    refs = {r[1] for r in rows if needs[r[2]]}
    found = load_aggregates(app, views, [identity.subject_id(ref) for ref in refs])
    return {s.subject_ref: s for s in found.values()}


def _live(
    police: _PoliceRules, row: tuple[Any, ...], subjects: dict[str, Subject]
) -> LiveItem:
    item_ref, subject_ref, category, captured, due, rule, holds, restricted = row
    subject = subjects.get(subject_ref)
    facts = ItemFacts(
        captured_at=_instant(captured),
        police_relevant=police.named_by(category, rule),
        relationship_ended_at=subject.relationship_ended_at if subject else None,
        last_contact_at=subject.last_contact_at if subject else None,
        contract_ended_at=subject.contract_ended_at if subject else None,
        onboarded_at=subject.onboarded_at if subject else None,
    )
    return LiveItem(
        item_ref, category, facts, _instant(due), held=bool(holds or restricted)
    )


class _PoliceRules:
    """The view keeps each item's rule text: a police variant's names the
    extension. The texts of every version of the controller's policy, once."""

    def __init__(self, app: Lethe, controller: str) -> None:
        self.texts = {
            (category, rule.expression(True))
            for version in app.policy_versions.values()
            if version.id == controller
            for category, rule in version.rules.items()
            if rule.police_terms
        }

    def named_by(self, category: str, rule: str | None) -> bool:
        return (category, rule) in self.texts


def _instant(value: int | None) -> Any:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


@dataclass
class Applied:
    moved: int = 0  # a new due instant
    same_due: int = 0  # the new version recorded, the due instant as it was
    untouched: int = 0  # already under the version, or ordered since the query

    @property
    def seen(self) -> int:
        return self.moved + self.same_due + self.untouched


def apply_policy(
    app: Lethe,
    views: SqlViews,
    policy: Policy,
    at: datetime,
    progress: Callable[[Applied], None] | None = None,
) -> Applied:
    """Move every live item of the controller to `policy`, a chunk per save."""
    applied = Applied()
    rows = views.query(LIVE_ROWS, (policy.id,))
    for chunk in _chunks([r[0] for r in rows]):
        moved, same_due = _apply_chunk(app, views, policy, chunk, at)
        applied.moved += moved
        applied.same_due += same_due
        applied.untouched += len(chunk) - moved - same_due
        if progress is not None:
            progress(applied)
    return applied


def _apply_chunk(
    app: Lethe, views: SqlViews, policy: Policy, refs: list[str], at: datetime
) -> tuple[int, int]:
    """(moved, same due) of one chunk, saved in one transaction."""
    for _attempt in range(RETRIES):
        items = load_items(app, views, refs)
        subjects = _subjects_of(app, views, policy, items)
        before = {item.id: item.due_at for item in items}
        changed = [
            item
            for item in items
            if adopt(item, facts_of(item, subjects.get(item.subject_ref)), policy, at)
        ]
        try:
            app.record(*changed)
            moved = sum(1 for item in changed if item.due_at != before[item.id])
            return moved, len(changed) - moved
        except IntegrityError:
            continue  # another writer moved one of them on: read them again
    raise RuntimeError(
        f"{len(refs)} items kept changing while {policy.ref} was applied; run it again"
    )


def _subjects_of(
    app: Lethe, views: SqlViews, policy: Policy, items: list[Item]
) -> dict[str, Any]:
    """The subjects of those items whose new rule counts from their lifecycle."""
    needs = {c: _needs_subject(policy, c) for c in {item.category for item in items}}
    ids = {identity.subject_id(i.subject_ref) for i in items if needs[i.category]}
    return {s.subject_ref: s for s in load_aggregates(app, views, ids).values()}


def _chunks(refs: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(refs), CHUNK):
        yield refs[start : start + CHUNK]
