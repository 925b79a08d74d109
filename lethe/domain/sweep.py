"""A sweep, as the history records it: when it started, when it finished, what it saw.

A sweep is its own one-event stream, written when it finishes (so a sweep cut
short by a crash leaves no record, and no claim). It holds counts and instants
only: no item or subject reference, nothing personal.

`seen_up_to` is the schedule view's tracking position when the sweep started:
the sweep could only order what the view had read by then, so the audit judges
an item against a sweep only if the event that freed it is at or before it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate, event


class Sweep(Aggregate):
    if TYPE_CHECKING:
        # Declared for the type checker only, as in Item and Subject:
        # tests/unit/test_event_declarations.py compares it with the runtime class.
        class Recorded(Aggregate.Created):
            started_at: datetime
            finished_at: datetime
            seen_up_to: int
            ordered: int
            reissued: int
            refused: int

    @event("Recorded")
    def __init__(
        self,
        started_at: datetime,
        finished_at: datetime,
        seen_up_to: int,
        ordered: int,
        reissued: int,
        refused: int,
    ) -> None:
        self.started_at = started_at
        self.finished_at = finished_at
        self.seen_up_to = seen_up_to
        self.ordered = ordered
        self.reissued = reissued
        self.refused = refused
