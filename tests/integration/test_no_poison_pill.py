"""One bad record never stops the service, and a stuck lock fails it loudly (PG)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner
from eventsourcing.persistence import OperationalError

from lethe.consumers.deadletter import REASON, REASON_CODE
from lethe.domain.application import Lethe
from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from lethe.projections.aside import set_aside
from lethe.projections.store import SqlViews
from tests.support import ingest_record
from tests.support.consuming import one_partition_fixtures
from tests.support.ingest import (
    SHA,
    Consuming,
    ingested,
    metadata,
    producer_for,
    read_topic,
)
from tests.support.postgres import connect

pytestmark = pytest.mark.integration

IMAGES, COMMANDS, DLQ = "alarm.images.v1", "lethe.commands.v1", "lethe.dlq.v1"
SUBJECT = "cust-poison-1"


env, consuming = one_partition_fixtures("poison")


def send_images(env: dict[str, str], *item_ids: str) -> None:
    with producer_for(env) as producer:
        for item_id in item_ids:
            producer.send_image(
                item_id,
                metadata(SUBJECT, "verification-image"),
                blob_uri="s3://arc-media/x.jpg",
                sha256=SHA,
                content_type="image/jpeg",
                size_bytes=1000,
            )


def reasons(env: dict[str, str], consuming: Consuming, at_least: int) -> list[str]:
    letters = read_topic(env["LETHE_KAFKA_BOOTSTRAP"], consuming.name(DLQ), at_least)
    return [dict(r.headers)[REASON].decode("utf-8") for r in letters]


def test_a_nul_in_an_item_id_is_a_dead_letter_and_the_next_image_is_taken(
    env: dict[str, str], consuming: Consuming
) -> None:
    send_images(env, "img\x00-1", "img-2")
    consuming.take_through(IMAGES, 1)

    assert reasons(env, consuming, 1) == [
        "item_id holds a control character (U+0000 at position 3); "
        "send printable text only"
    ]
    assert consuming.app.find_item("img-2") is not None
    # The schedule insert that once failed on every restart has nothing to
    # choke on.
    runtime = build_runtime(consuming.config.settings)
    runtime.catch_up()
    rows = runtime.views.query("SELECT item_ref FROM lethe_schedule")
    assert rows == [("img-2",)]


def test_a_long_hold_reason_on_a_fifty_item_subject_is_refused_and_the_next_hold_wins(
    env: dict[str, str], consuming: Consuming
) -> None:
    item_ids = [f"img-{n}" for n in range(50)]
    send_images(env, *item_ids)
    consuming.take_through(IMAGES, 49)
    now = datetime.now(UTC) - timedelta(seconds=1)
    with producer_for(env) as producer:
        for n, reason in enumerate(["x" * 800_000, "Police case 2026/77"]):
            producer.send_command(
                f"cmd-{n}",
                "PLACE_HOLD",
                "sector-alarm",
                reason=reason,
                requested_by="support-1",
                requested_at=now,
                subject_id=SUBJECT,
                case_ref=f"POL-{n}",
            )
    consuming.take_through(COMMANDS, 1)

    assert reasons(env, consuming, 1) == [
        "reason is 800000 characters long (at most 1000)"
    ]
    runtime = build_runtime(consuming.config.settings)
    runtime.catch_up()
    held = [runtime.app.get_item(i).holds for i in item_ids]
    assert [list(h) for h in held] == [["subject:POL-1"]] * 50


def test_a_lock_held_too_long_fails_the_consumer_loudly_and_a_restart_takes_the_record(
    env: dict[str, str], pg_schema_env: dict[str, str]
) -> None:
    env = {**env, "LETHE_POSTGRES_LOCK_TIMEOUT_S": "1"}
    send_images(env, "img-locked")
    first = Consuming(env)
    table = first.app.process_recorder.events_table_name  # type: ignore[attr-defined]
    blocker = psycopg.connect(
        host=pg_schema_env["POSTGRES_HOST"],
        port=pg_schema_env["POSTGRES_PORT"],
        dbname=pg_schema_env["POSTGRES_DBNAME"],
        user=pg_schema_env["POSTGRES_USER"],
    )
    try:
        schema = pg_schema_env["POSTGRES_SCHEMA"]
        # As a save stuck inside its transaction holds it:
        blocker.execute(f'LOCK TABLE "{schema}".{table} IN EXCLUSIVE MODE')
        with pytest.raises(OperationalError, match="lock timeout"):
            first.run_until(lambda: False, timeout=60)
    finally:
        blocker.rollback()
        blocker.close()
        first.close()
    again = Consuming(env)
    try:
        again.take_through(IMAGES, 0)
        assert again.app.find_item("img-locked") is not None
    finally:
        again.close()


def test_an_item_the_schedule_cannot_store_is_set_aside_and_shown_in_status(
    env: dict[str, str],
) -> None:
    # As an older Lethe, without the contract checks, took it into the store:
    runtime = build_runtime(Settings.from_env(env))
    now = datetime.now(UTC)
    captured = now - timedelta(minutes=5)
    records = [
        ingest_record("img\x00bad", "verification-image", SUBJECT, captured),
        ingest_record("img-good", "verification-image", SUBJECT, captured),
    ]
    runtime.app.ingest(records, now)

    runtime.catch_up()  # once failed here on every start
    rows = runtime.views.query("SELECT item_ref FROM lethe_schedule")
    assert rows == [("img-good",)]
    [aside_row] = set_aside(runtime.views)
    assert aside_row.source == "schedule"
    assert "Item.Ingested" in aside_row.reason and "NUL" in aside_row.reason

    # A later item is still scheduled, and status says what was set aside.
    later = ingest_record("img-later", "verification-image", SUBJECT, captured)
    runtime.app.ingest([later], now)
    runtime.catch_up()
    assert ("img-later",) in runtime.views.query("SELECT item_ref FROM lethe_schedule")
    status = CliRunner().invoke(main, ["status"], env=env)
    assert status.exit_code == 1, status.output  # needs attention
    assert "set aside" in status.output and "NUL" in status.output


def test_every_store_connection_has_the_statement_and_idle_timeouts(
    env: dict[str, str],
) -> None:
    timeouts = {
        "LETHE_POSTGRES_STATEMENT_TIMEOUT_S": "45",
        "LETHE_POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_S": "25",
    }
    runtime = build_runtime(Settings.from_env({**env, **timeouts}))
    assert runtime.views.query("SHOW statement_timeout") == [("45s",)]
    assert runtime.views.query("SHOW idle_in_transaction_session_timeout") == [("25s",)]


# -- a record that passes every check and is still refused on save ---------------

MARK = "refused-by-store"
REFUSED = (
    "the event store refused this record (DataError): "
    f"this store holds no event that names {MARK}"
)


def refuse_marked_events(pg_schema_env: dict[str, str], app: Lethe) -> None:
    """A rule on the store's side that no contract check can foresee (as an
    operator's trigger or CHECK, or a value PostgreSQL cannot hold): every
    event naming MARK is refused with a data exception, psycopg's DataError."""
    schema = pg_schema_env["POSTGRES_SCHEMA"]
    table = app.process_recorder.events_table_name  # type: ignore[attr-defined]
    with connect(pg_schema_env["POSTGRES_DBNAME"]) as conn:
        conn.execute(
            f'CREATE FUNCTION "{schema}".refuse_marked() RETURNS trigger'
            " LANGUAGE plpgsql AS $$ BEGIN"
            f" IF position(convert_to('{MARK}', 'UTF8') IN NEW.state) > 0 THEN"
            f"  RAISE EXCEPTION 'this store holds no event that names {MARK}'"
            "   USING ERRCODE = 'data_exception';"
            " END IF; RETURN NEW; END $$"
        )
        conn.execute(
            f'CREATE TRIGGER refuse_marked BEFORE INSERT ON "{schema}".{table}'
            f' FOR EACH ROW EXECUTE FUNCTION "{schema}".refuse_marked()'
        )


