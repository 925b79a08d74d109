"""Issue 15 part 6: the shred ledger outside Lethe's database, re-applied on start.

A backup of Lethe's own database taken before a shred brings the subject's
wrapped key back when restored. Each test first shows that it does (the
restored store opens the subject's seal), so that the key being gone after
Lethe's start means something. The ledger is a real topic on the embedded
broker; the stores are real PostgreSQL (a pg_dump restored into a fresh
database) and SQLite (a copy of the file put back).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from kafka import KafkaAdminClient, KafkaProducer

from lethe.domain import identity
from lethe.ops.cli.main import main
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.shred_ledger import (
    SHRED_LEDGER_TOPIC,
    TRACKING_NAME,
    LedgerRead,
    LedgerRelay,
    read_ledger,
)
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.bootstrap import build_app, build_runtime
from lethe.ops.runtime.ledger import (
    LedgerUnreadable,
    destroy_named,
    reapply_before_serving,
)
from lethe.ops.runtime.run import RunConfig, run
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record, postgres
from tests.support.http import call, free_port
from tests.support.ingest import create_topics, lethe_env
from tests.support.leak_scan import planted
from tests.support.lethe_process import LETHE, LetheProcess

pytestmark = pytest.mark.integration

CONTROLLER = "sector-alarm"
ERASED = "ola.nordmann@example.no"
LIVE = "kari.hansen@example.no"


def store_with_subjects(env: dict[str, str]) -> dict[str, tuple[str, bytes]]:
    """Items and a registration for ERASED and LIVE: subject id -> (ref, seal)."""
    runtime = build_runtime(Settings.from_env(env))
    app = runtime.app
    found = {}
    for n, subject_id in enumerate((ERASED, LIVE)):
        app.ingest(
            [
                ingest_record(f"img-{n}", "verification-image", subject_id),
                ingest_record(f"evt-{n}", "alarm-event", subject_id),
            ],
            T0,
        )
        subject = app.subject_for(CONTROLLER, subject_id, T0)
        app.save(subject)
        found[subject_id] = (subject.subject_ref, subject.subject_seal)
    runtime.catch_up()
    app.close()
    return found


def shred_by_support(env: dict[str, str]) -> Any:
    """`lethe erase subject` for ERASED as support runs it; the open runtime."""
    runtime = build_runtime(Settings.from_env(env))
    answer = runtime.desk.erase_subject(
        CONTROLLER, ERASED, "cmd-1", "asked to be forgotten", "support", None, T0
    )
    assert answer.key_destroyed
    return runtime


def erase_and_relay(env: dict[str, str]) -> None:
    """`lethe erase subject` as support runs it, then the relays as `lethe run` does."""
    runtime = shred_by_support(env)
    producer = RdKafkaProducer(
        KafkaClientSettings.from_mapping(env).rdkafka_producer_config()
    )
    try:
        topic = TopicSettings.from_env(env).name(SHRED_LEDGER_TOPIC)
        assert LedgerRelay(runtime.app, producer, topic).relay_pending() == 1
    finally:
        producer.close()
    runtime.app.close()


def the_ledger(env: dict[str, str]) -> LedgerRead:
    kafka = KafkaClientSettings.from_mapping(env)
    topic = TopicSettings.from_env(env).name(SHRED_LEDGER_TOPIC)
    return read_ledger(kafka.consumer_config(), topic, timeout_s=30)


def opens(env: dict[str, str], subjects: dict[str, tuple[str, bytes]], who: str) -> Any:
    app = build_app(Settings.from_env(env))
    try:
        return app.vault.unseal(*subjects[who])
    finally:
        app.close()


def start_run_and_stop(env: dict[str, str]) -> None:
    """`lethe run`'s start, in this process, stopped before its first poll."""
    stop = threading.Event()
    stop.set()
    run(RunConfig.from_env(Settings.from_env(env)), stop)


def audit_subject(env: dict[str, str], subject_id: str) -> str:
    result = CliRunner().invoke(
        main, ["audit", "subject", subject_id, "--controller", CONTROLLER], env=env
    )
    assert result.exit_code == 0, result.output
    return result.output


