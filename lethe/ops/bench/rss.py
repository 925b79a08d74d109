"""Peak memory of a `lethe run` process over a store holding many live items."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from lethe.consumers.batch import tracking_name
from lethe.ops.bench.fill import fill_live_items
from lethe.ops.bench.infra import BenchContext, Stopwatch
from lethe.ops.bench.process import RunProcess, vm_kb
from lethe.ops.bench.publish import Published
from lethe.ops.bench.stats import Figure, Say, Target
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.settings import Settings
from lethe.projections.schedule import TRACKING_NAME as SCHEDULE

SAMPLE_S = 0.5


@dataclass(frozen=True)
class RssRun:
    peak_mb: float  # VmHWM at the end of the window
    window_s: float
    taken: int  # Kafka records taken during the window
    scheduled_to: int  # the schedule's position in the notification log
    log_notifications: int


def run_window(
    bench: BenchContext, settings: Settings, published: Published, window_s: float
) -> RssRun:
    """Start `lethe run` on the database, let it work `window_s`, read its VmHWM."""
    env = bench.env(settings, published.topics) | {"LETHE_SWEEP_INTERVAL_S": "5"}
    process = RunProcess(env, log_level="WARNING")
    try:
        peak = _watch(process, window_s)
    finally:
        process.stop()
    return RssRun(peak, window_s, *_progress(settings, published))


def _watch(process: RunProcess, window_s: float) -> float:
    """Sample until the window closes; the high-water mark in MB."""
    peak, deadline = 0.0, time.monotonic() + window_s
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"lethe run exited early:\n{process.tail()}")
        peak = max(peak, vm_kb(process.pid, "VmHWM") / 1024)
        time.sleep(SAMPLE_S)
    return max(peak, vm_kb(process.pid, "VmHWM") / 1024)


def _progress(settings: Settings, published: Published) -> tuple[int, int, int]:
    app = build_app(settings)
    recorder = app.process_recorder
    taken = 0
    for topic in published.counts:
        for p in range(published.topics.partitions):
            name = tracking_name(published.topics.name(topic), p)
            last = recorder.max_tracking_id(name)
            taken += 0 if last is None else last + 1
    scheduled = recorder.max_tracking_id(SCHEDULE) or 0
    total = recorder.max_notification_id() or 0
    app.close()
    return taken, scheduled, total


def measure(
    bench: BenchContext,
    published: Published,
    items: int,
    window_s: float,
    runs: int,
    quick: bool,
    say: Say,
) -> tuple[list[Figure], dict[str, Any]]:
    """One store of `items` live items; `runs` processes, each on its own copy."""
    with bench.database() as template:
        watch = Stopwatch()
        filled = fill_live_items(template, items)
        say(
            f"rss: {filled:,} live items written in {watch.split()[0]:.0f} s"
            " (not timed)"
        )
        results = []
        for r in range(runs):
            with bench.copy_of(template.postgres_dbname) as settings:
                results.append(run_window(bench, settings, published, window_s))
            say(
                f"rss run {r + 1}: peak {results[-1].peak_mb:.0f} MB "
                f"({results[-1].taken:,} records taken, schedule at "
                f"{results[-1].scheduled_to:,} of {results[-1].log_notifications:,})"
            )
    figure = Figure(
        "run_peak_rss_mb",
        "peak RSS of `lethe run` (VmHWM)",
        "MB",
        f"{filled:,} live items in the store + {published.records:,} records on the "
        f"topics, {window_s:.0f} s",
        [run.peak_mb for run in results],
        Target("<", 500),
        quick,
    )
    return [figure], {"runs": [asdict(run) for run in results], "live_items": filled}
