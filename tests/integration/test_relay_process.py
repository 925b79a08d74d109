"""`lethe relay` beside `lethe run`: it sends the sweep's orders as they are
recorded, `lethe run` leaves the sending to it, and takes it back when the
relay process is killed. Nothing lost, every order under its one id."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lethe.consumers.codec import Catalogue
from lethe.domain import identity
from lethe.domain.application import IngestRecord
from lethe.ops.cli.main import main
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import ORDER_ID_HEADER, ORDERED, ORDERS_TOPIC, TRACKING_NAME
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.runtime.relayer import LeasedRelay, relay_lease, relays
from lethe.ops.settings import Settings
from tests.support.ingest import create_topics, lethe_env, read_topic
from tests.support.lethe_process import LetheProcess

pytestmark = pytest.mark.integration

IMAGES = "alarm.images.v1"
FIRST, SECOND = 300, 100
CAPTURED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
SWEEP_AT = CAPTURED + timedelta(days=8)  # every image is due


@pytest.fixture
def env(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
) -> dict[str, str]:
    settings = lethe_env(
        pg_schema_env, broker.bootstrap, topic_name("relayer") + ".", "unused"
    )
    create_topics(settings)
    return settings


def ingest(runtime: Runtime, env: dict[str, str], refs: list[str]) -> None:
    images = TopicSettings.from_env(env).name(IMAGES)
    runtime.app.ingest(
        [
            IngestRecord(
                item_ref=ref,
                kind="VerificationImage",
                source_topic=images,
                source_partition=0,
                source_offset=offset,
                controller="sector-alarm",
                category="verification-image",
                subject_id=f"cust-relayer-{offset % 7}",
                captured_at=CAPTURED,
                blob_uri=f"file:///store/{ref}.jpg",
                sha256="ab" * 32,
                content=ref.encode(),
            )
            for offset, ref in enumerate(refs)
        ],
        at=CAPTURED + timedelta(minutes=1),
    )
    runtime.catch_up()


def relay_position(runtime: Runtime) -> int:
    return runtime.app.process_recorder.max_tracking_id(TRACKING_NAME) or 0


def last_order(runtime: Runtime) -> int:
    """The relay's position once every order so far is acknowledged."""
    orders = runtime.app.process_recorder.select_notifications(
        1, 100_000, topics=[ORDERED]
    )
    return orders[-1].id


def status(env: dict[str, str]) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["status", "--json"], env=env)
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def borrowed_relay(runtime: Runtime, env: dict[str, str]) -> LeasedRelay:
    """The relay as `lethe run`'s projector makes it (build_projector)."""
    producer = RdKafkaProducer(
        KafkaClientSettings.from_mapping(env).rdkafka_producer_config()
    )
    settings = Settings.from_env(env)
    return LeasedRelay(
        relays(runtime.app, producer, TopicSettings.from_env(env), settings),
        relay_lease(settings),
        borrowed=True,
    )


def test_lethe_relay_sends_the_sweep_and_lethe_run_takes_over_when_it_dies(
    env: dict[str, str], tmp_path: Path
) -> None:
    runtime = build_runtime(Settings.from_env(env))
    refs = [f"img-relayer-{i:04d}" for i in range(FIRST + SECOND)]
    ingest(runtime, env, refs[:FIRST])
    digests = {ref: runtime.app.get_item(ref).content_digest for ref in refs[:FIRST]}
    run_side = borrowed_relay(runtime, env)

    process = LetheProcess(env, tmp_path / "relay.log", command="relay")
    try:
        process.wait_for("relay lease", lambda: bool(process.events("lease taken")))
        assert process.events("relay started")
        # The orders are committed page by page; the process sends them unasked.
        assert runtime.sweeper.sweep(SWEEP_AT).ordered == FIRST
        process.wait_for(
            "relayed sweep", lambda: relay_position(runtime) >= last_order(runtime)
        )
        assert process.events("relayed")

        # Frozen (its session, and the lock, stay): orders wait, and `lethe
        # run`'s relay leaves them to the lease's holder.
        process.process.send_signal(signal.SIGSTOP)
        ingest(runtime, env, refs[FIRST:])
        assert runtime.sweeper.sweep(SWEEP_AT).ordered == SECOND
        waiting_at = relay_position(runtime)
        assert waiting_at < last_order(runtime)
        assert not relay_lease(Settings.from_env(env)).held()
        assert run_side.relay_pending() == 0
        assert relay_position(runtime) == waiting_at
        # `lethe status` says what waits, from the store alone.
        waiting = status(env)
        assert waiting["relay"] == {
            "position": waiting_at,
            "events_waiting": SECOND,
            "counted_up_to": 1000,
        }
    finally:
        process.kill()  # kill -9: its session, and the lock with it, go

    for ref in refs[FIRST:]:
        digests[ref] = runtime.app.get_item(ref).content_digest
    # PostgreSQL frees the lock when it sees the killed session's socket close.
    sent, deadline = 0, time.monotonic() + 30
    while sent < SECOND and time.monotonic() < deadline:
        sent += run_side.relay_pending()
        time.sleep(0.1)
    assert sent == SECOND
    assert relay_position(runtime) == last_order(runtime)
    assert status(env)["relay"]["events_waiting"] == 0
    shown = CliRunner().invoke(main, ["status"], env=env)
    assert f"relay: sent to log position {last_order(runtime)}; nothing waits" in (
        shown.output
    )
    # Borrowed, so let go after the relay: a `lethe relay` could take it again.
    again = relay_lease(Settings.from_env(env))
    try:
        assert again.held()
    finally:
        again.release()

    orders = read_topic(
        env["LETHE_KAFKA_BOOTSTRAP"],
        TopicSettings.from_env(env).name(ORDERS_TOPIC),
        FIRST + SECOND,
        settle=1.0,
    )
    catalogue = Catalogue.shipped()
    ids: dict[str, set[str]] = {}
    for record in orders:
        order = catalogue.decode_as(record.value, "ErasureOrder")
        assert dict(record.headers)[ORDER_ID_HEADER] == order["order_id"].encode()
        ids.setdefault(order["item_id"], set()).add(order["order_id"])
    expected = {
        ref: {identity.order_id(ref, "RETENTION_EXPIRED", digests[ref])} for ref in refs
    }
    assert ids == expected
    assert len(orders) == FIRST + SECOND  # no page went out twice


def test_lethe_relay_stops_cleanly_on_sigterm(
    env: dict[str, str], tmp_path: Path
) -> None:
    build_runtime(Settings.from_env(env))  # the store exists: `lethe run` made it
    process = LetheProcess(env, tmp_path / "relay.log", command="relay")
    process.wait_for("relay lease", lambda: bool(process.events("lease taken")))
    assert process.stop() == 0
    assert process.events("relay stopped")
    # Released on the way out, not held until PostgreSQL notices the session.
    lease = relay_lease(Settings.from_env(env))
    try:
        assert lease.held()
    finally:
        lease.release()
