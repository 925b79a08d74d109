"""Ingest: records on the topics to events committed, by `lethe run`'s consume loop."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from lethe.consumers.batch import tracking_name
from lethe.ops.bench import baseline
from lethe.ops.bench.infra import BenchContext, Stopwatch
from lethe.ops.bench.limits import consume_and_decode, copy_rows
from lethe.ops.bench.publish import Published
from lethe.ops.bench.stats import Figure, Say, Target
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.runtime.run import RunConfig, build_loop
from lethe.ops.settings import Settings


@dataclass(frozen=True)
class IngestRun:
    items: int
    records: int
    seconds: float
    cpu_seconds: float
    polls: int

    @property
    def items_per_s(self) -> float:
        return self.items / self.seconds


def consume_all(
    bench: BenchContext, settings: Settings, published: Published
) -> IngestRun:
    """Take every published record into `settings`' (empty) database; timed."""
    config = RunConfig(settings, bench.kafka, published.topics)
    app = build_app(settings)
    consumer = KafkaConsumer(
        **bench.kafka.consumer_config(f"bench-{uuid.uuid4().hex[:8]}")
    )
    producer = KafkaProducer(**bench.kafka.producer_config())  # dead letters
    loop = build_loop(config, app, consumer, producer)
    loop.subscribe()
    while not consumer.assignment():  # the group join is not part of the rate
        consumer.poll(timeout_ms=100, max_records=1)
    consumer.seek_to_beginning(*consumer.assignment())  # that poll may have read one
    taken, polls, watch = 0, 0, Stopwatch()
    while taken < published.records:
        taken += loop.run_once(timeout_ms=1000)
        polls += 1
    seconds, cpu = watch.split()
    _check(app, consumer, published)
    consumer.close(autocommit=False)
    producer.close()
    app.close()
    return IngestRun(published.items, published.records, seconds, cpu, polls)


def _check(app: object, consumer: KafkaConsumer, published: Published) -> None:
    """Every record's offset is in the tracking table: nothing was skipped."""
    recorder = app.process_recorder  # type: ignore[attr-defined]
    tracked = 0
    for tp in consumer.assignment():
        last = recorder.max_tracking_id(tracking_name(tp.topic, tp.partition))
        tracked += 0 if last is None else last + 1
    if tracked != published.records:
        raise RuntimeError(f"tracked {tracked} records, published {published.records}")


def measure(
    bench: BenchContext, published: Published, runs: int, quick: bool, say: Say
) -> tuple[list[Figure], dict[str, Any]]:
    """Ingest and its two limits, `runs` times each, on the same records."""
    rows: dict[str, list[float]] = {k: [] for k in KEYS}
    details = []
    for r in range(runs):
        with bench.database() as settings:
            run = consume_all(bench, settings, published)
            copied = copy_rows(settings)
        decoded = consume_and_decode(bench, published)
        with bench.database() as settings:
            plain = baseline.ingest(bench, settings, published)
        rows["ingest_items_per_s"].append(run.items_per_s)
        rows["baseline_items_per_s"].append(plain.per_s)
        rows["ingest_vs_baseline"].append(run.items_per_s / plain.per_s)
        rows["consume_decode_msgs_per_s"].append(decoded.per_s)
        rows["copy_rows_per_s"].append(copied.per_s)
        rows["ingest_vs_consume"].append(run.records / run.seconds / decoded.per_s)
        rows["ingest_vs_copy"].append(copied.count / run.seconds / copied.per_s)
        details.append(
            {
                **asdict(run),
                "rows": copied.count,
                "copy_s": copied.seconds,
                "consume_decode_s": decoded.seconds,
                "baseline_s": plain.seconds,
            }
        )
        say(
            f"ingest run {r + 1}: {run.items_per_s:,.0f} items/s "
            f"(consume+decode {decoded.per_s:,.0f} msgs/s, "
            f"COPY {copied.per_s:,.0f} rows/s, plain baseline {plain.per_s:,.0f} "
            "items/s)"
        )
    size = (
        f"{published.items:,} items + {published.records - published.items:,} "
        f"changes, {published.topics.partitions} partitions/topic"
    )
    figures = [
        Figure(key, label, unit, size, vals, TARGETS.get(key), quick)
        for (key, (label, unit)), vals in zip(KEYS.items(), rows.values(), strict=True)
    ]
    return figures, {"runs": details, "published": asdict_published(published)}


def asdict_published(published: Published) -> dict[str, Any]:
    return {
        "counts": published.counts,
        "seconds": round(published.seconds, 2),
        "prefix": published.topics.prefix,
    }


KEYS = {
    "ingest_items_per_s": ("ingest: topic → committed in the event store", "items/s"),
    "consume_decode_msgs_per_s": (
        "limit: kafka-python consume + fastavro decode",
        "msgs/s",
    ),
    "copy_rows_per_s": ("limit: PostgreSQL COPY of the same rows", "rows/s"),
    "ingest_vs_consume": ("ingest ÷ consume+decode (records/s ÷ msgs/s)", "ratio"),
    "ingest_vs_copy": ("ingest ÷ COPY (event rows/s ÷ rows/s)", "ratio"),
    "baseline_items_per_s": (
        "baseline: consume, decode, due, INSERT + offset per poll",
        "items/s",
    ),
    "ingest_vs_baseline": ("ingest ÷ plain baseline (items/s ÷ items/s)", "ratio"),
}
# Issue 16: one process, beside what it is made of and what a team would build.
TARGETS = {
    "ingest_items_per_s": Target(">=", 8000),
    "ingest_vs_consume": Target(">=", 0.2),
    "ingest_vs_baseline": Target(">=", 0.5),
}
