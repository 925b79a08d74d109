"""`lethe demo`: a day of an alarm centre through Lethe, on the embedded default.

Starts the embedded broker and a fresh SQLite store, publishes a synthetic day
(with a few malformed records), ingests it with the real consumers, shows what
Lethe holds and when each category goes, then moves the clock on: sweeps,
relays tombstones and orders, lets the reference eraser delete the files,
takes the confirmations back, and carries out one subject erasure request.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from rich.table import Table

from lethe.consumers.codec import Catalogue
from lethe.ops import logging as lethe_logging
from lethe.ops.cli.support import echo_table, format_instant
from lethe.ops.demo.workload import DayShape, synthetic_day
from lethe.ops.eraser.files import FileEraser
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.produce import LetheProducer
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import ORDERS_TOPIC, Relay
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.topics import TopicSettings, ensure
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.runtime.run import RunConfig, build_loop
from lethe.ops.settings import Settings

OSLO = ZoneInfo("Europe/Oslo")
CONFIRMATIONS = "lethe.erasure-confirmations.v1"
DLQ = "lethe.dlq.v1"


@click.command()
@click.option(
    "--customers",
    default=300,
    show_default=True,
    help="Customers in the synthetic day.",
)
@click.option(
    "--dir",
    "workdir",
    default="var/demo",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Where the demo keeps its store and blob files (wiped first).",
)
def demo(customers: int, workdir: Path) -> None:
    """Run a synthetic alarm-centre day through Lethe on SQLite and the embedded
    broker.
    """
    shutil.rmtree(workdir, ignore_errors=True)
    blobs = workdir / "blobs"
    blobs.mkdir(parents=True)
    log_file = (workdir / "lethe.log").open("w")
    lethe_logging.configure(
        "INFO", stream=log_file
    )  # the demo's own story goes to stdout
    with EmbeddedBroker() as broker:
        env = {
            "LETHE_STORE": "sqlite",
            "LETHE_SQLITE_PATH": str(workdir / "lethe.db"),
            "LETHE_KAFKA_BOOTSTRAP": broker.bootstrap,
            "LETHE_GROUP_ID": "lethe-demo",
        }
        settings = Settings.from_env(env)
        runtime = build_runtime(settings)
        kafka = KafkaClientSettings.from_mapping(env)
        _step("1. topics")
        _ensure_topics(kafka, runtime)
        _step("2. a day of alarm-centre traffic")
        day = datetime.now(OSLO).replace(
            hour=0, minute=0, second=0, microsecond=0
        ) - timedelta(days=1)
        sent = _publish_day(kafka, day, customers, blobs)
        _step("3. ingest through the consumers")
        taken = _consume(kafka, runtime, env, sent)
        runtime.catch_up()
        click.echo(f"took {taken} records; {_dead_letters(kafka)}")
        _holdings(runtime, "what Lethe holds")
        _step("4. eight days later: sweep, tombstones, erasure orders, the eraser")
        later = datetime.now(UTC) + timedelta(days=8)
        _forget(kafka, runtime, env, later, blobs)
        _holdings(runtime, "after the sweep")
        _step("5. a customer asks to be forgotten")
        _erase_one_subject(runtime, later)
        click.echo(f"\nstore: {workdir / 'lethe.db'}  logs: {workdir / 'lethe.log'}")
        click.echo(
            f"try:   LETHE_SQLITE_PATH={workdir / 'lethe.db'} .venv/bin/lethe status"
        )


def _step(title: str) -> None:
    click.echo(f"\n== {title}")


def _ensure_topics(kafka: KafkaClientSettings, runtime: Runtime) -> None:
    admin = KafkaAdminClient(**kafka.admin_config())
    try:
        done = ensure(admin, TopicSettings(partitions=4), runtime.app.policies.values())
        click.echo(
            f"{sum(e.created for e in done.values())} topics created"
            " (compacted item topics)"
        )
    finally:
        admin.close()


def _publish_day(
    kafka: KafkaClientSettings, day: datetime, customers: int, blobs: Path
) -> int:
    producer = LetheProducer(kafka)
    counts: Counter[str] = Counter()
    for out in synthetic_day(day, DayShape(customers=customers), blob_root=blobs):
        producer.send(out.topic, out.value)
        counts[out.value.get("metadata", {}).get("category", out.record)] += 1
    bad = _malformed(producer, day)
    producer.flush()
    producer.close()
    click.echo(
        ", ".join(f"{n} {c}" for c, n in counts.most_common()) + f", {bad} malformed"
    )
    return sum(counts.values()) + bad


def _malformed(producer: LetheProducer, day: datetime) -> int:
    """What a broken pipeline sends: each must end in the dead-letter topic."""
    raw = producer.producer
    raw.send("alarm.images.v1", key=b"img-garbage", value=b"\xc3\x01garbage")
    raw.send("alarm.events.v1", key=b"evt-json", value=b'{"item_id": "evt-json"}')
    meta = {
        "controller": "sector-alarm",
        "subject_id": "cust-bad",
        "site_id": None,
        "captured_at": day,
        "police_relevant": False,
        "legal_basis": None,
    }
    producer.send(
        "alarm.images.v1",
        {
            "item_id": "img-as-arming-log",
            "alarm_item_id": None,
            "blob_uri": "file:///nowhere.jpg",
            "sha256": "0" * 64,
            "content_type": "image/jpeg",
            "size_bytes": 1,
            "metadata": {**meta, "category": "arming-log"},
        },
    )
    producer.send(
        "alarm.events.v1",
        {
            "item_id": "evt-future",
            "event_code": "BA",
            "zone": None,
            "metadata": {
                **meta,
                "category": "alarm-event",
                "captured_at": datetime.now(UTC) + timedelta(days=3),
            },
        },
    )
    producer.send(
        "alarm.events.v1",
        {
            "item_id": "evt-no-subject",
            "event_code": "BA",
            "zone": None,
            "metadata": {**meta, "category": "alarm-event", "subject_id": " "},
        },
    )
    return 5


def _consume(
    kafka: KafkaClientSettings,
    runtime: Runtime,
    env: dict[str, str],
    expected: int,
    deadline_s: float = 120.0,
    idle_s: float = 3.0,
) -> int:
    """Take records until `expected` arrived and the topics stay quiet for `idle_s`."""
    config = RunConfig.from_env(runtime.settings)
    consumer = KafkaConsumer(**kafka.consumer_config(runtime.settings.group_id))
    producer = KafkaProducer(**kafka.producer_config())
    loop = build_loop(config, runtime.app, consumer, producer)
    loop.subscribe()
    taken, until, quiet_since = 0, time.monotonic() + deadline_s, time.monotonic()
    try:
        while time.monotonic() < until:
            got = loop.run_once(timeout_ms=500)
            taken += got
            if got:
                quiet_since = time.monotonic()
            elif taken >= expected and time.monotonic() - quiet_since > idle_s:
                break
    finally:
        producer.flush()
        consumer.close(autocommit=False)
        producer.close()
    return taken


def _read_topic(
    kafka: KafkaClientSettings, topic: str, idle_s: float = 3.0
) -> list[Any]:
    consumer = KafkaConsumer(**{**kafka.consumer_config(None), "group_id": None})
    partitions = [
        TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []
    ]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    records: list[Any] = []
    quiet_until = time.monotonic() + idle_s
    while time.monotonic() < quiet_until:
        for batch in consumer.poll(timeout_ms=300).values():
            records.extend(batch)
            quiet_until = time.monotonic() + idle_s
    consumer.close()
    return records


def _dead_letters(kafka: KafkaClientSettings) -> str:
    reasons = [
        dict(r.headers).get("lethe.reason", b"").decode()
        for r in _read_topic(kafka, DLQ)
    ]
    lines = "\n".join(f"  dead letter: {reason}" for reason in reasons)
    return f"{len(reasons)} to {DLQ}:\n{lines}"


def _holdings(runtime: Runtime, title: str) -> None:
    rows = runtime.views.query(
        "SELECT category, state, COUNT(*), MIN(due_at), MAX(due_at) FROM lethe_schedule"
        " GROUP BY category, state ORDER BY category, state"
    )
    table = Table("category", "state", "items", "next due", "last due", title=title)
    for category, state, count, first, last in rows:
        table.add_row(category, state, str(count), _when(first), _when(last))
    echo_table(table)


def _when(ms: int | None) -> str:
    return (
        "clock not started"
        if ms is None
        else format_instant(datetime.fromtimestamp(ms / 1000, UTC))
    )


def _forget(
    kafka: KafkaClientSettings,
    runtime: Runtime,
    env: dict[str, str],
    later: datetime,
    blobs: Path,
) -> None:
    report = runtime.sweeper.sweep(later)
    runtime.catch_up()
    relay_producer = RdKafkaProducer(kafka.rdkafka_producer_config())
    relay = Relay(runtime.app, relay_producer, Catalogue.shipped())
    relayed = relay.relay_pending()
    relay_producer.close()
    producer = KafkaProducer(**kafka.producer_config())
    files_before = sum(1 for _ in blobs.glob("*"))
    confirmed = _erase_files(kafka, producer, blobs)
    producer.close()
    # The loop also reads back our own tombstones on the item topics (and skips them).
    taken = _consume(kafka, runtime, env, confirmed + relayed, deadline_s=60)
    runtime.catch_up()
    files_after = sum(1 for _ in blobs.glob("*"))
    click.echo(
        f"swept at {format_instant(later)}: {report.ordered} erasure orders; "
        f"{relayed} relayed as tombstones + orders; the eraser deleted "
        f"{files_before - files_after} files and sent {confirmed} confirmations, "
        f"taken back with the tombstones ({taken} records)"
    )


def _erase_files(
    kafka: KafkaClientSettings, producer: KafkaProducer, blobs: Path
) -> int:
    catalogue = Catalogue.shipped()
    eraser = FileEraser(
        blobs.resolve(), store="demo-blob-store", state_dir=blobs.parent / "eraser"
    )
    answered = 0
    for record in _read_topic(kafka, ORDERS_TOPIC):
        order = catalogue.decode_as(record.value, "ErasureOrder")
        confirmation = eraser.answer(order)
        producer.send(
            CONFIRMATIONS,
            key=order["item_id"].encode(),
            value=catalogue.encode("ErasureConfirmation", confirmation),
        )
        answered += 1
    producer.flush()
    return answered


def _erase_one_subject(runtime: Runtime, at: datetime) -> None:
    rows = runtime.views.query(
        "SELECT s.subject_ref FROM lethe_schedule s"
        " WHERE s.category = 'alarm-call-recording'"
        " AND s.state = 'scheduled' ORDER BY s.item_ref LIMIT 1"
    )
    if not rows:
        click.echo("no customer with an alarm in the synthetic day")
        return
    subject_ref = rows[0][0]
    item_ref = runtime.views.query(
        "SELECT item_ref FROM lethe_schedule WHERE subject_ref = ? LIMIT 1",
        (subject_ref,),
    )[0][0]
    subject_id = "cust-" + item_ref.split("-cust-", 1)[1].rsplit("-", 1)[0]
    request = runtime.app.request_subject_erasure(
        "sector-alarm",
        subject_id,
        "demo-ticket-1",
        "customer asked by phone",
        "support:demo",
        "T-1",
        at,
    )
    runtime.catch_up()
    states = runtime.views.query(
        "SELECT category, state, COUNT(*) FROM lethe_schedule WHERE subject_ref = ?"
        " GROUP BY category, state ORDER BY category",
        (subject_ref,),
    )
    click.echo(
        f"request {request} for {subject_id}: carried out;"
        " the subject's key is destroyed"
    )
    for category, state, count in states:
        kept = "  (kept by law until due)" if category == "alarm-call-recording" else ""
        click.echo(f"  {category:<24} {state:<16} {count}{kept}")
