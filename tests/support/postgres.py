"""A throwaway PostgreSQL database for one test session, as eventsourcing settings."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

HOST = "127.0.0.1"
PORT = "5432"
USER = "postgres"


# Lethe on PostgreSQL takes both keys from outside the database (docs/keys.md).
OUTSIDE_KEYS = {"LETHE_PSEUDONYM_KEY": "22" * 32, "LETHE_KEK": "33" * 32}


class PostgresUnavailable(RuntimeError):
    """The test PostgreSQL server does not answer."""


def eventsourcing_env(dbname: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": HOST,
        "POSTGRES_PORT": PORT,
        "POSTGRES_USER": USER,
        # Trust auth on 127.0.0.1; eventsourcing refuses a missing password.
        "POSTGRES_PASSWORD": "",
    }


def connect(dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection (CREATE/DROP DATABASE refuse transactions)."""
    try:
        return psycopg.connect(
            host=HOST,
            port=PORT,
            user=USER,
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )
    except psycopg.OperationalError as error:
        raise PostgresUnavailable(
            f"PostgreSQL does not answer on {HOST}:{PORT} as {USER!r} ({error}). "
            "Start it with `bash scripts/ensure-postgres.sh` (scripts/test.sh does)."
        ) from error


@contextmanager
def temporary_database() -> Iterator[dict[str, str]]:
    """Create lethe_test_<hex>, yield its settings, then drop it."""
    name = f"lethe_test_{secrets.token_hex(6)}"
    with connect() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield eventsourcing_env(name)
    finally:
        # FORCE: Applications' connection pools may still hold sessions.
        with connect() as admin:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


def create_schema(env: dict[str, str]) -> dict[str, str]:
    """A new empty schema in env's database, so one test sees only its own rows."""
    schema = f"t_{secrets.token_hex(6)}"
    with connect(env["POSTGRES_DBNAME"]) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return {**env, "POSTGRES_SCHEMA": schema}
