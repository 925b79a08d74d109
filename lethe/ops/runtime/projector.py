"""The projections of `lethe run` on a timer: schedule and relay, sweep, relay.

A tick brings the schedule up to date in chunks and relays after each chunk:
a subject request makes the schedule write all its items' ErasureOrdered in
one page, and the view then reads those orders back for a while; the relay
follows the log on a tracking position of its own, so the tombstones need not
wait for the view. Then the sweep, and a relay of what it ordered.

They run in a thread of their own, with their own Application (so their own
database connections), because a sweep can take longer than the consumer may
go without polling before the group evicts it. A failure here stops the
whole process: the main loop checks `failed` after every batch.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from eventsourcing.persistence import DatabaseError

from lethe.domain.application import Lethe
from lethe.ops import logging as lethe_logging
from lethe.ops.runtime.lease import AlwaysHeld, Lease
from lethe.projections.schedule import ScheduleProcess
from lethe.projections.store import SqlViews
from lethe.projections.sweeper import Sweeper, SweepReport

SCHEDULE_CHUNK = 2_000  # notifications between checks for a stop request
FOLLOW_INTERVAL_S = 1.0  # how often the log is followed between sweeps
START_ATTEMPTS = 5
T = TypeVar("T")

log = lethe_logging.get_logger("lethe.projector")


def at_start(make: Callable[[], T]) -> T:
    """`make()`, retried a few times on a database error.

    Processes started together race to create the schema: PostgreSQL answers
    one of them "tuple concurrently updated" (CREATE OR REPLACE FUNCTION) or a
    duplicate pg_type row (CREATE TABLE IF NOT EXISTS).
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return make()
        except DatabaseError as error:
            if attempt == START_ATTEMPTS:
                raise
            log.warning("store not ready, retrying", error=str(error), attempt=attempt)
            time.sleep(random.uniform(0.2, 1.0) * attempt)
    raise AssertionError("unreachable")


class Relaying(Protocol):
    def relay_pending(self, limit: int | None = None) -> int: ...


class Observer(Protocol):
    """Told what the projector does (lethe.ops.runtime.heartbeat.Heartbeat)."""

    def setup(self, views: SqlViews) -> None: ...

    def tick(self, held: bool, at: datetime) -> None: ...

    def swept(
        self, report: SweepReport, now: datetime, finished: datetime, took_s: float
    ) -> None: ...

    def stopped(self, at: datetime) -> None: ...


class Projector(threading.Thread):
    def __init__(
        self,
        make_app: Callable[[], Lethe],
        make_relay: Callable[[Lethe], Relaying | None],
        *,
        interval_s: float,
        stop: threading.Event,
        batch_size: int = 1000,
        confirm_timeout_s: float = 3600.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lease: Lease | None = None,
        observer: Observer | None = None,
    ) -> None:
        super().__init__(name="lethe-projector", daemon=True)
        self.lease = lease or AlwaysHeld()
        self.observer = observer
        self.make_app = make_app
        self.make_relay = make_relay
        self.interval_s = interval_s
        self.stop = stop
        self.batch_size = batch_size
        self.confirm_timeout_s = confirm_timeout_s
        self.clock = clock
        self.failed: BaseException | None = None

    def run(self) -> None:
        try:
            schedule, sweeper, relay = at_start(self._setup)
            next_sweep = 0.0
            while not self.stop.is_set():
                held = self.lease.held()
                if self.observer is not None:
                    self.observer.tick(held, self.clock())
                if held:
                    sweep = time.monotonic() >= next_sweep
                    self.tick(schedule, sweeper, relay, sweep=sweep)
                    if sweep:
                        next_sweep = time.monotonic() + self.interval_s
                # Follow the log every second: a subject request or hold arriving
                # by Kafka reaches its items (and the stores) without waiting for
                # the sweep interval.
                self.stop.wait(min(self.interval_s, FOLLOW_INTERVAL_S))
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            log.exception("projector failed")
            self.failed = error
            self.stop.set()
        finally:
            if self.observer is not None and self.failed is None:
                self.observer.stopped(self.clock())
            self.lease.release()

    def _setup(self) -> tuple[ScheduleProcess, Sweeper, Relaying | None]:
        app = self.make_app()
        views = SqlViews(app.process_recorder)
        schedule = ScheduleProcess(app, views, page_size=self.batch_size)
        sweeper = Sweeper(
            app, views, self.batch_size, self.confirm_timeout_s, clock=self.clock
        )
        if self.observer is not None:
            self.observer.setup(views)
        return schedule, sweeper, self.make_relay(app)

    def tick(
        self,
        schedule: ScheduleProcess,
        sweeper: Sweeper,
        relay: Relaying | None,
        sweep: bool = True,
    ) -> None:
        scheduled = relayed = 0
        while not self.stop.is_set():
            done = schedule.run_until_idle(at_most=SCHEDULE_CHUNK)
            scheduled += done
            if self.stop.is_set():
                return
            relayed += _relay(relay)
            if done < SCHEDULE_CHUNK:
                break
        if self.stop.is_set():
            return
        report = SweepReport()
        if sweep:
            report = self._sweep(sweeper)
            relayed += _relay(relay)
        if scheduled or report.ordered or report.reissued or relayed:
            log.info(
                "projected",
                scheduled=scheduled,
                ordered=report.ordered,
                reissued=report.reissued,
                refused=report.refused,
                relayed=relayed,
            )

    def _sweep(self, sweeper: Sweeper) -> SweepReport:
        now, started = self.clock(), time.monotonic()
        report = sweeper.sweep(now)
        if self.observer is not None:
            took_s = time.monotonic() - started
            self.observer.swept(report, now, max(now, self.clock()), took_s)
        return report


def _relay(relay: Relaying | None) -> int:
    """Erasure orders and tombstones out to Kafka (None: no relay wired)."""
    return relay.relay_pending() if relay is not None else 0
