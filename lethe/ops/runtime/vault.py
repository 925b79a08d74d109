"""The subject key vault: pseudonyms, sealed identifiers and crypto-shredding.

Keys live in `lethe_subject_keys`, a mutable table beside (never inside) the
append-only event store: deleting a subject's key is what makes its sealed
identifiers in the event store unreadable for ever.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from threading import Lock

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lethe.projections.store import SqlViews

DDL = [
    "CREATE TABLE IF NOT EXISTS lethe_subject_keys ("
    " subject_ref TEXT PRIMARY KEY, subject_key BYTEA, shredded_at BIGINT)",
    "CREATE TABLE IF NOT EXISTS lethe_secrets"
    " (name TEXT PRIMARY KEY, secret BYTEA NOT NULL)",
]
NONCE_BYTES = 12


class SqlSubjectVault:
    """SubjectVault on the event store's database (SQLite or PostgreSQL)."""

    def __init__(self, views: SqlViews, pseudonym_key: bytes | None = None) -> None:
        self.views = views
        views.run_ddl(DDL)
        self._pseudonym_key = pseudonym_key or self._stored_secret("pseudonym-key")
        self._keys: dict[str, bytes | None] = {}
        self._lock = Lock()

    def pseudonym(self, controller: str, subject_id: str) -> str:
        message = f"{controller}\x1f{subject_id}".encode()
        return hmac.new(self._pseudonym_key, message, hashlib.sha256).hexdigest()[:32]

    def digest(self, data: bytes) -> str:
        # Keyed, so a digest of a record holding personal data reveals nothing.
        return hmac.new(self._pseudonym_key, data, hashlib.blake2b).hexdigest()[:32]

    def seal(self, subject_ref: str, subject_id: str) -> bytes:
        key = self._key_for(subject_ref, create=True)
        if key is None:
            return b""  # shredded: nothing of the identifier is kept again
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(key).encrypt(
            nonce, subject_id.encode(), subject_ref.encode()
        )

    def unseal(self, subject_ref: str, seal: bytes) -> str | None:
        # Always read the table, never the cache: another process may have shredded it.
        key = self._load_key(subject_ref, create=False)
        if key is None or len(seal) <= NONCE_BYTES:
            return None
        nonce, body = seal[:NONCE_BYTES], seal[NONCE_BYTES:]
        return AESGCM(key).decrypt(nonce, body, subject_ref.encode()).decode()

    def shred(self, subject_ref: str) -> None:
        now_ms = int(time.time() * 1000)
        self.views.execute(
            [
                (
                    "INSERT INTO lethe_subject_keys"
                    " (subject_ref, subject_key, shredded_at)"
                    " VALUES (?, NULL, ?) ON CONFLICT (subject_ref) DO UPDATE"
                    " SET subject_key = NULL, shredded_at = excluded.shredded_at",
                    (subject_ref, now_ms),
                )
            ]
        )
        with self._lock:
            self._keys[subject_ref] = None

    def is_shredded(self, subject_ref: str) -> bool:
        rows = self.views.query(
            "SELECT shredded_at FROM lethe_subject_keys WHERE subject_ref = ?",
            (subject_ref,),
        )
        return bool(rows) and rows[0][0] is not None

    def _key_for(self, subject_ref: str, create: bool) -> bytes | None:
        with self._lock:
            if subject_ref in self._keys:
                return self._keys[subject_ref]
        key = self._load_key(subject_ref, create)
        with self._lock:
            self._keys[subject_ref] = key
        return key

    def _load_key(self, subject_ref: str, create: bool) -> bytes | None:
        if create:
            self.views.execute(
                [
                    (
                        "INSERT INTO lethe_subject_keys (subject_ref, subject_key)"
                        " VALUES (?, ?) ON CONFLICT (subject_ref) DO NOTHING",
                        (subject_ref, AESGCM.generate_key(bit_length=256)),
                    )
                ]
            )
        rows = self.views.query(
            "SELECT subject_key FROM lethe_subject_keys WHERE subject_ref = ?",
            (subject_ref,),
        )
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def _stored_secret(self, name: str) -> bytes:
        # Embedded default only: production passes LETHE_PSEUDONYM_KEY from its
        # secret store, so the pseudonyms survive a lost database.
        self.views.execute(
            [
                (
                    "INSERT INTO lethe_secrets (name, secret) VALUES (?, ?)"
                    " ON CONFLICT (name) DO NOTHING",
                    (name, os.urandom(32)),
                )
            ]
        )
        rows = self.views.query(
            "SELECT secret FROM lethe_secrets WHERE name = ?", (name,)
        )
        return bytes(rows[0][0])
