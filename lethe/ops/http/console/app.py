"""The console as an application mounted under the API's: its pages, its errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from lethe.ops.http.console import dpo, errors, legal, pages, support
from lethe.ops.http.context import Context

STATIC = Path(__file__).with_name("static")
# Pages show personal data and carry buttons that erase: never framed by another
# site (clickjacking), never cached, scripts and forms only from the console.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none';"
    " form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def build_console(context: Context) -> FastAPI:
    """Pages answer refusals in HTML, so they live in their own application;
    mounted last, it gets every path the API does not serve."""
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    console.state.context = context
    errors.install(console)

    @console.middleware("http")
    async def guarded(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)  # a page may set its own
        return response

    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (pages, support, legal, dpo):
        console.include_router(module.router)
    return console
