"""The vault's tables, its key state rows, and the work done outside transactions.

`lethe_wrapped_keys` holds each live subject's data key wrapped by a KEK (never
in clear); a shred DELETEs the row and records the subject in
`lethe_shredded_subjects`. `lethe_key_state` records which KEK the store wraps
with, when it was last rotated, and the pseudonym key's check value.
"""

from __future__ import annotations

import time
from typing import Any

from lethe.projections.store import SqlViews, Statement

__all__ = ["Statement"]

DDL = [
    "CREATE TABLE IF NOT EXISTS lethe_wrapped_keys (subject_ref TEXT PRIMARY KEY,"
    " kek_id TEXT NOT NULL, wrapped_key BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS lethe_shredded_subjects"
    " (subject_ref TEXT PRIMARY KEY, shredded_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS lethe_key_state"
    " (name TEXT PRIMARY KEY, value TEXT NOT NULL, at_ms BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS lethe_secrets"
    " (name TEXT PRIMARY KEY, secret BYTEA NOT NULL)",
]
KEK = "kek"  # the KEK new keys are wrapped by; at_ms: when it became so
KEK_ROTATED = "kek-rotated"  # at_ms: when a rotation last destroyed the old KEK
PSEUDONYM_CHECK = "pseudonym-check"
KEK_ROTATING = "kek-rotating"  # value: the KEK a started rotation is replacing
LEGACY_TABLE = "lethe_subject_keys"  # data keys in clear, before envelope encryption


def now_ms() -> int:
    return int(time.time() * 1000)


def read_state(views: SqlViews, name: str) -> tuple[str, int] | None:
    rows = views.query(
        "SELECT value, at_ms FROM lethe_key_state WHERE name = ?", (name,)
    )
    return (rows[0][0], int(rows[0][1])) if rows else None


def set_state(views: SqlViews, name: str, value: str) -> None:
    views.execute([upsert_state(name, value)])


def upsert_state(name: str, value: str) -> tuple[str, tuple[Any, ...]]:
    return (
        "INSERT INTO lethe_key_state (name, value, at_ms) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value,"
        " at_ms = excluded.at_ms",
        (name, value, now_ms()),
    )


def clear_state(views: SqlViews, name: str) -> None:
    views.execute([("DELETE FROM lethe_key_state WHERE name = ?", (name,))])


def has_table(views: SqlViews, table: str) -> bool:
    if views.is_postgres:
        rows = views.query("SELECT to_regclass(?) IS NOT NULL", (table,))
    else:
        rows = views.query(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?",
            (table,),
        )
    return bool(rows[0][0])


def scrub(views: SqlViews, table: str = "lethe_wrapped_keys") -> None:
    """After a shred or a rotation: let go of the deleted rows' bytes.

    PostgreSQL: VACUUM the table (outside any transaction; it cannot run in one).
    SQLite: checkpoint the WAL and truncate it, so the WAL file no longer holds
    the page images with the deleted rows (secure_delete zeroed them in the file).
    """
    datastore: Any = getattr(views.recorder, "datastore")  # noqa: B009
    if views.is_postgres:
        from psycopg import sql

        statement = sql.SQL("VACUUM {}.{}").format(
            sql.Identifier(datastore.schema), sql.Identifier(table)
        )
        with datastore.get_connection() as conn:
            conn.execute(statement)  # the pool's connections are autocommit
        return
    with datastore.get_connection(commit=True) as conn:
        conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")


SECURE_DELETE = "PRAGMA secure_delete = ON"  # SQLite: zero deleted rows' bytes
