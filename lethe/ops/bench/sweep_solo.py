"""Sweep throughput: `python -m lethe.ops.bench.sweep_solo --items 20000`.

Ingests N verification images into a fresh PostgreSQL database, catches the
schedule up, then times one sweep at captured + 8 days: ordering every item,
relaying each order to Kafka, and the schedule's catch-up on the
orders. Prints each phase and the total in orders per second.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from lethe.consumers.codec import Catalogue
from lethe.domain.application import IngestRecord, Lethe
from lethe.ops import logging as lethe_logging
from lethe.ops.bench.infra import (
    KEK,
    PSEUDONYM_KEY,
    ensure_topics,
    fresh_database,
    relay_producer,
)
from lethe.ops.kafka.broker import EmbeddedBroker
from lethe.ops.kafka.relay import Relay
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings

CAPTURED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T = TypeVar("T")


def records(n: int) -> Iterator[IngestRecord]:
    for i in range(n):
        ref = f"bench-img-{i:07d}"
        yield IngestRecord(
            item_ref=ref,
            kind="VerificationImage",
            source_topic="alarm.images.v1",
            source_partition=0,
            source_offset=i,
            controller="sector-alarm",
            category="verification-image",
            subject_id=f"bench-cust-{i // 10:06d}",
            captured_at=CAPTURED + timedelta(milliseconds=i),
            blob_uri=f"file:///b/{ref}",
            sha256="0" * 64,
            content=ref.encode(),
        )


def ingest(app: Lethe, n: int, batch: int = 1000) -> None:
    pending = list(records(n))
    for start in range(0, n, batch):
        app.ingest(pending[start : start + batch], at=CAPTURED + timedelta(minutes=1))


def timed(label: str, work: Callable[[], T], items: int) -> tuple[T, float]:
    start, cpu = time.perf_counter(), time.process_time()
    result = work()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"{label:<26} {seconds:7.2f} s  {items / seconds:8,.0f} /s   (cpu {cpu:6.2f} s)"
    )
    return result, seconds


def run(settings: Settings, items: int, bootstrap: str, relay_page: int) -> float:
    runtime = build_runtime(settings)
    app, sweeper = runtime.app, runtime.sweeper
    timed("ingest (not counted)", lambda: ingest(app, items), items)
    timed("schedule (not counted)", runtime.catch_up, items)
    client = KafkaClientSettings(bootstrap=bootstrap)
    ensure_topics(client)
    kafka = relay_producer(client)
    relay = Relay(app, kafka, Catalogue.shipped(), page_size=relay_page)
    now = CAPTURED + timedelta(days=8)
    report, t_sweep = timed("sweep: order", lambda: sweeper.sweep(now), items)
    sent, t_relay = timed("relay to Kafka", relay.relay_pending, items)
    _, t_catch = timed("schedule catch-up", runtime.catch_up, items)
    kafka.close()
    assert report.ordered == items == sent, (report, sent)
    total = t_sweep + t_relay + t_catch
    print(f"{'sweep total':<26} {total:7.2f} s  {items / total:8,.0f} orders/s")
    return items / total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--relay-page", type=int, default=1000)
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("LETHE_KAFKA_BOOTSTRAP", ""),
        help="a Kafka cluster [default: an embedded Tansu broker]",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args(argv)
    lethe_logging.configure("WARNING")  # a log line a page is noise here
    # The bench's keys, from outside the database, as PostgreSQL requires.
    bench_keys = {"LETHE_PSEUDONYM_KEY": PSEUDONYM_KEY, "LETHE_KEK": KEK}
    settings = Settings.from_env({**bench_keys, **os.environ})
    with ExitStack() as stack:
        bench_settings = stack.enter_context(fresh_database(settings, args.keep))
        bootstrap = args.bootstrap or stack.enter_context(EmbeddedBroker()).bootstrap
        run(bench_settings, args.items, bootstrap, args.relay_page)


if __name__ == "__main__":
    main()
