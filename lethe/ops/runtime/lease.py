"""Who runs the projections: one `lethe run` per store, chosen by a PostgreSQL lock.

Every `lethe run` consumes, but only the holder of the lease follows the log,
sweeps and relays; the others would only redo the same pages (safely, but for
nothing). A session-level advisory lock dies with its connection, so when the
holder stops or is killed another process takes over at its next tick.

Sending has a lease of its own (RELAY_LEASE): one relay sends at a time,
whether `lethe run`'s projector or a `lethe relay` process beside it
(lethe/ops/runtime/relayer.py).
"""

from __future__ import annotations

import contextlib
from typing import Protocol

import psycopg

from lethe.ops import logging as lethe_logging
from lethe.ops.settings import Settings

log = lethe_logging.get_logger("lethe.lease")


PROJECTOR_LEASE = "lethe-projector"
RELAY_LEASE = "lethe-relay"


class Lease(Protocol):
    def held(self) -> bool: ...

    def let_go(self) -> None: ...

    def release(self) -> None: ...


class AlwaysHeld:
    """The embedded store: SQLite serialises writers, and one host runs it."""

    def held(self) -> bool:
        return True

    def let_go(self) -> None:
        return None

    def release(self) -> None:
        return None


class PostgresLease:
    def __init__(self, settings: Settings, name: str = PROJECTOR_LEASE) -> None:
        self.settings = settings
        # One lease per store: the database and schema name it.
        self.key = f"{name}/{settings.postgres_dbname}/{settings.postgres_schema}"
        self._conn: psycopg.Connection | None = None
        self._held = False
        # Logged when taken first and when taken over from another holder, not
        # each time a borrowed lease is taken again after let_go().
        self._announce = True

    def held(self) -> bool:
        try:
            return self._check()
        except psycopg.Error as error:
            log.warning("lease connection lost", error=str(error))
            self.release()
            return False

    def _check(self) -> bool:
        conn = self._connection()
        if self._held:
            conn.execute("SELECT 1")  # still alive, so still ours
            return True
        row = conn.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s))", (self.key,)
        ).fetchone()
        self._held = bool(row and row[0])
        if self._held and self._announce:
            log.info("lease taken", lease=self.key)
        self._announce = not self._held
        return self._held

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            s = self.settings
            self._conn = psycopg.connect(
                host=s.postgres_host,
                port=s.postgres_port,
                dbname=s.postgres_dbname,
                user=s.postgres_user,
                password=s.postgres_password or None,
                autocommit=True,
                connect_timeout=10,
            )
            self._held = False
        return self._conn

    def let_go(self) -> None:
        """Give the lease up but keep the session, to ask again soon (a lease
        borrowed for one task: connecting anew each time would cost more)."""
        if self._held and self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute(
                    "SELECT pg_advisory_unlock(hashtext(%s))", (self.key,)
                )
            except psycopg.Error:
                self.release()  # the session is gone, and the lock with it
                return
        self._held = False

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed:
            if self._held:
                # Unlocked before the reply: closing alone lets the server end the
                # session (and free the lock) a moment after a successor asks.
                # A failure means the session is gone, and the lock with it.
                with contextlib.suppress(psycopg.Error):
                    self._conn.execute(
                        "SELECT pg_advisory_unlock(hashtext(%s))", (self.key,)
                    )
            self._conn.close()  # the lock goes with the session
        self._conn, self._held = None, False


def lease_for(settings: Settings, name: str = PROJECTOR_LEASE) -> Lease:
    if settings.store != "postgres":
        return AlwaysHeld()
    return PostgresLease(settings, name)