# -- PostgreSQL: a pg_dump from before the shred, restored into a fresh database --


def pg_dump(dbname: str, schema: str) -> bytes:
    dumped = subprocess.run(
        ["pg_dump", "-h", postgres.HOST, "-p", postgres.PORT, "-U", postgres.USER,
         "-n", schema, dbname],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert dumped.returncode == 0, dumped.stderr
    return dumped.stdout


def pg_restore(dump: bytes, dbname: str) -> None:
    restored = subprocess.run(
        ["psql", "-h", postgres.HOST, "-p", postgres.PORT, "-U", postgres.USER,
         "-v", "ON_ERROR_STOP=1", "-q", "-d", dbname],
        input=dump, capture_output=True, timeout=120,
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr


def test_a_restored_postgres_dump_from_before_a_shred_is_shredded_again_on_start(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
) -> None:
    env = lethe_env(
        pg_schema_env, broker.bootstrap, topic_name("ledger") + ".", topic_name("g")
    )
    create_topics(env)
    subjects = store_with_subjects(env)
    dump = pg_dump(pg_schema_env["POSTGRES_DBNAME"], pg_schema_env["POSTGRES_SCHEMA"])

    erase_and_relay(env)
    assert opens(env, subjects, ERASED) is None
    erased_id = identity.subject_id(subjects[ERASED][0])
    assert the_ledger(env).subjects == {erased_id}

    with postgres.temporary_database() as fresh:
        restored = {**env, "LETHE_POSTGRES_DBNAME": fresh["POSTGRES_DBNAME"]}
        pg_restore(dump, fresh["POSTGRES_DBNAME"])
        # The backup brought the key back: the restored store opens the seal.
        assert opens(restored, subjects, ERASED) == ERASED

        start_run_and_stop(restored)

        assert opens(restored, subjects, ERASED) is None
        assert opens(restored, subjects, LIVE) == LIVE  # only the ledger's subject
        assert "subject   erased (key destroyed)" in audit_subject(restored, ERASED)
        assert f"subject   {LIVE}" in audit_subject(restored, LIVE)
        # A second start finds nothing left to destroy, and says so.
        app = build_app(Settings.from_env(restored))
        again = reapply_before_serving(Settings.from_env(restored), app)
        app.close()
        assert (again.subjects, again.destroyed) == (1, 0)
        assert again.line() == (
            "shred ledger read: 1 subjects shredded; "
            "0 keys found in the store destroyed again"
        )


def test_a_start_refuses_in_one_line_when_the_ledger_cannot_be_read(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
) -> None:
    env = lethe_env(
        pg_schema_env, broker.bootstrap, topic_name("noledger") + ".", topic_name("g")
    )
    store_with_subjects(env)  # no topics made: the ledger topic does not exist
    settings = Settings.from_env(env)
    app = build_app(settings)
    try:
        with pytest.raises(LedgerUnreadable) as refused:
            reapply_before_serving(settings, app)
        message = str(refused.value)
        assert "\n" not in message
        ledger = env["LETHE_TOPIC_PREFIX"] + SHRED_LEDGER_TOPIC
        assert f"topic {ledger} does not exist" in message
        assert "LETHE_START_WITHOUT_SHRED_LEDGER=true" in message
        allowed = Settings.from_env({**env, "LETHE_START_WITHOUT_SHRED_LEDGER": "1"})
        skipped = reapply_before_serving(allowed, app)
        assert skipped.subjects is None and skipped.destroyed == 0
        assert skipped.line().startswith("shred ledger NOT read (topic ")
        no_broker = {k: v for k, v in env.items() if k != "LETHE_KAFKA_BOOTSTRAP"}
        with pytest.raises(LedgerUnreadable, match="LETHE_KAFKA_BOOTSTRAP is not set"):
            reapply_before_serving(Settings.from_env(no_broker), app)
    finally:
        app.close()
    served = CliRunner().invoke(main, ["serve"], env=no_broker)
    assert served.exit_code == 2
    assert served.output.splitlines() == [
        "lethe: the shred ledger cannot be read (LETHE_KAFKA_BOOTSTRAP is not set): "
        "Lethe does not start without it, or a key restored from a backup would "
        "open again. Fix it, or set LETHE_START_WITHOUT_SHRED_LEDGER=true for a "
        "first start"
    ]
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:  # looking for it did not make the broker create it, uncompacted
        assert ledger not in admin.list_topics()
    finally:
        admin.close()


def test_a_record_on_the_ledger_that_is_not_a_shred_record_stops_the_start(
    sqlite_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
) -> None:
    env = lethe_env(sqlite_env, broker.bootstrap, topic_name("foreign") + ".", "g")
    create_topics(env)
    ledger = env["LETHE_TOPIC_PREFIX"] + SHRED_LEDGER_TOPIC
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    sent = producer.send(ledger, key=b"cust-10001", value=b"erase me", partition=0)
    planted(ledger, 0, sent.get(timeout=30).offset)  # the test's, not Lethe's
    producer.flush()
    producer.close()
    settings = Settings.from_env(env)
    app = build_app(settings)
    try:
        with pytest.raises(LedgerUnreadable) as refused:
            reapply_before_serving(settings, app)
    finally:
        app.close()
    message = str(refused.value)
    assert f"({ledger}:0 offset 0: a ledger record is not a shred record" in message
    assert "cust-10001" not in message and "erase me" not in message


# -- a kill between the shred's commit and the ledger record ---------------------

ERASE_THEN_DIE = textwrap.dedent(
    """
    import os, signal
    from lethe.ops.runtime.bootstrap import build_runtime
    from lethe.ops.settings import Settings
    from tests.support import T0

    runtime = build_runtime(Settings.from_env())
    answer = runtime.desk.erase_subject(
        "sector-alarm", "ola.nordmann@example.no", "cmd-1", "asked", "support",
        None, T0,
    )
    assert answer.key_destroyed  # committed: the key is gone, no record sent
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_a_kill_after_the_shred_commits_still_sends_the_ledger_record_on_restart(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    env = lethe_env(
        pg_schema_env, broker.bootstrap, topic_name("killed") + ".", topic_name("g")
    )
    create_topics(env)
    subjects = store_with_subjects(env)
    died = subprocess.run(
        [sys.executable, "-c", ERASE_THEN_DIE],
        env={**os.environ, **env, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        timeout=120,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert opens(env, subjects, ERASED) is None  # the shred committed
    assert the_ledger(env).records == 0  # and nothing reached the ledger

    lethe = LetheProcess(env, tmp_path / "run.log")
    try:
        lethe.wait_for(
            "shred ledger record",
            lambda: bool(lethe.events("shred ledger written")),
        )
    finally:
        assert lethe.stop() == 0, lethe.tail()
    erased_id = identity.subject_id(subjects[ERASED][0])
    assert the_ledger(env).subjects == {erased_id}
    (started,) = lethe.events("shred ledger re-applied")
    assert (started["subjects"], started["keys_destroyed_again"]) == (0, 0)


def test_a_kill_after_sending_before_the_position_sends_the_same_key_again(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
) -> None:
    env = lethe_env(
        pg_schema_env, broker.bootstrap, topic_name("resent") + ".", topic_name("g")
    )
    create_topics(env)
    subjects = store_with_subjects(env)
    runtime = build_runtime(Settings.from_env(env))
    runtime.desk.erase_subject(CONTROLLER, ERASED, "c-1", "asked", "s", None, T0)
    kafka = KafkaClientSettings.from_mapping(env)
    topic = TopicSettings.from_env(env).name(SHRED_LEDGER_TOPIC)
    producer = RdKafkaProducer(kafka.rdkafka_producer_config())
    try:
        dying = LedgerRelay(runtime.app, producer, topic)
        recorder: Any = runtime.app.process_recorder

        def killed(*_: Any) -> None:
            raise KeyboardInterrupt  # the process dies at the position's write

        recorder.insert_tracking = killed
        with pytest.raises(KeyboardInterrupt):
            dying.relay_pending()
        del recorder.insert_tracking
        assert recorder.max_tracking_id(TRACKING_NAME) is None
        assert LedgerRelay(runtime.app, producer, topic).relay_pending() == 1
    finally:
        producer.close()
        runtime.app.close()
    ledger = the_ledger(env)
    assert ledger.records == 2  # sent twice, under one key: one subject
    assert ledger.subjects == {identity.subject_id(subjects[ERASED][0])}


# -- the embedded default: SQLite, the embedded broker, `lethe serve` -------------


def test_serve_on_a_restored_sqlite_file_destroys_the_key_before_it_answers(
    sqlite_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
    tmp_path: Path,
) -> None:
    env = lethe_env(
        sqlite_env, broker.bootstrap, topic_name("embedded") + ".", topic_name("g")
    )
    create_topics(env)
    subjects = store_with_subjects(env)
    db = Path(env["LETHE_SQLITE_PATH"])
    backup = tmp_path / "backup.db"
    source, copy = sqlite3.connect(db), sqlite3.connect(backup)
    source.backup(copy)  # the backup an operator takes, before the shred
    source.close()
    copy.close()
    erase_and_relay(env)
    assert opens(env, subjects, ERASED) is None
    for leftover in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    backup.replace(db)
    assert opens(env, subjects, ERASED) == ERASED  # the restore brought it back

    port = free_port()
    server = subprocess.Popen(
        [str(LETHE), "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "lethe serve exited"
            assert time.monotonic() < deadline, "lethe serve did not answer"
            try:
                if call(f"http://127.0.0.1:{port}", "GET", "/openapi.json").status:
                    break
            except OSError:
                time.sleep(0.1)
        # It answers: by then the key is gone.
        assert opens(env, subjects, ERASED) is None
        assert opens(env, subjects, LIVE) == LIVE
    finally:
        server.terminate()
        server.wait(30)
    assert server.stdout is not None
    printed = server.stdout.read().splitlines()
    assert (
        "shred ledger read: 1 subjects shredded; "
        "1 key found in the store destroyed again"
    ) in printed


def test_destroy_named_shreds_only_the_subjects_named(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    env = {"LETHE_STORE": "sqlite", "LETHE_SQLITE_PATH": sqlite_env["SQLITE_DBNAME"]}
    subjects = store_with_subjects(env)
    app = build_app(Settings.from_env(env))
    try:
        named = {identity.subject_id(subjects[ERASED][0])}
        vault: Any = app.vault
        assert destroy_named(vault, named) == 1
        assert destroy_named(vault, named) == 0  # nothing left to destroy
        assert app.vault.is_shredded(subjects[ERASED][0])
        assert app.vault.unseal(*subjects[LIVE]) == LIVE
    finally:
        app.close()


def test_lethe_sweep_sends_a_shred_no_relay_has_sent_yet_to_the_ledger(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
) -> None:
    # A shred made by `lethe erase subject` with no `lethe run` beside it:
    # `lethe sweep` (and `lethe erasures replay`, through the same relay_now)
    # must send it to the ledger, or a lost database would bring the key back.
    env = lethe_env(
        pg_schema_env, broker.bootstrap, topic_name("cli") + ".", topic_name("g")
    )
    create_topics(env)
    subjects = store_with_subjects(env)
    shred_by_support(env).app.close()
    assert the_ledger(env).subjects == frozenset()

    swept = CliRunner().invoke(main, ["sweep"], env=env, catch_exceptions=False)

    assert swept.exit_code == 0, swept.output
    assert "1 erasures to the shred ledger" in swept.output
    erased_id = identity.subject_id(subjects[ERASED][0])
    assert the_ledger(env).subjects == {erased_id}
    again = CliRunner().invoke(main, ["sweep"], env=env, catch_exceptions=False)
    assert "0 erasures to the shred ledger" in again.output  # sent once, not twice
