"""Subject endpoints: look up, preview an erasure, erase (art. 17), approve (4-eyes).

Subject ids travel in request bodies, never in URLs, which end up in logs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from lethe.domain import free_text
from lethe.domain.erasure_preview import fate_of
from lethe.domain.errors import BadCommandError, SubjectNotFoundError
from lethe.domain.subject import Subject
from lethe.ops.access.approvals import Pending
from lethe.ops.access.roles import Action, Principal
from lethe.ops.http.context import Context, allowed, caller, context
from lethe.ops.runtime.bootstrap import Runtime

router = APIRouter(prefix="/api", tags=["subjects"])
CTX = Annotated[Context, Depends(context)]
SUPPORT = Annotated[Principal, Depends(allowed(Action.ERASE_SUBJECT))]
ITEMS_OF = "SELECT item_ref FROM lethe_schedule WHERE subject_ref = ? ORDER BY item_ref"


class SubjectQuery(BaseModel):
    subject_id: str
    controller: str = "sector-alarm"


class ErasureAsked(SubjectQuery):
    reason: str
    ticket: str | None = None


class Approval(BaseModel):
    subject_id: str | None = None  # typed again by the approver; never stored


@router.post("/subjects/lookup")
def look_up_subject(
    body: SubjectQuery,
    ctx: CTX,
    _: Annotated[Principal, Depends(allowed(Action.LOOK_UP_SUBJECT))],
) -> dict[str, Any]:
    """The subject's items with due dates, holds and restrictions; its requests."""
    return ctx.read(lambda rt: _subject_view(rt, body))


@router.post("/subjects/erasure-preview")
def preview_erasure(body: SubjectQuery, ctx: CTX, _: SUPPORT) -> dict[str, Any]:
    """What an erasure request would do now: goes now, kept by law until, held."""

    def preview(rt: Runtime) -> dict[str, Any]:
        _, refs = _found(rt, body)
        policy = rt.app.policy(body.controller)
        fates = [fate_of(rt.app.get_item(ref), policy) for ref in refs]
        return {"items": [{**vars(f), "fate": f.fate.value} for f in fates]}

    return ctx.read(preview)


@router.post("/subjects/erasure")
def erase_subject(
    body: ErasureAsked, ctx: CTX, who: SUPPORT, response: Response
) -> dict[str, Any]:
    """GDPR art. 17; with four-eyes set, the first call only asks for approval."""
    if "erase-subject" in ctx.access.four_eyes:
        # Before it waits in the approvals table: refused there, not in a day.
        for field, text in (("reason", body.reason), ("ticket", body.ticket)):
            free_text.refuse_identifiers(field, text, free_text.names(body.subject_id))
        params = {"controller": body.controller, "reason": body.reason,
                  "ticket": body.ticket}  # fmt: skip
        return _ask(ctx, "erase-subject", body, params, who, response)
    return _erase(ctx, body.controller, body.subject_id, body.reason, body.ticket,
                  who.name, None)  # fmt: skip


def _erase(
    ctx: Context,
    controller: str,
    subject_id: str,
    reason: str,
    ticket: str | None,
    by: str,
    command_id: str | None,
) -> dict[str, Any]:
    import uuid

    now = ctx.clock()
    request_id = ctx.change(
        lambda rt: rt.app.request_subject_erasure(
            controller, subject_id, command_id or ticket or str(uuid.uuid4()),
            reason, by, ticket, now,
        )
    )  # fmt: skip
    subject = ctx.read(lambda rt: rt.app.get_subject(controller, subject_id))
    request = subject.requests[request_id]
    return {
        "request_id": request_id,
        "requested_by": by,
        "answer_due_at": request["answer_due_at"],
        "carried_out_at": request["carried_out_at"],
    }


