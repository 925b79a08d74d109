"""A new version of a controller's policy: what it would move, and moving it.

Pure: the what-if compares, item by item, the due instant an item has with the
one the new version gives it from the same facts; `adopt` records the new
version on one item. Both count the due instant alike (the rule, then no
earlier than the end of the item's last hold or restriction), so a what-if
of a version already applied moves nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from lethe.domain.errors import BadCommandError
from lethe.domain.item import Item
from lethe.domain.policy import ItemFacts, Policy, PolicyFileError, parse_policy

POLICIES_NAMESPACE = UUID("6f1c1a52-3c2e-4d59-9d0f-6c7d3b1f2a05")
EARLIER, LATER, UNCHANGED = "earlier", "later", "unchanged"
EXAMPLES = 3


def version_key(version: str) -> tuple[date, int]:
    """NOTICE-DATE.REVISION, ordered by the notice's date, then our revision."""
    day, revision = version.rsplit(".", 1)
    return date.fromisoformat(day), int(revision)


def is_newer(candidate: Policy, current: Policy) -> bool:
    return version_key(candidate.version) > version_key(current.version)


@dataclass(frozen=True)
class LiveItem:
    """What the what-if needs of one live item (from the schedule view)."""

    item_ref: str
    category: str
    facts: ItemFacts
    due_at: datetime | None
    held: bool = False  # a hold or a restriction in force
    released_at: datetime | None = None


def due_under(policy: Policy, category: str, facts: ItemFacts, released_at: Any) -> Any:
    """The rule's due instant, no earlier than the last release (DESIGN: overrides)."""
    due = policy.due(category, facts)
    at = due.at
    if at is not None and released_at is not None:
        at = max(at, released_at)
    return at, due.rule


@dataclass
class CategoryMoves:
    counts: Counter[str] = field(default_factory=Counter)
    due_at_once: int = 0  # would be ordered by the next sweep
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, item_ref: str) -> None:
        self.counts[kind] += 1
        self.example(kind, item_ref)

    def example(self, kind: str, item_ref: str) -> None:
        refs = self.examples.setdefault(kind, [])
        if len(refs) < EXAMPLES:
            refs.append(item_ref)


def what_if(
    items: Iterable[LiveItem], policy: Policy, now: datetime
) -> dict[str, CategoryMoves]:
    """Per category, how the new version would move each live item."""
    moves: dict[str, CategoryMoves] = {c: CategoryMoves() for c in policy.rules}
    for item in items:
        new_due, _rule = due_under(policy, item.category, item.facts, item.released_at)
        moved = moves.setdefault(item.category, CategoryMoves())
        moved.note(_direction(item.due_at, new_due), item.item_ref)
        already_due = item.due_at is not None and item.due_at <= now
        if new_due is not None and new_due <= now and not already_due and not item.held:
            moved.due_at_once += 1
            moved.example("due_at_once", item.item_ref)
    return moves


def _direction(old: datetime | None, new: datetime | None) -> str:
    if old == new:
        return UNCHANGED
    # No due instant (waiting on an anchor) is later than any.
    if new is None or (old is not None and new > old):
        return LATER
    return EARLIER


def refuse_dropped_categories(policy: Policy, categories: Iterable[str]) -> None:
    """A live item whose category the new version drops could not be scheduled."""
    dropped = sorted(set(categories) - set(policy.rules))
    if dropped:
        raise BadCommandError(
            f"{policy.ref} has no rule for {', '.join(dropped)}, which live items"
            " have; a new version must keep every category in use"
        )


def adopt(item: Item, facts: ItemFacts, policy: Policy, at: datetime) -> bool:
    """Move one item to `policy`; False when it is under it already or ordered.

    Holds, restrictions, a police extension and a request stay where they are:
    the item keeps them (a held item stays held at its new due time; the police
    terms count for a flagged image; an ordered or erased item is not moved).
    """
    due_at, rule = due_under(policy, item.category, facts, item.released_at)
    return item.adopt_policy(due_at, rule, policy.ref, at)


# -- the versions a controller adopted, kept in the event store ---------------------


class PolicyRecord(Aggregate):
    """One controller's policy versions adopted with `lethe policy apply`.

    The text is kept, so a restarted Lethe schedules by the version in force
    and the audit can show what each item's version said.
    """

    @staticmethod
    def create_id(policy_id: str) -> UUID:
        return uuid5(POLICIES_NAMESPACE, policy_id)

    if TYPE_CHECKING:

        class Started(Aggregate.Created):
            policy_id: str

        class Adopted(Aggregate.Event):
            version: str
            text: str
            by: str
            at: datetime

    @event("Started")
    def __init__(self, policy_id: str) -> None:
        self.policy_id = policy_id
        self.versions: dict[str, str] = {}

    def adopt(self, policy: Policy, text: str, by: str, at: datetime) -> bool:
        """Record a version; False when this very text is adopted already."""
        known = self.versions.get(policy.version)
        if known == text:
            return False
        if known is not None:
            raise BadCommandError(
                f"{policy.ref} was adopted already with other rules; give the"
                " changed file a new version"
            )
        self._adopted(version=policy.version, text=text, by=by, at=at)
        return True

    @event("Adopted")
    def _adopted(self, version: str, text: str, by: str, at: datetime) -> None:
        self.versions[version] = text

    def policies(self) -> list[Policy]:
        return [parse_policy(text, f"adopted {v}") for v, text in self.versions.items()]


def read_new_version(text: str, source: str, current: Policy | None) -> Policy:
    """The policy in `text`, refused in one line unless newer than `current`."""
    try:
        policy = parse_policy(text, source)
    except PolicyFileError as error:
        raise BadCommandError(str(error)) from None
    if current is None:
        raise BadCommandError(
            f"{source}: no policy {policy.id!r} is in force; a new version replaces"
            " a controller's policy"
        )
    if not is_newer(policy, current):
        raise BadCommandError(
            f"{source}: version {policy.version} is not newer than {current.ref},"
            " the one in force"
        )
    return policy
