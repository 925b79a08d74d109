"""A run of row updates sent as one statement over arrays leaves the schedule view
exactly as the same statements one by one do, on PostgreSQL, for random runs of
every registered update (and falls back where it must: a key twice, a None)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lethe.projections import row_updates, schedule_rows
from lethe.projections.store import execute_statements
from tests.support import postgres

pytestmark = pytest.mark.integration

ITEMS = [f"item-{n}" for n in range(8)]
UPDATES = sorted(row_updates.BY_SQL.values(), key=lambda update: update.sql)


# What each `?` of the registered updates sets, by the column it sets.
COLUMN_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "cause": st.sampled_from(["retention-expired", "subject-erasure", "x'; --"]),
    "ordered_at": st.integers(min_value=0, max_value=2**40),
    "closed_at": st.integers(min_value=0, max_value=2**40),
    "attempts": st.integers(min_value=0, max_value=1000),
}


def _columns(update: row_updates.RowUpdate) -> list[str]:
    """The columns its `?` set, in order ("cause = ?, ordered_at = ?")."""
    return [
        part.split("=")[0].strip()
        for part in update.assignments.split(",")
        if part.strip().endswith("?")
    ]


@st.composite
def statements(draw: Any) -> list[tuple[str, tuple[Any, ...]]]:
    out = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        update = draw(st.sampled_from(UPDATES))
        # Runs of one update, often of distinct items (the fast form), sometimes
        # with a key twice or a None (the fallback).
        for _ in range(draw(st.integers(min_value=1, max_value=6))):
            values = tuple(
                None if draw(st.integers(0, 9)) == 0 else draw(COLUMN_VALUES[column])
                for column in _columns(update)
            )
            out.append((update.sql, (*values, draw(st.sampled_from(ITEMS)))))
    return out


@pytest.fixture(scope="module")
def conn(pg_env: dict[str, str]) -> Iterator[psycopg.Connection]:
    with psycopg.connect(
        host=postgres.HOST,
        port=postgres.PORT,
        user=postgres.USER,
        dbname=pg_env["POSTGRES_DBNAME"],
    ) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS row_updates_one")
        connection.execute("CREATE SCHEMA IF NOT EXISTS row_updates_each")
        connection.commit()
        yield connection


def _fresh(cur: Any, schema: str) -> None:
    cur.execute(f"SET LOCAL search_path TO {schema}")
    cur.execute("DROP TABLE IF EXISTS lethe_schedule")
    cur.execute(schedule_rows.DDL[0])
    for n, item in enumerate(ITEMS):
        cur.execute(
            "INSERT INTO lethe_schedule (item_id, item_ref, subject_ref, controller,"
            " category, source_topic, state, captured_at, ingested_at, due_at)"
            " VALUES (%s, %s, 's', 'c', 'k', 't', 'scheduled', 0, 0, %s)",
            (item, item, None if n % 3 == 0 else n * 1000),
        )


def _rows(cur: Any) -> list[tuple[Any, ...]]:
    cur.execute("SELECT * FROM lethe_schedule ORDER BY item_id")
    return list(cur.fetchall())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(statements())
def test_one_statement_a_run_changes_what_each_statement_would(
    conn: psycopg.Connection, page: list[tuple[str, tuple[Any, ...]]]
) -> None:
    outcomes = {}
    for schema, run in (
        ("row_updates_each", _one_by_one),
        ("row_updates_one", execute_statements),
    ):
        with conn.transaction(force_rollback=True), conn.cursor() as cur:
            _fresh(cur, schema)
            try:
                with conn.transaction():
                    run(cur, page)
                outcomes[schema] = _rows(cur)
            except psycopg.Error as error:  # e.g. an integer out of range
                outcomes[schema] = type(error)
    assert outcomes["row_updates_one"] == outcomes["row_updates_each"]


def _one_by_one(cur: Any, page: list[tuple[str, tuple[Any, ...]]]) -> None:
    for sql, params in page:
        cur.execute(sql.replace("?", "%s"), params)


def test_a_page_of_orders_goes_as_one_statement() -> None:
    update = next(u for u in UPDATES if _columns(u) == ["cause", "ordered_at"])
    one = update.as_one([("retention-expired", 5, "a"), ("retention-expired", 6, "b")])
    assert one is not None and one[0].count("unnest(") == 1
    # A key twice, or a None, is left to the statements one by one.
    assert update.as_one([("c", 5, "a"), ("c", 6, "a")]) is None
    assert update.as_one([("c", None, "a"), ("c", 6, "b")]) is None
    assert update.as_one([("c", True, "a"), ("c", 6, "b")]) is None
