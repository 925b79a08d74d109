"""Where each item stands, and what a support command changed: the answer printed.

Pure: computed from items as the store has them, before and after a command,
so that an answer says only what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from lethe.domain.item import Item, ItemState
from lethe.domain.reconcile import SUBJECT_HOLD_PREFIX


class Standing(StrEnum):
    """What stands between an item and its erasure, the most decisive first."""

    ERASED = "erased"
    # A hold or restriction came after the order: recalled, the store to answer.
    RECALL_SENT = "recall sent"
    ORDERED = "erasure ordered"
    HELD = "held"
    RESTRICTED = "restricted"
    KEPT_BY_LAW = "kept by law"
    SCHEDULED = "scheduled"
    WAITING = "waiting"  # the clock has not started (e.g. relationship not ended)


@dataclass(frozen=True)
class ItemStanding:
    item_ref: str
    category: str
    standing: Standing
    due_at: datetime | None
    cases: tuple[str, ...] = ()  # holds in force, a subject's without its prefix
    tickets: tuple[str, ...] = ()  # restrictions in force
    order_id: str | None = None


def standing_of(item: Item) -> ItemStanding:
    return ItemStanding(
        item_ref=item.item_ref,
        category=item.category,
        standing=_standing(item),
        due_at=item.due_at,
        cases=tuple(sorted(_plain(ref) for ref in item.holds)),
        tickets=tuple(sorted(_plain(ref) for ref in item.restrictions)),
        order_id=item.order["order_id"] if item.order else None,
    )


def _standing(item: Item) -> Standing:
    if item.state == ItemState.ERASED:
        return Standing.ERASED
    if item.recall is not None:
        return Standing.RECALL_SENT
    if item.order is not None:
        return Standing.ORDERED
    if item.holds:
        return Standing.HELD
    if item.restrictions:
        return Standing.RESTRICTED
    if item.kept_for_legal_obligation:
        return Standing.KEPT_BY_LAW
    return Standing.WAITING if item.due_at is None else Standing.SCHEDULED


def _plain(ref: str) -> str:
    return ref.removeprefix(SUBJECT_HOLD_PREFIX)


@dataclass(frozen=True)
class ItemChange:
    before: ItemStanding | None  # None: the item was not there before the command
    after: ItemStanding

    @property
    def newly(self) -> bool:
        """Whether the command moved the item to where it stands."""
        return self.before is None or self.before.standing != self.after.standing


@dataclass(frozen=True)
class Outcome:
    """The items a command touched, grouped by where they stand after it."""

    recorded: bool  # False: already in force, nothing new recorded
    items: list[ItemChange] = field(default_factory=list)

    def standing(
        self, standing: Standing, newly: bool | None = None
    ) -> list[ItemChange]:
        return [
            c
            for c in self.items
            if c.after.standing == standing and (newly is None or c.newly == newly)
        ]

    def by_case(self) -> dict[str, list[ItemChange]]:
        return _grouped(self.standing(Standing.HELD), lambda s: s.cases)

    def by_ticket(self) -> dict[str, list[ItemChange]]:
        return _grouped(self.standing(Standing.RESTRICTED), lambda s: s.tickets)


def _grouped(
    changes: Iterable[ItemChange], keys: Callable[[ItemStanding], tuple[str, ...]]
) -> dict[str, list[ItemChange]]:
    grouped: dict[str, list[ItemChange]] = {}
    for change in changes:
        for key in keys(change.after):
            grouped.setdefault(key, []).append(change)
    return dict(sorted(grouped.items()))


def outcome_of(
    recorded: bool,
    before: Mapping[str, ItemStanding],
    after: Iterable[Item],
) -> Outcome:
    changes = [
        ItemChange(before.get(item.item_ref), standing_of(item)) for item in after
    ]
    changes.sort(key=lambda c: c.after.item_ref)
    return Outcome(recorded=recorded, items=changes)
