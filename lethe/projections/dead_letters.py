"""A PII-free note of every record Lethe set aside on the dead-letter topic.

The topic itself keeps its letters for days (they are copies of records, subject
ids included: docs/architecture.md, "In Kafka"), so a monthly report cannot be
read from it. Each letter Kafka took is noted here as where it came from (topic,
partition, offset), its reason code from the fixed catalogue and when: no key,
no value, no free-text reason. Keyed by its origin, so a batch re-read after a
crash, which sends its letters again, is noted once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from lethe.projections.schedule_rows import ms
from lethe.projections.store import SqlViews

DDL = (
    "CREATE TABLE IF NOT EXISTS lethe_dead_letters ("
    " topic TEXT NOT NULL, kafka_partition INTEGER NOT NULL,"
    " kafka_offset BIGINT NOT NULL, reason_code TEXT NOT NULL,"
    " rejected_at BIGINT NOT NULL,"
    " PRIMARY KEY (topic, kafka_partition, kafka_offset))",
)
INSERT = (
    "INSERT INTO lethe_dead_letters"
    " (topic, kafka_partition, kafka_offset, reason_code, rejected_at)"
    " VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING"
)


# (source topic, partition, offset, reason code, rejected at), as
# consumers/deadletter.py's `Noted`.
Noted = tuple[str, int, int, str, datetime]


class DeadLetterNotes:
    """`DeadLetters`' Kept: one row per letter, in one transaction per flush."""

    def __init__(self, views: SqlViews) -> None:
        self.views = views
        views.run_ddl(DDL)

    def note(self, letters: Sequence[Noted]) -> None:
        rows = [(t, p, o, code, ms(at)) for t, p, o, code, at in letters]
        self.views.execute([(INSERT, row) for row in rows])


@dataclass(frozen=True)
class DeadLetterCounts:
    """The letters set aside in [start, end), per (reason code, source topic)."""

    cells: Counter[tuple[str, str]]

    @property
    def total(self) -> int:
        return sum(self.cells.values())

    def by_reason(self) -> Counter[str]:
        return self._sum(0)

    def by_topic(self) -> Counter[str]:
        return self._sum(1)

    def _sum(self, axis: int) -> Counter[str]:
        found: Counter[str] = Counter()
        for cell, n in self.cells.items():
            found[cell[axis]] += n
        return found


def dead_letters_between(
    views: SqlViews, start: datetime, end: datetime
) -> DeadLetterCounts:
    views.run_ddl(DDL)  # a store no `lethe run` has consumed into yet
    rows = views.query(
        "SELECT reason_code, topic, COUNT(*) FROM lethe_dead_letters"
        " WHERE rejected_at >= ? AND rejected_at < ?"
        " GROUP BY reason_code, topic",
        (ms(start), ms(end)),
    )
    return DeadLetterCounts(Counter({(str(c), str(t)): int(n) for c, t, n in rows}))
