"""The demo's clock: a story that ended a moment ago, so its history could have
happened, and the sweeps Lethe would have run through it.

The demo does not move a clock into the future. Its day of traffic is more than
eight days old: Lethe took it in an hour after that day ended, swept through
the week that followed (every interval in which something fell due, as `lethe
run` would), and the eraser answered the orders at the end. Every instant it
writes lies between the day and now, and each in its order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from lethe.projections.schedule import ScheduleProcess
from lethe.projections.store import SqlViews
from lethe.projections.sweeper import Sweeper

OSLO = ZoneInfo("Europe/Oslo")
WEEK_AND_A_DAY = timedelta(days=8)
WEEK = timedelta(days=7)
NEXT_FREE = (
    "SELECT MIN(due_at) FROM lethe_schedule WHERE state = 'scheduled'"
    " AND holds = 0 AND restrictions = 0 AND due_at > ?"
)


@dataclass(frozen=True)
class Story:
    day: datetime  # the day of traffic: local midnight
    taken_in: datetime  # when Lethe consumed it
    ends: datetime  # 8 days and an hour after the day began: all its images due

    @classmethod
    def ending_before(cls, now: datetime) -> Story:
        """The latest story whose end is at least an hour before `now`."""
        day = (now - WEEK_AND_A_DAY - timedelta(hours=2)).astimezone(OSLO)
        day = day.replace(hour=0, minute=0, second=0, microsecond=0)
        taken_in = day + timedelta(days=1, hours=1)
        return cls(day, taken_in, taken_in + WEEK)


@dataclass
class Swept:
    sweeps: int = 0
    ordered: int = 0


def sweep_through(
    sweeper: Sweeper,
    schedule: ScheduleProcess,
    views: SqlViews,
    story: Story,
    interval: timedelta,
) -> Swept:
    """Sweep on the interval's grid from `taken_in` to `ends`, at every grid point
    after something fell due (a sweep with nothing due orders nothing, and the
    audit asks only that no due item waits longer than the interval)."""
    swept, at = Swept(), story.taken_in
    while at <= story.ends:
        report = sweeper.sweep(at)  # on the story's clock: it finishes at `at`
        schedule.run_until_idle()
        swept.sweeps += 1
        swept.ordered += report.ordered
        upcoming = views.query(NEXT_FREE, (_ms(at),))[0][0]
        if upcoming is None:
            break
        steps = -(-(_ms_to_dt(upcoming, at) - story.taken_in) // interval)  # ceil
        at = max(at + interval, story.taken_in + steps * interval)
    return swept


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _ms_to_dt(ms: int, like: datetime) -> datetime:
    return datetime.fromtimestamp(ms / 1000, like.tzinfo)
