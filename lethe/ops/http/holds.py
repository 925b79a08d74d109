"""Legal holds and GDPR art. 18 restrictions, on one item or a whole subject."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from lethe.domain.errors import BadCommandError
from lethe.ops.access.roles import Action, Principal
from lethe.ops.http.context import Context, allowed, context
from lethe.ops.runtime.bootstrap import Runtime

router = APIRouter(prefix="/api", tags=["holds and restrictions"])


class Target(BaseModel):
    """Exactly one of item_id or subject_id (with its controller).

    The subject id travels in the body, never in the URL: URLs end up in logs.
    """

    item_id: str | None = None
    subject_id: str | None = None
    controller: str = "sector-alarm"

    def apply(
        self,
        on_item: Callable[[Any, str], Any],
        on_subject: Callable[[Any, str, str], Any],
    ) -> Callable[[Runtime], Any]:
        if bool(self.item_id) == bool(self.subject_id):
            raise BadCommandError("name exactly one of item_id or subject_id")
        if self.item_id:
            item_id = self.item_id
            return lambda rt: on_item(rt.app, item_id)
        subject_id = self.subject_id or ""
        return lambda rt: on_subject(rt.app, self.controller, subject_id)


class HoldPlace(Target):
    case_ref: str
    reason: str


class HoldRelease(Target):
    case_ref: str


class RestrictionPlace(Target):
    ticket: str
    reason: str


class RestrictionLift(Target):
    ticket: str


HOLD = Annotated[Principal, Depends(allowed(Action.HOLD))]
RESTRICT = Annotated[Principal, Depends(allowed(Action.RESTRICT))]
CTX = Annotated[Context, Depends(context)]


@router.post("/holds")
def place_hold(body: HoldPlace, ctx: CTX, who: HOLD) -> dict[str, str]:
    """Nothing held is erased until the hold is released."""
    now, by = ctx.clock(), who.name
    ctx.change(
        body.apply(
            lambda app, ref: app.place_hold(ref, body.case_ref, body.reason, by, now),
            lambda app, c, sid: app.place_subject_hold(
                c, sid, body.case_ref, body.reason, by, now
            ),
        )
    )
    return {"hold": body.case_ref, "state": "placed", "by": by}


@router.post("/holds/release")
def release_hold(
    body: HoldRelease, ctx: CTX, who: HOLD, response: Response
) -> dict[str, str]:
    """An overdue item becomes due at the release; with four-eyes set, the first
    call only asks for a second person's approval."""
    now, by = ctx.clock(), who.name
    if "release-hold" in ctx.access.four_eyes:
        return _ask_release(body, ctx, who, response)
    ctx.change(
        body.apply(
            lambda app, ref: app.release_hold(ref, body.case_ref, by, now),
            lambda app, c, sid: app.release_subject_hold(
                c, sid, body.case_ref, by, now
            ),
        )
    )
    return {"hold": body.case_ref, "state": "released", "by": by}


@router.post("/restrictions")
def restrict(body: RestrictionPlace, ctx: CTX, who: RESTRICT) -> dict[str, str]:
    """Stored, not processed, not erased until lifted (GDPR art. 18)."""
    now, by = ctx.clock(), who.name
    ctx.change(
        body.apply(
            lambda app, ref: app.restrict(ref, body.ticket, body.reason, by, now),
            lambda app, c, sid: app.restrict_subject(
                c, sid, body.ticket, body.reason, by, now
            ),
        )
    )
    return {"restriction": body.ticket, "state": "recorded", "by": by}


@router.post("/restrictions/lift")
def lift(body: RestrictionLift, ctx: CTX, who: RESTRICT) -> dict[str, str]:
    """An overdue item becomes due at the lift."""
    now, by = ctx.clock(), who.name
    ctx.change(
        body.apply(
            lambda app, ref: app.lift_restriction(ref, body.ticket, by, now),
            lambda app, c, sid: app.lift_subject_restriction(
                c, sid, body.ticket, by, now
            ),
        )
    )
    return {"restriction": body.ticket, "state": "lifted", "by": by}


def _ask_release(
    body: HoldRelease, ctx: CTX, who: Principal, response: Response
) -> dict[str, str]:
    body.apply(lambda app, ref: None, lambda app, c, sid: None)  # exactly one
    params: dict[str, Any] = {"case_ref": body.case_ref, "controller": body.controller}
    if body.item_id:
        params["item_id"] = body.item_id
    else:
        subject_id = body.subject_id or ""
        params["subject_ref"] = ctx.read(
            lambda rt: rt.app.subject_ref(body.controller, subject_id)
        )
    approval_id = ctx.approvals.ask("release-hold", params, who, ctx.clock())
    response.status_code = 202
    return {"approval_id": approval_id, "state": "awaiting approval by another person"}
