"""Auditor endpoints: an item's whole history, and the store's invariants verified."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from lethe.domain import identity
from lethe.domain.errors import ItemNotFoundError
from lethe.ops.access.roles import Action, Principal
from lethe.ops.http.context import Context, allowed, context
from lethe.ops.runtime.verify_parallel import verify_store
from lethe.projections.audit_timeline import item_document
from lethe.projections.audit_verify import VerifyLimits

router = APIRouter(prefix="/api/audit", tags=["audit"])
CTX = Annotated[Context, Depends(context)]


@router.get("/items/{item_id}")
def audit_item(
    item_id: str,
    ctx: CTX,
    _: Annotated[Principal, Depends(allowed(Action.AUDIT))],
) -> dict[str, Any]:
    """The whole history of the item: ingest, schedule, holds, erasure, confirmation."""
    events = ctx.read(lambda rt: list(rt.app.events.get(identity.item_id(item_id))))
    if not events:
        raise ItemNotFoundError(item_id)
    document: dict[str, Any] = item_document(events)
    return document


@router.get("/verify")
def verify(
    ctx: CTX, _: Annotated[Principal, Depends(allowed(Action.VERIFY))]
) -> dict[str, Any]:
    """Replay the whole event store (in this process) and check every invariant."""
    settings = ctx.runtime.settings
    limits = VerifyLimits(
        now=ctx.clock(),
        sweep_interval=timedelta(seconds=settings.sweep_interval_s),
        confirm_timeout=timedelta(seconds=settings.confirm_timeout_s),
    )
    result = verify_store(settings, limits)
    return {
        "ok": result.ok,
        "events": result.events,
        "items": result.items,
        "counts": dict(result.counts),
        "violations": [
            {"name": v.name, "item": v.item, "rule": v.rule, "instant": v.instant}
            for v in result.violations
        ],
    }
