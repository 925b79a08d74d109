"""Kafka throughput with kafka-python: produce then consume small records, in msgs/s.

    python -m lethe.ops.bench.kafka_throughput [--records N] [--bootstrap HOST:PORT]

Without --bootstrap it starts the embedded broker (memory storage) for the run.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.record import util as record_util

from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.settings import KafkaClientSettings


def crc32c_implementation() -> str:
    """Which CRC-32C kafka-python uses to check every fetched batch."""
    # calc_crc32c binds its implementation as a default argument at import.
    bound = record_util.calc_crc32c.__defaults__[0]
    native = record_util.crc32c_c
    return (
        "crc32c C extension"
        if native is not None and bound is native
        else "pure Python"
    )


def bench_settings(bootstrap: str) -> KafkaClientSettings:
    # Large batches both ways: the Python client, not the broker, is the limit.
    return replace(
        KafkaClientSettings(bootstrap=bootstrap, client_id="lethe-bench"),
        max_poll_records=2_000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        linger_ms=20,
        batch_size=512 * 1024,
    )


def produce(
    settings: KafkaClientSettings, topic: str, records: int, size: int
) -> float:
    """Send `records` values of `size` bytes; seconds until all are acknowledged."""
    producer = KafkaProducer(**settings.producer_config())
    value = b"x" * size
    started = time.perf_counter()
    futures = [
        producer.send(topic, key=f"item-{i}".encode(), value=value)
        for i in range(records)
    ]
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    failed = sum(1 for f in futures if f.failed())
    if failed:
        raise SystemExit(f"{failed} of {records} records were not acknowledged")
    return elapsed


def consume(
    settings: KafkaClientSettings, topic: str, partitions: int, records: int
) -> float:
    """Read the topic from the start until `records` arrived; seconds taken."""
    consumer = KafkaConsumer(**settings.consumer_config())
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    received, deadline = 0, time.monotonic() + 300
    started = time.perf_counter()
    # Count records: this broker's end offsets can trail the last acknowledged one.
    while received < records and time.monotonic() < deadline:
        received += sum(len(b) for b in consumer.poll(timeout_ms=500).values())
    elapsed = time.perf_counter() - started
    consumer.close()
    if received < records:
        raise SystemExit(f"consumed only {received} of {records} records")
    return elapsed


@contextmanager
def broker_at(bootstrap: str | None) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap


def _report(verb: str, args: argparse.Namespace, run: Callable[[], float]) -> None:
    # Client CPU per record as well: wall rates swing with whatever else the
    # machine runs, CPU time much less.
    cpu_before = time.process_time()
    seconds = run()
    cpu_us = (time.process_time() - cpu_before) / args.records * 1e6
    print(
        f"{verb} {args.records} x {args.size} B in {seconds:.2f}s: "
        f"{args.records / seconds:,.0f} msgs/s ({cpu_us:.0f} us client CPU per record)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=200, help="value bytes")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--bootstrap", help="an existing broker instead of Tansu")
    args = parser.parse_args(argv)
    print(f"kafka-python checks CRCs with: {crc32c_implementation()}")
    with broker_at(args.bootstrap) as bootstrap:
        settings = bench_settings(bootstrap)
        topic = f"bench.{uuid.uuid4().hex[:12]}"
        admin = KafkaAdminClient(**settings.admin_config())
        admin.create_topics([NewTopic(topic, args.partitions, 1)])
        admin.close()
        _report(
            "produced", args, lambda: produce(settings, topic, args.records, args.size)
        )
        _report(
            "consumed",
            args,
            lambda: consume(settings, topic, args.partitions, args.records),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
