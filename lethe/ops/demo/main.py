"""`lethe demo`: a day of an alarm centre through Lethe, on the embedded default.

Starts the embedded broker and a fresh SQLite store, publishes a synthetic day
(with a few malformed records), ingests it with the real consumers, shows what
Lethe holds and when each category goes, then sweeps through the week after,
relays orders, lets the reference eraser delete the files (tombstones follow),
takes the confirmations back, and carries out one subject erasure request.

The story is set in the past (see story.py), so that its history is one that
could have happened and passes `lethe audit verify`.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from rich.table import Table

from lethe.consumers.codec import Catalogue, PoisonRecord
from lethe.consumers.signatures import SignerRole
from lethe.ops import logging as lethe_logging
from lethe.ops.cli.serve import default_console_address
from lethe.ops.cli.support import echo_table, format_instant
from lethe.ops.cli.trial_keys import trial_signer
from lethe.ops.cli.wording import ANSWERED_ON_CONFIRM
from lethe.ops.demo.story import Story, sweep_through
from lethe.ops.demo.workload import DayShape, synthetic_day
from lethe.ops.eraser.files import FileEraser, signed_order
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.produce import LetheProducer
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import ORDERS_TOPIC, Relay
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.signing import SigningProducer, lethe_signatory, public_path
from lethe.ops.kafka.topics import TopicSettings, ensure
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.runtime.lethe_key import lethe_signer, signing_key_path, signing_orders
from lethe.ops.runtime.run import RunConfig, build_loop
from lethe.ops.settings import Settings
from lethe.projections.sweeper import Sweeper

CONFIRMATIONS = "lethe.erasure-confirmations.v1"
DEMO_STORE = "demo-blob-store"
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
            # The demo's eraser answers once, at the story's end: Lethe waits
            # this long (more than the week's last day) before re-sending orders.
            "LETHE_CONFIRM_TIMEOUT_S": str(2 * 86_400),
        }
        settings = Settings.from_env(env)
        runtime = build_runtime(settings)
        kafka = KafkaClientSettings.from_mapping(env)
        _step("1. topics")
        _ensure_topics(kafka, runtime)
        story = Story.ending_before(datetime.now(UTC))
        _step(f"2. a day of alarm-centre traffic: {story.day:%A %d %B %Y}")
        sent, callers = _publish_day(kafka, story, customers, blobs)
        _step(f"3. ingest through the consumers, at {format_instant(story.taken_in)}")
        taken = _consume(kafka, runtime, env, sent, at=story.taken_in)
        runtime.catch_up()
        click.echo(f"took {taken} records; {_dead_letters(kafka)}")
        _holdings(runtime, "what Lethe holds")
        _step("4. the week after: sweeps, tombstones, erasure orders, the eraser")
        eraser = DemoEraser(kafka, runtime, env, blobs)
        _forget(runtime, story)
        click.echo(eraser.answer_orders(story.ends))
        _holdings(runtime, "after the sweeps")
        _step(f"5. a customer asks to be forgotten, at {format_instant(story.ends)}")
        _erase_one_subject(runtime, callers, story.ends)
        click.echo(eraser.answer_orders(story.ends + timedelta(minutes=5)))
        click.echo(f"\nstore: {workdir / 'lethe.db'}  logs: {workdir / 'lethe.log'}")
        click.echo(
            f"try:   LETHE_SQLITE_PATH={workdir / 'lethe.db'} .venv/bin/lethe status"
        )
        click.echo(
            f"audit: LETHE_SQLITE_PATH={workdir / 'lethe.db'}"
            " .venv/bin/lethe audit verify"
        )
        click.echo(
            f"console: LETHE_SQLITE_PATH={workdir / 'lethe.db'} .venv/bin/lethe serve,"
            f" then open {default_console_address(dict(os.environ))}"
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
    kafka: KafkaClientSettings, story: Story, customers: int, blobs: Path
) -> tuple[int, list[str]]:
    """How many records went out, and the customers who called the centre (in
    the order they did): the demo's support desk knows its customers' ids."""
    producer = LetheProducer(kafka)
    counts: Counter[str] = Counter()
    callers: dict[str, None] = {}
    shape = DayShape(customers=customers)
    for out in synthetic_day(story.day, shape, blob_root=blobs):
        producer.send(out.topic, out.value)
        metadata = out.value.get("metadata", {})
        counts[metadata.get("category", out.record)] += 1
        if metadata.get("category") == "alarm-call-recording":
            callers.setdefault(metadata["subject_id"])
    bad = _malformed(producer, story)
    producer.flush()
    producer.close()
    click.echo(
        ", ".join(f"{n} {c}" for c, n in counts.most_common()) + f", {bad} malformed"
    )
    return sum(counts.values()) + bad, list(callers)


def _malformed(producer: LetheProducer, story: Story) -> int:
    """What a broken pipeline sends: each must end in the dead-letter topic."""
    day = story.day
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
                "captured_at": story.taken_in + timedelta(days=3),
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
    at: datetime,
    deadline_s: float = 120.0,
    idle_s: float = 3.0,
) -> int:
    """Take records until `expected` arrived and the topics stay quiet for `idle_s`,
    on the story's clock: Lethe takes them in `at`."""
    config = RunConfig.from_env(runtime.settings)
    consumer = KafkaConsumer(**kafka.consumer_config(runtime.settings.group_id))
    producer = KafkaProducer(**kafka.producer_config())
    loop = build_loop(config, runtime.app, consumer, producer, clock=lambda: at)
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


