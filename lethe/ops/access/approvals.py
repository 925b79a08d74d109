"""Four-eyes: a change asked for by one principal waits until another approves it.

A pending approval names the subject only by its pseudonym: the approver types
the customer id again, and Lethe checks it against that pseudonym, so no
subject id is ever stored in clear here.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lethe.domain.errors import BadCommandError
from lethe.ops.access.roles import AccessError, Principal
from lethe.projections.store import SqlViews

DDL = [
    "CREATE TABLE IF NOT EXISTS lethe_approvals ("
    " approval_id TEXT PRIMARY KEY, action TEXT NOT NULL, params TEXT NOT NULL,"
    " requested_by TEXT NOT NULL, requested_at BIGINT NOT NULL,"
    " approved_by TEXT, approved_at BIGINT)"
]


class SamePersonError(AccessError):
    def __init__(self, who: str) -> None:
        super().__init__(
            f"{who} asked for this change: four-eyes needs a different person to"
            " approve it"
        )


@dataclass(frozen=True)
class Pending:
    approval_id: str
    action: str
    params: dict[str, Any]
    requested_by: str
    requested_at: datetime

    def by_both(self, approver: Principal) -> str:
        """Who the events record: both people, the asker first."""
        return f"{self.requested_by}, approved by {approver.name}"


class Approvals:
    def __init__(self, views: SqlViews) -> None:
        self.views = views
        views.run_ddl(DDL)

    def ask(
        self, action: str, params: dict[str, Any], who: Principal, now: datetime
    ) -> str:
        approval_id = secrets.token_hex(8)
        self.views.execute(
            [
                (
                    "INSERT INTO lethe_approvals (approval_id, action, params,"
                    " requested_by, requested_at) VALUES (?, ?, ?, ?, ?)",
                    (approval_id, action, json.dumps(params), who.name, _ms(now)),
                )
            ]
        )
        return approval_id

    def check(self, approval_id: str, approver: Principal) -> Pending:
        """The pending change, if `approver` may approve it now."""
        pending, approved_by = self._row(approval_id)
        if approved_by is not None:
            raise BadCommandError(f"approval {approval_id} was already given")
        if pending.requested_by == approver.name:
            raise SamePersonError(approver.name)
        return pending

    def approved(self, pending: Pending, approver: Principal, now: datetime) -> None:
        """Record the approval, after the change was carried out.

        Carried out first, so that a change the domain refuses leaves the
        approval pending; a second approver racing this one makes the same
        change again, which the domain makes idempotent or refuses.
        """
        self.views.execute(
            [
                (
                    "UPDATE lethe_approvals SET approved_by = ?, approved_at = ?"
                    " WHERE approval_id = ? AND approved_by IS NULL",
                    (approver.name, _ms(now), pending.approval_id),
                )
            ]
        )

    def pending(self, limit: int = 100) -> list[Pending]:
        """The changes still waiting for a second person, the oldest first."""
        rows = self.views.query(
            "SELECT approval_id, action, params, requested_by, requested_at"
            " FROM lethe_approvals WHERE approved_by IS NULL"
            " ORDER BY requested_at, approval_id LIMIT ?",
            (limit,),
        )
        return [_pending(row) for row in rows]

    def get(self, approval_id: str) -> Pending:
        return self._row(approval_id)[0]

    def _row(self, approval_id: str) -> tuple[Pending, object]:
        rows = self.views.query(
            "SELECT approval_id, action, params, requested_by, requested_at,"
            " approved_by"
            " FROM lethe_approvals WHERE approval_id = ?",
            (approval_id,),
        )
        if not rows:
            raise BadCommandError(f"no pending approval {approval_id!r}")
        return _pending(rows[0][:5]), rows[0][5]


def _pending(row: tuple[object, ...]) -> Pending:
    approval_id, action, params, requested_by, requested_at = row
    return Pending(
        str(approval_id),
        str(action),
        json.loads(str(params)),
        str(requested_by),
        datetime.fromtimestamp(int(str(requested_at)) / 1000, UTC),
    )


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)
