"""Legal's pages: holds in force, place and release holds, the police extension."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lethe.ops.http import holds, items
from lethe.ops.http.console.forms import CSRF, CTX, FIELD, LEGAL
from lethe.ops.http.console.messages import translator
from lethe.ops.http.console.render import language_of, render, when
from lethe.ops.http.context import Context
from lethe.ops.runtime.bootstrap import Runtime

router = APIRouter(include_in_schema=False)
HELD = "SELECT item_ref FROM lethe_schedule WHERE holds > 0 ORDER BY item_ref LIMIT ?"
SHOWN = 200
DONE = {"placed": "legal.placed", "released": "legal.released"}
DEFAULT_CONTROLLER = "sector-alarm"


@router.get("/legal")
def legal_page(
    request: Request, ctx: CTX, who: LEGAL, done: str = "", item: str = ""
) -> HTMLResponse:
    t = translator(language_of(request))
    notice = t(DONE[done]) if done in DONE else None
    if done == "extended" and item:
        due = items.look_up_item(item, ctx, who)["due_at"]
        notice = f"{t('legal.extended')} {when(due)} ({item})"
    in_force = ctx.read(holds_in_force)
    return render(request, "legal.html", who, title="legal.title", notice=notice,
                  holds=in_force, controller=DEFAULT_CONTROLLER)  # fmt: skip


@router.post("/legal/holds")
def place(
    request: Request, ctx: CTX, who: LEGAL, _: CSRF,
    target: FIELD, ref: FIELD, case_ref: FIELD, reason: FIELD,
    controller: Annotated[str, Form()] = DEFAULT_CONTROLLER,
) -> Response:  # fmt: skip
    on = {"item_id": ref.strip()} if target == "item" else {"subject_id": ref.strip()}
    body = holds.HoldPlace(
        **on,
        controller=controller.strip(),
        case_ref=case_ref.strip(),
        reason=reason.strip(),
    )
    holds.place_hold(body, ctx, who)
    return RedirectResponse("/legal?done=placed", status_code=303)


@router.post("/legal/release")
def release_on_item(
    request: Request, ctx: CTX, who: LEGAL, _: CSRF, item_id: FIELD, case_ref: FIELD
) -> Response:
    body = holds.HoldRelease(item_id=item_id.strip(), case_ref=case_ref.strip())
    return _released(request, ctx, who, body)


@router.post("/legal/release-subject")
def release_on_subject(
    request: Request, ctx: CTX, who: LEGAL, _: CSRF, subject_id: FIELD,
    case_ref: FIELD, controller: Annotated[str, Form()] = DEFAULT_CONTROLLER,
) -> Response:  # fmt: skip
    body = holds.HoldRelease(subject_id=subject_id.strip(), case_ref=case_ref.strip(),
                             controller=controller.strip())  # fmt: skip
    return _released(request, ctx, who, body)


@router.post("/legal/police")
def police(
    request: Request, ctx: CTX, who: LEGAL, _: CSRF, item_id: FIELD, case_ref: FIELD
) -> Response:
    item_id = item_id.strip()
    items.police_extend(item_id, items.PoliceExtension(case_ref=case_ref.strip()),
                        ctx, who)  # fmt: skip
    return RedirectResponse(f"/legal?done=extended&item={item_id}", status_code=303)


def _released(
    request: Request, ctx: Context, who: Any, body: holds.HoldRelease
) -> Response:
    answer = Response()
    done = holds.release_hold(body, ctx, who, answer)
    if answer.status_code == 202:  # four-eyes: the hold stands until approved
        return render(request, "awaiting.html", who, title="awaiting.title",
                      approval_id=done["approval_id"])  # fmt: skip
    return RedirectResponse("/legal?done=released", status_code=303)


def holds_in_force(rt: Runtime) -> list[dict[str, Any]]:
    """Every hold on an item, a subject's hold shown on each of its items."""
    rows = []
    for (ref,) in rt.views.query(HELD, (SHOWN,)):
        item = rt.app.get_item(str(ref))
        for case_ref, hold in sorted(item.holds.items()):
            rows.append({"item_id": item.item_ref, "category": item.category,
                         "case_ref": case_ref,
                         **rt.app.open_text(item.subject_ref, hold)})  # fmt: skip
    return rows
