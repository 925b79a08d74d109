"""The relay's gate: is a subject held or restricted at a position of the log?

A hold placed on a subject reaches its items only when the schedule process
mirrors it, so an order may be written after the subject's hold (in log order)
by a sweeper or schedule page that had not seen it. The relay reads orders in
log order; for each it replays the subject's marks that precede it, and keeps
the order back if any is still on. Pure: positions and marks are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Mark:
    """One hold or restriction placed on (or taken off) a subject, where it lies."""

    position: int  # the notification id of the event
    subject_id: UUID
    name: str  # "hold:<case>" or "restriction:<ticket>"
    on: bool  # placed (True) or released / lifted (False)


class SubjectMarks:
    """A page's marks, by subject, in log order."""

    def __init__(self, marks: Iterable[Mark]) -> None:
        self._by_subject: dict[UUID, list[Mark]] = {}
        for mark in sorted(marks, key=lambda m: m.position):
            self._by_subject.setdefault(mark.subject_id, []).append(mark)

    def on_at(self, subject_id: UUID, position: int) -> list[str]:
        """The marks on the subject just before `position`, sorted by name."""
        on: set[str] = set()
        for mark in self._by_subject.get(subject_id, ()):
            if mark.position >= position:
                break
            if mark.on:
                on.add(mark.name)
            else:
                on.discard(mark.name)
        return sorted(on)
