"""Runs the figures asked for, in order, and collects them with what they ran on."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from lethe.ops.bench import (
    erasure,
    ingest,
    policy,
    rss,
    scaleout,
    sweep,
    unconfirmed,
    verify,
)
from lethe.ops.bench.infra import BenchContext, base_settings
from lethe.ops.bench.machine import describe, load
from lethe.ops.bench.publish import Encoded, Published, encode_day, send
from lethe.ops.bench.sizes import Sizes
from lethe.ops.bench.stats import Figure, Say
from lethe.ops.kafka.broker import EmbeddedBroker

GROUPS = (
    "ingest",
    "sweep",
    "erasure",
    "verify",
    "rss",
    "unconfirmed",
    "policy",
    "scaleout",
)


@dataclass
class Results:
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def say_to_stderr(line: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {line}", file=sys.stderr, flush=True)


@contextmanager
def context(bootstrap: str = "") -> Iterator[BenchContext]:
    """The broker (embedded unless `bootstrap`) and PostgreSQL from LETHE_POSTGRES_*."""
    if bootstrap:
        yield BenchContext(bootstrap, base_settings())
        return
    with EmbeddedBroker() as broker:
        yield BenchContext(broker.bootstrap, base_settings())


class Runner:
    def __init__(
        self, bench: BenchContext, sizes: Sizes, runs: int, say: Say = say_to_stderr
    ) -> None:
        self.bench, self.sizes, self.runs, self.say = bench, sizes, runs, say
        self._published: Published | None = None
        self._encoded: list[Encoded] | None = None

    def run(
        self,
        groups: tuple[str, ...],
        command: str,
        after_each: Callable[[Results], None] = lambda r: None,
    ) -> Results:
        """Each group in turn; a failing one is reported and the rest still run."""
        results = Results(
            context={
                "command": command,
                "runs": self.runs,
                "sizes": asdict(self.sizes),
                "machine": describe(self.bench.settings),
            }
        )
        for group in groups:
            started = time.perf_counter()
            load_before = load()
            try:
                figures, details = getattr(self, "_" + group)()
            except Exception as error:  # noqa: BLE001 - reported, and the run goes on
                self.say(f"{group} FAILED: {type(error).__name__}: {error}")
                results.failed[group] = f"{type(error).__name__}: {error}"
                continue
            details |= {
                "seconds": round(time.perf_counter() - started, 1),
                "load_before": load_before,
                "load_after": load(),
            }
            results.figures.extend(figures)
            results.details[group] = details
            results.context |= self._finished()
            after_each(results)
        results.context |= self._finished()
        return results

    def _finished(self) -> dict[str, Any]:
        return {
            "finished_at": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "load_at_end": load(),
        }

    def encoded(self) -> list[Encoded]:
        """The ingest workload, encoded once for every figure that sends it."""
        if self._encoded is None:
            self._encoded = encode_day(self.sizes.ingest_items)
        return self._encoded

    def published(self) -> Published:
        """The ingest workload on the broker, published once for every figure."""
        if self._published is None:
            topics = self.bench.topics(self.sizes.partitions)
            self._published = p = send(self.bench.kafka, topics, self.encoded())
            self.say(
                f"published {p.items:,} items + {p.records - p.items:,} changes "
                f"in {p.seconds:.0f} s ({p.records / p.seconds:,.0f} records/s)"
            )
        return self._published

    def _quick(self, *names: str) -> bool:
        return any(self.sizes.smaller_than_full(name) for name in names)

    def _ingest(self) -> tuple[list[Figure], dict[str, Any]]:
        quick = self._quick("ingest_items")
        return ingest.measure(self.bench, self.published(), self.runs, quick, self.say)

    def _sweep(self) -> tuple[list[Figure], dict[str, Any]]:
        s = self.sizes
        return sweep.measure(
            self.bench, s.sweep_items, self.runs, self._quick("sweep_items"), self.say
        )

    def _erasure(self) -> tuple[list[Figure], dict[str, Any]]:
        s = self.sizes
        quick = self._quick("erasure_items", "erasure_subjects")
        return erasure.measure(
            self.bench, s.erasure_subjects, s.erasure_items, self.runs, quick, self.say
        )

    def _verify(self) -> tuple[list[Figure], dict[str, Any]]:
        quick = self._quick("verify_events")
        return verify.measure(
            self.bench, self.sizes.verify_events, self.runs, quick, self.say
        )

    def _rss(self) -> tuple[list[Figure], dict[str, Any]]:
        s = self.sizes
        quick = self._quick("rss_items", "rss_window_s")
        return rss.measure(
            self.bench,
            self.published(),
            s.rss_items,
            s.rss_window_s,
            self.runs,
            quick,
            self.say,
        )

    def _unconfirmed(self) -> tuple[list[Figure], dict[str, Any]]:
        quick = self._quick("unconfirmed_orders")
        return unconfirmed.measure(
            self.bench, self.sizes.unconfirmed_orders, self.runs, quick, self.say
        )

    def _policy(self) -> tuple[list[Figure], dict[str, Any]]:
        quick = self._quick("policy_items")
        return policy.measure(
            self.bench, self.sizes.policy_items, self.runs, quick, self.say
        )

    def _scaleout(self) -> tuple[list[Figure], dict[str, Any]]:
        return scaleout.measure(
            self.bench,
            self.encoded(),
            self.sizes.partitions,
            self.sizes.scaleout_processes,
            self.runs,
            self.say,
        )
