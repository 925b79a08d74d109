"""Peak RSS of a sweep over a backlog of unconfirmed orders (issue 16, part 6).

A store that is down for a week leaves every order it was sent unconfirmed.
Each sweep looks for the orders to send again (`Sweeper._reissue_unconfirmed`),
which once loaded them all at once. The figure: a sweep over N unconfirmed
orders in a fresh process, its peak RSS at N = 1,000,000 beside N / 100.
Flat means the ratio of the two stays near 1.

The backlog is written straight into the schedule view (`lethe_schedule`), as
the schedule process would have left it: every row older than the confirm
timeout (so the query selects it) and on its 7th attempt (backoff 64 h, so
none is due yet). The sweep therefore pages through every row and sends none
again: what is measured is the paging, not a million reissues.

    python -m lethe.ops.bench.unconfirmed --rows 1000000   # one measurement
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from lethe.ops.bench.infra import (
    BenchContext,
    base_settings,
    connect,
    fresh_database,
    store_env,
)
from lethe.ops.bench.process import vm_kb
from lethe.ops.bench.stats import Figure, Say, Target
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.settings import Settings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ATTEMPTS = 7  # backoff: timeout x 2^6 = 64 h, so none is due again at NOW
FLAT = 1.25  # "flat": 100 times the rows may cost at most a quarter more memory


def write_backlog(settings: Settings, rows: int) -> None:
    """`rows` unconfirmed orders in the schedule view, two hours old."""
    build_runtime(settings).app.close()  # creates the view's tables
    ordered_at = int((NOW - timedelta(hours=2)).timestamp() * 1000)
    with connect(settings) as conn:
        conn.execute(
            "INSERT INTO lethe_schedule (item_id, item_ref, subject_ref, controller,"
            " category, source_topic, state, captured_at, ingested_at, due_at, rule,"
            " cause, ordered_at, attempts)"
            " SELECT 'id-' || n, 'img-' || lpad(n::text, 9, '0'),"
            " 'subj-' || (n %% 1000),"
            " 'sector-alarm', 'verification-image', 'alarm.images.v1',"
            " 'erasure-ordered', %(at)s - 604800000, %(at)s - 604800000, %(at)s,"
            " 'r', 'retention-expired', %(at)s + (n %% 1000), %(attempts)s"
            " FROM generate_series(1, %(rows)s) AS n",
            {"at": ordered_at, "attempts": ATTEMPTS, "rows": rows},
        )
        conn.execute("ANALYZE lethe_schedule")


def sweep_once(settings: Settings) -> dict[str, Any]:
    """One sweep in this process: rows paged, orders sent again, peak RSS."""
    runtime = build_runtime(settings)
    try:
        before = time.monotonic()
        report = runtime.sweeper.sweep(NOW)
        seconds = time.monotonic() - before
    finally:
        runtime.app.close()
    peak_kb = vm_kb(os.getpid(), "VmHWM")  # this process's own (process.vm_kb)
    return {
        "reissued": report.reissued,
        "ordered": report.ordered,
        "seconds": round(seconds, 2),
        "peak_mb": round(peak_kb / 1024, 1),
    }


def sweep_in_fresh_process(settings: Settings) -> dict[str, Any]:
    env = {**os.environ, **store_env(settings)}
    done = subprocess.run(
        [sys.executable, "-m", "lethe.ops.bench.unconfirmed", "--child"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    bench: BenchContext, rows: int, runs: int, quick: bool, say: Say
) -> tuple[list[Figure], dict[str, Any]]:
    """Peak RSS at `rows` and at `rows` / 100 unconfirmed orders, `runs` times each."""
    small = max(rows // 100, 1)
    peaks: dict[int, list[dict[str, Any]]] = {small: [], rows: []}
    for n in peaks:
        with bench.database() as settings:
            write_backlog(settings, n)
            for r in range(runs):
                result = sweep_in_fresh_process(settings)
                if result["reissued"] or result["ordered"]:
                    raise RuntimeError(f"the backlog was not as meant: {result}")
                peaks[n].append(result)
                say(
                    f"unconfirmed {n:,} run {r + 1}: peak {result['peak_mb']} MB,"
                    f" sweep {result['seconds']} s"
                )
    size = f"{rows:,} unconfirmed orders (none due again), beside {small:,}"
    big = [p["peak_mb"] for p in peaks[rows]]
    ratio = [b / s["peak_mb"] for b, s in zip(big, peaks[small], strict=True)]
    figures = [
        Figure(
            "unconfirmed_peak_rss_mb",
            "sweep over unconfirmed orders: peak RSS",
            "MB",
            size,
            big,
            None,
            quick,
        ),
        Figure(
            "unconfirmed_rss_ratio",
            "sweep over unconfirmed orders: peak RSS ÷ peak RSS at 1/100 of them",
            "ratio",
            size,
            ratio,
            Target("<=", FLAT),
            quick,
        ),
    ]
    return figures, {"runs": {str(n): p for n, p in peaks.items()}}


@click.command()
@click.option("--child", is_flag=True, hidden=True)
@click.option("--rows", type=int, default=1_000_000, show_default=True)
def main(child: bool, rows: int) -> None:
    """Write a backlog of ROWS unconfirmed orders and measure one sweep over it."""
    if child:
        print(json.dumps(sweep_once(Settings.from_env())))
        return
    with fresh_database(base_settings(), keep=False) as settings:
        write_backlog(settings, rows)
        print(json.dumps(sweep_in_fresh_process(settings)))


if __name__ == "__main__":
    main()
