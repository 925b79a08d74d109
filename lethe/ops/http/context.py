"""What every endpoint shares: the runtime (one at a time), the clock, the caller."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request

from lethe.ops.access.approvals import Approvals
from lethe.ops.access.authenticate import Authenticator
from lethe.ops.access.roles import Action, Principal
from lethe.ops.access.settings import AccessSettings
from lethe.ops.access.tokens import TokenStore
from lethe.ops.runtime.bootstrap import Runtime

T = TypeVar("T")


@dataclass
class Context:
    runtime: Runtime
    tokens: TokenStore
    authenticator: Authenticator
    access: AccessSettings
    approvals: Approvals
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # Endpoints run in a thread pool; the application and its schedule process
    # are one per server and not made for concurrent calls.
    lock: threading.Lock = field(default_factory=threading.Lock)

    def change(self, work: Callable[[Runtime], T]) -> T:
        """Run one change, then let the subject process carry it to every item."""
        with self.lock:
            result = work(self.runtime)
            self.runtime.catch_up()
            return result

    def read(self, work: Callable[[Runtime], T]) -> T:
        with self.lock:
            self.runtime.catch_up()
            return work(self.runtime)


def context(request: Request) -> Context:
    found: Any = request.app.state.context
    assert isinstance(found, Context)
    return found


def caller(
    ctx: Annotated[Context, Depends(context)],
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    return ctx.authenticator.authenticate(authorization, ctx.clock())


def allowed(action: Action) -> Callable[..., Principal]:
    """A dependency: the caller, refused unless one of its roles may do `action`."""

    def check(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        principal.require(action)
        return principal

    return check
