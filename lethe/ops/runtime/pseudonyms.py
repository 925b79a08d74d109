"""Subject refs: a keyed HMAC of the subject id, checked against the store.

The store records a check value of the pseudonym key (never the key); a
process given another key refuses to start, because every ref it computed
would name nobody and an erasure would silently miss the subject's items.

After `lethe keys rotate-pseudonym` the event store still names each subject
by the ref of the old key (it is append-only); `lethe_pseudonym_aliases` maps
the ref under the new key to it, so the subject is found by its id.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from lethe.ops.runtime.keystore import (
    PSEUDONYM_CHECK,
    read_state,
    set_state,
)
from lethe.ops.settings import SettingsError
from lethe.projections.store import SqlViews

ALIASES_DDL = [
    "CREATE TABLE IF NOT EXISTS lethe_pseudonym_aliases"
    " (alias TEXT PRIMARY KEY, subject_ref TEXT NOT NULL)"
]


class PseudonymKeyError(SettingsError):
    """A pseudonym key that is missing, in the wrong place or not this store's."""


def check_value(key: bytes) -> str:
    """An HMAC of a fixed label under the key: shows a key matches, reveals none."""
    return hmac.new(key, b"lethe pseudonym key check v1", hashlib.sha256).hexdigest()[
        :32
    ]


def hmac_ref(key: bytes, controller: str, subject_id: str) -> str:
    message = f"{controller}\x1f{subject_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


class Pseudonyms:
    def __init__(self, views: SqlViews, key: bytes) -> None:
        self.views = views
        self.key = key
        views.run_ddl(ALIASES_DDL)
        self.aliased = bool(
            views.query("SELECT 1 FROM lethe_pseudonym_aliases LIMIT 1")
        )
        self._alias = lru_cache(maxsize=65536)(self._read_alias)

    def pseudonym(self, controller: str, subject_id: str) -> str:
        ref = hmac_ref(self.key, controller, subject_id)
        return (self._alias(ref) or ref) if self.aliased else ref

    def digest(self, data: bytes) -> str:
        # Keyed, so a digest of a record holding personal data reveals nothing.
        return hmac.new(self.key, data, hashlib.blake2b).hexdigest()[:32]

    def _read_alias(self, ref: str) -> str | None:
        rows = self.views.query(
            "SELECT subject_ref FROM lethe_pseudonym_aliases WHERE alias = ?", (ref,)
        )
        return str(rows[0][0]) if rows else None


def check_key(views: SqlViews, key: bytes) -> None:
    """Record the key's check value on a new store; refuse a key that differs."""
    recorded = read_state(views, PSEUDONYM_CHECK)
    if recorded is None:
        set_state(views, PSEUDONYM_CHECK, check_value(key))
    elif not hmac.compare_digest(recorded[0], check_value(key)):
        raise PseudonymKeyError(
            "the pseudonym key given does not match this store's (check value "
            f"{recorded[0][:8]}…); pass the key this store was created with"
        )
