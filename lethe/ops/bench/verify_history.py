"""Benchmark: the replay rate and peak memory of `lethe audit verify` on PostgreSQL.

    python -m lethe.ops.bench.verify_history --events 1000000 [--keep] [--workers N]
    python -m lethe.ops.bench.verify_history --db lethe_bench_<hex> --measure-only

Creates a database `lethe_bench_<hex>`, writes a synthetic history (ingest,
schedule, holds, erasure orders and confirmations, in the proportions of an ARC
day), then runs the verification in a fresh process, so that its peak RSS is
the replay's own and not the generator's. With N workers the figures count the
workers too: their CPU time, and the peak RSS of the largest. PostgreSQL's own
CPU is in neither, and other work on the machine shows in the load average.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import click
import psycopg

from lethe.domain.application import IngestRecord
from lethe.domain.item import ErasureCause, Outcome
from lethe.ops.bench.process import ChildrenPeak, vm_kb
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.runtime.verify_parallel import default_workers, verify_store
from lethe.ops.settings import Settings
from lethe.projections.audit_verify import VerifyLimits

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CATEGORIES = (
    "arming-log",
    "verification-image",
    "alarm-event",
    "service-call-recording",
)
BATCH = 1000


def _settings(dbname: str) -> Settings:
    return Settings.from_env(
        {
            "LETHE_STORE": "postgres",
            "LETHE_POSTGRES_DBNAME": dbname,
            "LETHE_PSEUDONYM_KEY": "22" * 32,
            "LETHE_KEK": "33" * 32,
        }
    )


def generate(dbname: str, events: int, seed: int = 5) -> int:
    """Write about `events` events; returns how many were written."""
    app = build_app(_settings(dbname))
    rng, written, n = random.Random(seed), 0, 0
    while written < events:
        batch = []
        for _ in range(BATCH):
            n += 1
            batch.append(_item(app, rng, n))
        app.record(*batch)
        written = app.process_recorder.max_notification_id() or 0
    app.close()
    return written


def _item(app: object, rng: random.Random, n: int) -> object:
    captured = T0 + timedelta(seconds=rng.randrange(86_400 * 30))
    category = rng.choice(CATEGORIES)
    rec = IngestRecord(
        item_ref=f"bench-{n:09d}",
        kind="event",
        source_topic="alarm.events.v1",
        source_partition=n % 12,
        source_offset=n,
        controller="sector-alarm",
        category=category,
        subject_id=f"bench-subject-{n % 50_000}",
        captured_at=captured,
        content=str(n).encode(),
    )
    ingested = captured + timedelta(seconds=5)
    item = app.new_item(rec, ingested)  # type: ignore[attr-defined]
    if rng.random() < 0.05:
        item.place_hold("POL-1", "case", "staff", ingested)
        item.release_hold("POL-1", "staff", ingested + timedelta(days=1))
    if category == "verification-image" and item.due_at is not None:
        at = max(item.due_at, ingested + timedelta(days=1)) + timedelta(seconds=30)
        order_id = item.order_erasure(ErasureCause.RETENTION_EXPIRED, at)
        item.confirm_erasure(
            order_id, "blobstore", Outcome.DELETED, None, at + timedelta(minutes=2)
        )
    return item


def measure(dbname: str, page_size: int, workers: int) -> dict[str, float]:
    """Replay the whole log once; the rate counts every notification read."""
    seen = [0]
    limits = VerifyLimits(
        T0 + timedelta(days=40), timedelta(minutes=1), timedelta(hours=1)
    )
    base_kb = _rss_now_kb()  # about what a worker holds before it replays
    started, cpu = time.perf_counter(), _cpu_seconds()
    with ChildrenPeak() as workers_peak:
        result = verify_store(
            _settings(dbname),
            limits,
            workers,
            page_size,
            lambda k: seen.__setitem__(0, seen[0] + k),
        )
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    # The largest of this process and its workers, each its own VmHWM
    # (process.vm_kb: ru_maxrss would give the bench's own peak).
    peak_kb = max(vm_kb(os.getpid(), "VmHWM"), workers_peak.peak_kb)
    per_worker = max(1, result.live) / workers  # the parts are of about equal size
    return {
        "workers": workers,
        "events": seen[0],
        "seconds": round(elapsed, 2),
        "events_per_s": round(seen[0] / elapsed),
        "events_per_cpu_s": round(seen[0] / cpu),
        "cpu_s_per_100k_events": round(cpu * 100_000 / max(1, seen[0]), 2),
        "items": result.items,
        "live_items": result.live,
        "violations": sum(result.counts.values()),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "base_rss_mb": round(base_kb / 1024, 1),
        # The largest worker's growth over a process that has only imported
        # and connected, shared out over a worker's live items.
        "bytes_per_live_item_per_worker": round(
            max(0, peak_kb - base_kb) * 1024 / per_worker
        ),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def _rss_now_kb() -> int:
    """This process's resident set now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGESIZE") // 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _cpu_seconds() -> float:
    """This process's CPU time and its finished workers'."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def measure_in_fresh_process(
    dbname: str, page_size: int, workers: int
) -> dict[str, Any]:
    """`measure` in a new interpreter (nothing warm from writing the history)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "lethe.ops.bench.verify_history",
            "--db",
            dbname,
            "--measure-only",
            "--page-size",
            str(page_size),
            "--workers",
            str(workers),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@click.command()
@click.option("--events", default=200_000, show_default=True)
@click.option("--page-size", default=5000, show_default=True)
@click.option(
    "--db", "dbname", default=None, help="Measure an existing bench database."
)
@click.option("--measure-only", is_flag=True, hidden=True)
@click.option("--keep", is_flag=True, help="Keep the database afterwards.")
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Verifying processes [default: the CPUs, as lethe audit verify].",
)
def bench(
    events: int,
    page_size: int,
    dbname: str | None,
    measure_only: bool,
    keep: bool,
    workers: int | None,
) -> None:
    """Write a synthetic history, then measure verification's replay rate."""
    workers = workers or default_workers(_settings(""))  # PostgreSQL: the CPUs
    if measure_only and dbname:
        click.echo(json.dumps(measure(dbname, page_size, workers)))
        return
    admin = "host=127.0.0.1 user=postgres dbname=postgres"
    created = dbname is None
    dbname = dbname or f"lethe_bench_{uuid.uuid4().hex[:8]}"
    if created:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
    try:
        if created:
            started = time.perf_counter()
            written = generate(dbname, events)
            click.echo(
                f"wrote {written} events in {time.perf_counter() - started:.1f}s",
                err=True,
            )
        out = measure_in_fresh_process(dbname, page_size, workers)
        click.echo(json.dumps(out))
    finally:
        if created and not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


if __name__ == "__main__":
    bench()
