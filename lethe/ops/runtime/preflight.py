"""Before a command opens the event store: is it the store the operator meant?

Opening a store that is not there makes a new, empty one, and an empty store
answers every question with "nothing needs attention". So a command names the
store it uses, and only the commands that are meant to start one (`run`,
`demo`, `serve`, or any given `--create`) may create it. A PostgreSQL server
that is down or lacks the database is said at once, in one line, rather than
after eventsourcing's 30 s of connection retries.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from lethe.ops.settings import Settings, SettingsError

CONNECT_TIMEOUT_S = 5
EVENTS_TABLE = "lethe_events"  # what eventsourcing names the Lethe application's
CREATE_HINT = "pass --create to start a new store there (e.g. lethe --create status)"


class StoreError(SettingsError):
    """The store the settings name is missing or cannot be reached."""


def describe_store(settings: Settings) -> str:
    """`sqlite /abs/path/lethe.db` or `postgres lethe on 127.0.0.1:5432`."""
    if settings.store == "sqlite":
        return f"sqlite {sqlite_file(settings)}"
    where = f"{settings.postgres_dbname} on {_address(settings)}"
    schema = f", schema {settings.postgres_schema}" if settings.postgres_schema else ""
    return f"postgres {where}{schema}"


def sqlite_file(settings: Settings) -> Path:
    return settings.sqlite_path.expanduser().resolve()


def check_store(settings: Settings, *, create: bool) -> None:
    """Raise StoreError unless the store is there (or may be created) and answers."""
    if settings.store == "sqlite":
        _check_sqlite(settings, create)
    else:
        _check_postgres(settings, create)


def store_exists(settings: Settings) -> bool:
    """Whether the store the settings name is there, without making it.

    False for a missing SQLite file or a PostgreSQL database (or schema) without
    Lethe's tables; StoreError when PostgreSQL cannot be asked at all.
    """
    if settings.store == "sqlite":
        return sqlite_file(settings).is_file()
    try:
        with _connect(settings) as connection:
            return _has_events_table(connection, settings.postgres_schema)
    except psycopg.OperationalError as error:
        if "does not exist" in str(error) and "database" in str(error):
            return False
        raise StoreError(_unreachable(settings, error)) from None


def _check_sqlite(settings: Settings, create: bool) -> None:
    path = sqlite_file(settings)
    if path.is_dir():
        raise StoreError(f"LETHE_SQLITE_PATH={str(path)!r} is a directory, not a file")
    if not path.exists() and not create:
        raise StoreError(
            f"no Lethe store at {path} (LETHE_SQLITE_PATH, relative to the current "
            f"directory): run this where the store is, set LETHE_SQLITE_PATH, or "
            f"{CREATE_HINT}"
        )


def _check_postgres(settings: Settings, create: bool) -> None:
    try:
        with _connect(settings) as connection:
            has_tables = _has_events_table(connection, settings.postgres_schema)
    except psycopg.OperationalError as error:
        raise StoreError(_unreachable(settings, error)) from None
    if not has_tables and not create:
        raise StoreError(
            f"PostgreSQL database {settings.postgres_dbname!r} on "
            f"{_address(settings)} holds no Lethe store (LETHE_POSTGRES_DBNAME, "
            f"LETHE_POSTGRES_SCHEMA): name the right one, or {CREATE_HINT}"
        )


def _connect(settings: Settings) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        dbname=settings.postgres_dbname,
        user=settings.postgres_user,
        password=settings.postgres_password or None,
        connect_timeout=CONNECT_TIMEOUT_S,
    )


def _has_events_table(
    connection: psycopg.Connection[tuple[object, ...]], schema: str
) -> bool:
    row = connection.execute(
        "SELECT to_regclass(%s) IS NOT NULL",
        (f"{schema}.{EVENTS_TABLE}" if schema else EVENTS_TABLE,),
    ).fetchone()
    return bool(row and row[0])


def _unreachable(settings: Settings, error: psycopg.OperationalError) -> str:
    reason = " ".join(str(error).split())
    if "does not exist" in reason and "database" in reason:
        return (
            f"PostgreSQL database {settings.postgres_dbname!r} does not exist on "
            f"{_address(settings)} (LETHE_POSTGRES_DBNAME): create it (createdb -h "
            f"{settings.postgres_host} -p {settings.postgres_port} -U "
            f"{settings.postgres_user} {settings.postgres_dbname}) or name another"
        )
    return (
        f"could not connect to PostgreSQL at {_address(settings)} as "
        f"{settings.postgres_user!r} (LETHE_POSTGRES_HOST, LETHE_POSTGRES_PORT, "
        f"LETHE_POSTGRES_USER, LETHE_POSTGRES_PASSWORD): {_last_words(reason)}"
    )


def _address(settings: Settings) -> str:
    return f"{settings.postgres_host}:{settings.postgres_port}"


def _last_words(reason: str) -> str:
    # libpq prefixes "connection failed: connection to server at ... failed:".
    return reason.rsplit("failed: ", 1)[-1][:200]
