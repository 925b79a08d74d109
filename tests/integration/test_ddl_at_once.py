"""Processes that start at once may both create Lethe's tables.

A group of `lethe run` processes starts together, and each runs its views'
`CREATE TABLE IF NOT EXISTS`. PostgreSQL can fail the second of two such
statements racing for one name ("duplicate key value violates unique
constraint pg_type_typname_nsp_index"): seen once in CI as a `lethe run` that
exited at start. `SqlViews.run_ddl` takes an advisory lock for it.
"""

from __future__ import annotations

import threading

import pytest

from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.settings import Settings
from lethe.projections.aside import DDL as ASIDE_DDL
from lethe.projections.schedule_rows import DDL as SCHEDULE_DDL
from lethe.projections.store import SqlViews
from tests.support.postgres import create_schema

pytestmark = pytest.mark.integration

STARTERS = 6
ROUNDS = 4


def test_processes_starting_at_once_all_create_the_tables(
    pg_env: dict[str, str],
) -> None:
    for _ in range(ROUNDS):
        schema = create_schema(pg_env)  # a fresh one: every table is new
        env = {
            "LETHE_STORE": "postgres",
            "LETHE_POSTGRES_DBNAME": schema["POSTGRES_DBNAME"],
            "LETHE_POSTGRES_SCHEMA": schema["POSTGRES_SCHEMA"],
            "LETHE_PSEUDONYM_KEY": "22" * 32,
            "LETHE_KEK": "33" * 32,
        }
        apps = [build_app(Settings.from_env(env)) for _ in range(STARTERS)]
        at_once = threading.Barrier(STARTERS)
        failures: list[BaseException] = []

        threads = [
            threading.Thread(
                target=start, args=(SqlViews(app.process_recorder), at_once, failures)
            )
            for app in apps
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        for app in apps:
            app.close()
        assert failures == []


def start(
    views: SqlViews, at_once: threading.Barrier, failures: list[BaseException]
) -> None:
    """What each starting process does first: its views' schema."""
    at_once.wait()
    try:
        views.run_ddl([*ASIDE_DDL, *SCHEDULE_DDL])
    except BaseException as error:  # noqa: BLE001 - reported by the test
        failures.append(error)
