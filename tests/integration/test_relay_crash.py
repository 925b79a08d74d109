"""The relay killed between the database and Kafka: nothing lost, nothing invented."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from lethe.consumers.codec import Catalogue
from lethe.domain import identity
from lethe.domain.application import IngestRecord
from lethe.domain.item import Outcome
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import (
    ORDER_ID_HEADER,
    ORDERS_TOPIC,
    TRACKING_NAME,
    Relay,
    RelayError,
)
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings
from tests.support.ingest import create_topics, lethe_env, read_topic

pytestmark = pytest.mark.integration

IMAGES = "alarm.images.v1"
ITEMS = 300
PAGE = 100
CAPTURED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
NOW = CAPTURED + timedelta(days=9)

# The relay as `lethe sweep` runs it, with one way to die: after `sends` records
# handed to the producer (some in flight, none tracked), or at the first tracking
# write (every record of the page acknowledged, the position not recorded).
RELAY = textwrap.dedent(
    """
    import os, signal, sys
    from lethe.consumers.codec import Catalogue
    from lethe.ops.runtime.bootstrap import build_app
    from lethe.ops.kafka.settings import KafkaClientSettings
    from lethe.ops.kafka.rdkafka import RdKafkaProducer
    from lethe.ops.kafka.relay import ORDERS_TOPIC, Relay
    from lethe.ops.settings import Settings
    from lethe.ops.kafka.topics import TopicSettings

    def die(*_, **__):
        os.kill(os.getpid(), signal.SIGKILL)

    mode, count = sys.argv[1], int(sys.argv[2])
    settings = Settings.from_env()
    app = build_app(settings)
    kafka = KafkaClientSettings.from_mapping(os.environ)
    producer = RdKafkaProducer(kafka.rdkafka_producer_config())
    if mode == "after-sends":
        send, sent = producer.send, [0]
        def counting_send(*args, **kwargs):
            sent[0] += 1
            if sent[0] > count:
                die()
            return send(*args, **kwargs)
        producer.send = counting_send
    elif mode == "before-tracking":
        app.process_recorder.insert_tracking = die
    orders = TopicSettings.from_env(os.environ).name(ORDERS_TOPIC)
    relay = Relay(app, producer, Catalogue.shipped(), orders_topic=orders,
                  page_size=PAGE)
    print(relay.relay_pending())
    """
).replace("PAGE", str(PAGE))


@pytest.fixture
def env(
    pg_schema_env: dict[str, str],
    broker: EmbeddedBroker,
    topic_name: Callable[..., str],
) -> dict[str, str]:
    settings = lethe_env(
        pg_schema_env, broker.bootstrap, topic_name("crash") + ".", topic_name("group")
    )
    create_topics(settings)
    return settings


def relay(
    env: dict[str, str], tmp_path: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "relay.py"
    script.write_text(RELAY)
    return subprocess.run(
        [sys.executable, str(script), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )


def ordered_items(env: dict[str, str], partition: int = 0) -> list[str]:
    """ITEMS images, due and ordered: the orders are committed, nothing is sent."""
    runtime = build_runtime(Settings.from_env(env))
    refs = [f"img-crash-{i:04d}" for i in range(ITEMS)]
    records = [
        IngestRecord(
            item_ref=ref,
            kind="VerificationImage",
            source_topic=TopicSettings.from_env(env).name(IMAGES),
            source_partition=partition,
            source_offset=i,
            controller="sector-alarm",
            category="verification-image",
            subject_id="cust-crash",
            captured_at=CAPTURED,
            blob_uri=f"file:///store/{ref}.jpg",
            sha256="ab" * 32,
            content=ref.encode(),
        )
        for i, ref in enumerate(refs)
    ]
    runtime.app.ingest(records, at=CAPTURED + timedelta(minutes=1))
    runtime.catch_up()
    assert runtime.sweeper.sweep(CAPTURED + timedelta(days=8)).ordered == ITEMS
    return refs


def position(env: dict[str, str]) -> int:
    app = build_runtime(Settings.from_env(env)).app
    return app.process_recorder.max_tracking_id(TRACKING_NAME) or 0


def crash_and_finish(env: dict[str, str], tmp_path: Path) -> None:
    """Kill the relay a page and a half in, then with a page sent and not
    tracked, then let it finish: it resumes after the first page."""
    # Dies a page and a half in: page 1 sent and tracked, page 2 half handed over.
    died = relay(env, tmp_path, "after-sends", str(PAGE + PAGE // 2))
    assert died.returncode == -9, died.stderr
    tracked = position(env)
    assert tracked > 0
    # Dies with page 2 sent and acknowledged, before its position is recorded.
    died = relay(env, tmp_path, "before-tracking", "0")
    assert died.returncode == -9, died.stderr
    assert position(env) == tracked
    finished = relay(env, tmp_path, "normally", "0")
    assert finished.returncode == 0, finished.stderr
    assert int(finished.stdout.split()[-1]) == ITEMS - PAGE  # resumed after page 1


def confirm_all(env: dict[str, str], refs: list[str]) -> None:
    app = build_runtime(Settings.from_env(env)).app
    for ref in refs:
        order = app.get_item(ref).order
        assert order is not None
        app.confirm_erasure(ref, order["order_id"], "media", Outcome.DELETED, None, NOW)


def test_a_relay_killed_before_it_records_its_position_loses_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    refs = ordered_items(env)
    crash_and_finish(env, tmp_path)  # the orders
    topics = TopicSettings.from_env(env)
    bootstrap = env["LETHE_KAFKA_BOOTSTRAP"]
    catalogue = Catalogue.shipped()
    app = build_runtime(Settings.from_env(env)).app
    digests = {ref: app.get_item(ref).content_digest for ref in refs}
    orders: dict[str, set[str]] = defaultdict(set)
    order_records = read_topic(bootstrap, topics.name(ORDERS_TOPIC), ITEMS, settle=1.0)
    for record in order_records:
        order = catalogue.decode_as(record.value, "ErasureOrder")
        assert record.key == order["item_id"].encode()
        assert dict(record.headers)[ORDER_ID_HEADER] == order["order_id"].encode()
        orders[order["item_id"]].add(order["order_id"])
    # No tombstone before a store has erased the items.
    assert read_topic(bootstrap, topics.name(IMAGES), 0, settle=1.0) == []

    confirm_all(env, refs)
    crash_and_finish(env, tmp_path)  # the tombstones, after the stores' answers
    tombstones: dict[str, set[bytes]] = defaultdict(set)
    tombstone_records = read_topic(bootstrap, topics.name(IMAGES), ITEMS, settle=1.0)
    for record in tombstone_records:
        assert record.value is None
        tombstones[record.key.decode()].add(dict(record.headers)[ORDER_ID_HEADER])

    expected = {
        ref: identity.order_id(ref, "RETENTION_EXPIRED", digests[ref]) for ref in refs
    }
    # Every item: its one order id, on every copy of its order and its tombstone.
    assert {ref: ids for ref, ids in orders.items()} == {
        r: {o} for r, o in expected.items()
    }
    assert tombstones == {r: {o.encode()} for r, o in expected.items()}
    # The crash did re-send: page 2 went out at least twice, under the same ids.
    assert len(order_records) >= ITEMS + PAGE
    assert len(tombstone_records) >= ITEMS + PAGE


class RefusingProducer:
    """Takes every record, then reports every third one as refused by the broker."""

    def __init__(self) -> None:
        self.sent = 0

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> SimpleNamespace:
        self.sent += 1
        refused = self.sent % 3 == 0
        return SimpleNamespace(
            is_done=True,
            failed=lambda: refused,
            exception=RuntimeError("NOT_ENOUGH_REPLICAS") if refused else None,
        )

    def flush(self, timeout: float | None = None) -> None:
        pass


def test_a_page_kafka_refuses_is_not_marked_as_sent(env: dict[str, str]) -> None:
    ordered_items(env)
    app = build_runtime(Settings.from_env(env)).app
    relay = Relay(app, RefusingProducer(), Catalogue.shipped(), page_size=PAGE)
    with pytest.raises(RelayError, match="NOT_ENOUGH_REPLICAS"):
        relay.relay_pending()
    assert position(env) == 0


def test_a_tombstone_kafka_cannot_take_fails_its_page(env: dict[str, str]) -> None:
    refs = ordered_items(env, partition=99)  # read from a partition the topic lacks
    app = build_runtime(Settings.from_env(env)).app
    producer = RdKafkaProducer(
        KafkaClientSettings.from_mapping(env).rdkafka_producer_config()
    )
    try:
        orders = TopicSettings.from_env(env).name(ORDERS_TOPIC)
        relay = Relay(
            app, producer, Catalogue.shipped(), page_size=PAGE, orders_topic=orders
        )
        assert relay.relay_pending() == ITEMS  # the orders go
        sent = position(env)
        confirm_all(env, refs)
        with pytest.raises(RelayError, match="Unknown partition"):
            relay.relay_pending()  # their tombstones cannot
    finally:
        producer.close()
    assert position(env) == sent


def test_a_page_unacknowledged_by_the_timeout_is_not_marked_as_sent(
    env: dict[str, str],
) -> None:
    ordered_items(env)
    app = build_runtime(Settings.from_env(env)).app
    unreachable = KafkaClientSettings(bootstrap="127.0.0.1:9")  # nothing listens
    producer = RdKafkaProducer(unreachable.rdkafka_producer_config())
    try:
        relay = Relay(
            app, producer, Catalogue.shipped(), page_size=PAGE, send_timeout_s=1.0
        )
        with pytest.raises(RelayError, match="not acknowledged"):
            relay.relay_pending()
    finally:
        producer.close(timeout=0)
    assert position(env) == 0
