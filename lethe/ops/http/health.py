"""/metrics, /healthz and /readyz on `lethe serve`'s own application.

Unauthenticated, as probes and Prometheus scrape: they carry counts and
positions, never an id of an item or a subject (the lease holder's host:pid is
the only name). The same readiness as `lethe run`'s (lethe.ops.runtime.probes).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lethe.ops.runtime.bootstrap import Runtime
from lethe.ops.runtime.metrics import Metrics
from lethe.ops.runtime.metrics_server import observe


def install(api: FastAPI, runtime: Runtime) -> None:
    metrics = Metrics()
    readiness = observe(runtime.app, runtime.settings, metrics)

    @api.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:
        body = await run_in_threadpool(generate_latest, metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @api.get("/healthz", include_in_schema=False)
    async def alive() -> PlainTextResponse:
        return PlainTextResponse("alive\n")

    @api.get("/readyz", include_in_schema=False)
    async def ready() -> PlainTextResponse:
        problems = await run_in_threadpool(readiness.problems)
        body = "\n".join(problems or ["ready"]) + "\n"
        return PlainTextResponse(body, status_code=503 if problems else 200)
