"""The limits ingest stands on: kafka-python + fastavro, and PostgreSQL COPY, alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from lethe.consumers.codec import Catalogue
from lethe.ops.bench.infra import BenchContext, Stopwatch, connect, events_table
from lethe.ops.bench.publish import Published
from lethe.ops.settings import Settings

PROBE_TABLE = "bench_copy_probe"


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.count / self.seconds


def consume_and_decode(bench: BenchContext, published: Published) -> Rate:
    """Read every published record from the start and decode its value; no store."""
    catalogue = Catalogue.shipped()
    consumer = KafkaConsumer(**bench.kafka.consumer_config(None))
    consumer.assign(_partitions(consumer, published))
    consumer.seek_to_beginning()
    received, watch = 0, Stopwatch()
    # Count records: this broker's end offsets can trail the last one.
    while received < published.records:
        for records in consumer.poll(timeout_ms=1000).values():
            for record in records:
                catalogue.decode(record.value)
            received += len(records)
    seconds, _ = watch.split()
    consumer.close()
    return Rate(received, seconds)


def _partitions(consumer: KafkaConsumer, published: Published) -> list[TopicPartition]:
    names = [published.topics.name(t) for t in published.counts]
    return [
        TopicPartition(name, p)
        for name in names
        for p in sorted(consumer.partitions_for_topic(name) or {0})
    ]


def copy_rows(settings: Settings) -> Rate:
    """COPY the rows ingest wrote into an empty table shaped like the events table.

    A logged table with the events table's keys and indexes (LIKE ... INCLUDING
    ALL), so it pays for the same WAL and index maintenance; the rows are the
    ones Lethe's ingest committed, so the payload sizes are the same.
    """
    table = events_table(settings)
    with connect(settings) as conn:
        rows = _stored_rows(conn, table)
        conn.execute(f"DROP TABLE IF EXISTS {PROBE_TABLE}")
        conn.execute(f"CREATE TABLE {PROBE_TABLE} (LIKE {table} INCLUDING ALL)")
        columns = "originator_id, originator_version, topic, state"
        watch = Stopwatch()
        sql = f"COPY {PROBE_TABLE} ({columns}) FROM STDIN"
        with conn.transaction(), conn.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        seconds, _ = watch.split()
        conn.execute(f"DROP TABLE {PROBE_TABLE}")
    return Rate(len(rows), seconds)


def _stored_rows(conn: Any, table: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        f"SELECT originator_id, originator_version, topic, state FROM {table}"
        " ORDER BY notification_id"
    ).fetchall()
