"""Who am I, the status, and API tokens (admin)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from lethe.ops.access.roles import Action, Principal, parse_roles
from lethe.ops.access.tokens import DEFAULT_LIFETIME, TokenInfo, parse_lifetime
from lethe.ops.http.context import Context, allowed, caller, context
from lethe.projections.status import Status, read_status

router = APIRouter(prefix="/api", tags=["access and status"])
CTX = Annotated[Context, Depends(context)]
ADMIN = Annotated[Principal, Depends(allowed(Action.MANAGE_TOKENS))]


class NewToken(BaseModel):
    name: str
    roles: list[str]
    expires_in: str = DEFAULT_LIFETIME


@router.get("/whoami")
def whoami(who: Annotated[Principal, Depends(caller)]) -> dict[str, Any]:
    return {"principal": who.name, "roles": sorted(who.roles)}


@router.get("/status")
def status(
    ctx: CTX, _: Annotated[Principal, Depends(allowed(Action.STATUS))]
) -> dict[str, Any]:
    """Items by state; overdue, unconfirmed and failed erasures; request deadlines."""
    return asdict(status_report(ctx, ctx.runtime.settings.answer_warning_days))


def status_report(ctx: Context, warning_days: int) -> Status:
    """The status; open requests are listed from `warning_days` before their end."""
    now, s = ctx.clock(), ctx.runtime.settings
    return ctx.read(
        lambda rt: read_status(
            rt.views, now, s.sweep_interval_s, s.confirm_timeout_s, warning_days,
            {controller: p.zone for controller, p in rt.app.policies.items()},
        )
    )  # fmt: skip


@router.post("/sweep")
def sweep(
    ctx: CTX, _: Annotated[Principal, Depends(allowed(Action.SWEEP))]
) -> dict[str, Any]:
    """Order the erasure of everything due now (`lethe sweep`, without the relay)."""
    now = ctx.clock()

    def one_pass(rt: Any) -> dict[str, Any]:
        rt.catch_up()
        return asdict(rt.sweeper.sweep(now))

    done = ctx.change(one_pass)
    # True to what happened: the orders are in the outbox, not yet on Kafka.
    return {**done, "swept_as_of": now, "relayed_by": "lethe run"}


@router.get("/tokens")
def list_tokens(ctx: CTX, _: ADMIN) -> list[dict[str, Any]]:
    now = ctx.clock()
    return [_token_view(t, now) for t in ctx.tokens.list()]


@router.post("/tokens", status_code=201)
def create_token(body: NewToken, ctx: CTX, who: ADMIN) -> dict[str, str]:
    """The token is in this answer only: Lethe keeps just its digest."""
    token = ctx.tokens.create(
        body.name,
        parse_roles(body.roles),
        who.name,
        ctx.clock(),
        parse_lifetime(body.expires_in),
    )
    return {"token": token}


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: str, ctx: CTX, who: ADMIN) -> dict[str, Any]:
    now = ctx.clock()
    return _token_view(ctx.tokens.revoke(token_id, who.name, now), now)


def _token_view(token: TokenInfo, now: Any) -> dict[str, Any]:
    return {
        "token_id": token.token_id,
        "name": token.name,
        "roles": sorted(token.roles),
        "state": token.state(now),
        "created_by": token.created_by,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
    }
