"""The FastAPI application: its routers, problem details, and its wiring from env."""

from __future__ import annotations

from fastapi import FastAPI

from lethe.ops.access.approvals import Approvals
from lethe.ops.access.authenticate import Authenticator
from lethe.ops.access.oidc import OidcVerifier
from lethe.ops.access.settings import AccessSettings
from lethe.ops.access.tokens import TokenStore
from lethe.ops.http import admin, audit, health, holds, items, problems, subjects
from lethe.ops.http.console.app import build_console
from lethe.ops.http.context import Context
from lethe.ops.runtime.bootstrap import Runtime, build_runtime


def build_app(runtime: Runtime, access: AccessSettings) -> FastAPI:
    tokens = TokenStore(runtime.views)
    oidc = OidcVerifier(access.oidc) if access.oidc else None
    api = FastAPI(
        title="Lethe",
        summary="Retention and erasure for alarm receiving centres",
        version="1",
        openapi_url="/openapi.json",
    )
    context = Context(
        runtime, tokens, Authenticator(tokens, oidc), access, Approvals(runtime.views)
    )
    api.state.context = context
    problems.install(api)
    for module in (admin, items, holds, subjects, audit):
        api.include_router(module.router)
    health.install(api, runtime)  # /metrics, /healthz, /readyz: no token
    api.mount("/", build_console(context))  # last: the paths the API leaves
    return api


def from_env() -> FastAPI:
    """uvicorn's factory (`lethe serve`): settings from LETHE_* variables."""
    runtime = build_runtime()
    return build_app(runtime, AccessSettings.from_env(runtime.settings.env or {}))
