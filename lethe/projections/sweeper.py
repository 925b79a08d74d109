"""The sweeper: orders erasure of every due item not held or restricted, in batches.

Each sweep that finishes records itself (`Sweep.Recorded`: its `now`, when it
finished, how far the schedule view had read when it started), so that the
audit can tell "missed by a sweep that could take it" from "no sweep ran".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import IntegrityError

from lethe.domain import identity, ordering
from lethe.domain.application import Lethe
from lethe.domain.errors import LetheError
from lethe.domain.item import Item
from lethe.domain.sweep import Sweep
from lethe.projections.bulk import load_events, load_items
from lethe.projections.schedule import TRACKING_NAME as SCHEDULE_TRACKING
from lethe.projections.schedule_rows import ms
from lethe.projections.store import SqlViews

# A row comparison makes the page a range of the index (state, due_at,
# item_ref), so LIMIT stops the scan after one page. The OR it replaces was a
# filter: each page scanned every row due before it (213 ms for the page at
# the middle of 1,000,000 due rows, against 0.5 ms now), so a sweep's cost grew
# with the square of its size.
DUE_PAGE = (
    "SELECT item_ref, due_at FROM lethe_schedule"
    " WHERE state = 'scheduled' AND due_at <= ? AND (due_at, item_ref) > (?, ?)"
    " AND holds = 0 AND restrictions = 0"
    " ORDER BY due_at, item_ref LIMIT ?"
)
# Paged by (ordered_at, item_ref), like DUE_PAGE: a store with a million
# unconfirmed orders (a store down for a week) must not be loaded at once.
# One state at a time, with a row comparison: then the page is a range of the
# index (state, ordered_at, item_ref) and LIMIT stops the scan. With both states
# in one IN (...) PostgreSQL sorted every matching row for every page, and a
# sweep over 1,000,000 unconfirmed orders took 172 s (`lethe bench --only
# unconfirmed`).
UNCONFIRMED_PAGE = (
    "SELECT item_ref, ordered_at, attempts FROM lethe_schedule"
    " WHERE state = ? AND ordered_at <= ? AND (ordered_at, item_ref) > (?, ?)"
    " ORDER BY ordered_at, item_ref LIMIT ?"
)
UNCONFIRMED_STATES = ("erasure-ordered", "erasure-failed")
MAX_BACKOFF_DOUBLINGS = 6


@dataclass
class SweepReport:
    ordered: int = 0
    reissued: int = 0
    refused: int = 0  # the view was behind: the domain said no (hold, already ordered)


class Sweeper:
    def __init__(
        self,
        app: Lethe,
        views: SqlViews,
        batch_size: int = 1000,
        confirm_timeout_s: float = 3600.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.app = app
        self.views = views
        self.batch_size = batch_size
        self.confirm_timeout_ms = int(confirm_timeout_s * 1000)
        # When a sweep finished: the wall clock in `lethe run` and `lethe sweep`.
        # None: a sweep on a simulated clock (tests, the demo) that finishes at
        # its `now`, since no simulated time passes while it runs.
        self.clock = clock

    def due_items(self, now: datetime, limit: int = 1000) -> list[str]:
        """Items due at `now` and free to go, earliest first."""
        rows = self.views.query(DUE_PAGE, (ms(now), -(2**62), "", limit))
        return [r[0] for r in rows]

    def sweep(self, now: datetime) -> SweepReport:
        # Read before the first page: what the view had seen when the sweep began.
        seen_up_to = self.app.process_recorder.max_tracking_id(SCHEDULE_TRACKING) or 0
        report = self._sweep(now)
        finished = max(now, self.clock()) if self.clock is not None else now
        self.app.record(
            Sweep(
                now,
                finished,
                seen_up_to,
                report.ordered,
                report.reissued,
                report.refused,
            )
        )
        return report

    def _sweep(self, now: datetime) -> SweepReport:
        report = SweepReport()
        after: tuple[int, str] = (-(2**62), "")
        while True:
            page = self.views.query(
                DUE_PAGE, (ms(now), after[0], after[1], self.batch_size)
            )
            if not page:
                break
            self._order_page([r[0] for r in page], now, report)
            after = (page[-1][1], page[-1][0])
        self._reissue_unconfirmed(now, report)
        return report

    def _order_page(
        self, item_refs: list[str], now: datetime, report: SweepReport
    ) -> None:
        ids = [identity.item_id(ref) for ref in item_refs]
        for _attempt in range(3):
            histories = load_events(self.app, self.views, ids)  # one query, not N
            found = [histories[i] for i in ids if i in histories]
            ordered = [o for o in (self._try_order(h, now) for h in found) if o]
            try:
                self.app.record_events(ordered)
            except IntegrityError:
                continue  # an item changed under us (a hold?): reload and decide again
            report.ordered += len(ordered)
            report.refused += len(found) - len(ordered)
            return

    @staticmethod
    def _try_order(history: list[Any], now: datetime) -> Any:
        # From the history: the item is rebuilt only when it is not plain (held,
        # ordered before, ...), and then the Item decides (domain/ordering.py).
        try:
            return ordering.order_due_erasure(history, now)
        except LetheError:
            return None

    def _reissue_unconfirmed(self, now: datetime, report: SweepReport) -> None:
        for state in UNCONFIRMED_STATES:
            self._reissue_unconfirmed_in(state, now, report)

    def _reissue_unconfirmed_in(
        self, state: str, now: datetime, report: SweepReport
    ) -> None:
        cutoff = ms(now) - self.confirm_timeout_ms
        after: tuple[int, str] = (-(2**62), "")
        while True:
            page = self.views.query(
                UNCONFIRMED_PAGE, (state, cutoff, after[0], after[1], self.batch_size)
            )
            if not page:
                return
            due = [
                ref
                for ref, ordered_at, attempts in page
                if ordered_at + self._backoff_ms(attempts) <= ms(now)
            ]
            if due:
                self._reissue_page(due, now, report)
            after = (page[-1][1], page[-1][0])

    def _reissue_page(
        self, item_refs: list[str], now: datetime, report: SweepReport
    ) -> None:
        items = load_items(self.app, self.views, item_refs)
        # The view may not yet have seen a confirmation: the aggregate decides.
        reissued = [item for item in items if self._try_reissue(item, now)]
        try:
            self.app.record(*reissued)
        except IntegrityError:
            return  # confirmed under us: the next sweep decides again
        report.reissued += len(reissued)
        report.refused += len(items) - len(reissued)

    @staticmethod
    def _try_reissue(item: Item, now: datetime) -> bool:
        try:
            item.reissue_erasure(now)
            return True
        except LetheError:
            return False

    def _backoff_ms(self, attempts: int) -> int:
        # Timeout, then doubling: 1h, 2h, 4h ... capped,
        # so a dead store is not hammered.
        return self.confirm_timeout_ms * 2 ** min(attempts - 1, MAX_BACKOFF_DOUBLINGS)
