"""Refusals as pages: the same one-line messages as the API, announced to readers.

Not signed in goes to the sign-in page; a missing role says which role it needs
(the API's 403 text); anything the domain refuses is shown with its message.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from lethe.domain import errors
from lethe.domain.policy import PolicyError
from lethe.ops.access.roles import AccessError, NotAuthenticatedError, Principal
from lethe.ops.http.console.messages import translator
from lethe.ops.http.console.render import language_of, render
from lethe.ops.http.console.session import (
    SESSION_COOKIE,
    CsrfError,
    page_caller,
    session_token,
)
from lethe.ops.http.context import context
from lethe.ops.http.problems import problem, status_of, validation_message


def install(console: FastAPI) -> None:
    async def not_signed_in(request: Request, error: Exception) -> Response:
        if session_token(request) is None:
            return RedirectResponse("/login?m=signin", status_code=303)
        # An expired or revoked session token: say so, and sign in again.
        page = RedirectResponse("/login?m=ended", status_code=303)
        page.delete_cookie(SESSION_COOKIE, path="/")
        return page

    async def refused(request: Request, error: Exception) -> Response:
        t = translator(language_of(request))
        text = t(str(error)) if isinstance(error, CsrfError) else str(error)
        title = "refused.title" if isinstance(error, AccessError) else "error.title"
        return _message(request, title, text, status_of(error))

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        return _message(request, "error.title", validation_message(error), 400)

    async def http(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if request.url.path.startswith("/api/"):  # an API client's mistyped path
            detail = f"no endpoint {request.url.path}"
            return problem(error.status_code, "http", detail, request.url.path)
        t = translator(language_of(request))
        text = t("not.found") if error.status_code == 404 else str(error.detail)
        return _message(request, "error.title", text, error.status_code)

    console.add_exception_handler(NotAuthenticatedError, not_signed_in)
    console.add_exception_handler(errors.LetheError, refused)
    console.add_exception_handler(PolicyError, refused)
    console.add_exception_handler(RequestValidationError, invalid)
    console.add_exception_handler(HTTPException, http)


def _message(request: Request, title: str, text: str, status: int) -> Response:
    referer = request.headers.get("referer", "")
    own = str(request.base_url)
    back = "/" + referer.removeprefix(own) if referer.startswith(own) else "/"
    return render(request, "message.html", signed_in(request), status, title=title,
                  error=text, back=back)  # fmt: skip


def signed_in(request: Request) -> Principal | None:
    """The session's principal for the menu, or none when it does not verify."""
    try:
        return page_caller(request, context(request))
    except errors.LetheError:
        return None
