"""The settings issue 11 added: read from LETHE_*, refused in one line when wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lethe.ops.settings import Settings, SettingsError


def test_the_earliest_plausible_instant_defaults_to_2000_and_takes_a_date() -> None:
    assert Settings.from_env({}).earliest_instant == datetime(2000, 1, 1, tzinfo=UTC)
    given = Settings.from_env({"LETHE_EARLIEST_INSTANT": "2015-06-01"})
    assert given.earliest_instant == datetime(2015, 6, 1, tzinfo=UTC)


def test_a_malformed_earliest_instant_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="LETHE_EARLIEST_INSTANT='soon'"):
        Settings.from_env({"LETHE_EARLIEST_INSTANT": "soon"})


@pytest.mark.parametrize(
    ("raw", "allowed"), [("", False), ("true", True), ("0", False)]
)
def test_consuming_uncompacted_item_topics_is_off_unless_said(
    raw: str, allowed: bool
) -> None:
    env = {"LETHE_ALLOW_UNCOMPACTED_ITEM_TOPICS": raw}
    assert Settings.from_env(env).allow_uncompacted_item_topics is allowed


def test_a_word_that_is_not_a_boolean_is_refused() -> None:
    with pytest.raises(SettingsError, match="is not true or false"):
        Settings.from_env({"LETHE_ALLOW_UNCOMPACTED_ITEM_TOPICS": "maybe"})


def test_the_postgres_timeouts_reach_the_store() -> None:
    env = {
        "LETHE_STORE": "postgres",
        "LETHE_POSTGRES_LOCK_TIMEOUT_S": "7",
        "LETHE_POSTGRES_STATEMENT_TIMEOUT_S": "90",
        "LETHE_POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_S": "20",
    }
    store = Settings.from_env(env).eventsourcing_env()
    assert store["POSTGRES_LOCK_TIMEOUT"] == "7"
    assert store["POSTGRES_STATEMENT_TIMEOUT"] == "90"
    assert store["POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT"] == "20"