def _forget(runtime: Runtime, story: Story) -> None:
    # On the story's clock: each sweep finishes at its own `now`.
    settings = runtime.settings
    sweeper = Sweeper(
        runtime.app, runtime.views, settings.batch_size, settings.confirm_timeout_s
    )
    interval = timedelta(seconds=settings.sweep_interval_s)
    swept = sweep_through(sweeper, runtime.schedule, runtime.views, story, interval)
    click.echo(
        f"swept every {interval.total_seconds():g} s in which something fell due"
        f" until {format_instant(story.ends)}: {swept.sweeps} sweeps,"
        f" {swept.ordered} erasure orders"
    )


class DemoEraser:
    """Relays what Lethe ordered, lets the reference eraser answer each order
    once, and takes the confirmations back, at an instant of the story."""

    def __init__(
        self,
        kafka: KafkaClientSettings,
        runtime: Runtime,
        env: dict[str, str],
        blobs: Path,
    ) -> None:
        self.kafka, self.runtime, self.env, self.blobs = kafka, runtime, env, blobs
        self.answered: set[str] = set()

    def answer_orders(self, at: datetime) -> str:
        settings = self.runtime.settings
        relay_producer = signing_orders(
            RdKafkaProducer(self.kafka.rdkafka_producer_config()),
            lethe_signer(settings, create=True),
            TopicSettings(),
        )
        relay = Relay(self.runtime.app, relay_producer, Catalogue.shipped())
        try:
            relayed = relay.relay_pending()
            # The eraser signs its answers with the store's (trial) key.
            producer = SigningProducer(
                KafkaProducer(**self.kafka.producer_config()),
                trial_signer(self.runtime, DEMO_STORE, SignerRole.STORE),
                {CONFIRMATIONS: CONFIRMATIONS},
            )
            files_before = sum(1 for _ in self.blobs.glob("*"))
            confirmed = self._erase_files(producer, at)
            producer.close()
            taken = self._take(confirmed, at)
            # Tombstones follow the store's answers; the loop reads them back
            # on the item topics (and skips them).
            tombstones = relay.relay_pending()
            taken += self._take(tombstones, at)
        finally:
            relay_producer.close()
        files_after = sum(1 for _ in self.blobs.glob("*"))
        return (
            f"at {format_instant(at)}: {relayed} orders relayed;"
            f" the eraser deleted {files_before - files_after} files and sent"
            f" {confirmed} confirmations; then {tombstones} tombstones relayed"
            f" ({taken} records taken back)"
        )

    def _take(self, expected: int, at: datetime) -> int:
        taken = _consume(
            self.kafka, self.runtime, self.env, expected, at=at, deadline_s=60
        )
        self.runtime.catch_up()
        return taken

    def _erase_files(self, producer: SigningProducer, at: datetime) -> int:
        catalogue = Catalogue.shipped()
        lethe_key = lethe_signatory(
            public_path(signing_key_path(self.runtime.settings))
        )
        eraser = FileEraser(
            self.blobs.resolve(),
            store=DEMO_STORE,
            state_dir=self.blobs.parent / "eraser",
            clock=lambda: at,
        )
        answered = 0
        for record in _read_topic(self.kafka, ORDERS_TOPIC):
            try:
                order = signed_order(record, catalogue, lethe_key)
            except PoisonRecord as refused:
                click.echo(f"eraser: order refused, nothing deleted: {refused.reason}")
                continue
            if order["order_id"] in self.answered:
                continue  # answered in an earlier pass
            confirmation = eraser.answer(order)
            producer.send(
                CONFIRMATIONS,
                key=order["item_id"].encode(),
                value=catalogue.encode("ErasureConfirmation", confirmation),
            )
            self.answered.add(order["order_id"])
            answered += 1
        producer.flush()
        return answered


def _erase_one_subject(runtime: Runtime, callers: list[str], at: datetime) -> None:
    """The first caller whose recording is still kept asks to be forgotten: the
    answer then shows what the law keeps beside what goes."""
    subject_id = next((c for c in callers if _recording_kept(runtime, c)), None)
    if subject_id is None:
        click.echo("no customer with an alarm in the synthetic day")
        return
    subject_ref = runtime.app.vault.pseudonym("sector-alarm", subject_id)
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
    click.echo(f"request {request} from the first caller: {_answer(states)}")
    if runtime.app.vault.is_shredded(subject_ref):
        click.echo("  the subject's key is destroyed")
    for category, state, count in states:
        kept = "  (kept by law until due)" if category == "alarm-call-recording" else ""
        click.echo(f"  {category:<24} {state:<16} {count}{kept}")


def _answer(states: Any) -> str:
    """What the request has come to, read from the view: orders still out are
    not an erasure carried out (the stores have not confirmed them yet)."""
    out = sum(n for _, state, n in states if state == "erasure-ordered")
    if out:
        return f"orders made: {out}; {ANSWERED_ON_CONFIRM}"
    return "no order awaits a store"


def _recording_kept(runtime: Runtime, subject_id: str) -> bool:
    subject_ref = runtime.app.vault.pseudonym("sector-alarm", subject_id)
    return bool(
        runtime.views.query(
            "SELECT 1 FROM lethe_schedule WHERE subject_ref = ?"
            " AND category = 'alarm-call-recording' AND state = 'scheduled'",
            (subject_ref,),
        )
    )
