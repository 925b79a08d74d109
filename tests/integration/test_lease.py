"""Only one `lethe run` per store follows the log; another takes over when it goes."""

from __future__ import annotations

import pytest

from lethe.ops.runtime.lease import AlwaysHeld, PostgresLease, lease_for
from lethe.ops.settings import Settings

pytestmark = pytest.mark.integration


def _settings(pg_env: dict[str, str], schema: str = "") -> Settings:
    return Settings.from_env(
        {
            "LETHE_STORE": "postgres",
            "LETHE_POSTGRES_DBNAME": pg_env["POSTGRES_DBNAME"],
            "LETHE_POSTGRES_SCHEMA": schema,
            "LETHE_PSEUDONYM_KEY": "22" * 32,
            "LETHE_KEK": "33" * 32,
        }
    )


def test_one_holder_at_a_time_and_a_successor_when_it_goes(
    pg_env: dict[str, str],
) -> None:
    first, second = PostgresLease(_settings(pg_env)), PostgresLease(_settings(pg_env))
    try:
        assert first.held() is True
        assert second.held() is False
        assert first.held() is True  # holding is stable across ticks
        first.release()  # as when the holder stops or is killed: its session ends
        assert second.held() is True
        assert first.held() is False
    finally:
        first.release()
        second.release()


def test_stores_in_different_schemas_have_separate_leases(
    pg_env: dict[str, str],
) -> None:
    a = PostgresLease(_settings(pg_env, "cell_a"))
    b = PostgresLease(_settings(pg_env, "cell_b"))
    try:
        assert a.held() and b.held()
    finally:
        a.release()
        b.release()


def test_the_embedded_store_needs_no_lease() -> None:
    assert isinstance(lease_for(Settings.from_env({})), AlwaysHeld)
