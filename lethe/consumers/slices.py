"""A partition's batch in slices, its tracking row, and what taking it did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lethe.consumers.checks import Delivered


def tracking_name(topic: str, partition: int, epoch: int = 0) -> str:
    """The tracking row of a partition; a resumed partition starts a new epoch
    (its offsets start again below those tracked before)."""
    base = f"kafka:{topic}:{partition}"
    return base if epoch == 0 else f"{base}#{epoch}"


@dataclass
class Taken:
    """What one batch did: counts only, never contents."""

    new: int = 0
    duplicates: int = 0
    changes: int = 0
    dead: int = 0

    def __iadd__(self, other: Taken) -> Taken:
        self.new += other.new
        self.duplicates += other.duplicates
        self.changes += other.changes
        self.dead += other.dead
        return self


def slices(
    records: Sequence[Delivered], most: int, most_bytes: int
) -> list[Sequence[Delivered]]:
    """Consecutive runs of at most `most` records and about `most_bytes` of
    values (a record larger than that goes alone)."""
    found: list[Sequence[Delivered]] = []
    start, size = 0, 0
    for index, record in enumerate(records):
        grows = len(record.value or b"") + len(record.key or b"")
        if index > start and (index - start >= most or size + grows > most_bytes):
            found.append(records[start:index])
            start, size = index, 0
        size += grows
    if start < len(records):
        found.append(records[start:])
    return found
