"""RFC 9457 problem details carrying the same one-line messages the CLI prints."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lethe.domain import errors
from lethe.domain.policy import PolicyError
from lethe.ops.access.oidc import IssuerUnavailableError
from lethe.ops.access.roles import AccessError, NotAuthenticatedError

MEDIA_TYPE = "application/problem+json"

# The most specific class first; any other LetheError is a refused change (409).
STATUS: list[tuple[type[Exception], int]] = [
    (IssuerUnavailableError, 503),  # the issuer's JWKS unreachable: try later
    (NotAuthenticatedError, 401),
    (AccessError, 403),  # a role missing, four-eyes by the same person
    (errors.ItemNotFoundError, 404),
    (errors.SubjectNotFoundError, 404),
    (errors.NoSuchHoldError, 404),
    (errors.NoSuchRestrictionError, 404),
    (errors.BadCommandError, 400),
    (PolicyError, 400),
    (errors.LetheError, 409),
]


def status_of(error: Exception) -> int:
    return next(code for kind, code in STATUS if isinstance(error, kind))


def problem(status: int, kind: str, detail: str, instance: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {
        "type": f"urn:lethe:problem:{kind}",
        "title": kind.replace("-", " "),
        "status": status,
        "detail": " ".join(detail.splitlines()),
        "instance": instance,
    }
    return JSONResponse(body, status, headers=headers, media_type=MEDIA_TYPE)


def _kind(error: Exception) -> str:
    name = type(error).__name__.removesuffix("Error")
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def install(app: FastAPI) -> None:
    """Every refusal, from the domain, the policy, access or FastAPI, as a problem."""

    async def refused(request: Request, error: Exception) -> JSONResponse:
        return problem(status_of(error), _kind(error), str(error), request.url.path)

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return problem(400, "bad-request", validation_message(error), request.url.path)

    async def http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, HTTPException)
        return problem(error.status_code, "http", str(error.detail), request.url.path)

    app.add_exception_handler(errors.LetheError, refused)
    app.add_exception_handler(PolicyError, refused)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)


def validation_message(error: RequestValidationError) -> str:
    # "body.case_ref: Field required; body.reason: ..." - one line, names the field.
    parts = []
    for e in error.errors():
        where = ".".join(str(p) for p in e.get("loc", ()))
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"
