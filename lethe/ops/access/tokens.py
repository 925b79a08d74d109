"""Lethe API tokens: shown once, stored only as a digest, revocable, with expiry."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lethe.domain.errors import BadCommandError
from lethe.ops.access.roles import NotAuthenticatedError, Principal, Role, parse_roles
from lethe.projections.store import SqlViews

PREFIX = "lethe_"
DEFAULT_LIFETIME = "90d"
# The first admin token has a fixed id: its primary key makes "print it once" hold
# even when two servers start at the same moment.
FIRST_ADMIN_ID = "first-admin"

DDL = [
    "CREATE TABLE IF NOT EXISTS lethe_api_tokens ("
    " token_id TEXT PRIMARY KEY, name TEXT NOT NULL, roles TEXT NOT NULL,"
    " digest TEXT NOT NULL, created_by TEXT NOT NULL, created_at BIGINT NOT NULL,"
    " expires_at BIGINT, revoked_at BIGINT, revoked_by TEXT)"
]

_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_LIFETIME = re.compile(r"(\d{1,5})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class TokenInfo:
    """A token as `lethe token list` shows it: everything but the secret."""

    token_id: str
    name: str
    roles: frozenset[Role]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def parse_lifetime(text: str) -> timedelta:
    """`30d`, `12h`, `90m`: how long a new token is valid."""
    match = _LIFETIME.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise BadCommandError(f"{text!r} is not a lifetime; write e.g. 30d, 12h or 90m")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise BadCommandError(
            f"{name!r} is not a token name: use 1-64 lower-case letters, digits,"
            " '.', '_' or '-', starting with a letter or digit"
        )
    return name


class TokenStore:
    """The tokens table, on the event store's database (SQLite or PostgreSQL)."""

    def __init__(self, views: SqlViews) -> None:
        self.views = views
        self.owner: object = None  # what keeps `views`' recorder open, if not us
        views.run_ddl(DDL)

    def create(
        self,
        name: str,
        roles: frozenset[Role],
        created_by: str,
        now: datetime,
        lifetime: timedelta | None,
        token_id: str | None = None,
    ) -> str:
        """A new token; its secret is never stored and cannot be shown again."""
        check_name(name)
        if not roles:
            raise BadCommandError("a token needs at least one role")
        token_id = token_id or secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        expires_at = _ms(now + lifetime) if lifetime else None
        self.views.execute(
            [
                (
                    "INSERT INTO lethe_api_tokens (token_id, name, roles, digest,"
                    " created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        token_id,
                        name,
                        ",".join(sorted(roles)),
                        _digest(secret),
                        created_by,
                        _ms(now),
                        expires_at,
                    ),
                )
            ]
        )
        return f"{PREFIX}{token_id}.{secret}"

    def create_first_admin(self, now: datetime) -> str | None:
        """The first admin token, or None when one was ever created (even revoked)."""
        if self._row(FIRST_ADMIN_ID) is not None:
            return None
        try:
            return self.create(
                "admin", frozenset({Role.ADMIN}), "lethe serve", now, None,
                token_id=FIRST_ADMIN_ID,
            )  # fmt: skip
        except Exception:
            if self._row(FIRST_ADMIN_ID) is not None:
                return None  # another server created it between our read and write
            raise

    def authenticate(self, token: str, now: datetime) -> Principal:
        token_id, secret = _split(token)
        row = self._row(token_id)
        # Compare digests in constant time, and refuse alike whether the id is
        # unknown or the secret wrong: a caller learns nothing from the answer.
        if row is None or not hmac.compare_digest(str(row[3]), _digest(secret)):
            raise NotAuthenticatedError("the API token is not valid")
        info = _info(row)
        if info.state(now) != "active":
            raise NotAuthenticatedError(f"the API token is {info.state(now)}")
        return Principal(f"token:{info.name}", info.roles)

    def revoke(self, token_id: str, by: str, now: datetime) -> TokenInfo:
        row = self._row(token_id)
        if row is None:
            raise BadCommandError(f"no API token {token_id!r}")
        if row[7] is None:
            self.views.execute(
                [
                    (
                        "UPDATE lethe_api_tokens SET revoked_at = ?, revoked_by = ?"
                        " WHERE token_id = ? AND revoked_at IS NULL",
                        (_ms(now), by, token_id),
                    )
                ]
            )
        return _info(self._row(token_id) or row)

    def list(self) -> list[TokenInfo]:
        rows = self.views.query(f"SELECT {_COLUMNS} FROM lethe_api_tokens")
        return sorted((_info(row) for row in rows), key=lambda t: t.created_at)

    def _row(self, token_id: str) -> tuple[object, ...] | None:
        rows = self.views.query(
            f"SELECT {_COLUMNS} FROM lethe_api_tokens WHERE token_id = ?", (token_id,)
        )
        return rows[0] if rows else None


_COLUMNS = (
    "token_id, name, roles, digest, created_by, created_at, expires_at, revoked_at"
)


def _split(token: str) -> tuple[str, str]:
    body = token.strip().removeprefix(PREFIX)
    token_id, dot, secret = body.partition(".")
    if not token.strip().startswith(PREFIX) or not dot or not token_id or not secret:
        raise NotAuthenticatedError("the API token is not valid")
    return token_id, secret


def _digest(secret: str) -> str:
    # The secret is 256 random bits: a plain SHA-256 cannot be brute-forced, and
    # a slow password hash would only slow every call down.
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: tuple[object, ...]) -> TokenInfo:
    token_id, name, roles, _, created_by, created_at, expires_at, revoked_at = row
    return TokenInfo(
        token_id=str(token_id),
        name=str(name),
        roles=parse_roles(str(roles).split(",")),
        created_by=str(created_by),
        created_at=_instant(created_at),
        expires_at=_instant(expires_at) if expires_at is not None else None,
        revoked_at=_instant(revoked_at) if revoked_at is not None else None,
    )


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _instant(ms: object) -> datetime:
    return datetime.fromtimestamp(int(str(ms)) / 1000, UTC)
