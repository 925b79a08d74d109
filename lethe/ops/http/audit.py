"""Auditor endpoints: an item's or a subject's history, verification, the report."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from lethe.domain import identity
from lethe.domain.errors import BadCommandError, ItemNotFoundError
from lethe.ops.access.roles import Action, Principal
from lethe.ops.http.context import Context, allowed, context
from lethe.ops.runtime.report import disposal_report
from lethe.ops.runtime.verify_parallel import verify_store
from lethe.projections.audit_report_html import render_html
from lethe.projections.audit_report_seal import seal
from lethe.projections.audit_subject import subject_history
from lethe.projections.audit_timeline import item_document, subject_document
from lethe.projections.audit_verify import VerifyLimits

router = APIRouter(prefix="/api/audit", tags=["audit"])
CTX = Annotated[Context, Depends(context)]
AUDITOR = Annotated[Principal, Depends(allowed(Action.AUDIT))]
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
ZONE = "Europe/Oslo"  # the calendar whose month is reported, as the CLI's default


class SubjectAsked(BaseModel):
    subject_id: str  # in the body, never in the URL: URLs end up in logs
    controller: str = "sector-alarm"


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
    subject_ref: str = getattr(events[0], "subject_ref", "")
    document: dict[str, Any] = ctx.read(
        lambda rt: rt.app.open_text(subject_ref, item_document(events))
    )
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


@router.post("/subjects")
def audit_subject(body: SubjectAsked, ctx: CTX, _: AUDITOR) -> dict[str, Any]:
    """The subject's history and every item's; the id only as the vault unseals it."""
    history = ctx.read(
        lambda rt: subject_history(rt.app, rt.views, body.controller, body.subject_id)
    )
    items = [item_document(events) for events in history.item_events if events]
    document = subject_document(history.subject_events, history.shown_as, items)
    opened: dict[str, Any] = ctx.read(
        lambda rt: rt.app.open_text(history.subject_ref, document)
    )
    return opened


@router.get("/report", response_model=None)
def monthly_report(
    ctx: CTX,
    _: AUDITOR,
    month: str,
    zone: str = ZONE,
    format: str = "json",  # noqa: A002 (the query parameter's name)
) -> dict[str, Any] | HTMLResponse:
    """The month's disposal report (`lethe audit report`); HTML sealed with SHA-256."""
    # Checked here, not by FastAPI alone: the console calls this function too.
    if not re.match(MONTH, month):
        raise BadCommandError(f"{month!r} is not a month; write e.g. 2026-03")
    if format not in ("json", "html"):
        raise BadCommandError(f"format {format!r}: choose json or html")
    report = ctx.read(lambda rt: disposal_report(rt, month, zone, ctx.clock()))
    document: dict[str, Any] = report.document()
    if format == "json":
        return document
    sealed, _digest = seal(render_html(document) + "\n")
    return HTMLResponse(sealed)
