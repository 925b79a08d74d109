"""Sign in and out, the home page, the language switch, four-eyes approvals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lethe.ops.access.roles import (
    Action,
    NotAuthenticatedError,
    Principal,
    RoleRequiredError,
)
from lethe.ops.http import subjects
from lethe.ops.http.console.forms import ANYONE, CSRF, CTX, FIELD
from lethe.ops.http.console.messages import LANGUAGES, translator
from lethe.ops.http.console.render import language_of, render
from lethe.ops.http.console.session import (
    LANGUAGE_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    new_login_nonce,
    set_cookie,
)
from lethe.ops.http.context import Context

router = APIRouter(include_in_schema=False)
SIGN_IN_NOTES = {"signin": "login.signin", "out": "login.out", "ended": "login.ended"}


@router.get("/login")
def login_page(request: Request, m: str = "") -> HTMLResponse:
    t = translator(language_of(request))
    return _login_page(
        request, notice=t(SIGN_IN_NOTES[m]) if m in SIGN_IN_NOTES else None
    )


@router.post("/login")
def login(
    request: Request, ctx: CTX, token: FIELD, csrf: Annotated[str, Form()] = ""
) -> Response:
    """Authenticated exactly as an API call with this bearer token would be."""
    check_csrf(request, csrf, signing_in=True)
    token = token.strip()
    try:
        ctx.authenticator.authenticate(f"Bearer {token}", ctx.clock())
    except NotAuthenticatedError as error:
        return _login_page(request, error=str(error), status=401)
    done = RedirectResponse("/", status_code=303)
    set_cookie(request, done, SESSION_COOKIE, token)
    done.delete_cookie(LOGIN_COOKIE, path="/")
    return done


def _login_page(
    request: Request,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    nonce = new_login_nonce()  # the form carries it; so does a cookie (double submit)
    page = render(request, "login.html", None, status, title="login.title",
                  notice=notice, error=error, csrf=nonce)  # fmt: skip
    set_cookie(request, page, LOGIN_COOKIE, nonce)
    return page


@router.post("/logout")
def logout(request: Request, _: CSRF) -> Response:
    done = RedirectResponse("/login?m=out", status_code=303)
    done.delete_cookie(SESSION_COOKIE, path="/")
    return done


@router.get("/")
def home(request: Request, who: ANYONE) -> HTMLResponse:
    return render(request, "home.html", who, title="home.title")


@router.get("/language/{language}")
def switch_language(request: Request, language: str, back: str = "/") -> Response:
    # Only a path on this site: an open redirect would lend the console's name.
    # Browsers read "/\\host" as "//host": a backslash is refused as well.
    local = back.startswith("/") and not back.startswith("//") and "\\" not in back
    target = back if local else "/"
    done = RedirectResponse(target, status_code=303)
    if language in LANGUAGES:
        set_cookie(request, done, LANGUAGE_COOKIE, language)
    return done


@router.get("/approvals")
def approvals_page(request: Request, ctx: CTX, who: ANYONE) -> HTMLResponse:
    _may_approve(who)
    return _approvals(request, ctx, who)


@router.post("/approvals")
def approve(
    request: Request,
    ctx: CTX,
    who: ANYONE,
    _: CSRF,
    approval_id: FIELD,
    subject_id: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """The API's approval: the role the pending change needs, a second person."""
    _may_approve(who)
    body = subjects.Approval(subject_id=subject_id.strip() or None)
    subjects.approve(approval_id.strip(), body, ctx, who)
    return _approvals(request, ctx, who, "approved.done")


def _approvals(
    request: Request, ctx: Context, who: Principal, notice: str | None = None
) -> HTMLResponse:
    """The form, and the changes waiting that this person's roles may approve."""
    waiting = [p for p in ctx.approvals.pending()
               if who.may(subjects.NEEDS[p.action])]  # fmt: skip
    t = translator(language_of(request))
    return render(request, "approvals.html", who, title="approvals.title",
                  waiting=waiting, notice=t(notice) if notice else None)  # fmt: skip


def _may_approve(who: ANYONE) -> None:
    if not (who.may(Action.ERASE_SUBJECT) or who.may(Action.HOLD)):
        raise RoleRequiredError(who, Action.ERASE_SUBJECT)
