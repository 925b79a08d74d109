"""What a subject's erasure request would do to each item, before it is made.

Follows the order of `reconcile._answer_erasure_request`: an item already
ordered is not ordered again; a legal obligation keeps it until due; a hold or
a restriction keeps it until the last one goes; anything else goes now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lethe.domain.item import Item, ItemState
from lethe.domain.policy import Policy


class Fate(StrEnum):
    ERASED_NOW = "erased now"
    KEPT_BY_LAW = "kept by law until due"
    HELD = "kept while on legal hold"
    RESTRICTED = "kept while restricted"
    ALREADY_ORDERED = "erasure already ordered"
    ALREADY_ERASED = "already erased"


@dataclass(frozen=True)
class ItemFate:
    item_ref: str
    category: str
    fate: Fate
    until: datetime | None  # the due instant when kept by law
    because: tuple[str, ...]  # the rule, or the holds' and restrictions' references


def fate_of(item: Item, policy: Policy) -> ItemFate:
    def answer(fate: Fate, until: datetime | None, *because: str) -> ItemFate:
        return ItemFate(item.item_ref, item.category, fate, until, because)

    if item.state == ItemState.ERASED:
        return answer(Fate.ALREADY_ERASED, None)
    if item.order is not None:
        return answer(Fate.ALREADY_ORDERED, None, str(item.order["order_id"]))
    if policy.rule_for(item.category).legal_obligation:
        return answer(Fate.KEPT_BY_LAW, item.due_at, item.rule or item.category)
    if item.is_held:
        return answer(Fate.HELD, None, *sorted(item.holds))
    if item.is_restricted:
        return answer(Fate.RESTRICTED, None, *sorted(item.restrictions))
    return answer(Fate.ERASED_NOW, None)
