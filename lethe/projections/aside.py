"""What Lethe stopped doing and why: halted partitions and records set aside.

Both are rows beside the event store's tables, shown by `lethe status`. A
halted partition is not consumed until an operator resumes it deliberately
(`lethe topics resume`); a record set aside was refused by the store and went
to the dead-letter topic, while the service went on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lethe.projections.schedule_rows import ms
from lethe.projections.store import SqlViews

DDL = (
    "CREATE TABLE IF NOT EXISTS lethe_partitions ("
    " topic TEXT NOT NULL, kafka_partition INTEGER NOT NULL,"
    " epoch INTEGER NOT NULL, halted INTEGER NOT NULL,"
    " tracked BIGINT, seen BIGINT, changed_at BIGINT NOT NULL, note TEXT NOT NULL,"
    " PRIMARY KEY (topic, kafka_partition))",
    "CREATE TABLE IF NOT EXISTS lethe_set_aside ("
    " source TEXT NOT NULL, place TEXT NOT NULL, reason TEXT NOT NULL,"
    " set_aside_at BIGINT NOT NULL, PRIMARY KEY (source, place))",
)


@dataclass(frozen=True)
class Halt:
    topic: str
    partition: int
    tracked: int | None  # the last offset Lethe took
    seen: int | None  # the offset the broker delivered, or the last it holds
    since: datetime
    note: str


@dataclass(frozen=True)
class SetAside:
    source: str  # what put it aside: "consumer" or "schedule"
    place: str  # topic:partition@offset, or the log position
    reason: str
    since: datetime


class PartitionStates:
    """Per inbound partition: its epoch (how often resumed) and whether halted."""

    def __init__(self, views: SqlViews) -> None:
        self.views = views
        views.run_ddl(DDL)

    def state(self, topic: str, partition: int) -> tuple[int, bool]:
        """(epoch, halted); (0, False) for a partition never halted."""
        rows = self.views.query(
            "SELECT epoch, halted FROM lethe_partitions"
            " WHERE topic = ? AND kafka_partition = ?",
            (topic, partition),
        )
        return (int(rows[0][0]), bool(rows[0][1])) if rows else (0, False)

    def halt(
        self, topic: str, partition: int, tracked: int, seen: int, at: datetime
    ) -> None:
        epoch, _halted = self.state(topic, partition)
        note = (
            f"offsets went back: Lethe took up to offset {tracked}, the broker "
            f"now has offset {seen}"
        )
        self._write(topic, partition, epoch, True, tracked, seen, at, note)

    def resume(self, topic: str, partition: int, by: str, at: datetime) -> int:
        """Take the partition again from its first offset; the new epoch."""
        epoch, halted = self.state(topic, partition)
        if not halted:
            raise ValueError(f"{topic}:{partition} is not halted")
        note = f"resumed by {by}: read again from the start"
        self._write(topic, partition, epoch + 1, False, None, None, at, note)
        return epoch + 1

    def _write(
        self,
        topic: str,
        partition: int,
        epoch: int,
        halted: bool,
        tracked: int | None,
        seen: int | None,
        at: datetime,
        note: str,
    ) -> None:
        key = (topic, partition)
        self.views.execute(
            [
                (
                    "DELETE FROM lethe_partitions"
                    " WHERE topic = ? AND kafka_partition = ?",
                    key,
                ),
                (
                    "INSERT INTO lethe_partitions (topic, kafka_partition, epoch,"
                    " halted, tracked, seen, changed_at, note)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*key, epoch, int(halted), tracked, seen, ms(at), note),
                ),
            ]
        )


def set_aside_statement(
    source: str, place: str, reason: str, at: datetime
) -> tuple[str, tuple[object, ...]]:
    """The row for one record set aside, to run in the save that skips it."""
    return (
        "INSERT INTO lethe_set_aside (source, place, reason, set_aside_at)"
        " VALUES (?, ?, ?, ?)",
        (source, place, reason, ms(at)),
    )


def halts(views: SqlViews) -> list[Halt]:
    views.run_ddl(DDL)
    rows = views.query(
        "SELECT topic, kafka_partition, tracked, seen, changed_at, note"
        " FROM lethe_partitions WHERE halted = 1 ORDER BY topic, kafka_partition"
    )
    return [
        Halt(str(t), int(p), tracked, seen, _instant(at), str(note))
        for t, p, tracked, seen, at, note in rows
    ]


def set_aside(views: SqlViews, limit: int = 50) -> list[SetAside]:
    views.run_ddl(DDL)
    rows = views.query(
        "SELECT source, place, reason, set_aside_at FROM lethe_set_aside"
        " ORDER BY set_aside_at DESC LIMIT ?",
        (limit,),
    )
    return [SetAside(str(s), str(p), str(r), _instant(at)) for s, p, r, at in rows]


def _instant(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)
