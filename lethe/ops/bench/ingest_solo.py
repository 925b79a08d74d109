"""Ingest rate end to end: `python -m lethe.ops.bench.ingest_solo --items 50000`.

Publishes N verification images to a fresh topic (the embedded broker, or
LETHE_KAFKA_BOOTSTRAP), then times the consume loop taking all of them into
a fresh PostgreSQL database: from the first poll to the commit of the last
record, items per second. Projections do not run; that is `sweep_solo`.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from lethe.consumers.batch import tracking_name
from lethe.domain.application import Lethe
from lethe.ops.bench.infra import KEK, PSEUDONYM_KEY, fresh_database
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.produce import LetheProducer, Metadata
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.topics import TopicSettings, ensure
from lethe.ops.runtime.bootstrap import build_app, shipped_policies
from lethe.ops.runtime.run import RunConfig, build_loop
from lethe.ops.settings import Settings

IMAGES = "alarm.images.v1"


def publish(kafka: KafkaClientSettings, topics: TopicSettings, n: int) -> float:
    """Send N images; seconds taken (acknowledged by the broker)."""
    captured = datetime.now(UTC) - timedelta(hours=1)
    start = time.perf_counter()
    with LetheProducer(kafka, topics) as producer:
        for i in range(n):
            ref = f"bench-img-{i:08d}"
            meta = Metadata(
                "sector-alarm",
                "verification-image",
                f"bench-cust-{i // 10:07d}",
                captured,
            )
            producer.send_image(
                ref,
                meta,
                blob_uri=f"s3://bench/{ref}.jpg",
                sha256="0" * 64,
                content_type="image/jpeg",
                size_bytes=200_000,
            )
    return time.perf_counter() - start


def consume(config: RunConfig, n: int) -> tuple[float, float, int]:
    """Run the consume loop until N records are committed; (wall s, CPU s, polls)."""
    app = build_app(config.settings)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    consumer = KafkaConsumer(**config.kafka.consumer_config(group))
    producer = KafkaProducer(**config.kafka.producer_config())
    loop = build_loop(config, app, consumer, producer)
    loop.subscribe()
    while not consumer.assignment():  # the group join is not part of the rate
        consumer.poll(timeout_ms=100, max_records=1)
    _rewind(consumer)
    taken, polls, start = 0, 0, time.perf_counter()
    cpu = time.process_time()  # this process only: on a shared machine, the steadier
    while taken < n:
        taken += loop.run_once(timeout_ms=1000)
        polls += 1
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    _check(app, config.topics.name(IMAGES), consumer, n)
    consumer.close(autocommit=False)
    producer.close()
    return seconds, cpu, polls


def _rewind(consumer: KafkaConsumer) -> None:
    # The poll that waited for the assignment may have fetched a record.
    consumer.seek_to_beginning(*consumer.assignment())


def _check(app: Lethe, topic: str, consumer: KafkaConsumer, n: int) -> None:
    tracked = [
        app.process_recorder.max_tracking_id(tracking_name(tp.topic, tp.partition))
        for tp in consumer.assignment()
        if tp.topic == topic
    ]
    last = sum((offset if offset is not None else -1) + 1 for offset in tracked)
    if last != n:
        raise SystemExit(f"tracked {last} records, expected {n}")


@contextmanager
def kafka_for(bootstrap: str) -> Iterator[KafkaClientSettings]:
    if bootstrap:
        yield KafkaClientSettings(bootstrap=bootstrap)
        return
    with EmbeddedBroker() as broker:
        yield KafkaClientSettings(bootstrap=broker.bootstrap)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--max-poll-records", type=int, default=2000)
    parser.add_argument(
        "--bootstrap", default=os.environ.get("LETHE_KAFKA_BOOTSTRAP", "")
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        base = stack.enter_context(kafka_for(args.bootstrap))
        kafka = KafkaClientSettings(
            bootstrap=base.bootstrap, max_poll_records=args.max_poll_records
        )
        topics = TopicSettings(
            prefix=f"bench{uuid.uuid4().hex[:6]}.", partitions=args.partitions
        )
        admin = KafkaAdminClient(**kafka.admin_config())
        ensure(admin, topics, shipped_policies().values())
        admin.close()
        bench_keys = {"LETHE_PSEUDONYM_KEY": PSEUDONYM_KEY, "LETHE_KEK": KEK}
        settings = Settings.from_env(
            {**bench_keys, **os.environ, "LETHE_STORE": "postgres"}
        )
        settings = stack.enter_context(fresh_database(settings, args.keep))
        config = RunConfig(settings, kafka, topics)
        sent = publish(kafka, topics, args.items)
        print(
            f"publish  {args.items:>8} items {sent:8.2f} s {args.items / sent:9,.0f} /s"
        )
        took, cpu, polls = consume(config, args.items)
        rate = args.items / took
        print(
            f"ingest   {args.items:>8} items {took:8.2f} s {rate:9,.0f} /s"
            f"  ({polls} polls, max_poll_records={args.max_poll_records},"
            f" {args.partitions} partition(s), PostgreSQL)"
        )
        print(
            f"  consumer CPU {cpu:8.2f} s {args.items / cpu:9,.0f} items per CPU-second"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
