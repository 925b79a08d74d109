"""The plain baseline: what a team without Lethe would build, timed in the same run.

Ingest: consume, decode, compute the due instant with the same policies, and
INSERT one row per item, the Kafka offsets committed in the same transaction
(so a crash neither loses nor doubles a record). Sweep: a cron-style
`DELETE ... WHERE due_at <= now` that writes one order row per item it removes.
No event history, no holds, no audit, no tombstones: the figures Lethe's are
divided by, so a reader sees what the history and the guarantees cost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from kafka import KafkaConsumer

from lethe.consumers.codec import Catalogue
from lethe.consumers.records import LINE_CATEGORIES
from lethe.domain.policy import ItemFacts, Policy
from lethe.ops.bench.infra import BenchContext, Stopwatch, connect
from lethe.ops.bench.limits import Rate
from lethe.ops.bench.publish import Published
from lethe.ops.runtime.bootstrap import shipped_policies
from lethe.ops.settings import Settings

ITEM_RECORDS = ("AlarmEvent", "VerificationImage", "CallRecording")
DDL = [
    "CREATE TABLE baseline_items (item_id TEXT PRIMARY KEY, subject_id TEXT NOT NULL,"
    " controller TEXT NOT NULL, category TEXT NOT NULL,"
    " captured_at TIMESTAMPTZ NOT NULL, due_at TIMESTAMPTZ)",
    "CREATE INDEX baseline_items_due ON baseline_items (due_at)",
    "CREATE TABLE baseline_offsets (topic TEXT NOT NULL, part INTEGER NOT NULL,"
    " next_offset BIGINT NOT NULL, PRIMARY KEY (topic, part))",
    "CREATE TABLE baseline_orders (order_id UUID PRIMARY KEY,"
    " item_id TEXT NOT NULL UNIQUE, ordered_at TIMESTAMPTZ NOT NULL)",
]
INSERT_ITEM = (
    "INSERT INTO baseline_items VALUES (%s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (item_id) DO NOTHING"
)
UPSERT_OFFSET = (
    "INSERT INTO baseline_offsets VALUES (%s, %s, %s) ON CONFLICT (topic, part)"
    " DO UPDATE SET next_offset = EXCLUDED.next_offset"
)
SWEEP = (
    "WITH gone AS (DELETE FROM baseline_items WHERE due_at <= %s RETURNING item_id)"
    " INSERT INTO baseline_orders SELECT gen_random_uuid(), item_id, %s FROM gone"
)


def create_tables(settings: Settings) -> None:
    with connect(settings) as conn:
        for statement in DDL:
            conn.execute(statement)


def row_of(
    name: str, value: dict[str, Any], policies: dict[str, Policy]
) -> tuple[Any, ...] | None:
    """The row a plain service keeps for one decoded record; None for non-items."""
    if name not in ITEM_RECORDS:
        return None
    meta = value["metadata"]
    category = (
        LINE_CATEGORIES[value["line"]] if name == "CallRecording" else meta["category"]
    )
    facts = ItemFacts(meta["captured_at"], police_relevant=meta["police_relevant"])
    due = policies[meta["controller"]].due(category, facts).at
    return (
        value["item_id"],
        meta["subject_id"],
        meta["controller"],
        category,
        meta["captured_at"],
        due,
    )


def ingest(bench: BenchContext, settings: Settings, published: Published) -> Rate:
    """Every published record through the plain consumer into `settings`' database."""
    create_tables(settings)
    catalogue, policies = Catalogue.shipped(), shipped_policies()
    consumer = KafkaConsumer(**bench.kafka.consumer_config(f"base-{uuid.uuid4().hex}"))
    consumer.subscribe([published.topics.name(t) for t in published.counts])
    while not consumer.assignment():  # the group join is not part of the rate
        consumer.poll(timeout_ms=100, max_records=1)
    consumer.seek_to_beginning(*consumer.assignment())
    taken, items, watch = 0, 0, Stopwatch()
    with psycopg.connect(**_conninfo(settings)) as conn:
        while taken < published.records:
            for tp, records in consumer.poll(timeout_ms=1000).items():
                rows = [row_of(*catalogue.decode(r.value), policies) for r in records]
                kept = [row for row in rows if row is not None]
                with conn.transaction(), conn.cursor() as cursor:
                    cursor.executemany(INSERT_ITEM, kept)
                    cursor.execute(
                        UPSERT_OFFSET, (tp.topic, tp.partition, records[-1].offset + 1)
                    )
                taken, items = taken + len(records), items + len(kept)
        seconds, _ = watch.split()
        stored = conn.execute("SELECT count(*) FROM baseline_items").fetchone()
    consumer.close(autocommit=False)
    if items != published.items or stored is None or stored[0] != items:
        raise RuntimeError(f"baseline took {items} items of {published.items}")
    return Rate(items, seconds)


def _conninfo(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.postgres_host,
        "port": settings.postgres_port,
        "user": settings.postgres_user,
        "password": settings.postgres_password,
        "dbname": settings.postgres_dbname,
    }


@dataclass(frozen=True)
class SweepBaseline:
    orders: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.orders / self.seconds


def sweep(settings: Settings, items: int, captured: datetime) -> SweepBaseline:
    """`items` due rows, then one timed cron-style DELETE that writes their orders."""
    create_tables(settings)
    with connect(settings) as conn, conn.cursor() as cursor:
        rows = [
            (
                f"base-img-{i:07d}",
                f"base-cust-{i // 10:06d}",
                "sector-alarm",
                "verification-image",
                captured,
                captured + timedelta(days=7),
            )
            for i in range(items)
        ]
        with cursor.copy("COPY baseline_items FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute("ANALYZE baseline_items")
        now = captured + timedelta(days=8)
        watch = Stopwatch()
        with conn.transaction():
            ordered = conn.execute(SWEEP, (now, now)).rowcount
        seconds, _ = watch.split()
    if ordered != items:
        raise RuntimeError(f"the baseline sweep ordered {ordered} of {items}")
    return SweepBaseline(ordered, seconds)
