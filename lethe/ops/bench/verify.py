"""Audit verify: events replayed and checked per second, in processes of its own.

As `lethe audit verify` runs on PostgreSQL: one worker process per CPU, each
replaying a part of the streams (lethe.ops.runtime.verify_parallel).
"""

from __future__ import annotations

from typing import Any

from lethe.ops.bench.infra import BenchContext, Stopwatch
from lethe.ops.bench.stats import Figure, Say, Target
from lethe.ops.bench.verify_history import generate, measure_in_fresh_process
from lethe.ops.runtime.verify_parallel import default_workers
from lethe.ops.settings import Settings

PAGE_SIZE = 5000


def write_history(settings: Settings, events: int) -> int:
    """A synthetic ARC history of about `events` events (not timed); how many."""
    return generate(settings.postgres_dbname, events)


def verify_once(settings: Settings, workers: int) -> dict[str, Any]:
    """`verify_history --measure-only` in a fresh process: its rate and peak RSS."""
    return measure_in_fresh_process(settings.postgres_dbname, PAGE_SIZE, workers)


def measure(
    bench: BenchContext, events: int, runs: int, quick: bool, say: Say
) -> tuple[list[Figure], dict[str, Any]]:
    """One history of `events` events, verified `runs` times by fresh processes."""
    workers = default_workers(bench.settings)
    with bench.database() as settings:
        watch = Stopwatch()
        written = write_history(settings, events)
        say(f"verify: wrote {written:,} events in {watch.split()[0]:.0f} s (not timed)")
        results = []
        for r in range(runs):
            results.append(verify_once(settings, workers))
            say(f"verify run {r + 1}: {results[-1]['events_per_s']:,} events/s")
    figure = Figure(
        "verify_events_per_s",
        "audit verify: replay and check every invariant",
        "events/s",
        f"{written:,} events, {workers} {'worker' if workers == 1 else 'workers'}",
        [float(result["events_per_s"]) for result in results],
        Target(">=", 100_000),  # issue 16
        quick,
    )
    return [figure], {"runs": results}
