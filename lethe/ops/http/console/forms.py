"""What every console route shares: the form's CSRF check and the role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request

from lethe.ops.access.roles import Action, Principal
from lethe.ops.http.console.session import check_csrf, page_allowed, page_caller
from lethe.ops.http.context import Context, context


def csrf_checked(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    check_csrf(request, csrf)


CTX = Annotated[Context, Depends(context)]
CSRF = Annotated[None, Depends(csrf_checked)]
FIELD = Annotated[str, Form()]
OPTIONAL = Annotated[str, Form()]
ANYONE = Annotated[Principal, Depends(page_caller)]
SUPPORT = Annotated[Principal, Depends(page_allowed(Action.ERASE_SUBJECT))]
LEGAL = Annotated[Principal, Depends(page_allowed(Action.HOLD))]
AUDITOR = Annotated[Principal, Depends(page_allowed(Action.AUDIT))]
