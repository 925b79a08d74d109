"""Lethe's recorders: events, tracking and read-model rows commit in one transaction.

eventsourcing's process recorders already put a tracking row in the events'
transaction; these add `statements` (SQL with `?` placeholders) to it, so a view
and the position it was built to can never disagree, on SQLite and PostgreSQL
alike. Select them with PERSISTENCE_MODULE="lethe.projections.store:<Factory>".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from eventsourcing.persistence import ProcessRecorder
from eventsourcing.postgres import PostgresFactory, PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteFactory, SQLiteProcessRecorder

from lethe.projections import row_updates

Statement = tuple[str, Sequence[Any]]


class LetheSQLiteProcessRecorder(SQLiteProcessRecorder):
    def _insert_events(self, c: Any, stored_events: Any, **kwargs: Any) -> Any:
        returning = super()._insert_events(c, stored_events, **kwargs)
        for sql, params in kwargs.get("statements", ()):
            c.execute(sql, params)
        return returning


class LethePostgresProcessRecorder(PostgresProcessRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The events go as one array of a composite type. psycopg dumps that as
        # text in pure Python, escaping every state twice (~20% of ingest's CPU);
        # its binary dumper of the same type packs the fields with C dumpers.
        self.insert_events_statement = _binary_params(self.insert_events_statement)

    def _insert_events(self, curs: Any, stored_events: Any, **kwargs: Any) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        statements = kwargs.get("statements", ())
        if statements:
            curs.execute(_search_path(self.datastore.schema))
        # A run of the same statement (a page's 1,000 orders each update their
        # row) goes as one executemany: psycopg pipelines it, one round trip
        # instead of one a row. Same statements, same order, same transaction.
        # At most RUN_MOST a pipeline: what it sends before reading stays far
        # below the socket buffers (psycopg/psycopg#685, a pipeline that hung).
        execute_statements(curs, statements)


def execute_statements(curs: Any, statements: Sequence[Statement]) -> None:
    """The statements on a psycopg cursor, in order; a run of a registered row
    update as one statement over arrays (row_updates.py), else as one
    executemany."""
    for sql, params in runs_of_same_sql(statements, RUN_MOST):
        update = row_updates.BY_SQL.get(sql) if len(params) > 1 else None
        one = update.as_one(params) if update is not None else None
        if one is not None:
            curs.execute(*one)
        elif len(params) == 1:
            curs.execute(_to_pyformat(sql), params[0])
        else:
            curs.executemany(_to_pyformat(sql), params)


class LetheSQLiteFactory(SQLiteFactory):
    process_recorder_class = LetheSQLiteProcessRecorder


class LethePostgresFactory(PostgresFactory):
    process_recorder_class = LethePostgresProcessRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # eventsourcing qualifies its own tables with POSTGRES_SCHEMA; our views and
        # key tables are unqualified, so they must resolve to the same schema.
        schema = self.datastore.schema.replace('"', '""')
        options = f'-c search_path="{schema}"'
        # 0 (PostgreSQL's "never") when unset, as eventsourcing's own timeouts.
        statement_s = int(self.env.get("POSTGRES_STATEMENT_TIMEOUT") or 0)
        options += f" -c statement_timeout={statement_s * 1000}"
        # psycopg_pool also takes a callable here; eventsourcing gives it a dict.
        kwargs = cast(dict[str, Any], self.datastore.pool.kwargs)
        kwargs["options"] = options


RUN_MOST = 500  # statements an executemany: ~75 KB of row updates


def runs_of_same_sql(
    statements: Sequence[Statement], most: int = RUN_MOST
) -> Iterator[tuple[str, list[Sequence[Any]]]]:
    """Consecutive statements with the same SQL, grouped in order, `most` a group."""
    sql: str | None = None
    params: list[Sequence[Any]] = []
    for this_sql, these in statements:
        if params and (this_sql != sql or len(params) >= most):
            assert sql is not None
            yield sql, params
            params = []
        sql = this_sql
        params.append(these)
    if params:
        assert sql is not None
        yield sql, params


def _binary_params(statement: Any) -> Any:
    """The statement with its `%s` placeholders sent in binary (`%b`)."""
    from psycopg import sql

    text = statement.as_string(None).replace("%s", "%b")
    return sql.SQL(text)


def _search_path(schema: str) -> Any:
    # Lethe's own tables live beside eventsourcing's, in LETHE_POSTGRES_SCHEMA.
    from psycopg import sql

    return sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema))


def _to_pyformat(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


DDL_LOCK = 0x4C45544845  # "LETHE": the advisory lock Lethe's schema changes take


class SqlViews:
    """Reads and schema changes on the event store's own database, either backend."""

    def __init__(self, recorder: ProcessRecorder) -> None:
        self.recorder = recorder
        self.is_postgres = isinstance(recorder, PostgresProcessRecorder)

    @contextmanager
    def cursor(self, commit: bool = False) -> Iterator[Any]:
        datastore: Any = getattr(self.recorder, "datastore")  # noqa: B009
        with datastore.transaction(commit=commit) as cursor:
            if self.is_postgres:
                cursor.execute(_search_path(datastore.schema))
            yield cursor

    def sql(self, statement: str) -> str:
        return _to_pyformat(statement) if self.is_postgres else statement

    def query(
        self, statement: str, params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        with self.cursor() as cursor:
            cursor.execute(self.sql(statement), params)
            return [
                tuple(row.values()) if isinstance(row, dict) else tuple(row)
                for row in cursor.fetchall()
            ]

    def execute(self, statements: Sequence[Statement]) -> None:
        with self.cursor(commit=True) as cursor:
            for statement, params in statements:
                cursor.execute(self.sql(statement), params)

    def run_ddl(self, ddl: Sequence[str]) -> None:
        statements: list[Statement] = [(statement, ()) for statement in ddl]
        if self.is_postgres:
            # Two processes starting at once (a group of `lethe run`) both
            # CREATE ... IF NOT EXISTS: PostgreSQL lets the second fail on its
            # catalogue's unique index ("pg_type_typname_nsp_index"). One lock
            # for the transaction makes the second wait and find the table.
            statements.insert(0, (f"SELECT pg_advisory_xact_lock({DDL_LOCK})", ()))
        self.execute(statements)
