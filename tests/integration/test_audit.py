"""The audit: timelines, verification and reports over a real history, both stores."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from eventsourcing.utils import get_topic

from lethe.domain import identity
from lethe.domain.application import IngestRecord
from lethe.domain.item import ErasureCause, Outcome
from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.runtime.verify_parallel import verify_store
from lethe.ops.settings import Settings
from lethe.projections.audit_across import DATES, verify_across
from lethe.projections.audit_replay import (
    RELEVANT,
    Part,
    replay_dated,
    replay_positioned,
)
from lethe.projections.audit_verify import (
    SWEEP_GAP,
    VerifyLimits,
    VerifyResult,
    Violation,
    merge,
    verify,
)
from lethe.projections.decode import fast_decoder
from lethe.projections.sweeper import Sweeper
from tests.support import ingest_record as support_record

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ALICE, BOB, CAROL = "cust-ALICE-19850312", "cust-BOB-19900101", "cust-CAROL-1977"
DAVE = "cust-DAVE-2001"
SUBJECTS = (ALICE, BOB, CAROL, DAVE)
CONTROLLER = "sector-alarm"
KEY_HEX = "11" * 32
PG = "host=127.0.0.1 port=5432 user=postgres"


@pytest.fixture
def pg_dbname() -> Iterator[str]:
    # A database per test, not a schema: Lethe's view tables are not schema-qualified.
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

    def limits(self, now: datetime, **kwargs: datetime) -> VerifyLimits:
        s = self.runtime.settings
        return VerifyLimits(
            now,
            timedelta(seconds=s.sweep_interval_s),
            timedelta(seconds=s.confirm_timeout_s),
            **kwargs,
        )

    def verify(self, now: datetime, **kwargs: datetime) -> VerifyResult:
        limits = self.limits(now, **kwargs)
        app = self.runtime.app
        parts = [
            verify(app, limits, page_size=7),  # small pages: cross them
            verify_across(app, limits, page_size=7),  # as `audit verify` does
        ]
        return merge(parts, limits.keep)

    def cli(self, *args: str) -> tuple[int, str]:
        result = CliRunner(env=self.env).invoke(
            main, list(args), catch_exceptions=False
        )
        return result.exit_code, result.output

    def all_event_bytes(self) -> bytes:
        rows = self.runtime.views.query(f"SELECT topic, state FROM {self.events_table}")
        return b"\n".join(topic.encode() + b" " + bytes(state) for topic, state in rows)


BASE_ENV = {
    "LETHE_PSEUDONYM_KEY": KEY_HEX,
    "LETHE_KEK": "33" * 32,  # PostgreSQL wants both from outside the DB
    "LETHE_SWEEP_INTERVAL_S": "60",
    "LETHE_CONFIRM_TIMEOUT_S": "3600",
}


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    env = dict(BASE_ENV)
    if request.param == "sqlite":
        env |= {
            "LETHE_STORE": "sqlite",
            "LETHE_SQLITE_PATH": str(tmp_path / "lethe.db"),
        }
        table = "stored_events"
    else:
        dbname = request.getfixturevalue("pg_dbname")
        env |= {"LETHE_STORE": "postgres", "LETHE_POSTGRES_DBNAME": dbname}
        table = "lethe_events"
    runtime = build_runtime(Settings.from_env(env))
    yield Store(env, runtime, table)
    runtime.app.close()


def record(
    ref: str,
    subject: str,
    category: str,
    captured: datetime,
    blob: str | None = None,
    offset: int = 0,
) -> IngestRecord:
    kind = "image" if blob else "event"
    return IngestRecord(
        item_ref=ref,
        kind=kind,
        source_topic=f"alarm.{kind}s.v1",
        source_partition=0,
        source_offset=offset,
        controller=CONTROLLER,
        category=category,
        subject_id=subject,
        captured_at=captured,
        blob_uri=blob,
        sha256="ab" * 32 if blob else None,
        content=f"{ref}/{subject}".encode(),
    )


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
    app.record_contact(
        CONTROLLER, ALICE, T0, T0
    )  # Alice is a registered (sealed) subject
    rt.catch_up()
    app.place_hold("img-2", "POL-2026-17", "police case", "staff-7", T0 + DAY)
    app.request_subject_erasure(
        CONTROLLER, BOB, "TCK-1", "customer asked", "staff-3", "TCK-1", T0 + 2 * DAY
    )
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
    s.runtime.app.confirm_erasure(
        ref, item.order["order_id"], "blobstore", Outcome.DELETED, None, at
    )


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


def corrupt(s: Store) -> dict[str, str]:
    """Append, through a test-only path, one event history per forbidden case."""
    app, at = s.runtime.app, T0 + 21 * DAY
    arm, img = "arming-log", "verification-image"
    app.ingest(
        [
            record("c-held", ALICE, arm, at),
            record("c-restricted", ALICE, arm, at),
            record("c-early", ALICE, arm, at),
            record("c-erased", ALICE, arm, at),
            record("c-late", ALICE, img, T0 + 10 * DAY, "s3://vault/c1"),
            record("c-overdue", ALICE, img, at, "s3://vault/c2"),
            record("c-unconfirmed", ALICE, img, at, "s3://vault/c3"),
            record("c-held-ok", ALICE, img, at, "s3://vault/c4"),
        ],
        at=at,
    )
    s.runtime.catch_up()
    # A sweeper with a seeded fault passes over two free items: ORDERED_LATE for
    # the one ordered later, OVERDUE_WITHOUT_ORDER for the one never ordered.
    faulty = SkippingSweeper(s.runtime, skip={"c-late", "c-overdue"})
    faulty.sweep(at + timedelta(minutes=1))  # c-late is free (due T0 + 17 days)
    app.place_hold("c-held", "POL-9", "police", "staff-1", at)
    app.restrict("c-restricted", "ART18-1", "disputed", "staff-1", at)
    app.place_hold("c-held-ok", "POL-10", "police", "staff-1", at)  # overdue, but held
    bypass_order("c-held", ErasureCause.SUBJECT_ERASURE, at + DAY)
    bypass_order("c-restricted", ErasureCause.SUBJECT_ERASURE, at + DAY)
    bypass_order("c-early", ErasureCause.RETENTION_EXPIRED, at + DAY)
    app.order_erasure("c-late", ErasureCause.RETENTION_EXPIRED, T0 + 30 * DAY)
    app.order_erasure("c-unconfirmed", ErasureCause.RETENTION_EXPIRED, at + 7 * DAY)
    s.runtime.catch_up()
    faulty.sweep(at + 7 * DAY + timedelta(minutes=1))  # c-overdue is free now
    # Free after the last sweep, and no sweep for days: SWEEP_MISSED, one gap.
    app.ingest([record("c-gap", ALICE, img, T0, "s3://vault/c5")], at=at + 8 * DAY)
    for ref in ("c-held", "c-restricted", "c-early", "c-late"):
        confirm(s, ref, T0 + 31 * DAY)
    erased = app.get_item("c-erased")
    erased._erased(
        order_id="no-order", store="blobstore", outcome="DELETED", at=at + DAY
    )
    app.save(erased)
    carol = app.subject_for(CONTROLLER, CAROL, T0 + DAY)
    carol.request_erasure(
        "req-carol",
        "asked",
        "staff-2",
        None,
        T0 + DAY,
        datetime(2026, 2, 11, 10, tzinfo=UTC),
    )
    carol.carry_out_erasure("req-carol", 0, 0, 0, at=T0 + 35 * DAY)  # answered late
    app.save(carol)
    s.runtime.catch_up()
    # Never answered: the subject process does not run again before `verify`.
    dave = app.request_subject_erasure(
        CONTROLLER, DAVE, "TCK-9", "asked", "staff-2", None, T0 + 3 * DAY
    )
    return {
        "ORDERED_WHILE_HELD": "c-held",
        # ...and then erased by the store while still held (audit_across.py).
        "ERASED_WHILE_HELD": "c-held",
        "ERASED_WHILE_RESTRICTED": "c-restricted",
        "ORDERED_WHILE_RESTRICTED": "c-restricted",
        "ORDERED_BEFORE_DUE": "c-early",
        "ORDERED_LATE": "c-late",
        "OVERDUE_WITHOUT_ORDER": "c-overdue",
        "ORDER_UNCONFIRMED": "c-unconfirmed",
        "ERASED_WITHOUT_ORDER": "c-erased",
        "REQUEST_ANSWERED_LATE": "req-carol",
        "REQUEST_UNANSWERED": dave,
        "SWEEP_MISSED": SWEEP_GAP,
    }


class SkippingSweeper(Sweeper):
    """A sweeper with a seeded fault: it passes over the items named."""

    def __init__(self, runtime: Runtime, skip: set[str]) -> None:
        super().__init__(runtime.app, runtime.views)
        self.skip = skip

    def _try_order(self, history: list[Any], now: datetime) -> Any:
        # The sweeper orders from the item's history; its first event is the arrival.
        if history[0].item_ref in self.skip:
            return None
        return super()._try_order(history, now)


def bypass_order(ref: str, cause: ErasureCause, at: datetime) -> None:
    """Order through the private event method: the domain's refusals never run."""
    app = _current_app
    item = app.get_item(ref)
    item._erasure_ordered(
        order_id=f"bad-{ref}",
        cause=cause.value,
        rule=item.rule,
        policy=item.policy,
        due_at=item.due_at,
        item_ref=item.item_ref,
        source_topic=item.source.topic,
        source_partition=item.source.partition,
        category=item.category,
        blob_uri=item.blob_uri,
        sha256=item.sha256,
        at=at,
        subject_ref=item.subject_ref,
    )
    app.save(item)


