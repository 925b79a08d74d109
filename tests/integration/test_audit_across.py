"""Issue 11, part 8: `lethe audit verify` names each cross-stream violation
seeded into a history, and not a withheld order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from lethe.consumers.codec import Catalogue
from lethe.domain.item import ErasureCause, Item, Outcome
from lethe.ops.cli.main import main
from lethe.ops.kafka.relay import Relay
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.runtime.verify_parallel import verify_store
from lethe.ops.settings import Settings
from lethe.projections.audit_verify import VerifyLimits
from tests.support import ingest_record
from tests.unit.test_relay import TakingProducer

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CONTROLLER = "sector-alarm"
NOW = T0 + 40 * DAY


@pytest.fixture(params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    base = {
        "LETHE_PSEUDONYM_KEY": "22" * 32,
        "LETHE_KEK": "33" * 32,
        "LETHE_SWEEP_INTERVAL_S": "60",
    }
    if request.param == "sqlite":
        yield base | {
            "LETHE_STORE": "sqlite",
            "LETHE_SQLITE_PATH": str(tmp_path / "l.db"),
        }
        return
    pg = request.getfixturevalue("pg_schema_env")
    yield base | {
        "LETHE_STORE": "postgres",
        "LETHE_POSTGRES_DBNAME": pg["POSTGRES_DBNAME"],
        "LETHE_POSTGRES_HOST": pg["POSTGRES_HOST"],
        "LETHE_POSTGRES_PORT": pg["POSTGRES_PORT"],
        "LETHE_POSTGRES_USER": pg["POSTGRES_USER"],
        "LETHE_POSTGRES_SCHEMA": pg.get("POSTGRES_SCHEMA", ""),
    }


def bypass_order(rt: Runtime, ref: str, cause: ErasureCause, at: datetime) -> Item:
    """Order through the private event method: the domain's refusals never run."""
    item = rt.app.get_item(ref)
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
    rt.app.save(item)
    return item


def seed(rt: Runtime) -> dict[str, str]:
    app = rt.app
    old = T0 - 400 * DAY  # past every image's retention
    refs = ["x-held", "x-restricted", "x-resumed", "x-own", "x-withheld"]
    subjects = ["s-held", "s-restricted", "s-resumed", "s-own", "s-withheld"]
    records = [
        ingest_record(r, "verification-image", s, old)
        for r, s in zip(refs, subjects, strict=True)
    ]
    records[2] = replace(records[2], captured_at=T0 + 3 * DAY)  # after the resume
    app.ingest(records[:2] + records[3:], T0)
    rt.catch_up()
    # Orders that left while the subject was held (restricted), then erased by
    # the store before the relay ran: too late to withhold them.
    app.place_subject_hold(CONTROLLER, "s-held", "POL-1", "police", "o", T0 + DAY)
    item = bypass_order(rt, "x-held", ErasureCause.RETENTION_EXPIRED, T0 + 2 * DAY)
    app.confirm_erasure(
        "x-held", "bad-x-held", "media", Outcome.DELETED, None, T0 + 3 * DAY
    )
    # An order that left while the subject was restricted.
    app.restrict_subject(CONTROLLER, "s-restricted", "T-1", "art 18", "k", T0 + DAY)
    bypass_order(rt, "x-restricted", ErasureCause.RETENTION_EXPIRED, T0 + 2 * DAY)
    app.confirm_erasure(
        "x-restricted", "bad-x-restricted", "media", Outcome.DELETED, None, T0 + 3 * DAY
    )
    # A release dated before its hold.
    app.place_subject_hold(CONTROLLER, "s-own", "POL-2", "police", "o", T0 + 5 * DAY)
    # (The domain now refuses it: the private event method bypasses that, as an
    # old history or a bug would.)
    subject = app.get_subject(CONTROLLER, "s-own")
    subject._hold_released(case_ref="POL-2", by="o", at=T0 + 4 * DAY)
    app.save(subject)
    # A request, a resumed relationship, and an item captured after it erased.
    app.request_subject_erasure(
        CONTROLLER, "s-resumed", "cmd-1", "asked", "kari", None, T0 + DAY
    )
    app.resume_relationship(CONTROLLER, "s-resumed", T0 + 2 * DAY, T0 + 2 * DAY)
    app.ingest([records[2]], T0 + 4 * DAY)
    bypass_order(rt, "x-resumed", ErasureCause.SUBJECT_ERASURE, T0 + 5 * DAY)
    # Withheld by the relay: never left, so not a violation.
    app.place_subject_hold(CONTROLLER, "s-withheld", "POL-3", "police", "o", T0 + DAY)
    bypass_order(rt, "x-withheld", ErasureCause.RETENTION_EXPIRED, T0 + 2 * DAY)
    relay = Relay(app, TakingProducer(), Catalogue.shipped(), clock=lambda: NOW)
    relay.relay_pending()
    rt.catch_up()  # the withheld item takes its subject's hold
    assert item.item_ref == "x-held"
    return {
        "ORDERED_WHILE_SUBJECT_HELD": "x-held",
        "ERASED_WHILE_HELD": "x-held",
        "ORDERED_WHILE_SUBJECT_RESTRICTED": "x-restricted",
        "ERASED_WHILE_RESTRICTED": "x-restricted",
        "RELEASE_BEFORE_HOLD": "subject POL-2",
        "ERASED_AFTER_RESUME": "x-resumed",
    }


ACROSS = {
    "ORDERED_WHILE_SUBJECT_HELD",
    "ORDERED_WHILE_SUBJECT_RESTRICTED",
    "ERASED_WHILE_HELD",
    "ERASED_WHILE_RESTRICTED",
    "RELEASE_BEFORE_HOLD",
    "ERASED_AFTER_RESUME",
}


def test_verify_names_each_cross_stream_violation(env: dict[str, str]) -> None:
    settings = Settings.from_env(env)
    rt = build_runtime(settings)
    try:
        expected = seed(rt)
    finally:
        rt.app.close()
    limits = VerifyLimits(NOW, timedelta(seconds=60), timedelta(hours=1))
    workers = [1, 2] if settings.store == "postgres" else [1]
    for n in workers:
        result = verify_store(settings, limits, n)
        found = {(v.name, v.item) for v in result.violations if v.name in ACROSS}
        assert found == set(expected.items()), n
        # Withheld: the order never left (its ORDERED_LATE is the seeding's).
        named = {v.name for v in result.violations if v.item == "x-withheld"}
        assert named == {"ORDERED_LATE"}, named
    out = CliRunner(env=env).invoke(
        main, ["audit", "verify", "--now", NOW.isoformat()], catch_exceptions=False
    )
    assert out.exit_code == 1
    for name, item in expected.items():
        assert name in out.output and item in out.output
