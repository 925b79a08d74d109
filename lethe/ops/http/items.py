"""Item endpoints: look one up, keep an image for the police."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from lethe.domain.application import Lethe
from lethe.domain.item import Item
from lethe.ops.access.roles import Action, Principal
from lethe.ops.http.context import Context, allowed, context

router = APIRouter(prefix="/api/items", tags=["items"])


class PoliceExtension(BaseModel):
    case_ref: str


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
        # A late hold's recall still out, and the stores' answers to recalls.
        "recall": item.recall,
        "recall_answers": item.recall_answers,
    }  # fmt: skip


def opened_view(app: Lethe, item: Item) -> dict[str, Any]:
    """The view with the reasons opened while the subject's key lives."""
    view: dict[str, Any] = app.open_text(item.subject_ref, item_view(item))
    return view


@router.get("/{item_id}")
def look_up_item(
    item_id: str,
    ctx: Annotated[Context, Depends(context)],
    _: Annotated[Principal, Depends(allowed(Action.LOOK_UP_ITEM))],
) -> dict[str, Any]:
    """When the item goes, by which rule, and what stands in the way."""
    return ctx.read(lambda rt: opened_view(rt.app, rt.app.get_item(item_id)))


@router.post("/{item_id}/police-extension")
def police_extend(
    item_id: str,
    body: PoliceExtension,
    ctx: Annotated[Context, Depends(context)],
    who: Annotated[Principal, Depends(allowed(Action.POLICE_EXTEND))],
) -> dict[str, Any]:
    """Keep a verification image for the police period (30 days from capture)."""
    now = ctx.clock()
    ctx.change(
        lambda rt: rt.app.flag_police_relevant(item_id, body.case_ref, who.name, now)
    )
    return ctx.read(lambda rt: opened_view(rt.app, rt.app.get_item(item_id)))