_current_app = None


@pytest.fixture
def corrupted(store: Store) -> tuple[Store, dict[str, str]]:
    return store, build_corrupted(store)


def build_corrupted(store: Store) -> dict[str, str]:
    global _current_app
    build_history(store)
    _current_app = store.runtime.app
    return corrupt(store)


def test_verify_catches_each_forbidden_history_by_name(
    corrupted: tuple[Store, dict[str, str]],
) -> None:
    s, expected = corrupted
    result = s.verify(T0 + 40 * DAY)
    assert {(v.name, v.item) for v in result.violations} == set(expected.items())
    code, out = s.cli("audit", "verify", "--now", (T0 + 40 * DAY).isoformat())
    assert code == 1
    for name, item in expected.items():
        assert name in out and item in out


def test_verify_reports_only_the_window_asked_for(
    corrupted: tuple[Store, dict[str, str]],
) -> None:
    s, _ = corrupted
    since = T0 + 30 * DAY
    everything = s.verify(T0 + 40 * DAY)
    window = s.verify(T0 + 40 * DAY, since=since)
    assert 0 < len(window.violations) < len(everything.violations)
    assert all(v.instant >= since for v in window.violations)
    code, out = s.cli(
        "audit",
        "verify",
        "--json",
        "--since",
        since.isoformat(),
        "--now",
        (T0 + 40 * DAY).isoformat(),
    )
    assert code == 1 and json.loads(out)["counts"] == dict(window.counts)


