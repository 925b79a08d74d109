"""The console's sign-in: the bearer token in a cookie, and CSRF on every form.

The cookie holds the very token the API takes (a Lethe API token or an OIDC
bearer), so a page's principal is authenticated exactly as an API call's is.
HttpOnly keeps it from scripts, SameSite=Strict from other sites' requests,
Secure when the console is served over https.

Every form carries a CSRF token: an HMAC of the session's token under a key
this server process draws at start, so a form rendered for one session is
refused in another, and forms from before a restart are refused (sign in again).
The sign-in form, before any session, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response

from lethe.ops.access.roles import AccessError, Action, Principal
from lethe.ops.http.context import Context, context

SESSION_COOKIE = "lethe_session"
LOGIN_COOKIE = "lethe_login"
LANGUAGE_COOKIE = "lethe_lang"
KEY = secrets.token_bytes(32)


class CsrfError(AccessError):
    """A form without the CSRF token its session's pages carry."""


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def csrf_for(request: Request) -> str:
    """The CSRF token for forms on this page: of the session, or of the sign-in."""
    token = session_token(request)
    if token:
        return hmac.new(KEY, token.encode(), hashlib.sha256).hexdigest()
    return request.cookies.get(LOGIN_COOKIE) or ""


def check_csrf(request: Request, sent: str, signing_in: bool = False) -> None:
    """Signing in is checked against the sign-in cookie, even over a session."""
    expected = (
        request.cookies.get(LOGIN_COOKIE, "") if signing_in else csrf_for(request)
    )
    if not expected or not hmac.compare_digest(expected, sent):
        raise CsrfError("error.csrf")


def page_caller(
    request: Request, ctx: Annotated[Context, Depends(context)]
) -> Principal:
    """The principal of the session cookie, authenticated as the API does."""
    token = session_token(request) or ""
    return ctx.authenticator.authenticate(f"Bearer {token}", ctx.clock())


def page_allowed(action: Action) -> object:
    """A dependency: the session's principal, refused unless it may do `action`."""

    def check(principal: Annotated[Principal, Depends(page_caller)]) -> Principal:
        principal.require(action)
        return principal

    return check


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)
