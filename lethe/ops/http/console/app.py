"""The console as an application mounted under the API's: its pages, its errors."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from lethe.ops.http.console import dpo, errors, legal, pages, support
from lethe.ops.http.context import Context

STATIC = Path(__file__).with_name("static")


def build_console(context: Context) -> FastAPI:
    """Pages answer refusals in HTML, so they live in their own application;
    mounted last, it gets every path the API does not serve."""
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    console.state.context = context
    errors.install(console)
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (pages, support, legal, dpo):
        console.include_router(module.router)
    return console
