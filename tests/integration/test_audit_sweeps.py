"""`audit verify` judges late against the recorded sweeps, on PostgreSQL.

Late means "missed by a sweep that could take it" (ORDERED_LATE,
OVERDUE_WITHOUT_ORDER) or "no sweep came in time" (SWEEP_MISSED, one per gap);
a history without sweep records keeps the older bound, with its slack stated.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eventsourcing.utils import get_topic

from lethe.domain.item import ErasureCause, Item, ItemState
from lethe.domain.sweep import Sweep
from lethe.ops.cli.main import main
from lethe.ops.runtime.bootstrap import Runtime, build_app, build_runtime
from lethe.ops.runtime.projector import Projector
from lethe.ops.settings import Settings
from lethe.projections.audit_replay import Part
from lethe.projections.audit_verify import (
    ORDERED_LATE,
    OVERDUE_WITHOUT_ORDER,
    SWEEP_GAP,
    SWEEP_MISSED,
    VerifyLimits,
    VerifyResult,
    merge,
    verify,
)
from lethe.projections.sweeper import Sweeper
from tests.support import ingest_record

pytestmark = pytest.mark.integration

S = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)  # a simulated sweep's start
SECOND = timedelta(seconds=1)
IMAGE = "verification-image"  # due 7 days after capture
EXPIRED = S - timedelta(days=8)  # captured so long ago that it arrives due


@pytest.fixture
def env(pg_schema_env: dict[str, str]) -> dict[str, str]:
    return {
        "LETHE_STORE": "postgres",
        "LETHE_POSTGRES_DBNAME": pg_schema_env["POSTGRES_DBNAME"],
        "LETHE_POSTGRES_SCHEMA": pg_schema_env["POSTGRES_SCHEMA"],
        "LETHE_PSEUDONYM_KEY": "22" * 32,
        "LETHE_KEK": "33" * 32,
        "LETHE_SWEEP_INTERVAL_S": "60",
    }


@pytest.fixture
def runtime(env: dict[str, str]) -> Iterator[Runtime]:
    runtime = build_runtime(Settings.from_env(env))
    yield runtime
    runtime.app.close()


def limits(now: datetime, interval_s: float = 60, slack_s: float = 5) -> VerifyLimits:
    return VerifyLimits(
        now,
        timedelta(seconds=interval_s),
        timedelta(hours=1),
        slack=timedelta(seconds=slack_s),
    )


def arrive(rt: Runtime, refs: list[str], at: datetime) -> None:
    """Items captured long ago arrive at `at`, already due, and the view reads them."""
    records = [ingest_record(ref, IMAGE, "cust-1", EXPIRED) for ref in refs]
    rt.app.ingest(records, at)
    rt.catch_up()


def simulated(rt: Runtime, finished: datetime | None = None) -> Sweeper:
    """A sweeper on a simulated clock: it finishes at `finished` (or at its now)."""
    return Sweeper(
        rt.app, rt.views, clock=None if finished is None else lambda: finished
    )


class SkippingSweeper(Sweeper):
    """A sweeper with a seeded fault: it passes over the items named."""

    def __init__(self, rt: Runtime, skip: set[str]) -> None:
        super().__init__(rt.app, rt.views)
        self.skip = skip

    def _try_order(self, history: list[Any], now: datetime) -> Any:
        # The sweeper orders from the item's history; its first event is the arrival.
        if history[0].item_ref in self.skip:
            return None
        return super()._try_order(history, now)


def names(result: VerifyResult) -> set[tuple[str, str]]:
    return {(v.name, v.item) for v in result.violations}


# -- no violation where Lethe kept its promise ----------------------------------------


def test_items_arriving_expired_under_a_one_second_interval_find_no_violation(
    env: dict[str, str], runtime: Runtime
) -> None:
    # The black-box case of issue 17: real clock, real projector, 1 s interval;
    # each item is ordered by the next sweep, a little more than 1 s after it came.
    settings = Settings.from_env(env | {"LETHE_SWEEP_INTERVAL_S": "1"})
    stop = threading.Event()
    projector = Projector(
        lambda: build_app(settings), lambda _app: None, interval_s=1.0, stop=stop
    )
    projector.start()
    refs = [f"img-{n}" for n in range(12)]
    try:
        for start in range(0, len(refs), 3):
            batch = [
                ingest_record(r, IMAGE, "cust-1", EXPIRED) for r in refs[start:][:3]
            ]
            runtime.app.ingest(batch, datetime.now(UTC))
            time.sleep(0.35)  # arrivals spread across sweeps, not timed assertions
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
            runtime.app.get_item(r).state == ItemState.ERASURE_ORDERED for r in refs
        ):
            time.sleep(0.2)
    finally:
        stop.set()
        projector.join(timeout=30)
    assert projector.failed is None
    assert all(runtime.app.get_item(r).state == ItemState.ERASURE_ORDERED for r in refs)
    result = verify(runtime.app, limits(datetime.now(UTC), interval_s=1))
    assert result.sweeps >= 2 and result.items == len(refs)
    assert result.ok, result.violations


def test_a_sweep_longer_than_its_interval_is_no_violation(runtime: Runtime) -> None:
    # Interval 1 s and no slack: the first sweep runs from S to S + 3 s, items
    # arriving at S + 2 s wait for the next sweep, an interval after it finished.
    arrive(runtime, [f"img-{n}" for n in range(5)], S - SECOND)
    assert simulated(runtime, finished=S + 3 * SECOND).sweep(S).ordered == 5
    arrive(runtime, ["late-1", "late-2"], S + 2 * SECOND)
    next_start = S + 4 * SECOND
    assert simulated(runtime).sweep(next_start).ordered == 2
    # Waited 2 s, twice the interval: the old bound (free + interval) cries wolf.
    result = verify(runtime.app, limits(S + 5 * SECOND, interval_s=1, slack_s=0))
    assert result.sweeps == 2
    assert result.ok, result.violations


def test_an_item_the_view_had_not_read_is_not_missed_by_that_sweep(
    runtime: Runtime,
) -> None:
    # Ingested before the sweep's clock but after the view's last read: the sweep
    # could not see it, so only the next sweep is judged for it.
    runtime.app.ingest([ingest_record("img-1", IMAGE, "cust-1", EXPIRED)], S - SECOND)
    assert simulated(runtime).sweep(S).ordered == 0  # the view is behind
    runtime.catch_up()
    assert simulated(runtime).sweep(S + 30 * SECOND).ordered == 1
    assert verify(runtime.app, limits(S + 60 * SECOND)).ok


# -- violations, by name ---------------------------------------------------------------


def test_an_item_the_sweeper_skips_is_overdue_then_ordered_late(
    runtime: Runtime,
) -> None:
    arrive(runtime, ["img-ok", "img-skipped"], S - SECOND)
    faulty = SkippingSweeper(runtime, skip={"img-skipped"})
    assert faulty.sweep(S).ordered == 1
    overdue = verify(runtime.app, limits(S + 10 * SECOND))
    assert names(overdue) == {(OVERDUE_WITHOUT_ORDER, "img-skipped")}
    assert overdue.violations[0].instants["swept"] == S
    assert simulated(runtime).sweep(S + 60 * SECOND).ordered == 1
    late = verify(runtime.app, limits(S + 70 * SECOND))
    assert names(late) == {(ORDERED_LATE, "img-skipped")}
    assert late.violations[0].instant == S  # the skipping sweep's end
    code, out = cli(runtime, "audit", "verify", "--now", (S + 70 * SECOND).isoformat())
    assert code == 1 and ORDERED_LATE in out and "img-skipped" in out


def test_no_sweep_for_three_intervals_is_sweep_missed_naming_the_gap(
    runtime: Runtime,
) -> None:
    assert simulated(runtime, finished=S + 2 * SECOND).sweep(S).ordered == 0
    arrive(runtime, ["img-1", "img-2"], S + 10 * SECOND)
    waited = S + 10 * SECOND + 3 * timedelta(seconds=60)
    assert simulated(runtime).sweep(waited).ordered == 2
    result = verify(runtime.app, limits(waited + SECOND))
    assert names(result) == {(SWEEP_MISSED, SWEEP_GAP)}
    assert result.counts[SWEEP_MISSED] == 1  # one gap, however many items waited
    (gap,) = result.violations
    assert gap.instants == {
        "free_from": S + 10 * SECOND,
        "sweep_finished": S + 2 * SECOND,
        "next_sweep": waited,
    }
    assert gap.instant == S + 10 * SECOND + timedelta(seconds=65)  # interval + slack
    code, out = cli(runtime, "audit", "verify", "--now", (waited + SECOND).isoformat())
    assert code == 1 and SWEEP_MISSED in out
    assert "late judged against 2 recorded sweeps" in out and "5 s slack" in out


def test_a_gap_with_no_sweep_since_is_named_open(runtime: Runtime) -> None:
    simulated(runtime).sweep(S)
    arrive(runtime, ["img-1"], S + SECOND)
    within = verify(runtime.app, limits(S + 60 * SECOND))
    assert within.ok  # still inside interval + slack
    result = verify(runtime.app, limits(S + 10 * timedelta(seconds=60)))
    assert names(result) == {(SWEEP_MISSED, SWEEP_GAP)}
    assert result.violations[0].instants["next_sweep"] is None


def test_a_gap_seen_by_every_part_is_one_gap_when_merged(runtime: Runtime) -> None:
    simulated(runtime).sweep(S)
    refs = [f"img-{n}" for n in range(8)]
    arrive(runtime, refs, S + SECOND)
    simulated(runtime).sweep(S + timedelta(minutes=10))
    parts_of = {runtime.app.get_item(r).id.bytes[15] % 2 for r in refs}
    assert parts_of == {0, 1}  # waiting items in both parts
    lim = limits(S + timedelta(minutes=11))
    parts = [verify(runtime.app, lim, part=Part(k, 2)) for k in range(2)]
    assert all(part.counts[SWEEP_MISSED] == 1 for part in parts)
    assert all(part.sweeps == 2 for part in parts)  # the sweeps reach every part
    merged = merge(parts, lim.keep)
    assert merged.counts == verify(runtime.app, lim).counts == {SWEEP_MISSED: 1}


# -- a history written before sweeps were recorded ---------------------------------


def test_without_sweep_records_the_old_bound_holds_with_its_slack_stated(
    runtime: Runtime,
) -> None:
    arrive(runtime, ["img-in-time", "img-late"], S)
    order = runtime.app.order_erasure
    order("img-in-time", ErasureCause.RETENTION_EXPIRED, S + 64 * SECOND)
    order("img-late", ErasureCause.RETENTION_EXPIRED, S + 66 * SECOND)
    result = verify(runtime.app, limits(S + 70 * SECOND))
    assert result.sweeps == 0
    assert names(result) == {(ORDERED_LATE, "img-late")}
    assert result.violations[0].instant == S + 65 * SECOND
    code, out = cli(runtime, "audit", "verify", "--now", (S + 70 * SECOND).isoformat())
    assert code == 1
    assert "no sweep records in this history" in out and "60 s interval + 5 s" in out
    code, out = cli(
        runtime,
        "audit",
        "verify",
        "--slack-s",
        "10",
        "--now",
        (S + 70 * SECOND).isoformat(),
    )
    assert code == 0 and "60 s interval + 10 s slack" in out


def cli(rt: Runtime, *args: str) -> tuple[int, str]:
    env = dict(rt.settings.env or {})
    result = CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_a_hold_reaching_the_item_before_the_next_sweep_excuses_the_pass(
    runtime: Runtime,
) -> None:
    # A sweeper that sees a subject's hold before the hold reaches the item's own
    # stream passes over the item; the item's hold follows before the next sweep.
    arrive(runtime, ["img-excused", "img-missed"], S - SECOND)
    SkippingSweeper(runtime, skip={"img-excused", "img-missed"}).sweep(S)
    hold = runtime.app.place_hold
    hold("img-excused", "POL-1", "police", "staff-1", S + 5 * SECOND)
    runtime.catch_up()
    SkippingSweeper(runtime, skip={"img-missed"}).sweep(S + 60 * SECOND)
    # A hold after the next sweep excuses nothing: the first sweep's pass stands.
    hold("img-missed", "POL-2", "police", "staff-1", S + 70 * SECOND)
    result = verify(runtime.app, limits(S + 80 * SECOND))
    assert names(result) == {(OVERDUE_WITHOUT_ORDER, "img-missed")}


# -- kill -9 in the middle of a sweep ----------------------------------------------


def test_a_sweep_killed_midway_records_nothing_and_its_orders_stand(
    env: dict[str, str], runtime: Runtime
) -> None:
    refs = [f"img-{n:05d}" for n in range(6_000)]
    now = datetime.now(UTC)
    for start in range(0, len(refs), 1000):
        batch = [
            ingest_record(r, IMAGE, "cust-1", EXPIRED) for r in refs[start:][:1000]
        ]
        runtime.app.ingest(batch, now)
    runtime.catch_up()
    sweep_env = {**os.environ, **env, "LETHE_BATCH_SIZE": "100"}
    lethe = Path(sys.executable).with_name("lethe")
    killed = subprocess.Popen(
        [str(lethe), "sweep"], env=sweep_env, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while orders(runtime) < 500 and killed.poll() is None:
        assert time.monotonic() < deadline, "the sweep ordered nothing"
        time.sleep(0.02)
    killed.kill()  # SIGKILL: no handler, no record
    killed.wait(30)
    made = orders(runtime)
    assert 0 < made < len(refs), "killed after it finished: the test proves nothing"
    assert recorded_sweeps(runtime) == 0  # a sweep cut short claims nothing
    assert verify(runtime.app, limits(datetime.now(UTC))).ok  # its orders stand
    done = subprocess.run(
        [str(lethe), "sweep"], env=sweep_env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert f"ordered   {len(refs) - made}" in done.stdout
    assert orders(runtime) == len(refs) and recorded_sweeps(runtime) == 1
    result = verify(runtime.app, limits(datetime.now(UTC)))
    assert result.ok and result.sweeps == 1, result.violations


def orders(rt: Runtime) -> int:
    return count_topic(rt, get_topic(Item.ErasureOrdered))


def recorded_sweeps(rt: Runtime) -> int:
    return count_topic(rt, get_topic(Sweep.Recorded))


def count_topic(rt: Runtime, topic: str) -> int:
    rows = rt.views.query("SELECT COUNT(*) FROM lethe_events WHERE topic = ?", (topic,))
    return int(rows[0][0])
