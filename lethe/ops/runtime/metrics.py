"""Lethe's Prometheus metrics: counters where the work is done, gauges at scrape.

Counters and the consumer's lag are kept by the process that does the work
(`lethe run`); they start at zero with each process, as Prometheus expects.
Everything else is read from the store's views when scraped, through a cache
of a few seconds, so any process that opens the store (`lethe serve` too)
exports the same figures and a burst of scrapes costs one set of queries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily, Metric

from lethe.consumers.batch import Taken
from lethe.projections.health import Health

CACHE_S = 5.0  # how long one reading of the views serves scrapes
log = structlog.get_logger("lethe.metrics")


class Metrics:
    """The counters of one process, in a registry of its own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.records = Counter(
            "lethe_records",
            "Inbound records by outcome: taken (a new item or a change applied),"
            " duplicate (a redelivery, nothing changed), dead_lettered.",
            ["topic", "outcome"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "lethe_consumer_lag",
            "Records on the broker this process has not taken yet, per partition"
            " (the broker's high watermark minus the next offset the store expects).",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.sweeps = Counter(
            "lethe_sweeps", "Sweeps this process ran.", registry=self.registry
        )
        self.orders = Counter(
            "lethe_erasure_orders",
            "Erasure orders the sweeps of this process wrote: ordered or reissued.",
            ["kind"],
            registry=self.registry,
        )
        self.lease_held = Gauge(
            "lethe_lease_held",
            "1 while this process holds the projector lease (follows the log,"
            " sweeps, relays), else 0.",
            registry=self.registry,
        )

    def count_taken(self, topic: str, taken: Taken) -> None:
        """The consume loop's one call per partition batch."""
        self.records.labels(topic, "taken").inc(taken.new + taken.changes)
        self.records.labels(topic, "duplicate").inc(taken.duplicates)
        self.records.labels(topic, "dead_lettered").inc(taken.dead)

    def observe_lag(
        self,
        expected: Mapping[Any, int],
        highwater: Callable[[Any], int | None],
        assigned: Collection[Any] | None = None,
    ) -> None:
        """`expected`: TopicPartition -> the next offset the store expects.

        Only the partitions assigned now: one given away in a rebalance is
        another member's to report, and would otherwise keep its last lag.
        """
        current = {
            tp: offset
            for tp, offset in expected.items()
            if assigned is None or tp in assigned
        }
        self.consumer_lag.clear()
        for tp, offset in current.items():
            high = highwater(tp)
            if high is not None:
                self.consumer_lag.labels(tp.topic, str(tp.partition)).set(
                    max(0, high - offset)
                )

    def count_sweep(self, ordered: int, reissued: int) -> None:
        self.sweeps.inc()
        self.orders.labels("ordered").inc(ordered)
        self.orders.labels("reissued").inc(reissued)


class HealthCache:
    """The latest Health, read again once it is older than CACHE_S.

    A failed reading is remembered as such for as long, and raised again: the
    store being down must not turn every scrape into a connection attempt.
    """

    def __init__(self, read: Callable[[], Health], ttl_s: float = CACHE_S) -> None:
        self.read, self.ttl_s = read, ttl_s
        self._lock = threading.Lock()
        self._at = -float("inf")
        self._value: Health | Exception | None = None

    def get(self) -> Health:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl_s:
                try:
                    self._value = self.read()
                except Exception as error:  # noqa: BLE001 - reported, not hidden
                    log.warning("store not readable for metrics", error=str(error))
                    self._value = error
                self._at = time.monotonic()
            if isinstance(self._value, Exception):
                raise self._value
            assert self._value is not None
            return self._value


class StoreCollector:
    """The gauges read from the views (registered beside the counters)."""

    def __init__(
        self, cache: HealthCache, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.cache = cache
        self.clock = clock or (lambda: datetime.now(UTC))

    def describe(self) -> list[Metric]:
        # Nothing: else registering would collect, i.e. query the store at start.
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            health = self.cache.get()
        except Exception:  # noqa: BLE001 - the scrape says so instead
            yield _gauge("lethe_store_up", "1 if the store answered the scrape.", 0)
            return
        yield _gauge("lethe_store_up", "1 if the store answered the scrape.", 1)
        yield from _store_gauges(health)
        yield from _runner_gauges(health, self.clock())


def _store_gauges(h: Health) -> Iterator[Metric]:
    yield _gauge("lethe_log_head", "The last notification id of the log.", h.log_head)
    yield _gauge(
        "lethe_projector_position",
        "How far the schedule view has read the log (a notification id).",
        h.projector_position,
    )
    yield _gauge(
        "lethe_projector_lag",
        "Notifications in the log the schedule view has not read yet.",
        h.projector_lag,
    )
    yield _gauge(
        "lethe_items_overdue",
        "Items due for longer than a sweep interval, free, and not ordered.",
        h.overdue,
    )
    yield _gauge(
        "lethe_orders_unconfirmed",
        "Erasure orders not confirmed within LETHE_CONFIRM_TIMEOUT_S.",
        h.unconfirmed,
    )
    yield _gauge("lethe_orders_failed", "Orders a store answered FAILED.", h.failed)
    yield _gauge(
        "lethe_requests_near_deadline",
        "Open subject requests due within LETHE_ANSWER_WARNING_DAYS.",
        h.requests_near_deadline,
    )
    yield _gauge(
        "lethe_requests_past_deadline",
        "Open subject requests past their deadline.",
        h.requests_past_deadline,
    )
    yield _gauge(
        "lethe_set_aside_records", "Records set aside (see lethe status).", h.set_aside
    )
    yield _gauge(
        "lethe_partitions_halted",
        "Inbound partitions halted because their offsets went back.",
        h.halted_partitions,
    )


def _runner_gauges(h: Health, now: datetime) -> Iterator[Metric]:
    runner = h.runner
    holder = GaugeMetricFamily(
        "lethe_lease_holder",
        "1 for the lethe run (host:pid) holding the projector lease by its"
        " heartbeat; absent when none does.",
        labels=["holder"],
    )
    if runner is not None and runner.holds(now):
        holder.add_metric([runner.holder], 1)
    yield holder
    yield _gauge(
        "lethe_lease_holder_up",
        "1 if a lethe run holds the projector lease (heartbeat fresh), else 0.",
        int(runner is not None and runner.holds(now)),
    )
    if runner is None:
        return
    yield _gauge(
        "lethe_sweep_interval_seconds",
        "LETHE_SWEEP_INTERVAL_S of the lease holder.",
        runner.sweep_interval.total_seconds(),
    )
    if runner.sweep_finished_at is not None:
        yield _gauge(
            "lethe_last_sweep_timestamp_seconds",
            "When the last sweep of lethe run finished (Unix time).",
            runner.sweep_finished_at.timestamp(),
        )
    if runner.sweep_duration_s is not None:
        yield _gauge(
            "lethe_last_sweep_duration_seconds",
            "How long the last sweep took.",
            runner.sweep_duration_s,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)
