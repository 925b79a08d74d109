"""Pages from templates: the language, the CSRF token and the menu on each."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from lethe.ops.access.roles import Action, Principal
from lethe.ops.http.console.messages import (
    choose_language,
    state_label,
    translator,
)
from lethe.ops.http.console.session import LANGUAGE_COOKIE, csrf_for

TEMPLATES = Path(__file__).with_name("templates")
ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a misspelt variable fails the page, not blanks it
    trim_blocks=True,
    lstrip_blocks=True,
)

# The menu: a page, its label, and the action its role must be allowed.
MENU = [
    ("/support", "nav.support", Action.ERASE_SUBJECT),
    ("/legal", "nav.legal", Action.HOLD),
    ("/dpo", "nav.dpo", Action.AUDIT),
]


def when(value: Any) -> str:
    """An instant as staff read it, in UTC and saying so; '' for none."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value  # not an instant: shown as it is, never a failed page
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


ENVIRONMENT.filters["when"] = when


def language_of(request: Request) -> str:
    return choose_language(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )


def render(
    request: Request,
    template: str,
    who: Principal | None = None,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    language = language_of(request)
    t = translator(language)
    menu = [(path, label) for path, label, action in MENU if who and who.may(action)]
    if who and (who.may(Action.ERASE_SUBJECT) or who.may(Action.HOLD)):
        menu.append(("/approvals", "nav.approvals"))
    page = ENVIRONMENT.get_template(template).render(
        lang=language,
        other_lang="nb" if language == "en" else "en",
        t=t,
        state=lambda value: state_label(t, value),
        csrf=values.pop("csrf", None) or csrf_for(request),
        who=who,
        menu=menu,
        here=request.url.path,
        notice=values.pop("notice", None),
        error=values.pop("error", None),
        **values,
    )
    return HTMLResponse(page, status_code=status)
