"""Who runs the projections, and when they last swept: one row beside the views.

The lease itself is a PostgreSQL session lock that nobody else can read back
into a name or a time, and SQLite has none. So the `lethe run` that holds it
writes this row while it does (a heartbeat on every tick, each sweep when it
finishes, and that it let go when it stops cleanly). `lethe status`, `/metrics`
and `/readyz` read it from any process that can open the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lethe.projections.schedule_rows import ms
from lethe.projections.store import SqlViews

ROLE = "projector"  # the one lease there is today; the key leaves room for others
DDL = (
    "CREATE TABLE IF NOT EXISTS lethe_runner ("
    " role TEXT PRIMARY KEY, holder TEXT NOT NULL, since BIGINT NOT NULL,"
    " heartbeat_at BIGINT NOT NULL, released_at BIGINT,"
    " sweep_interval_ms BIGINT NOT NULL,"
    " swept_at BIGINT, sweep_finished_at BIGINT, sweep_duration_ms BIGINT)",
)
# A tick can run long (a catch-up, a sweep of many items): the heartbeat is
# stale only after three sweep intervals and half a minute more without one.
STALE_SLACK = timedelta(seconds=30)
STALE_INTERVALS = 3


@dataclass(frozen=True)
class Runner:
    holder: str  # host:pid of the `lethe run` that holds (or last held) the lease
    since: datetime  # when it took the lease
    heartbeat_at: datetime
    released_at: datetime | None  # set when it stopped cleanly
    sweep_interval: timedelta
    swept_at: datetime | None  # the `now` of its last sweep
    sweep_finished_at: datetime | None
    sweep_duration_s: float | None

    def holds(self, now: datetime) -> bool:
        """A holder that let go, or whose heartbeat is stale, holds nothing."""
        if self.released_at is not None:
            return False
        stale_after = STALE_INTERVALS * self.sweep_interval + STALE_SLACK
        return now - self.heartbeat_at <= stale_after

    def sweeps_missed(self, now: datetime) -> int:
        """Whole sweep intervals since the last sweep finished (or the lease began)."""
        since = self.sweep_finished_at or self.since
        interval_s = max(self.sweep_interval.total_seconds(), 0.001)
        return max(0, int((now - since).total_seconds() // interval_s))


class RunnerBoard:
    def __init__(self, views: SqlViews, holder: str, sweep_interval_s: float) -> None:
        self.views = views
        self.holder = holder
        self.interval_ms = int(sweep_interval_s * 1000)
        views.run_ddl(DDL)

    def beat(self, at: datetime) -> None:
        """The holder is alive; a new holder takes the row over (since = now)."""
        at_ms = ms(at)
        self.views.execute(
            [
                (
                    "DELETE FROM lethe_runner WHERE role = ? AND holder <> ?",
                    (ROLE, self.holder),
                ),
                (
                    "INSERT INTO lethe_runner (role, holder, since, heartbeat_at,"
                    " sweep_interval_ms) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (role) DO UPDATE SET heartbeat_at = ?,"
                    " released_at = NULL, sweep_interval_ms = ?",
                    (
                        ROLE,
                        self.holder,
                        at_ms,
                        at_ms,
                        self.interval_ms,
                        at_ms,
                        self.interval_ms,
                    ),
                ),
            ]
        )

    def swept(self, now: datetime, finished: datetime, duration_s: float) -> None:
        self.views.execute(
            [
                (
                    "UPDATE lethe_runner SET swept_at = ?, sweep_finished_at = ?,"
                    " sweep_duration_ms = ?, heartbeat_at = ?"
                    " WHERE role = ? AND holder = ?",
                    (
                        ms(now),
                        ms(finished),
                        int(duration_s * 1000),
                        ms(finished),
                        ROLE,
                        self.holder,
                    ),
                )
            ]
        )

    def released(self, at: datetime) -> None:
        self.views.execute(
            [
                (
                    "UPDATE lethe_runner SET released_at = ?"
                    " WHERE role = ? AND holder = ?",
                    (ms(at), ROLE, self.holder),
                )
            ]
        )


def read_runner(views: SqlViews) -> Runner | None:
    """The row, or None when no `lethe run` ever held the lease on this store."""
    rows = views.query(
        "SELECT holder, since, heartbeat_at, released_at, sweep_interval_ms,"
        " swept_at, sweep_finished_at, sweep_duration_ms FROM lethe_runner"
        " WHERE role = ?",
        (ROLE,),
    )
    if not rows:
        return None
    holder, since, beat, released, interval, swept, finished, took = rows[0]
    return Runner(
        holder=str(holder),
        since=_instant(since),
        heartbeat_at=_instant(beat),
        released_at=_maybe(released),
        sweep_interval=timedelta(milliseconds=int(interval)),
        swept_at=_maybe(swept),
        sweep_finished_at=_maybe(finished),
        sweep_duration_s=None if took is None else int(took) / 1000,
    )


def _instant(value: object) -> datetime:
    return datetime.fromtimestamp(int(str(value)) / 1000, UTC)


def _maybe(value: object) -> datetime | None:
    return None if value is None else _instant(value)
