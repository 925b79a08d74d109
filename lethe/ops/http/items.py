"""Item endpoints: look one up, keep an image for the police."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from lethe.ops.access.roles import Action, Principal
from lethe.ops.http.context import Context, allowed, context
from lethe.projections.item_view import opened_view

router = APIRouter(prefix="/api/items", tags=["items"])


class PoliceExtension(BaseModel):
    case_ref: str


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
