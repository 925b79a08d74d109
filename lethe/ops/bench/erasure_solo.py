"""One subject's erasure, by phase: `python -m lethe.ops.bench.erasure_solo`.

Ingests N verification images of one subject into a fresh PostgreSQL
database and catches the schedule up (not timed). Then requests the subject's
erasure and times, as `lethe run`'s tick does them: the subject's page (the
subject process orders every item), the view's first chunk of catch-up on the
orders, the relay of every order to Kafka, and the rest of the catch-up.
Prints wall and CPU seconds per phase. `--profile PATH` writes a cProfile of
the subject's page alone (the largest phase), `--no-relay` skips Kafka.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from lethe.consumers.codec import Catalogue
from lethe.ops import logging as lethe_logging
from lethe.ops.bench.erasure import CONTROLLER, _ingest, _records, _subject_id
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
from lethe.ops.runtime.bootstrap import Runtime, build_runtime
from lethe.ops.runtime.projector import SCHEDULE_CHUNK
from lethe.ops.settings import Settings

T = TypeVar("T")


def timed(label: str, work: Callable[[], T]) -> T:
    start, cpu = time.perf_counter(), time.process_time()
    result = work()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<28} {seconds:7.2f} s   (cpu {cpu:6.2f} s)")
    return result


def request(runtime: Runtime, now: datetime) -> None:
    runtime.app.request_subject_erasure(
        CONTROLLER, _subject_id(0), "solo-1", "GDPR art. 17", "bench", None, now
    )


def subject_page(runtime: Runtime, profile: str | None) -> int:
    """The page that holds the request: every item ordered, in one transaction."""
    if profile is None:
        return runtime.schedule.process_page()
    profiler = cProfile.Profile()
    done = profiler.runcall(runtime.schedule.process_page)
    profiler.dump_stats(profile)
    return done


def run(settings: Settings, items: int, bootstrap: str, profile: str | None) -> None:
    runtime = build_runtime(settings)
    now = datetime.now(UTC)
    timed(
        "ingest (not counted)",
        lambda: _ingest(runtime.app, _records(0, items, now - timedelta(hours=1)), now),
    )
    timed("schedule (not counted)", runtime.catch_up)
    relay = _relay(runtime, bootstrap) if bootstrap else None
    start, cpu = time.perf_counter(), time.process_time()
    timed("request", lambda: request(runtime, now))
    timed("subject page: order all", lambda: subject_page(runtime, profile))
    timed(
        "view: first chunk",
        lambda: runtime.schedule.run_until_idle(at_most=SCHEDULE_CHUNK - 1),
    )
    if relay is not None:
        sent = timed("relay to Kafka", relay.relay_pending)
        assert sent == items, (sent, items)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{'command to last order':<28} {seconds:7.2f} s   (cpu {cpu:6.2f} s)")
    timed("view: the rest (not counted)", runtime.catch_up)


def _relay(runtime: Runtime, bootstrap: str) -> Relay:
    client = KafkaClientSettings(bootstrap=bootstrap)
    ensure_topics(client)
    return Relay(runtime.app, relay_producer(client), Catalogue.shipped())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--profile", help="write a cProfile of the subject's page")
    parser.add_argument("--no-relay", action="store_true", help="no Kafka")
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("LETHE_KAFKA_BOOTSTRAP", ""),
        help="a Kafka cluster [default: an embedded Tansu broker]",
    )
    args = parser.parse_args(argv)
    lethe_logging.configure("WARNING")
    bench_keys = {"LETHE_PSEUDONYM_KEY": PSEUDONYM_KEY, "LETHE_KEK": KEK}
    settings = Settings.from_env({**bench_keys, **os.environ})
    with ExitStack() as stack:
        bench_settings = stack.enter_context(fresh_database(settings, False))
        bootstrap = ""
        if not args.no_relay:
            bootstrap = (
                args.bootstrap or stack.enter_context(EmbeddedBroker()).bootstrap
            )
        run(bench_settings, args.items, bootstrap, args.profile)


if __name__ == "__main__":
    main()
