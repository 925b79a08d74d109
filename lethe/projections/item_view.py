"""One item as support sees it: what `lethe item` prints and the API's look-up
returns, from the same keys."""

from __future__ import annotations

from typing import Any

from lethe.domain.application import Lethe
from lethe.domain.item import Item


def item_view(item: Item) -> dict[str, Any]:
    return {
        "item_id": item.item_ref,
        "category": item.category,
        "controller": item.controller,
        "state": item.state.value,
        "due_at": item.due_at,
        "rule": item.rule,
        "policy": item.policy,
        "holds": {ref: {"reason": h["reason"], "by": h["by"], "at": h["at"]}
                  for ref, h in item.holds.items()},
        "restrictions": {t: {"reason": r["reason"], "by": r["by"], "at": r["at"]}
                         for t, r in item.restrictions.items()},
        "kept_for_legal_obligation": item.kept_for_legal_obligation,
        "order": item.order,
        "attempts": item.attempts,
        # A late hold's recall still out, and the stores' answers to recalls.
        "recall": item.recall,
        "recall_answers": item.recall_answers,
    }  # fmt: skip


def opened_view(app: Lethe, item: Item) -> dict[str, Any]:
    """The view with the reasons opened while the subject's key lives."""
    view: dict[str, Any] = app.open_text(item.subject_ref, item_view(item))
    return view