def test_an_image_the_store_refuses_is_set_aside_and_never_delivered_again(
    env: dict[str, str], pg_schema_env: dict[str, str]
) -> None:
    first = Consuming(env)
    try:
        refuse_marked_events(pg_schema_env, first.app)
        send_images(env, "img-before", f"img-{MARK}", "img-after")
        first.take_through(IMAGES, 2)  # once failed here for ever

        assert reasons(env, first, 1) == [REFUSED]
        found = [first.app.find_item(i) for i in ("img-before", "img-after")]
        assert None not in found
        assert first.app.find_item(f"img-{MARK}") is None
        assert ingested(first.app) == (2, 2)  # nothing taken twice
        [row] = set_aside(SqlViews(first.app.process_recorder))
        place = f"{first.name(IMAGES)}:0@1"
        assert (row.source, row.place, row.reason) == ("consumer", place, REFUSED)
    finally:
        first.close()
        first.app.close()

    # A restart resumes after it: no second dead letter, the next image taken.
    send_images(env, "img-later")
    again = Consuming(env)
    try:
        again.take_through(IMAGES, 3)
        assert again.app.find_item("img-later") is not None
        assert ingested(again.app) == (3, 3)
        letters = read_topic(env["LETHE_KAFKA_BOOTSTRAP"], again.name(DLQ), 1, settle=2)
        assert [dict(r.headers)[REASON].decode() for r in letters] == [REFUSED]
        assert [dict(r.headers)[REASON_CODE] for r in letters] == [b"STORE_REFUSED"]
    finally:
        again.close()
        again.app.close()

    status = CliRunner().invoke(main, ["status"], env=env)
    assert status.exit_code == 1, status.output  # needs attention
    assert "set aside" in status.output and "consumer" in status.output
    shown = json.loads(CliRunner().invoke(main, ["status", "--json"], env=env).output)
    [entry] = shown["set_aside"]
    assert (entry["source"], entry["reason"]) == ("consumer", REFUSED)


def test_a_command_the_store_refuses_is_set_aside_and_the_next_hold_is_placed(
    env: dict[str, str], pg_schema_env: dict[str, str], consuming: Consuming
) -> None:
    send_images(env, "img-1")
    consuming.take_through(IMAGES, 0)
    refuse_marked_events(pg_schema_env, consuming.app)
    now = datetime.now(UTC) - timedelta(seconds=1)
    with producer_for(env) as producer:
        for n, case_ref in enumerate([MARK, "POL-2"]):
            producer.send_command(
                f"cmd-{n}",
                "PLACE_HOLD",
                "sector-alarm",
                reason="Police case 2026/78",
                requested_by="support-1",
                requested_at=now,
                item_id="img-1",
                case_ref=case_ref,
            )
    consuming.take_through(COMMANDS, 1)

    assert reasons(env, consuming, 1) == [REFUSED]
    assert list(consuming.app.get_item("img-1").holds) == ["POL-2"]
    [row] = set_aside(SqlViews(consuming.app.process_recorder))
    assert row.place == f"{consuming.name(COMMANDS)}:0@0"
