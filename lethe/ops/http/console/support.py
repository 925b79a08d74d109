"""Support's pages: find a customer, preview the erasure, erase, the receipt.

Each page calls the API's own endpoint functions with the session's principal,
so a page can do exactly what the same person could do through the API.
"""

from __future__ import annotations

from itertools import groupby
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from lethe.domain.erasure_preview import Fate
from lethe.ops.access.roles import Principal
from lethe.ops.http import holds, subjects
from lethe.ops.http.console.forms import CSRF, CTX, FIELD, SUPPORT
from lethe.ops.http.console.messages import translator
from lethe.ops.http.console.render import language_of, render
from lethe.ops.http.context import Context

router = APIRouter(include_in_schema=False)
CONTROLLER = Annotated[str, Form()]
DEFAULT_CONTROLLER = "sector-alarm"

# The receipt's sections, by each item's fate after the request was made.
RECEIPT = [
    ("receipt.goes", {Fate.ALREADY_ORDERED, Fate.ERASED_NOW, Fate.ALREADY_ERASED}),
    ("receipt.kept", {Fate.KEPT_BY_LAW}),
    ("receipt.held", {Fate.HELD, Fate.RESTRICTED}),
]


@router.get("/support")
def find_page(request: Request, who: SUPPORT) -> HTMLResponse:
    return render(request, "support.html", who, title="support.title",
                  controller=DEFAULT_CONTROLLER)  # fmt: skip


@router.post("/support/subject")
def subject_page(
    request: Request, ctx: CTX, who: SUPPORT, _: CSRF,
    subject_id: FIELD, controller: CONTROLLER = DEFAULT_CONTROLLER,
) -> HTMLResponse:  # fmt: skip
    """Posted, not a link: the customer id must not end up in a URL."""
    return _subject(request, ctx, who, _query(subject_id, controller))


@router.post("/support/preview")
def preview_page(
    request: Request, ctx: CTX, who: SUPPORT, _: CSRF,
    subject_id: FIELD, controller: CONTROLLER = DEFAULT_CONTROLLER,
) -> HTMLResponse:  # fmt: skip
    query = _query(subject_id, controller)
    fates = subjects.preview_erasure(query, ctx, who)["items"]
    return render(request, "preview.html", who, title="preview.title", fates=fates,
                  subject_id=query.subject_id, controller=query.controller)  # fmt: skip


@router.post("/support/erase")
def erase(
    request: Request, ctx: CTX, who: SUPPORT, _: CSRF,
    subject_id: FIELD, reason: FIELD, controller: CONTROLLER = DEFAULT_CONTROLLER,
    ticket: Annotated[str, Form()] = "",
) -> HTMLResponse:  # fmt: skip
    query = _query(subject_id, controller)
    asked = subjects.ErasureAsked(
        subject_id=query.subject_id, controller=query.controller,
        reason=reason.strip(), ticket=ticket.strip() or None,
    )  # fmt: skip
    answer = Response()
    done = subjects.erase_subject(asked, ctx, who, answer)
    if answer.status_code == 202:  # four-eyes: nothing happened yet
        return render(request, "awaiting.html", who, title="awaiting.title",
                      approval_id=done["approval_id"])  # fmt: skip
    # What the request did, read back after it: the receipt tells what is true now.
    fates = subjects.preview_erasure(query, ctx, who)["items"]
    sections = [(title, [f for f in fates if f["fate"] in kinds])
                for title, kinds in RECEIPT]  # fmt: skip
    return render(request, "receipt.html", who, title="receipt.title", done=done,
                  sections=sections, controller=query.controller)  # fmt: skip


@router.post("/support/restrict")
def restrict(
    request: Request, ctx: CTX, who: SUPPORT, _: CSRF,
    subject_id: FIELD, ticket: FIELD, reason: FIELD,
    controller: CONTROLLER = DEFAULT_CONTROLLER,
) -> HTMLResponse:  # fmt: skip
    query = _query(subject_id, controller)
    body = holds.RestrictionPlace(
        subject_id=query.subject_id,
        ticket=ticket.strip(),
        controller=query.controller,
        reason=reason.strip(),
    )
    holds.restrict(body, ctx, who)
    return _subject(request, ctx, who, query, "restricted.done")


@router.post("/support/lift")
def lift(
    request: Request, ctx: CTX, who: SUPPORT, _: CSRF,
    subject_id: FIELD, ticket: FIELD, controller: CONTROLLER = DEFAULT_CONTROLLER,
) -> HTMLResponse:  # fmt: skip
    query = _query(subject_id, controller)
    body = holds.RestrictionLift(subject_id=query.subject_id, ticket=ticket.strip(),
                                 controller=query.controller)  # fmt: skip
    holds.lift(body, ctx, who)
    return _subject(request, ctx, who, query, "lifted.done")


def _query(subject_id: str, controller: str) -> subjects.SubjectQuery:
    return subjects.SubjectQuery(
        subject_id=subject_id.strip(), controller=controller.strip()
    )


def _subject(
    request: Request,
    ctx: Context,
    who: Principal,
    query: subjects.SubjectQuery,
    notice: str | None = None,
) -> HTMLResponse:
    view = subjects.look_up_subject(query, ctx, who)
    items: list[dict[str, Any]] = sorted(view["items"], key=_category)
    by_category = [(c, list(group)) for c, group in groupby(items, key=_category)]
    t = translator(language_of(request))
    return render(
        request, "subject.html", who, title="subject.title", subject=view,
        by_category=by_category, subject_id=query.subject_id,
        controller=query.controller, notice=t(notice) if notice else None,
    )  # fmt: skip


def _category(item: dict[str, Any]) -> str:
    return str(item["category"])