def _ask(
    ctx: Context,
    action: str,
    body: SubjectQuery,
    params: dict[str, Any],
    who: Principal,
    response: Response,
) -> dict[str, Any]:
    ref = ctx.read(lambda rt: rt.app.subject_ref(body.controller, body.subject_id))
    # The pending row is a mutable table that keeps it after approval: its free
    # text is sealed under the subject's key, as it will be in the event.
    sealed = ctx.read(lambda rt: {
        name: free_text.seal(rt.app.vault, ref, value) if name in FREE_TEXT else value
        for name, value in params.items()
    })  # fmt: skip
    approval_id = ctx.approvals.ask(action, {**sealed, "subject_ref": ref}, who,
                                    ctx.clock())  # fmt: skip
    response.status_code = 202
    return {"approval_id": approval_id, "state": "awaiting approval by another person"}


@router.post("/approvals/{approval_id}")
def approve(
    approval_id: str,
    body: Approval,
    ctx: CTX,
    who: Annotated[Principal, Depends(caller)],
) -> dict[str, Any]:
    """The second person's approval; the change is then carried out and recorded
    with both names."""
    pending = ctx.approvals.get(approval_id)
    who.require(NEEDS[pending.action])
    pending = ctx.approvals.check(approval_id, who)
    subject_id = _subject_of(ctx, pending, body)
    by = pending.by_both(who)
    ref = pending.params.get("subject_ref") or ""
    p = ctx.read(lambda rt: rt.app.open_text(ref, pending.params))
    if pending.action == "erase-subject":
        done = _erase(ctx, p["controller"], subject_id or "", p["reason"],
                      p["ticket"], by, approval_id)  # fmt: skip
    else:
        done = _release(ctx, pending, subject_id, by)
    ctx.approvals.approved(pending, who, ctx.clock())
    return done


NEEDS = {"erase-subject": Action.ERASE_SUBJECT, "release-hold": Action.HOLD}
FREE_TEXT = ("reason", "ticket")


def _subject_of(ctx: Context, pending: Pending, body: Approval) -> str | None:
    ref = pending.params.get("subject_ref")
    if ref is None:
        return None
    subject_id = body.subject_id
    if not subject_id:
        raise BadCommandError("type the customer's id again to approve this change")
    typed = ctx.read(
        lambda rt: rt.app.subject_ref(pending.params["controller"], subject_id)
    )
    if typed != ref:
        raise BadCommandError("that customer id is not the one this approval is for")
    return subject_id


def _release(
    ctx: Context, pending: Pending, subject_id: str | None, by: str
) -> dict[str, Any]:
    p, now = pending.params, ctx.clock()
    if subject_id is None:
        ctx.change(lambda rt: rt.app.release_hold(p["item_id"], p["case_ref"], by, now))
    else:
        ctx.change(
            lambda rt: rt.app.release_subject_hold(
                p["controller"], subject_id, p["case_ref"], by, now
            )
        )
    return {"hold": p["case_ref"], "state": "released", "by": by}


def _found(rt: Runtime, body: SubjectQuery) -> tuple[Subject | None, list[str]]:
    """The subject (registered on its first subject-wide change) and its items.

    A customer whose items arrived but who never had a subject-wide change has
    items and no Subject aggregate yet: found all the same.
    """
    subject_ref = rt.app.subject_ref(body.controller, body.subject_id)
    subject = rt.app.find_subject_by_ref(subject_ref)
    refs = [r[0] for r in rt.views.query(ITEMS_OF, (subject_ref,))]
    if subject is None and not refs:
        raise SubjectNotFoundError()
    return subject, refs


def _subject_view(rt: Runtime, body: SubjectQuery) -> dict[str, Any]:
    subject, refs = _found(rt, body)
    items = [rt.app.get_item(ref) for ref in refs]
    return {
        "controller": body.controller,
        "holds": subject.holds if subject else {},
        "restrictions": subject.restrictions if subject else {},
        "requests": subject.requests if subject else {},
        "items": [
            {"item_id": i.item_ref, "category": i.category, "state": i.state.value,
             "due_at": i.due_at, "holds": sorted(i.holds),
             "restrictions": sorted(i.restrictions)}
            for i in items
        ],
    }  # fmt: skip