def test_item_timeline_tells_where_from_which_rule_who_held_and_how_it_went(
    store: Store,
) -> None:
    build_history(store)
    code, out = store.cli("audit", "item", "img-2", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["ingested"] == {
        "at": "2026-01-10T10:00:00Z",
        "captured_at": "2026-01-10T09:00:00Z",
        "topic": "alarm.images.v1",
        "partition": 0,
        "offset": 2,
    }
    assert doc["scheduled"][0]["due_at"] == "2026-01-17T09:00:00Z"
    assert doc["scheduled"][-1]["due_at"] == "2026-01-30T10:00:00Z"  # max(due, release)
    assert doc["holds"] == [
        {
            "case_ref": "POL-2026-17",
            "reason": "police case",
            "placed_by": "staff-7",
            "placed_at": "2026-01-11T10:00:00Z",
            "released_by": "staff-7",
            "released_at": "2026-01-30T10:00:00Z",
        }
    ]
    assert doc["erasure"]["ordered"]["cause"] == "RETENTION_EXPIRED"
    assert doc["erasure"]["confirmations"][0]["store"] == "blobstore"
    assert doc["erasure"]["confirmations"][0]["outcome"] == "DELETED"
    code, out = store.cli("audit", "item", "img-2")
    assert code == 0 and "HoldPlaced" in out and "POL-2026-17" in out


def test_subject_timeline_of_an_erased_subject_prints_without_the_person(
    store: Store,
) -> None:
    build_history(store)
    code, out = store.cli("audit", "subject", BOB, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["subject"] == "erased (key destroyed)"
    assert {i["item"] for i in doc["items"]} == {"arm-2", "img-3", "rec-1"}
    assert doc["requests"][0]["carried_out_at"] is not None
    assert BOB not in out
    code, out = store.cli("audit", "subject", BOB)
    assert code == 0 and "erased (key destroyed)" in out and BOB not in out
    assert "KeptForLegalObligation" in out and "ErasureCarriedOut" in out
    code, out = store.cli("audit", "subject", ALICE)
    assert code == 0 and f"subject   {ALICE}" in out  # unsealed: the key lives


def test_unknown_item_or_subject_is_one_line_not_known_error(store: Store) -> None:
    # Exit 3, not 2: nothing by that id, which is not the same as a refusal.
    runner = CliRunner(env=store.env)
    item = runner.invoke(main, ["audit", "item", "nope"])
    assert (item.exit_code, item.output) == (
        3,
        "lethe: no item 'nope' is known to Lethe\n",
    )
    subject = runner.invoke(main, ["audit", "subject", "never-seen"])
    assert subject.exit_code == 3
    assert subject.output == (
        "lethe: no subject with that id is known to Lethe for controller"
        " 'sector-alarm' (no items, no records); check the id and controller\n"
    )


def test_event_store_holds_no_subject_identifier_in_clear(
    corrupted: tuple[Store, dict[str, str]],
) -> None:
    s, _ = corrupted
    everything = s.all_event_bytes()
    assert len(everything) > 1000
    for subject in SUBJECTS:
        assert subject.encode() not in everything
    assert b"/cust-" not in everything  # nor the ingested record bodies


def test_fast_replay_decodes_every_event_as_the_mapper_does(
    corrupted: tuple[Store, dict[str, str]],
) -> None:
    s, _ = corrupted
    app = s.runtime.app
    wanted = {get_topic(cls): cls for cls in RELEVANT}
    fast = fast_decoder(app, wanted)
    notifications = app.process_recorder.select_notifications(1, 10_000)
    relevant = [n for n in notifications if n.topic in wanted]
    assert len(relevant) > 40
    for n in relevant:
        assert fast(n).__dict__ == app.mapper.to_domain_event(n).__dict__
        assert type(fast(n)) is type(app.mapper.to_domain_event(n))


def test_the_verifications_replay_revives_the_datetimes_its_checks_read(
    corrupted: tuple[Store, dict[str, str]],
) -> None:
    s, _ = corrupted
    app = s.runtime.app
    full = dict(replay_positioned(app, 7, classes=tuple(DATES)))
    dated = list(replay_dated(app, DATES, page_size=7))
    assert len(dated) == len(full) > 40
    for position, event in dated:
        expected = full[position]
        assert type(event) is type(expected)
        names = DATES[type(event)]
        for name, value in vars(expected).items():
            # Bytes too stay as stored unless named (a subject's seal: unread).
            if name in names or not isinstance(value, datetime | bytes):
                assert getattr(event, name) == value, name  # as the mapper has it


def test_html_report_figures_match_the_history_and_name_no_one(
    store: Store,
    tmp_path: Path,
) -> None:
    build_history(store)
    out = tmp_path / "report.html"
    code, _ = store.cli(
        "audit",
        "report",
        "--month",
        "2026-01",
        "--format",
        "html",
        "--now",
        "2026-02-05T00:00:00Z",
        "-o",
        str(out),
    )
    assert code == 0
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "Items erased: 4</h2>" in html
    for row in (
        ("verification-image", "retention period ended", 2),
        ("verification-image", "the subject asked to be erased", 1),
        ("arming-log", "the subject asked to be erased", 1),
    ):
        assert (
            '<tr><td>{}</td><td>{}</td><td class="n">{}</td></tr>'.format(*row) in html
        )
    # img-1 was confirmed 5 min 30 s after it fell due; img-2, held past its due
    # time, 13 days after (the hold's delay counts: from the rule's due time).
    assert "due → confirmed: items 2 / p50 5.5 min / p95 13.0 d / max 13.0 d" in html
    assert "RETENTION_EXPIRED" not in html  # readable labels, not enum names
    assert "<h3>Released during the month</h3>" in html
    assert "2026-01-12 11:00:00 +01:00" in html  # Bob's request, in Oslo time
    app = store.runtime.app
    for subject in SUBJECTS:
        assert subject not in html and app.subject_ref(CONTROLLER, subject) not in html
    assert "s3://" not in html and "vault/" not in html


def test_json_report_lists_what_is_overdue_at_month_end(
    corrupted: tuple[Store, dict[str, str]],
) -> None:
    s, expected = corrupted
    code, out = s.cli(
        "audit", "report", "--month", "2026-02", "--now", (T0 + 40 * DAY).isoformat()
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["open_at_month_end"] == {
        "ORDER_UNCONFIRMED": 1,
        "OVERDUE_WITHOUT_ORDER": 1,
        "REQUEST_UNANSWERED": 1,
    }
    assert [o["item"] for o in doc["overdue_items"]] == ["c-overdue"]
    assert doc["requests"]["answered_late"] == 0  # Carol's request was made in January
    assert {(r["category"], r["cause"]) for r in doc["erased"]} == {
        ("arming-log", "RETENTION_EXPIRED"),
        ("arming-log", "SUBJECT_ERASURE"),
        ("verification-image", "RETENTION_EXPIRED"),
        ("arming-log", "NO_ORDER"),
    }  # c-erased: the report shows it too


# -- verification in parts -----------------------------------------------------------


@pytest.fixture
def schema_store(pg_schema_env: dict[str, str]) -> Iterator[Store]:
    """A PostgreSQL store in a schema of its own: the workers must find it too."""
    env = BASE_ENV | {
        "LETHE_STORE": "postgres",
        "LETHE_POSTGRES_DBNAME": pg_schema_env["POSTGRES_DBNAME"],
        "LETHE_POSTGRES_SCHEMA": pg_schema_env["POSTGRES_SCHEMA"],
    }
    runtime = build_runtime(Settings.from_env(env))
    yield Store(env, runtime, "lethe_events")
    runtime.app.close()


def in_order(violations: list[Violation]) -> list[Violation]:
    return sorted(violations, key=lambda v: (v.instant, v.name, v.item))


def test_verify_in_worker_processes_finds_what_one_pass_finds(
    schema_store: Store,
) -> None:
    expected = build_corrupted(schema_store)
    limits = schema_store.limits(T0 + 40 * DAY)
    one_pass = schema_store.verify(T0 + 40 * DAY)  # the streams', and across them
    pages: list[int] = []
    settings = schema_store.runtime.settings
    parallel = verify_store(settings, limits, 3, page_size=7, progress=pages.append)
    assert {(v.name, v.item) for v in parallel.violations} == set(expected.items())
    assert (parallel.events, parallel.items) == (one_pass.events, one_pass.items)
    assert parallel.counts == one_pass.counts
    assert parallel.violations == in_order(one_pass.violations)
    # Every page of every part was reported, however the workers interleaved.
    app = schema_store.runtime.app
    assert sum(pages) == app.process_recorder.max_notification_id()


def test_parts_split_the_log_into_whole_streams(schema_store: Store) -> None:
    build_corrupted(schema_store)
    app, limits = schema_store.runtime.app, schema_store.limits(T0 + 40 * DAY)
    parts = [verify(app, limits, page_size=7, part=Part(k, 3)) for k in range(3)]
    assert all(part.events for part in parts)  # 15 streams: none is empty
    one_pass = verify(app, limits)
    assert merge(parts, limits.keep).counts == one_pass.counts
    assert sum(part.events for part in parts) == one_pass.events


def test_cli_verify_with_workers_prints_what_one_worker_prints(
    schema_store: Store,
) -> None:
    build_corrupted(schema_store)
    now = (T0 + 40 * DAY).isoformat()
    documents = []
    for workers in ("1", "2"):
        code, out = schema_store.cli(
            "audit", "verify", "--json", "--now", now, "--workers", workers
        )
        assert code == 1
        documents.append(json.loads(out))
    for document in documents:
        del document["seconds"], document["workers"]
    assert documents[0] == documents[1]


def test_sqlite_is_verified_in_one_process(tmp_path: Path) -> None:
    env = BASE_ENV | {
        "LETHE_STORE": "sqlite",
        "LETHE_SQLITE_PATH": str(tmp_path / "lethe.db"),
    }
    # A store that exists, though empty: audit verify never creates one.
    result = CliRunner(env=env).invoke(main, ["--create", "status"])
    assert result.exit_code == 1, result.output  # no lethe run ever ran on it
    assert "no lethe run has ever held the lease on this store" in result.output
    result = CliRunner(env=env).invoke(main, ["audit", "verify", "--workers", "2"])
    assert result.exit_code == 2 and "SQLite" in result.output
    result = CliRunner(env=env).invoke(main, ["audit", "verify", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["workers"] == 1


def violation(name: str, item: str, day: int) -> Violation:
    return Violation(name, item, "rule", T0 + day * DAY)


def test_merge_adds_counts_and_lists_by_instant_up_to_keep_per_name() -> None:
    first = VerifyResult(5, 2, [violation("A", "a1", 3), violation("A", "a2", 1)])
    first.counts.update(A=2)
    second = VerifyResult(7, 3, [violation("A", "a3", 2), violation("B", "b1", 4)])
    second.counts.update(A=5, B=1)  # more A than listed: its part kept only one
    merged = merge([first, second], keep=2)
    assert (merged.events, merged.items) == (12, 5)
    assert merged.counts == {"A": 7, "B": 1}
    assert [v.item for v in merged.violations] == ["a2", "a3", "b1"]


# -- the disposal report: marks a DPO needs ----------------------------------------


def test_a_report_of_a_month_not_yet_begun_is_refused(store: Store) -> None:
    code, out = store.cli(
        "audit", "report", "--month", "2026-03", "--now", "2026-02-27T12:00:00Z"
    )
    assert (code, out) == (
        2,
        "lethe: 2026-03 has not begun in Europe/Oslo; a disposal report is of a"
        " month that has (the current one is marked partial)\n",
    )


def test_a_report_says_when_it_was_made_and_whether_the_month_is_over(
    store: Store,
) -> None:
    now = "2026-02-27T12:00:00Z"
    current = json.loads(
        store.cli("audit", "report", "--month", "2026-02", "--now", now)[1]
    )
    past = json.loads(
        store.cli("audit", "report", "--month", "2026-01", "--now", now)[1]
    )
    assert (current["generated_at"], current["partial"]) == (
        "2026-02-27T12:00:00Z",
        True,
    )
    assert (past["generated_at"], past["partial"]) == ("2026-02-27T12:00:00Z", False)


def test_a_report_lists_each_request_with_its_id_and_ticket(
    corrupted: tuple[Store, dict[str, str]],
) -> None:
    s, _ = corrupted
    app = s.runtime.app
    code, out = s.cli(
        "audit", "report", "--month", "2026-01", "--now", (T0 + 40 * DAY).isoformat()
    )
    assert code == 0
    each = json.loads(out)["requests"]["each"]
    bob = identity.request_id(app.subject_ref(CONTROLLER, BOB), "TCK-1")
    dave = identity.request_id(app.subject_ref(CONTROLLER, DAVE), "TCK-9")
    tickets = {r["request_id"]: r["ticket"] for r in each}
    # The ticket ref is free text sealed under the subject's key (issue 13): a
    # report for many subjects says it is there, `audit subject` opens it.
    assert (tickets[bob], tickets[dave]) == ("(sealed)", None)
    assert "TCK-1" not in out


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_check_passes_on_the_report_and_fails_on_a_changed_byte(
    store: Store, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / f"report.{fmt}"
    made = CliRunner(env=store.env).invoke(
        main,
        ["audit", "report", "--month", "2026-01", "--format", fmt, "-o", str(path),
         "--now", "2026-02-27T12:00:00Z"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    raw = path.read_bytes()
    digest = re.search(rb"lethe-sha256:([0-9a-f]{64})", raw)
    assert digest is not None and digest.group(1) != b"0" * 64
    assert f"sha256 {digest.group(1).decode()}" in made.stderr
    assert store.cli("audit", "report", "--check", str(path)) == (
        0,
        f"{path}: unchanged (sha256 {digest.group(1).decode()})\n",
    )
    for at in (raw.index(b"2026-01"), digest.start(1), len(raw) - 2):
        changed = bytearray(raw)
        changed[at] = ord("9") if changed[at] != ord("9") else ord("8")
        path.write_bytes(bytes(changed))
        code, out = store.cli("audit", "report", "--check", str(path))
        assert code == 1 and "CHANGED since it was made" in out, at


def test_check_refuses_a_file_that_is_no_report(store: Store, tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    assert store.cli("audit", "report", "--check", str(other)) == (
        2,
        f"lethe: {other} is not a Lethe disposal report (it carries no digest)\n",
    )


def test_a_report_counts_deleted_and_not_found_apart_per_store_zeros_included(
    store: Store,
) -> None:
    rt = store.runtime
    images = [
        support_record(ref, "verification-image", "cust-R", T0, controller=CONTROLLER)
        for ref in ("r-1", "r-2")
    ]
    rt.app.ingest(images, T0)
    rt.catch_up()
    assert rt.sweeper.sweep(T0 + 7 * DAY + timedelta(seconds=30)).ordered == 2
    rt.catch_up()
    for ref, where, outcome in (
        ("r-1", "images", Outcome.DELETED),
        ("r-2", "backup", Outcome.NOT_FOUND),
    ):
        order = rt.app.get_item(ref).order
        assert order is not None
        rt.app.confirm_erasure(
            ref, order["order_id"], where, outcome, None, T0 + 8 * DAY
        )
    code, out = store.cli(
        "audit", "report", "--month", "2026-01", "--now", "2026-02-27T12:00:00Z"
    )
    doc = json.loads(out)
    assert doc["erased_by_store"] == [
        {"category": "verification-image", "store": "backup",
         "outcome": "NOT_FOUND", "items": 1},
        {"category": "verification-image", "store": "images",
         "outcome": "DELETED", "items": 1},
    ]  # fmt: skip
    by_category = {r["category"]: r for r in doc["erased_by_category"]}
    assert by_category["verification-image"] == {
        "category": "verification-image", "deleted": 1, "not_found": 1
    }  # fmt: skip
    assert by_category["invoice"] == {
        "category": "invoice",
        "deleted": 0,
        "not_found": 0,
    }
    shipped = {p.ref for p in rt.app.policies.values()}
    assert set(doc["policies"]) == shipped and len(shipped) == 3
