"""The audit's view of the sweeps: which sweep could have taken an item, and gaps.

Lethe promises that an item is ordered by the first sweep that starts after it
is free (due, neither held nor restricted). A recorded sweep (`Sweep.Recorded`,
written when it finishes) "could take" an item if, when it started, the item
was free by the sweep's clock (`free <= started_at`) and the schedule view had
read the event that freed it (`position <= seen_up_to`). If the item is still
free and unordered when that record comes in the log, the sweep missed it.

A sweep is "missing" when an item waited longer than the interval (plus a
stated slack) counted from the later of its becoming free and the end of the
sweep before: `lethe run` starts the next sweep an interval after the last one
finished, so a sweep longer than the interval is no gap. Gaps are named by the
sweeps around them, so the same gap found in several parts is one.

Free items wait in a heap by the instant they became free; a record pops the
ones it could take, each once, so a replay stays linear in the log. Entries of
items since ordered, held or erased are dropped when popped, and the heap is
rebuilt without them whenever it has doubled: it never holds more than about
twice the items still waiting.

An item free only after the `horizon` (the verification's `now`) can be taken
by no sweep that started by then, and no sweep in the log started later unless
the clocks disagree. Such an item (one due in 2031, say) waits not in the heap
(a 4-tuple and a counter each, ~112 B) but in a plain list of tracks (8 B
each), moved into the heap only if a sweep that started after the horizon
ever comes. The judgement is the same either way; it is memory that differs.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

COMPACT_FLOOR = 10_000  # entries before the heap is first rebuilt without the void


class Waiting(Protocol):
    free: datetime | None
    free_pos: int
    epoch: int
    ordered: datetime | None
    missed: datetime | None
    holds: int
    restrictions: int


@dataclass(frozen=True)
class Gap:
    after: datetime | None  # when the sweep before finished (None: no sweep before)
    until: datetime | None  # when the next sweep (or order) came (None: none yet)


class SweepJudge:
    def __init__(
        self, interval: timedelta, slack: timedelta, horizon: datetime | None = None
    ) -> None:
        self.interval, self.slack, self.horizon = interval, slack, horizon
        self.recorded = 0
        self.last_finished: datetime | None = None
        self.gaps: dict[Gap, tuple[datetime, datetime]] = {}  # -> (instant, free)
        self._heap: list[tuple[datetime, int, int, Any]] = []
        self._pushed = 0
        self._compact_at = COMPACT_FLOOR
        self._later: list[Any] = []  # free after the horizon: tracks, no entries
        self._later_epochs: list[int] = []  # the epoch each was listed with
        self._later_compact_at = COMPACT_FLOOR

    def freed(self, t: Waiting) -> None:
        """`t` became free (again): a candidate for the sweeps to come."""
        assert t.free is not None
        if self.horizon is not None and t.free > self.horizon:
            # Two lists, not a list of pairs: an epoch is a small cached int,
            # so an item costs two slots (16 B) and no tuple.
            self._later.append(t)
            self._later_epochs.append(t.epoch)
            if len(self._later) > self._later_compact_at:
                # Void entries (erased, ordered, freed anew) must not keep
                # their tracks alive.
                kept = [
                    (u, k)
                    for u, k in zip(self._later, self._later_epochs, strict=True)
                    if _still_waiting(u, k)
                ]
                self._later = [u for u, _ in kept]
                self._later_epochs = [k for _, k in kept]
                self._later_compact_at = max(COMPACT_FLOOR, 2 * len(self._later))
            return
        self._push(t)

    def _push(self, t: Waiting) -> None:
        assert t.free is not None
        self._pushed += 1
        heapq.heappush(self._heap, (t.free, self._pushed, t.epoch, t))
        if len(self._heap) > self._compact_at:
            self._heap = [e for e in self._heap if _still_waiting(e[3], e[2])]
            heapq.heapify(self._heap)
            self._compact_at = max(COMPACT_FLOOR, 2 * len(self._heap))

    def swept(self, e: Any) -> list[Any]:
        """The items that sweep `e` could take and finished without ordering."""
        if self._later and self.horizon is not None and e.started_at > self.horizon:
            self._release_later()
        missed, later = [], []
        while self._heap and self._heap[0][0] <= e.started_at:
            entry = heapq.heappop(self._heap)
            t = entry[3]
            if not _still_waiting(t, entry[2]):
                continue
            if t.free_pos > e.seen_up_to:
                later.append(entry)  # the view had not read it yet: the next sweep
                continue
            self.check_gap(t, e.started_at)
            missed.append(t)
        for entry in later:
            heapq.heappush(self._heap, entry)
        self.recorded += 1
        self.last_finished = e.finished_at
        return missed

    def _release_later(self) -> None:
        """A sweep started after the horizon: every item still waiting beyond it
        goes into the heap, as if it had been pushed when freed (an entry whose
        epoch is past stays out, as the heap would drop it when popped)."""
        for t, epoch in zip(self._later, self._later_epochs, strict=True):
            if _still_waiting(t, epoch):
                self._push(t)
        self._later, self._later_epochs = [], []
        self.horizon = None  # from now on, every item goes straight into the heap

    def bound(self, t: Waiting) -> datetime:
        """By when a sweep should have started for `t`."""
        assert t.free is not None
        since = t.free
        if self.last_finished is not None and self.last_finished > since:
            since = self.last_finished
        return since + self.interval + self.slack

    def check_gap(self, t: Waiting, came: datetime | None) -> None:
        """Note a gap if the sweep (or order) that `came` for `t` came too late."""
        bound = self.bound(t)
        if came is not None and came <= bound:
            return
        gap = Gap(self.last_finished, came)
        instant, free = self.gaps.get(gap, (bound, t.free or bound))
        self.gaps[gap] = (min(instant, bound), min(free, t.free or bound))


def _still_waiting(t: Waiting, epoch: int) -> bool:
    return (
        t.epoch == epoch
        and t.free is not None
        and t.ordered is None
        and t.missed is None
        and not (t.holds or t.restrictions)
    )
