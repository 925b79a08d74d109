"""Audit verify: events replayed and checked per second, in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from lethe.ops.bench.infra import BenchContext, Stopwatch
from lethe.ops.bench.stats import Figure, Say, Target
from lethe.ops.bench_verify import generate
from lethe.ops.settings import Settings

PAGE_SIZE = 5000


def write_history(settings: Settings, events: int) -> int:
    """A synthetic ARC history of about `events` events (not timed); how many."""
    return generate(settings.postgres_dbname, events)


def verify_once(settings: Settings) -> dict[str, Any]:
    """`bench_verify --measure-only` in a fresh process: its rate and peak RSS."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "lethe.ops.bench_verify",
            "--db",
            settings.postgres_dbname,
            "--measure-only",
            "--page-size",
            str(PAGE_SIZE),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def measure(
    bench: BenchContext, events: int, runs: int, quick: bool, say: Say
) -> tuple[list[Figure], dict[str, Any]]:
    """One history of `events` events, verified `runs` times by fresh processes."""
    with bench.database() as settings:
        watch = Stopwatch()
        written = write_history(settings, events)
        say(f"verify: wrote {written:,} events in {watch.split()[0]:.0f} s (not timed)")
        results = []
        for r in range(runs):
            results.append(verify_once(settings))
            say(f"verify run {r + 1}: {results[-1]['events_per_s']:,} events/s")
    figure = Figure(
        "verify_events_per_s",
        "audit verify: replay and check every invariant",
        "events/s",
        f"{written:,} events",
        [float(result["events_per_s"]) for result in results],
        Target(">=", 50_000),
        quick,
    )
    return [figure], {"runs": results}
