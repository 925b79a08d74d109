"""Sweep: erasure orders per second, relayed to Kafka (tombstones follow the
stores' answers, which the bench does not give)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from lethe.consumers.codec import Catalogue
from lethe.ops.bench import baseline
from lethe.ops.bench.infra import BenchContext, Stopwatch, relay_producer
from lethe.ops.bench.stats import Figure, Say, Target
from lethe.ops.bench.sweep_solo import CAPTURED, ingest
from lethe.ops.kafka.relay import Relay
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings


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


def measure(
    bench: BenchContext, items: int, runs: int, quick: bool, say: Say
) -> tuple[list[Figure], dict[str, Any]]:
    """`runs` sweeps of `items` due items, each on a fresh database."""
    results, plain = [], []
    for r in range(runs):
        with bench.database() as settings:
            results.append(sweep_once(bench, settings, items))
        with bench.database() as settings:
            plain.append(baseline.sweep(settings, items, CAPTURED))
        run = results[-1]
        say(
            f"sweep run {r + 1}: {run.orders_per_s:,.0f} orders/s "
            f"(order {run.order_s:.1f} s, "
            f"relay {run.relay_s:.1f} s, catch-up {run.catch_up_s:.1f} s; "
            f"plain DELETE sweep {plain[-1].per_s:,.0f} orders/s)"
        )
    figure = Figure(
        "sweep_orders_per_s",
        "sweep: erasure ordered, order relayed, schedule caught up",
        "orders/s",
        f"{items:,} due items",
        [run.orders_per_s for run in results],
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
        "baseline": [asdict(p) for p in plain],
    }
    return [figure, plain_figure, ratio], details
