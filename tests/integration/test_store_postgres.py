"""The store contract on PostgreSQL, the production backend (one database a session)."""

from __future__ import annotations

import pytest

from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.contract.store_contract import StoreContract
from tests.support import T0, ingest_record
from tests.support.postgres import OUTSIDE_KEYS, create_schema

pytestmark = pytest.mark.integration


class TestPostgresStore(StoreContract):
    @pytest.fixture(autouse=True)
    def _database(self, pg_env: dict[str, str]) -> None:
        self.pg_env = pg_env

    def make_settings(self) -> Settings:
        # Tests share the session's database; each names its own items and subjects.
        return Settings.from_env(
            {
                "LETHE_STORE": "postgres",
                **OUTSIDE_KEYS,
                "LETHE_POSTGRES_HOST": self.pg_env["POSTGRES_HOST"],
                "LETHE_POSTGRES_PORT": self.pg_env["POSTGRES_PORT"],
                "LETHE_POSTGRES_USER": self.pg_env["POSTGRES_USER"],
                "LETHE_POSTGRES_DBNAME": self.pg_env["POSTGRES_DBNAME"],
            }
        )


def schema_settings(pg_env: dict[str, str]) -> Settings:
    env = create_schema(pg_env)
    return Settings.from_env(
        {
            "LETHE_STORE": "postgres",
            **OUTSIDE_KEYS,
            "LETHE_POSTGRES_DBNAME": env["POSTGRES_DBNAME"],
            "LETHE_POSTGRES_SCHEMA": env["POSTGRES_SCHEMA"],
        }
    )


def test_two_schemas_in_one_database_share_nothing(pg_env: dict[str, str]) -> None:
    first = build_runtime(schema_settings(pg_env))
    second = build_runtime(schema_settings(pg_env))
    try:
        first.app.ingest(
            [ingest_record("img-in-first", "verification-image", "c-1")], T0
        )
        first.catch_up()
        assert first.views.query(SCHEDULED, ("img-in-first",)) == [(1,)]
        second.catch_up()
        assert second.views.query(SCHEDULED, ("img-in-first",)) == [(0,)]
        assert second.app.find_item("img-in-first") is None
        assert second.views.query(KEY_TABLES, (second.settings.postgres_schema,)) == [
            (5,)
        ]
    finally:
        first.app.close()
        second.app.close()


SCHEDULED = "SELECT count(*) FROM lethe_schedule WHERE item_ref = ?"
KEY_TABLES = (
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = ?"
    " AND table_name IN ('lethe_schedule', 'lethe_subjects', 'lethe_requests',"
    " 'lethe_wrapped_keys', 'lethe_key_state')"
)
