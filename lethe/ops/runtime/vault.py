"""The subject key vault: pseudonyms, sealed identifiers and crypto-shredding.

Each subject's data key lives in `lethe_wrapped_keys`, a mutable table beside
(never inside) the append-only event store, and only wrapped by a key-encryption
key (KEK) kept outside the database (lethe/ops/runtime/kek.py). Shredding
deletes the wrapped key; a copy of it left in a WAL segment or a backup opens
nothing once `lethe keys rotate` has destroyed the KEK that wrapped it.
"""

from __future__ import annotations

import os
from threading import Lock

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lethe.ops.runtime import keystore
from lethe.ops.runtime.kek import KekError, KekProvider
from lethe.ops.runtime.keystore import KEK, SECURE_DELETE, read_state, scrub
from lethe.projections.store import SqlViews

NONCE_BYTES = 12
_CREATE_ATTEMPTS = 3


class SqlSubjectVault:
    """SubjectVault on the event store's database (SQLite or PostgreSQL).

    `pseudonyms` computes subject refs (lethe/ops/runtime/pseudonyms.py);
    `kek` wraps and unwraps the data keys.
    """

    def __init__(self, views: SqlViews, pseudonyms: object, kek: KekProvider) -> None:
        self.views = views
        self.pseudonyms = pseudonyms
        self.kek = kek
        self._keys: dict[str, bytes | None] = {}
        self._lock = Lock()

    def pseudonym(self, controller: str, subject_id: str) -> str:
        return self.pseudonyms.pseudonym(controller, subject_id)  # type: ignore[attr-defined]

    def digest(self, data: bytes) -> str:
        return self.pseudonyms.digest(data)  # type: ignore[attr-defined]

    def seal(self, subject_ref: str, subject_id: str) -> bytes:
        key = self._key_for(subject_ref)
        if key is None:
            return b""  # shredded: nothing of the identifier is kept again
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(key).encrypt(
            nonce, subject_id.encode(), subject_ref.encode()
        )

    def unseal(self, subject_ref: str, seal: bytes) -> str | None:
        # Always read the table, never the cache: another process may have shredded it.
        key = self._load_key(subject_ref)
        if key is None or len(seal) <= NONCE_BYTES:
            return None
        nonce, body = seal[:NONCE_BYTES], seal[NONCE_BYTES:]
        return AESGCM(key).decrypt(nonce, body, subject_ref.encode()).decode()

    def shred(self, subject_ref: str) -> None:
        """DELETE the wrapped key (an UPDATE would leave it in the row's old
        version) and record the subject as shredded, in one transaction."""
        statements = [
            ("DELETE FROM lethe_wrapped_keys WHERE subject_ref = ?", (subject_ref,)),
            (
                "INSERT INTO lethe_shredded_subjects (subject_ref, shredded_at)"
                " VALUES (?, ?) ON CONFLICT (subject_ref) DO NOTHING",
                (subject_ref, keystore.now_ms()),
            ),
        ]
        if not self.views.is_postgres:
            statements.insert(0, (SECURE_DELETE, ()))
        self.views.execute(statements)
        with self._lock:
            self._keys[subject_ref] = None

    def scrub(self) -> None:
        """After a batch of shreds, outside their transactions: VACUUM (PostgreSQL)
        or checkpoint and truncate the WAL (SQLite)."""
        scrub(self.views)

    def is_shredded(self, subject_ref: str) -> bool:
        rows = self.views.query(
            "SELECT 1 FROM lethe_shredded_subjects WHERE subject_ref = ?",
            (subject_ref,),
        )
        return bool(rows)

    def _key_for(self, subject_ref: str) -> bytes | None:
        with self._lock:
            if subject_ref in self._keys:
                return self._keys[subject_ref]
        key = self._load_key(subject_ref)
        if key is None and not self.is_shredded(subject_ref):
            key = self._create_key(subject_ref)
        with self._lock:
            self._keys[subject_ref] = key
        return key

    def _load_key(self, subject_ref: str) -> bytes | None:
        rows = self.views.query(
            "SELECT kek_id, wrapped_key FROM lethe_wrapped_keys WHERE subject_ref = ?",
            (subject_ref,),
        )
        if not rows:
            return None
        kek_id, wrapped = rows[0][0], bytes(rows[0][1])
        self._have(kek_id)
        return self.kek.unwrap(kek_id, wrapped)

    def _create_key(self, subject_ref: str) -> bytes | None:
        # Wrapped by the KEK the store names, and inserted only while it still
        # names it: a rotation that flipped it meanwhile cannot miss this key.
        for _ in range(_CREATE_ATTEMPTS):
            kek_id = self.current_kek()
            data_key = AESGCM.generate_key(bit_length=256)
            wrapped = self.kek.wrap(kek_id, data_key)
            self.views.execute(
                [(self._insert_sql(), (subject_ref, kek_id, wrapped, kek_id))]
            )
            key = self._load_key(subject_ref)
            if key is not None:
                return key
        raise KekError("the store's KEK kept changing while a key was created")

    def _insert_sql(self) -> str:
        lock = " FOR SHARE" if self.views.is_postgres else ""
        return (
            "INSERT INTO lethe_wrapped_keys (subject_ref, kek_id, wrapped_key)"
            " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM lethe_key_state"
            f" WHERE name = 'kek' AND value = ?{lock})"
            " ON CONFLICT (subject_ref) DO NOTHING"
        )

    def current_kek(self) -> str:
        state = read_state(self.views, KEK)
        if state is None:
            raise KekError("this store records no KEK; start it once with its KEK")
        self._have(state[0])
        return state[0]

    def _have(self, kek_id: str) -> None:
        """Re-read the KEKs once if `kek_id` is new to this process (a rotation
        by another process); the provider's error names what is missing."""
        if kek_id not in self.kek.ids():
            reload = getattr(self.kek, "reload", None)
            if reload is not None:
                reload()
