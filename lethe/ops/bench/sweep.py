"""Sweep: erasure orders per second, relayed to Kafka (tombstones follow the
stores' answers, which the bench does not give)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from eventsourcing.utils import get_topic

from lethe.consumers.codec import Catalogue
from lethe.domain.application import Lethe
from lethe.domain.sweep import Sweep
from lethe.ops.bench import baseline
from lethe.ops.bench.infra import (
    BenchContext,
    Stopwatch,
    relay_position,
    relay_producer,
)
from lethe.ops.bench.process import RunProcess
from lethe.ops.bench.stats import Figure, Say, Target
from lethe.ops.bench.sweep_solo import CAPTURED, ingest
from lethe.ops.kafka.relay import ORDERED, Relay
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings

SWEPT = get_topic(Sweep.Recorded)


@dataclass(frozen=True)
class SweepRun:
    orders: int
    order_s: float
    relay_s: float
    catch_up_s: float

    @property
    def seconds(self) -> float:
        return self.order_s + self.relay_s + self.catch_up_s

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.seconds


def sweep_once(bench: BenchContext, settings: Settings, items: int) -> SweepRun:
    """N due items: order them all, relay N orders, catch the schedule up; timed."""
    runtime = build_runtime(settings)
    ingest(runtime.app, items)  # not timed: that is the ingest figure
    runtime.catch_up()
    bench.contract_topics()
    producer = relay_producer(bench.kafka)
    relay = Relay(runtime.app, producer, Catalogue.shipped())
    now = CAPTURED + timedelta(days=8)  # every image is due
    watch = Stopwatch()
    report = runtime.sweeper.sweep(now)
    order_s, _ = watch.split()
    sent = relay.relay_pending()
    relay_s, _ = watch.split()
    runtime.catch_up()
    total_s, _ = watch.split()
    producer.close()
    runtime.app.close()
    if not report.ordered == sent == items:
        raise RuntimeError(f"ordered {report.ordered}, relayed {sent}, of {items}")
    return SweepRun(items, order_s, relay_s - order_s, total_s - relay_s)


def sweep_beside_relay(bench: BenchContext, settings: Settings, items: int) -> SweepRun:
    """The same sweep with a `lethe relay` process following the log: it sends
    each page of orders once the sweep commits it, while this process orders
    and then catches the view up, as `lethe run`'s projector does. Timed to the
    later of the view caught up and the last order acknowledged."""
    runtime = build_runtime(settings)
    ingest(runtime.app, items)
    runtime.catch_up()
    topics = bench.contract_topics()
    relay = RunProcess(bench.env(settings, topics), command="relay")
    try:
        relay.wait_until("relay lease", lambda: bool(relay.lines("lease taken")))
        now = CAPTURED + timedelta(days=8)
        watch = Stopwatch()
        report = runtime.sweeper.sweep(now)
        order_s, _ = watch.split()
        runtime.catch_up()
        caught_up_s, _ = watch.split()
        last = _last_order(runtime.app)
        relay.wait_until(
            "relayed sweep", lambda: relay_position(runtime.app) >= last, poll_s=0.02
        )
        total_s, _ = watch.split()
    finally:
        relay.stop()
        runtime.app.close()
    if report.ordered != items:
        raise RuntimeError(f"ordered {report.ordered} of {items}")
    # Overlapping phases: the relay's share is what it took after the catch-up.
    return SweepRun(items, order_s, total_s - caught_up_s, caught_up_s - order_s)


def _last_order(app: Lethe) -> int:
    """The sweep's last order: just below the sweep's own record, the head."""
    recorder = app.process_recorder
    head = recorder.max_notification_id() or 0
    below, top = recorder.select_notifications(head - 1, 2)
    if (below.topic, top.topic) != (ORDERED, SWEPT):
        raise RuntimeError(f"the log does not end with the sweep: {top.topic}")
    return int(below.id)


def measure(
    bench: BenchContext, items: int, runs: int, quick: bool, say: Say
) -> tuple[list[Figure], dict[str, Any]]:
    """`runs` sweeps of `items` due items, each on a fresh database."""
    results, beside, plain = [], [], []
    for r in range(runs):
        with bench.database() as settings:
            results.append(sweep_once(bench, settings, items))
        with bench.database() as settings:
            beside.append(sweep_beside_relay(bench, settings, items))
        with bench.database() as settings:
            plain.append(baseline.sweep(settings, items, CAPTURED))
        run, other = results[-1], beside[-1]
        say(
            f"sweep run {r + 1}: {run.orders_per_s:,.0f} orders/s "
            f"(order {run.order_s:.1f} s, "
            f"relay {run.relay_s:.1f} s, catch-up {run.catch_up_s:.1f} s); "
            f"beside `lethe relay` {other.orders_per_s:,.0f} orders/s "
            f"(order {other.order_s:.1f} s, catch-up {other.catch_up_s:.1f} s, "
            f"relay after {other.relay_s:.1f} s); "
            f"plain DELETE sweep {plain[-1].per_s:,.0f} orders/s"
        )
    figure = Figure(
        "sweep_orders_per_s",
        "sweep, one process: ordered, then relayed, then schedule caught up",
        "orders/s",
        f"{items:,} due items",
        [run.orders_per_s for run in results],
        Target(">=", 5000),
        quick,
    )
    beside_figure = Figure(
        "sweep_beside_relay_orders_per_s",
        "sweep with `lethe relay` beside: relayed as ordered, schedule caught up",
        "orders/s",
        f"{items:,} due items",
        [run.orders_per_s for run in beside],
        Target(">=", 5000),
        quick,
    )
    size = f"{items:,} due items"
    plain_figure = Figure(
        "baseline_sweep_orders_per_s",
        "baseline: one DELETE ... RETURNING into an orders table",
        "orders/s",
        size,
        [p.per_s for p in plain],
        None,
        quick,
    )
    ratio = Figure(
        "sweep_vs_baseline",
        "sweep ÷ plain baseline (orders/s ÷ orders/s)",
        "ratio",
        size,
        [run.orders_per_s / p.per_s for run, p in zip(results, plain, strict=True)],
        None,
        quick,
    )
    details = {
        "runs": [asdict(run) for run in results],
        "beside_relay": [asdict(run) for run in beside],
        "baseline": [asdict(p) for p in plain],
    }
    return [figure, beside_figure, plain_figure, ratio], details
