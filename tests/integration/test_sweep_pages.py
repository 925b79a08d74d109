"""The sweeper pages through due items and unconfirmed orders without missing
or repeating one, when many share an instant (ties at every page boundary).

Pages are ranges of (due_at, item_ref) and (ordered_at, item_ref) read with a
row comparison; ties on the instant are broken by the ref. Both stores: the
row comparison is SQL that PostgreSQL and SQLite must both read the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.settings import Settings
from lethe.projections.sweeper import Sweeper
from tests.support import ingest_record

pytestmark = pytest.mark.integration

CAPTURED = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)  # images: due 7 days later
NOW = CAPTURED + timedelta(days=8)
PAGE = 4
SEC = timedelta(seconds=1)
# 3 items captured at each of 7 instants: every page of 4 ends inside a tie.
REFS = [f"img-{t}-{k}" for t in range(7) for k in range(3)]


@pytest.fixture(params=["sqlite", "postgres"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    if request.param == "sqlite":
        env = {"LETHE_SQLITE_PATH": str(tmp_path / "lethe.db")}
    else:
        schema = request.getfixturevalue("pg_schema_env")
        env = {
            "LETHE_STORE": "postgres",
            "LETHE_POSTGRES_DBNAME": schema["POSTGRES_DBNAME"],
            "LETHE_POSTGRES_SCHEMA": schema["POSTGRES_SCHEMA"],
            "LETHE_PSEUDONYM_KEY": "22" * 32,
            "LETHE_KEK": "33" * 32,
        }
    runtime = build_runtime(Settings.from_env(env))
    yield runtime
    runtime.app.close()


def ingest_ties(rt: Runtime) -> None:
    records = [
        ingest_record(ref, "verification-image", "cust-1", CAPTURED + int(ref[4]) * SEC)
        for ref in REFS
    ]
    rt.app.ingest(records, CAPTURED)
    rt.catch_up()


def test_due_items_and_unconfirmed_orders_page_through_ties(runtime: Runtime) -> None:
    ingest_ties(runtime)
    sweeper = Sweeper(runtime.app, runtime.views, batch_size=PAGE, confirm_timeout_s=60)

    first = sweeper.sweep(NOW)
    runtime.catch_up()

    assert first.ordered == len(REFS)  # none missed, none refused as a repeat
    assert first.refused == 0
    assert all(runtime.app.get_item(ref).attempts == 1 for ref in REFS)
    # Every order was made at NOW: one tie of 21 across six pages. An hour
    # later all are past the confirm timeout and each is sent again once.
    again = sweeper.sweep(NOW + timedelta(hours=1))
    runtime.catch_up()

    assert again.ordered == 0
    assert again.reissued == len(REFS)
    assert again.refused == 0
    assert all(runtime.app.get_item(ref).attempts == 2 for ref in REFS)
