"""Registered signing keys (`lethe signer add|list|revoke`): public keys only.

Kept in a table beside the event store's, so a key added or revoked applies to
every `lethe run` at once (lookups are cached a few seconds at most).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from lethe.consumers.signatures import (
    Signatory,
    SignerRole,
    key_id_of,
    public_key_from_raw,
)
from lethe.domain.errors import BadCommandError
from lethe.projections.store import SqlViews

DDL = [
    "CREATE TABLE IF NOT EXISTS lethe_signers ("
    " key_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
    " public_key TEXT NOT NULL, added_by TEXT NOT NULL, added_at BIGINT NOT NULL,"
    " revoked_at BIGINT, revoked_by TEXT)"
]
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_COLUMNS = "key_id, name, role, public_key, added_by, added_at, revoked_at"
# A revocation reaches a running consumer within this many seconds.
CACHE_S = 2.0


@dataclass(frozen=True)
class SignerInfo:
    """A registered key as `lethe signer list` shows it."""

    signatory: Signatory
    added_by: str
    added_at: datetime
    revoked_at: datetime | None


class SignerStore:
    """The lethe_signers table; also the consumer's `Signatories`."""

    def __init__(self, views: SqlViews, cache_s: float = CACHE_S) -> None:
        self.views = views
        self.owner: object = None  # what keeps `views`' recorder open, if not us
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, Signatory | None]] = {}
        views.run_ddl(DDL)

    def add(
        self, name: str, role: SignerRole, public_raw: bytes, by: str, now: datetime
    ) -> SignerInfo:
        if not _NAME.fullmatch(name):
            raise BadCommandError(
                f"{name!r} is not a signer name: use 1-64 lower-case letters, "
                "digits, '.', '_' or '-' (a store's name as its confirmations say it)"
            )
        key_id = key_id_of(public_key_from_raw(public_raw))
        known = self._info(key_id)
        if known is not None:
            raise BadCommandError(
                f"key {key_id} is already registered, as {known.signatory.name} "
                f"({known.signatory.role.value}"
                f"{', revoked' if known.revoked_at else ''}): make a new key"
            )
        self.views.execute(
            [
                (
                    f"INSERT INTO lethe_signers ({_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (key_id, name, role.value, public_raw.hex(), by, _ms(now)),
                )
            ]
        )
        info = self._info(key_id)
        assert info is not None
        return info

    def revoke(self, key_id: str, by: str, now: datetime) -> SignerInfo:
        if self._info(key_id) is None:
            raise BadCommandError(
                f"no signing key {key_id!r} (see `lethe signer list`)"
            )
        self.views.execute(
            [
                (
                    "UPDATE lethe_signers SET revoked_at = ?, revoked_by = ?"
                    " WHERE key_id = ? AND revoked_at IS NULL",
                    (_ms(now), by, key_id),
                )
            ]
        )
        self._cache.pop(key_id, None)
        info = self._info(key_id)
        assert info is not None
        return info

    def list(self) -> list[SignerInfo]:
        rows = self.views.query(f"SELECT {_COLUMNS} FROM lethe_signers")
        return sorted(map(_to_info, rows), key=lambda i: i.added_at)

    def signatory(self, key_id: str) -> Signatory | None:
        cached = self._cache.get(key_id)
        if cached is not None and time.monotonic() - cached[0] < self.cache_s:
            return cached[1]
        info = self._info(key_id)
        found = info.signatory if info is not None else None
        self._cache[key_id] = (time.monotonic(), found)
        return found

    def _info(self, key_id: str) -> SignerInfo | None:
        rows = self.views.query(
            f"SELECT {_COLUMNS} FROM lethe_signers WHERE key_id = ?", (key_id,)
        )
        return _to_info(rows[0]) if rows else None


def _to_info(row: tuple[object, ...]) -> SignerInfo:
    key_id, name, role, public_hex, added_by, added_at, revoked_at = row
    return SignerInfo(
        signatory=Signatory(
            key_id=str(key_id),
            name=str(name),
            role=SignerRole(str(role)),
            public_key=public_key_from_raw(bytes.fromhex(str(public_hex))),
            revoked=revoked_at is not None,
        ),
        added_by=str(added_by),
        added_at=_instant(added_at),
        revoked_at=_instant(revoked_at) if revoked_at is not None else None,
    )


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def _instant(ms: object) -> datetime:
    return datetime.fromtimestamp(int(str(ms)) / 1000, UTC)
