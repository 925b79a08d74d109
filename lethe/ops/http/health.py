"""/metrics, /healthz and /readyz on `lethe serve`'s own application.

Unauthenticated, as probes and Prometheus scrape: they carry counts and
positions, never an id of an item or a subject (the lease holder's host:pid is
the only name). The same readiness as `lethe run`'s (lethe.ops.runtime.probes).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lethe.ops.runtime.bootstrap import Runtime
from lethe.ops.runtime.metrics import Metrics
from lethe.ops.runtime.metrics_server import observe
from lethe.ops.runtime.probes import Readiness

# Module-level endpoints reading app.state, not closures over the runtime:
# FastAPI caches what it learns of an endpoint function globally, and a
# closure would keep every runtime (and its database pool) alive with it.
router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Health:
    metrics: Metrics
    readiness: Readiness


def install(api: FastAPI, runtime: Runtime) -> None:
    metrics = Metrics()
    api.state.health = Health(metrics, observe(runtime.app, runtime.settings, metrics))
    api.include_router(router)


@router.get("/metrics")
async def scrape(request: Request) -> Response:
    health: Health = request.app.state.health
    body = await run_in_threadpool(generate_latest, health.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz")
async def alive() -> PlainTextResponse:
    return PlainTextResponse("alive\n")


@router.get("/readyz")
async def ready(request: Request) -> PlainTextResponse:
    health: Health = request.app.state.health
    problems = await run_in_threadpool(health.readiness.problems)
    body = "\n".join(problems or ["ready"]) + "\n"
    return PlainTextResponse(body, status_code=503 if problems else 200)
