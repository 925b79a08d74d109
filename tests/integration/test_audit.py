"""The audit: timelines, verification and reports over a real history, on both stores."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from lethe.domain.application import IngestRecord
from lethe.domain.item import ErasureCause, Outcome
from lethe.ops.bootstrap import Runtime, build_runtime
from lethe.ops.cli import main
from lethe.ops.settings import Settings
from lethe.projections.audit_verify import VerifyLimits, VerifyResult, verify

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ALICE, BOB, CAROL = "cust-ALICE-19850312", "cust-BOB-19900101", "cust-CAROL-1977"
SUBJECTS = (ALICE, BOB, CAROL)
CONTROLLER = "sector-alarm"
KEY_HEX = "11" * 32
PG = "host=127.0.0.1 port=5432 user=postgres"


@pytest.fixture(scope="module")
def pg_dbname() -> Iterator[str]:
    name = f"lethe_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield name
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@dataclass
class Store:
    env: dict[str, str]
    runtime: Runtime
    events_table: str

    def verify(self, now: datetime, **kwargs: datetime) -> VerifyResult:
        s = self.runtime.settings
        limits = VerifyLimits(now, timedelta(seconds=s.sweep_interval_s),
                              timedelta(seconds=s.confirm_timeout_s), **kwargs)
        return verify(self.runtime.app, limits, page_size=7)  # small pages: cross them

    def cli(self, *args: str) -> tuple[int, str]:
        result = CliRunner(env=self.env).invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    def all_event_bytes(self) -> bytes:
        rows = self.runtime.views.query(f"SELECT topic, state FROM {self.events_table}")
        return b"\n".join(topic.encode() + b" " + bytes(state) for topic, state in rows)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    env = {"LETHE_PSEUDONYM_KEY": KEY_HEX, "LETHE_SWEEP_INTERVAL_S": "60",
           "LETHE_CONFIRM_TIMEOUT_S": "3600"}
    if request.param == "sqlite":
        env |= {"LETHE_STORE": "sqlite", "LETHE_SQLITE_PATH": str(tmp_path / "lethe.db")}
        table = "stored_events"
    else:
        dbname = request.getfixturevalue("pg_dbname")
        schema = f"s{uuid.uuid4().hex[:10]}"  # a fresh schema per test
        with psycopg.connect(f"{PG} dbname={dbname}", autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        env |= {"LETHE_STORE": "postgres", "LETHE_POSTGRES_DBNAME": dbname,
                "LETHE_POSTGRES_SCHEMA": schema}
        table = f"{schema}.lethe_events"
    runtime = build_runtime(Settings.from_env(env))
    yield Store(env, runtime, table)
    runtime.app.close()


def record(ref: str, subject: str, category: str, captured: datetime,
           blob: str | None = None, offset: int = 0) -> IngestRecord:
    kind = "image" if blob else "event"
    return IngestRecord(
        item_ref=ref, kind=kind, source_topic=f"alarm.{kind}s.v1", source_partition=0,
        source_offset=offset, controller=CONTROLLER, category=category, subject_id=subject,
        captured_at=captured, blob_uri=blob, sha256="ab" * 32 if blob else None,
        content=f"{ref}/{subject}".encode())


def build_history(s: Store) -> None:
    """A clean month: images swept and confirmed, a held image, a subject erased."""
    app, rt = s.runtime.app, s.runtime
    captured = T0 - timedelta(hours=1)
    records = [
        record("img-1", ALICE, "verification-image", captured, "s3://vault/7f3a", 1),
        record("img-2", ALICE, "verification-image", captured, "s3://vault/8e41", 2),
        record("arm-1", ALICE, "arming-log", captured, offset=3),
        record("arm-2", BOB, "arming-log", captured, offset=4),
        record("img-3", BOB, "verification-image", captured, "s3://vault/91c0", 5),
        record("rec-1", BOB, "alarm-call-recording", captured, "s3://vault/a2d2", 6),
    ]
    app.ingest(records, at=T0)
    rt.catch_up()
    app.place_hold("img-2", "POL-2026-17", "police case", "staff-7", T0 + DAY)
    app.request_subject_erasure(CONTROLLER, BOB, "TCK-1", "customer asked", "staff-3",
                                "TCK-1", T0 + 2 * DAY)
    rt.catch_up()  # orders Bob's items (SUBJECT_ERASURE), keeps the recording
    for ref in ("arm-2", "img-3"):
        confirm(s, ref, T0 + 2 * DAY + timedelta(hours=1))
    rt.catch_up()
    sweep_and_confirm(s, captured + 7 * DAY + timedelta(seconds=30))  # img-1
    app.release_hold("img-2", "POL-2026-17", "staff-7", T0 + 20 * DAY)
    rt.catch_up()
    sweep_and_confirm(s, T0 + 20 * DAY + timedelta(seconds=30))  # img-2


def confirm(s: Store, ref: str, at: datetime) -> None:
    item = s.runtime.app.get_item(ref)
    assert item.order is not None
    s.runtime.app.confirm_erasure(ref, item.order["order_id"], "blobstore", Outcome.DELETED,
                                  None, at)


def sweep_and_confirm(s: Store, at: datetime) -> None:
    due = s.runtime.sweeper.due_items(at)
    assert s.runtime.sweeper.sweep(at).ordered == len(due) > 0
    for ref in due:
        confirm(s, ref, at + timedelta(minutes=5))
    s.runtime.catch_up()


def test_a_clean_history_passes_verification(store: Store) -> None:
    build_history(store)
    result = store.verify(T0 + 21 * DAY)
    assert result.ok, result.violations
    assert result.items == 6
    code, out = store.cli("audit", "verify", "--now", (T0 + 21 * DAY).isoformat())
    assert code == 0 and "all invariants hold" in out
