"""The DPO's and auditor's page: request deadlines, what needs attention, reports."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lethe.ops.http import admin, audit
from lethe.ops.http.console.forms import AUDITOR, CSRF, CTX
from lethe.ops.http.console.render import render
from lethe.ops.http.context import Context

router = APIRouter(include_in_schema=False)
# Every open request, however far its deadline: GDPR art. 12(3) allows three
# months at most with an extension, so ten years lists them all.
ALL_OPEN = 3660


@router.get("/dpo")
def dpo_page(request: Request, ctx: CTX, who: AUDITOR) -> HTMLResponse:
    return _page(request, ctx, who, None)


@router.post("/dpo/verify")
def verify(request: Request, ctx: CTX, who: AUDITOR, _: CSRF) -> HTMLResponse:
    return _page(request, ctx, who, audit.verify(ctx, who))


@router.get("/dpo/report")
def report(month: str, ctx: CTX, who: AUDITOR) -> HTMLResponse:
    """The sealed HTML of `lethe audit report --format html`, through the API's code."""
    page = audit.monthly_report(ctx, who, month=month.strip(), format="html")
    assert isinstance(page, HTMLResponse)
    # The report is one self-contained file: its own <style>, no script at all.
    page.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return page


def _page(
    request: Request, ctx: Context, who: Any, verified: dict[str, Any] | None
) -> HTMLResponse:
    status = admin.status_report(ctx, ALL_OPEN)
    month = ctx.clock().astimezone(ZoneInfo(audit.ZONE)).strftime("%Y-%m")
    return render(request, "dpo.html", who, title="dpo.title", report=status,
                  verified=verified, month=month)  # fmt: skip
