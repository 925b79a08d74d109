"""How the service stands, in numbers: what /metrics exports and /readyz judges.

Each figure is one indexed COUNT or MAX over the views, so a scrape costs a
handful of small queries; `lethe status` lists the same conditions item by item
(lethe.projections.status).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lethe.projections.runner import Runner, read_runner
from lethe.projections.schedule import TRACKING_NAME as SCHEDULE_TRACKING
from lethe.projections.schedule_rows import ms
from lethe.projections.status import (
    DAY_MS,
    FAILED_WHERE,
    OPEN_DUE_BETWEEN,
    OVERDUE_WHERE,
    UNCONFIRMED_WHERE,
    overdue_before,
)
from lethe.projections.store import SqlViews


@dataclass(frozen=True)
class Health:
    log_head: int  # the last notification id in the event store's log
    projector_position: int  # how far the schedule view has read it
    overdue: int
    unconfirmed: int
    failed: int
    # open (orders not made, or some unconfirmed), due within the warning days
    requests_near_deadline: int
    requests_past_deadline: int  # open, due already
    set_aside: int
    halted_partitions: int
    runner: Runner | None

    @property
    def projector_lag(self) -> int:
        return max(0, self.log_head - self.projector_position)


def read_health(
    views: SqlViews,
    log_head: int,
    now: datetime,
    sweep_interval_s: float,
    confirm_timeout_s: float,
    warning_days: int,
) -> Health:
    """`log_head`: the recorder's max notification id (0 for an empty log)."""
    now_ms = ms(now) or 0
    position = views.recorder.max_tracking_id(SCHEDULE_TRACKING) or 0
    count = _Counter(views)
    return Health(
        log_head=log_head,
        projector_position=position,
        overdue=count(OVERDUE_WHERE, overdue_before(now_ms, sweep_interval_s)),
        unconfirmed=count(UNCONFIRMED_WHERE, now_ms - int(confirm_timeout_s * 1000)),
        failed=count(FAILED_WHERE),
        requests_near_deadline=count.raw(
            OPEN_DUE_BETWEEN, now_ms, now_ms + warning_days * DAY_MS
        ),
        requests_past_deadline=count.raw(OPEN_DUE_BETWEEN, -(2**62), now_ms),
        set_aside=count.raw("SELECT COUNT(*) FROM lethe_set_aside"),
        halted_partitions=count.raw(
            "SELECT COUNT(*) FROM lethe_partitions WHERE halted = 1"
        ),
        runner=read_runner(views),
    )


class _Counter:
    def __init__(self, views: SqlViews) -> None:
        self.views = views

    def __call__(self, where: str, *params: int) -> int:
        return self.raw(f"SELECT COUNT(*) FROM lethe_schedule WHERE {where}", *params)

    def raw(self, sql: str, *params: int) -> int:
        return int(self.views.query(sql, params)[0][0])


MISSED_SWEEPS_ALERT = 3  # as the alert rule: no sweep for three intervals


def service_problems(runner: Runner | None, now: datetime) -> list[str]:
    """What is wrong with `lethe run` on this store, one line each; [] if nothing."""
    if runner is None:
        return ["no lethe run has ever held the lease on this store"]
    problems = []
    if runner.released_at is not None:
        problems.append(
            f"no lethe run holds the lease: {runner.holder} let go of it at"
            f" {_at(runner.released_at)}"
        )
    elif not runner.holds(now):
        problems.append(
            f"no lethe run holds the lease: {runner.holder} was last heard of at"
            f" {_at(runner.heartbeat_at)}"
        )
    missed = runner.sweeps_missed(now)
    if missed >= MISSED_SWEEPS_ALERT:
        last = runner.sweep_finished_at
        since = f"the last finished at {_at(last)}" if last else "none recorded"
        interval = f"{runner.sweep_interval.total_seconds():g} s"
        problems.append(f"no sweep for {missed} intervals of {interval} ({since})")
    return problems


def _at(instant: datetime) -> str:
    return instant.isoformat(timespec="seconds").replace("+00:00", "Z")
